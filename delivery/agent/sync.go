package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/wire"
)

// session is one group opened for an operation: its record and, while the
// client is a member, its loaded state.
type session struct {
	rec *groupRecord
	g   *mls.Group // nil once the client is no longer a member
}

// openGroup opens the group named name.
func (a *Agent) openGroup(name string) (*session, error) {
	rec, err := a.st.findRecord(name)
	if err != nil {
		return nil, err
	}
	return a.load(rec)
}

// openActive opens a group the client is a member of.
func (a *Agent) openActive(name string) (*session, error) {
	s, err := a.openGroup(name)
	if err != nil {
		return nil, err
	}
	if s.g == nil {
		return nil, inactiveErr(s.rec)
	}
	return s, nil
}

// openSynced opens the active group name and catches it up with the
// delivery service.
func (a *Agent) openSynced(ctx context.Context, name string) (*session, error) {
	s, err := a.openActive(name)
	if err != nil {
		return nil, err
	}
	return s, a.syncActive(ctx, s)
}

// syncActive catches s up with the delivery service and fails if that
// showed the client is no longer a member.
func (a *Agent) syncActive(ctx context.Context, s *session) error {
	if err := a.catchUp(ctx, s); err != nil {
		return err
	}
	if s.g == nil {
		return inactiveErr(s.rec)
	}
	return nil
}

// load opens a record; the group's state is loaded only if the client is
// an active member (a client whose leave is pending is not: see
// loadLeaving).
func (a *Agent) load(rec *groupRecord) (*session, error) {
	s := &session{rec: rec}
	if rec.Status != StatusActive {
		return s, nil
	}
	return a.loadState(s)
}

// loadLeaving opens the record of a group whose leave is pending, with the
// group's state.
func (a *Agent) loadLeaving(rec *groupRecord) (*session, error) {
	return a.loadState(&session{rec: rec})
}

func (a *Agent) loadState(s *session) (*session, error) {
	rec := s.rec
	g, err := mls.UnmarshalGroup(a.cfg, rec.State)
	if err != nil {
		return nil, wrapErr(ErrState, "loading group "+rec.Name, err)
	}
	s.g = g
	return s, nil
}

// save saves the session's record with the group's current state. Once the
// group is inactive (the client was removed), its state is dropped: the
// record keeps the name, the status and the unread events.
func (a *Agent) save(s *session) error {
	if s.g != nil {
		s.rec.Epoch = s.g.Epoch()
		if s.g.Active() {
			state, err := s.g.MarshalBinary()
			if err != nil {
				return wrapErr(ErrState, "saving group "+s.rec.Name, err)
			}
			clear(s.rec.State)
			s.rec.State = state
		} else {
			// A client that asked to leave stays StatusLeft when the
			// commit carrying out its request removes it.
			if s.rec.Status == StatusActive {
				s.rec.Status = StatusClosed
				if s.g.Removed() {
					s.rec.Status = StatusRemoved
				}
			}
			clear(s.rec.State)
			s.rec.State, s.g, s.rec.Leaving = nil, nil, false
		}
	}
	return a.st.saveRecord(s.rec)
}

// drop deletes the group's state, once the client no longer needs it.
func (s *session) drop() {
	clear(s.rec.State)
	s.rec.State, s.rec.Own, s.rec.Leaving, s.g = nil, nil, false, nil
}

func inactiveErr(rec *groupRecord) error {
	why := "the group was closed"
	switch rec.Status {
	case StatusRemoved:
		why = "this client was removed from it"
		if rec.RemovedBy != "" {
			why = "removed by " + clean(rec.RemovedBy)
		}
	case StatusLeft:
		why = "this client left it"
	}
	return &wrapped{sentinel: ErrInactive, msg: fmt.Sprintf("mls: client: no longer a member of %s (%s)", rec.Name, why)}
}

// catchUp fetches and processes every message of the group's log after the
// session's cursor, oldest first, saving after each one; the events go to
// the record's inbox. It stops early, without error, once a commit removed
// the client. A commit it cannot process stops it with ErrOutOfSync, the
// cursor left before that commit.
func (a *Agent) catchUp(ctx context.Context, s *session) error {
	for s.g != nil {
		entries, err := a.ds.Fetch(ctx, s.rec.GroupID, s.rec.Cursor, 0, 0)
		if err != nil {
			return dsErr("fetching the messages of "+s.rec.Name, err)
		}
		if len(entries) == 0 {
			return nil
		}
		progress := false
		for _, e := range entries {
			if e.Seq <= s.rec.Cursor {
				continue
			}
			progress = true
			if err := a.processEntry(s, e); err != nil {
				return err
			}
			if err := a.save(s); err != nil {
				return err
			}
			if s.g == nil {
				return nil
			}
		}
		if !progress {
			return errorf(ErrDelivery, "fetching the messages of %s: no message after %d in the answer", s.rec.Name, s.rec.Cursor)
		}
	}
	return nil
}

// processEntry processes one message of the log and advances the cursor
// past it, unless it is a commit that cannot be processed.
func (a *Agent) processEntry(s *session, e delivery.Entry) error {
	name := s.rec.Name
	if s.rec.takeOwn(e.Seq) {
		s.rec.Cursor = e.Seq
		return nil
	}
	ct := message.ContentType(0)
	var m message.MLSMessage
	if wire.Unmarshal(e.Message, &m) == nil {
		ct, _ = m.ContentType()
	}
	r, err := s.g.Process(e.Message)
	if err != nil {
		return a.processError(s, e, ct, err)
	}
	s.rec.Cursor = e.Seq
	switch r.ContentType {
	case message.ContentApplication:
		s.rec.Inbox = append(s.rec.Inbox, Event{Kind: EventMessage, Group: name, Seq: e.Seq, Epoch: r.Epoch,
			Sender: senderName(s.g, r.Sender), Text: string(r.ApplicationData)})
	case message.ContentCommit:
		sc := r.Commit
		removes := sc.Removes
		resync := false
		if sc.External {
			// The one Remove an external commit may carry is of the
			// joiner's old leaf (RFC 9420 §12.2, checked by package mls):
			// reported with the join, as a rejoin.
			removes = slices.DeleteFunc(slices.Clone(removes), func(c mls.MemberChange) bool {
				return c.Sender.Type == message.SenderNewMemberCommit
			})
			resync = len(removes) < len(sc.Removes)
		}
		events := commitEvents(name, s.g, sc.Committer, sc.Adds, sc.Updates, removes, len(sc.Proposals), sc.Epoch, e.Seq)
		if err := s.g.Apply(sc); err != nil {
			return wrapErr(ErrOutOfSync, fmt.Sprintf("%s: applying the commit at %d", name, e.Seq), err)
		}
		if sc.External && s.g.Active() {
			// The joiner's leaf is known once the commit is applied.
			joiner := memberName(s.g, sc.CommitterLeaf)
			ev := Event{Kind: EventAdded, Group: name, Seq: e.Seq, Epoch: sc.Epoch, Sender: joiner, Member: joiner}
			if resync {
				ev.Kind, ev.Sender = EventRejoined, ""
			}
			events = append(events, ev)
		}
		for _, ev := range events {
			if ev.Kind == EventRemovedSelf {
				s.rec.RemovedBy = ev.Sender
			}
		}
		s.rec.Inbox = append(s.rec.Inbox, events...)
	}
	// A proposal is now pending in the group: the next commit of any
	// member covers it (see Agent.Receive).
	return nil
}

// processError decides what a message that failed to process means: a
// commit that cannot be followed stops the group; anything else is skipped
// with a warning, except the client's own messages and handshake messages
// of an epoch already over, which are skipped silently.
func (a *Agent) processError(s *session, e delivery.Entry, ct message.ContentType, err error) error {
	name := s.rec.Name
	var ee *mls.EpochError
	past := errors.As(err, &ee) && ee.Got < ee.Current
	switch {
	case errors.Is(err, mls.ErrOwnMessage):
		s.rec.Cursor = e.Seq
		return nil
	case ct == message.ContentCommit && past:
		// The log has one commit per epoch: one of a past epoch was
		// processed already.
		s.rec.Cursor = e.Seq
		return nil
	case ct == message.ContentCommit:
		return wrapErr(ErrOutOfSync, fmt.Sprintf("%s: the commit at %d cannot be processed", name, e.Seq), err)
	case ct == message.ContentProposal && past:
		s.rec.Cursor = e.Seq
		s.rec.Inbox = append(s.rec.Inbox, Event{Kind: EventWarning, Group: name, Seq: e.Seq,
			Text: fmt.Sprintf("skipped the proposal at %d: its epoch %d ended before it was committed", e.Seq, ee.Got)})
		return nil
	}
	s.rec.Cursor = e.Seq
	s.rec.Inbox = append(s.rec.Inbox, Event{Kind: EventWarning, Group: name, Seq: e.Seq,
		Text: fmt.Sprintf("skipped the message at %d: %v", e.Seq, err)})
	return nil
}

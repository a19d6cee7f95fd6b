package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/delivery/store"
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

// openGroup opens the group named name, after finishing a rejoin an
// earlier command left.
func (a *Agent) openGroup(ctx context.Context, name string) (*session, error) {
	rec, err := a.st.findRecord(name)
	if err != nil {
		return nil, err
	}
	if rec, err = a.rejoined(ctx, rec); err != nil {
		return nil, err
	}
	return a.load(rec)
}

// rejoined returns rec, or the record that replaced it once the rejoin
// written ahead in it is finished.
func (a *Agent) rejoined(ctx context.Context, rec *groupRecord) (*groupRecord, error) {
	done, err := a.finishRejoin(ctx, rec)
	if err != nil || !done {
		return rec, err
	}
	return a.st.loadRecord(rec.GroupID)
}

// openActive opens a group the client is a member of.
func (a *Agent) openActive(ctx context.Context, name string) (*session, error) {
	s, err := a.openGroup(ctx, name)
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
	s, err := a.openActive(ctx, name)
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
	s.rec.dropSent(^uint64(0))
	s.rec.State, s.rec.Own, s.rec.Sent, s.rec.Leaving, s.g = nil, nil, nil, false, nil
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
	hint := "; 'mls client rejoin " + rec.Name + "' joins it again, if its members allow it"
	if rec.Status == StatusClosed {
		hint = ""
	}
	return &wrapped{sentinel: ErrInactive, msg: fmt.Sprintf("mls: client: no longer a member of %s (%s)%s", rec.Name, why, hint)}
}

// catchUp fetches and processes every message of the group's log after the
// session's cursor, oldest first, saving after each one; the events go to
// the record's inbox. Then it finishes the messages the client sent whose
// fate it did not learn (see sentRecord): those not found in the log are
// posted again, and if one lost its epoch meanwhile, it catches up once
// more. It stops early, without error, once a commit removed the client. A
// commit it cannot process stops it with ErrOutOfSync, the cursor left
// before that commit.
func (a *Agent) catchUp(ctx context.Context, s *session) error {
	var lost *store.EpochError // the last resend refused for its epoch
	for s.g != nil {
		progress, err := a.fetchLog(ctx, s)
		if err != nil || s.g == nil {
			return err
		}
		if progress {
			lost = nil
			continue
		}
		if lost != nil && s.g.Epoch() < lost.Current {
			return outOfSync(s.rec.Name, "the delivery service is at epoch %d, this client's state at epoch %d, and the log after message %d holds nothing to catch up with (the state directory is older than the group: restored from a copy?)",
				lost.Current, s.g.Epoch(), s.rec.Cursor)
		}
		if lost != nil {
			return errorf(ErrDelivery, "%s: a message of epoch %d was refused for its epoch, but the log has nothing new", s.rec.Name, lost.Epoch)
		}
		if lost, err = a.resend(ctx, s); lost == nil || err != nil {
			return err
		}
	}
	return nil
}

// fetchLog fetches one page of the log after the cursor and processes it;
// it reports whether there was anything new.
func (a *Agent) fetchLog(ctx context.Context, s *session) (bool, error) {
	entries, err := a.ds.Fetch(ctx, s.rec.GroupID, s.rec.Cursor, 0, 0)
	if errors.Is(err, delivery.ErrForbidden) {
		// The service no longer counts the client a member, and serves
		// nothing up to its removal (it remembers the latest removals
		// only): the client cannot learn more of the group.
		s.rec.Inbox = append(s.rec.Inbox, Event{Kind: EventWarning, Group: s.rec.Name,
			Text: fmt.Sprintf("the delivery service no longer serves this group to this client: %v", err)})
		s.drop()
		s.rec.Status = StatusRemoved
		return true, a.save(s)
	}
	if err != nil {
		return false, dsErr("fetching the messages of "+s.rec.Name, err)
	}
	if len(entries) == 0 {
		return false, nil
	}
	progress := false
	for _, e := range entries {
		if e.Seq <= s.rec.Cursor {
			continue
		}
		progress = true
		if err := a.processEntry(s, e); err != nil {
			return true, err
		}
		if err := a.save(s); err != nil {
			return true, err
		}
		if s.g == nil {
			return true, nil
		}
	}
	if !progress {
		return false, errorf(ErrDelivery, "fetching the messages of %s: no message after %d in the answer", s.rec.Name, s.rec.Cursor)
	}
	return true, nil
}

// resend posts again, oldest first, the messages sent in the current epoch
// that the caught-up log does not hold: their post never reached the
// delivery service, or is still in flight there (the repeated post then
// gets the same answer). A commit accepted is finished, its events going
// to the inbox. It returns the refusal of a message whose epoch ended
// meanwhile: the caller catches up again.
func (a *Agent) resend(ctx context.Context, s *session) (*store.EpochError, error) {
	if e := s.g.Epoch(); e > 0 {
		s.rec.dropSent(e - 1) // none expected: a commit ending their epoch was processed
	}
	for len(s.rec.Sent) > 0 {
		sent := s.rec.Sent[0]
		events, err := a.postSent(ctx, s, sent)
		var ee *store.EpochError
		if errors.As(err, &ee) {
			return ee, nil
		}
		if err != nil {
			return nil, err
		}
		s.rec.Inbox = append(s.rec.Inbox, events...)
		if err := a.st.saveRecord(s.rec); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// processEntry processes one message of the log and advances the cursor
// past it, unless it is a commit that cannot be processed.
func (a *Agent) processEntry(s *session, e delivery.Entry) error {
	name := s.rec.Name
	if s.rec.takeOwn(e.Seq) {
		s.rec.Cursor = e.Seq
		return nil
	}
	if i := s.rec.findSent(e.Message); i >= 0 {
		return a.sentSeen(s, i, e.Seq)
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
			return outOfSyncErr(name, fmt.Sprintf("applying the commit at %d", e.Seq), err)
		}
		s.rec.dropSent(sc.Epoch - 1)
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

// sentSeen handles the client's own message s.rec.Sent[i], found at seq in
// the log: a commit is finished from its record (its events go to the
// inbox), anything else skipped.
func (a *Agent) sentSeen(s *session, i int, seq uint64) error {
	sent := s.rec.Sent[i]
	s.rec.removeSent(i)
	s.rec.Cursor = seq
	if sent.Kind != sentCommit {
		return nil
	}
	events, err := a.adopt(s, sent, seq)
	if err != nil {
		return err
	}
	s.rec.Inbox = append(s.rec.Inbox, events...)
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
		// Everything the client posts is recorded first (sentRecord), so
		// a message of its own it has no record of was made by a later
		// state than this one: the state directory was restored from an
		// older copy, or another copy of it is in use. Following the
		// group would reuse keys already used, or skip its own commit.
		return outOfSync(name, "the message at %d was sent by this client, but its state has no record of it (the state directory is older than the group: restored from a copy, or used elsewhere too)", e.Seq)
	case ct == message.ContentCommit && past:
		// The log has one commit per epoch: one of a past epoch was
		// processed already.
		s.rec.Cursor = e.Seq
		return nil
	case ct == message.ContentCommit:
		return outOfSyncErr(name, fmt.Sprintf("the commit at %d cannot be processed", e.Seq), err)
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

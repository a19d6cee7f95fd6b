package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"time"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/message"
)

// buildFunc creates the commit of an operation in the group's current
// epoch, and names the clients its Welcome is for. A nil commit means that
// nothing is left to do (a concurrent commit did it).
type buildFunc func() (pc *mls.PendingCommit, recipients []string, err error)

// commit is the two-phase commit of RFC 9420 §14 against a strongly
// consistent delivery service: the commit is built, written ahead to the
// group's record with the state of the epoch it starts (see sentRecord),
// posted with its Welcome and GroupInfo, and becomes the group's state only
// once the delivery service accepted it. If another commit won the epoch
// (409), this one is discarded, the client catches up (processing the
// winner) and builds and posts once more. If the answer never comes (the
// connection dropped, the process was killed), the next command finds the
// commit in the log, or posts it again, and finishes it. It returns the
// events of the applied commit.
func (a *Agent) commit(ctx context.Context, s *session, build buildFunc) ([]Event, error) {
	for attempt := 1; ; attempt++ {
		pc, recipients, err := build()
		if err != nil {
			return nil, wrapErr(ErrCommit, s.rec.Name, err)
		}
		if pc == nil {
			return nil, nil
		}
		sent, err := a.writeAhead(s, pc, recipients)
		if err != nil {
			return nil, err
		}
		events, err := a.postSent(ctx, s, sent)
		if errors.Is(err, store.ErrEpoch) {
			if attempt > 1 {
				return nil, wrapErr(ErrConflict, s.rec.Name+": other members' commits won twice; try again", err)
			}
			if err := a.syncActive(ctx, s); err != nil {
				return nil, err
			}
			continue
		}
		return events, err
	}
}

// writeAhead records the commit pc in the group's record before it is
// posted: the bundle to post, the state of the epoch it starts and what
// it does. To serialize that state it applies pc to s.g, so that s.g is in
// the new epoch while the record keeps the current one until the delivery
// service accepted the commit (postSent reloads it otherwise).
func (a *Agent) writeAhead(s *session, pc *mls.PendingCommit, recipients []string) (*sentRecord, error) {
	gi, err := pc.GroupInfo()
	if err != nil {
		return nil, wrapErr(ErrCommit, s.rec.Name, err)
	}
	base, err := s.g.MarshalBinary()
	if err != nil {
		return nil, wrapErr(ErrState, "saving group "+s.rec.Name, err)
	}
	sent := newSent(sentCommit, s.g.Epoch(), pc.Commit)
	sent.GroupInfo = gi
	if pc.Welcome != nil {
		sent.Welcome, sent.Recipients = pc.Welcome, recipients
	}
	sent.Events = commitEvents(s.rec.Name, s.g, message.MemberSender(s.g.LeafIndex()), pc.Adds, pc.Updates, pc.Removes, len(pc.Proposals), pc.Epoch, 0)
	if err := s.g.Apply(pc); err != nil {
		return nil, wrapErr(ErrCommit, s.rec.Name, err)
	}
	if sent.Next, err = s.g.MarshalBinary(); err != nil {
		return nil, wrapErr(ErrState, "saving group "+s.rec.Name, err)
	}
	clear(s.rec.State)
	s.rec.State = base
	s.rec.Sent = append(s.rec.Sent, sent)
	if err := a.st.saveRecord(s.rec); err != nil {
		return nil, err
	}
	return sent, nil
}

// sendAhead records the application message or proposal msg of kind k,
// just made by s.g in its current epoch, and saves the group with it (its
// key or proposal is then in the saved state too), before it is posted.
func (a *Agent) sendAhead(s *session, k sentKind, msg []byte) (*sentRecord, error) {
	sent := newSent(k, s.g.Epoch(), msg)
	s.rec.Sent = append(s.rec.Sent, sent)
	return sent, a.save(s)
}

// postSent posts a message written ahead (still in s.rec.Sent) and, once
// the delivery service accepted it, finishes it (see accepted). If the
// epoch ended first, it forgets the message (a commit is discarded) and
// returns the error, wrapping store.ErrEpoch. On any other error the record
// is left for the next command to finish; the session's group is back in
// the record's epoch.
func (a *Agent) postSent(ctx context.Context, s *session, sent *sentRecord) ([]Event, error) {
	var posted delivery.Posted
	err := a.retry(ctx, func() (err error) {
		if sent.Kind == sentCommit {
			posted, err = a.ds.PostCommit(ctx, s.rec.GroupID, &delivery.CommitBundle{
				Commit: sent.Message, Welcome: sent.Welcome, Recipients: sent.Recipients, GroupInfo: sent.GroupInfo})
		} else {
			posted, err = a.ds.Post(ctx, s.rec.GroupID, sent.Message)
		}
		return err
	})
	if err == nil {
		return a.accepted(s, sent, posted.Seq)
	}
	if errors.Is(err, store.ErrEpoch) {
		if i := slices.Index(s.rec.Sent, sent); i >= 0 {
			s.rec.removeSent(i)
		}
		sent.wipe()
	}
	if sent.Kind == sentCommit && s.g.Epoch() != sent.Epoch {
		if rerr := a.reload(s); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
	}
	if errors.Is(err, store.ErrEpoch) {
		if serr := a.st.saveRecord(s.rec); serr != nil {
			return nil, serr
		}
		return nil, err
	}
	what := "posting a message to "
	if sent.Kind == sentCommit {
		what = "posting a commit to "
	}
	return nil, dsErr(what+s.rec.Name+" (the next command on the group finishes it)", err)
}

// accepted finishes a sent message the delivery service accepted at seq:
// it is skipped when it comes back in the log, and a commit's state
// becomes the group's (loaded from the record unless s.g applied it
// already). It returns a commit's events.
func (a *Agent) accepted(s *session, sent *sentRecord, seq uint64) ([]Event, error) {
	if i := slices.Index(s.rec.Sent, sent); i >= 0 {
		s.rec.removeSent(i)
	}
	s.rec.Own = append(s.rec.Own, seq)
	if sent.Kind != sentCommit {
		return nil, a.save(s)
	}
	events, err := a.adopt(s, sent, seq)
	if err != nil {
		return nil, err
	}
	return events, a.st.saveRecord(s.rec)
}

// adopt makes the state of the sent commit, accepted at seq, the group's,
// and returns its events. The caller saves the record.
func (a *Agent) adopt(s *session, sent *sentRecord, seq uint64) ([]Event, error) {
	if s.g.Epoch() == sent.Epoch {
		g, err := mls.UnmarshalGroup(a.cfg, sent.Next)
		if err != nil {
			return nil, wrapErr(ErrState, fmt.Sprintf("%s: finishing the commit accepted at %d", s.rec.Name, seq), err)
		}
		s.g = g
	}
	clear(s.rec.State)
	s.rec.State, sent.Next = sent.Next, nil
	s.rec.Epoch = s.g.Epoch()
	s.rec.dropSent(sent.Epoch)
	events := slices.Clone(sent.Events)
	for i := range events {
		events[i].Seq = seq
	}
	return events, nil
}

// reload loads the session's group again from its record.
func (a *Agent) reload(s *session) error {
	_, err := a.loadState(s)
	return err
}

// commitOptions returns o for a commit of the client: neither its Welcome
// nor the GroupInfo of the new epoch (published with it, with the external
// public key for resyncs) carries the ratchet tree, which the delivery
// service serves (RFC 9420 §12.4.3.3): a commit's upload is O(log n).
func commitOptions(o mls.CommitOptions) *mls.CommitOptions {
	o.OutOfBandTree = true
	return &o
}

// commitPending commits the proposals pending in the group, if any.
func (a *Agent) commitPending(ctx context.Context, s *session) ([]Event, error) {
	return a.commit(ctx, s, func() (*mls.PendingCommit, []string, error) {
		if len(s.g.PendingProposals()) == 0 {
			return nil, nil, nil
		}
		pc, err := s.g.Commit(commitOptions(mls.CommitOptions{}))
		return pc, nil, err
	})
}

// retry calls f up to three times while it fails for a reason that may
// pass (a network error, a 5xx): posting the same bytes again is
// idempotent at the delivery service, which answers a retry of an accepted
// message with its original sequence number. This matters for commits: one
// accepted but believed lost would leave the client behind its own commit.
func (a *Agent) retry(ctx context.Context, f func() error) error {
	var err error
	for i := range 3 {
		if i > 0 {
			t := time.NewTimer(time.Duration(i) * 250 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return errors.Join(err, ctx.Err())
			case <-t.C:
			}
		}
		if err = f(); err == nil || !transient(err) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// transient reports whether err may go away when the request is repeated.
func transient(err error) bool {
	var ue *url.Error
	var ne net.Error
	return errors.Is(err, delivery.ErrServer) || errors.As(err, &ue) || errors.As(err, &ne)
}

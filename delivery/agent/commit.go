package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
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
// consistent delivery service: the commit is built, posted with its Welcome
// and GroupInfo, and applied only once the delivery service accepted it.
// If another commit won the epoch (409), this one is discarded, the client
// catches up (processing the winner) and builds and posts once more. It
// returns the events of the applied commit.
func (a *Agent) commit(ctx context.Context, s *session, build buildFunc) ([]Event, error) {
	for attempt := 1; ; attempt++ {
		pc, recipients, err := build()
		if err != nil {
			return nil, wrapErr(ErrCommit, s.rec.Name, err)
		}
		if pc == nil {
			return nil, nil
		}
		gi, err := pc.GroupInfo()
		if err != nil {
			return nil, wrapErr(ErrCommit, s.rec.Name, err)
		}
		bundle := &delivery.CommitBundle{Commit: pc.Commit, GroupInfo: gi}
		if pc.Welcome != nil {
			bundle.Welcome, bundle.Recipients = pc.Welcome, recipients
		}
		var posted delivery.Posted
		err = a.retry(ctx, func() (err error) {
			posted, err = a.ds.PostCommit(ctx, s.rec.GroupID, bundle)
			return err
		})
		if errors.Is(err, store.ErrEpoch) {
			if attempt > 1 {
				return nil, wrapErr(ErrConflict, s.rec.Name, err)
			}
			if err := a.syncActive(ctx, s); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, dsErr("posting a commit to "+s.rec.Name, err)
		}
		events := commitEvents(s.rec.Name, s.g, message.MemberSender(s.g.LeafIndex()), pc.Adds, pc.Updates, pc.Removes, len(pc.Proposals), pc.Epoch, posted.Seq)
		if err := s.g.Apply(pc); err != nil {
			return nil, wrapErr(ErrOutOfSync, fmt.Sprintf("%s: applying the commit accepted at %d", s.rec.Name, posted.Seq), err)
		}
		s.rec.Own = append(s.rec.Own, posted.Seq)
		if err := a.save(s); err != nil {
			return nil, err
		}
		return events, nil
	}
}

// commitOptions returns o for a commit of the client: the GroupInfo of the
// new epoch, published with the commit, carries the ratchet tree besides
// the external public key, so that a client can join by external commit
// (RFC 9420 §12.4.3.2, e.g. Agent.Rejoin) from it alone: the delivery
// service serves no tree.
func commitOptions(o mls.CommitOptions) *mls.CommitOptions {
	o.GroupInfo.RatchetTree = true
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

// post posts a proposal or an application message, retried like commits.
func (a *Agent) post(ctx context.Context, s *session, msg []byte) (delivery.Posted, error) {
	var posted delivery.Posted
	err := a.retry(ctx, func() (err error) {
		posted, err = a.ds.Post(ctx, s.rec.GroupID, msg)
		return err
	})
	return posted, err
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

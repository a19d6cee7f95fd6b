package delivery

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/fxamacker/cbor/v2"

	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/treekem"
)

// A tracked group is followed by the service with the library's public
// group view (mls.PublicGroup): every handshake message is validated
// before it is ordered, and the view knows the tree, the GroupContext and
// who is a member. How the views are kept (see the package documentation,
// "Tracked groups"):
//
//   - Each process keeps the views of recently used groups in memory
//     (viewCache, bounded by the members it holds). A commit costs what it
//     costs a member, O(log n), and writes only the commit to the store.
//   - Every few epochs (snapshotInterval: at least Config.SnapshotEpochs,
//     more for large groups, so that the bytes written per commit stay
//     bounded) and when a view is evicted, its snapshot (a store.View) is
//     written; a view is rebuilt from the newest snapshot by replaying the
//     log after it (the log holds every accepted handshake message).
//   - Several processes may share a store. The store's epoch compare-and-
//     set stays the arbiter of each epoch; before validating a handshake
//     message a process reads the log past its view (catchUp), so that it
//     validates against the group's current epoch and its proposals, and a
//     message that the view cannot place is never stored unvalidated.

// Defaults of Config.
const (
	DefaultSnapshotEpochs  = 64
	DefaultViewCacheLeaves = 1 << 21
	// recentTrees is how many epochs' trees a view keeps for joiners
	// (GET .../tree?epoch=E) besides the current one.
	recentTrees = 16
	// replayPage is how many messages catchUp reads at a time.
	replayPage = 256
	// snapshotVersion is the version of viewSnapshot.
	snapshotVersion = 1
)

// trackedGroup is a process's view of one group. Its fields are guarded
// by mu, except gid.
type trackedGroup struct {
	mu     sync.Mutex
	gid    []byte
	loaded bool
	opaque bool // the group is not tracked: the service only orders it

	pg  *mls.PublicGroup
	ix  *memberIndex
	seq uint64 // the last message of the log the view reflects
	// ahead are messages after seq that this process appended and the
	// view reflects already; catchUp skips them.
	ahead     map[uint64]bool
	snapEpoch uint64                   // epoch of the newest snapshot stored
	trees     map[uint64]*treekem.Tree // the trees of recent epochs, current one included
	encoded   []byte                   // the current tree's encoding, once asked for
	leaves    int                      // counted in the cache's budget
	elem      *list.Element
}

// viewSnapshot is the Data of a store.View.
type viewSnapshot struct {
	Version int           `cbor:"1,keyasint"`
	Group   []byte        `cbor:"2,keyasint"` // mls.PublicGroup.MarshalBinary
	Index   indexSnapshot `cbor:"3,keyasint"`
}

// viewCache holds the views of recently used groups, least recently used
// ones evicted once they hold more than maxLeaves members in all.
type viewCache struct {
	mu        sync.Mutex
	groups    map[string]*trackedGroup
	lru       list.List // of *trackedGroup, most recently used first
	leaves    int
	maxLeaves int
	evicted   func(*trackedGroup) // called, without the cache's lock, for each evicted view
}

// get returns the cache's entry for a group, new and not loaded if the
// group is not cached.
func (c *viewCache) get(gid []byte) *trackedGroup {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tg := c.groups[string(gid)]; tg != nil {
		c.lru.MoveToFront(tg.elem)
		return tg
	}
	tg := &trackedGroup{gid: gid}
	tg.elem = c.lru.PushFront(tg)
	c.groups[string(gid)] = tg
	return tg
}

// resize records that tg now holds leaves members and evicts views while
// the cache is over budget (never tg itself).
func (c *viewCache) resize(tg *trackedGroup, leaves int) {
	var evicted []*trackedGroup
	c.mu.Lock()
	if c.groups[string(tg.gid)] == tg {
		c.leaves += leaves - tg.leaves
	}
	tg.leaves = leaves
	for e := c.lru.Back(); e != nil && c.leaves > c.maxLeaves; {
		prev := e.Prev()
		if old := e.Value.(*trackedGroup); old != tg {
			c.removeLocked(old)
			evicted = append(evicted, old)
		}
		e = prev
	}
	c.mu.Unlock()
	for _, old := range evicted {
		c.evicted(old)
	}
}

// drop removes tg from the cache (its view can no longer be trusted, or
// was never loaded); the next request loads the group again.
func (c *viewCache) drop(tg *trackedGroup) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.groups[string(tg.gid)] == tg {
		c.removeLocked(tg)
	}
}

func (c *viewCache) removeLocked(tg *trackedGroup) {
	delete(c.groups, string(tg.gid))
	c.lru.Remove(tg.elem)
	c.leaves -= tg.leaves
}

// publicConfig is the mls.Config of the service's views: its
// Authentication Service and the groups' Policy.
func (s *Server) publicConfig() mls.Config {
	return mls.Config{Suites: s.cfg.Suites, Authentication: s.as, Policy: Policy(), MaxTreeLeaves: -1}
}

// lockGroup returns the group's view, loaded and, with sync, caught up
// with the log as far as its last message, locked: the caller calls
// tg.mu.Unlock. For an opaque group tg.opaque is set; for an unknown one
// it returns store.ErrUnknownGroup.
func (s *Server) lockGroup(ctx context.Context, gid []byte, sync bool) (*trackedGroup, error) {
	tg := s.views.get(gid)
	tg.mu.Lock()
	fresh := !tg.loaded
	err := s.load(ctx, tg)
	if err == nil && (sync || fresh) && !tg.opaque {
		err = s.catchUp(ctx, tg)
	}
	if err != nil {
		tg.mu.Unlock()
		s.views.drop(tg)
		return nil, err
	}
	return tg, nil
}

// load loads tg from its newest snapshot if it is not loaded yet.
func (s *Server) load(ctx context.Context, tg *trackedGroup) error {
	if tg.loaded {
		return nil
	}
	v, err := s.st.View(ctx, tg.gid, math.MaxUint64)
	if errors.Is(err, store.ErrNotFound) {
		if _, err := s.st.Group(ctx, tg.gid); err != nil {
			return err
		}
		tg.loaded, tg.opaque = true, true
		return nil
	}
	if err != nil {
		return err
	}
	pg, ix, err := s.openView(v)
	if err != nil {
		return err
	}
	tg.pg, tg.ix, tg.seq, tg.snapEpoch = pg, ix, v.Seq, v.Epoch
	tg.trees = map[uint64]*treekem.Tree{pg.Epoch(): pg.Tree()}
	tg.ahead, tg.encoded, tg.loaded = nil, nil, true
	s.metrics.viewLoads.Add(1)
	s.views.resize(tg, int(pg.MemberCount()))
	return nil
}

// openView decodes a snapshot.
func (s *Server) openView(v store.View) (*mls.PublicGroup, *memberIndex, error) {
	var snap viewSnapshot
	if err := cbor.Unmarshal(v.Data, &snap); err != nil || snap.Version != snapshotVersion {
		return nil, nil, fmt.Errorf("delivery: a tracked group's snapshot at epoch %d cannot be decoded (%v)", v.Epoch, err)
	}
	pg, err := mls.UnmarshalPublicGroup(s.publicConfig(), snap.Group)
	if err != nil {
		return nil, nil, fmt.Errorf("delivery: a tracked group's snapshot at epoch %d: %w", v.Epoch, err)
	}
	return pg, snap.Index.index(), nil
}

// encodeView returns the snapshot of a view.
func encodeView(pg *mls.PublicGroup, ix *memberIndex) ([]byte, error) {
	data, err := pg.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return cbor.Marshal(&viewSnapshot{Version: snapshotVersion, Group: data, Index: ix.snapshot()})
}

// catchUp brings tg's view up to the last message of the group's log,
// processing the handshake messages it has not seen (appended by other
// processes, or before a restart).
func (s *Server) catchUp(ctx context.Context, tg *trackedGroup) error {
	g, err := s.st.Group(ctx, tg.gid)
	if err != nil {
		return err
	}
	for tg.seq < g.LastSeq {
		ms, err := s.st.Messages(ctx, tg.gid, tg.seq, replayPage)
		if err != nil {
			return err
		}
		if len(ms) == 0 {
			break
		}
		for i := range ms {
			m := &ms[i]
			if tg.ahead[m.Seq] {
				delete(tg.ahead, m.Seq)
			} else if m.ContentType != store.ContentApplication {
				if err := s.replay(tg, m); err != nil {
					return err
				}
			}
			tg.seq = m.Seq
		}
	}
	s.maybeSnapshot(ctx, tg)
	return nil
}

// replay processes a handshake message of the log, which a view accepted
// before it was stored, so it cannot fail but for a bug or a store that
// was changed behind the service's back.
func (s *Server) replay(tg *trackedGroup, m *store.Message) error {
	r, err := tg.pg.Process(m.Data)
	if err != nil {
		return fmt.Errorf("delivery: replaying message %d of a tracked group: %w", m.Seq, err)
	}
	if r.Commit != nil {
		return s.applyCommit(tg, r.Commit, m.Seq)
	}
	return nil
}

// applyCommit moves tg's view to the epoch of the commit at seq.
func (s *Server) applyCommit(tg *trackedGroup, sc *mls.StagedCommit, seq uint64) error {
	epoch := tg.pg.Epoch()
	removed := make([]mls.LeafIndex, 0, len(sc.Removes))
	for _, r := range sc.Removes {
		removed = append(removed, r.Leaf)
	}
	added := make([]joined, 0, len(sc.Adds)+1)
	for _, a := range sc.Adds {
		id, err := s.as.Identity(&a.LeafNode.Credential)
		if err != nil {
			return err
		}
		added = append(added, joined{leaf: a.Leaf, identity: string(id)})
	}
	if sc.Joiner != nil {
		id, err := s.as.Identity(&sc.Joiner.LeafNode.Credential)
		if err != nil {
			return err
		}
		added = append(added, joined{leaf: sc.Joiner.Leaf, identity: string(id)})
	}
	if err := tg.pg.Apply(sc); err != nil {
		return err
	}
	tg.ix.apply(seq, epoch, removed, added)
	tg.seq = max(tg.seq, seq)
	tg.encoded = nil
	tg.trees[tg.pg.Epoch()] = tg.pg.Tree()
	delete(tg.trees, tg.pg.Epoch()-recentTrees-1)
	s.views.resize(tg, int(tg.pg.MemberCount()))
	return nil
}

// snapshotInterval is how many epochs pass between a group's snapshots:
// Config.SnapshotEpochs, or a sixteenth of the members if that is more,
// so that a snapshot (O(n)) spread over the commits since the last one
// costs each commit O(1).
func (s *Server) snapshotInterval(members uint32) uint64 {
	return max(uint64(s.cfg.SnapshotEpochs), uint64(members)/16)
}

// maybeSnapshot writes tg's snapshot if it is due. A failure only delays
// it: the log still holds everything.
func (s *Server) maybeSnapshot(ctx context.Context, tg *trackedGroup) {
	if tg.pg.Epoch() >= tg.snapEpoch+s.snapshotInterval(tg.pg.MemberCount()) {
		s.snapshot(ctx, tg)
	}
}

// snapshot writes tg's snapshot, keeping older ones that pending Welcomes
// need (GET .../tree for the Welcome's epoch).
func (s *Server) snapshot(ctx context.Context, tg *trackedGroup) {
	epoch := tg.pg.Epoch()
	if epoch == tg.snapEpoch {
		return
	}
	data, err := encodeView(tg.pg, tg.ix)
	if err == nil {
		keepFrom := epoch
		var seq uint64
		var ok bool
		if seq, ok, err = s.st.OldestWelcome(ctx, tg.gid); err == nil && ok {
			keepFrom, err = s.epochAfter(ctx, tg.gid, seq)
			keepFrom = min(keepFrom, epoch)
		}
		if err == nil {
			err = s.st.PutView(ctx, tg.gid, store.View{Epoch: epoch, Seq: tg.seq, Data: data}, keepFrom)
		}
	}
	if err != nil {
		s.log.Warn("delivery: storing a tracked group's snapshot", "err", err)
		return
	}
	tg.snapEpoch = epoch
	s.metrics.snapshots.Add(1)
}

// epochAfter returns the epoch that the commit at seq started.
func (s *Server) epochAfter(ctx context.Context, gid []byte, seq uint64) (uint64, error) {
	ms, err := s.st.Messages(ctx, gid, seq-1, 1)
	if err != nil {
		return 0, err
	}
	if len(ms) == 0 || ms[0].Seq != seq || ms[0].ContentType != store.ContentCommit {
		return 0, fmt.Errorf("delivery: no commit at %d", seq)
	}
	return ms[0].Epoch + 1, nil
}

// evicted persists the view of an evicted group if it has epochs no
// snapshot covers.
func (s *Server) evicted(tg *trackedGroup) {
	go func() {
		tg.mu.Lock()
		defer tg.mu.Unlock()
		if tg.pg == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		s.snapshot(ctx, tg)
	}()
}

// treeAt returns the encoded ratchet tree of the group in epoch: from the
// view for the current and recent epochs, else rebuilt from a snapshot.
// The caller holds tg.mu.
func (s *Server) treeAt(ctx context.Context, tg *trackedGroup, epoch uint64) ([]byte, error) {
	if epoch == tg.pg.Epoch() {
		if tg.encoded == nil {
			data, err := tg.pg.RatchetTree()
			if err != nil {
				return nil, err
			}
			tg.encoded = data
		}
		return tg.encoded, nil
	}
	if t := tg.trees[epoch]; t != nil {
		return t.RatchetTree()
	}
	if epoch > tg.pg.Epoch() {
		return nil, fmt.Errorf("%w: the group is at epoch %d", store.ErrNotFound, tg.pg.Epoch())
	}
	v, err := s.st.View(ctx, tg.gid, epoch)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: the tree of epoch %d is no longer kept", store.ErrNotFound, epoch)
	}
	if err != nil {
		return nil, err
	}
	old := &trackedGroup{gid: tg.gid, seq: v.Seq, trees: map[uint64]*treekem.Tree{}}
	if old.pg, old.ix, err = s.openView(v); err != nil {
		return nil, err
	}
	for old.pg.Epoch() < epoch {
		ms, err := s.st.Messages(ctx, tg.gid, old.seq, replayPage)
		if err != nil {
			return nil, err
		}
		if len(ms) == 0 {
			return nil, fmt.Errorf("delivery: the log ends before epoch %d", epoch)
		}
		for i := range ms {
			if old.pg.Epoch() == epoch {
				break
			}
			if ms[i].ContentType != store.ContentApplication {
				r, err := old.pg.Process(ms[i].Data)
				if err != nil {
					return nil, fmt.Errorf("delivery: replaying message %d of a tracked group: %w", ms[i].Seq, err)
				}
				if r.Commit != nil {
					if err := old.pg.Apply(r.Commit); err != nil {
						return nil, err
					}
				}
			}
			old.seq = ms[i].Seq
		}
	}
	return old.pg.RatchetTree()
}

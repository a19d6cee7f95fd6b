package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/treekem"
)

// Operation kinds.
const (
	opUpdate = "update"
	opAdd    = "add"
	opRemove = "remove"
)

// runner is the state of a run.
type runner struct {
	ctx  context.Context
	opts Options
	cs   *suite.Suite
	keys *keys
	rng  *rand.Rand
	res  *Result
	smp  *samples

	groupID []byte
	// view is the group as the last committer sees it: the public state of
	// the current epoch, from which any member's view is derived.
	view *mls.Group
	// built is the number of members the build added (creator included):
	// leaf i < built holds member i unless ids says otherwise.
	built uint32
	// ids maps the leaves whose member changed since the build to the
	// member's id; a leaf removed since is absent from the tree. leaves is
	// its inverse.
	ids    map[treekem.LeafIndex]uint64
	leaves map[uint64]treekem.LeafIndex
	// leafKeys holds the leaf private keys of the creator and of the
	// simulated members that committed with a path during the run: keys
	// that came from the seed's streams but not from a member's
	// KeyPackage, O(epochs) of them. The other members' leaf keys are
	// those of their KeyPackages, made again from the seed when needed.
	leafKeys map[treekem.LeafIndex][]byte
	// signers are the built members' signers, by id, kept from their
	// KeyPackages for the shape to re-sign their leaves, so that no
	// signature key is derived twice; nil once the shape is done.
	signers []suite.Signer
	// observers hold full private state; byLeaf finds them.
	observers []*observer
	byLeaf    map[treekem.LeafIndex]*observer
	nextID    uint64 // the id of the next member to add
	commitSeq uint64 // the stream index of the next simulated commit
	// zipf draws the committers of the epochs by Options.Committers; nil
	// for uniform.
	zipf *zipfPicker
	// choices are the measured epochs' draws, for tests: O(epochs).
	choices []choice

	floorPub  []byte // the HPKE key the crypto floor encrypts to
	floorRand io.Reader

	// ds is the delivery service the run goes through; nil without
	// Options.DS.
	ds *dsRun
}

// choice is what a measured epoch drew: the kind of commit, the
// committer's leaf and id and, for a Remove, the removed member's.
type choice struct {
	kind               string
	committer, removed treekem.LeafIndex
	by, gone           uint64 // the committer's and the removed member's ids
}

// observer is a member with full private state.
type observer struct {
	index int
	id    uint64
	g     *mls.Group
	// cursor is the last message of the delivery service's log the
	// observer has read.
	cursor uint64
}

// Run builds a group and runs the epochs described by opts. On a
// disagreement or a failed library call it returns the partial result and
// an error wrapping ErrDisagreement or ErrFailed; invalid options fail with
// ErrInvalidOptions and no result. A cancelled ctx stops the run between
// steps with ctx's error.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	r := newRunner(ctx, opts)
	if opts.DS != "" {
		d, err := openDS(ctx, opts.DS, r.keys)
		if err != nil {
			if errors.Is(err, ErrInvalidOptions) {
				return nil, err
			}
			return nil, failed("ds", 0, err, "opening the delivery service")
		}
		r.ds = d
	}
	err := r.run()
	if r.ds != nil {
		if cerr := r.ds.close(); err == nil && cerr != nil {
			err = failed("ds", 0, cerr, "closing the delivery service")
		}
		r.res.DS = r.ds.result()
	}
	r.smp.fill(r.res)
	r.res.BuildSeconds = math.Round(r.res.BuildSeconds*1e3) / 1e3
	r.res.MaxRSSBytes = maxRSS()
	return r.res, err
}

// newRunner returns the runner of valid options.
func newRunner(ctx context.Context, opts Options) *runner {
	if opts.Batch == 0 {
		opts.Batch = DefaultBatch
	}
	if opts.Mix == (Mix{}) {
		opts.Mix = defaultMix
	}
	cs, _ := suite.Lookup(opts.Suite)
	k := newKeys(cs, opts.Seed)
	return &runner{
		ctx:      ctx,
		opts:     opts,
		cs:       cs,
		keys:     k,
		rng:      rand.New(k.stream(streamChoices, 0)),
		smp:      newSamples(),
		ids:      map[treekem.LeafIndex]uint64{},
		leaves:   map[uint64]treekem.LeafIndex{},
		leafKeys: map[treekem.LeafIndex][]byte{},
		byLeaf:   map[treekem.LeafIndex]*observer{},
		res: &Result{
			Members:    opts.Members,
			Suite:      opts.Suite,
			Epochs:     opts.Epochs,
			Observers:  opts.Observers,
			Mix:        opts.Mix,
			Committers: opts.Committers,
			Bare:       opts.Bare,
		},
	}
}

func (r *runner) run() error {
	phases := []struct {
		name string
		f    func() error
	}{
		{"build", r.build},
		{"shape", r.shape},
		{"ds", r.register},
		{"join", r.join},
		{"setup", r.setup},
	}
	for _, ph := range phases {
		if ph.name == "shape" && r.opts.Bare || ph.name == "setup" && r.opts.Bare || ph.name == "ds" && r.ds == nil {
			continue
		}
		t0 := time.Now()
		if err := ph.f(); err != nil {
			return err
		}
		s := time.Since(t0).Seconds()
		r.res.Phases = append(r.res.Phases, Phase{Name: ph.name, Seconds: s})
		r.res.BuildSeconds += s
	}
	return r.epochs()
}

// idAt returns the id of the member at leaf, which must be a member.
func (r *runner) idAt(leaf treekem.LeafIndex) uint64 {
	if id, ok := r.ids[leaf]; ok {
		return id
	}
	return uint64(leaf)
}

// place records that member id joined at leaf.
func (r *runner) place(leaf treekem.LeafIndex, id uint64) {
	r.ids[leaf] = id
	r.leaves[id] = leaf
	if r.zipf != nil {
		r.zipf.add(id)
	}
}

// removed records that the member at leaf left.
func (r *runner) removed(leaf treekem.LeafIndex) {
	id := r.idAt(leaf)
	delete(r.ids, leaf)
	delete(r.leaves, id)
	delete(r.leafKeys, leaf)
	if r.zipf != nil {
		r.zipf.remove(id)
	}
}

// leafOf returns the leaf of member id, false if id is not a member.
func (r *runner) leafOf(id uint64) (treekem.LeafIndex, bool) {
	if leaf, ok := r.leaves[id]; ok {
		return leaf, true
	}
	leaf := treekem.LeafIndex(id)
	if id >= uint64(r.built) {
		return 0, false
	}
	if _, moved := r.ids[leaf]; moved {
		return 0, false // removed, and another member joined at its leaf
	}
	_, member := r.view.Member(leaf)
	return leaf, member
}

// leafKey returns the leaf private key of the simulated member at leaf,
// checked against the view's tree.
func (r *runner) leafKey(leaf treekem.LeafIndex) ([]byte, error) {
	ln, ok := r.view.Member(leaf)
	if !ok {
		return nil, fmt.Errorf("sim: leaf %d is blank", leaf)
	}
	if k, ok := r.leafKeys[leaf]; ok {
		return k, nil
	}
	id := r.idAt(leaf)
	_, kp, err := r.keys.keyPackage(id)
	if err != nil {
		return nil, err
	}
	pub, err := r.cs.HPKEPublicKey(kp.EncryptionKey)
	if err != nil {
		return nil, err
	}
	return checkKey(kp.EncryptionKey, pub, ln.EncryptionKey, "a member's leaf")
}

// randomMember returns a random member's leaf satisfying ok, trying at
// most tries leaves; false if none was found.
func (r *runner) randomMember(ok func(treekem.LeafIndex) bool, tries int) (treekem.LeafIndex, bool) {
	n := r.leafCount()
	for range tries {
		leaf := treekem.LeafIndex(r.rng.Uint32N(n))
		if _, member := r.view.Member(leaf); member && ok(leaf) {
			return leaf, true
		}
	}
	return 0, false
}

// leafCount returns the number of leaves of the view's tree.
func (r *runner) leafCount() uint32 { return r.view.Tree().LeafCount() }

// agree checks that every observer in the group is at the view's epoch
// authenticator.
func (r *runner) agree(phase string, step int) error {
	want := r.view.EpochAuthenticator()
	for _, o := range r.observers {
		if got := o.g.EpochAuthenticator(); !bytes.Equal(got, want) {
			return disagree(phase, step, "observer %d (leaf %d) has epoch authenticator %x at epoch %d, the committer %x at epoch %d",
				o.index, o.g.LeafIndex(), got, o.g.Epoch(), want, r.view.Epoch())
		}
	}
	return nil
}

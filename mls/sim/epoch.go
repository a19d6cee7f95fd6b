package sim

import (
	"bytes"
	"fmt"

	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/internal/simulation"
	"github.com/mlsengine/engine/treekem"
)

// commitOut is a commit made and applied by its committer.
type commitOut struct {
	pc        *mls.PendingCommit
	committer treekem.LeafIndex
	create    span
	// fork is another commit of the same committer in the same epoch,
	// made for the fork fault (nil otherwise).
	fork []byte
	// post is what posting the commit to the delivery service cost.
	post dsPost
}

// commit makes the member at leaf c commit with opts, timing
// mls.Group.Commit, and applies the commit on the committer's side, whose
// group becomes the view. An observer commits with its own group; a
// simulated member with its view of the group (mls.ViewAs) and its
// keys from the seed. With fork, the committer makes a second commit of
// the same epoch (for the fork fault).
func (r *runner) commit(phase string, step int, c treekem.LeafIndex, opts *mls.CommitOptions, fork bool) (*commitOut, error) {
	out := &commitOut{committer: c}
	var g *mls.Group
	var leafPriv []byte // a simulated committer's
	if o := r.byLeaf[c]; o != nil {
		g = o.g
	} else {
		seq := r.commitSeq
		r.commitSeq++
		cfg, err := r.keys.config(r.idAt(c), r.keys.stream(streamCommit, seq))
		if err != nil {
			return nil, failed(phase, step, err, "committer's config")
		}
		if leafPriv, err = r.leafKey(c); err != nil {
			return nil, failed(phase, step, err, "committer's leaf key")
		}
		if g, err = mls.ViewAs(simulation.Access{}, r.view, cfg, c, leafPriv, nil); err != nil {
			return nil, failed(phase, step, err, "view of member at leaf %d", c)
		}
	}
	var pc *mls.PendingCommit
	var err error
	out.create, err = measure(func() (err error) {
		pc, err = g.Commit(opts)
		return err
	})
	if err != nil {
		return nil, failed(phase, step, err, "commit by leaf %d", c)
	}
	if fork {
		pc2, err := g.Commit(opts)
		if err != nil {
			return nil, failed(phase, step, err, "second commit by leaf %d", c)
		}
		out.fork = pc2.Commit
	}
	if r.ds != nil {
		// Two-phase: the commit is applied once the service took it.
		if out.post, err = r.ds.postCommit(r.idAt(c), pc); err != nil {
			return nil, failed(phase, step, err, "leaf %d", c)
		}
		if o := r.byLeaf[c]; o != nil {
			if out.post.seq != o.cursor+1 {
				return nil, failed(phase, step, nil, "the commit of observer %d is at %d in the log, which it had read up to %d", o.index, out.post.seq, o.cursor)
			}
			o.cursor = out.post.seq
		}
	}
	if err := g.Apply(pc); err != nil {
		return nil, failed(phase, step, err, "applying the commit of leaf %d", c)
	}
	out.pc = pc
	r.view = g
	for _, rm := range pc.Removes {
		r.removed(rm.Leaf)
	}
	if leafPriv != nil {
		// A path replaced the leaf key with one from the commit's stream:
		// keep it for the member's next commit.
		if k := mls.LeafPrivateKey(simulation.Access{}, g); !bytes.Equal(k, leafPriv) {
			r.leafKeys[c] = k
		}
	}
	return out, nil
}

// processAll makes every observer other than the committer process and
// apply the commit (fetched from the delivery service, if any), recording
// the time under kind (if not empty).
func (r *runner) processAll(phase string, step int, out *commitOut, kind string) error {
	fanout := 0
	for _, o := range r.observers {
		if o.g.LeafIndex() == out.committer {
			continue
		}
		msg := out.pc.Commit
		if out.fork != nil && r.opts.fork.Observer == o.index {
			msg = out.fork
		}
		if r.ds != nil {
			f, err := r.ds.receive(o, out.post.seq, msg)
			if err != nil {
				return failed(phase, step, err, "observer %d (leaf %d) receiving the commit of leaf %d", o.index, o.g.LeafIndex(), out.committer)
			}
			if kind != "" {
				fanout += f.download
				r.ds.smp.fetch = append(r.ds.smp.fetch, f.wall)
			}
			msg = f.msg
		}
		d, err := measure(func() error {
			rec, err := o.g.Process(msg)
			if err != nil {
				return err
			}
			if rec.Commit == nil {
				return fmt.Errorf("sim: a %v message, not a commit", rec.ContentType)
			}
			return o.g.Apply(rec.Commit)
		})
		if err != nil {
			return failed(phase, step, err, "observer %d (leaf %d) processing the commit of leaf %d", o.index, o.g.LeafIndex(), out.committer)
		}
		if kind != "" {
			r.smp.process[kind] = append(r.smp.process[kind], d)
		}
		if kind == opUpdate {
			r.smp.processRatio = append(r.smp.processRatio, ratio(d.cpu, r.smp.floorNow.cpu))
			r.smp.processWall = append(r.smp.processWall, ratio(d.wall, r.smp.floorNow.wall))
		}
	}
	if r.ds != nil && kind != "" {
		r.ds.smp.fanout = append(r.ds.smp.fanout, fanout)
	}
	return nil
}

// epochs runs the measured epochs.
func (r *runner) epochs() error {
	e := r.opts.Epochs
	if s := r.opts.Committers.Zipf; s > 0 {
		// Every member so far is in the group; each epoch adds at most one.
		r.zipf = newZipfPicker(s, int(r.nextID)+e, int(r.nextID))
	}
	r.opts.progress("epochs", 0, e)
	for i := 1; i <= e; i++ {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		if err := r.epoch(i); err != nil {
			return err
		}
		r.res.AgreedEpochs++
		if err := r.application(i); err != nil {
			return err
		}
		r.opts.progress("epochs", i, e)
	}
	return nil
}

// epoch runs measured epoch i: a member drawn by Options.Committers
// commits an operation drawn by Options.Mix.
func (r *runner) epoch(i int) error {
	c, err := r.committer()
	if err != nil {
		return failed("epoch", i, err, "drawing the committer")
	}
	kind := r.opts.Mix.draw(r.rng)
	ch := choice{committer: c, by: r.idAt(c)}
	opts := &mls.CommitOptions{} // an empty commit: a path, nothing else
	var addID uint64
	switch kind {
	case opAdd:
		addID = r.nextID
		r.nextID++
		kp, _, err := r.keys.keyPackage(addID)
		if err != nil {
			return failed("epoch", i, err, "new member's KeyPackage")
		}
		if r.ds != nil {
			if kp, err = r.ds.keyPackage(addID, r.idAt(c), kp); err != nil {
				return failed("epoch", i, err, "new member's KeyPackage")
			}
		}
		add, err := mls.NewAdd(kp)
		if err != nil {
			return failed("epoch", i, err, "Add proposal")
		}
		opts = &mls.CommitOptions{Proposals: []*mls.Proposal{add}, OutOfBandTree: true}
	case opRemove:
		target, ok := r.randomMember(func(l treekem.LeafIndex) bool { return l != c && r.byLeaf[l] == nil }, 1000)
		if !ok {
			kind = opUpdate // nobody but observers and the committer left
			break
		}
		opts = &mls.CommitOptions{Proposals: []*mls.Proposal{mls.NewRemove(target)}}
		ch.removed, ch.gone = target, r.idAt(target)
	}
	ch.kind = kind
	r.choices = append(r.choices, ch)
	if kind == opUpdate {
		depth, encs := pathCost(r.view.Tree(), c)
		r.smp.depth = append(r.smp.depth, depth)
		r.smp.encs = append(r.smp.encs, encs)
	}
	fork := r.opts.fork != nil && r.ds == nil && r.opts.fork.Epoch == i && r.opts.fork.Observer < len(r.observers) &&
		r.observers[r.opts.fork.Observer].g.LeafIndex() != c
	out, err := r.commit("epoch", i, c, opts, fork)
	if err != nil {
		return err
	}
	r.smp.create[kind] = append(r.smp.create[kind], out.create)
	r.smp.bytes[kind] = append(r.smp.bytes[kind], len(out.pc.Commit))
	if r.ds != nil {
		r.ds.smp.upload[kind] = append(r.ds.smp.upload[kind], out.post.upload)
		r.ds.smp.cpu[kind] = append(r.ds.smp.cpu[kind], out.post.cost)
	}
	if kind == opUpdate {
		// The crypto floor of this path, measured now, under the same
		// load as the commit.
		k := len(r.smp.depth) - 1
		f, extra, err := r.floorOnce(r.smp.depth[k], r.smp.encs[k]-r.smp.depth[k])
		if err != nil {
			return failed("epoch", i, err, "crypto floor")
		}
		r.smp.floor = append(r.smp.floor, f.cpu)
		r.smp.createRatio = append(r.smp.createRatio, ratio(out.create.cpu, f.cpu))
		r.smp.createWall = append(r.smp.createWall, ratio(out.create.wall, f.wall))
		r.smp.pathRatio = append(r.smp.pathRatio, ratio(out.create.cpu, f.cpu+extra.cpu))
		r.smp.floorNow = f
	}
	if kind == opAdd {
		if len(out.pc.Adds) != 1 {
			return failed("epoch", i, nil, "the Add commit added %d members", len(out.pc.Adds))
		}
		r.place(out.pc.Adds[0].Leaf, addID)
	}
	if err := r.processAll("epoch", i, out, kind); err != nil {
		return err
	}
	return r.agree("epoch", i)
}

// committer returns the leaf of the member who commits the next epoch,
// drawn by Options.Committers.
func (r *runner) committer() (treekem.LeafIndex, error) {
	if r.zipf == nil {
		c, _ := r.randomMember(func(treekem.LeafIndex) bool { return true }, 1<<20)
		return c, nil
	}
	for range 1 << 20 {
		id, err := r.zipf.draw(r.rng)
		if err != nil {
			return 0, err
		}
		if c, ok := r.leafOf(id); ok {
			return c, nil
		}
	}
	return 0, errNoWeight
}

// pathCost returns the length of leaf's filtered direct path and the
// number of HPKE encryptions of its UpdatePath in tree: the sizes of the
// resolutions of its copath.
func pathCost(tree *treekem.Tree, leaf treekem.LeafIndex) (depth, encs int) {
	for _, x := range treekem.Copath(leaf.Node(), tree.LeafCount()) {
		if n := len(tree.Resolution(x)); n > 0 {
			depth++
			encs += n
		}
	}
	return depth, encs
}

// application makes a random observer send an application message that
// every other observer decrypts.
func (r *runner) application(i int) error {
	s := r.observers[r.rng.IntN(len(r.observers))]
	msg := make([]byte, 64)
	if _, err := r.keys.stream(streamMessages, uint64(i)).Read(msg); err != nil {
		return failed("epoch", i, err, "message")
	}
	var ct []byte
	d, err := measure(func() (err error) {
		ct, err = s.g.Encrypt(msg, nil)
		return err
	})
	if err != nil {
		return failed("epoch", i, err, "observer %d encrypting", s.index)
	}
	r.smp.encrypt = append(r.smp.encrypt, d)
	var seq uint64
	if r.ds != nil {
		if seq, err = r.ds.postApplication(s, ct); err != nil {
			return failed("epoch", i, err, "observer %d's application message", s.index)
		}
	}
	for _, o := range r.observers {
		if o == s {
			continue
		}
		in := ct
		if r.ds != nil {
			f, err := r.ds.receive(o, seq, ct)
			if err != nil {
				return failed("epoch", i, err, "observer %d receiving observer %d's message", o.index, s.index)
			}
			in = f.msg
		}
		var rec *mls.Received
		d, err := measure(func() (err error) {
			rec, err = o.g.Process(in)
			return err
		})
		if err != nil {
			return failed("epoch", i, err, "observer %d decrypting observer %d's message", o.index, s.index)
		}
		r.smp.decrypt = append(r.smp.decrypt, d)
		if !bytes.Equal(rec.ApplicationData, msg) {
			return disagree("epoch", i, "observer %d decrypted observer %d's message differently", o.index, s.index)
		}
	}
	return nil
}

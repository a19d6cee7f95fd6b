package sim

import (
	"time"

	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/internal/simulation"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/treekem"
)

// shape brings the built tree to the steady state (treekem.Tree.SteadyState)
// and restarts the group on it with the creator's view (mls.GroupFromTree).
// Parent keys come from the seed; each leaf is re-signed by its member.
func (r *runner) shape() error {
	r.opts.progress("shape", 0, 0)
	steady, err := r.view.Tree().SteadyState(treekem.SteadyStateParams{
		GroupID: r.groupID,
		NodeKey: func(x treekem.NodeIndex) ([]byte, error) {
			_, pub, err := r.keys.firstKeyPair(streamNode, uint64(x))
			return pub, err
		},
		Signer: func(i treekem.LeafIndex) (suite.Signer, error) {
			if int(i) < len(r.signers) && r.signers[i] != nil {
				return r.signers[i], nil
			}
			return r.keys.signer(uint64(i)) // built members: leaf i is member i
		},
	})
	r.signers = nil
	if err != nil {
		return failed("shape", 0, err, "steady-state tree")
	}
	if err := r.restart("shape", 1, steady); err != nil {
		return err
	}
	r.opts.progress("shape", 1, 1)
	return nil
}

// restart makes the view a group at epoch 0 on tree, as the creator sees
// it (mls.GroupFromTree), with the randomness of stream (streamGroup, i).
func (r *runner) restart(phase string, i uint64, tree *treekem.Tree) error {
	cfg, err := r.keys.config(0, r.keys.stream(streamGroup, i))
	if err != nil {
		return failed(phase, 0, err, "creator")
	}
	leafPriv, err := r.leafKey(0)
	if err != nil {
		return failed(phase, 0, err, "creator's leaf key")
	}
	g, err := mls.GroupFromTree(simulation.Access{}, cfg, r.groupID, nil, tree, 0, leafPriv)
	if err != nil {
		return failed(phase, 0, err, "restarting the group at epoch 0")
	}
	r.view = g
	return nil
}

// join adds the observers, one commit each by a random simulated member;
// each joins with its Welcome and the tree out of band (or fetched from
// the delivery service), which it decodes and validates in full. The
// observers already in the group process each commit.
func (r *runner) join() error {
	k := r.opts.Observers
	r.opts.progress("join", 0, k)
	for j := range k {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		id := uint64(r.opts.Members - k + j)
		kp, kpPriv, err := r.keys.keyPackage(id)
		if err != nil {
			return failed("join", j+1, err, "observer's KeyPackage")
		}
		c, ok := r.randomMember(func(l treekem.LeafIndex) bool { return r.byLeaf[l] == nil }, 1000)
		if !ok {
			return failed("join", j+1, nil, "no simulated member found to add observer %d", j)
		}
		if r.ds != nil {
			if kp, err = r.ds.keyPackage(id, r.idAt(c), kp); err != nil {
				return failed("join", j+1, err, "observer %d's KeyPackage", j)
			}
		}
		add, err := mls.NewAdd(kp)
		if err != nil {
			return failed("join", j+1, err, "Add proposal")
		}
		out, err := r.commit("join", j+1, c, &mls.CommitOptions{Proposals: []*mls.Proposal{add}, OutOfBandTree: true, OmitPath: true}, false)
		if err != nil {
			return err
		}
		if len(out.pc.Adds) != 1 || out.pc.Welcome == nil {
			return failed("join", j+1, nil, "the commit adding observer %d has no Welcome", j)
		}
		if err := r.processAll("join", j+1, out, ""); err != nil {
			return err
		}
		o := &observer{index: j, id: id}
		welcome, rt, err := r.welcomeOf(o, out)
		if err != nil {
			return failed("join", j+1, err, "observer %d's Welcome and tree", j)
		}
		cfg, err := r.keys.config(id, r.keys.stream(streamClient, id))
		if err != nil {
			return failed("join", j+1, err, "observer's config")
		}
		t0 := time.Now()
		g, err := mls.Join(cfg, welcome, kpPriv, &mls.JoinOptions{RatchetTree: rt})
		d := time.Since(t0)
		if err != nil {
			return failed("join", j+1, err, "observer %d joining", j)
		}
		r.smp.join = append(r.smp.join, d)
		r.smp.welcome = append(r.smp.welcome, len(welcome))
		o.g = g
		r.observers = append(r.observers, o)
		r.byLeaf[g.LeafIndex()] = o
		r.place(g.LeafIndex(), id)
		if err := r.agree("join", j+1); err != nil {
			return err
		}
		// Each observer decoded its own copy of the tree; they now share
		// the view's, copy-on-write (the same tree, as its hash proves).
		for _, o := range r.observers {
			if err := mls.ShareTree(simulation.Access{}, o.g, r.view); err != nil {
				return failed("join", j+1, err, "observer %d sharing the tree", o.index)
			}
		}
		r.opts.progress("join", j+1, k)
	}
	return nil
}

// setup makes each observer commit a self-update once, as every other
// member did in the steady state, so that the observers are not unmerged
// leaves of the nodes above them.
func (r *runner) setup() error {
	for j, o := range r.observers {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		out, err := r.commit("setup", j+1, o.g.LeafIndex(), &mls.CommitOptions{}, false)
		if err != nil {
			return err
		}
		if err := r.processAll("setup", j+1, out, ""); err != nil {
			return err
		}
		if err := r.agree("setup", j+1); err != nil {
			return err
		}
	}
	return nil
}

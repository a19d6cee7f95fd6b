package sim

import (
	"sync"

	"github.com/mlsengine/engine/internal/parallel"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/internal/simulation"
	"github.com/mlsengine/engine/mls/suite"
)

// build creates the group and adds members 1..Members-Observers-1 through
// real Add commits of up to Batch proposals each, without a path. The
// KeyPackages of the next batch are made on the other cores while the
// creator commits the current one.
func (r *runner) build() error {
	n := r.opts.Members - r.opts.Observers
	gid := make([]byte, r.cs.HashSize())
	if _, err := r.groupIDSource().Read(gid); err != nil {
		return failed("build", 0, err, "group id")
	}
	r.groupID = gid
	cfg, err := r.keys.config(0, r.keys.stream(streamMember, 0))
	if err != nil {
		return failed("build", 0, err, "creator")
	}
	g, err := mls.NewGroup(cfg, &mls.GroupOptions{GroupID: gid})
	if err != nil {
		return failed("build", 0, err, "creating the group")
	}
	r.leafKeys[0] = mls.LeafPrivateKey(simulation.Access{}, g) // from the creator's stream
	if !r.opts.Bare {
		r.signers = make([]suite.Signer, n) // for the shape
		r.signers[0] = cfg.Signer
	}
	r.opts.progress("build", 1, n)

	batches := make(chan kpBatch, 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(batches)
		for lo := 1; lo < n; lo += r.opts.Batch {
			b := r.makeKeyPackages(lo, min(lo+r.opts.Batch, n))
			select {
			case batches <- b:
			case <-stop:
				return
			}
			if b.err != nil {
				return
			}
		}
	}()
	defer func() {
		close(stop)
		for range batches { // let the producer finish
		}
		wg.Wait()
	}()

	step := 0
	for b := range batches {
		step++
		if b.err != nil {
			return failed("build", step, b.err, "KeyPackage")
		}
		if err := r.ctx.Err(); err != nil {
			return err
		}
		props := make([]*mls.Proposal, len(b.kps))
		for i, kp := range b.kps {
			if props[i], err = mls.NewAdd(kp); err != nil {
				return failed("build", step, err, "Add proposal")
			}
		}
		pc, err := g.Commit(&mls.CommitOptions{Proposals: props, NoPending: true, OutOfBandTree: true, OmitPath: true})
		if err != nil {
			return failed("build", step, err, "committing %d Adds", len(props))
		}
		if err := g.Apply(pc); err != nil {
			return failed("build", step, err, "applying the Add commit")
		}
		r.opts.progress("build", b.hi, n)
	}
	r.view = g
	r.built = uint32(n)
	r.nextID = uint64(r.opts.Members)
	return nil
}

// kpBatch is the KeyPackages of members [lo, hi).
type kpBatch struct {
	lo, hi int
	kps    [][]byte
	err    error
}

// makeKeyPackages makes the KeyPackages of members [lo, hi) on all cores,
// keeping their signers for the shape (r.signers).
func (r *runner) makeKeyPackages(lo, hi int) kpBatch {
	b := kpBatch{lo: lo, hi: hi, kps: make([][]byte, hi-lo)}
	b.err = parallel.Each(hi-lo, func(i int) error {
		kp, priv, s, err := r.keys.keyPackageAndSigner(uint64(lo + i))
		if err != nil {
			return err
		}
		priv.Wipe()
		b.kps[i] = kp
		if r.signers != nil {
			r.signers[lo+i] = s
		}
		return nil
	})
	return b
}

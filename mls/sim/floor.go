package sim

import (
	"slices"
	"time"
)

// floor measures the crypto floor of creating an UpdatePath at the median
// depth of the run's updates: depth × (one HPKE seal + one DeriveKeyPair),
// the crypto that a path's creation cannot avoid, as the treekem
// benchmarks define it.
func (r *runner) floor() Floor {
	if len(r.smp.depth) == 0 {
		return Floor{}
	}
	f := Floor{Depth: medianInt(r.smp.depth)}
	rnd := r.keys.stream("floor", 0)
	ikm := make([]byte, r.cs.HashSize())
	gc := make([]byte, 120) // about a serialized GroupContext
	_, pub, err := r.cs.GenerateKeyPair(rnd)
	if err != nil {
		return Floor{}
	}
	const rounds = 200
	seal := make([]time.Duration, 0, rounds)
	derive := make([]time.Duration, 0, rounds)
	for range rounds {
		rnd.Read(ikm)
		t0 := time.Now()
		if _, _, err := r.cs.DeriveKeyPair(ikm); err != nil {
			return Floor{}
		}
		t1 := time.Now()
		if _, _, err := r.cs.EncryptWithLabel(rnd, pub, "UpdatePathNode", gc, ikm); err != nil {
			return Floor{}
		}
		seal = append(seal, time.Since(t1))
		derive = append(derive, t1.Sub(t0))
	}
	slices.Sort(seal)
	slices.Sort(derive)
	f.SealUS = us(seal[rounds/2])
	f.DeriveUS = us(derive[rounds/2])
	f.CreateMS = float64(f.Depth) * (f.SealUS + f.DeriveUS) / 1e3
	if f.CreateMS > 0 {
		f.CreateRatio = r.res.Ops.Update.CreateMedianMS / f.CreateMS
		f.ProcessRatio = r.res.Ops.Update.ProcessMedianMS / f.CreateMS
	}
	return f
}

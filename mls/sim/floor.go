package sim

// floorLabel is the EncryptWithLabel label of path secrets (RFC 9420 §7.6).
const floorLabel = "UpdatePathNode"

// floorOnce times the crypto floor of creating an UpdatePath of depth
// nodes, as the treekem benchmarks define it: depth × (one DeriveKeyPair +
// one HPKE seal), the crypto that a path's creation cannot avoid.
//
// extra more seals are timed separately: a path whose copath resolutions
// hold more than one node encrypts to each of them (after a Remove blanked
// nodes, or an Add without a path left unmerged leaves), so its own floor
// is the floor plus extra seals.
func (r *runner) floorOnce(depth, extra int) (floor, seals span, err error) {
	if r.floorPub == nil {
		_, pub, err := r.cs.GenerateKeyPair(r.keys.stream("floor", 0))
		if err != nil {
			return span{}, span{}, err
		}
		r.floorPub = pub
		r.floorRand = r.keys.stream("floor", 1)
	}
	ikm := make([]byte, r.cs.HashSize())
	gc := make([]byte, 120) // about a serialized GroupContext
	seals, err = measure(func() error {
		for range extra {
			if _, _, err := r.cs.EncryptWithLabel(r.floorRand, r.floorPub, floorLabel, gc, ikm); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return span{}, span{}, err
	}
	floor, err = measure(func() error {
		for range depth {
			if _, err := r.floorRand.Read(ikm); err != nil {
				return err
			}
			if _, _, err := r.cs.DeriveKeyPair(ikm); err != nil {
				return err
			}
			if _, _, err := r.cs.EncryptWithLabel(r.floorRand, r.floorPub, floorLabel, gc, ikm); err != nil {
				return err
			}
		}
		return nil
	})
	return floor, seals, err
}

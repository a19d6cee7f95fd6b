package delivery

import (
	"maps"
	"slices"

	"github.com/mlsengine/engine/mls"
)

// maxPast bounds how many ended memberships a tracked group remembers, so
// that removed members can still read their group's log up to their
// removal: the oldest are forgotten first.
const maxPast = 1024

// span is a client's membership of a group: the part of the log and the
// epochs it may read. From is the sequence number of the commit that
// added it (0 for a founding member) and FromEpoch the epoch that commit
// started; To and ToEpoch are those of the commit that removed it and the
// last epoch it was in (both zero while it is a member).
type span struct {
	From      uint64 `cbor:"1,keyasint"`
	FromEpoch uint64 `cbor:"2,keyasint"`
	To        uint64 `cbor:"3,keyasint,omitempty"`
	ToEpoch   uint64 `cbor:"4,keyasint,omitempty"`
	// Leaves counts the client's leaves (a current membership).
	Leaves int `cbor:"5,keyasint,omitempty"`
}

// pastSpan is an ended membership.
type pastSpan struct {
	Identity string `cbor:"1,keyasint"`
	Span     span   `cbor:"2,keyasint"`
}

// memberIndex is who is and was in a tracked group, by the identity their
// credentials present (the client name, for the service's certificates):
// what authorization looks up on every request, kept up to date by each
// commit in O(changes) and never recomputed from the tree.
type memberIndex struct {
	byLeaf  map[mls.LeafIndex]string
	current map[string]*span
	past    []pastSpan // oldest first
}

// newMemberIndex indexes the members of a group's first epoch, founding
// members all.
func newMemberIndex(members []mls.Member, epoch uint64) *memberIndex {
	ix := &memberIndex{byLeaf: make(map[mls.LeafIndex]string), current: make(map[string]*span)}
	for _, m := range members {
		id := string(m.Identity)
		ix.byLeaf[m.Leaf] = id
		sp := ix.current[id]
		if sp == nil {
			sp = &span{FromEpoch: epoch}
			ix.current[id] = sp
		}
		sp.Leaves++
	}
	return ix
}

// joined is a member a commit added, with the identity it presents.
type joined struct {
	leaf     mls.LeafIndex
	identity string
}

// apply records the commit at seq, which ended epoch: it removed the
// leaves removed and added the members added (an external commit's joiner
// among them).
func (ix *memberIndex) apply(seq, epoch uint64, removed []mls.LeafIndex, added []joined) {
	touched := map[string]bool{}
	for _, leaf := range removed {
		id, ok := ix.byLeaf[leaf]
		if !ok {
			continue
		}
		delete(ix.byLeaf, leaf)
		ix.current[id].Leaves--
		touched[id] = true
	}
	for _, j := range added {
		ix.byLeaf[j.leaf] = j.identity
		sp := ix.current[j.identity]
		if sp == nil {
			sp = &span{From: seq, FromEpoch: epoch + 1}
			ix.current[j.identity] = sp
		}
		sp.Leaves++
	}
	for _, id := range slices.Sorted(maps.Keys(touched)) {
		sp := ix.current[id]
		if sp.Leaves > 0 {
			continue
		}
		delete(ix.current, id)
		sp.To, sp.ToEpoch = seq, epoch
		ix.past = append(ix.past, pastSpan{Identity: id, Span: *sp})
	}
	if len(ix.past) > maxPast {
		ix.past = slices.Clone(ix.past[len(ix.past)-maxPast:])
	}
}

// isMember reports whether identity is a current member.
func (ix *memberIndex) isMember(identity string) bool { return ix.current[identity] != nil }

// spans returns identity's memberships, current one last.
func (ix *memberIndex) spans(identity string) []span {
	var out []span
	for _, p := range ix.past {
		if p.Identity == identity {
			out = append(out, p.Span)
		}
	}
	if sp := ix.current[identity]; sp != nil {
		out = append(out, *sp)
	}
	return out
}

// access is what a client may read of a tracked group's log: the messages
// within its memberships.
type access []span

// allows reports whether the message at seq is within a membership.
func (a access) allows(seq uint64) bool {
	for _, sp := range a {
		if seq >= sp.From && (sp.To == 0 || seq <= sp.To) {
			return true
		}
	}
	return false
}

// allowsEpoch reports whether the client was a member in epoch.
func (a access) allowsEpoch(epoch uint64) bool {
	for _, sp := range a {
		if epoch >= sp.FromEpoch && (sp.To == 0 || epoch <= sp.ToEpoch) {
			return true
		}
	}
	return false
}

// ended reports whether every membership ended at or before seq: nothing
// after seq will ever be readable.
func (a access) ended(seq uint64) bool {
	for _, sp := range a {
		if sp.To == 0 || seq < sp.To {
			return false
		}
	}
	return true
}

// snapshot is the index's form in a View.
type indexSnapshot struct {
	Leaves  map[uint32]string `cbor:"1,keyasint"`
	Current map[string]span   `cbor:"2,keyasint"`
	Past    []pastSpan        `cbor:"3,keyasint,omitempty"`
}

func (ix *memberIndex) snapshot() indexSnapshot {
	s := indexSnapshot{Leaves: make(map[uint32]string, len(ix.byLeaf)), Current: make(map[string]span, len(ix.current)), Past: ix.past}
	for leaf, id := range ix.byLeaf {
		s.Leaves[uint32(leaf)] = id
	}
	for id, sp := range ix.current {
		s.Current[id] = *sp
	}
	return s
}

func (s *indexSnapshot) index() *memberIndex {
	ix := &memberIndex{byLeaf: make(map[mls.LeafIndex]string, len(s.Leaves)), current: make(map[string]*span, len(s.Current)), past: s.Past}
	for leaf, id := range s.Leaves {
		ix.byLeaf[mls.LeafIndex(leaf)] = id
	}
	for id, sp := range s.Current {
		ix.current[id] = &sp
	}
	return ix
}

package treekem

import "github.com/mlsengine/engine/mls/wire"

// HPKECiphertext is an HPKE-encrypted value (§7.6).
type HPKECiphertext struct {
	KEMOutput  []byte
	Ciphertext []byte
}

// MarshalMLS encodes the HPKECiphertext.
func (c *HPKECiphertext) MarshalMLS(b *wire.Builder) {
	b.AddVector(c.KEMOutput)
	b.AddVector(c.Ciphertext)
}

// UnmarshalMLS decodes an HPKECiphertext.
func (c *HPKECiphertext) UnmarshalMLS(r *wire.Reader) bool {
	return r.ReadVector(&c.KEMOutput) && r.ReadVector(&c.Ciphertext)
}

// UpdatePathNode is one node of an UpdatePath: the new public key of a node
// of the sender's filtered direct path and its path secret encrypted to each
// node of the corresponding copath node's resolution (§7.6).
type UpdatePathNode struct {
	EncryptionKey       []byte
	EncryptedPathSecret []HPKECiphertext
}

// MarshalMLS encodes the UpdatePathNode.
func (n *UpdatePathNode) MarshalMLS(b *wire.Builder) {
	b.AddVector(n.EncryptionKey)
	b.AddVectorFunc(func(b *wire.Builder) {
		for i := range n.EncryptedPathSecret {
			n.EncryptedPathSecret[i].MarshalMLS(b)
		}
	})
}

// UnmarshalMLS decodes an UpdatePathNode.
func (n *UpdatePathNode) UnmarshalMLS(r *wire.Reader) bool {
	_, ok := n.unmarshal(r, nil)
	return ok
}

// unmarshal decodes an UpdatePathNode whose ciphertexts it appends to cts
// (which may have room for them), and returns the extended cts.
func (n *UpdatePathNode) unmarshal(r *wire.Reader, cts []HPKECiphertext) ([]HPKECiphertext, bool) {
	*n = UpdatePathNode{}
	start := len(cts)
	ok := r.ReadVector(&n.EncryptionKey) && r.ReadList(func(r *wire.Reader) bool {
		var c HPKECiphertext
		if !c.UnmarshalMLS(r) {
			return false
		}
		cts = append(cts, c)
		return true
	})
	if len(cts) > start {
		n.EncryptedPathSecret = cts[start:len(cts):len(cts)]
	}
	return cts, ok
}

// UpdatePath is the path a committer sends (§7.6): its new leaf and one
// UpdatePathNode per node of its filtered direct path.
type UpdatePath struct {
	LeafNode LeafNode
	Nodes    []UpdatePathNode
}

// MarshalMLS encodes the UpdatePath.
func (p *UpdatePath) MarshalMLS(b *wire.Builder) {
	p.LeafNode.MarshalMLS(b)
	b.AddVectorFunc(func(b *wire.Builder) {
		for i := range p.Nodes {
			p.Nodes[i].MarshalMLS(b)
		}
	})
}

// UnmarshalMLS decodes an UpdatePath.
func (p *UpdatePath) UnmarshalMLS(r *wire.Reader) bool {
	*p = UpdatePath{}
	if !p.LeafNode.UnmarshalMLS(r) {
		return false
	}
	// The nodes and their ciphertexts go in two arrays of the sizes a
	// first pass counts (bounded by the input's length).
	var cts []HPKECiphertext
	if body, ok := peekVector(r); ok {
		if nodes, n := countPathNodes(body); nodes > 0 {
			p.Nodes, cts = make([]UpdatePathNode, 0, nodes), make([]HPKECiphertext, 0, n)
		}
	}
	return r.ReadList(func(r *wire.Reader) bool {
		var n UpdatePathNode
		var ok bool
		if cts, ok = n.unmarshal(r, cts); !ok {
			return false
		}
		p.Nodes = append(p.Nodes, n)
		return true
	})
}

// peekVector returns the body of the vector at r's position without
// consuming it.
func peekVector(r *wire.Reader) (wire.Reader, bool) {
	var sub wire.Reader
	c := *r
	ok := c.ReadVectorReader(&sub)
	return sub, ok
}

// countPathNodes counts the UpdatePathNodes of a list body and their
// ciphertexts, as far as they parse.
func countPathNodes(r wire.Reader) (nodes, cts int) {
	for !r.Empty() {
		var key []byte
		var list wire.Reader
		if !r.ReadVector(&key) || !r.ReadVectorReader(&list) {
			return nodes, cts
		}
		nodes++
		for !list.Empty() {
			var kem, ct []byte
			if !list.ReadVector(&kem) || !list.ReadVector(&ct) {
				return nodes, cts
			}
			cts++
		}
	}
	return nodes, cts
}

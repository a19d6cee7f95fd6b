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
	*n = UpdatePathNode{}
	return r.ReadVector(&n.EncryptionKey) && r.ReadList(func(r *wire.Reader) bool {
		var c HPKECiphertext
		if !c.UnmarshalMLS(r) {
			return false
		}
		n.EncryptedPathSecret = append(n.EncryptedPathSecret, c)
		return true
	})
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
	return p.LeafNode.UnmarshalMLS(r) && r.ReadList(func(r *wire.Reader) bool {
		var n UpdatePathNode
		if !n.UnmarshalMLS(r) {
			return false
		}
		p.Nodes = append(p.Nodes, n)
		return true
	})
}

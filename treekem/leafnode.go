package treekem

import (
	"github.com/mlsengine/engine/mls/wire"
)

// ProtocolVersion is an MLS protocol version; MLS10 is the only one.
type ProtocolVersion uint16

// MLS10 is the protocol version of RFC 9420.
const MLS10 ProtocolVersion = 1

// LeafNodeSource says how a LeafNode came to be in the tree (§7.2).
type LeafNodeSource uint8

// Leaf node sources.
const (
	SourceKeyPackage LeafNodeSource = 1
	SourceUpdate     LeafNodeSource = 2
	SourceCommit     LeafNodeSource = 3
)

// Capabilities lists what a client supports (§7.2). Unknown values are
// kept (and ignored by checks), GREASE included.
type Capabilities struct {
	Versions     []ProtocolVersion
	CipherSuites []uint16
	Extensions   []ExtensionType
	Proposals    []uint16
	Credentials  []CredentialType
}

// Lifetime bounds a key-package leaf's validity, in seconds since the Unix
// epoch (§7.2).
type Lifetime struct {
	NotBefore uint64
	NotAfter  uint64
}

// LeafNode describes one member (§7.2). Lifetime is set only for the
// key_package source, ParentHash only for the commit source.
type LeafNode struct {
	EncryptionKey []byte // HPKEPublicKey
	SignatureKey  []byte // SignaturePublicKey
	Credential    Credential
	Capabilities  Capabilities
	Source        LeafNodeSource
	Lifetime      Lifetime
	ParentHash    []byte
	Extensions    Extensions
	Signature     []byte
}

func addUint16s[T ~uint16](b *wire.Builder, vs []T) {
	b.AddVectorFunc(func(b *wire.Builder) {
		for _, v := range vs {
			b.AddUint16(uint16(v))
		}
	})
}

func readUint16s[T ~uint16](r *wire.Reader, out *[]T) bool {
	var sub wire.Reader
	if !r.ReadVectorReader(&sub) {
		return false
	}
	if sub.Len()%2 != 0 {
		return r.Fail("truncated")
	}
	var vs []T
	if !sub.Empty() {
		vs = make([]T, sub.Len()/2)
	}
	for i := range vs {
		var v uint16
		sub.ReadUint16(&v)
		vs[i] = T(v)
	}
	*out = vs
	return true
}

// MarshalMLS encodes the Capabilities.
func (c *Capabilities) MarshalMLS(b *wire.Builder) {
	addUint16s(b, c.Versions)
	addUint16s(b, c.CipherSuites)
	addUint16s(b, c.Extensions)
	addUint16s(b, c.Proposals)
	addUint16s(b, c.Credentials)
}

// UnmarshalMLS decodes Capabilities.
func (c *Capabilities) UnmarshalMLS(r *wire.Reader) bool {
	return readUint16s(r, &c.Versions) &&
		readUint16s(r, &c.CipherSuites) &&
		readUint16s(r, &c.Extensions) &&
		readUint16s(r, &c.Proposals) &&
		readUint16s(r, &c.Credentials)
}

// marshalContent writes the fields shared by LeafNode and LeafNodeTBS.
func (l *LeafNode) marshalContent(b *wire.Builder) {
	b.AddVector(l.EncryptionKey)
	b.AddVector(l.SignatureKey)
	l.Credential.MarshalMLS(b)
	l.Capabilities.MarshalMLS(b)
	b.AddUint8(uint8(l.Source))
	switch l.Source {
	case SourceKeyPackage:
		b.AddUint64(l.Lifetime.NotBefore)
		b.AddUint64(l.Lifetime.NotAfter)
	case SourceUpdate:
	case SourceCommit:
		b.AddVector(l.ParentHash)
	default:
		b.SetError(errEncode)
	}
	l.Extensions.MarshalMLS(b)
}

// MarshalMLS encodes the LeafNode.
func (l *LeafNode) MarshalMLS(b *wire.Builder) {
	l.marshalContent(b)
	b.AddVector(l.Signature)
}

// marshalLeaf encodes ln into a buffer of about its size (sizeBound), so
// that a stored encoding wastes no capacity.
func marshalLeaf(ln *LeafNode) ([]byte, error) {
	return wire.AppendMarshal(make([]byte, 0, ln.sizeBound()), ln)
}

// sizeBound returns an upper bound of the size of the LeafNode's encoding,
// within a few bytes per vector of it: each varint length counts 4.
func (l *LeafNode) sizeBound() int {
	n := 4 + len(l.EncryptionKey) + 4 + len(l.SignatureKey) + 2 + 4 + len(l.Credential.Identity)
	for _, c := range l.Credential.Certificates {
		n += 4 + len(c)
	}
	c := &l.Capabilities
	n += 5*4 + 2*(len(c.Versions)+len(c.CipherSuites)+len(c.Extensions)+len(c.Proposals)+len(c.Credentials))
	n += 1 + 16 + 4 + len(l.ParentHash) + 4
	for _, e := range l.Extensions {
		n += 2 + 4 + len(e.Data)
	}
	return n + 4 + len(l.Signature)
}

// UnmarshalMLS decodes a LeafNode.
func (l *LeafNode) UnmarshalMLS(r *wire.Reader) bool {
	*l = LeafNode{}
	var src uint8
	if !r.ReadVector(&l.EncryptionKey) || !r.ReadVector(&l.SignatureKey) ||
		!l.Credential.UnmarshalMLS(r) || !l.Capabilities.UnmarshalMLS(r) ||
		!r.ReadUint8(&src) {
		return false
	}
	l.Source = LeafNodeSource(src)
	switch l.Source {
	case SourceKeyPackage:
		if !r.ReadUint64(&l.Lifetime.NotBefore) || !r.ReadUint64(&l.Lifetime.NotAfter) {
			return false
		}
	case SourceUpdate:
	case SourceCommit:
		if !r.ReadVector(&l.ParentHash) {
			return false
		}
	default:
		return r.Fail("invalid leaf_node_source")
	}
	return l.Extensions.UnmarshalMLS(r) && r.ReadVector(&l.Signature)
}

// TBS returns the LeafNodeTBS encoding that the leaf's signature covers
// (§7.2): for the update and commit sources it binds groupID and the leaf's
// index; for key_package both are ignored.
func (l *LeafNode) TBS(groupID []byte, leaf LeafIndex) ([]byte, error) {
	b := wire.NewBuilder(nil)
	l.marshalContent(b)
	if l.Source == SourceUpdate || l.Source == SourceCommit {
		b.AddVector(groupID)
		b.AddUint32(uint32(leaf))
	}
	return b.Bytes()
}

// ParentNode is the public state of an interior node (§7.1).
type ParentNode struct {
	EncryptionKey  []byte
	ParentHash     []byte
	UnmergedLeaves []LeafIndex
}

// MarshalMLS encodes the ParentNode.
func (p *ParentNode) MarshalMLS(b *wire.Builder) {
	b.AddVector(p.EncryptionKey)
	b.AddVector(p.ParentHash)
	b.AddVectorFunc(func(b *wire.Builder) {
		for _, l := range p.UnmergedLeaves {
			b.AddUint32(uint32(l))
		}
	})
}

// UnmarshalMLS decodes a ParentNode.
func (p *ParentNode) UnmarshalMLS(r *wire.Reader) bool {
	*p = ParentNode{}
	return r.ReadVector(&p.EncryptionKey) && r.ReadVector(&p.ParentHash) &&
		r.ReadList(func(r *wire.Reader) bool {
			var l uint32
			if !r.ReadUint32(&l) {
				return false
			}
			p.UnmergedLeaves = append(p.UnmergedLeaves, LeafIndex(l))
			return true
		})
}

// NodeType tells a leaf from a parent node in the ratchet_tree encoding.
type NodeType uint8

// Node types (§12.4.3.3).
const (
	NodeTypeLeaf   NodeType = 1
	NodeTypeParent NodeType = 2
)

// Node is one entry of a serialized ratchet tree: exactly one of Leaf and
// Parent is set.
type Node struct {
	Leaf   *LeafNode
	Parent *ParentNode
}

// MarshalMLS encodes the Node.
func (n *Node) MarshalMLS(b *wire.Builder) {
	switch {
	case n.Leaf != nil:
		b.AddUint8(uint8(NodeTypeLeaf))
		n.Leaf.MarshalMLS(b)
	case n.Parent != nil:
		b.AddUint8(uint8(NodeTypeParent))
		n.Parent.MarshalMLS(b)
	default:
		b.SetError(errEncode)
	}
}

// UnmarshalMLS decodes a Node.
func (n *Node) UnmarshalMLS(r *wire.Reader) bool {
	*n = Node{}
	var t uint8
	if !r.ReadUint8(&t) {
		return false
	}
	switch NodeType(t) {
	case NodeTypeLeaf:
		n.Leaf = new(LeafNode)
		return n.Leaf.UnmarshalMLS(r)
	case NodeTypeParent:
		n.Parent = new(ParentNode)
		return n.Parent.UnmarshalMLS(r)
	default:
		return r.Fail("invalid node_type")
	}
}

// NodeList is the ratchet_tree encoding `optional<Node> ratchet_tree<V>`
// (§12.4.3.3): nodes in array order, nil for a blank node. Decoding checks
// only the syntax; the tree's shape is checked when a tree is built from it.
type NodeList []*Node

// MarshalMLS encodes the list.
func (nl NodeList) MarshalMLS(b *wire.Builder) {
	b.AddVectorFunc(func(b *wire.Builder) {
		for _, n := range nl {
			b.AddOptional(n != nil, func(b *wire.Builder) { n.MarshalMLS(b) })
		}
	})
}

// UnmarshalMLS decodes the list.
func (nl *NodeList) UnmarshalMLS(r *wire.Reader) bool {
	var list NodeList
	ok := r.ReadList(func(r *wire.Reader) bool {
		var present bool
		n := new(Node)
		if !r.ReadOptional(&present, n.UnmarshalMLS) {
			return false
		}
		if !present {
			n = nil
		}
		list = append(list, n)
		return true
	})
	if ok {
		*nl = list
	}
	return ok
}

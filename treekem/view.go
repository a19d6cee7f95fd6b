package treekem

import "github.com/mlsengine/engine/mls/wire"

// Nodes are stored as their encodings; the views below read fields out of
// an encoding without allocating. The encodings were checked when stored,
// so a view of a stored node cannot fail.

// leafView is a parsed LeafNode encoding; its slices alias the encoding.
type leafView struct {
	enc, sig   []byte
	credType   CredentialType
	cred       []byte // the Credential encoding
	caps       [5][]byte
	source     LeafNodeSource
	lifetime   Lifetime
	parentHash []byte
	exts       []byte // the contents of extensions<V>
	content    []byte // the encoding up to the signature: LeafNodeTBS's prefix
	signature  []byte
}

// Capability list positions in leafView.caps.
const (
	capVersions = iota
	capSuites
	capExtensions
	capProposals
	capCredentials
)

// parseLeaf parses a LeafNode encoding that is known to be well formed
// (stored encodings were decoded by LeafNode.UnmarshalMLS first).
func parseLeaf(d []byte) (v leafView, ok bool) {
	r := wire.NewReader(d)
	ok = readLeafView(r, &v) && r.Empty()
	return v, ok
}

// readLeafView reads the fields of one LeafNode into v. It checks the
// layout only (lengths, known credential and source values), not the
// contents of lists: UnmarshalTree uses it to find node boundaries, then
// decodes each node strictly.
func readLeafView(r *wire.Reader, v *leafView) bool {
	start := r.Rest()
	var src uint8
	var t uint16
	if !r.ReadVector(&v.enc) || !r.ReadVector(&v.sig) {
		return false
	}
	credStart := r.Rest()
	var skip []byte
	// basic: identity<V>; x509: certificates<V>
	if !r.ReadUint16(&t) || !r.ReadVector(&skip) {
		return false
	}
	v.credType = CredentialType(t)
	v.cred = credStart[:len(credStart)-r.Len()]
	for i := range v.caps {
		if !r.ReadVector(&v.caps[i]) {
			return false
		}
	}
	if !r.ReadUint8(&src) {
		return false
	}
	v.source = LeafNodeSource(src)
	switch v.source {
	case SourceKeyPackage:
		if !r.ReadUint64(&v.lifetime.NotBefore) || !r.ReadUint64(&v.lifetime.NotAfter) {
			return false
		}
	case SourceUpdate:
	case SourceCommit:
		if !r.ReadVector(&v.parentHash) {
			return false
		}
	default:
		return r.Fail("invalid leaf_node_source")
	}
	if !r.ReadVector(&v.exts) {
		return false
	}
	v.content = start[:len(start)-r.Len()]
	return r.ReadVector(&v.signature)
}

// readParentView reads the fields of one ParentNode into v.
func readParentView(r *wire.Reader, v *parentView) bool {
	return r.ReadVector(&v.key) && r.ReadVector(&v.parentHash) && r.ReadVector(&v.unmerged)
}

// leafKeys returns the encryption and signature keys of a LeafNode
// encoding, the first two fields.
func leafKeys(d []byte) (enc, sig []byte) {
	r := wire.NewReader(d)
	r.ReadVector(&enc)
	r.ReadVector(&sig)
	return enc, sig
}

// parentView is a parsed ParentNode encoding.
type parentView struct {
	key, parentHash []byte
	unmerged        []byte // the uint32 entries of unmerged_leaves<V>
}

func parseParent(d []byte) (v parentView, ok bool) {
	r := wire.NewReader(d)
	ok = readParentView(r, &v) && r.Empty() && len(v.unmerged)%4 == 0
	return v, ok
}

func parentKey(d []byte) []byte {
	var k []byte
	wire.NewReader(d).ReadVector(&k)
	return k
}

// unmergedAt returns the i-th entry of an unmerged_leaves body.
func unmergedAt(u []byte, i int) LeafIndex {
	u = u[4*i:]
	return LeafIndex(uint32(u[0])<<24 | uint32(u[1])<<16 | uint32(u[2])<<8 | uint32(u[3]))
}

// encodeParent returns the ParentNode encoding of the given fields.
// The lengths are bounded by the stored encodings the fields come from.
func encodeParent(key, parentHash []byte, unmerged []LeafIndex) []byte {
	return appendParent(make([]byte, 0, parentSize(key, parentHash, unmerged)), key, parentHash, unmerged)
}

// parentSize bounds the size of a ParentNode encoding.
func parentSize(key, parentHash []byte, unmerged []LeafIndex) int {
	return len(key) + len(parentHash) + 4*len(unmerged) + 12
}

// appendParent appends the ParentNode encoding of the given fields to b.
func appendParent(b, key, parentHash []byte, unmerged []LeafIndex) []byte {
	b = appendVec(appendVec(b, key), parentHash)
	b = appendVarint(b, 4*len(unmerged))
	for _, l := range unmerged {
		b = appendUint32(b, uint32(l))
	}
	return b
}

// hasUint16 reports whether a vector of uint16 values holds v.
func hasUint16(list []byte, v uint16) bool {
	for i := 0; i+1 < len(list); i += 2 {
		if uint16(list[i])<<8|uint16(list[i+1]) == v {
			return true
		}
	}
	return false
}

// forExtensions calls f with the type of each extension of an extensions
// body, stopping at the first false.
func forExtensions(body []byte, f func(ExtensionType) bool) {
	r := wire.NewReader(body)
	for !r.Empty() {
		var t uint16
		var d []byte
		if !r.ReadUint16(&t) || !r.ReadVector(&d) {
			return
		}
		if !f(ExtensionType(t)) {
			return
		}
	}
}

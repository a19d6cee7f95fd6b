package treekem

import "github.com/mlsengine/engine/mls/wire"

// ExtensionType identifies an extension (IANA "MLS Extension Types").
type ExtensionType uint16

// Extension types defined by RFC 9420 §17.3.
const (
	ExtensionApplicationID        ExtensionType = 0x0001
	ExtensionRatchetTree          ExtensionType = 0x0002
	ExtensionRequiredCapabilities ExtensionType = 0x0003
	ExtensionExternalPub          ExtensionType = 0x0004
	ExtensionExternalSenders      ExtensionType = 0x0005
)

// IsDefault reports whether t is one of the extension types that every
// client supports and that MUST NOT be listed in Capabilities (§7.2).
func (t ExtensionType) IsDefault() bool { return t >= 1 && t <= 5 }

// Extension is an extension of a LeafNode, KeyPackage, GroupContext or
// GroupInfo (§13.4). Data is opaque here; the owner of the type parses it.
type Extension struct {
	Type ExtensionType
	Data []byte
}

// Extensions is a list of extensions with at most one of each type.
type Extensions []Extension

// Find returns the data of the extension of type t.
func (es Extensions) Find(t ExtensionType) ([]byte, bool) {
	for _, e := range es {
		if e.Type == t {
			return e.Data, true
		}
	}
	return nil, false
}

// Has reports whether an extension of type t is present.
func (es Extensions) Has(t ExtensionType) bool {
	_, ok := es.Find(t)
	return ok
}

// MarshalMLS encodes Extension extensions<V>.
func (es Extensions) MarshalMLS(b *wire.Builder) {
	b.AddVectorFunc(func(b *wire.Builder) {
		for _, e := range es {
			b.AddUint16(uint16(e.Type))
			b.AddVector(e.Data)
		}
	})
}

// UnmarshalMLS decodes Extension extensions<V>, rejecting a list with two
// extensions of one type (§13.4: "MUST NOT have more than one extension of
// any given type").
func (es *Extensions) UnmarshalMLS(r *wire.Reader) bool {
	var list Extensions
	ok := r.ReadList(func(r *wire.Reader) bool {
		var e Extension
		var t uint16
		if !r.ReadUint16(&t) || !r.ReadVector(&e.Data) {
			return false
		}
		e.Type = ExtensionType(t)
		if list.Has(e.Type) {
			return r.Fail("duplicate extension type")
		}
		list = append(list, e)
		return true
	})
	if ok {
		*es = list
	}
	return ok
}

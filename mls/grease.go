package mls

import (
	"io"
	"slices"

	"github.com/mlsengine/engine/mls/suite"
)

// GREASE (§13.5). When Config.GREASE is set, the client adds one random
// GREASE value to each field where RFC 9420 allows them: the cipher
// suites, extensions, proposals and credentials of its capabilities, and
// the extensions of its LeafNodes, KeyPackages and GroupInfos. Received
// GREASE values need no code: they are unknown values, handled like any
// other.

// IsGREASE reports whether v is one of the values RFC 9420 reserves for
// GREASE: 0x0A0A, 0x1A1A, ..., 0xEAEA, the same in every registry (which
// is why no suite can be registered under one).
func IsGREASE(v uint16) bool { return suite.ID(v).IsGREASE() }

// greaseValue returns a random GREASE value.
func (c *config) greaseValue() (uint16, error) {
	var b [1]byte
	if _, err := io.ReadFull(c.rand(), b[:]); err != nil {
		return 0, wrapErr(ErrInvalidArgument, "reading randomness", err)
	}
	k := uint16(b[0]) % 15
	return 0x0A0A + k*0x1010, nil
}

// greaseLeaf adds GREASE values to a LeafNode's capabilities and one GREASE
// extension to its extensions (also listed in the capabilities, as §7.3
// requires).
func (c *config) greaseLeaf(ln *LeafNode) error {
	var v [5]uint16
	for i := range v {
		g, err := c.greaseValue()
		if err != nil {
			return err
		}
		v[i] = g
	}
	caps := &ln.Capabilities
	addU16(&caps.CipherSuites, v[0])
	addU16(&caps.Proposals, v[1])
	addU16(&caps.Credentials, v[2])
	addU16(&caps.Extensions, v[3])
	if !ln.Extensions.Has(ExtensionType(v[3])) {
		ln.Extensions = append(ln.Extensions, Extension{Type: ExtensionType(v[3]), Data: []byte{}})
	}
	return nil
}

// greaseExtensions returns exts with a GREASE extension carrying a few
// random bytes, for KeyPackage and GroupInfo extensions.
func (c *config) greaseExtensions(exts Extensions) (Extensions, error) {
	g, err := c.greaseValue()
	if err != nil {
		return nil, err
	}
	if exts.Has(ExtensionType(g)) {
		return exts, nil
	}
	var n [1]byte
	if _, err := io.ReadFull(c.rand(), n[:]); err != nil {
		return nil, wrapErr(ErrInvalidArgument, "reading randomness", err)
	}
	data := make([]byte, n[0]%16)
	if _, err := io.ReadFull(c.rand(), data); err != nil {
		return nil, wrapErr(ErrInvalidArgument, "reading randomness", err)
	}
	return append(slices.Clone(exts), Extension{Type: ExtensionType(g), Data: data}), nil
}

func addU16[T ~uint16](list *[]T, v uint16) {
	if !slices.Contains(*list, T(v)) {
		*list = append(*list, T(v))
	}
}

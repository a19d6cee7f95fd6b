package treekem

import (
	"maps"

	"github.com/mlsengine/engine/mls/wire"
)

// RequiredCapabilities is the required_capabilities GroupContext extension
// (§11.1): what every member must support.
type RequiredCapabilities struct {
	Extensions  []ExtensionType
	Proposals   []uint16
	Credentials []CredentialType
}

// MarshalMLS encodes the RequiredCapabilities.
func (rc *RequiredCapabilities) MarshalMLS(b *wire.Builder) {
	addUint16s(b, rc.Extensions)
	addUint16s(b, rc.Proposals)
	addUint16s(b, rc.Credentials)
}

// UnmarshalMLS decodes RequiredCapabilities.
func (rc *RequiredCapabilities) UnmarshalMLS(r *wire.Reader) bool {
	*rc = RequiredCapabilities{}
	return readUint16s(r, &rc.Extensions) && readUint16s(r, &rc.Proposals) &&
		readUint16s(r, &rc.Credentials)
}

// Extension returns the RequiredCapabilities as a GroupContext extension.
func (rc *RequiredCapabilities) Extension() (Extension, error) {
	data, err := wire.Marshal(rc)
	return Extension{Type: ExtensionRequiredCapabilities, Data: data}, err
}

// RequiredCapabilitiesOf returns the required_capabilities extension of a
// GroupContext's extensions, nil if there is none.
func RequiredCapabilitiesOf(exts Extensions) (*RequiredCapabilities, error) {
	data, ok := exts.Find(ExtensionRequiredCapabilities)
	if !ok {
		return nil, nil
	}
	rc := new(RequiredCapabilities)
	if err := wire.Unmarshal(data, rc); err != nil {
		return nil, err
	}
	return rc, nil
}

// missing returns a description of the first requirement that the raw
// capability lists do not meet, or "".
func (rc *RequiredCapabilities) missing(caps *[5][]byte) string {
	if rc == nil {
		return ""
	}
	for _, e := range rc.Extensions {
		if !e.IsDefault() && !hasUint16(caps[capExtensions], uint16(e)) {
			return "required extension type not supported"
		}
	}
	for _, p := range rc.Proposals {
		if !isDefaultProposal(p) && !hasUint16(caps[capProposals], p) {
			return "required proposal type not supported"
		}
	}
	for _, c := range rc.Credentials {
		if !hasUint16(caps[capCredentials], uint16(c)) {
			return "required credential type not supported"
		}
	}
	return ""
}

// isDefaultProposal reports whether p is one of the proposal types that
// every client supports (§7.2): add through group_context_extensions.
func isDefaultProposal(p uint16) bool { return p >= 1 && p <= 7 }

// capIndex counts, over the members, which credential types are in use and
// which extension, proposal and credential types are supported, so that
// the group-wide checks of §7.3 and §12.1.7 cost O(types) instead of O(n).
//
// Clones share the maps until one of them changes its counts (shared).
type capIndex struct {
	members  uint32
	credUsed map[CredentialType]uint32
	credSupp map[CredentialType]uint32
	extSupp  map[ExtensionType]uint32
	propSupp map[uint16]uint32
	shared   bool
}

func newCapIndex() capIndex {
	return capIndex{
		credUsed: map[CredentialType]uint32{},
		credSupp: map[CredentialType]uint32{},
		extSupp:  map[ExtensionType]uint32{},
		propSupp: map[uint16]uint32{},
	}
}

// clone returns a capIndex sharing ci's maps; both copy them before their
// next change.
func (ci *capIndex) clone() capIndex {
	ci.shared = true
	return *ci
}

// add counts (delta +1) or uncounts (delta -1) the leaf v.
func (ci *capIndex) add(v *leafView, delta int) {
	if ci.shared {
		ci.credUsed, ci.credSupp = maps.Clone(ci.credUsed), maps.Clone(ci.credSupp)
		ci.extSupp, ci.propSupp = maps.Clone(ci.extSupp), maps.Clone(ci.propSupp)
		ci.shared = false
	}
	d := uint32(delta)
	ci.members += d
	bump(ci.credUsed, v.credType, d)
	forDistinct(v.caps[capCredentials], func(x uint16) { bump(ci.credSupp, CredentialType(x), d) })
	forDistinct(v.caps[capExtensions], func(x uint16) { bump(ci.extSupp, ExtensionType(x), d) })
	forDistinct(v.caps[capProposals], func(x uint16) { bump(ci.propSupp, x, d) })
}

func bump[K comparable](m map[K]uint32, k K, d uint32) {
	n := m[k] + d
	if n == 0 {
		delete(m, k)
	} else {
		m[k] = n
	}
}

// forDistinct calls f once for each distinct value of a uint16 list.
func forDistinct(list []byte, f func(uint16)) {
	for i := 0; i+1 < len(list); i += 2 {
		v := uint16(list[i])<<8 | uint16(list[i+1])
		if !hasUint16(list[:i], v) {
			f(v)
		}
	}
}

// credentialsCompatible checks the two credential conditions of §7.3 for
// leaf v, ignoring the member `self` (the leaf v replaces, or v itself when
// it is already in the tree): every other member supports v's credential
// type, and v supports every credential type the other members use.
func (ci *capIndex) credentialsCompatible(v *leafView, self *leafView) string {
	others := ci.members
	supp := ci.credSupp[v.credType]
	if self != nil {
		others--
		if hasUint16(self.caps[capCredentials], uint16(v.credType)) {
			supp--
		}
	}
	if supp != others {
		return "credential type not supported by all members"
	}
	for t, n := range ci.credUsed {
		if self != nil && self.credType == t {
			n--
		}
		if n > 0 && !hasUint16(v.caps[capCredentials], uint16(t)) {
			return "credential type in use by a member not supported"
		}
	}
	return ""
}

// supportsAll reports whether every member supports rc.
func (ci *capIndex) supportsAll(rc *RequiredCapabilities) bool {
	if rc == nil {
		return true
	}
	for _, e := range rc.Extensions {
		if !e.IsDefault() && ci.extSupp[e] != ci.members {
			return false
		}
	}
	for _, p := range rc.Proposals {
		if !isDefaultProposal(p) && ci.propSupp[p] != ci.members {
			return false
		}
	}
	for _, c := range rc.Credentials {
		if ci.credSupp[c] != ci.members {
			return false
		}
	}
	return true
}

package suite

import (
	"crypto/fips140"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// A Registry is an immutable set of suites, each under its own code point
// and name: what a client supports, and the only place code points from
// the wire are checked (Lookup). Build one with NewRegistry or
// Registry.With at start-up and pass it where suites are looked up (e.g.
// mls.Config.Suites); a nil *Registry is Default(). A Registry is safe for
// concurrent use.
type Registry struct {
	byID map[ID]*Suite
	ids  []ID // ascending
}

// NewRegistry returns a registry of the given suites. Two suites with the
// same code point, or with names equal but for case, are an error wrapping
// ErrInvalidComposition.
func NewRegistry(suites ...*Suite) (*Registry, error) {
	r := &Registry{byID: make(map[ID]*Suite, len(suites))}
	names := make(map[string]ID, len(suites))
	for _, s := range suites {
		if s == nil {
			return nil, fmt.Errorf("%w: nil suite", ErrInvalidComposition)
		}
		if _, dup := r.byID[s.id]; dup {
			return nil, fmt.Errorf("%w: two suites under code point 0x%04x", ErrInvalidComposition, uint16(s.id))
		}
		key := strings.ToLower(s.name)
		if other, dup := names[key]; dup {
			return nil, fmt.Errorf("%w: name %s at 0x%04x and 0x%04x", ErrInvalidComposition, s.name, uint16(other), uint16(s.id))
		}
		names[key] = s.id
		r.byID[s.id] = s
	}
	r.ids = slices.Sorted(maps.Keys(r.byID))
	return r, nil
}

// With returns a new registry holding r's suites and the given ones; a
// given suite replaces any of r's with its code point or name. So
// Default().With(s) moves a draft suite to the code point of s, if s is
// that suite under its own name (see New and Suite.Composition).
func (r *Registry) With(suites ...*Suite) (*Registry, error) {
	var kept []*Suite
	for _, old := range r.Suites() {
		if !slices.ContainsFunc(suites, func(s *Suite) bool {
			return s != nil && (s.id == old.id || strings.EqualFold(s.name, old.name))
		}) {
			kept = append(kept, old)
		}
	}
	return NewRegistry(append(kept, suites...)...)
}

// orDefault returns r, or the default registry for a nil r.
func (r *Registry) orDefault() *Registry {
	if r == nil {
		return defaultRegistry
	}
	return r
}

// Lookup returns the suite with the given code point. It is the only place
// code points are checked; an unknown one yields an error wrapping
// ErrUnsupportedSuite.
//
// With GODEBUG=fips140=only every suite is unsupported: that mode forbids
// AES-GCM with caller-chosen nonces (RFC 9420 §6.3.1 derives them), HMAC
// and HKDF keys shorter than 112 bits, X25519, X448, EdDSA over Ed448 and
// ChaCha20-Poly1305, so no suite could run to completion.
func (r *Registry) Lookup(id ID) (*Suite, error) {
	s := r.orDefault().byID[id]
	if s == nil {
		return nil, fmt.Errorf("%w: 0x%04x", ErrUnsupportedSuite, uint16(id))
	}
	if fips140.Enforced() {
		return nil, fmt.Errorf("%w: %v in FIPS 140-only mode", ErrUnsupportedSuite, s)
	}
	return s, nil
}

// IDs returns the code points of the registry's suites in ascending order.
func (r *Registry) IDs() []ID { return slices.Clone(r.orDefault().ids) }

// Suites returns the registry's suites in ascending order of code point.
func (r *Registry) Suites() []*Suite {
	r = r.orDefault()
	out := make([]*Suite, len(r.ids))
	for i, id := range r.ids {
		out[i] = r.byID[id]
	}
	return out
}

// ParseID parses the code point of a suite of the registry as people and
// scripts write it: its number in decimal or hex ("1", "0x0001") or its
// name, case-insensitively ("MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519").
// A suite the registry lacks (see Lookup) yields an error wrapping
// ErrUnsupportedSuite that lists the accepted forms.
func (r *Registry) ParseID(s string) (ID, error) {
	r = r.orDefault()
	if n, err := strconv.ParseUint(s, 0, 16); err == nil {
		if _, err := r.Lookup(ID(n)); err == nil {
			return ID(n), nil
		}
	} else {
		for _, id := range r.ids {
			if strings.EqualFold(r.byID[id].name, s) {
				return id, nil
			}
		}
	}
	if len(r.ids) == 0 {
		return 0, fmt.Errorf("%w: %q: the registry is empty", ErrUnsupportedSuite, s)
	}
	return 0, fmt.Errorf("%w: %q: want a number (%s) or a name such as %s", ErrUnsupportedSuite, s, idRanges(r.ids), r.byID[r.ids[0]].name)
}

// idRanges describes ascending code points by their runs: "1 to 7, 0xF101
// to 0xF10B" (hex from 0x0100 on).
func idRanges(ids []ID) string {
	format := func(id ID) string {
		if id < 0x100 {
			return strconv.Itoa(int(id))
		}
		return fmt.Sprintf("0x%04X", uint16(id))
	}
	var runs []string
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		run := format(ids[i])
		if j > i {
			run += " to " + format(ids[j])
		}
		runs = append(runs, run)
		i = j + 1
	}
	return strings.Join(runs, ", ")
}

// Default returns the registry of the built-in suites: the seven of RFC
// 9420 and the eleven of draft-ietf-mls-pq-ciphersuites-06 at their
// provisional code points (see the constants).
func Default() *Registry { return defaultRegistry }

// Lookup is Default().Lookup.
func Lookup(id ID) (*Suite, error) { return defaultRegistry.Lookup(id) }

// IDs is Default().IDs.
func IDs() []ID { return defaultRegistry.IDs() }

// ParseID is Default().ParseID.
func ParseID(s string) (ID, error) { return defaultRegistry.ParseID(s) }

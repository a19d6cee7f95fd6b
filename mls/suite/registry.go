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

// ParseID returns the code point of a suite of the registry given by number
// (decimal, or hexadecimal with a 0x prefix: "1", "0x0001") or by name
// (case-insensitive: "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519"), as
// users type them in flags and configuration files. Anything else yields an
// error wrapping ErrUnsupportedSuite.
func (r *Registry) ParseID(s string) (ID, error) {
	r = r.orDefault()
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseUint(s, 0, 16); err == nil {
		if _, err := r.Lookup(ID(n)); err != nil {
			return 0, err
		}
		return ID(n), nil
	}
	for _, id := range r.ids {
		if strings.EqualFold(r.byID[id].name, s) {
			return id, nil
		}
	}
	return 0, fmt.Errorf("%w: %q", ErrUnsupportedSuite, s)
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

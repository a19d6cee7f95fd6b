package memstore

import (
	"bytes"
	"context"
	"slices"

	"github.com/mlsengine/engine/delivery/store"
)

// tracked is what the Store keeps for store.Tracker.
type tracked struct {
	authority *store.Authority
	views     map[string][]store.View // group id -> Views, oldest first
	claims    map[string][]store.Claim
}

func (t *tracked) init() {
	if t.views == nil {
		t.views = make(map[string][]store.View)
		t.claims = make(map[string][]store.Claim)
	}
}

// LoadOrStoreAuthority implements store.Tracker.
func (s *Store) LoadOrStoreAuthority(_ context.Context, a store.Authority) (store.Authority, error) {
	if len(a.Key) == 0 || len(a.Certificate) == 0 {
		return store.Authority{}, store.ErrInvalid
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tr.authority == nil {
		s.tr.authority = &store.Authority{Key: bytes.Clone(a.Key), Certificate: bytes.Clone(a.Certificate)}
	}
	return *s.tr.authority, nil
}

// CreateTrackedGroup implements store.Tracker.
func (s *Store) CreateTrackedGroup(_ context.Context, groupID []byte, v store.View, groupInfo []byte) (bool, error) {
	if len(groupID) == 0 || len(groupID) > store.MaxGroupIDLen || v.Epoch != 0 || v.Seq != 0 || len(v.Data) == 0 || len(groupInfo) == 0 {
		return false, store.ErrInvalid
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tr.init()
	if _, ok := s.groups[string(groupID)]; ok {
		return false, nil
	}
	g := s.newGroup(groupID)
	g.groupInfo = bytes.Clone(groupInfo)
	s.tr.views[string(groupID)] = []store.View{{Data: bytes.Clone(v.Data)}}
	return true, nil
}

// PutView implements store.Tracker.
func (s *Store) PutView(_ context.Context, groupID []byte, v store.View, keepFrom uint64) error {
	if len(v.Data) == 0 {
		return store.ErrInvalid
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tr.init()
	if _, ok := s.groups[string(groupID)]; !ok {
		return store.ErrUnknownGroup
	}
	vs := s.tr.views[string(groupID)]
	i, found := slices.BinarySearchFunc(vs, v.Epoch, func(x store.View, e uint64) int { return cmpUint(x.Epoch, e) })
	if !found {
		v.Data = bytes.Clone(v.Data)
		vs = slices.Insert(vs, i, v)
	}
	// Keep the newest View at or before keepFrom and everything after.
	first := 0
	for j, x := range vs {
		if x.Epoch <= keepFrom {
			first = j
		}
	}
	s.tr.views[string(groupID)] = slices.Clone(vs[first:])
	return nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// View implements store.Tracker.
func (s *Store) View(_ context.Context, groupID []byte, maxEpoch uint64) (store.View, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out *store.View
	for i, v := range s.tr.views[string(groupID)] {
		if v.Epoch <= maxEpoch {
			out = &s.tr.views[string(groupID)][i]
		}
	}
	if out == nil {
		return store.View{}, store.ErrNotFound
	}
	return *out, nil
}

// OldestWelcome implements store.Tracker.
func (s *Store) OldestWelcome(_ context.Context, groupID []byte) (uint64, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var seq uint64
	found := false
	for _, q := range s.welcomes {
		for _, w := range q {
			if bytes.Equal(w.GroupID, groupID) && (!found || w.Seq < seq) {
				seq, found = w.Seq, true
			}
		}
	}
	return seq, found, nil
}

// KeyPackageOwner implements store.Tracker.
func (s *Store) KeyPackageOwner(_ context.Context, ref []byte) (string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	owner, ok := s.kpRefs[string(ref)]
	if !ok {
		return "", store.ErrNotFound
	}
	return owner, nil
}

// RecordClaim implements store.Tracker.
func (s *Store) RecordClaim(_ context.Context, c store.Claim) error {
	if c.Owner == "" || c.Claimer == "" {
		return store.ErrInvalid
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tr.init()
	c.Ref = bytes.Clone(c.Ref)
	list := append(s.tr.claims[c.Owner], c)
	if len(list) > store.MaxClaims {
		list = slices.Clone(list[len(list)-store.MaxClaims:])
	}
	s.tr.claims[c.Owner] = list
	return nil
}

// Claims implements store.Tracker.
func (s *Store) Claims(_ context.Context, owner string, limit int) ([]store.Claim, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	list := s.tr.claims[owner]
	out := make([]store.Claim, 0, min(max(limit, 0), len(list)))
	for i := len(list) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, list[i])
	}
	return out, nil
}

// Package memstore is an in-memory [store.Store] for tests and simulations.
// Everything is lost when the process ends; use package sqlstore otherwise.
package memstore

import (
	"bytes"
	"context"
	"slices"
	"sync"

	"github.com/mlsengine/engine/delivery/store"
)

// Store is an in-memory store.Store. The zero value is not usable; call New.
type Store struct {
	mu       sync.RWMutex
	tokens   map[string]string // token hash -> client name
	names    map[string]bool
	groups   map[string]*group
	kpRefs   map[string]string              // every Ref ever uploaded -> owner, so a claimed one is never re-added
	kps      map[string][]*store.KeyPackage // client -> claimable KeyPackages, oldest first
	welcomes map[string][]store.Welcome     // client -> pending Welcomes, oldest first
	nextID   int64
	tr       tracked // store.Tracker's (tracked.go)
}

type group struct {
	epoch     uint64
	log       []store.Message
	bySum     map[[32]byte]int  // digest -> index in log
	commits   map[uint64]int    // epoch -> index in log of the commit that ended it
	welcome   map[uint64][]byte // commit seq -> Welcome
	groupInfo []byte
}

var _ store.Store = (*Store)(nil)

// New returns an empty Store.
func New() *Store {
	return &Store{
		tokens:   make(map[string]string),
		names:    make(map[string]bool),
		groups:   make(map[string]*group),
		kpRefs:   make(map[string]string),
		kps:      make(map[string][]*store.KeyPackage),
		welcomes: make(map[string][]store.Welcome),
	}
}

// Close does nothing.
func (s *Store) Close() error { return nil }

// RegisterClient implements store.Store.
func (s *Store) RegisterClient(_ context.Context, name string, tokenHash []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.names[name] {
		return store.ErrClientExists
	}
	if _, ok := s.tokens[string(tokenHash)]; ok {
		return store.ErrInvalid
	}
	s.names[name] = true
	s.tokens[string(tokenHash)] = name
	return nil
}

// ClientByToken implements store.Store.
func (s *Store) ClientByToken(_ context.Context, tokenHash []byte) (string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	name, ok := s.tokens[string(tokenHash)]
	if !ok {
		return "", store.ErrUnknownClient
	}
	return name, nil
}

// PutKeyPackage implements store.Store.
func (s *Store) PutKeyPackage(_ context.Context, kp store.KeyPackage) (bool, error) {
	if len(kp.Ref) == 0 || len(kp.Data) == 0 || kp.Client == "" {
		return false, store.ErrInvalid
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if owner, ok := s.kpRefs[string(kp.Ref)]; ok {
		if owner != kp.Client {
			return false, store.ErrKeyPackageExists
		}
		return false, nil
	}
	s.kpRefs[string(kp.Ref)] = kp.Client
	list := s.kps[kp.Client]
	if kp.LastResort {
		list = slices.DeleteFunc(list, func(old *store.KeyPackage) bool {
			return old.LastResort && old.CipherSuite == kp.CipherSuite
		})
	}
	kp.Ref, kp.Data = bytes.Clone(kp.Ref), bytes.Clone(kp.Data)
	s.kps[kp.Client] = append(list, &kp)
	return true, nil
}

// ClaimKeyPackage implements store.Store.
func (s *Store) ClaimKeyPackage(_ context.Context, client string, suite uint16) (store.KeyPackage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.kps[client]
	lastResort := -1
	for i, kp := range list {
		if suite != 0 && kp.CipherSuite != suite {
			continue
		}
		if kp.LastResort {
			lastResort = i // the newest one wins: list is oldest first
			continue
		}
		s.kps[client] = slices.Delete(list, i, i+1)
		return *kp, nil
	}
	if lastResort < 0 {
		return store.KeyPackage{}, store.ErrNoKeyPackage
	}
	return *list[lastResort], nil
}

// CountKeyPackages implements store.Store.
func (s *Store) CountKeyPackages(_ context.Context, client string, suite uint16) (store.KeyPackageCount, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var n store.KeyPackageCount
	for _, kp := range s.kps[client] {
		switch {
		case suite != 0 && kp.CipherSuite != suite:
		case kp.LastResort:
			n.LastResort++
		default:
			n.OneTime++
		}
	}
	return n, nil
}

// CreateGroup implements store.Store.
func (s *Store) CreateGroup(_ context.Context, groupID []byte) (store.Group, bool, error) {
	if len(groupID) == 0 || len(groupID) > store.MaxGroupIDLen {
		return store.Group{}, false, store.ErrInvalid
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.groups[string(groupID)]; ok {
		return g.state(), false, nil
	}
	g := s.newGroup(groupID)
	return g.state(), true, nil
}

func (s *Store) newGroup(groupID []byte) *group {
	g := &group{
		bySum:   make(map[[32]byte]int),
		commits: make(map[uint64]int),
		welcome: make(map[uint64][]byte),
	}
	s.groups[string(groupID)] = g
	return g
}

func (g *group) state() store.Group {
	return store.Group{Epoch: g.epoch, LastSeq: uint64(len(g.log))}
}

// Group implements store.Store.
func (s *Store) Group(_ context.Context, groupID []byte) (store.Group, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	g, ok := s.groups[string(groupID)]
	if !ok {
		return store.Group{}, store.ErrUnknownGroup
	}
	return g.state(), nil
}

// Append implements store.Store.
func (s *Store) Append(_ context.Context, groupID []byte, m store.Message) (store.Appended, error) {
	if err := store.CheckMessage(groupID, &m); err != nil || m.ContentType == store.ContentCommit {
		return store.Appended{}, store.ErrInvalid
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[string(groupID)]
	if !ok {
		return store.Appended{}, store.ErrUnknownGroup
	}
	sum := store.Digest(m.Data)
	if a, ok := g.duplicate(sum); ok {
		return a, nil
	}
	if m.Epoch != g.epoch {
		return store.Appended{}, g.epochError(m.Epoch)
	}
	return g.append(sum, m), nil
}

// Commit implements store.Store.
func (s *Store) Commit(_ context.Context, c store.Commit) (store.Appended, error) {
	if err := store.CheckCommit(&c); err != nil {
		return store.Appended{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[string(c.GroupID)]
	if !ok {
		if c.Message.Epoch != 0 {
			return store.Appended{}, store.ErrUnknownGroup
		}
		g = s.newGroup(c.GroupID)
	}
	sum := store.Digest(c.Message.Data)
	if a, ok := g.duplicate(sum); ok {
		return a, nil
	}
	if c.Message.Epoch != g.epoch {
		return store.Appended{}, g.epochError(c.Message.Epoch)
	}
	a := g.append(sum, c.Message)
	g.commits[g.epoch] = len(g.log) - 1
	g.epoch++
	g.groupInfo = bytes.Clone(c.GroupInfo)
	if c.Welcome != nil {
		g.welcome[a.Seq] = bytes.Clone(c.Welcome)
		for _, r := range c.Recipients {
			s.nextID++
			s.welcomes[r] = append(s.welcomes[r], store.Welcome{
				ID: s.nextID, GroupID: bytes.Clone(c.GroupID), Seq: a.Seq, Data: g.welcome[a.Seq],
			})
		}
	}
	return a, nil
}

func (g *group) duplicate(sum [32]byte) (store.Appended, bool) {
	i, ok := g.bySum[sum]
	if !ok {
		return store.Appended{}, false
	}
	return store.Appended{Seq: g.log[i].Seq, Epoch: g.log[i].Epoch, Duplicate: true}, true
}

func (g *group) append(sum [32]byte, m store.Message) store.Appended {
	m.Seq = uint64(len(g.log)) + 1
	m.Data = bytes.Clone(m.Data)
	g.bySum[sum] = len(g.log)
	g.log = append(g.log, m)
	return store.Appended{Seq: m.Seq, Epoch: m.Epoch}
}

func (g *group) epochError(epoch uint64) error {
	e := &store.EpochError{Epoch: epoch, Current: g.epoch}
	if i, ok := g.commits[epoch]; ok {
		w := g.log[i]
		e.Winner = &w
	}
	return e
}

// Messages implements store.Store.
func (s *Store) Messages(_ context.Context, groupID []byte, after uint64, limit int) ([]store.Message, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	g, ok := s.groups[string(groupID)]
	if !ok {
		return nil, store.ErrUnknownGroup
	}
	if after >= uint64(len(g.log)) || limit <= 0 {
		return nil, nil
	}
	rest := g.log[after:]
	return slices.Clone(rest[:min(limit, len(rest))]), nil
}

// PutGroupInfo implements store.Store.
func (s *Store) PutGroupInfo(_ context.Context, groupID []byte, epoch uint64, data []byte) error {
	if len(data) == 0 {
		return store.ErrInvalid
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[string(groupID)]
	if !ok {
		return store.ErrUnknownGroup
	}
	if epoch != g.epoch {
		return g.epochError(epoch)
	}
	g.groupInfo = bytes.Clone(data)
	return nil
}

// GroupInfo implements store.Store.
func (s *Store) GroupInfo(_ context.Context, groupID []byte) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	g, ok := s.groups[string(groupID)]
	if !ok {
		return nil, store.ErrUnknownGroup
	}
	if g.groupInfo == nil {
		return nil, store.ErrNoGroupInfo
	}
	return g.groupInfo, nil
}

// Welcomes implements store.Store.
func (s *Store) Welcomes(_ context.Context, client string, limit int) ([]store.Welcome, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	q := s.welcomes[client]
	return slices.Clone(q[:min(max(limit, 0), len(q))]), nil
}

// DeleteWelcome implements store.Store.
func (s *Store) DeleteWelcome(_ context.Context, client string, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.welcomes[client]
	i := slices.IndexFunc(q, func(w store.Welcome) bool { return w.ID == id })
	if i < 0 {
		return store.ErrNotFound
	}
	s.welcomes[client] = slices.Delete(q, i, i+1)
	return nil
}

package mls

import (
	"errors"
	"sync"

	"github.com/fxamacker/cbor/v2"
)

// Storage persists a client's groups and the private parts of its
// KeyPackages. Implementations must save atomically (a crash leaves the old
// or the new state, never a mix) and must delete what is replaced, taken
// or deleted: that is how consumed secrets are deleted (§9.2). Methods
// return an error wrapping ErrNotFound for a key they do not hold.
// MemoryStorage and FileStorage implement it.
type Storage interface {
	// LoadGroup returns the state last saved for the group.
	LoadGroup(groupID []byte) ([]byte, error)
	// SaveGroup replaces the group's state atomically.
	SaveGroup(groupID []byte, state []byte) error
	// DeleteGroup deletes the group's state (a group left or closed);
	// deleting a group not held is not an error.
	DeleteGroup(groupID []byte) error
	// GroupIDs returns the ids of the groups held, in no particular order.
	GroupIDs() ([][]byte, error)
	// PutKeyPackage stores the private part of a KeyPackage under its
	// reference.
	PutKeyPackage(ref []byte, private []byte) error
	// TakeKeyPackage returns and deletes the private part stored under
	// ref.
	TakeKeyPackage(ref []byte) ([]byte, error)
}

// Save saves the group's snapshot (MarshalBinary) in st.
func (g *Group) Save(st Storage) error {
	data, err := g.MarshalBinary()
	if err != nil {
		return err
	}
	defer clear(data)
	return st.SaveGroup(g.ep.gc.GroupID, data)
}

// Load loads the group groupID from st (see UnmarshalGroup).
func Load(cfg Config, st Storage, groupID []byte) (*Group, error) {
	data, err := st.LoadGroup(groupID)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	return UnmarshalGroup(cfg, data)
}

// keyPackageRecord is the stored form of a KeyPackagePrivate.
type keyPackageRecord struct {
	KeyPackage    []byte `cbor:"1,keyasint"`
	InitKey       []byte `cbor:"2,keyasint"`
	EncryptionKey []byte `cbor:"3,keyasint"`
	LastResort    bool   `cbor:"4,keyasint"`
}

// MarshalBinary encodes the KeyPackage's private part for storage.
func (k *KeyPackagePrivate) MarshalBinary() ([]byte, error) {
	out, err := cbor.Marshal(keyPackageRecord{k.KeyPackage, k.InitKey, k.EncryptionKey, k.LastResort})
	if err != nil {
		return nil, internalErr("CBOR: %v", err)
	}
	return out, nil
}

// UnmarshalBinary decodes what MarshalBinary encoded.
func (k *KeyPackagePrivate) UnmarshalBinary(data []byte) error {
	var r keyPackageRecord
	if err := cbor.Unmarshal(data, &r); err != nil {
		return wrapErr(ErrInvalidState, "KeyPackage private part", err)
	}
	*k = KeyPackagePrivate{KeyPackage: r.KeyPackage, InitKey: r.InitKey, EncryptionKey: r.EncryptionKey, LastResort: r.LastResort}
	return nil
}

// StoreKeyPackage stores the private part of a KeyPackage in st, under the
// KeyPackage's reference, for JoinWithStorage.
func StoreKeyPackage(st Storage, k *KeyPackagePrivate) error {
	ref, err := k.Ref()
	if err != nil {
		return err
	}
	data, err := k.MarshalBinary()
	if err != nil {
		return err
	}
	return st.PutKeyPackage(ref, data)
}

// JoinWithStorage joins with a Welcome for one of the KeyPackages whose
// private parts are in st (see StoreKeyPackage), and saves the new group
// there. The KeyPackage's private part is deleted (§16.8: KeyPackages are
// used once), unless it is a last-resort KeyPackage; if joining fails, it
// is kept.
func JoinWithStorage(cfg Config, st Storage, welcome []byte, opts *JoinOptions) (*Group, error) {
	w, err := parseWelcome(welcome)
	if err != nil {
		return nil, err
	}
	for _, e := range w.Secrets {
		data, err := st.TakeKeyPackage(e.NewMember)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var k KeyPackagePrivate
		if err := k.UnmarshalBinary(data); err != nil {
			return nil, err
		}
		g, joinErr := Join(cfg, welcome, &k, opts)
		if joinErr == nil {
			joinErr = g.Save(st)
		}
		if joinErr != nil || k.LastResort {
			if err := st.PutKeyPackage(e.NewMember, data); err != nil {
				return nil, errors.Join(joinErr, err)
			}
		}
		if joinErr != nil {
			return nil, joinErr
		}
		k.Wipe()
		return g, nil
	}
	return nil, errorf(ErrNoKeyPackage, "no stored KeyPackage matches the Welcome")
}

// MemoryStorage is a Storage in memory, for tests and simulations. It is
// safe for concurrent use.
type MemoryStorage struct {
	mu          sync.Mutex
	groups      map[string][]byte
	keyPackages map[string][]byte
}

// NewMemoryStorage returns an empty MemoryStorage.
func NewMemoryStorage() *MemoryStorage {
	return &MemoryStorage{groups: map[string][]byte{}, keyPackages: map[string][]byte{}}
}

// LoadGroup implements Storage.
func (m *MemoryStorage) LoadGroup(groupID []byte) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.groups[string(groupID)]
	if !ok {
		return nil, errorf(ErrNotFound, "group %x", groupID)
	}
	return append([]byte(nil), d...), nil
}

// SaveGroup implements Storage.
func (m *MemoryStorage) SaveGroup(groupID []byte, state []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.groups[string(groupID)])
	m.groups[string(groupID)] = append([]byte(nil), state...)
	return nil
}

// DeleteGroup implements Storage.
func (m *MemoryStorage) DeleteGroup(groupID []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.groups[string(groupID)])
	delete(m.groups, string(groupID))
	return nil
}

// GroupIDs implements Storage.
func (m *MemoryStorage) GroupIDs() ([][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([][]byte, 0, len(m.groups))
	for id := range m.groups {
		out = append(out, []byte(id))
	}
	return out, nil
}

// PutKeyPackage implements Storage.
func (m *MemoryStorage) PutKeyPackage(ref []byte, private []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keyPackages[string(ref)] = append([]byte(nil), private...)
	return nil
}

// TakeKeyPackage implements Storage.
func (m *MemoryStorage) TakeKeyPackage(ref []byte) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.keyPackages[string(ref)]
	if !ok {
		return nil, errorf(ErrNotFound, "KeyPackage %x", ref)
	}
	delete(m.keyPackages, string(ref))
	return d, nil
}

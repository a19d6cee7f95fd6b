package message

import (
	"bytes"
	"fmt"
	"io"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

const labelWelcome = "Welcome"

// GroupSecrets are the secrets a Welcome carries to one new member
// (§12.4.3.1):
//
//	struct { opaque path_secret<V>; } PathSecret;
//	struct {
//	  opaque joiner_secret<V>;
//	  optional<PathSecret> path_secret;
//	  PreSharedKeyID psks<V>;
//	} GroupSecrets;
//
// PathSecret is nil when absent.
type GroupSecrets struct {
	JoinerSecret []byte
	PathSecret   []byte
	PSKs         []keyschedule.PreSharedKeyID
}

// MarshalMLS encodes the GroupSecrets.
func (gs *GroupSecrets) MarshalMLS(b *wire.Builder) {
	b.AddVector(gs.JoinerSecret)
	b.AddOptional(gs.PathSecret != nil, func(b *wire.Builder) { b.AddVector(gs.PathSecret) })
	b.AddVectorFunc(func(b *wire.Builder) {
		for i := range gs.PSKs {
			gs.PSKs[i].MarshalMLS(b)
		}
	})
}

// UnmarshalMLS decodes GroupSecrets.
func (gs *GroupSecrets) UnmarshalMLS(r *wire.Reader) bool {
	*gs = GroupSecrets{}
	var present bool
	if !r.ReadVector(&gs.JoinerSecret) ||
		!r.ReadOptional(&present, func(r *wire.Reader) bool { return r.ReadVector(&gs.PathSecret) }) {
		return false
	}
	if present && gs.PathSecret == nil {
		gs.PathSecret = []byte{}
	}
	return r.ReadList(func(r *wire.Reader) bool {
		var id keyschedule.PreSharedKeyID
		if !id.UnmarshalMLS(r) {
			return false
		}
		gs.PSKs = append(gs.PSKs, id)
		return true
	})
}

// EncryptedGroupSecrets is one new member's entry of a Welcome
// (§12.4.3.1).
type EncryptedGroupSecrets struct {
	NewMember             KeyPackageRef
	EncryptedGroupSecrets treekem.HPKECiphertext
}

// MarshalMLS encodes the EncryptedGroupSecrets.
func (e *EncryptedGroupSecrets) MarshalMLS(b *wire.Builder) {
	b.AddVector(e.NewMember)
	e.EncryptedGroupSecrets.MarshalMLS(b)
}

// UnmarshalMLS decodes EncryptedGroupSecrets.
func (e *EncryptedGroupSecrets) UnmarshalMLS(r *wire.Reader) bool {
	*e = EncryptedGroupSecrets{}
	var ref []byte
	if !r.ReadVector(&ref) || !e.EncryptedGroupSecrets.UnmarshalMLS(r) {
		return false
	}
	e.NewMember = ref
	return true
}

// Welcome brings new members into a group (§12.4.3.1):
//
//	struct {
//	  CipherSuite cipher_suite;
//	  EncryptedGroupSecrets secrets<V>;
//	  opaque encrypted_group_info<V>;
//	} Welcome;
type Welcome struct {
	CipherSuite        suite.ID
	Secrets            []EncryptedGroupSecrets
	EncryptedGroupInfo []byte
}

// MarshalMLS encodes the Welcome.
func (w *Welcome) MarshalMLS(b *wire.Builder) {
	b.AddUint16(uint16(w.CipherSuite))
	b.AddVectorFunc(func(b *wire.Builder) {
		for i := range w.Secrets {
			w.Secrets[i].MarshalMLS(b)
		}
	})
	b.AddVector(w.EncryptedGroupInfo)
}

// UnmarshalMLS decodes a Welcome.
func (w *Welcome) UnmarshalMLS(r *wire.Reader) bool {
	*w = Welcome{}
	var cs uint16
	if !r.ReadUint16(&cs) {
		return false
	}
	w.CipherSuite = suite.ID(cs)
	return r.ReadList(func(r *wire.Reader) bool {
		var e EncryptedGroupSecrets
		if !e.UnmarshalMLS(r) {
			return false
		}
		w.Secrets = append(w.Secrets, e)
		return true
	}) && r.ReadVector(&w.EncryptedGroupInfo)
}

// Find returns the entry for the KeyPackage with reference ref
// (§12.4.3.1: "Identify an entry in the secrets array where the new_member
// value corresponds to one of this client's KeyPackages").
func (w *Welcome) Find(ref KeyPackageRef) (*EncryptedGroupSecrets, error) {
	for i := range w.Secrets {
		if bytes.Equal(w.Secrets[i].NewMember, ref) {
			return &w.Secrets[i], nil
		}
	}
	return nil, fmt.Errorf("%w: Welcome has no entry for KeyPackage %x", ErrNotFound, []byte(ref))
}

// EncryptGroupSecrets encrypts gs to a new member's init_key (§12.4.3.1):
// EncryptWithLabel(init_key, "Welcome", encrypted_group_info,
// group_secrets).
func EncryptGroupSecrets(s *suite.Suite, rand io.Reader, initKey, encryptedGroupInfo []byte, gs *GroupSecrets) (treekem.HPKECiphertext, error) {
	pt, err := wire.Marshal(gs)
	if err != nil {
		return treekem.HPKECiphertext{}, err
	}
	defer clear(pt)
	kemOutput, ct, err := s.EncryptWithLabel(rand, initKey, labelWelcome, encryptedGroupInfo, pt)
	if err != nil {
		return treekem.HPKECiphertext{}, fmt.Errorf("message: encrypting GroupSecrets: %w", err)
	}
	return treekem.HPKECiphertext{KEMOutput: kemOutput, Ciphertext: ct}, nil
}

// DecryptGroupSecrets decrypts a new member's GroupSecrets with the private
// key of its KeyPackage's init_key (§12.4.3.1): DecryptWithLabel(
// init_key_priv, "Welcome", encrypted_group_info, kem_output, ciphertext).
func DecryptGroupSecrets(s *suite.Suite, initPriv, encryptedGroupInfo []byte, ct *treekem.HPKECiphertext) (*GroupSecrets, error) {
	pt, err := s.DecryptWithLabel(initPriv, labelWelcome, encryptedGroupInfo, ct.KEMOutput, ct.Ciphertext)
	if err != nil {
		return nil, fmt.Errorf("%w: GroupSecrets: %w", ErrDecrypt, err)
	}
	gs := new(GroupSecrets)
	if err := wire.Unmarshal(pt, gs); err != nil {
		return nil, malformed("GroupSecrets", err)
	}
	return gs, nil
}

// EncryptGroupInfo encrypts gi with the welcome_key and welcome_nonce
// derived from welcomeSecret (§12.4.3.1), giving a Welcome's
// encrypted_group_info. The AAD is empty.
func EncryptGroupInfo(s *suite.Suite, welcomeSecret []byte, gi *GroupInfo) ([]byte, error) {
	key, nonce, err := keyschedule.WelcomeKeyNonce(s, welcomeSecret)
	if err != nil {
		return nil, fmt.Errorf("message: welcome key: %w", err)
	}
	defer clear(key)
	defer clear(nonce)
	pt, err := wire.Marshal(gi)
	if err != nil {
		return nil, err
	}
	ct, err := s.Seal(key, nonce, nil, pt)
	if err != nil {
		return nil, internalError("GroupInfo encryption", err)
	}
	return ct, nil
}

// DecryptGroupInfo decrypts a Welcome's encrypted_group_info with the key
// and nonce derived from welcomeSecret (§12.4.3.1) and decodes it. The
// GroupInfo's signature and confirmation tag are the caller's to check.
func DecryptGroupInfo(s *suite.Suite, welcomeSecret, encryptedGroupInfo []byte) (*GroupInfo, error) {
	key, nonce, err := keyschedule.WelcomeKeyNonce(s, welcomeSecret)
	if err != nil {
		return nil, fmt.Errorf("message: welcome key: %w", err)
	}
	defer clear(key)
	defer clear(nonce)
	pt, err := s.Open(key, nonce, nil, encryptedGroupInfo)
	if err != nil {
		return nil, fmt.Errorf("%w: GroupInfo: %w", ErrDecrypt, err)
	}
	gi := new(GroupInfo)
	if err := wire.Unmarshal(pt, gi); err != nil {
		return nil, malformed("GroupInfo", err)
	}
	return gi, nil
}

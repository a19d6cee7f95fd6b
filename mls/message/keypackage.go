package message

import (
	"bytes"
	"fmt"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// Signature and reference labels (§5.1.2, §5.2, §17.6).
const (
	labelKeyPackageTBS = "KeyPackageTBS"
	labelKeyPackageRef = "MLS 1.0 KeyPackage Reference"
)

// KeyPackage is a client's pre-published offer to join groups (§10):
//
//	struct {
//	    ProtocolVersion version;
//	    CipherSuite cipher_suite;
//	    HPKEPublicKey init_key;
//	    LeafNode leaf_node;
//	    Extension extensions<V>;
//	    opaque signature<V>;
//	} KeyPackage;
type KeyPackage struct {
	Version     ProtocolVersion
	CipherSuite suite.ID
	InitKey     []byte // HPKEPublicKey
	LeafNode    treekem.LeafNode
	Extensions  treekem.Extensions
	Signature   []byte

	// Raw is the encoding the KeyPackage was decoded from (set by
	// UnmarshalMLS, nil for a constructed value). The signature and the
	// KeyPackageRef are computed over it when it is set.
	Raw []byte
}

func (kp *KeyPackage) marshalTBS(b *wire.Builder) {
	b.AddUint16(uint16(kp.Version))
	b.AddUint16(uint16(kp.CipherSuite))
	b.AddVector(kp.InitKey)
	kp.LeafNode.MarshalMLS(b)
	kp.Extensions.MarshalMLS(b)
}

// MarshalMLS encodes the KeyPackage from its fields (ignoring Raw).
func (kp *KeyPackage) MarshalMLS(b *wire.Builder) {
	kp.marshalTBS(b)
	b.AddVector(kp.Signature)
}

// UnmarshalMLS decodes a KeyPackage and sets Raw. Only MLS 1.0 KeyPackages
// are accepted: the layout of another version's KeyPackage is unknown.
func (kp *KeyPackage) UnmarshalMLS(r *wire.Reader) bool {
	*kp = KeyPackage{}
	var v, cs uint16
	ok := r.ReadRaw(&kp.Raw, func(r *wire.Reader) bool {
		if !r.ReadUint16(&v) {
			return false
		}
		if ProtocolVersion(v) != MLS10 {
			return r.Fail("unsupported protocol version")
		}
		return r.ReadUint16(&cs) && r.ReadVector(&kp.InitKey) &&
			kp.LeafNode.UnmarshalMLS(r) && kp.Extensions.UnmarshalMLS(r) &&
			r.ReadVector(&kp.Signature)
	})
	kp.Version, kp.CipherSuite = ProtocolVersion(v), suite.ID(cs)
	return ok
}

// TBS returns the KeyPackageTBS encoding that the signature covers (§10):
// every field but the signature.
func (kp *KeyPackage) TBS() ([]byte, error) {
	if kp.Raw != nil {
		// The signature is the last field: strip its vector.
		n := len(kp.Raw) - len(kp.Signature) - wire.VarintLen(uint64(len(kp.Signature)))
		if n >= 0 && n <= len(kp.Raw) {
			return kp.Raw[:n:n], nil
		}
	}
	b := wire.NewBuilder(nil)
	kp.marshalTBS(b)
	return b.Bytes()
}

// Bytes returns the encoding of the KeyPackage: Raw if set, else a fresh
// encoding.
func (kp *KeyPackage) Bytes() ([]byte, error) {
	if kp.Raw != nil {
		return kp.Raw, nil
	}
	return wire.Marshal(kp)
}

// Sign sets the signature: SignWithLabel(., "KeyPackageTBS", KeyPackageTBS)
// (§10). It clears Raw.
func (kp *KeyPackage) Sign(s *suite.Suite, signer suite.Signer) error {
	kp.Raw = nil
	tbs, err := kp.TBS()
	if err != nil {
		return err
	}
	sig, err := s.SignWithLabel(signer, labelKeyPackageTBS, tbs)
	if err != nil {
		return fmt.Errorf("message: signing KeyPackage: %w", err)
	}
	kp.Signature = sig
	return nil
}

// VerifySignature checks the KeyPackage's signature with the signature key
// of its leaf node (§10.1).
func (kp *KeyPackage) VerifySignature(s *suite.Suite) error {
	tbs, err := kp.TBS()
	if err != nil {
		return err
	}
	if err := s.VerifyWithLabel(kp.LeafNode.SignatureKey, labelKeyPackageTBS, tbs, kp.Signature); err != nil {
		return fmt.Errorf("%w: KeyPackage: %w", ErrSignature, err)
	}
	return nil
}

// Verify performs the checks of §10.1 that need no group: the version is
// MLS 1.0, the cipher suite is s, the leaf node's source is key_package
// (§10), the signature verifies, and init_key differs from the leaf's
// encryption_key. Validating the LeafNode itself (§7.3: its signature,
// lifetime, capabilities, credential) and matching the group's version and
// cipher suite are the caller's.
func (kp *KeyPackage) Verify(s *suite.Suite) error {
	if err := kp.CheckFields(s); err != nil {
		return err
	}
	return kp.VerifySignature(s)
}

// CheckFields performs the checks of Verify but the signature's, for a
// KeyPackage whose signature VerifySignature accepted already (for
// instance on another core).
func (kp *KeyPackage) CheckFields(s *suite.Suite) error {
	switch {
	case kp.Version != MLS10:
		return malformed(fmt.Sprintf("KeyPackage version %d", kp.Version), nil)
	case kp.CipherSuite != s.ID():
		return malformed(fmt.Sprintf("KeyPackage cipher suite %v, want %v", kp.CipherSuite, s.ID()), nil)
	case kp.LeafNode.Source != treekem.SourceKeyPackage:
		return malformed("KeyPackage leaf node source is not key_package", nil)
	case bytes.Equal(kp.InitKey, kp.LeafNode.EncryptionKey):
		// §10.1: "Verify that the value of leaf_node.encryption_key is
		// different from the value of the init_key field."
		return malformed("KeyPackage init_key equals leaf encryption_key", nil)
	}
	return nil
}

// KeyPackageRef identifies a KeyPackage (§5.2).
type KeyPackageRef []byte

// Ref returns MakeKeyPackageRef(KeyPackage) = RefHash("MLS 1.0 KeyPackage
// Reference", encoded KeyPackage) (§5.2), with s the KeyPackage's suite.
func (kp *KeyPackage) Ref(s *suite.Suite) (KeyPackageRef, error) {
	enc, err := kp.Bytes()
	if err != nil {
		return nil, err
	}
	return s.RefHash(labelKeyPackageRef, enc), nil
}

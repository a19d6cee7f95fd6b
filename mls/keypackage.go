package mls

import (
	"bytes"
	"slices"
	"time"

	"github.com/mlsengine/engine/internal/parallel"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// ExtensionLastResort is the last_resort KeyPackage extension
// (draft-ietf-mls-extensions, IANA "MLS Extension Types" 0x000A): it marks a
// KeyPackage that the directory may hand out more than once when the
// client's other KeyPackages are exhausted (RFC 9420 §16.8). Its data is
// empty.
const ExtensionLastResort ExtensionType = 0x000A

// labelLeafNodeTBS is the SignWithLabel label of a LeafNode (§7.2).
const labelLeafNodeTBS = "LeafNodeTBS"

// KeyPackageOptions are the options of NewKeyPackage.
type KeyPackageOptions struct {
	// LastResort marks the KeyPackage with the last_resort extension, so
	// that its private part survives a Join (see JoinWithStorage).
	LastResort bool
	// Extensions are added to KeyPackage.extensions. Their types are
	// listed in the leaf's capabilities (§10); with Config.Capabilities
	// set, they must be listed there already.
	Extensions Extensions
}

// KeyPackagePrivate is the private part of a KeyPackage, which its client
// keeps until the KeyPackage is used (RFC 9420 §10): the private keys of the
// init_key and of the leaf's encryption_key. The signature key stays with
// Config.Signer. It holds secrets: store it as such (see Storage). Join
// consumes it, unless LastResort.
type KeyPackagePrivate struct {
	// KeyPackage is the bare encoding of the public KeyPackage.
	KeyPackage []byte
	// InitKey and EncryptionKey are the HPKE private keys.
	InitKey       []byte
	EncryptionKey []byte
	// LastResort reports whether the KeyPackage is a last-resort one.
	LastResort bool

	cs *suite.Suite // the suite of NewKeyPackage; nil after UnmarshalBinary
}

// Ref returns the KeyPackageRef of the KeyPackage (§5.2). A
// KeyPackagePrivate decoded by UnmarshalBinary finds its suite in
// suite.Default(); one made by NewKeyPackage knows it.
func (k *KeyPackagePrivate) Ref() ([]byte, error) {
	kp, err := ParseKeyPackage(k.KeyPackage)
	if err != nil {
		return nil, err
	}
	cs := k.cs
	if cs == nil || cs.ID() != kp.CipherSuite {
		if cs, err = suite.Lookup(kp.CipherSuite); err != nil {
			return nil, wrapErr(ErrUnsupported, "KeyPackage cipher suite", err)
		}
	}
	ref, err := kp.Ref(cs)
	if err != nil {
		return nil, internalErr("KeyPackageRef: %v", err)
	}
	return ref, nil
}

// Wipe zeroes the private keys.
func (k *KeyPackagePrivate) Wipe() {
	clear(k.InitKey)
	clear(k.EncryptionKey)
}

// NewKeyPackage creates a KeyPackage for cfg's suite, credential and signer
// (RFC 9420 §10). It returns the public part, encoded as an MLSMessage ready
// to upload to a KeyPackage directory, and the private part, which the
// client keeps until a Welcome for the KeyPackage arrives.
func NewKeyPackage(cfg Config, opts *KeyPackageOptions) ([]byte, *KeyPackagePrivate, error) {
	cf, err := cfg.resolveMember()
	if err != nil {
		return nil, nil, err
	}
	if opts == nil {
		opts = &KeyPackageOptions{}
	}
	rnd := cf.rand()
	initPriv, initPub, err := cf.cs.GenerateKeyPair(rnd)
	if err != nil {
		return nil, nil, wrapErr(ErrInvalidArgument, "generating the init key", err)
	}
	leafPriv, leafPub, err := cf.cs.GenerateKeyPair(rnd)
	if err != nil {
		return nil, nil, wrapErr(ErrInvalidArgument, "generating the leaf key", err)
	}
	now := cf.now()
	ln := cf.leafTemplate()
	ln.EncryptionKey = leafPub
	ln.Source = treekem.SourceKeyPackage
	// Allow for clocks behind ours; §7.2 leaves the bounds to the client.
	ln.Lifetime = treekem.Lifetime{
		NotBefore: uint64(max(now.Add(-time.Hour).Unix(), 0)),
		NotAfter:  uint64(max(now.Add(cf.keyPackageLifetime()).Unix(), 0)),
	}
	exts := cloneExtensions(opts.Extensions)
	if opts.LastResort && !exts.Has(ExtensionLastResort) {
		exts = append(exts, Extension{Type: ExtensionLastResort, Data: []byte{}})
	}
	if cf.GREASE {
		if err := cf.greaseLeaf(&ln); err != nil {
			return nil, nil, err
		}
		if exts, err = cf.greaseExtensions(exts); err != nil {
			return nil, nil, err
		}
	}
	if err := listExtensions(cf, &ln.Capabilities, exts); err != nil {
		return nil, nil, err
	}
	if err := signLeaf(cf.cs, cf.Signer, &ln, nil, 0); err != nil {
		return nil, nil, err
	}
	kp := &KeyPackage{
		Version:     message.MLS10,
		CipherSuite: cf.cs.ID(),
		InitKey:     initPub,
		LeafNode:    ln,
		Extensions:  exts,
	}
	if err := kp.Sign(cf.cs, cf.Signer); err != nil {
		return nil, nil, wrapErr(ErrInvalidArgument, "signing the KeyPackage", err)
	}
	bare, err := wire.Marshal(kp)
	if err != nil {
		return nil, nil, wrapErr(ErrInvalidArgument, "encoding the KeyPackage", err)
	}
	msg, err := wire.Marshal(message.NewMLSMessage(kp))
	if err != nil {
		return nil, nil, internalErr("encoding the KeyPackage message: %v", err)
	}
	return msg, &KeyPackagePrivate{KeyPackage: bare, InitKey: initPriv, EncryptionKey: leafPriv, LastResort: opts.LastResort, cs: cf.cs}, nil
}

// listExtensions adds the types of a KeyPackage's extensions to its leaf's
// capabilities: §10, "Extensions included in the extensions or
// leaf_node.extensions fields MUST be included in the
// leaf_node.capabilities field" (except the default types, which §7.2 says
// MUST NOT be listed). GREASE and last_resort types are always added; a
// type of KeyPackageOptions.Extensions missing from capabilities the caller
// set (Config.Capabilities) is an error, as the client would then claim
// support it did not declare.
func listExtensions(cf *config, caps *Capabilities, exts Extensions) error {
	for _, e := range exts {
		if e.Type.IsDefault() || slices.Contains(caps.Extensions, e.Type) {
			continue
		}
		if cf.Capabilities != nil && !IsGREASE(uint16(e.Type)) && e.Type != ExtensionLastResort {
			return errorf(ErrInvalidArgument, "KeyPackage extension 0x%04x is not in Config.Capabilities.Extensions (§10)", uint16(e.Type))
		}
		caps.Extensions = append(caps.Extensions, e.Type)
	}
	return nil
}

// leafTemplate returns the client's LeafNode fields that do not depend on
// where it is used: signature key, credential, capabilities, extensions.
func (c *config) leafTemplate() LeafNode {
	return LeafNode{
		SignatureKey: bytes.Clone(c.Signer.Public()),
		Credential:   c.Credential,
		Capabilities: c.capabilities(),
		Extensions:   cloneExtensions(c.LeafExtensions),
	}
}

// signLeaf signs ln (§7.2): for the update and commit sources the
// signature binds the group and the leaf index.
func signLeaf(cs *suite.Suite, signer Signer, ln *LeafNode, groupID []byte, leaf LeafIndex) error {
	ln.Signature = nil
	tbs, err := ln.TBS(groupID, leaf)
	if err != nil {
		return wrapErr(ErrInvalidArgument, "encoding the LeafNode", err)
	}
	sig, err := cs.SignWithLabel(signer, labelLeafNodeTBS, tbs)
	if err != nil {
		return wrapErr(ErrInvalidArgument, "signing the LeafNode", err)
	}
	ln.Signature = sig
	return nil
}

// ParseKeyPackage decodes a KeyPackage from an MLSMessage or a bare
// KeyPackage encoding, without validating it. The result does not alias
// data.
func ParseKeyPackage(data []byte) (*KeyPackage, error) {
	return parseMLSOrBare(data, message.WireFormatKeyPackage, "KeyPackage",
		func(m *message.MLSMessage) *KeyPackage { return m.KeyPackage })
}

// parseMLSOrBare decodes a structure of wire format wf (named what in
// errors) from an MLSMessage, whose body picks it out, or from its bare
// encoding. The result does not alias data.
func parseMLSOrBare[T any, PT interface {
	*T
	wire.Unmarshaler
}](data []byte, wf WireFormat, what string, body func(*message.MLSMessage) PT) (PT, error) {
	data = bytes.Clone(data)
	var m message.MLSMessage
	if err := wire.Unmarshal(data, &m); err == nil {
		if m.WireFormat != wf {
			return nil, errorf(ErrMalformed, "an MLSMessage of wire format %v, not a %s", m.WireFormat, what)
		}
		return body(&m), nil
	}
	v := PT(new(T))
	if err := wire.Unmarshal(data, v); err != nil {
		return nil, wrapErr(ErrMalformed, what, err)
	}
	return v, nil
}

// IsLastResort reports whether kp carries the last_resort extension.
func IsLastResort(kp *KeyPackage) bool { return kp.Extensions.Has(ExtensionLastResort) }

// ValidateKeyPackage decodes and validates a KeyPackage on its own, as a
// client does before using a KeyPackage downloaded from a directory (RFC
// 9420 §10.1): its version and suite (cfg.Suite), its signature, that its
// init_key differs from its encryption_key, and its LeafNode (§7.3:
// source, credential with cfg.Authentication, signature, lifetime against
// cfg.Now, extensions listed in the capabilities). Checks against a group's
// members and parameters happen when it is added.
func ValidateKeyPackage(cfg Config, data []byte) (*KeyPackage, error) {
	cf, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	kp, err := ParseKeyPackage(data)
	if err != nil {
		return nil, err
	}
	tree, err := treekem.NewTree(cf.cs)
	if err != nil {
		return nil, internalErr("empty tree: %v", err)
	}
	pol, err := cf.policy(nil, true)
	if err != nil {
		return nil, err
	}
	if err := validateKeyPackage(cf, kp, message.MLS10, tree, nil, pol, false); err != nil {
		return nil, err
	}
	return kp, nil
}

// validateKeyPackage checks a KeyPackage for a group of the given version
// and GroupContext extensions, whose tree is tree (§10.1, §12.1.1, §13.4).
// verified reports that verifySignatures accepted kp, whose two
// signatures are then not verified again.
func validateKeyPackage(cf *config, kp *KeyPackage, version message.ProtocolVersion, tree *treekem.Tree,
	groupExts Extensions, pol *treekem.Policy, verified bool) error {
	if kp.Version != version {
		return errorf(ErrInvalidProposal, "KeyPackage of version %d in a group of version %d (§10.1)", kp.Version, version)
	}
	if kp.CipherSuite != cf.cs.ID() {
		return errorf(ErrInvalidProposal, "KeyPackage of suite %v in a group of suite %v (§10.1)", kp.CipherSuite, cf.cs.ID())
	}
	verify := kp.Verify
	if verified {
		verify = kp.CheckFields
	}
	if err := verify(cf.cs); err != nil {
		return wrapErr(ErrInvalidProposal, "KeyPackage (§10.1)", err)
	}
	if err := cf.cs.CheckHPKEPublicKey(kp.InitKey); err != nil {
		return wrapErr(ErrInvalidProposal, "KeyPackage init_key (§10)", err)
	}
	lc := treekem.LeafContext{Role: treekem.RoleKeyPackage, SignatureVerified: verified}
	if err := tree.ValidateLeaf(&kp.LeafNode, lc, pol); err != nil {
		return wrapErr(ErrInvalidProposal, "KeyPackage leaf node (§7.3)", err)
	}
	// §13.4: "The capabilities field MUST indicate support for each
	// extension in the GroupContext."
	for _, e := range groupExts {
		if !e.Type.IsDefault() && !slices.Contains(kp.LeafNode.Capabilities.Extensions, e.Type) {
			return errorf(ErrInvalidProposal, "KeyPackage does not support GroupContext extension 0x%04x (§13.4)", uint16(e.Type))
		}
	}
	return nil
}

// verifySignatures verifies the two signatures of each KeyPackage (§10.1,
// §7.2) on up to GOMAXPROCS goroutines, and reports which passed. A
// failure is not reported: validateKeyPackage verifies that KeyPackage
// again, in order, and so returns the error it always did.
func verifySignatures(tree *treekem.Tree, kps []*KeyPackage) []bool {
	ok := make([]bool, len(kps))
	cs := tree.Suite()
	parallel.Each(len(kps), func(i int) error {
		kp := kps[i]
		ok[i] = kp.VerifySignature(cs) == nil &&
			tree.VerifyLeafSignature(&kp.LeafNode, treekem.LeafContext{Role: treekem.RoleKeyPackage}) == nil
		return nil
	})
	return ok
}

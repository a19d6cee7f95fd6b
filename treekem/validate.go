package treekem

import (
	"errors"
	"fmt"
	"time"

	"github.com/mlsengine/engine/internal/parallel"
	"github.com/mlsengine/engine/mls/wire"
)

// labelLeafNodeTBS is the SignWithLabel label of a LeafNode (§7.2).
const labelLeafNodeTBS = "LeafNodeTBS"

// CredentialValidator validates a credential with the application's
// Authentication Service (§5.3.1): that it is acceptable and binds its
// identities to signatureKey. For an X.509 credential it checks the
// certificate chain (certificates[0] is the end-entity certificate, whose
// subjectPublicKeyInfo must be signatureKey).
type CredentialValidator interface {
	ValidateCredential(cred *Credential, signatureKey []byte) error
}

// CredentialValidatorFunc adapts a function to CredentialValidator.
type CredentialValidatorFunc func(cred *Credential, signatureKey []byte) error

// ValidateCredential calls f.
func (f CredentialValidatorFunc) ValidateCredential(cred *Credential, signatureKey []byte) error {
	return f(cred, signatureKey)
}

// Policy holds the group parameters and application choices that leaf
// validation (§7.3) checks against. The zero Policy accepts basic
// credentials only, requires no capabilities and does not check lifetimes.
type Policy struct {
	// RequiredCapabilities is the GroupContext's required_capabilities
	// extension, if any (see RequiredCapabilitiesOf).
	RequiredCapabilities *RequiredCapabilities
	// Credentials validates every credential. If nil, basic credentials
	// are accepted and all others rejected.
	Credentials CredentialValidator
	// Now returns the current time for lifetime checks; nil skips them
	// (§7.3 makes them optional for received leaves).
	Now func() time.Time
	// MaxLifetime is the longest acceptable not_after - not_before; zero
	// means no limit (§7.2 asks applications to set one).
	MaxLifetime time.Duration
}

// LeafRole says where a LeafNode being validated appears, which fixes its
// expected leaf_node_source and the keys it may share (§7.3).
type LeafRole uint8

// Leaf roles.
const (
	// RoleKeyPackage: the leaf of a KeyPackage, to be added.
	RoleKeyPackage LeafRole = iota + 1
	// RoleUpdate: the leaf of an Update proposal replacing member Index.
	RoleUpdate
	// RoleCommit: the leaf of a Commit's UpdatePath from member Index (or
	// from the external joiner to be placed at Index).
	RoleCommit
	// RoleTree: a leaf already in the tree at Index (joining, §12.4.3.1).
	RoleTree
)

// LeafContext locates a LeafNode being validated.
type LeafContext struct {
	Role    LeafRole
	Index   LeafIndex // the leaf it replaces or occupies; unused for RoleKeyPackage
	GroupID []byte    // signed by update- and commit-source leaves
	// SignatureVerified skips the signature check of ValidateLeaf: set it
	// only when VerifyLeafSignature accepted this LeafNode in this context,
	// as when the leaves of many KeyPackages are verified in parallel
	// before being validated in order.
	SignatureVerified bool
}

// VerifyLeafSignature checks the signature of ln over its LeafNodeTBS in
// the context lc (§7.2), the one check of ValidateLeaf that costs a
// signature verification. It only reads the tree's cipher suite, so calls
// may run concurrently with each other and with reads of the tree.
func (t *Tree) VerifyLeafSignature(ln *LeafNode, lc LeafContext) error {
	if ln == nil {
		return fmt.Errorf("%w: nil leaf node", ErrInvalidArgument)
	}
	data, err := wire.Marshal(ln)
	if err != nil {
		return leafErr(lc.Index, "encoding", err)
	}
	v, ok := parseLeaf(data)
	if !ok {
		return leafErr(lc.Index, "encoding", errEncode)
	}
	var buf []byte
	return t.verifyLeafSignature(&v, lc, &buf)
}

// verifyLeafSignature checks the signature of a parsed leaf (§7.2),
// building its LeafNodeTBS in buf.
func (t *Tree) verifyLeafSignature(v *leafView, lc LeafContext, buf *[]byte) error {
	tbs := append((*buf)[:0], v.content...)
	if v.source == SourceUpdate || v.source == SourceCommit {
		tbs = appendUint32(appendVec(tbs, lc.GroupID), uint32(lc.Index))
	}
	*buf = tbs
	if err := t.cs.VerifyWithLabel(v.sig, labelLeafNodeTBS, tbs, v.signature); err != nil {
		return leafErr(lc.Index, "signature", err)
	}
	return nil
}

// ValidateLeaf validates ln for the tree as described in §7.3: its
// source, credential, signature, capabilities (required capabilities and
// the credential types of the other members), lifetime, extensions, and
// the uniqueness of its keys. Errors match ErrInvalidLeafNode, and also
// ErrDuplicateKey or ErrCredential for those checks.
func (t *Tree) ValidateLeaf(ln *LeafNode, lc LeafContext, pol *Policy) error {
	if ln == nil {
		return fmt.Errorf("%w: nil leaf node", ErrInvalidArgument)
	}
	data, err := wire.Marshal(ln)
	if err != nil {
		return leafErr(lc.Index, "encoding", err)
	}
	return t.validateLeafData(data, lc, pol)
}

// validateLeafData is ValidateLeaf of the leaf whose encoding is data.
func (t *Tree) validateLeafData(data []byte, lc LeafContext, pol *Policy) error {
	v, ok := parseLeaf(data)
	if !ok {
		return leafErr(lc.Index, "encoding", errEncode)
	}
	if pol == nil {
		pol = &Policy{}
	}
	var buf []byte
	return t.validateLeaf(&v, lc, pol, &buf)
}

func expectedSource(r LeafRole) LeafNodeSource {
	switch r {
	case RoleKeyPackage:
		return SourceKeyPackage
	case RoleUpdate:
		return SourceUpdate
	case RoleCommit:
		return SourceCommit
	}
	return 0
}

// validateLeaf runs the checks of §7.3 on a parsed leaf. It only reads the
// tree, so validations may run concurrently.
func (t *Tree) validateLeaf(v *leafView, lc LeafContext, pol *Policy, buf *[]byte) error {
	i := lc.Index
	if lc.Role < RoleKeyPackage || lc.Role > RoleTree {
		return fmt.Errorf("%w: unknown leaf role %d", ErrInvalidArgument, lc.Role)
	}
	if want := expectedSource(lc.Role); want != 0 && v.source != want {
		return leafErr(i, fmt.Sprintf("leaf_node_source %d, want %d", v.source, want), nil)
	}
	if len(v.enc) != t.npk {
		return leafErr(i, "encryption key size", nil)
	}
	if lc.Role != RoleTree {
		// In a tree the signature check below parses the signature key;
		// and HPKE keys of the NIST curves are checked when used.
		if err := t.cs.CheckHPKEPublicKey(v.enc); err != nil {
			return leafErr(i, "encryption key", err)
		}
		if err := t.cs.CheckSignaturePublicKey(v.sig); err != nil {
			return leafErr(i, "signature key", err)
		}
	}
	// §7.2: the credential type must be listed in the capabilities.
	if !hasUint16(v.caps[capCredentials], uint16(v.credType)) {
		return leafErr(i, "credential type not in capabilities (§7.2)", nil)
	}
	if err := checkCredential(v, pol.Credentials); err != nil {
		return leafErr(i, "credential", err)
	}
	// §7.2: signature over LeafNodeTBS.
	if !lc.SignatureVerified {
		if err := t.verifyLeafSignature(v, lc, buf); err != nil {
			return err
		}
	}
	if m := pol.RequiredCapabilities.missing(&v.caps); m != "" {
		return leafErr(i, m, nil)
	}
	var self *leafView
	if lc.Role != RoleKeyPackage {
		if d := t.LeafEncoding(i); d != nil {
			sv, _ := parseLeaf(d)
			self = &sv
		}
	}
	if m := t.caps.credentialsCompatible(v, self); m != "" {
		return leafErr(i, m, nil)
	}
	if v.source == SourceKeyPackage {
		if err := checkLifetime(v.lifetime, pol); err != nil {
			return leafErr(i, "lifetime", err)
		}
	}
	var unlisted ExtensionType
	forExtensions(v.exts, func(e ExtensionType) bool {
		if !e.IsDefault() && !hasUint16(v.caps[capExtensions], uint16(e)) {
			unlisted = e
			return false
		}
		return true
	})
	if unlisted != 0 {
		return leafErr(i, fmt.Sprintf("extension 0x%04x not in capabilities", uint16(unlisted)), nil)
	}
	switch lc.Role {
	case RoleKeyPackage:
		return t.checkLeafKeys(LeafIndex(1<<32-1), v.enc, v.sig)
	case RoleUpdate, RoleCommit:
		return t.checkLeafKeys(i, v.enc, v.sig)
	}
	return nil // keys in the tree were checked unique when it was built
}

func checkCredential(v *leafView, cv CredentialValidator) error {
	if cv == nil {
		if v.credType == CredentialBasic {
			return nil
		}
		return fmt.Errorf("%w: no validator for credential type %d", ErrCredential, v.credType)
	}
	var c Credential
	if err := wire.Unmarshal(v.cred, &c); err != nil {
		return fmt.Errorf("%w: %w", ErrCredential, err)
	}
	if err := cv.ValidateCredential(&c, v.sig); err != nil {
		return fmt.Errorf("%w: %w", ErrCredential, err)
	}
	return nil
}

func checkLifetime(lt Lifetime, pol *Policy) error {
	if lt.NotBefore > lt.NotAfter {
		return errors.New("not_before after not_after")
	}
	if pol.MaxLifetime > 0 && lt.NotAfter-lt.NotBefore > uint64(pol.MaxLifetime/time.Second) {
		return fmt.Errorf("longer than %v", pol.MaxLifetime)
	}
	if pol.Now == nil {
		return nil
	}
	now := pol.Now().Unix()
	if now < 0 || uint64(now) < lt.NotBefore || uint64(now) > lt.NotAfter {
		return errors.New("current time outside lifetime")
	}
	return nil
}

// Validate checks a tree received from another party as a joiner must
// (§12.4.3.1): every non-blank parent is parent-hash valid (§7.9.2) and
// every leaf is valid (§7.3) for groupID under pol. Structure, unmerged
// leaves and key uniqueness were checked when the tree was built. The
// caller compares TreeHash with the GroupInfo's tree_hash.
//
// The work, n signature verifications and O(n) hashes, is spread over
// GOMAXPROCS goroutines. The first error in node order is returned.
func (t *Tree) Validate(groupID []byte, pol *Policy) error {
	if t.n == 0 {
		return fmt.Errorf("%w: empty tree", ErrMalformedTree)
	}
	if pol == nil {
		pol = &Policy{}
	}
	t.refresh(Root(t.n)) // hashes all stale nodes on all cores
	return parallel.Blocks(int(NodeWidth(t.n)), 512, func(lo, hi int) error {
		var buf []byte
		for x := NodeIndex(lo); x < NodeIndex(hi); x++ {
			if err := t.validateNode(x, groupID, pol, &buf); err != nil {
				return err
			}
		}
		return nil
	})
}

func (t *Tree) validateNode(x NodeIndex, groupID []byte, pol *Policy, buf *[]byte) error {
	d := t.st.get(x).data
	if d == nil {
		return nil
	}
	if !x.IsLeaf() {
		return t.checkParentHash(x, buf)
	}
	v, ok := parseLeaf(d)
	if !ok {
		return internalErr("leaf %d does not parse", x.Leaf())
	}
	return t.validateLeaf(&v, LeafContext{Role: RoleTree, Index: x.Leaf(), GroupID: groupID}, pol, buf)
}

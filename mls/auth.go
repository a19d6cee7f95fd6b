package mls

import (
	"bytes"
	"fmt"
	"time"

	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// AuthenticationService is the application's Authentication Service (RFC
// 9420 §5.3.1, RFC 9750 §4): what binds the identities that credentials
// present to signature keys. The group calls it, through
// Config.Authentication, wherever RFC 9420 says a credential is "validated
// with the AS", and asks it for identities instead of comparing credential
// bytes. BasicAuthentication and X509Authentication implement it.
//
// Its methods must be safe for concurrent use (a received tree is
// validated on all cores) and must not modify their arguments.
type AuthenticationService interface {
	// Validate checks that cred is acceptable and that the identity it
	// presents is bound to signatureKey, at time now (Config.Now). It is
	// called for every credential introduced in the group (§5.3.1): the
	// leaves of KeyPackages added, Updates and UpdatePaths, every leaf
	// of a tree joined, and the senders of an external_senders extension
	// when it is set.
	Validate(cred *Credential, signatureKey []byte, now time.Time) error
	// ValidSuccessor checks that next may replace old as the credential
	// of one member (§5.3.1): in an Update, in a commit's UpdatePath, or
	// in an external commit that replaces the joiner's earlier leaf
	// (§12.2). Both were validated. It is called only when the
	// credentials differ.
	ValidSuccessor(old, next *Credential) error
	// Identity returns the identity a validated credential presents: the
	// stable name of a member, which the group compares (resyncs,
	// reinitialization and branching, Group.FindIdentity) instead of
	// credential bytes.
	Identity(cred *Credential) ([]byte, error)
}

// BasicAuthentication is the Authentication Service of basic credentials
// (§5.3): the identity is the credential's bytes, and a successor must
// present the same identity. Other credential types are refused. It is the
// default of Config.Authentication.
//
// A basic credential is a bare claim: without Bind, nothing ties its
// identity to a signature key, so anyone may claim any identity in a
// KeyPackage of their own. The member is then identified by its signature
// key, which is why the default Policy admits a resync only with the
// replaced leaf's key.
type BasicAuthentication struct {
	// Bind, if set, checks that the holder of signatureKey may present
	// identity, for instance against the application's directory of
	// users' keys.
	Bind func(identity, signatureKey []byte) error
}

// Validate implements AuthenticationService.
func (a *BasicAuthentication) Validate(cred *Credential, signatureKey []byte, _ time.Time) error {
	if cred.Type != treekem.CredentialBasic {
		return fmt.Errorf("credential type %d: only basic credentials are accepted", cred.Type)
	}
	if a.Bind != nil {
		return a.Bind(bytes.Clone(cred.Identity), bytes.Clone(signatureKey))
	}
	return nil
}

// ValidSuccessor implements AuthenticationService: the same identity.
func (a *BasicAuthentication) ValidSuccessor(old, next *Credential) error {
	return sameIdentity(a, old, next)
}

// Identity implements AuthenticationService: the identity of a basic
// credential.
func (*BasicAuthentication) Identity(cred *Credential) ([]byte, error) {
	if cred.Type != treekem.CredentialBasic {
		return nil, fmt.Errorf("credential type %d is not basic", cred.Type)
	}
	return bytes.Clone(cred.Identity), nil
}

// sameIdentity checks that two credentials present the same identity.
func sameIdentity(as AuthenticationService, old, next *Credential) error {
	a, err := as.Identity(old)
	if err != nil {
		return err
	}
	b, err := as.Identity(next)
	if err != nil {
		return err
	}
	if !bytes.Equal(a, b) {
		return fmt.Errorf("identity %q is not %q", b, a)
	}
	return nil
}

// CredentialError reports a credential that the Authentication Service
// (Config.Authentication) refused (§5.3.1): Validate, or ValidSuccessor
// when Previous is set. It matches ErrRejected and the service's error.
type CredentialError struct {
	Credential *Credential
	// Previous is the credential that Credential would replace, for a
	// refused successor.
	Previous *Credential
	Err      error
}

func (e *CredentialError) Error() string {
	what := "credential"
	if e.Previous != nil {
		what = "credential is not a valid successor (§5.3.1)"
	}
	return fmt.Sprintf("mls: authentication service: %s: %v", what, e.Err)
}

// Unwrap makes errors.Is(err, ErrRejected) true, and errors.Is and
// errors.As see the service's error.
func (e *CredentialError) Unwrap() []error { return []error{ErrRejected, e.Err} }

// validateCredential validates a credential with the AS at the current
// time; treekem calls it for every leaf it validates.
func (c *config) validateCredential(cred *Credential, signatureKey []byte) error {
	if err := c.as.Validate(cred, signatureKey, c.now()); err != nil {
		return &CredentialError{Credential: cred, Err: err}
	}
	return nil
}

// checkSuccessor checks that next may replace old as one member's
// credential (§5.3.1); equal credentials may.
func (c *config) checkSuccessor(old, next *Credential) error {
	if sameCredential(old, next) {
		return nil
	}
	if err := c.as.ValidSuccessor(old, next); err != nil {
		return &CredentialError{Credential: next, Previous: old, Err: err}
	}
	return nil
}

// checkLeafSuccessor checks that ln may replace the LeafNode of member leaf
// of tree (an Update or a commit's path leaf, §5.3.1).
func (c *config) checkLeafSuccessor(tree *treekem.Tree, leaf LeafIndex, ln *LeafNode) error {
	old, ok := tree.LeafCredential(leaf)
	if !ok {
		return nil // not a member: reported by the caller's checks
	}
	return c.checkSuccessor(old, &ln.Credential)
}

// identity returns the identity the AS gives a credential.
func (c *config) identity(cred *Credential) ([]byte, error) {
	id, err := c.as.Identity(cred)
	if err != nil {
		return nil, &CredentialError{Credential: cred, Err: err}
	}
	return id, nil
}

func sameCredential(a, b *Credential) bool {
	ea, err1 := wire.Marshal(a)
	eb, err2 := wire.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ea, eb)
}

// checkExternalSenders validates the credentials of the external_senders
// extension of exts, if any, with the AS (§5.3.1: "When an
// external_senders extension is added to the group", "When an existing
// external_senders extension is updated"). A malformed extension is left
// to checkGroupExtensions.
func (c *config) checkExternalSenders(exts Extensions) error {
	es, ok, err := message.ParseExternalSenders(exts)
	if err != nil || !ok {
		return nil
	}
	for i := range es {
		if err := c.validateCredential(&es[i].Credential, es[i].SignatureKey); err != nil {
			return fmt.Errorf("external sender %d: %w", i, err)
		}
	}
	return nil
}

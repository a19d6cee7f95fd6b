package mls

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/mlsengine/engine/mls/message"
)

// Policy is the application's authorization policy: what RFC 9420 leaves
// to the application about who may change a group. "External proposals
// that are not authorized are considered invalid" (§12.1.8), and "an
// application may extend the above procedure by additional rules" (§12.2).
// The zero Policy is the secure default:
//
//   - an external commit (§12.4.3.2) is admitted only as a resync of a
//     member by itself (DefaultAdmit);
//   - an Add proposal sent by the client it adds (sender
//     new_member_proposal, §12.1.8) is refused;
//   - proposals from the senders of the external_senders extension, whose
//     credentials the Authentication Service validated when the extension
//     was set (§5.3.1), are accepted;
//   - every proposal that passes RFC 9420's checks is accepted.
//
// The committer, every receiver and a PublicGroup apply the same rules to
// a commit, and a committer refuses to create a commit that a receiver
// with the same Policy would reject. What the Policy refuses fails with an
// error matching ErrRejected: an *AdmissionError, or a ProposalError of
// rule RulePolicy.
type Policy struct {
	// Admit decides on a client that enters the group on its own: the
	// sender of an external commit, or of a new_member_proposal Add. Its
	// LeafNode and credential were validated (§7.3, §5.3.1) and, for a
	// resync, found a valid successor of the replaced leaf's. Nil selects
	// DefaultAdmit; AdmitAll admits everyone who holds the group's
	// GroupInfo (groups open to all, test harnesses). The Admission must
	// not be modified.
	Admit func(a *Admission) error
	// Proposal is the application's rule for every proposal: it is called,
	// after the checks of RFC 9420, for every proposal received on its own
	// and every proposal of a commit created or received, and an error
	// rejects the proposal (or the commit). Custom proposal types are only
	// ever accepted here. The proposal must not be modified. Nil accepts
	// all.
	Proposal func(p *Proposal) error
}

// Admission describes a client that enters a group on its own, for
// Policy.Admit.
type Admission struct {
	// Sender is of type new_member_commit for an external commit, and
	// new_member_proposal for an Add proposal sent by the client itself.
	Sender Sender
	// GroupContext is the group's in the epoch of the commit or proposal.
	GroupContext *GroupContext
	// LeafNode is the client's: the LeafNode of the external commit's
	// UpdatePath, or of the proposal's KeyPackage.
	LeafNode *LeafNode
	// Identity is the identity its credential presents
	// (AuthenticationService.Identity).
	Identity []byte
	// KeyPackage is the proposal's KeyPackage; nil for an external commit.
	KeyPackage *KeyPackage
	// Replaces is the member an external commit removes, the client's
	// earlier appearance in the group (§12.2: "with which the joiner
	// removes an old version of themselves"), and ReplacedIdentity the
	// identity its credential presents; nil if the commit removes no one.
	Replaces         *MemberChange
	ReplacedIdentity []byte
}

// Resync reports whether the admission is an external commit by which a
// member replaces its own leaf (§12.4.3.2), as DefaultAdmit understands
// it: the replaced leaf presents the same identity, and has the same
// signature key, so that the commit (signed with the joiner's key) proves
// it comes from the holder of the replaced leaf's key. Requiring the key
// is what keeps a resync safe with basic credentials, whose identity
// anyone may claim; a member that lost its signature key rejoins as a new
// member.
func (a *Admission) Resync() bool {
	return a.Sender.Type == message.SenderNewMemberCommit && a.Replaces != nil &&
		bytes.Equal(a.Identity, a.ReplacedIdentity) &&
		bytes.Equal(a.LeafNode.SignatureKey, a.Replaces.LeafNode.SignatureKey)
}

// ErrNotAdmitted is the error of DefaultAdmit for a client it refuses.
var ErrNotAdmitted = errors.New("mls: by default only a member's resync enters the group on its own (Policy.Admit)")

// DefaultAdmit is the default of Policy.Admit: it admits an external commit
// that is a resync (Admission.Resync), and refuses every other external
// commit and every new_member_proposal Add with ErrNotAdmitted.
// Applications that extend the default call it from their own Admit.
func DefaultAdmit(a *Admission) error {
	if a.Resync() {
		return nil
	}
	return ErrNotAdmitted
}

// AdmitAll is a Policy.Admit that admits every client: for groups open to
// anyone who obtains their GroupInfo, and test harnesses.
func AdmitAll(*Admission) error { return nil }

// AdmissionError reports a client that Config.Policy did not admit. It
// matches ErrRejected and the policy's error.
type AdmissionError struct {
	Sender   Sender
	Identity []byte
	Err      error
}

func (e *AdmissionError) Error() string {
	return fmt.Sprintf("mls: %v sender %q not admitted: %v", e.Sender.Type, e.Identity, e.Err)
}

// Unwrap makes errors.Is(err, ErrRejected) true, and errors.Is and
// errors.As see the policy's error.
func (e *AdmissionError) Unwrap() []error { return []error{ErrRejected, e.Err} }

// admit runs the admission policy.
func (c *config) admit(a *Admission) error {
	admit := c.Policy.Admit
	if admit == nil {
		admit = DefaultAdmit
	}
	if err := admit(a); err != nil {
		return &AdmissionError{Sender: a.Sender, Identity: a.Identity, Err: err}
	}
	return nil
}

// accept runs the application's proposal rule.
func (c *config) accept(p *Proposal) error {
	if c.Policy.Proposal == nil {
		return nil
	}
	if err := c.Policy.Proposal(p); err != nil {
		return wrapErr(ErrRejected, "proposal", err)
	}
	return nil
}

// admitJoiner builds the Admission of an external commit's joiner, whose
// path leaf is ln and which removes the members of removes (at most one,
// §12.2), checks that the joiner's credential is a valid successor of the
// removed member's (§12.2: "the LeafNode in the path field of the external
// Commit MUST meet the same criteria as would the LeafNode in an Update
// for the removed leaf"), and runs the admission policy.
func (c *config) admitJoiner(gc *GroupContext, ln *LeafNode, removes []MemberChange) error {
	a := &Admission{Sender: Sender{Type: message.SenderNewMemberCommit}, GroupContext: gc, LeafNode: ln}
	var err error
	if a.Identity, err = c.identity(&ln.Credential); err != nil {
		return err
	}
	if len(removes) > 0 {
		r := removes[0]
		if err := c.checkSuccessor(&r.LeafNode.Credential, &ln.Credential); err != nil {
			return proposalErr(-1, message.ProposalRemove, RuleResyncSuccessor, err)
		}
		a.Replaces = &r
		if a.ReplacedIdentity, err = c.identity(&r.LeafNode.Credential); err != nil {
			return err
		}
	}
	return c.admit(a)
}

// admitProposer runs the admission policy on the sender of a
// new_member_proposal Add (§12.1.8).
func (c *config) admitProposer(gc *GroupContext, sender Sender, add *Add) error {
	a := &Admission{Sender: sender, GroupContext: gc, LeafNode: &add.KeyPackage.LeafNode, KeyPackage: &add.KeyPackage}
	var err error
	if a.Identity, err = c.identity(&add.KeyPackage.LeafNode.Credential); err != nil {
		return err
	}
	return c.admit(a)
}

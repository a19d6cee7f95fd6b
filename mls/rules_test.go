package mls

import (
	"errors"
	"testing"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// Every rule of §12.2 (and the validity rules of §12.1 it refers to) is
// checked on both sides: the committer refuses to create the commit, and a
// receiver of a commit crafted to break the rule rejects it and is left
// unchanged.

// craftCommit signs and protects a commit of g's member with an arbitrary
// proposal list and path, bypassing the committer's checks. The
// confirmation tag is garbage: receivers must reject the commit before
// they could check it.
func craftCommit(t *testing.T, g *Group, props []message.ProposalOrRef, path *treekem.UpdatePath) []byte {
	t.Helper()
	fc := g.framed(message.ContentCommit, nil)
	fc.Commit = &message.Commit{Proposals: props, Path: path}
	ac, err := g.sign(message.WireFormatPublicMessage, fc)
	if err != nil {
		t.Fatal(err)
	}
	ac.Auth.ConfirmationTag = make([]byte, g.cf.cs.HashSize())
	msg, err := g.protect(ac)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func byValue(ps ...*Proposal) []message.ProposalOrRef {
	out := make([]message.ProposalOrRef, len(ps))
	for i, p := range ps {
		out[i] = message.ProposalOrRef{Proposal: p.wire()}
	}
	return out
}

// rejectBoth checks that member `by` cannot commit props by value and that
// member `to` rejects a crafted commit of them with the given rule.
func rejectBoth(t *testing.T, w *world, by, to int, rule string, props ...*Proposal) {
	t.Helper()
	checkRule := func(err error) {
		t.Helper()
		var pe *ProposalError
		if rule != "" && (!errors.As(err, &pe) || pe.Rule != rule) {
			t.Fatalf("error %v, want rule %q", err, rule)
		}
	}
	err := expectUnchanged(t, w.groups[by], ErrInvalidProposal, func() error {
		_, err := w.groups[by].Commit(&CommitOptions{Proposals: props, NoPending: true})
		return err
	})
	checkRule(err)
	t.Logf("committer: %v", err)
	msg := craftCommit(t, w.groups[by], byValue(props...), nil)
	err = expectUnchanged(t, w.groups[to], ErrInvalidProposal, func() error {
		_, err := w.groups[to].Process(msg)
		return err
	})
	checkRule(err)
	t.Logf("receiver: %v", err)
	checkRule(expectPublicRejects(t, w.groups[to], msg, ErrInvalidProposal))
}

func otherKeyPackage(t *testing.T, c *client) *Proposal {
	t.Helper()
	kp, _ := c.keyPackage(t)
	p, err := NewAdd(kp)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRuleUpdateByCommitter(t *testing.T) {
	w := newWorld(t, 3, nil)
	up, _, err := w.groups[0].newUpdate(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rejectBoth(t, w, 0, 1, RuleUpdateByCommitter, &Proposal{Body: up.Body})
	// By reference too: the committer's own pending Update.
	msg, err := w.groups[0].ProposeUpdate(nil)
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(0, msg)
	ref := w.groups[0].PendingProposals()[0].Ref
	expectUnchanged(t, w.groups[0], ErrInvalidProposal, func() error {
		_, err := w.groups[0].Commit(&CommitOptions{References: []message.ProposalRef{ref}})
		return err
	})
	craft := craftCommit(t, w.groups[0], []message.ProposalOrRef{{Reference: ref}}, nil)
	expectUnchanged(t, w.groups[1], ErrInvalidProposal, func() error { _, err := w.groups[1].Process(craft); return err })
	expectPublicRejects(t, w.groups[1], craft, ErrInvalidProposal)
	// By default, the committer leaves its own Update out.
	pc := w.commit(0, nil)
	if len(pc.Updates) != 0 {
		t.Fatal("own update committed")
	}
}

func TestRuleRemoveCommitter(t *testing.T) {
	w := newWorld(t, 3, nil)
	rejectBoth(t, w, 1, 2, RuleRemoveCommitter, NewRemove(w.groups[1].LeafIndex()))
}

func TestRuleSameLeaf(t *testing.T) {
	w := newWorld(t, 4, nil)
	leaf := w.groups[2].LeafIndex()
	rejectBoth(t, w, 0, 1, RuleSameLeaf, NewRemove(leaf), NewRemove(leaf))
	// An Update and a Remove of the same member, by reference.
	msg, err := w.groups[2].ProposeUpdate(nil)
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(2, msg)
	w.propose(3, NewRemove(leaf))
	pending := w.groups[0].PendingProposals()
	refs := []message.ProposalRef{pending[0].Ref, pending[1].Ref}
	expectUnchanged(t, w.groups[0], ErrInvalidProposal, func() error {
		_, err := w.groups[0].Commit(&CommitOptions{References: refs})
		return err
	})
	craft := craftCommit(t, w.groups[0], []message.ProposalOrRef{{Reference: refs[0]}, {Reference: refs[1]}}, nil)
	expectPublicRejects(t, w.groups[1], craft, ErrInvalidProposal)
	err = expectUnchanged(t, w.groups[1], ErrInvalidProposal, func() error { _, err := w.groups[1].Process(craft); return err })
	var pe *ProposalError
	if !errors.As(err, &pe) || pe.Rule != RuleSameLeaf {
		t.Fatal(err)
	}
}

func TestRuleDuplicateAdd(t *testing.T) {
	w := newWorld(t, 3, nil)
	d := newClient(t, "d")
	rejectBoth(t, w, 0, 1, RuleDuplicateAdd, otherKeyPackage(t, d), otherKeyPackage(t, d))
}

func TestRuleAddExistingMember(t *testing.T) {
	w := newWorld(t, 3, nil)
	rejectBoth(t, w, 0, 1, RuleAddExistingMember, otherKeyPackage(t, w.clients[2]))
	// Allowed with a Remove of the same client in the list (§12.2).
	kp, priv := w.clients[2].keyPackage(t)
	add, _ := NewAdd(kp)
	pc := w.commit(0, &CommitOptions{Proposals: []*Proposal{NewRemove(w.groups[2].LeafIndex()), add}})
	g, err := Join(w.clients[2].cfg, pc.Welcome, priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.groups[2] = g
	w.agree()
	// The same by reference: the Add is accepted when received, although
	// its client is still a member then.
	kp, priv = w.clients[1].keyPackage(t)
	add, _ = NewAdd(kp)
	w.propose(0, add)
	w.propose(2, NewRemove(w.groups[1].LeafIndex()))
	w.groups[1] = nil
	pc = w.commit(2, nil)
	if len(pc.Adds) != 1 || len(pc.Removes) != 1 {
		t.Fatal("proposals not committed")
	}
	if w.groups[1], err = Join(w.clients[1].cfg, pc.Welcome, priv, nil); err != nil {
		t.Fatal(err)
	}
	w.agree()
}

func TestRuleDuplicatePSK(t *testing.T) {
	w := newWorld(t, 3, pskConfig(map[string][]byte{"k": make([]byte, 32)}))
	p, err := w.groups[0].NewExternalPSK([]byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	rejectBoth(t, w, 0, 1, RuleDuplicatePSK, p, p)
}

func TestRuleMultipleGCE(t *testing.T) {
	w := newWorld(t, 3, nil)
	rejectBoth(t, w, 0, 1, RuleMultipleGCE, NewGroupContextExtensions(nil), NewGroupContextExtensions(nil))
}

func TestRuleReInitNotAlone(t *testing.T) {
	w := newWorld(t, 3, nil)
	ri := w.groups[0].NewReInit([]byte("new"), testSuite, nil)
	rejectBoth(t, w, 0, 1, RuleReInitNotAlone, ri, NewRemove(w.groups[2].LeafIndex()))
}

func TestRuleExternalInitInRegularCommit(t *testing.T) {
	w := newWorld(t, 3, nil)
	ei := &Proposal{Body: &message.ExternalInit{KEMOutput: make([]byte, 32)}}
	rejectBoth(t, w, 0, 1, RuleExternalInit, ei)
	// Not even as a proposal on its own.
	expectUnchanged(t, w.groups[0], ErrInvalidProposal, func() error { _, err := w.groups[0].Propose(ei, nil); return err })
}

func TestRuleInvalidProposals(t *testing.T) {
	w := newWorld(t, 3, nil)
	// §12.1.3: a Remove of a blank leaf.
	rejectBoth(t, w, 0, 1, "", NewRemove(17))
	// §12.1.1: an Add with an invalid KeyPackage (bad signature).
	bad := otherKeyPackage(t, newClient(t, "d"))
	bad.Body.(*message.Add).KeyPackage.Signature[0] ^= 1
	bad.Body.(*message.Add).KeyPackage.Raw = nil
	rejectBoth(t, w, 0, 1, "", bad)
	// §12.1.1: a KeyPackage of another suite.
	other := newClientSuite(t, "e", testSuite+2)
	rejectBoth(t, w, 0, 1, "", otherKeyPackage(t, other))
	// §12.1.4: a psk_nonce of the wrong length, and a resumption PSK of
	// usage branch outside a branch.
	short := &Proposal{Body: &message.PreSharedKey{PSK: keyschedule.PreSharedKeyID{
		Type: keyschedule.PSKTypeExternal, ID: []byte("k"), Nonce: make([]byte, 5)}}}
	rejectBoth(t, w, 0, 1, "", short)
	branch := &Proposal{Body: &message.PreSharedKey{PSK: keyschedule.PreSharedKeyID{
		Type: keyschedule.PSKTypeResumption, Usage: keyschedule.UsageBranch, GroupID: w.groups[0].GroupID(), Epoch: 1, Nonce: make([]byte, 32)}}}
	rejectBoth(t, w, 0, 1, "", branch)
	// §12.1.5: a ReInit to an older version.
	old := &Proposal{Body: &message.ReInit{GroupID: []byte("x"), Version: 0, CipherSuite: testSuite}}
	rejectBoth(t, w, 0, 1, "", old)
	// §12.1.7: extensions that are not GroupContext extensions, or that
	// some member does not support.
	rejectBoth(t, w, 0, 1, "", NewGroupContextExtensions(treekem.Extensions{{Type: treekem.ExtensionExternalPub, Data: []byte{0}}}))
	rejectBoth(t, w, 0, 1, "", NewGroupContextExtensions(treekem.Extensions{{Type: 0xff00}}))
	rc, _ := (&treekem.RequiredCapabilities{Proposals: []uint16{0xf000}}).Extension()
	rejectBoth(t, w, 0, 1, "", NewGroupContextExtensions(treekem.Extensions{rc}))
}

func TestRulePathRequired(t *testing.T) {
	w := newWorld(t, 4, nil)
	// §12.4: a Remove (or an empty commit) needs a path.
	for _, props := range [][]message.ProposalOrRef{byValue(NewRemove(w.groups[3].LeafIndex())), nil} {
		msg := craftCommit(t, w.groups[0], props, nil)
		expectUnchanged(t, w.groups[1], ErrInvalidCommit, func() error { _, err := w.groups[1].Process(msg); return err })
		expectPublicRejects(t, w.groups[1], msg, ErrInvalidCommit)
	}
	// An Add alone does not: by default the committer still sends one, with
	// OmitPath it leaves it out, and both are processed.
	for _, omit := range []bool{false, true} {
		pc := w.commit(0, &CommitOptions{Proposals: []*Proposal{otherKeyPackage(t, newClient(t, "d"))}, OmitPath: omit})
		var m message.MLSMessage
		if err := wire.Unmarshal(pc.Commit, &m); err != nil {
			t.Fatal(err)
		}
		if hasPath := m.PublicMessage.Content.Commit.Path != nil; hasPath == omit {
			t.Fatalf("OmitPath %v: add-only commit with a path: %v", omit, hasPath)
		}
		w.agree()
	}
}

func TestRuleUnknownReference(t *testing.T) {
	w := newWorld(t, 3, nil)
	msg := craftCommit(t, w.groups[0], []message.ProposalOrRef{{Reference: make([]byte, 32)}}, nil)
	expectUnchanged(t, w.groups[1], ErrInvalidCommit, func() error { _, err := w.groups[1].Process(msg); return err })
	expectPublicRejects(t, w.groups[1], msg, ErrInvalidCommit)
	if _, err := w.groups[0].Commit(&CommitOptions{References: []message.ProposalRef{make([]byte, 32)}}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatal(err)
	}
}

// craftExternalCommit signs an external commit with the signer of c, whose
// path carries a LeafNode with that signature key (all a receiver needs to
// check the signature).
func craftExternalCommit(t *testing.T, g *Group, c *client, props []message.ProposalOrRef) []byte {
	t.Helper()
	ln := c.keyPackageLeaf(t)
	fc := &message.FramedContent{
		GroupID: g.GroupID(), Epoch: g.Epoch(), Sender: message.Sender{Type: message.SenderNewMemberCommit},
		ContentType: message.ContentCommit,
		Commit:      &message.Commit{Proposals: props, Path: &treekem.UpdatePath{LeafNode: *ln}},
	}
	ac, err := message.SignContent(g.cf.cs, c.cfg.Signer, message.WireFormatPublicMessage, fc, g.ep.gcBytes)
	if err != nil {
		t.Fatal(err)
	}
	ac.Auth.ConfirmationTag = make([]byte, g.cf.cs.HashSize())
	pm, err := message.ProtectPublic(g.cf.cs, ac, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := encodeMLS(pm)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (c *client) keyPackageLeaf(t *testing.T) *treekem.LeafNode {
	kp, _ := c.keyPackage(t)
	k, err := ParseKeyPackage(kp)
	if err != nil {
		t.Fatal(err)
	}
	return &k.LeafNode
}

func TestRuleExternalCommitList(t *testing.T) {
	w := newWorld(t, 3, nil)
	d := newClient(t, "d")
	ei := &Proposal{Body: &message.ExternalInit{KEMOutput: make([]byte, 32)}}
	cases := map[string][]message.ProposalOrRef{
		"no ExternalInit":  byValue(NewRemove(1)),
		"two ExternalInit": byValue(ei, ei),
		"two Removes":      byValue(ei, NewRemove(1), NewRemove(2)),
		"an Add":           byValue(ei, otherKeyPackage(t, newClient(t, "e"))),
		"a GCE":            byValue(ei, NewGroupContextExtensions(nil)),
	}
	for name, props := range cases {
		t.Run(name, func(t *testing.T) {
			msg := craftExternalCommit(t, w.groups[0], d, props)
			expectUnchanged(t, w.groups[1], ErrInvalidProposal, func() error { _, err := w.groups[1].Process(msg); return err })
			expectPublicRejects(t, w.groups[1], msg, ErrInvalidProposal)
		})
	}
	// By reference: refused (§12.4.3.2).
	w.propose(2, NewRemove(w.groups[2].LeafIndex()))
	ref := w.groups[0].PendingProposals()[0].Ref
	msg := craftExternalCommit(t, w.groups[0], d, append(byValue(ei), message.ProposalOrRef{Reference: ref}))
	expectUnchanged(t, w.groups[1], ErrInvalidCommit, func() error { _, err := w.groups[1].Process(msg); return err })
	expectPublicRejects(t, w.groups[1], msg, ErrInvalidCommit)
}

func TestRuleConfirmationTag(t *testing.T) {
	w := newWorld(t, 3, nil)
	pc, err := w.groups[0].Commit(nil)
	if err != nil {
		t.Fatal(err)
	}
	var m message.MLSMessage
	if err := wire.Unmarshal(pc.Commit, &m); err != nil {
		t.Fatal(err)
	}
	pm := m.PublicMessage
	ac := &message.AuthenticatedContent{WireFormat: message.WireFormatPublicMessage, Content: pm.Content, Auth: pm.Auth}
	ac.Auth.ConfirmationTag = append([]byte(nil), ac.Auth.ConfirmationTag...)
	ac.Auth.ConfirmationTag[0] ^= 1
	msg, err := w.groups[0].protect(ac) // a valid membership tag over the bad confirmation tag
	if err != nil {
		t.Fatal(err)
	}
	expectUnchanged(t, w.groups[1], ErrAuthentication, func() error { _, err := w.groups[1].Process(msg); return err })
	// The genuine commit still works.
	w.applyCommit(0, pc)
	w.agree()
}

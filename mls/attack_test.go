package mls

import (
	"crypto/ed25519"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// Each test here plays an attacker, a member or an outsider, with a client
// of its own that builds what honest clients refuse to build (a permissive
// authentication service, a policy admitting everything), and checks that
// the honest members reject the attack with a typed error, unchanged, and
// that the group keeps working.

// anyAS is the attacker's authentication service: it accepts everything.
type anyAS struct{}

func (anyAS) Validate(*treekem.Credential, []byte, time.Time) error { return nil }
func (anyAS) ValidSuccessor(_, _ *treekem.Credential) error         { return nil }
func (anyAS) Identity(c *treekem.Credential) ([]byte, error)        { return wire.Marshal(c) }

// lawless makes a Config accept and admit everything.
func lawless(c *Config) {
	c.Authentication = anyAS{}
	c.Policy = Policy{Admit: AdmitAll}
}

// corrupt returns member i's group with lawless configuration and
// credential cred (the honest group keeps its own state: the attacker's is
// a copy made through ViewAs, as if it ran modified code).
func corrupt(t *testing.T, w *world, i int, cred treekem.Credential) *Group {
	t.Helper()
	g := w.groups[i]
	cfg := g.cf.Config
	lawless(&cfg)
	cfg.Credential = cred
	bad, err := g.viewAs(cfg, g.LeafIndex(), g.leafPrivateKey(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return bad
}

// rejectAll checks that every member but skip rejects msg with an error
// matching want, leaving its group unchanged, and passes the error to
// check; then that the group still works: member 0 commits and everyone
// agrees.
func rejectAll(t *testing.T, w *world, skip int, msg []byte, want error, check func(error)) {
	t.Helper()
	for _, i := range w.members() {
		if i == skip {
			continue
		}
		err := expectUnchanged(t, w.groups[i], want, func() error {
			_, err := w.groups[i].Process(msg)
			return err
		})
		check(err)
		if i == w.members()[0] {
			t.Logf("member %d: %v", i, err)
		}
	}
	w.commit(w.members()[0], nil)
	w.agree()
}

func isCredentialError(t *testing.T, err error, successor bool) {
	t.Helper()
	var ce *CredentialError
	if !errors.As(err, &ce) || !errors.Is(err, ErrRejected) || (ce.Previous != nil) != successor {
		t.Fatalf("%v: want a CredentialError (successor %v)", err, successor)
	}
}

func isAdmissionError(t *testing.T, err error, sender message.SenderType) {
	t.Helper()
	var ae *AdmissionError
	if !errors.As(err, &ae) || !errors.Is(err, ErrRejected) || !errors.Is(err, ErrNotAdmitted) || ae.Sender.Type != sender {
		t.Fatalf("%v: want an AdmissionError for a %v sender", err, sender)
	}
}

// TestAttackResyncImpersonationBasic: an outsider claims the basic
// credential "member-1" with a key of its own and sends an external
// commit removing member-1's leaf, as a resync would: it would evict
// member-1 and read what is sent to "member-1".
func TestAttackResyncImpersonationBasic(t *testing.T) {
	w := newWorld(t, 3, nil)
	gi, err := w.groups[0].GroupInfo(&GroupInfoOptions{RatchetTree: true})
	if err != nil {
		t.Fatal(err)
	}
	victim := w.groups[1].LeafIndex()
	mallory := newClient(t, "member-1") // the same identity, another key
	// An honest client refuses to build it.
	_, _, err = JoinExternal(mallory.cfg, gi, &ExternalJoinOptions{Remove: &victim})
	isAdmissionError(t, err, message.SenderNewMemberCommit)
	lawless(&mallory.cfg)
	_, commit, err := JoinExternal(mallory.cfg, gi, &ExternalJoinOptions{Remove: &victim})
	if err != nil {
		t.Fatal(err)
	}
	rejectAll(t, w, -1, commit, ErrInvalidCommit, func(err error) { isAdmissionError(t, err, message.SenderNewMemberCommit) })
	if w.groups[1] == nil || !w.groups[0].ep.tree.IsMember(victim) {
		t.Fatal("the victim was evicted")
	}
}

// TestAttackResyncImpersonationX509: with X.509 credentials, an outsider
// holding a valid certificate of its own ("mallory") or a self-signed one
// in the victim's name cannot replace the victim's leaf; the victim itself
// can (same key, same identity).
func TestAttackResyncImpersonationX509(t *testing.T) {
	ca := newTestCA(t)
	w := newWorld(t, 3, ca.tweak(t))
	victim := w.groups[1].LeafIndex()
	gi, err := w.groups[0].GroupInfo(&GroupInfoOptions{RatchetTree: true})
	if err != nil {
		t.Fatal(err)
	}

	mallory := newClient(t, "mallory") // a certificate for "mallory" from the group's CA
	ca.tweak(t)(&mallory.cfg)
	mallory.cfg.Policy.Admit = AdmitAll
	_, _, err = JoinExternal(mallory.cfg, gi, &ExternalJoinOptions{Remove: &victim})
	isCredentialError(t, err, true) // the committer's own check (§12.2)
	mallory.cfg.Authentication = anyAS{}
	_, commit, err := JoinExternal(mallory.cfg, gi, &ExternalJoinOptions{Remove: &victim})
	if err != nil {
		t.Fatal(err)
	}
	rejectAll(t, w, -1, commit, ErrInvalidProposal, func(err error) {
		var pe *ProposalError
		if !errors.As(err, &pe) || pe.Rule != RuleResyncSuccessor {
			t.Fatalf("%v: want rule %q", err, RuleResyncSuccessor)
		}
		isCredentialError(t, err, true)
	})

	forger := newClient(t, "member-1") // a self-signed certificate in the victim's name
	other := newTestCA(t)
	other.tweak(t)(&forger.cfg)
	lawless(&forger.cfg)
	gi, _ = w.groups[0].GroupInfo(&GroupInfoOptions{RatchetTree: true})
	_, commit, err = JoinExternal(forger.cfg, gi, &ExternalJoinOptions{Remove: &victim})
	if err != nil {
		t.Fatal(err)
	}
	rejectAll(t, w, -1, commit, ErrInvalidCommit, func(err error) {
		isCredentialError(t, err, false)
		if !errors.Is(err, treekem.ErrCredential) {
			t.Fatalf("%v: want treekem.ErrCredential", err)
		}
	})

	// The victim's own resync, with its key and identity, is admitted.
	gi, _ = w.groups[0].GroupInfo(&GroupInfoOptions{RatchetTree: true})
	g, commit, err := JoinExternal(w.clients[1].cfg, gi, &ExternalJoinOptions{Resync: true})
	if err != nil {
		t.Fatal(err)
	}
	w.groups[1] = nil
	w.deliverCommit(-1, commit)
	w.groups[1] = g
	w.agree()
}

// TestAttackRenameByUpdate: a member proposes an Update whose credential
// is another member's identity.
func TestAttackRenameByUpdate(t *testing.T) {
	w := newWorld(t, 3, nil)
	alice := treekem.BasicCredential([]byte("member-0"))
	_, err := w.groups[2].ProposeUpdate(&UpdateOptions{Credential: &alice})
	if !errors.Is(err, ErrInvalidProposal) {
		t.Fatalf("honest committer: %v", err)
	}
	isCredentialError(t, err, true)
	bad := corrupt(t, w, 2, alice)
	msg, err := bad.ProposeUpdate(&UpdateOptions{Credential: &alice})
	if err != nil {
		t.Fatal(err)
	}
	rejectAll(t, w, 2, msg, ErrInvalidProposal, func(err error) {
		var pe *ProposalError
		if !errors.As(err, &pe) || pe.Rule != RuleCredentialSuccessor {
			t.Fatalf("%v: want rule %q", err, RuleCredentialSuccessor)
		}
		isCredentialError(t, err, true)
	})
}

// TestAttackRenameByCommitPath: a member commits with a path whose
// LeafNode carries another member's identity.
func TestAttackRenameByCommitPath(t *testing.T) {
	w := newWorld(t, 3, nil)
	alice := treekem.BasicCredential([]byte("member-0"))
	honest := w.groups[2]
	cf := *honest.cf
	cf.Credential = alice
	honest.cf = &cf
	_, err := honest.Commit(nil)
	isCredentialError(t, err, true)
	cf.Credential = treekem.BasicCredential([]byte("member-2"))

	bad := corrupt(t, w, 2, alice)
	pc, err := bad.Commit(nil)
	if err != nil {
		t.Fatal(err)
	}
	rejectAll(t, w, 2, pc.Commit, ErrInvalidCommit, func(err error) { isCredentialError(t, err, true) })
}

// TestAttackNewMemberProposal: anyone who knows the group's id and epoch
// may send a new_member_proposal Add; by default members refuse it, so the
// next default commit does not add the sender.
func TestAttackNewMemberProposal(t *testing.T) {
	w := newWorld(t, 3, nil)
	gi, err := w.groups[0].GroupInfo(nil)
	if err != nil {
		t.Fatal(err)
	}
	x := newClient(t, "intruder")
	kp, _ := x.keyPackage(t)
	msg, err := NewMemberProposal(x.cfg, gi, kp, nil)
	if err != nil {
		t.Fatal(err)
	}
	rejectAll(t, w, -1, msg, ErrInvalidProposal, func(err error) {
		var pe *ProposalError
		if !errors.As(err, &pe) || pe.Rule != RuleNotAdmitted {
			t.Fatalf("%v: want rule %q", err, RuleNotAdmitted)
		}
		isAdmissionError(t, err, message.SenderNewMemberProposal)
	})
	if w.groups[0].MemberCount() != 3 {
		t.Fatal("the intruder was added")
	}
}

// TestAttackNewMemberCommit: an outsider with the group's GroupInfo joins
// by external commit without replacing any leaf.
func TestAttackNewMemberCommit(t *testing.T) {
	w := newWorld(t, 3, nil)
	gi, err := w.groups[0].GroupInfo(&GroupInfoOptions{RatchetTree: true})
	if err != nil {
		t.Fatal(err)
	}
	x := newClient(t, "intruder")
	_, _, err = JoinExternal(x.cfg, gi, nil)
	isAdmissionError(t, err, message.SenderNewMemberCommit)
	lawless(&x.cfg)
	_, commit, err := JoinExternal(x.cfg, gi, nil)
	if err != nil {
		t.Fatal(err)
	}
	rejectAll(t, w, -1, commit, ErrInvalidCommit, func(err error) { isAdmissionError(t, err, message.SenderNewMemberCommit) })
	if w.groups[0].MemberCount() != 3 {
		t.Fatal("the intruder joined")
	}
}

// TestAttackExternalSenderRefused: an external_senders extension whose
// sender the authentication service refuses is never installed: not at
// creation, not by a GroupContextExtensions proposal (committer and
// receivers), not from a GroupInfo on join; so its proposals are refused.
func TestAttackExternalSenderRefused(t *testing.T) {
	refuseEvil := func(c *Config) {
		c.Authentication = &BasicAuthentication{Bind: func(identity, _ []byte) error {
			if string(identity) == "evil" {
				return errors.New("revoked")
			}
			return nil
		}}
	}
	w := newWorld(t, 3, refuseEvil)
	evil := newClient(t, "evil")
	es, err := message.ExternalSenders{{SignatureKey: evil.cfg.Signer.Public(), Credential: evil.cfg.Credential}}.Extension()
	if err != nil {
		t.Fatal(err)
	}
	exts := treekem.Extensions{es}

	creator := newClient(t, "creator")
	refuseEvil(&creator.cfg)
	if _, err := NewGroup(creator.cfg, &GroupOptions{Extensions: exts}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("NewGroup: %v", err)
	} else {
		isCredentialError(t, err, false)
	}

	gce := NewGroupContextExtensions(exts)
	err = expectUnchanged(t, w.groups[0], ErrInvalidProposal, func() error {
		_, err := w.groups[0].Commit(&CommitOptions{Proposals: []*Proposal{gce}})
		return err
	})
	isCredentialError(t, err, false)
	bad := corrupt(t, w, 0, w.clients[0].cfg.Credential)
	pc, err := bad.Commit(&CommitOptions{Proposals: []*Proposal{gce}})
	if err != nil {
		t.Fatal(err)
	}
	rejectAll(t, w, 0, pc.Commit, ErrInvalidProposal, func(err error) {
		var pe *ProposalError
		if !errors.As(err, &pe) || pe.Rule != RuleExternalSender {
			t.Fatalf("%v: want rule %q", err, RuleExternalSender)
		}
		isCredentialError(t, err, false)
	})
	msg, err := ExternalProposal(evil.cfg, w.groups[1].GroupID(), w.groups[1].Epoch(), 0, NewRemove(1), nil)
	if err != nil {
		t.Fatal(err)
	}
	rejectAll(t, w, -1, msg, ErrAuthentication, func(error) {})

	// A lawless group installed it; an honest joiner refuses the group.
	lw := newWorld(t, 2, lawless)
	lw.commit(0, &CommitOptions{Proposals: []*Proposal{gce}})
	c := newClient(t, "joiner")
	refuseEvil(&c.cfg)
	kp, priv := c.keyPackage(t)
	add, _ := NewAdd(kp)
	pc = lw.commit(0, &CommitOptions{Proposals: []*Proposal{add}})
	_, err = Join(c.cfg, pc.Welcome, priv, nil)
	if !errors.Is(err, ErrInvalidWelcome) {
		t.Fatalf("join: %v", err)
	}
	isCredentialError(t, err, false)
}

// TestX509ValidityClock: X.509 validity is checked against Config.Now: a
// member whose clock is past a joiner's certificate refuses it.
func TestX509ValidityClock(t *testing.T) {
	ca := newTestCA(t)
	w := newWorld(t, 2, ca.tweak(t))
	c := newClient(t, "late")
	ca.tweakUntil(t, time.Now().Add(time.Hour))(&c.cfg)
	kp, _ := c.keyPackage(t)
	add, err := NewAdd(kp)
	if err != nil {
		t.Fatal(err)
	}
	later := *w.groups[0].cf
	later.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	w.groups[0].cf = &later
	err = expectUnchanged(t, w.groups[0], ErrInvalidProposal, func() error {
		_, err := w.groups[0].Commit(&CommitOptions{Proposals: []*Proposal{add}})
		return err
	})
	isCredentialError(t, err, false)
	later.Now = nil
	w.commit(0, &CommitOptions{Proposals: []*Proposal{add}})
}

// testCA is a certificate authority for tests.
type testCA struct {
	cert *x509.Certificate
	key  ed25519.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue returns a certificate for name and an Ed25519 signature key.
func (ca *testCA) issue(t testing.TB, name string, key []byte, notAfter time.Time) []byte {
	t.Helper()
	der, err := x509.CreateCertificate(nil, &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature,
	}, ca.cert, ed25519.PublicKey(key), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// tweak turns a test client's Config into one with an X.509 credential
// from ca for its basic identity, checked against ca.
func (ca *testCA) tweak(t testing.TB) func(*Config) {
	return ca.tweakUntil(t, time.Now().Add(12*time.Hour))
}

func (ca *testCA) tweakUntil(t testing.TB, notAfter time.Time) func(*Config) {
	return func(c *Config) {
		chain := [][]byte{ca.issue(t, string(c.Credential.Identity), c.Signer.Public(), notAfter)}
		cfg, err := NewX509Config(c.Suite, c.Signer, chain, ca.pool)
		if err != nil {
			t.Fatal(err)
		}
		c.Credential, c.Authentication = cfg.Credential, cfg.Authentication
	}
}

package delivery_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/delivery/agent"
	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/delivery/store/memstore"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// The attacks of issue 10, each played by a client registered at the
// service (registration is open) against a group of honest clients
// (package agent, what `mls client` runs), through the service's handler
// on a real loopback listener with its default limits. Each asserts that
// the attack fails with the error it should AND that the group keeps
// working: its members send and read afterwards.

var bg = context.Background()

// service is a delivery service on a loopback listener, as `mls ds serve`
// runs it (connection cap included).
type service struct {
	url  string
	logs *syncBuffer
}

func startService(t *testing.T, cfg delivery.Config) *service {
	t.Helper()
	logs := &syncBuffer{}
	if cfg.Store == nil {
		cfg.Store = memstore.New()
	}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := delivery.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &service{url: "http://" + ln.Addr().String(), logs: logs}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// honest initializes a client of the service in a fresh directory.
func honest(t *testing.T, url, name string) *agent.Agent {
	t.Helper()
	a, err := agent.Init(bg, agent.Options{Dir: t.TempDir(), DS: url, KeyPackages: 4}, name, 0)
	if err != nil {
		t.Fatalf("init %s: %v", name, err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// team has alice create "team" and add the others, who join.
func team(t *testing.T, alice *agent.Agent, others ...*agent.Agent) {
	t.Helper()
	if err := alice.Create(bg, "team", nil); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range others {
		names = append(names, o.Name())
	}
	if _, err := alice.Add(bg, "team", names...); err != nil {
		t.Fatal(err)
	}
	for _, o := range others {
		if joined, _, err := o.Join(bg); err != nil || !slices.Equal(joined, []string{"team"}) {
			t.Fatalf("%s joined %q, %v", o.Name(), joined, err)
		}
	}
}

// works checks that the group works: each member sends, every other reads
// it, and all agree on the epoch authenticator.
func works(t *testing.T, group string, members ...*agent.Agent) {
	t.Helper()
	tag := hex.EncodeToString(random(4))
	for _, from := range members {
		text := "from " + from.Name() + " " + tag
		if _, err := from.Send(bg, group, text); err != nil {
			t.Fatalf("%s sending: %v", from.Name(), err)
		}
		for _, to := range members {
			if to == from {
				continue
			}
			events, err := to.Receive(bg, group)
			if err != nil {
				t.Fatalf("%s receiving: %v", to.Name(), err)
			}
			if !slices.ContainsFunc(events, func(e agent.Event) bool { return e.Kind == agent.EventMessage && e.Text == text }) {
				t.Fatalf("%s did not read %q: %v", to.Name(), text, events)
			}
		}
	}
	var auth string
	for i, m := range members {
		s, err := m.Info(bg, group)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && s.EpochAuthenticator != auth {
			t.Fatalf("%s and %s disagree on the group", members[0].Name(), m.Name())
		}
		auth = s.EpochAuthenticator
	}
}

// scene is the usual setting of an attack: a service, alice and bob in
// their group "team", and mallory, registered.
func scene(t *testing.T) (*service, *agent.Agent, *agent.Agent, *attacker) {
	t.Helper()
	ds := startService(t, delivery.Config{})
	alice, bob := honest(t, ds.url, "alice"), honest(t, ds.url, "bob")
	team(t, alice, bob)
	return ds, alice, bob, newAttacker(t, ds.url, "mallory")
}

// groupState returns the group's id and epoch as member a sees them: what
// an attacker learns from a former member or a log.
func groupState(t *testing.T, a *agent.Agent, group string) ([]byte, uint64) {
	t.Helper()
	s, err := a.Info(bg, group)
	if err != nil {
		t.Fatal(err)
	}
	gid, _ := hex.DecodeString(s.GroupID)
	return gid, s.Epoch
}

// attacker is a client registered at the service with a certified key of
// its own, which speaks the protocol with package mls directly.
type attacker struct {
	*delivery.Client
	name   string
	signer *mls.SigningKey
	chain  [][]byte
	cfg    mls.Config
}

const cs = mls.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519

func newAttacker(t *testing.T, url, name string) *attacker {
	t.Helper()
	signer, err := mls.NewSigner(cs)
	if err != nil {
		t.Fatal(err)
	}
	c := &delivery.Client{BaseURL: url}
	reg, err := c.RegisterKey(bg, name, cs, signer)
	if err != nil {
		t.Fatal(err)
	}
	der, err := c.CA(bg)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := x509.ParseCertificate(der)
	roots := x509.NewCertPool()
	roots.AddCert(root)
	cfg, err := mls.NewX509Config(cs, signer, reg.Certificates, roots)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Policy = mls.Policy{Admit: mls.AdmitAll} // the attacker's own client builds what it likes
	cfg.SupportedExtensions = []treekem.ExtensionType{agent.ExtensionGroupName, delivery.ExtensionAdmission}
	return &attacker{Client: c, name: name, signer: signer, chain: reg.Certificates, cfg: cfg}
}

// ownGroup creates a tracked group of the attacker alone.
func (a *attacker) ownGroup(t *testing.T) *mls.Group {
	t.Helper()
	g, err := mls.NewGroup(a.cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	gi, _ := g.GroupInfo(&mls.GroupInfoOptions{RatchetTree: true})
	if _, err := a.CreateGroup(bg, g.GroupID(), &delivery.GroupSetup{GroupInfo: gi}); err != nil {
		t.Fatal(err)
	}
	return g
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// signedCommit returns a PublicMessage commit of the group's epoch from the
// member at leaf, signed by signer, covering proposals and with the given
// path: what a client can make with any key, valid or not.
func signedCommit(t *testing.T, signer mls.Signer, gc *message.GroupContext, leaf treekem.LeafIndex, proposals []message.ProposalOrRef) []byte {
	t.Helper()
	s, _ := suite.Lookup(cs)
	gcBytes, err := gc.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	fc := &message.FramedContent{GroupID: gc.GroupID, Epoch: gc.Epoch, Sender: message.MemberSender(leaf),
		ContentType: message.ContentCommit, Commit: &message.Commit{Proposals: proposals}}
	ac, err := message.SignContent(s, signer, message.WireFormatPublicMessage, fc, gcBytes)
	if err != nil {
		t.Fatal(err)
	}
	ac.Auth.ConfirmationTag = random(32)
	pm, err := message.ProtectPublic(s, ac, random(32), gcBytes)
	if err != nil {
		t.Fatal(err)
	}
	data, err := wire.Marshal(message.NewMLSMessage(pm))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: %v, want %v", what, err, want)
	}
}

// TestAttackJunkCommits: commits for the current epoch that no member
// could process are refused and do not end the epoch: from a non-member
// (as any member, or as itself), and from a member (signed by it, but
// invalid), also as a PrivateMessage the service cannot check.
func TestAttackJunkCommits(t *testing.T) {
	ds, alice, bob, mallory := scene(t)
	gid, epoch := groupState(t, alice, "team")
	gc := &message.GroupContext{Version: message.MLS10, CipherSuite: cs, GroupID: gid, Epoch: epoch, TreeHash: random(32), ConfirmedTranscriptHash: random(32)}
	remove := []message.ProposalOrRef{{Proposal: &message.Proposal{Body: &message.Remove{Removed: 1}}}}

	// A non-member posing as alice (leaf 0), and as the leaf it would
	// take.
	for _, leaf := range []treekem.LeafIndex{0, 1, 7} {
		_, err := mallory.Post(bg, gid, signedCommit(t, mallory.signer, gc, leaf, remove))
		wantErr(t, "a non-member's commit", err, delivery.ErrForbidden)
	}
	// A commit it cannot be checked: a PrivateMessage.
	private, _ := wire.Marshal(message.NewMLSMessage(&message.PrivateMessage{GroupID: gid, Epoch: epoch, ContentType: message.ContentCommit,
		EncryptedSenderData: random(24), Ciphertext: random(200)}))
	_, err := mallory.Post(bg, gid, private)
	wantErr(t, "a PrivateMessage commit", err, delivery.ErrRejected)

	// Eve, a member of "staff" (added by alice), signs commits that are
	// invalid (RFC 9420 §12.2, §12.4): the view refuses them.
	evil := newAttacker(t, ds.url, "eve")
	if err := alice.Create(bg, "staff", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Add(bg, "staff", "bob"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := bob.Join(bg); err != nil {
		t.Fatal(err)
	}
	kp, kpPriv, err := mls.NewKeyPackage(evil.cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := evil.UploadKeyPackage(bg, kp, false); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Add(bg, "staff", "eve"); err != nil {
		t.Fatal(err)
	}
	w, err := evil.NextWelcome(bg)
	if err != nil || w == nil {
		t.Fatalf("eve's Welcome: %v", err)
	}
	tree, err := evil.TreeAt(bg, w.GroupID, w.Epoch)
	if err != nil {
		t.Fatal(err)
	}
	ge, err := mls.Join(evil.cfg, w.Welcome, kpPriv, &mls.JoinOptions{RatchetTree: tree})
	if err != nil {
		t.Fatal(err)
	}
	egc := ge.GroupContext()
	for what, props := range map[string][]message.ProposalOrRef{
		"removing a blank leaf":      {{Proposal: &message.Proposal{Body: &message.Remove{Removed: 9}}}},
		"removing without a path":    {{Proposal: &message.Proposal{Body: &message.Remove{Removed: 0}}}},
		"an unknown proposal ref":    {{Reference: random(32)}},
		"removing itself (§12.2)":    {{Proposal: &message.Proposal{Body: &message.Remove{Removed: ge.LeafIndex()}}}},
		"no proposal and no path":    nil,
		"a duplicate Remove (§12.2)": {{Proposal: &message.Proposal{Body: &message.Remove{Removed: 1}}}, {Proposal: &message.Proposal{Body: &message.Remove{Removed: 1}}}},
	} {
		_, err := evil.Post(bg, w.GroupID, signedCommit(t, evil.signer, &egc, ge.LeafIndex(), props))
		wantErr(t, "a member's commit "+what, err, delivery.ErrRejected)
	}
	// A valid commit of eve with a GroupInfo that is not the new epoch's.
	pc, err := ge.Update()
	if err != nil {
		t.Fatal(err)
	}
	badGI, _ := ge.GroupInfo(nil)
	_, err = evil.PostCommit(bg, w.GroupID, &delivery.CommitBundle{Commit: pc.Commit, GroupInfo: badGI})
	wantErr(t, "a commit with a stale GroupInfo", err, delivery.ErrMalformed)
	pc.Discard()

	works(t, "team", alice, bob)
	works(t, "staff", alice, bob)
	if _, e := groupState(t, alice, "team"); e != epoch {
		t.Fatalf("the junk ended epoch %d: the group is at %d", epoch, e)
	}
}

// clients are honest clients with their state directories, which a test
// can copy and reopen.
type clients map[string]string

func (cl clients) init(t *testing.T, url, name string) *agent.Agent {
	t.Helper()
	cl[name] = t.TempDir()
	a, err := agent.Init(bg, agent.Options{Dir: cl[name], DS: url, KeyPackages: 4}, name, 0)
	if err != nil {
		t.Fatalf("init %s: %v", name, err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// TestAttackGroupInfoAndRejoinHijack: nobody replaces a group's GroupInfo
// (not an outsider, not a member: only a GroupInfo of the current epoch
// that the service's view checks, signed by a member, is taken), so a
// member that lost sync and rejoins lands in the real group, where the
// attacker reads nothing.
func TestAttackGroupInfoAndRejoinHijack(t *testing.T) {
	ds := startService(t, delivery.Config{})
	dirs := clients{}
	alice, bob := dirs.init(t, ds.url, "alice"), dirs.init(t, ds.url, "bob")
	team(t, alice, bob)
	mallory := newAttacker(t, ds.url, "mallory")
	gid, epoch := groupState(t, alice, "team")

	// Mallory's own group under the same id, at the same epoch.
	fake, err := mls.NewGroup(mallory.cfg, &mls.GroupOptions{GroupID: gid})
	if err != nil {
		t.Fatal(err)
	}
	for fake.Epoch() < epoch {
		pc, _ := fake.Update()
		fake.Apply(pc)
	}
	fakeGI, _ := fake.GroupInfo(&mls.GroupInfoOptions{RatchetTree: true})
	wantErr(t, "an outsider's GroupInfo", mallory.PutGroupInfo(bg, gid, fakeGI), delivery.ErrRejected)
	fresh, _ := mls.NewGroup(mallory.cfg, &mls.GroupOptions{GroupID: gid})
	freshGI, _ := fresh.GroupInfo(&mls.GroupInfoOptions{RatchetTree: true})
	_, err = mallory.CreateGroup(bg, gid, &delivery.GroupSetup{GroupInfo: freshGI})
	wantErr(t, "creating a group under a taken id", err, delivery.ErrGroupExists)
	_, err = mallory.CreateGroup(bg, gid, &delivery.GroupSetup{Opaque: true})
	wantErr(t, "creating an opaque group under a taken id", err, delivery.ErrGroupExists)
	_, err = mallory.GroupInfo(bg, gid)
	wantErr(t, "an outsider reading the GroupInfo", err, delivery.ErrForbidden)

	// Eve, a member, publishes a forged GroupInfo: refused; her real one
	// is taken.
	eve := newAttacker(t, ds.url, "eve")
	ge := addAttacker(t, alice, eve, "team")
	fake2, _ := mls.NewGroup(eve.cfg, &mls.GroupOptions{GroupID: gid})
	for fake2.Epoch() < ge.Epoch() {
		pc, _ := fake2.Update()
		fake2.Apply(pc)
	}
	forged, _ := fake2.GroupInfo(nil)
	wantErr(t, "a member's forged GroupInfo", eve.PutGroupInfo(bg, gid, forged), delivery.ErrRejected)
	real, _ := ge.GroupInfo(nil)
	if err := eve.PutGroupInfo(bg, gid, real); err != nil {
		t.Fatalf("a member republishing the GroupInfo: %v", err)
	}
	// A commit's GroupInfo must be the new epoch's.
	pc, _ := ge.Update()
	bogus, _ := fake2.GroupInfo(nil)
	var m message.MLSMessage
	wire.Unmarshal(bogus, &m)
	m.GroupInfo.GroupContext.Epoch = ge.Epoch() + 1
	bogus, _ = wire.Marshal(&m)
	_, err = eve.PostCommit(bg, gid, &delivery.CommitBundle{Commit: pc.Commit, GroupInfo: bogus})
	wantErr(t, "a commit with a forged GroupInfo", err, delivery.ErrRejected)
	pc.Discard()

	// Bob's state goes back to before his update (restored from a copy):
	// he cannot follow, and rejoins, into the real group.
	if _, err := bob.Receive(bg, ""); err != nil {
		t.Fatal(err)
	}
	bob.Close()
	backup := t.TempDir()
	if err := copyDir(dirs["bob"], backup); err != nil {
		t.Fatal(err)
	}
	bob = reopen(t, ds.url, dirs["bob"])
	if _, err := bob.Update(bg, "team"); err != nil {
		t.Fatal(err)
	}
	bob.Close()
	if err := copyDir(backup, dirs["bob"]); err != nil {
		t.Fatal(err)
	}
	bob = reopen(t, ds.url, dirs["bob"])
	if _, err := bob.Receive(bg, "team"); !errors.Is(err, agent.ErrOutOfSync) {
		t.Fatalf("bob with an old state: %v", err)
	}
	if err := bob.Rejoin(bg, "team"); err != nil {
		t.Fatalf("bob rejoin: %v", err)
	}
	events, err := alice.Receive(bg, "team")
	if err != nil || !slices.ContainsFunc(events, func(e agent.Event) bool { return e.Kind == agent.EventRejoined && e.Member == "bob" }) {
		t.Fatalf("alice after bob's rejoin: %v, %v", events, err)
	}
	if _, err := bob.Send(bg, "team", "for the team only"); err != nil {
		t.Fatal(err)
	}
	_, err = mallory.Fetch(bg, gid, 0, 0, 0)
	wantErr(t, "mallory reading the log", err, delivery.ErrForbidden)
	works(t, "team", alice, bob)
}

// addAttacker has alice add the attacker a to group, and returns its
// group.
func addAttacker(t *testing.T, alice *agent.Agent, a *attacker, group string) *mls.Group {
	t.Helper()
	kp, priv, err := mls.NewKeyPackage(a.cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.UploadKeyPackage(bg, kp, false); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Add(bg, group, a.name); err != nil {
		t.Fatal(err)
	}
	w, err := a.NextWelcome(bg)
	if err != nil || w == nil {
		t.Fatalf("%s's Welcome: %v", a.name, err)
	}
	tree, err := a.TreeAt(bg, w.GroupID, w.Epoch)
	if err != nil {
		t.Fatal(err)
	}
	g, err := mls.Join(a.cfg, w.Welcome, priv, &mls.JoinOptions{RatchetTree: tree})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteWelcome(bg, w.ID); err != nil {
		t.Fatal(err)
	}
	return g
}

func reopen(t *testing.T, url, dir string) *agent.Agent {
	t.Helper()
	a, err := agent.Open(context.Background(), agent.Options{Dir: dir, DS: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// copyDir replaces to with a copy of from.
func copyDir(from, to string) error {
	if err := os.RemoveAll(to); err != nil {
		return err
	}
	return os.CopyFS(to, os.DirFS(from))
}

// TestAttackExternalJoin: an outsider (here a removed member, who kept
// the group's tree and obtained its current GroupInfo) cannot join the
// group by external commit, nor propose its own addition: the group
// admits only resyncs.
func TestAttackExternalJoin(t *testing.T) {
	st := memstore.New()
	ds := startService(t, delivery.Config{Store: st})
	alice, bob := honest(t, ds.url, "alice"), honest(t, ds.url, "bob")
	team(t, alice, bob)
	mallory := newAttacker(t, ds.url, "mallory")
	gm := addAttacker(t, alice, mallory, "team")
	view := gm.PublicGroup() // mallory follows the group's public state
	if _, err := alice.Remove(bg, "team", "mallory"); err != nil {
		t.Fatal(err)
	}
	gid := gm.GroupID()
	es, err := mallory.Fetch(bg, gid, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	r, err := view.Process(es[len(es)-1].Message)
	if err != nil || r.Commit == nil {
		t.Fatalf("mallory processing her removal: %v", err)
	}
	view.Apply(r.Commit)
	tree, _ := view.RatchetTree()
	gi, err := st.GroupInfo(bg, gid) // leaked
	if err != nil {
		t.Fatal(err)
	}
	_, err = mallory.GroupInfo(bg, gid)
	wantErr(t, "a removed member reading the GroupInfo", err, delivery.ErrForbidden)
	_, _, err = mallory.Tree(bg, gid)
	wantErr(t, "a removed member reading the tree", err, delivery.ErrForbidden)

	_, commit, err := mls.JoinExternal(mallory.cfg, gi, &mls.ExternalJoinOptions{JoinOptions: mls.JoinOptions{RatchetTree: tree}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = mallory.PostCommit(bg, gid, &delivery.CommitBundle{Commit: commit})
	wantErr(t, "an outsider's external commit", err, delivery.ErrRejected)
	kp, _, _ := mls.NewKeyPackage(mallory.cfg, nil)
	prop, err := mls.NewMemberProposal(mallory.cfg, gi, kp, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = mallory.Post(bg, gid, prop)
	wantErr(t, "an outsider proposing its own addition", err, delivery.ErrRejected)
	works(t, "team", alice, bob)
}

// TestAttackImpersonation: a client cannot pose as a member: not with a
// basic credential claiming its name, not with its certificate on another
// key, not by registering or certifying its name, not by signing as its
// leaf.
func TestAttackImpersonation(t *testing.T) {
	ds, alice, bob, mallory := scene(t)

	basic := mallory.cfg
	basic.Credential = mls.BasicCredential([]byte("bob"))
	basic.Authentication = nil
	kp, _, err := mls.NewKeyPackage(basic, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = mallory.UploadKeyPackage(bg, kp, false)
	wantErr(t, "a basic credential claiming bob", err, delivery.ErrRejected)

	// Bob's certificate (from a KeyPackage of his) on mallory's key.
	claimed, err := mallory.ClaimKeyPackage(bg, "bob", 0)
	if err != nil {
		t.Fatal(err)
	}
	bobKP, err := mls.ParseKeyPackage(claimed.KeyPackage)
	if err != nil {
		t.Fatal(err)
	}
	stolen := mallory.cfg
	stolen.Credential = bobKP.LeafNode.Credential
	stolen.Authentication = acceptAll{} // mallory's client checks nothing
	kp, _, err = mls.NewKeyPackage(stolen, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = mallory.UploadKeyPackage(bg, kp, false)
	wantErr(t, "bob's certificate on mallory's key", err, delivery.ErrRejected)

	_, err = (&delivery.Client{BaseURL: ds.url}).RegisterKey(bg, "bob", cs, mallory.signer)
	wantErr(t, "registering bob again", err, store.ErrClientExists)
	_, err = mallory.Certify(bg, "bob", cs, mallory.signer)
	wantErr(t, "certifying a key for bob", err, delivery.ErrForbidden)

	// A commit signed as bob's leaf by mallory's key.
	gid, epoch := groupState(t, alice, "team")
	gc := &message.GroupContext{Version: message.MLS10, CipherSuite: cs, GroupID: gid, Epoch: epoch, TreeHash: random(32), ConfirmedTranscriptHash: random(32)}
	_, err = mallory.Post(bg, gid, signedCommit(t, mallory.signer, gc, 1, nil))
	wantErr(t, "a commit as bob's leaf", err, delivery.ErrForbidden)
	works(t, "team", alice, bob)
}

// acceptAll is an Authentication Service that accepts any credential: the
// attacker's own client.
type acceptAll struct{}

func (acceptAll) Validate(*mls.Credential, []byte, time.Time) error { return nil }
func (acceptAll) ValidSuccessor(_, _ *mls.Credential) error         { return nil }
func (acceptAll) Identity(c *mls.Credential) ([]byte, error) {
	return (&mls.X509Authentication{}).Identity(c)
}

// TestAttackPoisonedWelcome: a Welcome that cannot be used (garbage naming
// one of bob's KeyPackages, queued through an opaque group) is deleted
// with a warning and does not block the real invitation after it; one
// naming a KeyPackage nobody here owns (a 200-byte ref) is queued for
// nobody.
func TestAttackPoisonedWelcome(t *testing.T) {
	ds := startService(t, delivery.Config{})
	alice, bob := honest(t, ds.url, "alice"), honest(t, ds.url, "bob")
	mallory := newAttacker(t, ds.url, "mallory")
	claimed, err := mallory.ClaimKeyPackage(bg, "bob", 0)
	if err != nil {
		t.Fatal(err)
	}
	gid := random(16)
	if _, err := mallory.CreateGroup(bg, gid, &delivery.GroupSetup{Opaque: true}); err != nil {
		t.Fatal(err)
	}
	commit, _ := wire.Marshal(message.NewMLSMessage(&message.PrivateMessage{GroupID: gid, Epoch: 0, ContentType: message.ContentCommit,
		EncryptedSenderData: random(24), Ciphertext: random(64)}))
	poison := welcome(claimed.Ref, random(200))
	if _, err := mallory.PostCommit(bg, gid, &delivery.CommitBundle{Commit: commit, Welcome: poison, Recipients: []string{"bob"}}); err != nil {
		t.Fatal(err)
	}
	commit2, _ := wire.Marshal(message.NewMLSMessage(&message.PrivateMessage{GroupID: gid, Epoch: 1, ContentType: message.ContentCommit,
		EncryptedSenderData: random(24), Ciphertext: random(64)}))
	_, err = mallory.PostCommit(bg, gid, &delivery.CommitBundle{Commit: commit2, Welcome: welcome(random(200)), Recipients: []string{"bob"}})
	wantErr(t, "a Welcome for bob naming none of his KeyPackages", err, delivery.ErrMalformed)

	if err := alice.Create(bg, "team", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Add(bg, "team", "bob"); err != nil {
		t.Fatal(err)
	}
	joined, warnings, err := bob.Join(bg)
	if err != nil || !slices.Equal(joined, []string{"team"}) || len(warnings) != 1 || !strings.Contains(warnings[0].Text, "ignored a Welcome") {
		t.Fatalf("bob's join: %q, warnings %v, %v", joined, warnings, err)
	}
	if joined, warnings, err := bob.Join(bg); err != nil || len(joined)+len(warnings) != 0 {
		t.Fatalf("bob's second join: %q, %v, %v", joined, warnings, err)
	}
	works(t, "team", alice, bob)
}

// welcome returns a Welcome of random content naming refs.
func welcome(refs ...[]byte) []byte {
	w := &message.Welcome{CipherSuite: cs, EncryptedGroupInfo: random(100)}
	for _, ref := range refs {
		w.Secrets = append(w.Secrets, message.EncryptedGroupSecrets{NewMember: ref,
			EncryptedGroupSecrets: treekem.HPKECiphertext{KEMOutput: random(32), Ciphertext: random(48)}})
	}
	data, _ := wire.Marshal(message.NewMLSMessage(w))
	return data
}

// TestAttackStreams: a client opening 3,000 event streams at once gets at
// most its share (Limits.StreamsPerClient), the rest 429 and their
// connections closed, while another client's recv completes within a
// second.
func TestAttackStreams(t *testing.T) {
	ds, alice, bob, mallory := scene(t)
	g := mallory.ownGroup(t)

	const flood = 3000
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	transport := &http.Transport{DisableKeepAlives: true, MaxConnsPerHost: 0}
	defer transport.CloseIdleConnections()
	statuses := make(chan int, flood)
	url := ds.url + "/v1/groups/" + delivery.EncodeGroupID(g.GroupID()) + "/events"
	var started sync.WaitGroup
	started.Add(flood)
	for range flood {
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
			req.Header.Set("Authorization", "Bearer "+mallory.Token)
			started.Done()
			resp, err := transport.RoundTrip(req)
			if err != nil {
				statuses <- -1
				return
			}
			statuses <- resp.StatusCode
			if resp.StatusCode == http.StatusOK {
				io.Copy(io.Discard, resp.Body) // held open until the test ends
			}
			resp.Body.Close()
		}()
	}
	started.Wait()
	if _, err := alice.Send(bg, "team", "during the flood"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	events, err := bob.Receive(bg, "team")
	took := time.Since(start)
	if err != nil || len(events) != 1 || events[0].Text != "during the flood" {
		t.Fatalf("bob's recv during the flood: %v, %v", events, err)
	}
	if took > time.Second {
		t.Fatalf("bob's recv took %v during the flood", took)
	}
	count := map[int]int{}
	for range flood {
		count[<-statuses]++
	}
	t.Logf("bob's recv took %v; the flood's answers: %v", took, count)
	if count[http.StatusOK] > delivery.DefaultStreamsPerClient || count[http.StatusOK]+count[http.StatusTooManyRequests] != flood {
		t.Fatalf("the flood's answers: %v", count)
	}
	cancel()
	works(t, "team", alice, bob)
}

// TestAttackCancelledLongPolls: 300 long polls given up by their client
// are no server errors: none in /metrics (they count as 499), none logged
// at ERROR.
func TestAttackCancelledLongPolls(t *testing.T) {
	ds, alice, bob, mallory := scene(t)
	g := mallory.ownGroup(t)
	metrics := func() string {
		resp, err := http.Get(ds.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	waitFor := func(line string) {
		t.Helper()
		for range 1000 {
			if strings.Contains(metrics(), line+"\n") {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("metrics never showed %s", line)
	}
	// In rounds of 6 (two rounds stay within the 16 long polls a client
	// may have, however late the service releases them): the polls wait at
	// the service, then their client gives up on them, and the service sees
	// them end.
	const polls, round = 300, 6
	for done := 0; done < polls; done += round {
		ctx, cancel := context.WithCancel(bg)
		var wg sync.WaitGroup
		for range round {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := mallory.Fetch(ctx, g.GroupID(), 0, 0, 30*time.Second); !errors.Is(err, context.Canceled) {
					t.Errorf("a long poll: %v", err)
				}
			}()
		}
		waitFor(fmt.Sprintf("mls_ds_long_polls_waiting %d", round))
		cancel()
		wg.Wait()
		waitFor("mls_ds_long_polls_waiting 0")
	}
	want := `mls_ds_http_requests_total{route="GET /v1/groups/{group}/messages",code="499"} 300`
	var text string
	for range 100 { // the last requests are recorded a moment after they end
		if text = metrics(); strings.Contains(text, want) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(text, want) {
		t.Errorf("metrics lack %s:\n%s", want, text)
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "mls_ds_http_requests_total") && strings.Contains(line, `code="5`) {
			t.Errorf("a server error: %s", line)
		}
	}
	if strings.Contains(ds.logs.String(), "level=ERROR") {
		t.Errorf("errors logged:\n%s", ds.logs)
	}
	works(t, "team", alice, bob)
}

// TestAttackKeyPackageDrain: a client claiming another's KeyPackages in a
// loop hits the rate limit before they are gone; the owner sees who
// claimed them; a member still adds the owner with a one-time KeyPackage.
func TestAttackKeyPackageDrain(t *testing.T) {
	ds := startService(t, delivery.Config{})
	alice, bob, carol := honest(t, ds.url, "alice"), honest(t, ds.url, "bob"), honest(t, ds.url, "carol")
	team(t, alice, bob)
	mallory := newAttacker(t, ds.url, "mallory")
	claims := 0
	for ; claims < 100; claims++ {
		if _, err := mallory.ClaimKeyPackage(bg, "carol", 0); err != nil {
			wantErr(t, "draining carol's KeyPackages", err, delivery.ErrRateLimited)
			break
		}
	}
	if claims == 100 || claims >= 4 {
		t.Fatalf("mallory claimed %d of carol's KeyPackages", claims)
	}
	if _, err := alice.Add(bg, "team", "carol"); err != nil {
		t.Fatalf("adding carol after the drain: %v", err)
	}
	seen, err := carol.Claims(bg)
	if err != nil || len(seen) != claims+1 || seen[0].Claimer != "alice" || seen[0].LastResort || seen[1].Claimer != "mallory" {
		t.Fatalf("carol's claims: %+v, %v", seen, err)
	}
	if joined, _, err := carol.Join(bg); err != nil || !slices.Equal(joined, []string{"team"}) {
		t.Fatalf("carol joined %q, %v", joined, err)
	}
	works(t, "team", alice, bob, carol)
}

package delivery

import (
	"crypto/x509"
	"testing"

	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/treekem"
)

// A testMember is a real MLS client of a test server: its identity
// certified by the service's CA, its KeyPackages in the directory, its
// groups made and processed by package mls.
type testMember struct {
	*Client
	name string
	cfg  mls.Config
	st   *mls.MemoryStorage
}

const testSuite = mls.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519

// newMember registers name with a signature key and returns the member.
func newMember(t testing.TB, url, name string) *testMember {
	t.Helper()
	signer, err := mls.NewSigner(testSuite)
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{BaseURL: url}
	reg, err := c.RegisterKey(bg, name, testSuite, signer)
	if err != nil {
		t.Fatalf("registering %s: %v", name, err)
	}
	cfg, err := mls.NewX509Config(testSuite, signer, reg.Certificates, rootPool(t, c))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Policy = Policy()
	cfg.SupportedExtensions = []treekem.ExtensionType{ExtensionAdmission}
	return &testMember{Client: c, name: name, cfg: cfg, st: mls.NewMemoryStorage()}
}

// rootPool returns the service's root as a pool.
func rootPool(t testing.TB, c *Client) *x509.CertPool {
	t.Helper()
	der, err := c.CA(bg)
	if err != nil {
		t.Fatal(err)
	}
	root, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	return pool
}

// keyPackage makes a KeyPackage and keeps its private part.
func (m *testMember) keyPackage(t testing.TB, lastResort bool) []byte {
	t.Helper()
	kp, priv, err := mls.NewKeyPackage(m.cfg, &mls.KeyPackageOptions{LastResort: lastResort})
	if err != nil {
		t.Fatal(err)
	}
	if err := mls.StoreKeyPackage(m.st, priv); err != nil {
		t.Fatal(err)
	}
	return kp
}

// publish uploads n one-time KeyPackages.
func (m *testMember) publish(t testing.TB, n int) {
	t.Helper()
	for range n {
		if _, err := m.UploadKeyPackage(bg, m.keyPackage(t, false), false); err != nil {
			t.Fatalf("%s uploading a KeyPackage: %v", m.name, err)
		}
	}
}

// create creates a tracked group with the GroupContext extensions exts.
func (m *testMember) create(t testing.TB, exts ...treekem.Extension) *mls.Group {
	t.Helper()
	g, err := mls.NewGroup(m.cfg, &mls.GroupOptions{Extensions: exts})
	if err != nil {
		t.Fatal(err)
	}
	gi, err := g.GroupInfo(&mls.GroupInfoOptions{RatchetTree: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateGroup(bg, g.GroupID(), &GroupSetup{GroupInfo: gi}); err != nil {
		t.Fatalf("%s creating a group: %v", m.name, err)
	}
	return g
}

// bundle returns the commit bundle of pc: its Welcome (tree out of band)
// and the GroupInfo of the new epoch (without the tree).
func bundleOf(t testing.TB, pc *mls.PendingCommit) *CommitBundle {
	t.Helper()
	gi, err := pc.GroupInfo()
	if err != nil {
		t.Fatal(err)
	}
	return &CommitBundle{Commit: pc.Commit, Welcome: pc.Welcome, GroupInfo: gi}
}

// post posts a commit and applies it once accepted.
func (m *testMember) post(t testing.TB, g *mls.Group, pc *mls.PendingCommit) Posted {
	t.Helper()
	p, err := m.PostCommit(bg, g.GroupID(), bundleOf(t, pc))
	if err != nil {
		t.Fatalf("%s posting a commit: %v", m.name, err)
	}
	if err := g.Apply(pc); err != nil {
		t.Fatal(err)
	}
	return p
}

// add claims a KeyPackage of each of others and commits their addition.
func (m *testMember) add(t testing.TB, g *mls.Group, others ...*testMember) Posted {
	t.Helper()
	var kps [][]byte
	for _, o := range others {
		kp, err := m.ClaimKeyPackage(bg, o.name, uint16(testSuite))
		if err != nil {
			t.Fatalf("claiming %s's KeyPackage: %v", o.name, err)
		}
		kps = append(kps, kp.KeyPackage)
	}
	pc, err := g.Commit(&mls.CommitOptions{Proposals: addProposals(t, kps), OutOfBandTree: true})
	if err != nil {
		t.Fatal(err)
	}
	return m.post(t, g, pc)
}

func addProposals(t testing.TB, kps [][]byte) []*mls.Proposal {
	t.Helper()
	var ps []*mls.Proposal
	for _, kp := range kps {
		p, err := mls.NewAdd(kp)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

// join joins with the member's next Welcome, fetching the tree of its
// epoch from the service, and returns the group and the Welcome's commit
// sequence number.
func (m *testMember) join(t testing.TB) (*mls.Group, uint64) {
	t.Helper()
	w, err := m.NextWelcome(bg)
	if err != nil || w == nil {
		t.Fatalf("%s's Welcome: %v, %v", m.name, w, err)
	}
	tree, err := m.TreeAt(bg, w.GroupID, w.Epoch)
	if err != nil {
		t.Fatalf("%s fetching the tree: %v", m.name, err)
	}
	g, err := mls.JoinWithStorage(m.cfg, m.st, w.Welcome, &mls.JoinOptions{RatchetTree: tree})
	if err != nil {
		t.Fatalf("%s joining: %v", m.name, err)
	}
	if err := m.DeleteWelcome(bg, w.ID); err != nil {
		t.Fatal(err)
	}
	return g, w.Seq
}

// follow processes the group's log after the cursor and returns the
// application messages and the new cursor.
func (m *testMember) follow(t testing.TB, g *mls.Group, after uint64) ([]string, uint64) {
	t.Helper()
	var texts []string
	for !g.Removed() {
		es, err := m.Fetch(bg, g.GroupID(), after, 0, 0)
		if err != nil {
			t.Fatalf("%s fetching: %v", m.name, err)
		}
		if len(es) == 0 {
			return texts, after
		}
		for _, e := range es {
			after = e.Seq
			r, err := g.Process(e.Message)
			if err != nil {
				continue // its own messages
			}
			switch {
			case r.Commit != nil:
				if err := g.Apply(r.Commit); err != nil {
					t.Fatal(err)
				}
			case r.ApplicationData != nil:
				texts = append(texts, string(r.ApplicationData))
			}
		}
	}
	return texts, after
}

// send encrypts text and posts it.
func (m *testMember) send(t testing.TB, g *mls.Group, text string) Posted {
	t.Helper()
	msg, err := g.Encrypt([]byte(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Post(bg, g.GroupID(), msg)
	if err != nil {
		t.Fatalf("%s sending: %v", m.name, err)
	}
	return p
}

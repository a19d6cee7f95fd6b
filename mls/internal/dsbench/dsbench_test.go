// Package dsbench_test drives large groups through the delivery service's
// HTTP API: members simulated by the library (a steady-state tree and
// mls.ViewAs, which only packages under mls may call), a few real clients
// with full state following every commit, and the service tracking the
// group with its public view. It measures what the delivery service's
// design promises at scale: uploads of O(log n) bytes per commit (the
// service serves the tree), the service's CPU per validated commit, and
// what a joiner downloads.
package dsbench_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/delivery/store/memstore"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/internal/localds"
	"github.com/mlsengine/engine/mls/internal/simulation"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/treekem"
)

const cs = mls.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519

var bg = context.Background()

// world is a tracked group of n members at a delivery service on a
// loopback listener (package localds): clients authenticate by name, so
// that simulated members need no registration; their certificates come
// from the service's CA, whose key the test holds.
type world struct {
	tb      testing.TB
	cs      *suite.Suite
	ds      *localds.Service
	roots   *x509.CertPool
	gid     []byte
	members []*member // by leaf; nil once removed or replaced
	real    []*member // full clients following the log
	next    int       // next member id
}

// member is a client: simulated (keys only) or real (its group).
type member struct {
	name   string
	leaf   mls.LeafIndex
	cfg    mls.Config
	kp     []byte
	kpPriv *mls.KeyPackagePrivate
	g      *mls.Group // a real client's
	cursor uint64
	dc     *delivery.Client
}

// start runs the service with the CA key held by the test.
func start(tb testing.TB) *world {
	tb.Helper()
	s, _ := suite.Lookup(cs)
	st := memstore.New()
	ca, err := localds.OpenCA(bg, st, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	if err != nil {
		tb.Fatal(err)
	}
	off := delivery.Rate{PerSecond: -1}
	ds, err := localds.Start(localds.Config{Store: st, CA: ca, Server: delivery.Config{
		Limits: delivery.Limits{Uploads: off, Claims: off, ClaimsPerTarget: off, ClaimsOfTarget: off, GroupCreations: off},
	}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ds.Close() })
	return &world{tb: tb, cs: s, ds: ds, roots: ds.CA.Roots(), gid: []byte("large group")}
}

// newMember makes member "m<id>": a signature key, a certificate from the
// service's CA, a KeyPackage.
func (w *world) newMember() *member {
	id := w.next
	w.next++
	name := fmt.Sprintf("m%d", id)
	signer, err := mls.NewSigner(cs)
	if err != nil {
		w.tb.Fatal(err)
	}
	chain, err := w.ds.CA.Certify(name, w.cs, signer.Public())
	if err != nil {
		w.tb.Fatal(err)
	}
	cfg, err := mls.NewX509Config(cs, signer, chain, w.roots)
	if err != nil {
		w.tb.Fatal(err)
	}
	cfg.Policy = delivery.Policy()
	kp, priv, err := mls.NewKeyPackage(cfg, nil)
	if err != nil {
		w.tb.Fatal(err)
	}
	return &member{name: name, cfg: cfg, kp: kp, kpPriv: priv, dc: w.ds.Client(name)}
}

// pathSecret and nodeKey make the parent keys of the steady-state tree,
// which real clients know the secrets of.
func pathSecret(x treekem.NodeIndex) []byte {
	s := make([]byte, 32)
	binary.BigEndian.PutUint32(s, uint32(x))
	return s
}

func (w *world) nodeKey(x treekem.NodeIndex) (priv, pub []byte) {
	ns, err := w.cs.DeriveSecret(pathSecret(x), "node")
	if err == nil {
		priv, pub, err = w.cs.DeriveKeyPair(ns)
	}
	if err != nil {
		w.tb.Fatal(err)
	}
	return priv, pub
}

// build makes a group of n members in the steady state (every parent node
// set, as if everyone had committed), registers it with the service as
// tracked (the service validates the whole tree), and gives the first
// `real` members full states.
func (w *world) build(n, real int) {
	w.tb.Helper()
	tree, err := treekem.NewTree(w.cs)
	if err != nil {
		w.tb.Fatal(err)
	}
	for range n {
		m := w.newMember()
		kp, err := mls.ParseKeyPackage(m.kp)
		if err != nil {
			w.tb.Fatal(err)
		}
		if m.leaf, err = tree.AddLeaf(&kp.LeafNode); err != nil {
			w.tb.Fatal(err)
		}
		w.members = append(w.members, m)
	}
	steady, err := tree.SteadyState(treekem.SteadyStateParams{
		GroupID: w.gid,
		NodeKey: func(x treekem.NodeIndex) ([]byte, error) { _, pub := w.nodeKey(x); return pub, nil },
		Signer:  func(i treekem.LeafIndex) (suite.Signer, error) { return w.members[i].cfg.Signer, nil },
	})
	if err != nil {
		w.tb.Fatal(err)
	}
	creator := w.members[0]
	g, err := mls.GroupFromTree(simulation.Access{}, creator.cfg, w.gid, nil, steady, 0, creator.kpPriv.EncryptionKey)
	if err != nil {
		w.tb.Fatal(err)
	}
	gi, err := g.GroupInfo(nil)
	if err != nil {
		w.tb.Fatal(err)
	}
	rt, err := g.RatchetTree()
	if err != nil {
		w.tb.Fatal(err)
	}
	if _, err := creator.dc.CreateGroup(bg, w.gid, &delivery.GroupSetup{GroupInfo: gi, RatchetTree: rt}); err != nil {
		w.tb.Fatalf("creating the group: %v", err)
	}
	for i := range real {
		m := w.members[i]
		secrets := map[treekem.NodeIndex][]byte{}
		for _, x := range treekem.DirectPath(m.leaf.Node(), uint32(n)) {
			secrets[x] = pathSecret(x)
		}
		if m.g, err = mls.ViewAs(simulation.Access{}, g, m.cfg, m.leaf, m.kpPriv.EncryptionKey, secrets); err != nil {
			w.tb.Fatal(err)
		}
		w.real = append(w.real, m)
	}
}

// simulated returns a member that has not committed yet (its leaf key is
// its KeyPackage's), with its view of the current epoch.
func (w *world) simulated(k int) *member {
	m := w.members[k]
	if m == nil || m.g != nil {
		return nil
	}
	g, err := mls.ViewAs(simulation.Access{}, w.real[0].g, m.cfg, m.leaf, m.kpPriv.EncryptionKey, nil)
	if err != nil {
		w.tb.Fatal(err)
	}
	return &member{name: m.name, leaf: m.leaf, cfg: m.cfg, g: g, dc: m.dc}
}

// commitStats are what one commit cost.
type commitStats struct {
	upload  int           // bytes of the commit bundle posted
	cpu     time.Duration // CPU of the process while the service handled the post
	welcome int           // bytes of the Welcome fetched by the joiner
	tree    int           // bytes of the tree fetched by the joiner
}

// post posts the commit pc of m and has every real client process it.
func (w *world) post(m *member, pc *mls.PendingCommit, recipients ...string) commitStats {
	w.tb.Helper()
	gi, err := pc.GroupInfo()
	if err != nil {
		w.tb.Fatal(err)
	}
	b := &delivery.CommitBundle{Commit: pc.Commit, Welcome: pc.Welcome, GroupInfo: gi, Recipients: recipients}
	var st commitStats
	up0, _ := w.ds.Traffic()
	before := processCPU()
	if _, err := m.dc.PostCommit(bg, w.gid, b); err != nil {
		w.tb.Fatalf("%s posting a commit: %v", m.name, err)
	}
	st.cpu = processCPU() - before
	up1, _ := w.ds.Traffic()
	st.upload = int(up1 - up0)
	if err := m.g.Apply(pc); err != nil {
		w.tb.Fatal(err)
	}
	for _, r := range w.real {
		if r.name != m.name {
			w.follow(r)
		}
	}
	return st
}

// follow has a real client process the log after its cursor.
func (w *world) follow(r *member) {
	w.tb.Helper()
	for {
		es, err := r.dc.Fetch(bg, w.gid, r.cursor, 0, 0)
		if err != nil {
			w.tb.Fatalf("%s fetching: %v", r.name, err)
		}
		if len(es) == 0 {
			return
		}
		for _, e := range es {
			r.cursor = e.Seq
			res, err := r.g.Process(e.Message)
			if errors.Is(err, mls.ErrOwnMessage) {
				continue
			}
			if err != nil {
				w.tb.Fatalf("%s processing the message at %d: %v", r.name, e.Seq, err)
			}
			if res.Commit != nil {
				if err := r.g.Apply(res.Commit); err != nil {
					w.tb.Fatal(err)
				}
			}
		}
	}
}

// update has simulated member k commit a self-update (a full path).
func (w *world) update(k int) commitStats {
	m := w.simulated(k)
	pc, err := m.g.Commit(&mls.CommitOptions{OutOfBandTree: true})
	if err != nil {
		w.tb.Fatal(err)
	}
	st := w.post(m, pc)
	w.members[k].g = m.g // its leaf key changed: it is no longer simulated
	return st
}

// add has simulated member k add a new member, which joins as a real
// client: it fetches its Welcome and the tree of its epoch.
func (w *world) add(k int) commitStats {
	m := w.simulated(k)
	joiner := w.newMember()
	if _, err := joiner.dc.UploadKeyPackage(bg, joiner.kp, false); err != nil {
		w.tb.Fatal(err)
	}
	add, err := mls.NewAdd(joiner.kp)
	if err != nil {
		w.tb.Fatal(err)
	}
	pc, err := m.g.Commit(&mls.CommitOptions{Proposals: []*mls.Proposal{add}, OutOfBandTree: true})
	if err != nil {
		w.tb.Fatal(err)
	}
	st := w.post(m, pc)
	w.members[k].g = m.g
	pw, err := joiner.dc.NextWelcome(bg)
	if err != nil || pw == nil {
		w.tb.Fatalf("the joiner's Welcome: %v", err)
	}
	tree, err := joiner.dc.TreeAt(bg, w.gid, pw.Epoch)
	if err != nil {
		w.tb.Fatal(err)
	}
	st.welcome, st.tree = len(pw.Welcome), len(tree)
	if joiner.g, err = mls.Join(joiner.cfg, pw.Welcome, joiner.kpPriv, &mls.JoinOptions{RatchetTree: tree}); err != nil {
		w.tb.Fatalf("the joiner: %v", err)
	}
	joiner.cursor = pw.Seq
	if !bytes.Equal(joiner.g.EpochAuthenticator(), w.real[0].g.EpochAuthenticator()) {
		w.tb.Fatal("the joiner disagrees with the group")
	}
	return st
}

// agree checks that the real clients are in the same epoch.
func (w *world) agree() {
	w.tb.Helper()
	for _, r := range w.real[1:] {
		if !bytes.Equal(r.g.EpochAuthenticator(), w.real[0].g.EpochAuthenticator()) {
			w.tb.Fatalf("%s and %s disagree", w.real[0].name, r.name)
		}
	}
}

// processCPU is the CPU time the process has used, all threads.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median[T int | time.Duration](v []T) T {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestLargeGroupThroughDS drives a 512-member group through the service:
// update and add commits by simulated members, followed by three real
// clients and a joiner each time, and checks that uploads stay O(log n).
func TestLargeGroupThroughDS(t *testing.T) {
	w := start(t)
	const n = 512
	w.build(n, 3)
	var updates, adds []commitStats
	for i := range 8 {
		updates = append(updates, w.update(10+i))
		adds = append(adds, w.add(40+i))
		w.agree()
	}
	if up := median(uploads(updates)); up > 8<<10 {
		t.Fatalf("an update commit uploads %d bytes at %d members", up, n)
	}
	if up := median(uploads(adds)); up > 8<<10 {
		t.Fatalf("an add commit uploads %d bytes at %d members", up, n)
	}
	t.Logf("%d members: update %d B, add %d B uploaded; joiner downloads Welcome %d B + tree %d B",
		n, median(uploads(updates)), median(uploads(adds)), adds[0].welcome, adds[0].tree)
}

func uploads(s []commitStats) []int {
	out := make([]int, len(s))
	for i, c := range s {
		out[i] = c.upload
	}
	return out
}

// BenchmarkLargeGroupThroughDS measures, at 10^3 and 10^4 members, the
// bytes a member uploads per update commit and per add, the CPU the
// service spends on each (process CPU while it handles the post: the
// client side of the request is a small part), and what a joiner
// downloads. Each iteration is one update and one add, by members that
// have not committed before. Run with -benchtime=Nx; the metrics are the
// medians of the iterations.
func BenchmarkLargeGroupThroughDS(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			w := start(b)
			w.build(n, 2)
			var updates, adds []commitStats
			k := 10
			b.ResetTimer()
			for b.Loop() {
				updates = append(updates, w.update(k))
				adds = append(adds, w.add(k+1))
				k += 2
			}
			b.StopTimer()
			w.agree()
			cpu := func(s []commitStats) []time.Duration {
				out := make([]time.Duration, len(s))
				for i, c := range s {
					out[i] = c.cpu
				}
				return out
			}
			b.ReportMetric(float64(median(uploads(updates))), "B/update")
			b.ReportMetric(float64(median(uploads(adds))), "B/add")
			b.ReportMetric(float64(median(cpu(updates)).Microseconds()), "cpu-µs/update")
			b.ReportMetric(float64(median(cpu(adds)).Microseconds()), "cpu-µs/add")
			b.ReportMetric(float64(adds[len(adds)-1].welcome+adds[len(adds)-1].tree), "B/join")
			b.ReportMetric(float64(adds[len(adds)-1].tree), "B/tree")
		})
	}
}

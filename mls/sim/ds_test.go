package sim

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/delivery/store/storetest"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/internal/simulation"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
)

// newDSRunner returns the runner of o through the delivery service of
// o.DS.
func newDSRunner(t *testing.T, o Options) *runner {
	t.Helper()
	r := newTestRunner(t, o)
	d, err := openDS(context.Background(), o.DS, r.keys)
	if err != nil {
		t.Fatal(err)
	}
	r.ds = d
	t.Cleanup(func() { d.close() })
	return r
}

// TestRunThroughDS runs a small group through a delivery service with a
// memory store and checks the "ds" figures against what was posted and
// fetched: each commit's upload is its bundle's encoding, every epoch is
// agreed, and the sizes are those of the messages they carry.
func TestRunThroughDS(t *testing.T) {
	o := smallOptions()
	o.DS, o.Epochs = "memory:", 12
	r := newDSRunner(t, o)
	bundles := map[int]bool{} // sizes of the bundles posted
	r.ds.posted = func(b *delivery.CommitBundle, upload int) {
		enc, err := wire.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if upload != len(enc) {
			t.Errorf("a commit's upload counted %d bytes, its bundle has %d", upload, len(enc))
		}
		if b.GroupInfo == nil {
			t.Error("a commit posted without the new epoch's GroupInfo")
		}
		bundles[upload] = true
	}
	if err := r.run(); err != nil {
		t.Fatal(err)
	}
	r.smp.fill(r.res)
	ds := r.ds.result()
	if r.res.AgreedEpochs != o.Epochs {
		t.Fatalf("agreed on %d epochs, want %d", r.res.AgreedEpochs, o.Epochs)
	}
	if ds.Store != "memory:" {
		t.Errorf("store %q", ds.Store)
	}
	ops := r.res.Ops
	for _, k := range []struct {
		name    string
		op      Op
		upload  int
		samples []int
	}{
		{opUpdate, ops.Update, ds.CommitUploadBytes.Update, r.ds.smp.upload[opUpdate]},
		{opAdd, ops.Add, ds.CommitUploadBytes.Add, r.ds.smp.upload[opAdd]},
		{opRemove, ops.Remove, ds.CommitUploadBytes.Remove, r.ds.smp.upload[opRemove]},
	} {
		if len(k.samples) != k.op.Count || k.op.Count == 0 {
			t.Fatalf("%s: %d uploads for %d commits", k.name, len(k.samples), k.op.Count)
		}
		for _, u := range k.samples {
			if !bundles[u] {
				t.Errorf("%s: an upload of %d bytes that no bundle had", k.name, u)
			}
		}
		// A bundle holds the commit and a GroupInfo (and an add's
		// Welcome), but no tree.
		if k.upload <= k.op.CommitBytesMedian || k.upload > k.op.CommitBytesMedian+4<<10 {
			t.Errorf("%s: %d bytes uploaded for a commit of %d", k.name, k.upload, k.op.CommitBytesMedian)
		}
	}
	// Each observer but the committer fetched each commit, an entry of a
	// few bytes more than the commit.
	lo, hi := (o.Observers-1)*min(ops.Update.CommitBytesMedian, ops.Add.CommitBytesMedian, ops.Remove.CommitBytesMedian),
		o.Observers*(max(ops.Update.CommitBytesMedian, ops.Add.CommitBytesMedian, ops.Remove.CommitBytesMedian)+1<<10)
	if ds.FanoutBytesPerCommit < lo || ds.FanoutBytesPerCommit > hi {
		t.Errorf("fan-out %d bytes per commit, want %d to %d", ds.FanoutBytesPerCommit, lo, hi)
	}
	if got := len(r.ds.smp.fanout); got != o.Epochs {
		t.Errorf("%d fan-out samples for %d epochs", got, o.Epochs)
	}
	// A joiner downloads its Welcome and the tree: the members' leaves
	// with their certificates.
	rt, err := r.view.RatchetTree()
	if err != nil {
		t.Fatal(err)
	}
	perMember := len(rt) / int(r.view.MemberCount())
	if ds.JoinTreeBytes < o.Members*perMember/2 || ds.JoinDownloadBytes != ds.JoinTreeBytes+r.res.Join.WelcomeBytes {
		t.Errorf("join download %d bytes, tree %d, Welcome %d, at about %d bytes a member", ds.JoinDownloadBytes, ds.JoinTreeBytes, r.res.Join.WelcomeBytes, perMember)
	}
	if ds.SetupUploadBytes < ds.JoinTreeBytes/2 || ds.ApplicationUploadBytes <= 0 {
		t.Errorf("setup upload %d bytes, application message %d", ds.SetupUploadBytes, ds.ApplicationUploadBytes)
	}
	if ds.DSCPUPerCommitMS <= 0 || ds.PostMedianMS <= 0 || ds.FetchMedianMS <= 0 || ds.DSCPUMS.Update <= 0 {
		t.Errorf("times not measured: %+v", ds)
	}
	// The members' credentials are the service CA's certificates.
	if ln, _ := r.view.Member(0); ln == nil || ln.Credential.Type != mls.CredentialX509 {
		t.Errorf("the creator's credential is not X.509")
	}
}

// TestDSValidates checks that the service the run goes through validates
// what members post: a commit whose signature is broken is rejected, and
// a member's commit posted as another member is forbidden; the next epoch
// goes through and is agreed.
func TestDSValidates(t *testing.T) {
	o := smallOptions()
	o.DS, o.Epochs = "memory:", 2
	r := newDSRunner(t, o)
	if err := r.run(); err != nil {
		t.Fatal(err)
	}
	leaf, ok := r.randomMember(func(l mls.LeafIndex) bool { return r.byLeaf[l] == nil }, 1000)
	if !ok {
		t.Fatal("no simulated member")
	}
	id := r.idAt(leaf)
	cfg, err := r.keys.config(id, r.keys.stream("test", 0))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := r.leafKey(leaf)
	if err != nil {
		t.Fatal(err)
	}
	g, err := mls.ViewAs(simulation.Access{}, r.view, cfg, leaf, priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := g.Commit(nil)
	if err != nil {
		t.Fatal(err)
	}
	gi, err := pc.GroupInfo()
	if err != nil {
		t.Fatal(err)
	}
	bad := slices.Clone(pc.Commit)
	// The commit ends with its signature (64 bytes), confirmation tag
	// and membership tag (32 bytes), each with a length byte.
	bad[len(bad)-33-33-32] ^= 1
	ctx := context.Background()
	_, err = r.ds.client(id).PostCommit(ctx, r.ds.gid, &delivery.CommitBundle{Commit: bad, GroupInfo: gi})
	if !errors.Is(err, delivery.ErrRejected) || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("a commit with a broken signature: %v, want ErrRejected", err)
	}
	other := r.idAt(r.observers[0].g.LeafIndex())
	_, err = r.ds.client(other).PostCommit(ctx, r.ds.gid, &delivery.CommitBundle{Commit: pc.Commit, GroupInfo: gi})
	if !errors.Is(err, delivery.ErrForbidden) {
		t.Fatalf("a commit posted as another member: %v, want ErrForbidden", err)
	}
	pc.Discard()
	if err := r.epoch(o.Epochs + 1); err != nil {
		t.Fatalf("the epoch after: %v", err)
	}
}

// TestDSSharedStore runs a sweep and then another run through one SQLite
// store: each run makes its own group, and the store's CA serves them
// all. A bare run restarts its group at epoch 0 for the service.
func TestDSSharedStore(t *testing.T) {
	o := smallOptions()
	o.Members, o.Epochs = 20, 4
	o.DS = "sqlite:" + filepath.Join(t.TempDir(), "ds.db")
	results, err := Sweep(context.Background(), o, []int{12, 20})
	if err != nil {
		t.Fatal(err)
	}
	o.Bare = true
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range append(results, res) {
		if r.AgreedEpochs != o.Epochs || r.DS == nil || r.DS.Store != o.DS || r.DS.JoinTreeBytes == 0 {
			t.Fatalf("%d members: agreed %d, ds %+v", r.Members, r.AgreedEpochs, r.DS)
		}
	}
	if !slices.ContainsFunc(res.Phases, func(p Phase) bool { return p.Name == "ds" }) {
		t.Errorf("phases %v lack ds", res.Phases)
	}
}

// TestDSJSON checks the "ds" object's field names, and that a run without
// a delivery service has none.
func TestDSJSON(t *testing.T) {
	o := smallOptions()
	o.Members, o.Epochs, o.DS = 12, 3, "memory:"
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]map[string]any
	json.Unmarshal(b, &v) // the other fields are not objects of objects
	var got []string
	for k := range v["ds"] {
		got = append(got, k)
	}
	slices.Sort(got)
	want := []string{"application_upload_bytes", "commit_upload_bytes", "ds_cpu_ms", "ds_cpu_per_commit_ms", "fanout_bytes_per_commit",
		"fetch_median_ms", "join_download_bytes", "join_tree_bytes", "post_median_ms", "setup_upload_bytes", "store"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ds fields %v, want %v", got, want)
	}
	o.DS = ""
	res, err = Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(res)
	v = nil
	json.Unmarshal(b, &v)
	if v["ds"] != nil {
		t.Errorf("a run without a delivery service has a ds object")
	}
}

func TestDSInvalidOptions(t *testing.T) {
	o := smallOptions()
	o.DS = "mysql://x"
	if _, err := Run(context.Background(), o); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("store %s: err = %v, want ErrInvalidOptions", o.DS, err)
	}
}

// TestDSSuites runs through a delivery service with the suites whose
// signature keys crypto/x509 does not know, which the CA certifies as raw
// keys: Ed448 and ML-DSA-87.
func TestDSSuites(t *testing.T) {
	for _, id := range []suite.ID{4, 0xF10B} {
		o := smallOptions()
		o.Suite, o.Members, o.Epochs, o.Observers, o.DS = id, 8, 3, 2, "memory:"
		res, err := Run(context.Background(), o)
		if err != nil {
			t.Fatalf("suite %v: %v", id, err)
		}
		if res.AgreedEpochs != 3 {
			t.Fatalf("suite %v: agreed on %d epochs, want 3", id, res.AgreedEpochs)
		}
	}
}

// TestDSPostgres runs through a delivery service whose store is a
// PostgreSQL schema ($MLS_TEST_POSTGRES); the result names the store
// without its password.
func TestDSPostgres(t *testing.T) {
	o := smallOptions()
	o.Members, o.Epochs, o.DS = 20, 4, storetest.PostgresURL(t)
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.AgreedEpochs != o.Epochs {
		t.Fatalf("agreed on %d epochs, want %d", res.AgreedEpochs, o.Epochs)
	}
	u, err := url.Parse(o.DS)
	if err != nil {
		t.Fatal(err)
	}
	if pw, ok := u.User.Password(); ok && strings.Contains(res.DS.Store, ":"+pw+"@") || res.DS.Store != u.Redacted() {
		t.Errorf("store %q, want %q", res.DS.Store, u.Redacted())
	}
}

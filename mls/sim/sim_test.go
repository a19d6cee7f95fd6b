package sim

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/treekem"
)

func smallOptions() Options {
	o := DefaultOptions()
	o.Members, o.Epochs, o.Observers, o.Batch = 50, 10, 3, 16
	return o
}

func TestRunSteadyState(t *testing.T) {
	res, err := Run(context.Background(), smallOptions())
	if err != nil {
		t.Fatal(err)
	}
	if res.AgreedEpochs != 10 {
		t.Fatalf("agreed on %d epochs, want 10", res.AgreedEpochs)
	}
	ops := res.Ops
	if n := ops.Update.Count + ops.Add.Count + ops.Remove.Count; n != 10 {
		t.Fatalf("%d commits, want 10", n)
	}
	if res.Join.MedianMS <= 0 || res.Join.WelcomeBytes <= 0 || res.Application.DecryptMedianUS <= 0 {
		t.Fatalf("missing measurements: %+v", res)
	}
	if ops.Update.Count > 0 && (ops.Update.CreateMedianMS <= 0 || ops.Update.CommitBytesMedian <= 0 || res.Floor.Depth == 0) {
		t.Fatalf("update not measured: %+v", ops.Update)
	}
}

func TestRunBare(t *testing.T) {
	o := smallOptions()
	o.Bare = true
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.AgreedEpochs != 10 {
		t.Fatalf("agreed on %d epochs, want 10", res.AgreedEpochs)
	}
}

// TestForkDetected delivers to one observer another commit of the
// committer: a valid commit that starts another epoch, which the run must
// report as a disagreement.
func TestForkDetected(t *testing.T) {
	o := smallOptions()
	o.fork = &forkFault{Epoch: 4, Observer: 1}
	res, err := Run(context.Background(), o)
	if !errors.Is(err, ErrDisagreement) {
		t.Fatalf("err = %v, want ErrDisagreement", err)
	}
	var ee *EpochError
	if !errors.As(err, &ee) || ee.Phase != "epoch" || ee.Epoch != 4 {
		t.Fatalf("err = %#v, want epoch 4", err)
	}
	if res == nil || res.AgreedEpochs != 3 {
		t.Fatalf("result %+v, want 3 agreed epochs", res)
	}
}

// TestDeterministic runs twice with one seed: the same operations give
// the same group, down to the last epoch authenticator.
func TestDeterministic(t *testing.T) {
	o := smallOptions()
	o.Members, o.Epochs = 20, 6
	var auth [2][]byte
	var res [2]*Result
	for i := range 2 {
		r := newTestRunner(t, o)
		if err := r.run(); err != nil {
			t.Fatal(err)
		}
		r.smp.fill(r.res)
		auth[i], res[i] = r.view.EpochAuthenticator(), r.res
	}
	if !bytes.Equal(auth[0], auth[1]) {
		t.Fatalf("two runs with one seed end at different epoch authenticators")
	}
	for _, p := range [][2]Op{{res[0].Ops.Update, res[1].Ops.Update}, {res[0].Ops.Add, res[1].Ops.Add}, {res[0].Ops.Remove, res[1].Ops.Remove}} {
		if p[0].Count != p[1].Count || p[0].CommitBytesMedian != p[1].CommitBytesMedian {
			t.Fatalf("two runs with one seed differ: %+v, %+v", p[0], p[1])
		}
	}
	o.Seed++
	r := newTestRunner(t, o)
	if err := r.run(); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(r.view.EpochAuthenticator(), auth[0]) {
		t.Fatalf("another seed gives the same group")
	}
}

func TestInvalidOptions(t *testing.T) {
	for _, mod := range []func(*Options){
		func(o *Options) { o.Observers = 0 },
		func(o *Options) { o.Members = o.Observers },
		func(o *Options) { o.Epochs = -1 },
		func(o *Options) { o.Suite = 0x7777 },
	} {
		o := smallOptions()
		mod(&o)
		if _, err := Run(context.Background(), o); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%+v: err = %v, want ErrInvalidOptions", o, err)
		}
	}
}

// TestSteadyStateShape checks the shaped tree: parent-hash valid and
// signed, and every copath resolution of a member holds at most one node,
// also once the observers joined (as unmerged leaves) and committed.
func TestSteadyStateShape(t *testing.T) {
	o := smallOptions()
	o.Members, o.Observers, o.Batch = 1100, 3, 500 // past 1024 leaves, SteadyState works concurrently
	r := newTestRunner(t, o)
	if err := r.build(); err != nil {
		t.Fatal(err)
	}
	if err := r.shape(); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		tree := r.view.Tree()
		if err := tree.Validate(r.groupID, nil); err != nil {
			t.Fatalf("%s: tree invalid: %v", when, err)
		}
		for leaf := range tree.Members() {
			for _, x := range treekem.Copath(leaf.Node(), tree.LeafCount()) {
				if res := tree.Resolution(x); len(res) > 1 {
					t.Fatalf("%s: leaf %d: resolution of copath node %d has %d nodes", when, leaf, x, len(res))
				}
			}
		}
	}
	check("shaped")
	if err := r.join(); err != nil {
		t.Fatal(err)
	}
	if err := r.setup(); err != nil {
		t.Fatal(err)
	}
	check("after setup")
	if got := r.view.MemberCount(); got != 1100 {
		t.Fatalf("%d members, want 1100", got)
	}
}

func TestAllSuites(t *testing.T) {
	for _, id := range suite.IDs() {
		t.Run(id.String(), func(t *testing.T) {
			o := smallOptions()
			o.Suite, o.Members, o.Epochs, o.Observers = id, 8, 3, 2
			res, err := Run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if res.AgreedEpochs != 3 {
				t.Fatalf("agreed on %d epochs, want 3", res.AgreedEpochs)
			}
		})
	}
}

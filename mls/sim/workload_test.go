package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// trace runs o and returns its epochs' draws as "kind:committer:removed"
// (removed -1 for an update or add).
func trace(t *testing.T, o Options) []string {
	t.Helper()
	r := newTestRunner(t, o)
	if err := r.run(); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range r.choices {
		removed := -1
		if c.kind == opRemove {
			removed = int(c.removed)
		}
		out = append(out, fmt.Sprintf("%s:%d:%d", c.kind, c.committer, removed))
	}
	return out
}

// TestDefaultWorkloadUnchanged pins the draws of a run with the default
// mix and committers to those the simulator made before either existed
// (recorded then, with this seed and these options): the same seed still
// makes the same run.
func TestDefaultWorkloadUnchanged(t *testing.T) {
	want := []string{"add:8:-1", "remove:9:46", "add:4:-1", "update:0:-1", "add:32:-1", "remove:45:2", "remove:23:42", "update:31:-1",
		"update:20:-1", "add:10:-1", "remove:26:33", "remove:24:34", "add:13:-1", "add:6:-1", "update:21:-1", "remove:5:6", "remove:25:7",
		"add:50:-1", "remove:26:11", "update:2:-1", "update:41:-1", "remove:47:13", "update:17:-1", "remove:39:1", "update:47:-1",
		"update:39:-1", "add:29:-1", "update:32:-1", "remove:51:35", "add:26:-1", "update:12:-1", "remove:37:26", "add:19:-1",
		"add:46:-1", "update:34:-1", "update:8:-1", "remove:38:51", "remove:49:50", "update:27:-1", "remove:43:6"}
	o := smallOptions()
	o.Members, o.Epochs = 50, 40
	o.Mix = Mix{} // the zero Mix is the default
	if got := trace(t, o); !slices.Equal(got, want) {
		t.Fatalf("the default workload changed:\n got %q\nwant %q", got, want)
	}
	// Proportional weights make the same run.
	o.Mix = Mix{Update: 5, Add: 5, Remove: 5}
	if got := trace(t, o); !slices.Equal(got, want) {
		t.Fatalf("mix %v differs from the default:\n got %q\nwant %q", o.Mix, got, want)
	}
}

func TestMixKinds(t *testing.T) {
	for _, tc := range []struct {
		mix                 Mix
		update, add, remove int
	}{
		{Mix{Update: 1}, 12, 0, 0},
		{Mix{Add: 3}, 0, 12, 0},
		// 9 simulated members besides the 3 observers: the removes take
		// them all but the committer (if it is one of them), then become
		// updates.
		{Mix{Remove: 1}, -1, 0, -1},
	} {
		o := smallOptions()
		o.Members, o.Epochs, o.Mix = 12, 12, tc.mix
		r := newTestRunner(t, o)
		if err := r.run(); err != nil {
			t.Fatalf("%v: %v", tc.mix, err)
		}
		r.smp.fill(r.res)
		ops := r.res.Ops
		if tc.remove < 0 {
			left := int(r.view.MemberCount()) - o.Observers
			tc.remove, tc.update = o.Members-o.Observers-left, 12-(o.Members-o.Observers-left)
			if left > 1 {
				t.Errorf("%v: %d simulated members left", tc.mix, left)
			}
		}
		if ops.Update.Count != tc.update || ops.Add.Count != tc.add || ops.Remove.Count != tc.remove || r.res.AgreedEpochs != 12 {
			t.Errorf("%v: %d updates, %d adds, %d removes, %d agreed; want %d, %d, %d, 12",
				tc.mix, ops.Update.Count, ops.Add.Count, ops.Remove.Count, r.res.AgreedEpochs, tc.update, tc.add, tc.remove)
		}
		if r.res.Mix != tc.mix {
			t.Errorf("result mix %v, want %v", r.res.Mix, tc.mix)
		}
	}
}

// TestZipfCommitters runs a Zipf workload of removes and adds: the first
// member makes most commits, and no removed member commits again.
func TestZipfCommitters(t *testing.T) {
	o := smallOptions()
	o.Members, o.Epochs = 40, 60
	o.Mix = Mix{Update: 1, Add: 1, Remove: 2}
	o.Committers = Committers{Zipf: 1.5}
	r := newTestRunner(t, o)
	if err := r.run(); err != nil {
		t.Fatal(err)
	}
	if r.res.Committers != o.Committers || r.res.AgreedEpochs != o.Epochs {
		t.Fatalf("result %+v", r.res)
	}
	byCreator := 0
	gone := map[uint64]bool{} // ids removed so far
	for _, c := range r.choices {
		if gone[c.by] {
			t.Fatalf("removed member %d committed", c.by)
		}
		if c.by == 0 {
			byCreator++
		}
		if c.kind == opRemove {
			gone[c.gone] = true
		}
	}
	// The creator's share is 1 / (sum of k^-1.5 over about 40 members),
	// about 0.43, as long as it is in the group.
	if byCreator < 15 {
		t.Fatalf("the creator made %d of %d commits, want a Zipf share (about 26)", byCreator, len(r.choices))
	}
	for id := range gone {
		if _, ok := r.leafOf(id); ok {
			t.Fatalf("removed member %d still has a leaf", id)
		}
	}
}

// TestZipfPicker compares the picker's draws with the Zipf law, after
// removals and additions too.
func TestZipfPicker(t *testing.T) {
	const n, draws, s = 200, 400_000, 1.2
	z := newZipfPicker(s, n+10, n)
	held := map[uint64]bool{}
	for id := range uint64(n) {
		held[id] = true
	}
	for _, id := range []uint64{0, 3, 57, 199} {
		z.remove(id)
		delete(held, id)
	}
	for _, id := range []uint64{200, 205} {
		z.add(id)
		held[id] = true
	}
	var total float64
	for id := range held {
		total += math.Pow(float64(id+1), -s)
	}
	if got := z.total(); math.Abs(got-total) > 1e-9 {
		t.Fatalf("total %v, want %v", got, total)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	count := map[uint64]int{}
	for range draws {
		id, err := z.draw(rng)
		if err != nil {
			t.Fatal(err)
		}
		count[id]++
	}
	for id, c := range count {
		if !held[id] {
			t.Fatalf("drew id %d, which the picker does not hold", id)
		}
		want := draws * math.Pow(float64(id+1), -s) / total
		if sd := math.Sqrt(want); math.Abs(float64(c)-want) > 5*sd+1 {
			t.Errorf("id %d drawn %d times, want %.0f ± %.0f", id, c, want, sd)
		}
	}
	for id := range held {
		z.remove(id)
	}
	if got := z.total(); got != 0 {
		t.Fatalf("total %v once every id is removed, want 0 exactly", got)
	}
	if _, err := z.draw(rng); !errors.Is(err, errNoWeight) {
		t.Fatalf("draw from an empty picker: %v", err)
	}
}

func TestParseWorkload(t *testing.T) {
	for in, want := range map[string]Mix{
		"update=1,add=1,remove=1": defaultMix,
		"update=8, add=1":         {Update: 8, Add: 1},
		"remove=2":                {Remove: 2},
	} {
		m, err := ParseMix(in)
		if err != nil || m != want {
			t.Errorf("ParseMix(%q) = %v, %v; want %v", in, m, err, want)
		}
		if back, err := ParseMix(m.String()); err != nil || back != m {
			t.Errorf("ParseMix(%q) = %v, %v", m.String(), back, err)
		}
	}
	for _, in := range []string{"", "update", "update=-1", "update=x", "update=1,update=2", "join=1", "update=0,add=0", "update=1048577"} {
		if _, err := ParseMix(in); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("ParseMix(%q): err = %v, want ErrInvalidOptions", in, err)
		}
	}
	for in, want := range map[string]Committers{"uniform": {}, "zipf:1.1": {Zipf: 1.1}, "zipf:0": {}, "zipf:10": {Zipf: 10}} {
		c, err := ParseCommitters(in)
		if err != nil || c != want {
			t.Errorf("ParseCommitters(%q) = %v, %v; want %v", in, c, err, want)
		}
		if back, err := ParseCommitters(c.String()); err != nil || back != c {
			t.Errorf("ParseCommitters(%q) = %v, %v", c.String(), back, err)
		}
	}
	for _, in := range []string{"", "zipf", "zipf:", "zipf:x", "zipf:-1", "zipf:11", "zipf:NaN", "zipf:Inf", "Uniform"} {
		if _, err := ParseCommitters(in); !errors.Is(err, ErrInvalidOptions) || !strings.HasPrefix(err.Error(), "sim: ") {
			t.Errorf("ParseCommitters(%q): err = %v, want ErrInvalidOptions", in, err)
		}
	}
}

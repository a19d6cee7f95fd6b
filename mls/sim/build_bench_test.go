package sim

import (
	"context"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mlsengine/engine/mls/suite"
)

// BenchmarkBuild times what `mls sim` does before its epochs (the phases
// build, shape, join and setup, whose wall-clock sum is build_seconds)
// for MLS_SIM_MEMBERS members (default 10^4), next to the crypto floor of
// that work measured in the same run on all cores (buildFloor). It reports
// the build's wall-clock and CPU seconds, the floor's, and the ratios
// build wall / floor wall (the one to quote for "within 1.15× of its
// crypto on two cores", on a machine otherwise idle) and build CPU / floor
// CPU. Each phase's wall-clock and CPU time is logged (-v): their ratio is
// the number of cores it kept busy. Run it with -benchtime=1x.
func BenchmarkBuild(b *testing.B) {
	n := 10_000
	if s := os.Getenv("MLS_SIM_MEMBERS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		n = v
	}
	opts := DefaultOptions()
	opts.Members, opts.Epochs = n, 0
	cs, _ := suite.Lookup(opts.Suite)
	// Each phase's CPU and wall-clock time, logged: their ratio is the
	// number of cores the phase kept busy.
	type mark struct {
		phase     string
		cpu, wall time.Duration
	}
	var marks []mark
	t0 := time.Now()
	opts.Progress = func(p Progress) {
		if len(marks) == 0 || marks[len(marks)-1].phase != p.Phase {
			c, _ := processCPU()
			marks = append(marks, mark{p.Phase, c, time.Since(t0)})
		}
	}
	for b.Loop() {
		marks = marks[:0]
		c0, _ := processCPU()
		res, err := Run(context.Background(), opts)
		if err != nil {
			b.Fatal(err)
		}
		c1, _ := processCPU()
		marks = append(marks, mark{"end", c1, time.Since(t0)})
		for i, m := range marks[:len(marks)-1] {
			next := marks[i+1]
			cpu, wall := next.cpu-m.cpu, next.wall-m.wall
			b.Logf("%-6s wall %6.2fs cpu %7.2fs (%.2f cores)", m.phase, wall.Seconds(), cpu.Seconds(), cpu.Seconds()/wall.Seconds())
		}
		floor := buildFloor(b, cs, opts)
		wall, cpu := res.BuildSeconds, (c1 - c0).Seconds()
		b.ReportMetric(wall, "build-s")
		b.ReportMetric(cpu, "build-cpu-s")
		b.ReportMetric(floor.wall.Seconds(), "floor-s")
		b.ReportMetric(floor.cpu.Seconds(), "floor-cpu-s")
		b.ReportMetric(wall/floor.wall.Seconds(), "wall/floor")
		b.ReportMetric(cpu/floor.cpu.Seconds(), "cpu/floor")
		b.ReportMetric(float64(res.MaxRSSBytes)/(1<<20), "max-rss-MiB")
	}
}

// buildFloor returns the wall-clock and CPU time of the crypto that the
// phases before the epochs cannot avoid: each operation is timed on
// GOMAXPROCS goroutines at once, as the build runs it, and multiplied by
// its count. With m = Members - Observers members added by the build's
// Add commits (the creator aside):
//
//   - each of the m makes a KeyPackage: one signature key, two HPKE key
//     pairs (init and leaf key) and two signatures (leaf, KeyPackage);
//   - the creator verifies both signatures and seals the group secrets to
//     the init key in the Welcome (one HPKE seal);
//   - the shape gives each of the m+1 leaves a signature (its member's key,
//     derived once) and each of the m parents with members on both sides
//     an HPKE key pair;
//   - each observer joining validates the tree: one signature verification
//     per leaf.
//
// The hashes (tree and parent hashes, O(n) per tree), the commits' own
// signatures and the observers' few commits are left out, so the floor is
// a little low.
func buildFloor(b *testing.B, cs *suite.Suite, opts Options) span {
	m := opts.Members - opts.Observers
	leaves := m + 1
	verifies := 0
	for j := range opts.Observers {
		verifies += leaves + j
	}
	keys := newKeys(cs, 99)
	signer, err := keys.signer(0)
	if err != nil {
		b.Fatal(err)
	}
	_, hpkePub, err := keys.firstKeyPair("floor", 0)
	if err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 250) // about a LeafNodeTBS or KeyPackageTBS
	sig, err := cs.SignWithLabel(signer, "LeafNodeTBS", msg)
	if err != nil {
		b.Fatal(err)
	}
	secrets := make([]byte, 100) // about a GroupSecrets
	const reps = 4000
	// per times reps calls of op on all cores, each goroutine with its own
	// randomness, and returns the span of one.
	per := func(op func(rnd io.Reader) error) span {
		workers := runtime.GOMAXPROCS(0)
		var wg sync.WaitGroup
		s, _ := measure(func() error {
			for w := range workers {
				rnd := keys.stream("floor", uint64(w))
				wg.Go(func() {
					for range reps / workers {
						if err := op(rnd); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			return nil
		})
		return span{wall: s.wall / reps, cpu: s.cpu / reps}
	}
	sigKey := per(func(rnd io.Reader) error { _, err := cs.GenerateSigner(rnd); return err })
	keyPair := per(func(rnd io.Reader) error { _, _, err := cs.GenerateKeyPair(rnd); return err })
	sign := per(func(io.Reader) error { _, err := cs.SignWithLabel(signer, "LeafNodeTBS", msg); return err })
	verify := per(func(io.Reader) error { return cs.VerifyWithLabel(signer.Public(), "LeafNodeTBS", msg, sig) })
	seal := per(func(rnd io.Reader) error {
		_, _, err := cs.EncryptWithLabel(rnd, hpkePub, "Welcome", nil, secrets)
		return err
	})
	var total span
	add := func(n int, op span) {
		total.wall += time.Duration(n) * op.wall
		total.cpu += time.Duration(n) * op.cpu
	}
	add(m, sigKey) // build
	add(2*m, keyPair)
	add(2*m, sign)
	add(2*m, verify)
	add(m, seal)
	add(leaves, sign) // shape
	add(m, keyPair)
	add(verifies, verify) // joins
	return total
}

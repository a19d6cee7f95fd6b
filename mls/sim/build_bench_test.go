package sim

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/mlsengine/engine/mls/suite"
)

// BenchmarkBuild times what `mls sim` does before its epochs (the phases
// build, shape, join and setup, whose wall-clock sum is build_seconds)
// for MLS_SIM_MEMBERS members (default 10^4), next to the crypto floor of
// that work measured in the same run (buildFloor). It reports the build's
// wall-clock seconds and CPU seconds, the floor's CPU seconds, and the
// ratios build CPU / floor CPU and build wall / (floor CPU / GOMAXPROCS):
// the last is the one to quote for "within 1.15× of its crypto on two
// cores", on a machine otherwise idle. Run it with -benchtime=1x.
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
		cpu := (c1 - c0).Seconds()
		floor := buildFloor(b, cs, opts).Seconds()
		wall := res.BuildSeconds
		b.ReportMetric(wall, "build-s")
		b.ReportMetric(cpu, "build-cpu-s")
		b.ReportMetric(floor, "floor-cpu-s")
		b.ReportMetric(cpu/floor, "cpu/floor")
		b.ReportMetric(wall/(floor/float64(runtime.GOMAXPROCS(0))), "wall/floor")
		b.ReportMetric(float64(res.MaxRSSBytes)/(1<<20), "max-rss-MiB")
	}
}

// buildFloor returns the CPU time of the crypto that the phases before
// the epochs cannot avoid, each operation timed here and multiplied by
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
func buildFloor(b *testing.B, cs *suite.Suite, opts Options) time.Duration {
	m := opts.Members - opts.Observers
	leaves := m + 1
	verifies := 0
	for j := range opts.Observers {
		verifies += leaves + j
	}
	const reps = 2000
	rnd := newKeys(cs, 99).stream("floor", 0)
	sigPriv, sigPub, err := cs.GenerateSignatureKey(rnd)
	if err != nil {
		b.Fatal(err)
	}
	signer, err := cs.NewSigner(sigPriv)
	if err != nil {
		b.Fatal(err)
	}
	_, hpkePub, err := cs.GenerateKeyPair(rnd)
	if err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 250) // about a LeafNodeTBS or KeyPackageTBS
	sig, err := cs.SignWithLabel(signer, "LeafNodeTBS", msg)
	if err != nil {
		b.Fatal(err)
	}
	secrets := make([]byte, 100) // about a GroupSecrets
	per := func(op func() error) time.Duration {
		c0, _ := processCPU()
		for range reps {
			if err := op(); err != nil {
				b.Fatal(err)
			}
		}
		c1, _ := processCPU()
		return (c1 - c0) / reps
	}
	sigKey := per(func() error {
		priv, _, err := cs.GenerateSignatureKey(rnd)
		if err == nil {
			_, err = cs.NewSigner(priv)
		}
		return err
	})
	// NewSigner derives the public key again: half of the pair is one
	// derivation.
	sigKey /= 2
	keyPair := per(func() error { _, _, err := cs.GenerateKeyPair(rnd); return err })
	sign := per(func() error { _, err := cs.SignWithLabel(signer, "LeafNodeTBS", msg); return err })
	verify := per(func() error { return cs.VerifyWithLabel(sigPub, "LeafNodeTBS", msg, sig) })
	seal := per(func() error {
		_, _, err := cs.EncryptWithLabel(rnd, hpkePub, "Welcome", nil, secrets)
		return err
	})
	d := func(n int, op time.Duration) time.Duration { return time.Duration(n) * op }
	return d(m, sigKey+2*keyPair+2*sign+2*verify+seal) + // build
		d(leaves, sign) + d(m, keyPair) + // shape
		d(verifies, verify) // joins
}

package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/mlsengine/engine/delivery/store"
)

// CommitContenders is the number of distinct commits posted concurrently for
// each epoch of the commit race.
const CommitContenders = 50

// Shape of the KeyPackage claim race: ClaimRaceClaimers goroutines claim
// ClaimRaceEach times each from a client with ClaimRaceOneTime one-time
// KeyPackages and a last-resort one.
const (
	ClaimRaceOneTime  = 100
	ClaimRaceClaimers = 20
	ClaimRaceEach     = 8
)

// ClaimRace runs the KeyPackage claim race through claim, which claims one
// of the client's KeyPackages: oneTime holds the references of its one-time
// KeyPackages. Each must be handed out exactly once, and every other claim
// must get the last-resort KeyPackage.
func ClaimRace(t *testing.T, oneTime map[string]bool, claim func() (ref []byte, lastResort bool, err error)) {
	t.Helper()
	var (
		mu         sync.Mutex
		got        = make(map[string]int)
		lastResort int
		wg         sync.WaitGroup
		start      = make(chan struct{})
	)
	errs := make(chan error, ClaimRaceClaimers)
	for range ClaimRaceClaimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range ClaimRaceEach {
				ref, lr, err := claim()
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if lr {
					lastResort++
				} else {
					got[string(ref)]++
				}
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("claim: %v", err)
	}
	for ref, n := range got {
		if n != 1 || !oneTime[ref] {
			t.Errorf("KeyPackage %x handed out %d times as one-time (uploaded as one-time: %v)", ref, n, oneTime[ref])
		}
	}
	claims := ClaimRaceClaimers * ClaimRaceEach
	if len(got) != len(oneTime) || lastResort != claims-len(oneTime) {
		t.Fatalf("%d one-time and %d last-resort claims, want %d and %d", len(got), lastResort, len(oneTime), claims-len(oneTime))
	}
}

// testKeyPackageClaimRace: concurrent claimers never get the same one-time
// KeyPackage, and every one-time KeyPackage is handed out before the last
// resort one.
func testKeyPackageClaimRace(t *testing.T, s store.Store) {
	oneTime := make(map[string]bool)
	for i := range ClaimRaceOneTime + 1 {
		k := kp("carol", 1, i == ClaimRaceOneTime)
		if !k.LastResort {
			oneTime[string(k.Ref)] = true
		}
		if _, err := s.PutKeyPackage(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	ClaimRace(t, oneTime, func() ([]byte, bool, error) {
		k, err := s.ClaimKeyPackage(ctx, "carol", 1)
		return k.Ref, k.LastResort, err
	})
}

// testConcurrentAppends: concurrent appends (and retries of them) to one group
// make a gapless log where every acknowledged message is at its acknowledged
// position, once.
func testConcurrentAppends(t *testing.T, s store.Store) {
	const writers, each = 16, 40
	gid := groupID()
	if _, _, err := s.CreateGroup(ctx, gid); err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		acked = make(map[uint64][]byte)
		wg    sync.WaitGroup
	)
	errs := make(chan error, writers)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var prev store.Message
			for i := range each {
				m := msg(store.ContentApplication, 0)
				a, err := s.Append(ctx, gid, m)
				if err != nil || a.Duplicate {
					errs <- fmt.Errorf("append = %+v, %v", a, err)
					return
				}
				if i > 0 {
					// A retry of the previous message gets its original seq.
					r, err := s.Append(ctx, gid, prev)
					if err != nil || !r.Duplicate || r.Seq != prev.Seq {
						errs <- fmt.Errorf("retry of seq %d = %+v, %v", prev.Seq, r, err)
						return
					}
				}
				m.Seq = a.Seq
				prev = m
				mu.Lock()
				if _, dup := acked[a.Seq]; dup {
					errs <- fmt.Errorf("seq %d acknowledged twice", a.Seq)
				}
				acked[a.Seq] = m.Data
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := make([]store.Message, len(acked))
	for seq, data := range acked {
		want[seq-1] = store.Message{Seq: seq, ContentType: store.ContentApplication, WireFormat: 2, Data: data}
	}
	checkLog(t, s, gid, want, 97)
}

// testCommitRace: CommitContenders distinct commits race for each of rounds
// epochs (one of them posted twice, racing its own retry). Exactly one commit
// wins each epoch, every loser is told the winner, only the winner's Welcome
// is queued, and the log holds exactly the winners.
func testCommitRace(t *testing.T, s store.Store, rounds int) {
	gid := groupID()
	var log []store.Message
	wins := make(map[string]int)
	for round := range uint64(rounds) {
		commits := make([]store.Commit, CommitContenders)
		for i := range commits {
			commits[i] = commit(gid, round)
			commits[i].Welcome = []byte(fmt.Sprintf("welcome %d/%d", round, i))
			commits[i].Recipients = []string{fmt.Sprintf("r%d", i)}
		}
		commits[1] = commits[0] // a retry racing its original
		results := make([]store.Appended, len(commits))
		errs := make([]error, len(commits))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range commits {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results[i], errs[i] = s.Commit(ctx, commits[i])
			}()
		}
		close(start)
		wg.Wait()

		winner := -1
		for i, err := range errs {
			if err == nil && !results[i].Duplicate {
				if winner >= 0 {
					t.Fatalf("epoch %d: commits %d and %d both won", round, winner, i)
				}
				winner = i
			}
		}
		if winner < 0 {
			t.Fatalf("epoch %d: no commit won (first error: %v)", round, errs[0])
		}
		seq := results[winner].Seq
		if seq != uint64(len(log)+1) || results[winner].Epoch != round {
			t.Fatalf("epoch %d: winner at seq %d epoch %d, want seq %d", round, seq, results[winner].Epoch, len(log)+1)
		}
		for i, err := range errs {
			if i == winner {
				continue
			}
			if err == nil {
				// Only the twin of the winner may succeed, as a duplicate.
				if !bytes.Equal(commits[i].Message.Data, commits[winner].Message.Data) || results[i].Seq != seq {
					t.Fatalf("epoch %d: commit %d = %+v, want a conflict", round, i, results[i])
				}
				continue
			}
			var ee *store.EpochError
			if !errors.As(err, &ee) || ee.Epoch != round || ee.Current != round+1 || ee.Winner == nil ||
				ee.Winner.Seq != seq || !bytes.Equal(ee.Winner.Data, commits[winner].Message.Data) {
				t.Fatalf("epoch %d: loser %d got %v (winner %+v), want to be told seq %d", round, i, err, ee, seq)
			}
		}
		log = append(log, commits[winner].Message)
		wins[commits[winner].Recipients[0]]++
	}
	checkLog(t, s, gid, log, 64)
	for i := range CommitContenders {
		r := fmt.Sprintf("r%d", i)
		ws, err := s.Welcomes(ctx, r, rounds+1)
		if err != nil || len(ws) != wins[r] {
			t.Fatalf("%s has %d Welcomes (%v), won %d epochs", r, len(ws), err, wins[r])
		}
		for _, w := range ws {
			if w.Seq < 1 || w.Seq > uint64(len(log)) || !bytes.HasPrefix(w.Data, []byte("welcome")) {
				t.Fatalf("%s has a Welcome for seq %d: %q", r, w.Seq, w.Data)
			}
			if want := fmt.Sprintf("welcome %d/%d", w.Seq-1, i); string(w.Data) != want {
				t.Fatalf("%s has Welcome %q at seq %d, want %q", r, w.Data, w.Seq, want)
			}
		}
	}
}

package delivery

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/delivery/store/storetest"
	"github.com/mlsengine/engine/mls/message"
)

// raceRounds is the number of epochs of the HTTP commit race.
const raceRounds = 200

// TestCommitRace: for raceRounds epochs, storetest.CommitContenders
// distinct commit bundles race for the epoch through the HTTP API (the first
// round races to create the group). Exactly one wins each epoch, every loser
// is told the winner, and only winners' Welcomes are delivered.
func TestCommitRace(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		_, url := testServer(t, nil, Config{})
		commitRace(t, []string{url})
	})
	t.Run("sqlite", func(t *testing.T) {
		commitRace(t, []string{startDS(t, sqliteURL(t)).url})
	})
	t.Run("postgres-two-processes", func(t *testing.T) {
		u := postgresURL(t)
		commitRace(t, []string{startDS(t, u).url, startDS(t, u).url})
	})
}

func commitRace(t *testing.T, urls []string) {
	const n = storetest.CommitContenders
	admin := newClient(t, urls[0], "admin")
	clients := make([]*Client, n)
	recipients := make([]*Client, n)
	refs := make([][]byte, n) // a KeyPackage of each recipient, which its Welcomes name
	for i := range clients {
		clients[i] = clientAt(admin, urls[i%len(urls)])
		w := newMember(t, urls[0], fmt.Sprintf("w%d", i))
		up, err := w.UploadKeyPackage(bg, w.keyPackage(t, false), false)
		if err != nil {
			t.Fatal(err)
		}
		refs[i] = up.Ref
		recipients[i] = clientAt(w.Client, urls[len(urls)-1])
	}
	gid := groupID()
	if _, err := admin.CreateGroup(bg, gid, opaque); err != nil {
		t.Fatal(err)
	}
	var log [][]byte
	winners := make([]int, 0, raceRounds) // contender that won each epoch
	for round := range uint64(raceRounds) {
		commits := make([][]byte, n)
		results := make([]Posted, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			commits[i] = privateMsg(gid, round, message.ContentCommit)
			b := &CommitBundle{Commit: commits[i], Welcome: welcomeFor(refs[i]), Recipients: []string{fmt.Sprintf("w%d", i)},
				GroupInfo: groupInfoMsg(gid, round+1)}
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = clients[i].PostCommit(bg, gid, b)
			}()
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			if err == nil {
				if winner >= 0 {
					t.Fatalf("epoch %d: commits %d and %d both won", round, winner, i)
				}
				winner = i
			}
		}
		if winner < 0 {
			t.Fatalf("epoch %d: no winner (%v)", round, errs[0])
		}
		if want := (Posted{Seq: round + 1, Epoch: round}); results[winner] != want {
			t.Fatalf("epoch %d: winner got %+v, want %+v", round, results[winner], want)
		}
		for i, err := range errs {
			var ee *store.EpochError
			if i != winner && (!errors.As(err, &ee) || ee.Epoch != round || ee.Current != round+1 ||
				ee.Winner == nil || ee.Winner.Seq != round+1 || !bytes.Equal(ee.Winner.Data, commits[winner])) {
				t.Fatalf("epoch %d: loser %d got %v, want to be told the winner", round, i, err)
			}
		}
		log = append(log, commits[winner])
		winners = append(winners, winner)
	}

	perProcess := make([]int, len(urls))
	for _, w := range winners {
		perProcess[w%len(urls)]++
	}
	t.Logf("%d epochs, %d commits each; winners posted through each process: %v", raceRounds, n, perProcess)

	reader := clientAt(admin, urls[len(urls)-1])
	var got []Entry
	for len(got) < len(log)+1 {
		es, err := reader.Fetch(bg, gid, uint64(len(got)), 1000, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == 0 {
			break
		}
		got = append(got, es...)
	}
	if len(got) != len(log) {
		t.Fatalf("log has %d messages, want %d", len(got), len(log))
	}
	for i, e := range got {
		if e.Seq != uint64(i+1) || !bytes.Equal(e.Message, log[i]) {
			t.Fatalf("log entry %d (seq %d) is not the winner of epoch %d", i, e.Seq, i)
		}
	}
	if gi, err := reader.GroupInfo(bg, gid); err != nil || len(gi) == 0 {
		t.Fatalf("GroupInfo of the last epoch: %v", err)
	}
	// Each recipient has exactly the Welcomes of the epochs its contender
	// won.
	for i, c := range recipients {
		var seqs []uint64
		for {
			w, err := c.NextWelcome(bg)
			if err != nil {
				t.Fatal(err)
			}
			if w == nil {
				break
			}
			if !bytes.Equal(w.GroupID, gid) || w.Seq < 1 || w.Seq > uint64(len(winners)) || winners[w.Seq-1] != i {
				t.Fatalf("w%d has a Welcome for seq %d, a commit it did not win", i, w.Seq)
			}
			seqs = append(seqs, w.Seq)
			if err := c.DeleteWelcome(bg, w.ID); err != nil {
				t.Fatal(err)
			}
		}
		won := 0
		for _, w := range winners {
			if w == i {
				won++
			}
		}
		if len(seqs) != won {
			t.Fatalf("w%d has %d Welcomes, its contender won %d epochs", i, len(seqs), won)
		}
	}
}

// TestKeyPackageClaimRace: claimers race through the HTTP API (through two
// processes over PostgreSQL) for a client's one-time KeyPackages: each is
// handed out once, then only the last-resort one.
func TestKeyPackageClaimRace(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		claimRace(t, []string{startDS(t, sqliteURL(t)).url})
	})
	t.Run("postgres-two-processes", func(t *testing.T) {
		u := postgresURL(t)
		claimRace(t, []string{startDS(t, u).url, startDS(t, u).url})
	})
}

func claimRace(t *testing.T, urls []string) {
	bob := newMember(t, urls[0], "bob")
	oneTime := make(map[string]bool)
	for i := range storetest.ClaimRaceOneTime + 1 {
		lastResort := i == storetest.ClaimRaceOneTime
		up, err := bob.UploadKeyPackage(bg, bob.keyPackage(t, lastResort), lastResort)
		if err != nil {
			t.Fatal(err)
		}
		if !lastResort {
			oneTime[string(up.Ref)] = true
		}
	}
	alice := newClient(t, urls[0], "alice")
	var next atomic.Uint64
	storetest.ClaimRace(t, oneTime, func() ([]byte, bool, error) {
		c := clientAt(alice, urls[next.Add(1)%uint64(len(urls))])
		kp, err := c.ClaimKeyPackage(bg, "bob", 1)
		return kp.Ref, kp.LastResort, err
	})
}

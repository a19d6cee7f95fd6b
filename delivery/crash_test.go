package delivery

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/wire"
)

// Crash test parameters: each cycle kills the service process with SIGKILL
// once crashAcks messages have been acknowledged, while writers keep
// posting.
const (
	crashCycles  = 3
	crashAcks    = 300
	crashGroups  = 4
	crashWriters = 8
)

// TestCrash kills a delivery service process (kill -9) under load and
// restarts it, several times: every acknowledged message is in its group's
// log at its acknowledged position, the log is gapless, has no duplicates,
// and each message is in the epoch of the commits before it.
func TestCrash(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { crash(t, sqliteURL(t)) })
	t.Run("postgres", func(t *testing.T) { crash(t, postgresURL(t)) })
}

// crashLog is what the writers were told: group -> seq -> message.
type crashLog struct {
	mu    sync.Mutex
	acked map[string]map[uint64][]byte
	n     int
	full  chan struct{} // closed when n reaches the cycle's target
	want  int
}

func (l *crashLog) ack(gid []byte, seq uint64, msg []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.acked[string(gid)]
	if old, ok := g[seq]; ok && !bytes.Equal(old, msg) {
		return fmt.Errorf("seq %d acknowledged for two different messages", seq)
	}
	g[seq] = msg
	l.n++
	if l.n == l.want {
		close(l.full)
	}
	return nil
}

func crash(t *testing.T, storeURL string) {
	p := startDS(t, storeURL)
	admin := newClient(t, p.url, "admin")
	gids := make([][]byte, crashGroups)
	l := &crashLog{acked: make(map[string]map[uint64][]byte)}
	for i := range gids {
		gids[i] = groupID()
		if _, err := clientAt(admin, p.url).CreateGroup(bg, gids[i], opaque); err != nil {
			t.Fatal(err)
		}
		l.acked[string(gids[i])] = make(map[uint64][]byte)
	}
	for cycle := range crashCycles {
		if cycle > 0 {
			p = startDS(t, storeURL)
			checkCrashLogs(t, clientAt(admin, p.url), gids, l)
		}
		l.full, l.want = make(chan struct{}), l.n+crashAcks
		var wg sync.WaitGroup
		errc := make(chan error, crashWriters)
		for w := range crashWriters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := crashWriter(clientAt(admin, p.url), gids[w%crashGroups], w < crashGroups, l); err != nil {
					errc <- err
				}
			}()
		}
		<-l.full
		p.kill()
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
	}
	p = startDS(t, storeURL)
	total := checkCrashLogs(t, clientAt(admin, p.url), gids, l)
	t.Logf("%d crashes, %d messages acknowledged, %d in the logs", crashCycles, l.n, total)
}

// crashWriter posts messages to a group until the service goes away: a
// commit bundle every eighth message if committer, else application
// messages, following the group's epoch. Posts that fail for the service
// being killed end it; any other failure is a test failure.
func crashWriter(c *Client, gid []byte, committer bool, l *crashLog) error {
	g, err := c.Group(bg, gid)
	if err != nil {
		return nil // already killed
	}
	epoch := g.Epoch
	for i := 0; ; i++ {
		var msg []byte
		var p Posted
		if committer && i%8 == 7 {
			msg = privateMsg(gid, epoch, message.ContentCommit)
			p, err = c.PostCommit(bg, gid, &CommitBundle{Commit: msg, GroupInfo: groupInfoMsg(gid, epoch+1)})
		} else {
			msg = privateMsg(gid, epoch, message.ContentApplication)
			p, err = c.Post(bg, gid, msg)
		}
		var ee *store.EpochError
		switch {
		case errors.As(err, &ee):
			epoch = ee.Current
			continue
		case errors.Is(err, ErrMalformed), errors.Is(err, store.ErrUnknownGroup), errors.Is(err, ErrServer):
			return fmt.Errorf("post: %w", err)
		case err != nil:
			return nil // the service was killed
		case p.Duplicate || p.Epoch != epoch:
			return fmt.Errorf("post of a new message answered %+v", p)
		}
		if err := l.ack(gid, p.Seq, msg); err != nil {
			return err
		}
		if committer && i%8 == 7 {
			epoch++
		}
	}
}

// checkCrashLogs reads every group's log and checks it against what was
// acknowledged. It returns the number of messages in the logs.
func checkCrashLogs(t *testing.T, c *Client, gids [][]byte, l *crashLog) int {
	t.Helper()
	total := 0
	for _, gid := range gids {
		seen := make(map[string]bool)
		var epoch uint64
		var n uint64
		for {
			es, err := c.Fetch(bg, gid, n, 1000, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(es) == 0 {
				break
			}
			for _, e := range es {
				n++
				if e.Seq != n {
					t.Fatalf("gap: seq %d after %d", e.Seq, n-1)
				}
				if seen[string(e.Message)] {
					t.Fatalf("seq %d is a duplicate", e.Seq)
				}
				seen[string(e.Message)] = true
				var m message.MLSMessage
				if err := wire.Unmarshal(e.Message, &m); err != nil {
					t.Fatalf("seq %d: %v", e.Seq, err)
				}
				if m.PrivateMessage.Epoch != epoch {
					t.Fatalf("seq %d is for epoch %d, but %d commits precede it", e.Seq, m.PrivateMessage.Epoch, epoch)
				}
				if m.PrivateMessage.ContentType == message.ContentCommit {
					epoch++
				}
			}
			total += len(es)
			l.mu.Lock()
			for _, e := range es {
				if want, ok := l.acked[string(gid)][e.Seq]; ok && !bytes.Equal(want, e.Message) {
					t.Fatalf("seq %d differs from the acknowledged message", e.Seq)
				}
			}
			l.mu.Unlock()
		}
		l.mu.Lock()
		for seq := range l.acked[string(gid)] {
			if seq > n {
				t.Fatalf("acknowledged seq %d lost: the log ends at %d", seq, n)
			}
		}
		l.mu.Unlock()
		if g, err := c.Group(bg, gid); err != nil || g.Epoch != epoch || g.LastSeq != n {
			t.Fatalf("group state %+v, %v; the log has %d messages and %d commits", g, err, n, epoch)
		}
	}
	return total
}

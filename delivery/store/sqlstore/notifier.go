package sqlstore

import (
	"context"
	"encoding/hex"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgNotify announces appends to groups on notifyChannel.
const pgNotify = `SELECT pg_notify('` + notifyChannel + `', n) FROM unnest($1::text[]) AS n`

// notifier announces the groups that committed appends touched to the
// other processes of a PostgreSQL store, after the commit, from a
// connection of its own, coalescing the groups of the commits made while
// it sends.
//
// NOTIFY inside the appending transactions would serialize their commits:
// PostgreSQL holds a database-wide lock from the notifying transaction's
// pre-commit until its commit is flushed, which would leave group commit
// nothing to group. The notifier's transactions commit without waiting
// for the flush (a notification need not survive a crash). A notification
// lost to a crash or a broken connection delays listeners only until they
// poll the store again (see store.Notifier: listeners re-read on their
// own).
type notifier struct {
	config *pgx.ConnConfig

	mu      sync.Mutex
	pending map[string]bool // group ids
	wake    chan struct{}   // signalled when pending fills
	stop    chan struct{}
	done    chan struct{}
}

func newNotifier(config *pgx.ConnConfig) *notifier {
	config = config.Copy()
	config.RuntimeParams["synchronous_commit"] = "off"
	n := &notifier{config: config, pending: make(map[string]bool), wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	go n.run()
	return n
}

// add queues the groups for the next notification.
func (n *notifier) add(groupIDs [][]byte) {
	if len(groupIDs) == 0 {
		return
	}
	n.mu.Lock()
	for _, gid := range groupIDs {
		n.pending[string(gid)] = true
	}
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// close sends what is pending and stops the notifier.
func (n *notifier) close() {
	close(n.stop)
	<-n.done
}

func (n *notifier) run() {
	defer close(n.done)
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	for {
		stopping := false
		select {
		case <-n.wake:
		case <-n.stop:
			stopping = true
		}
		n.mu.Lock()
		payloads := make([]string, 0, len(n.pending))
		for gid := range n.pending {
			payloads = append(payloads, hex.EncodeToString([]byte(gid)))
		}
		clear(n.pending)
		n.mu.Unlock()
		if len(payloads) > 0 {
			conn = n.send(conn, payloads)
		}
		if stopping {
			return
		}
	}
}

// send runs pgNotify on conn (connecting first if conn is nil) and returns
// the connection to use next time: nil after a failure.
func (n *notifier) send(conn *pgx.Conn, payloads []string) *pgx.Conn {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	if conn == nil {
		if conn, err = pgx.ConnectConfig(ctx, n.config); err != nil {
			return nil // lost: listeners poll
		}
	}
	if _, err = conn.Exec(ctx, pgNotify, payloads); err != nil {
		conn.Close(ctx)
		return nil
	}
	return conn
}

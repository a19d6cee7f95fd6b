package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/wire"
)

// commitFor returns an (encrypted, here random) commit of a group's epoch as
// a member would send it.
func commitFor(groupID []byte, epoch uint64, ciphertext string) []byte {
	data, err := wire.Marshal(message.NewMLSMessage(&message.PrivateMessage{
		GroupID: groupID, Epoch: epoch, ContentType: message.ContentCommit,
		EncryptedSenderData: []byte("sender"), Ciphertext: []byte(ciphertext),
	}))
	if err != nil {
		log.Fatal(err)
	}
	return data
}

// A delivery service embedded in a program, and two members racing to commit
// the same epoch: one wins, the other is told the winner.
func Example() {
	ctx := context.Background()
	st, err := delivery.OpenStore(ctx, "memory:") // or "sqlite:mls-ds.db", "postgres://..."
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	srv, err := delivery.NewServer(delivery.Config{Store: st})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv) // or delivery.ListenAndServe, as `mls ds serve` does
	defer hs.Close()

	alice := &delivery.Client{BaseURL: hs.URL}
	bob := &delivery.Client{BaseURL: hs.URL}
	if _, err := alice.Register(ctx, "alice"); err != nil {
		log.Fatal(err)
	}
	if _, err := bob.Register(ctx, "bob"); err != nil {
		log.Fatal(err)
	}

	group := []byte("group-1")
	// The first commit (epoch 0) creates the group.
	p, err := alice.PostCommit(ctx, group, &delivery.CommitBundle{Commit: commitFor(group, 0, "alice creates")})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("alice's commit: seq", p.Seq, "epoch", p.Epoch)

	// Both commit in epoch 1; alice is first.
	if _, err := alice.Post(ctx, group, commitFor(group, 1, "alice commits")); err != nil {
		log.Fatal(err)
	}
	_, err = bob.Post(ctx, group, commitFor(group, 1, "bob commits"))
	var lost *store.EpochError
	if errors.As(err, &lost) {
		fmt.Println("bob lost epoch", lost.Epoch, "to the commit at seq", lost.Winner.Seq, "; the group is at epoch", lost.Current)
	}

	entries, err := bob.Fetch(ctx, group, 0, 0, 0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("the log has", len(entries), "messages")
	// Output:
	// alice's commit: seq 1 epoch 0
	// bob lost epoch 1 to the commit at seq 2 ; the group is at epoch 2
	// the log has 2 messages
}

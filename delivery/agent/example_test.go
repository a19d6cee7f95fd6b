package agent_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/delivery/agent"
	"github.com/mlsengine/engine/delivery/store/memstore"
)

// Two clients, each with its own state directory, talk through a delivery
// service (here in memory; `mls ds serve` runs one).
func Example() {
	srv, err := delivery.NewServer(delivery.Config{Store: memstore.New(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		log.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()
	ctx := context.Background()

	tmp, err := os.MkdirTemp("", "agent-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	open := func(name string) *agent.Agent {
		dir := filepath.Join(tmp, name)
		a, err := agent.Init(ctx, agent.Options{Dir: dir, DS: hs.URL}, name, 0)
		if err != nil {
			log.Fatal(err)
		}
		return a
	}
	alice, bob := open("alice"), open("bob")
	defer alice.Close()
	defer bob.Close()

	if err := alice.Create(ctx, "team", nil); err != nil {
		log.Fatal(err)
	}
	events, err := alice.Add(ctx, "team", "bob")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(events[0])
	joined, _, err := bob.Join(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("bob joined", joined)
	if _, err := alice.Send(ctx, "team", "hello, bob"); err != nil {
		log.Fatal(err)
	}
	events, err = bob.Receive(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range events {
		fmt.Println(e)
	}
	// Output:
	// team: alice added bob
	// bob joined [team]
	// team alice: hello, bob
}

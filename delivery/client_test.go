package delivery

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestClientTreeLimit: a tree longer than Client.MaxTreeSize is an error,
// never a tree cut short.
func TestClientTreeLimit(t *testing.T) {
	tree := bytes.Repeat([]byte{1}, 100)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Mls-Epoch", "3")
		w.Write(tree)
	}))
	defer ts.Close()
	ctx := context.Background()

	c := &Client{BaseURL: ts.URL, MaxTreeSize: int64(len(tree))}
	got, epoch, err := c.Tree(ctx, []byte("g"))
	if err != nil || epoch != 3 || !bytes.Equal(got, tree) {
		t.Fatalf("Tree at the limit: %d bytes, epoch %d, %v", len(got), epoch, err)
	}
	c.MaxTreeSize = int64(len(tree)) - 1
	if got, _, err := c.Tree(ctx, []byte("g")); !errors.Is(err, ErrServer) || got != nil {
		t.Fatalf("Tree over the limit: %d bytes, %v; want ErrServer", len(got), err)
	}
}

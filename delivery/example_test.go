package delivery_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/mls"
)

// member registers a client with its signature key and returns its
// client and mls.Config, with the X.509 credential the service's CA issued
// and the service's root pinned.
func member(ctx context.Context, url, name string) (*delivery.Client, mls.Config) {
	signer, err := mls.NewSigner(mls.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	if err != nil {
		log.Fatal(err)
	}
	c := &delivery.Client{BaseURL: url}
	reg, err := c.RegisterKey(ctx, name, signer.Suite(), signer)
	if err != nil {
		log.Fatal(err)
	}
	der, err := c.CA(ctx) // a real client pins it at its first start
	if err != nil {
		log.Fatal(err)
	}
	root, err := x509.ParseCertificate(der)
	if err != nil {
		log.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root)
	cfg, err := mls.NewX509Config(signer.Suite(), signer, reg.Certificates, roots)
	if err != nil {
		log.Fatal(err)
	}
	cfg.Policy = delivery.Policy()
	return c, cfg
}

// commit posts a commit with its Welcome and the new epoch's GroupInfo,
// and applies it once the service accepted it.
func commit(ctx context.Context, c *delivery.Client, g *mls.Group, pc *mls.PendingCommit) (delivery.Posted, error) {
	gi, err := pc.GroupInfo()
	if err != nil {
		return delivery.Posted{}, err
	}
	p, err := c.PostCommit(ctx, g.GroupID(), &delivery.CommitBundle{Commit: pc.Commit, Welcome: pc.Welcome, GroupInfo: gi})
	if err != nil {
		pc.Discard()
		return p, err
	}
	return p, g.Apply(pc)
}

// A delivery service embedded in a program: alice creates a tracked group
// and adds bob, who fetches the tree from the service; then both commit
// in the same epoch: one wins, the other is told the winner.
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

	alice, aliceCfg := member(ctx, hs.URL, "alice")
	bob, bobCfg := member(ctx, hs.URL, "bob")
	kp, kpPrivate, err := mls.NewKeyPackage(bobCfg, nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := bob.UploadKeyPackage(ctx, kp, false); err != nil {
		log.Fatal(err)
	}

	// Alice creates the group with its initial state, and adds bob.
	ga, err := mls.NewGroup(aliceCfg, nil)
	if err != nil {
		log.Fatal(err)
	}
	gi, err := ga.GroupInfo(nil)
	if err != nil {
		log.Fatal(err)
	}
	tree, err := ga.RatchetTree()
	if err != nil {
		log.Fatal(err)
	}
	if _, err := alice.CreateGroup(ctx, ga.GroupID(), &delivery.GroupSetup{GroupInfo: gi, RatchetTree: tree}); err != nil {
		log.Fatal(err)
	}
	claimed, err := alice.ClaimKeyPackage(ctx, "bob", 0)
	if err != nil {
		log.Fatal(err)
	}
	add, err := mls.NewAdd(claimed.KeyPackage)
	if err != nil {
		log.Fatal(err)
	}
	pc, err := ga.Commit(&mls.CommitOptions{Proposals: []*mls.Proposal{add}, OutOfBandTree: true})
	if err != nil {
		log.Fatal(err)
	}
	p, err := commit(ctx, alice, ga, pc)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("alice added bob at seq", p.Seq)

	// Bob joins with the tree of his Welcome's epoch; mls.Join checks it
	// against the Welcome's tree hash.
	w, err := bob.NextWelcome(ctx)
	if err != nil {
		log.Fatal(err)
	}
	tree, err = bob.TreeAt(ctx, w.GroupID, w.Epoch)
	if err != nil {
		log.Fatal(err)
	}
	gb, err := mls.Join(bobCfg, w.Welcome, kpPrivate, &mls.JoinOptions{RatchetTree: tree})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("bob joined epoch", gb.Epoch())

	// Both update in epoch 1; alice is first.
	pa, _ := ga.Update()
	pb, _ := gb.Update()
	if _, err := commit(ctx, alice, ga, pa); err != nil {
		log.Fatal(err)
	}
	_, err = commit(ctx, bob, gb, pb)
	var lost *store.EpochError
	if errors.As(err, &lost) {
		fmt.Println("bob lost epoch", lost.Epoch, "to the commit at seq", lost.Winner.Seq)
	}
	r, err := gb.Process(lost.Winner.Data)
	if err != nil {
		log.Fatal(err)
	}
	if err := gb.Apply(r.Commit); err != nil {
		log.Fatal(err)
	}
	fmt.Println("bob is at epoch", gb.Epoch())
	// Output:
	// alice added bob at seq 1
	// bob joined epoch 1
	// bob lost epoch 1 to the commit at seq 2
	// bob is at epoch 2
}

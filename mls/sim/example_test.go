package sim_test

import (
	"context"
	"fmt"

	"github.com/mlsengine/engine/mls/sim"
)

// A sweep of three small groups, where updates are four times as common
// as adds and removes and a few members make most of the commits.
func ExampleSweep() {
	opts := sim.DefaultOptions()
	opts.Epochs, opts.Observers = 6, 2
	var err error
	if opts.Mix, err = sim.ParseMix("update=4,add=1,remove=1"); err != nil {
		panic(err)
	}
	if opts.Committers, err = sim.ParseCommitters("zipf:1.5"); err != nil {
		panic(err)
	}
	results, err := sim.Sweep(context.Background(), opts, []int{10, 20, 40})
	if err != nil {
		panic(err)
	}
	for _, r := range results {
		fmt.Printf("%d members: %d of %d epochs agreed, %v\n", r.Members, r.AgreedEpochs, r.Epochs, r.Mix)
	}
	// Output:
	// 10 members: 6 of 6 epochs agreed, update=4,add=1,remove=1
	// 20 members: 6 of 6 epochs agreed, update=4,add=1,remove=1
	// 40 members: 6 of 6 epochs agreed, update=4,add=1,remove=1
}

// A run through a delivery service in this process, with its store in
// memory: the committers post their commits to it and the observers fetch
// them from it.
func ExampleRun_deliveryService() {
	opts := sim.DefaultOptions()
	opts.Members, opts.Epochs, opts.Observers = 40, 6, 2
	opts.DS = "memory:"
	res, err := sim.Run(context.Background(), opts)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d of %d epochs agreed through %s\n", res.AgreedEpochs, res.Epochs, res.DS.Store)
	fmt.Println("a joiner fetched the tree:", res.DS.JoinTreeBytes > 0)
	// Output:
	// 6 of 6 epochs agreed through memory:
	// a joiner fetched the tree: true
}

package sim

import (
	"context"
	"testing"

	"github.com/mlsengine/engine/mls/suite"
)

// TestRunPQSuite runs the simulator with the largest post-quantum suite
// (ML-KEM-1024, ML-DSA-87: kilobytes of keys and signatures per member).
func TestRunPQSuite(t *testing.T) {
	opts := Options{Members: 12, Suite: suite.MLS_256_MLKEM1024_AES256GCM_SHA384_MLDSA87, Epochs: 6, Observers: 2, Seed: 3}
	res, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Suite != opts.Suite || res.AgreedEpochs != opts.Epochs || res.Join.WelcomeBytes < 4627 {
		t.Fatalf("suite %v, %d of %d epochs agreed, Welcome of %d bytes", res.Suite, res.AgreedEpochs, opts.Epochs, res.Join.WelcomeBytes)
	}
}

package memstore_test

import (
	"testing"

	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/delivery/store/memstore"
	"github.com/mlsengine/engine/delivery/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return memstore.New() }, storetest.Options{})
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(*testing.B) store.Store { return memstore.New() })
}

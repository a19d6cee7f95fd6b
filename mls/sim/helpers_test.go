package sim

import (
	"context"
	"testing"
)

func newTestRunner(t *testing.T, o Options) *runner {
	t.Helper()
	if err := o.check(); err != nil {
		t.Fatal(err)
	}
	return newRunner(context.Background(), o)
}

//go:build !unix

package agent

import (
	"os"
	"time"
)

// lockDir only checks that the lock file can be created: this platform
// has no advisory lock here, so the caller must not run two processes on
// one state directory.
func lockDir(path string, wait time.Duration) (unlock func() error, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, wrapErr(ErrState, "opening "+path, err)
	}
	return f.Close, nil
}

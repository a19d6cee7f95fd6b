//go:build unix

package agent

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// lockDir takes an exclusive lock on the state directory's lock file,
// waiting up to wait for another process to release it. The lock goes
// away with the process, so a crash never leaves a stale lock.
func lockDir(path string, wait time.Duration) (unlock func() error, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, wrapErr(ErrState, "opening "+path, err)
	}
	deadline := time.Now().Add(wait)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f.Close, nil // closing the file releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, wrapErr(ErrState, "locking "+path, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, errorf(ErrBusy, "%s (another mls client command is using it: wait for it to finish)", path)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

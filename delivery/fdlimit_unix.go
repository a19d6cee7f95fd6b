//go:build unix

package delivery

import "syscall"

// fileLimit returns the process's limit of open files (RLIMIT_NOFILE),
// or 0 if unknown. (The Go runtime raises the soft limit to the hard one
// at start.)
func fileLimit() int {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil || l.Cur > 1<<30 {
		return 0
	}
	return int(l.Cur)
}

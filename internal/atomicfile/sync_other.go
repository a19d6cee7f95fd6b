//go:build !unix

package atomicfile

// syncDir is a no-op where directories cannot be synced; renames are
// still atomic.
func syncDir(string) error { return nil }

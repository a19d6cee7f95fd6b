//go:build !unix

package sim

// maxRSS is unknown on this platform.
func maxRSS() uint64 { return 0 }

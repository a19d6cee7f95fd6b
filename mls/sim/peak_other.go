//go:build !linux

package sim

// resetPeakRSS cannot reset the peak resident set size on this platform.
func resetPeakRSS() bool { return false }

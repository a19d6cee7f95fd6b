package sim

import "os"

// resetPeakRSS starts the process's peak resident set size (maxRSS) again
// from its current size, as Linux allows by writing 5 to
// /proc/self/clear_refs; false if it could not.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

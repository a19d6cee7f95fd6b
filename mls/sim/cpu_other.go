//go:build !linux

package sim

import "time"

// threadCPU is unavailable on this platform.
func threadCPU() (time.Duration, bool) { return 0, false }

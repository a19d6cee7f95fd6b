package testvectors

// KeySchedule is a placeholder until this kind is implemented: each case fails
// with ErrNotImplemented.
type KeySchedule struct{ notImplemented }

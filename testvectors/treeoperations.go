package testvectors

// TreeOperations is a placeholder until this kind is implemented: each case fails
// with ErrNotImplemented.
type TreeOperations struct{ notImplemented }

package testvectors

// TreeValidation is a placeholder until this kind is implemented: each case fails
// with ErrNotImplemented.
type TreeValidation struct{ notImplemented }

package testvectors

// TreeKEM is a placeholder until this kind is implemented: each case fails
// with ErrNotImplemented.
type TreeKEM struct{ notImplemented }

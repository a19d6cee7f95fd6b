package testvectors

// Welcome is a placeholder until this kind is implemented: each case fails
// with ErrNotImplemented.
type Welcome struct{ notImplemented }

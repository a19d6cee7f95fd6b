package testvectors

// PSKSecret is a placeholder until this kind is implemented: each case fails
// with ErrNotImplemented.
type PSKSecret struct{ notImplemented }

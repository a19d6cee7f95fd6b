package testvectors

// MessageProtection is a placeholder until this kind is implemented: each case fails
// with ErrNotImplemented.
type MessageProtection struct{ notImplemented }

package testvectors

// SecretTree is a placeholder until this kind is implemented: each case fails
// with ErrNotImplemented.
type SecretTree struct{ notImplemented }

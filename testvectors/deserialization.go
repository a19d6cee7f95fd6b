package testvectors

// Deserialization is a placeholder until this kind is implemented: each case fails
// with ErrNotImplemented.
type Deserialization struct{ notImplemented }

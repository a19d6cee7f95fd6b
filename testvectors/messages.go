package testvectors

// Messages is a placeholder until this kind is implemented: each case fails
// with ErrNotImplemented.
type Messages struct{ notImplemented }

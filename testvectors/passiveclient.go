package testvectors

// PassiveClient is a placeholder until this kind is implemented: each case fails
// with ErrNotImplemented.
type PassiveClient struct{ notImplemented }

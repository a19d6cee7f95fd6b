package testvectors

// CryptoBasics is a placeholder until this kind is implemented: each case fails
// with ErrNotImplemented.
type CryptoBasics struct{ notImplemented }

package testvectors

// TranscriptHashes is a placeholder until this kind is implemented: each case fails
// with ErrNotImplemented.
type TranscriptHashes struct{ notImplemented }

package suite

import "errors"

// Sentinel errors. Every error returned by this package wraps one of them
// (errors.Is) and its message starts with "suite: ".
var (
	// ErrUnsupportedSuite is returned by Lookup for an unknown identifier.
	ErrUnsupportedSuite = errors.New("suite: unsupported cipher suite")
	// ErrInvalidKey reports a public or private key of the wrong length or
	// encoding, or not on the curve.
	ErrInvalidKey = errors.New("suite: invalid key")
	// ErrDecrypt reports an AEAD or HPKE decryption failure, including a
	// malformed KEM output. It carries no detail on purpose.
	ErrDecrypt = errors.New("suite: decryption failed")
	// ErrVerify reports a signature that does not verify, including a
	// malformed signature.
	ErrVerify = errors.New("suite: signature verification failed")
	// ErrInvalidArgument reports an out-of-range length or a nonce or AEAD
	// key of the wrong size.
	ErrInvalidArgument = errors.New("suite: invalid argument")
	// ErrRandom reports a failure to read from the randomness source.
	ErrRandom = errors.New("suite: reading randomness failed")
	// ErrInvalidComposition reports a Composition New cannot build, or a
	// registry with two suites under one code point or name.
	ErrInvalidComposition = errors.New("suite: invalid composition")
	// ErrInternal reports a bug in this package or a failure of an
	// underlying library that valid input cannot cause.
	ErrInternal = errors.New("suite: internal error")
)

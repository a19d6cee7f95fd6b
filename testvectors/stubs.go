package testvectors

// Placeholder case types for kinds not implemented yet; each is replaced by
// its own file as the kind is implemented. A placeholder case fails.

type notImplemented struct {
	Suite uint16 `json:"cipher_suite"`
}

func (c *notImplemented) CipherSuite() uint16 { return c.Suite }
func (c *notImplemented) Verify() error       { return ErrNotImplemented }

type (
	CryptoBasics      struct{ notImplemented }
	SecretTree        struct{ notImplemented }
	MessageProtection struct{ notImplemented }
	KeySchedule       struct{ notImplemented }
	PSKSecret         struct{ notImplemented }
	TranscriptHashes  struct{ notImplemented }
	Welcome           struct{ notImplemented }
	TreeOperations    struct{ notImplemented }
	TreeValidation    struct{ notImplemented }
	TreeKEM           struct{ notImplemented }
	Messages          struct{ notImplemented }
	Deserialization   struct{ notImplemented }
	PassiveClient     struct{ notImplemented }
)

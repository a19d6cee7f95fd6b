package testvectors

// notImplemented is embedded by placeholder case types of kinds not
// implemented yet. A placeholder case fails; it is never skipped.
type notImplemented struct {
	Suite uint16 `json:"cipher_suite"`
}

func (c *notImplemented) CipherSuite() uint16 { return c.Suite }
func (c *notImplemented) Verify() error       { return ErrNotImplemented }

package treekem

import "github.com/mlsengine/engine/mls/wire"

// CredentialType identifies a credential format (IANA "MLS Credential Types").
type CredentialType uint16

// Credential types defined by RFC 9420 §5.3.
const (
	CredentialBasic CredentialType = 0x0001
	CredentialX509  CredentialType = 0x0002
)

// Credential binds an identity to a signature key (§5.3). A basic
// credential carries an application-defined identity; an X.509 credential a
// DER certificate chain, end-entity first, checked by an application hook.
type Credential struct {
	Type         CredentialType
	Identity     []byte   // basic
	Certificates [][]byte // x509
}

// BasicCredential returns a basic credential for identity.
func BasicCredential(identity []byte) Credential {
	return Credential{Type: CredentialBasic, Identity: identity}
}

// MarshalMLS encodes the Credential.
func (c *Credential) MarshalMLS(b *wire.Builder) {
	b.AddUint16(uint16(c.Type))
	switch c.Type {
	case CredentialBasic:
		b.AddVector(c.Identity)
	case CredentialX509:
		b.AddVectorFunc(func(b *wire.Builder) {
			for _, cert := range c.Certificates {
				b.AddVector(cert)
			}
		})
	default:
		b.SetError(errUnknownCredential)
	}
}

// UnmarshalMLS decodes a Credential. A credential of an unknown type cannot
// be parsed (its body has no known structure) and is rejected.
func (c *Credential) UnmarshalMLS(r *wire.Reader) bool {
	var t uint16
	if !r.ReadUint16(&t) {
		return false
	}
	*c = Credential{Type: CredentialType(t)}
	switch c.Type {
	case CredentialBasic:
		return r.ReadVector(&c.Identity)
	case CredentialX509:
		return r.ReadList(func(r *wire.Reader) bool {
			var cert []byte
			if !r.ReadVector(&cert) {
				return false
			}
			c.Certificates = append(c.Certificates, cert)
			return true
		})
	default:
		return r.Fail("unknown credential type")
	}
}

package testvectors

import (
	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/suite"
)

// PSKSecret is one case of psk_secret.json (FORMAT.md "Pre-Shared Keys"):
// the psk_secret of a list of external PSKs (RFC 9420 §8.4).
type PSKSecret struct {
	Suite uint16 `json:"cipher_suite"`
	PSKs  []struct {
		PSKID    HexBytes `json:"psk_id"`
		PSK      HexBytes `json:"psk"`
		PSKNonce HexBytes `json:"psk_nonce"`
	} `json:"psks"`
	PSKSecret HexBytes `json:"psk_secret"`
}

// CipherSuite returns the case's cipher suite.
func (c *PSKSecret) CipherSuite() uint16 { return c.Suite }

// Verify builds an external PreSharedKeyID for each PSK and checks the
// chained psk_secret.
func (c *PSKSecret) Verify() error {
	s, err := suite.Lookup(suite.ID(c.Suite))
	if err != nil {
		return err
	}
	psks := make([]keyschedule.PSK, len(c.PSKs))
	for i, p := range c.PSKs {
		psks[i] = keyschedule.PSK{
			ID: keyschedule.PreSharedKeyID{
				Type:  keyschedule.PSKTypeExternal,
				ID:    p.PSKID,
				Nonce: p.PSKNonce,
			},
			Secret: p.PSK,
		}
	}
	got, err := keyschedule.PSKSecret(s, psks)
	if err != nil {
		return err
	}
	return expectEqual("psk_secret", got, c.PSKSecret)
}

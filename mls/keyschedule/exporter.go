package keyschedule

import (
	"fmt"
	"io"

	"github.com/mlsengine/engine/mls/suite"
)

// maxExportLength is the largest length ExpandWithLabel can encode: KDFLabel
// carries it in a uint16 (§8).
const maxExportLength = 1<<16 - 1

// Export is MLS-Exporter(label, context, length) of §8.5:
//
//	ExpandWithLabel(DeriveSecret(exporter_secret, label), "exported", Hash(context), length)
//
// Applications should use a label registered for their purpose (§17.8).
func (x *Secrets) Export(s *suite.Suite, label string, context []byte, length int) ([]byte, error) {
	if length < 0 || length > maxExportLength {
		return nil, fmt.Errorf("%w: exporter length %d", ErrInvalidArgument, length)
	}
	if err := checkSecret("exporter_secret", x.Exporter, s.HashSize()); err != nil {
		return nil, err
	}
	derived, err := s.DeriveSecret(x.Exporter, label)
	if err != nil {
		return nil, internal("exporter", err)
	}
	defer clear(derived)
	out, err := s.ExpandWithLabel(derived, "exported", s.Hash(context), length)
	if err != nil {
		// The KDF refuses lengths above 255*Nh.
		return nil, fmt.Errorf("%w: exporter length %d: %w", ErrInvalidArgument, length, err)
	}
	return out, nil
}

// externalInitLabel is the HPKE exporter context of §8.3.
const externalInitLabel = "MLS 1.0 external init secret"

// ExternalInit is the joiner's side of external initialization (§8.3):
//
//	kem_output, context = SetupBaseS(external_pub, "")
//	init_secret = context.export("MLS 1.0 external init secret", KDF.Nh)
//
// The kem_output goes into the ExternalInit proposal; init_secret replaces
// the previous epoch's init_secret in [Derive]. A nil rand means
// crypto/rand.
func ExternalInit(s *suite.Suite, rand io.Reader, externalPub []byte) (kemOutput, initSecret []byte, err error) {
	kemOutput, initSecret, err = s.HPKEExportSender(rand, externalPub, nil, []byte(externalInitLabel), s.HashSize())
	if err != nil {
		return nil, nil, fmt.Errorf("keyschedule: external init: %w", err)
	}
	return kemOutput, initSecret, nil
}

// ExternalInitSecret is the members' side of external initialization
// (§8.3): it recovers init_secret from the kem_output of an ExternalInit
// proposal with the external private key of the previous epoch (see
// [Secrets.ExternalKeyPair]):
//
//	context = SetupBaseR(kem_output, external_priv, "")
//	init_secret = context.export("MLS 1.0 external init secret", KDF.Nh)
func ExternalInitSecret(s *suite.Suite, externalPriv, kemOutput []byte) ([]byte, error) {
	initSecret, err := s.HPKEExportReceiver(externalPriv, kemOutput, nil, []byte(externalInitLabel), s.HashSize())
	if err != nil {
		return nil, fmt.Errorf("keyschedule: external init: %w", err)
	}
	return initSecret, nil
}

package suite

import (
	"crypto"
	"crypto/ecdh"
	"crypto/hpke"
	"fmt"
	"runtime"

	"golang.org/x/sys/cpu"
)

// circlX25519Faster reports whether circl's X25519 (amd64 assembly using
// MULX/ADCX/ADOX) is available. Measured on such a CPU with interleaved
// runs (BenchmarkAltHPKESealOpen): circl's HPKE seal/open with X25519 take
// about 52/48 µs against crypto/hpke's 94/82 µs (circl KeyGen 16 µs vs
// crypto/ecdh 37 µs; DH 25 µs vs 37 µs). Elsewhere circl falls back to
// generic code, and crypto/ecdh is used. The value is fixed at start-up.
var circlX25519Faster = runtime.GOARCH == "amd64" && cpu.X86.HasBMI2 && cpu.X86.HasADX

// newKEMScheme returns the HPKE instantiation of a KEM with a KDF and an
// AEAD (known to aeads and kdfHashes), from the implementation chosen by
// measurement for each KEM:
//   - DHKEM(X25519): circl where circlX25519Faster, else crypto/hpke; both
//     produce identical results (TestX25519Implementations);
//   - DHKEM(X448): circl (the standard library has no X448);
//   - DHKEM over the NIST curves and the post-quantum KEMs: crypto/hpke.
//     For MLKEM768-X25519, the one post-quantum KEM circl's HPKE also has,
//     crypto/hpke seals faster and opens as fast (BenchmarkAltXWing);
//     circl has no HPKE with the other four.
func newKEMScheme(id KEM, kdf KDF, aead AEAD) (kemScheme, error) {
	skdf, err := hpke.NewKDF(uint16(kdf))
	if err != nil {
		return nil, err
	}
	saead, err := hpke.NewAEAD(uint16(aead))
	if err != nil {
		return nil, err
	}
	switch id {
	case DHKEMP256:
		return newStdDHKEM(ecdh.P256(), crypto.SHA256, skdf, saead), nil
	case DHKEMP384:
		return newStdDHKEM(ecdh.P384(), crypto.SHA384, skdf, saead), nil
	case DHKEMP521:
		return newStdDHKEM(ecdh.P521(), crypto.SHA512, skdf, saead), nil
	case DHKEMX25519:
		if circlX25519Faster {
			return newCirclKEM(id, kdf, aead), nil
		}
		return newStdDHKEM(ecdh.X25519(), crypto.SHA256, skdf, saead), nil
	case DHKEMX448:
		return newCirclKEM(id, kdf, aead), nil
	}
	if k := newStdPQKEM(id, skdf, saead); k != nil {
		return k, nil
	}
	return nil, fmt.Errorf("unsupported KEM")
}

package suite

import (
	"crypto"
	"crypto/ecdh"
	"crypto/hpke"
	"runtime"

	circlhpke "github.com/cloudflare/circl/hpke"
	"golang.org/x/sys/cpu"
)

// circlX25519Faster reports whether circl's X25519 (amd64 assembly using
// MULX/ADCX/ADOX) is available. Measured on such a CPU with interleaved
// runs (BenchmarkAltHPKESealOpen): circl's HPKE seal/open with X25519 take
// about 52/48 µs against crypto/hpke's 94/82 µs (circl KeyGen 16 µs vs
// crypto/ecdh 37 µs; DH 25 µs vs 37 µs). Elsewhere circl falls back to
// generic code, and crypto/ecdh is used. The value is fixed at start-up.
var circlX25519Faster = runtime.GOARCH == "amd64" && cpu.X86.HasBMI2 && cpu.X86.HasADX

// newX25519KEM returns DHKEM(X25519, HKDF-SHA256) with the given AEAD from
// the faster implementation for this CPU. Both produce identical results
// (TestX25519Implementations).
func newX25519KEM(std hpke.AEAD, circl circlhpke.AEAD) kemScheme {
	if circlX25519Faster {
		return newCirclKEM(circlhpke.KEM_X25519_HKDF_SHA256, circlhpke.KDF_HKDF_SHA256, circl)
	}
	return newStdKEM(ecdh.X25519(), crypto.SHA256, hpke.HKDFSHA256(), std)
}

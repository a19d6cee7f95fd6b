package suite

import (
	"crypto"
	"fmt"
)

// A Composition names the primitives of a cipher suite (RFC 9420 §5.1):
// the HPKE KEM, KDF and AEAD, the hash, and the signature scheme. The KDF
// also serves MLS's own Extract and Expand (§8), the AEAD its message and
// Welcome encryption (§6.3, §12.4.3.1), and HMAC with the hash its MAC
// (§17.1).
type Composition struct {
	KEM       KEM
	KDF       KDF
	AEAD      AEAD
	Hash      crypto.Hash // crypto.SHA256, crypto.SHA384 or crypto.SHA512
	Signature SignatureScheme
}

// String returns the composition in the form of the IANA tables, e.g.
// "MLKEM768-X25519/HKDF-SHA256/AES-128-GCM/SHA-256/ed25519".
func (c Composition) String() string {
	return fmt.Sprintf("%v/%v/%v/%v/%v", c.KEM, c.KDF, c.AEAD, c.Hash, c.Signature)
}

// KEM is an HPKE KEM identifier (RFC 9180 §7.1; draft-ietf-hpke-pq for
// the ML-KEM and hybrid KEMs).
type KEM uint16

// The KEMs a Composition may use.
const (
	DHKEMP256      KEM = 0x0010 // DHKEM(P-256, HKDF-SHA256)
	DHKEMP384      KEM = 0x0011 // DHKEM(P-384, HKDF-SHA384)
	DHKEMP521      KEM = 0x0012 // DHKEM(P-521, HKDF-SHA512)
	DHKEMX25519    KEM = 0x0020 // DHKEM(X25519, HKDF-SHA256)
	DHKEMX448      KEM = 0x0021 // DHKEM(X448, HKDF-SHA512)
	MLKEM768       KEM = 0x0041 // ML-KEM-768
	MLKEM1024      KEM = 0x0042 // ML-KEM-1024
	MLKEM768P256   KEM = 0x0050 // MLKEM768-P256
	MLKEM1024P384  KEM = 0x0051 // MLKEM1024-P384
	MLKEM768X25519 KEM = 0x647a // MLKEM768-X25519, a.k.a. X-Wing
)

var kemNames = map[KEM]string{
	DHKEMP256: "DHKEM(P-256)", DHKEMP384: "DHKEM(P-384)", DHKEMP521: "DHKEM(P-521)",
	DHKEMX25519: "DHKEM(X25519)", DHKEMX448: "DHKEM(X448)",
	MLKEM768: "ML-KEM-768", MLKEM1024: "ML-KEM-1024", MLKEM768P256: "MLKEM768-P256",
	MLKEM1024P384: "MLKEM1024-P384", MLKEM768X25519: "MLKEM768-X25519",
}

func (k KEM) String() string { return nameOr(kemNames, k, "KEM") }

// KDF is an HPKE KDF identifier (RFC 9180 §7.2). MLS needs a two-stage KDF
// (Extract and Expand), so only the HKDFs can make a suite.
type KDF uint16

// The KDFs a Composition may use.
const (
	HKDFSHA256 KDF = 0x0001
	HKDFSHA384 KDF = 0x0002
	HKDFSHA512 KDF = 0x0003
)

var kdfHashes = map[KDF]crypto.Hash{HKDFSHA256: crypto.SHA256, HKDFSHA384: crypto.SHA384, HKDFSHA512: crypto.SHA512}

func (k KDF) String() string {
	if h, ok := kdfHashes[k]; ok {
		return "HKDF-" + h.String()
	}
	return fmt.Sprintf("KDF(0x%04x)", uint16(k))
}

// AEAD is an HPKE AEAD identifier (RFC 9180 §7.3).
type AEAD uint16

// The AEADs a Composition may use.
const (
	AES128GCM        AEAD = 0x0001
	AES256GCM        AEAD = 0x0002
	ChaCha20Poly1305 AEAD = 0x0003
)

var aeads = map[AEAD]*aeadAlg{AES128GCM: aes128GCM, AES256GCM: aes256GCM, ChaCha20Poly1305: chacha20Poly1305}

func (a AEAD) String() string {
	if alg, ok := aeads[a]; ok {
		return alg.name
	}
	return fmt.Sprintf("AEAD(0x%04x)", uint16(a))
}

// SignatureScheme is a TLS SignatureScheme (RFC 8446 §4.2.3;
// draft-ietf-tls-mldsa for ML-DSA), as RFC 9420 §17.1 names signature
// algorithms.
type SignatureScheme uint16

// The signature schemes a Composition may use.
const (
	ECDSAWithP256AndSHA256 SignatureScheme = 0x0403 // ecdsa_secp256r1_sha256
	ECDSAWithP384AndSHA384 SignatureScheme = 0x0503 // ecdsa_secp384r1_sha384
	ECDSAWithP521AndSHA512 SignatureScheme = 0x0603 // ecdsa_secp521r1_sha512
	Ed25519                SignatureScheme = 0x0807 // ed25519
	Ed448                  SignatureScheme = 0x0808 // ed448
	MLDSA44                SignatureScheme = 0x0904 // mldsa44
	MLDSA65                SignatureScheme = 0x0905 // mldsa65
	MLDSA87                SignatureScheme = 0x0906 // mldsa87
)

var signatureNames = map[SignatureScheme]string{
	ECDSAWithP256AndSHA256: "ecdsa_secp256r1_sha256", ECDSAWithP384AndSHA384: "ecdsa_secp384r1_sha384",
	ECDSAWithP521AndSHA512: "ecdsa_secp521r1_sha512", Ed25519: "ed25519", Ed448: "ed448",
	MLDSA44: "mldsa44", MLDSA65: "mldsa65", MLDSA87: "mldsa87",
}

func (s SignatureScheme) String() string { return nameOr(signatureNames, s, "SignatureScheme") }

func nameOr[K ~uint16](names map[K]string, k K, kind string) string {
	if n, ok := names[k]; ok {
		return n
	}
	return fmt.Sprintf("%s(0x%04x)", kind, uint16(k))
}

// New returns the suite of composition c under code point id, named name
// (which String reports and ParseID accepts). Any code point but 0x0000
// and the GREASE values (RFC 9420 §13.5) may be used, 0xF000-0xFFFF being
// the private-use range of §17.1; those of the seven RFC 9420 suites only
// for their own compositions. The KDF must be HKDF over the suite's hash:
// MLS uses KDF.Nh and the hash's size interchangeably, as every registered
// suite allows. An unknown part or a mismatch yields an error wrapping
// ErrInvalidComposition.
//
// Add the suite to a Registry to use it; New itself registers nothing.
func New(id ID, name string, c Composition) (*Suite, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: 0x%04x (%s): %s", ErrInvalidComposition, uint16(id), c, fmt.Sprintf(format, args...))
	}
	switch {
	case id == 0:
		return nil, bad("code point 0x0000 is reserved")
	case id.IsGREASE():
		return nil, bad("code point reserved for GREASE (RFC 9420 §13.5)")
	case name == "":
		return nil, bad("empty name")
	}
	if rfc, ok := rfc9420Compositions[id]; ok && rfc != c {
		return nil, bad("code point of RFC 9420's %s", rfc)
	}
	h, ok := kdfHashes[c.KDF]
	if !ok {
		return nil, bad("unsupported KDF")
	}
	if c.Hash != h {
		return nil, bad("hash %v differs from the KDF's", c.Hash)
	}
	aead, ok := aeads[c.AEAD]
	if !ok {
		return nil, bad("unsupported AEAD")
	}
	kem, err := newKEMScheme(c.KEM, c.KDF, c.AEAD)
	if err != nil {
		return nil, bad("%v", err)
	}
	sig, err := newSignatureScheme(c.Signature)
	if err != nil {
		return nil, bad("%v", err)
	}
	return &Suite{id: id, name: name, comp: c, hash: h, newHash: h.New, aead: aead, kem: kem, sig: sig}, nil
}

// IsGREASE reports whether id is one of the GREASE values of RFC 9420
// §13.5 (0x0A0A, 0x1A1A, ..., 0xEAEA), which never name a suite.
func (id ID) IsGREASE() bool {
	return id&0x0F0F == 0x0A0A && id>>12 == (id>>4)&0xF && id>>12 <= 0xE
}

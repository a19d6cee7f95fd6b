// Package suite implements the cipher suites of MLS (RFC 9420 §5.1, §17.1)
// and the labeled operations MLS builds on them: ExpandWithLabel,
// DeriveSecret, DeriveTreeSecret (§8, §9.1), RefHash (§5.2), SignWithLabel
// and VerifyWithLabel (§5.1.2), EncryptWithLabel and DecryptWithLabel
// (§5.1.3), and the HPKE exporter used for external joins (§8.3).
//
// # Suites, compositions and registries
//
// A [Suite] is a [Composition] of primitives (HPKE KEM, KDF and AEAD, hash,
// signature scheme) under a code point. [New] builds one from any
// supported parts, so an application can run the compositions its peers
// use under their code points (RFC 9420 §17.1 reserves 0xF000-0xFFFF for
// private use). A [Registry] is an immutable set of suites; [Default] holds
// the built-in ones:
//   - the seven suites of RFC 9420 (0x0001-0x0007);
//   - the eleven suites of draft-ietf-mls-pq-ciphersuites-06, whose code
//     points are not assigned yet, at provisional private-use code points
//     0xF101-0xF10B (TBD1-TBD11), under the names the draft gives them.
//
// There is no mutable global state: an application that needs other suites
// or other code points builds its own registry once at start-up
// ([NewRegistry], [Registry.With]) and passes it where suites are looked up
// (mls.Config.Suites; a nil *Registry means Default). [Registry.Lookup] is
// the only place code points are checked, so no network input can reach a
// panic in a crypto library; [Lookup], [IDs] and [ParseID] are those of
// Default. A Suite is immutable and safe for concurrent use.
//
// # Keys
//
// Keys are byte slices in the encodings of the MLS test vectors: public keys
// are the raw HPKEPublicKey and SignaturePublicKey contents (RFC 9180
// SerializePublicKey; RFC 8032 keys for EdDSA; uncompressed points for
// ECDSA; FIPS 204 encodings for ML-DSA), HPKE private keys are RFC 9180
// SerializePrivateKey outputs (seeds for ML-KEM and the hybrid KEMs, as
// draft-ietf-hpke-pq defines them), ECDSA private keys are big-endian
// scalars, EdDSA private keys the RFC 8032 seeds, and ML-DSA private keys
// the 32-byte seeds of FIPS 204 key generation. Every function that takes a
// key, a KEM output, a ciphertext or a signature validates its length and
// encoding before handing it to a cryptographic library, and reports
// malformed input as an error. Post-quantum keys and signatures are large
// (an ML-KEM-1024 key 1568 bytes, an ML-DSA-87 signature 4627):
// [Suite.HPKEPublicKeySize] and [Suite.HPKEEncapsulatedKeySize] give the
// KEM's sizes, which differ for the post-quantum KEMs.
//
// # Implementations
//
// Chosen by measurement (see kemselect.go and the Alt benchmarks): the
// standard library for SHA-2, HMAC, HKDF, AES-GCM, Ed25519, ECDSA, and for
// HPKE with DHKEM over P-256, P-384 and P-521 and with the post-quantum
// KEMs (crypto/hpke: ML-KEM-768, ML-KEM-1024, MLKEM768-P256, MLKEM1024-P384
// and MLKEM768-X25519, i.e. X-Wing); golang.org/x/crypto for
// ChaCha20-Poly1305; github.com/cloudflare/circl for HPKE with DHKEM(X448)
// and Ed448 (not in the standard library), for ML-DSA-44/65/87 (Go 1.26
// has it only in an internal package), and for HPKE with DHKEM(X25519) on
// amd64 CPUs with BMI2 and ADX, where it is about 1.7 times faster than
// crypto/hpke (which serves X25519 elsewhere). circl's HPKE also has
// X-Wing, but crypto/hpke seals it faster and opens it as fast, parsing
// the private key included (BenchmarkAltXWing).
//
// DeriveKeyPair takes an ikm of any length, as MLS derives from KDF.Nh
// bytes: RFC 9180 §7.1.3 is implemented here on top of the curve
// primitives for the DHKEMs (Nh is not the KEM's Nsk for X448 and P-521),
// and the post-quantum KEMs use their own DeriveKeyPair of
// draft-ietf-hpke-pq (a SHAKE256 derivation of the seed), from crypto/hpke.
//
// Randomness: functions taking an io.Reader accept nil for crypto/rand.
// Key generation ([Suite.GenerateKeyPair], [Suite.GenerateSignatureKey])
// draws all its randomness from the reader, so a deterministic reader gives
// deterministic keys. HPKE encryption draws its ephemeral key from the
// reader when circl implements the KEM; crypto/hpke always uses a secure
// source, as Go 1.26's crypto packages do, and so do ECDSA signatures and
// the hedged ML-DSA signatures (testing/cryptotest.SetGlobalRandom makes
// the standard library's deterministic in tests).
package suite

// Package suite implements the seven cipher suites of RFC 9420 (§5.1,
// §17.1) and the labeled operations MLS builds on them: ExpandWithLabel,
// DeriveSecret, DeriveTreeSecret (§8, §9.1), RefHash (§5.2), SignWithLabel
// and VerifyWithLabel (§5.1.2), EncryptWithLabel and DecryptWithLabel
// (§5.1.3), and the HPKE exporter used for external joins (§8.3).
//
// Use [Lookup] to obtain a [*Suite] for a cipher suite identifier taken from
// the wire: it is the only place where identifiers are checked, so every
// other function can rely on a supported suite. A Suite is immutable and safe
// for concurrent use.
//
// Keys are byte slices in the encodings of the MLS test vectors: public keys
// are the raw HPKEPublicKey and SignaturePublicKey contents (RFC 9180
// SerializePublicKey; RFC 8032 keys for EdDSA; uncompressed points for
// ECDSA), HPKE private keys are RFC 9180 SerializePrivateKey outputs, ECDSA
// private keys are big-endian scalars, and EdDSA private keys are the RFC 8032
// seeds. Every function that takes a key, a KEM output, a ciphertext or a
// signature validates its length and encoding before handing it to a
// cryptographic library, and reports malformed input as an error.
//
// Implementations, chosen by measurement (see kemselect.go and the Alt
// benchmarks): the standard library for SHA-2, HMAC, HKDF, AES-GCM, Ed25519,
// ECDSA and HPKE with DHKEM over P-256, P-384 and P-521; golang.org/x/crypto
// for ChaCha20-Poly1305; github.com/cloudflare/circl for HPKE with
// DHKEM(X448) and Ed448 (not in the standard library), and for HPKE with
// DHKEM(X25519) on amd64 CPUs with BMI2 and ADX, where it is about 1.7 times
// faster than crypto/hpke (which serves X25519 elsewhere). RFC 9180 §7.1.3
// DeriveKeyPair is implemented here on top of those, for any input length
// (MLS derives from KDF.Nh bytes, which is not the KEM's Nsk for X448 and
// P-521).
//
// Randomness: functions taking an io.Reader accept nil for crypto/rand.
// Key generation ([Suite.GenerateKeyPair], [Suite.GenerateSignatureKey])
// draws all its randomness from the reader, so a deterministic reader gives
// deterministic keys. HPKE encryption draws its ephemeral key from the
// reader when circl implements the KEM; crypto/hpke always uses a secure
// source, as Go 1.26's crypto packages do, and so do ECDSA signatures
// (testing/cryptotest.SetGlobalRandom makes all of them deterministic in
// tests).
package suite

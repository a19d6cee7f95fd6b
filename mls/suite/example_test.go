package suite_test

import (
	"crypto"
	"errors"
	"fmt"

	"github.com/mlsengine/engine/mls/suite"
)

func ExampleLookup() {
	s, err := suite.Lookup(suite.ID(0x0001)) // e.g. a KeyPackage's cipher_suite
	if err != nil {
		panic(err)
	}
	fmt.Println(s, s.HashSize(), s.AEADKeySize())

	_, err = suite.Lookup(suite.ID(0x0a0a))
	fmt.Println(errors.Is(err, suite.ErrUnsupportedSuite))
	// Output:
	// MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519 32 16
	// true
}

func ExampleSuite_EncryptWithLabel() {
	s, _ := suite.Lookup(suite.MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448)
	// A node key pair derived from a path secret (RFC 9420 §7.4).
	priv, pub, err := s.DeriveKeyPair(make([]byte, s.HashSize()))
	if err != nil {
		panic(err)
	}
	groupContext := []byte("serialized GroupContext")
	kemOutput, ct, err := s.EncryptWithLabel(nil, pub, "UpdatePathNode", groupContext, []byte("path secret"))
	if err != nil {
		panic(err)
	}
	pt, err := s.DecryptWithLabel(priv, "UpdatePathNode", groupContext, kemOutput, ct)
	fmt.Printf("%s %v\n", pt, err)

	_, err = s.DecryptWithLabel(priv, "Welcome", groupContext, kemOutput, ct)
	fmt.Println(errors.Is(err, suite.ErrDecrypt))
	// Output:
	// path secret <nil>
	// true
}

func ExampleSuite_SignWithLabel() {
	s, _ := suite.Lookup(suite.MLS_128_DHKEMP256_AES128GCM_SHA256_P256)
	priv, pub, err := s.GenerateSignatureKey(nil)
	if err != nil {
		panic(err)
	}
	signer, err := s.NewSigner(priv) // or a Signer backed by an HSM
	if err != nil {
		panic(err)
	}
	tbs := []byte("serialized LeafNodeTBS")
	sig, err := s.SignWithLabel(signer, "LeafNodeTBS", tbs)
	if err != nil {
		panic(err)
	}
	fmt.Println(s.VerifyWithLabel(pub, "LeafNodeTBS", tbs, sig))
	err = s.VerifyWithLabel(pub, "KeyPackageTBS", tbs, sig)
	fmt.Println(errors.Is(err, suite.ErrVerify))
	// Output:
	// <nil>
	// true
}

func ExampleSuite_HPKEExportSender() {
	s, _ := suite.Lookup(suite.MLS_256_DHKEMP384_AES256GCM_SHA384_P384)
	// RFC 9420 §8.3: the group publishes external_pub; a joiner exports
	// init_secret to it, members recover it with external_priv.
	externalPriv, externalPub, _ := s.DeriveKeyPair([]byte("external_secret"))
	label := []byte("MLS 1.0 external init secret")
	kemOutput, initSecret, err := s.HPKEExportSender(nil, externalPub, nil, label, s.HashSize())
	if err != nil {
		panic(err)
	}
	got, err := s.HPKEExportReceiver(externalPriv, kemOutput, nil, label, s.HashSize())
	fmt.Println(string(got) == string(initSecret), err)
	// Output:
	// true <nil>
}

// A suite made of parts and registered under the code point the peers use:
// X-Wing with AES-256-GCM, SHA-512 and Ed25519 at 0x0053. Pass the
// registry where suites are looked up, e.g. in mls.Config.Suites.
func ExampleNew() {
	xwing, err := suite.New(0x0053, "MLS_256_XWING_AES256GCM_SHA512_Ed25519", suite.Composition{
		KEM:       suite.MLKEM768X25519,
		KDF:       suite.HKDFSHA512,
		AEAD:      suite.AES256GCM,
		Hash:      crypto.SHA512,
		Signature: suite.Ed25519,
	})
	if err != nil {
		panic(err)
	}
	registry, err := suite.Default().With(xwing)
	if err != nil {
		panic(err)
	}
	s, err := registry.Lookup(0x0053)
	fmt.Println(s, s.HPKEPublicKeySize(), err)
	_, err = suite.Lookup(0x0053) // Default is unchanged
	fmt.Println(errors.Is(err, suite.ErrUnsupportedSuite))
	// Output:
	// MLS_256_XWING_AES256GCM_SHA512_Ed25519 1216 <nil>
	// true
}

// A draft suite moved to the code point a peer uses for it: under its own
// name, it replaces the provisional one.
func ExampleRegistry_With() {
	tbd1, _ := suite.Lookup(suite.MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519)
	moved, err := suite.New(0xF0A1, tbd1.String(), tbd1.Composition())
	if err != nil {
		panic(err)
	}
	registry, err := suite.Default().With(moved)
	if err != nil {
		panic(err)
	}
	id, _ := registry.ParseID("MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519")
	_, err = registry.Lookup(0xF101)
	fmt.Printf("0x%04x %v\n", uint16(id), errors.Is(err, suite.ErrUnsupportedSuite))
	// Output:
	// 0xf0a1 true
}

func ExampleParseID() {
	for _, s := range []string{"1", "0x0003", "0xF10B", "mls_128_mlkem768x25519_aes128gcm_sha256_ed25519"} {
		id, err := suite.ParseID(s)
		fmt.Printf("0x%04x %v %v\n", uint16(id), id, err)
	}
	_, err := suite.ParseID("9")
	fmt.Println(err)
	// Output:
	// 0x0001 MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519 <nil>
	// 0x0003 MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519 <nil>
	// 0xf10b MLS_256_MLKEM1024_AES256GCM_SHA384_MLDSA87 <nil>
	// 0xf101 MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519 <nil>
	// suite: unsupported cipher suite: "9": want a number (1 to 7, 0xF101 to 0xF10B) or a name such as MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
}

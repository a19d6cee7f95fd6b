package suite_test

import (
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

func ExampleParseID() {
	for _, s := range []string{"1", "0x0003", "mls_256_dhkemp384_aes256gcm_sha384_p384"} {
		id, err := suite.ParseID(s)
		fmt.Println(uint16(id), id, err)
	}
	_, err := suite.ParseID("9")
	fmt.Println(err)
	// Output:
	// 1 MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519 <nil>
	// 3 MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519 <nil>
	// 7 MLS_256_DHKEMP384_AES256GCM_SHA384_P384 <nil>
	// suite: unsupported cipher suite: "9": want a number from 1 to 7 or a name such as MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
}

package suite_test

import (
	"fmt"

	"github.com/mlsengine/engine/mls/suite"
)

// GenerateSigner makes a key pair ready to sign with, in one step.
func ExampleSuite_GenerateSigner() {
	cs, _ := suite.Lookup(suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	signer, err := cs.GenerateSigner(nil) // crypto/rand
	if err != nil {
		panic(err)
	}
	sig, _ := cs.SignWithLabel(signer, "example", []byte("hello"))
	fmt.Println(cs.VerifyWithLabel(signer.Public(), "example", []byte("hello"), sig) == nil)
	// Output: true
}

// VerifyWithLabelParts verifies a signature over content that comes in
// pieces, without joining them first.
func ExampleSuite_VerifyWithLabelParts() {
	cs, _ := suite.Lookup(suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	signer, _ := cs.GenerateSigner(nil)
	sig, _ := cs.SignWithLabel(signer, "example", []byte("header|body|trailer"))
	err := cs.VerifyWithLabelParts(signer.Public(), "example", sig, []byte("header|"), []byte("body|"), []byte("trailer"))
	fmt.Println(err == nil)
	// Output: true
}

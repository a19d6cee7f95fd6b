package keyschedule_test

import (
	"bytes"
	"fmt"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/suite"
)

// A committer advances the key schedule; a new member joins the same epoch
// from the joiner_secret it finds in the Welcome.
func ExampleDerive() {
	s, _ := suite.Lookup(suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	prevInit := bytes.Repeat([]byte{1}, s.HashSize())     // init_secret of the previous epoch
	commitSecret := bytes.Repeat([]byte{2}, s.HashSize()) // from the Commit's UpdatePath
	groupContext := []byte("encoded GroupContext of the new epoch")

	epoch, err := keyschedule.Derive(s, prevInit, commitSecret, nil, groupContext)
	if err != nil {
		panic(err)
	}
	joined, err := keyschedule.Join(s, epoch.JoinerSecret, nil, groupContext)
	if err != nil {
		panic(err)
	}
	fmt.Println(bytes.Equal(epoch.EpochAuthenticator, joined.EpochAuthenticator))
	// Output: true
}

// Each epoch's encryption_secret seeds a secret tree that yields one key and
// nonce per message and deletes them once used.
func ExampleSecretTree() {
	s, _ := suite.Lookup(suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	x, _ := keyschedule.FromEpochSecret(s, bytes.Repeat([]byte{7}, s.HashSize()))

	alice, _ := keyschedule.NewSecretTree(s, x.Encryption, 1_000_000, keyschedule.Config{})
	bob, _ := keyschedule.NewSecretTree(s, x.Encryption, 1_000_000, keyschedule.Config{})

	gen, key, _, _ := alice.SendKey(42, keyschedule.Application)
	got, _, _ := bob.ReceiveKey(42, keyschedule.Application, gen)
	fmt.Println(gen, bytes.Equal(key, got))

	_, _, err := bob.ReceiveKey(42, keyschedule.Application, gen)
	fmt.Println(err)
	// Output:
	// 0 true
	// keyschedule: generation already consumed: leaf 42, application ratchet, generation 0
}

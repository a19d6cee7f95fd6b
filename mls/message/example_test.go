package message_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
)

// Example shows one application message going from the member at leaf 0 to
// the member at leaf 1 of a two-member group, as a PrivateMessage.
func Example() {
	s, _ := suite.Lookup(suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	priv, _, _ := s.GenerateSignatureKey(rand.Reader)
	alice, _ := s.NewSigner(priv)

	// The epoch both members are in (normally from the key schedule).
	gc, _ := (&message.GroupContext{
		Version: message.MLS10, CipherSuite: s.ID(), GroupID: []byte("team"), Epoch: 3,
	}).Bytes()
	encryptionSecret := bytes.Repeat([]byte{1}, s.HashSize())
	senderDataSecret := bytes.Repeat([]byte{2}, s.HashSize())

	// Alice signs and encrypts.
	content := &message.FramedContent{
		GroupID: []byte("team"), Epoch: 3, Sender: message.MemberSender(0),
		ContentType: message.ContentApplication, ApplicationData: []byte("hello"),
	}
	ac, _ := message.SignContent(s, alice, message.WireFormatPrivateMessage, content, gc)
	aliceTree, _ := keyschedule.NewSecretTree(s, encryptionSecret, 2, keyschedule.Config{})
	pm, _ := message.ProtectPrivate(s, ac, aliceTree, senderDataSecret, message.PadToMultiple(32), nil)
	data, _ := wire.Marshal(message.NewMLSMessage(pm))

	// Bob decodes, decrypts and verifies.
	var m message.MLSMessage
	if err := wire.Unmarshal(data, &m); err != nil {
		fmt.Println(err)
		return
	}
	bobTree, _ := keyschedule.NewSecretTree(s, encryptionSecret, 2, keyschedule.Config{})
	lookup := func(fc *message.FramedContent) ([]byte, error) {
		if fc.Sender.Type == message.SenderMember && fc.Sender.Leaf == 0 {
			return alice.Public(), nil
		}
		return nil, errors.New("no such member")
	}
	got, err := message.UnprotectPrivate(s, m.PrivateMessage, gc, bobTree, senderDataSecret, lookup)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%v says %q\n", got.Content.Sender, got.Content.ApplicationData)
	// Output: member(0) says "hello"
}

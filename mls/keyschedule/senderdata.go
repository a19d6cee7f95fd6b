package keyschedule

import "github.com/mlsengine/engine/mls/suite"

// SenderDataKeyNonce derives the AEAD key and nonce that protect the
// SenderData of a PrivateMessage from sender_data_secret and the message's
// ciphertext (§6.3.2):
//
//	ciphertext_sample = ciphertext[0..KDF.Nh-1]
//	sender_data_key   = ExpandWithLabel(sender_data_secret, "key", ciphertext_sample, AEAD.Nk)
//	sender_data_nonce = ExpandWithLabel(sender_data_secret, "nonce", ciphertext_sample, AEAD.Nn)
//
// A ciphertext shorter than KDF.Nh is used whole.
func SenderDataKeyNonce(s *suite.Suite, senderDataSecret, ciphertext []byte) (key, nonce []byte, err error) {
	nh := s.HashSize()
	if err := checkSecret("sender_data_secret", senderDataSecret, nh); err != nil {
		return nil, nil, err
	}
	sample := ciphertext[:min(len(ciphertext), nh)]
	key, err = s.ExpandWithLabel(senderDataSecret, "key", sample, s.AEADKeySize())
	if err != nil {
		return nil, nil, internal("sender_data_key", err)
	}
	nonce, err = s.ExpandWithLabel(senderDataSecret, "nonce", sample, s.AEADNonceSize())
	if err != nil {
		clear(key)
		return nil, nil, internal("sender_data_nonce", err)
	}
	return key, nonce, nil
}

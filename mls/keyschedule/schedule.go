package keyschedule

import (
	"github.com/mlsengine/engine/mls/suite"
)

// Labels of the epoch-derived secrets (§8, table "Epoch-Derived Secrets").
const (
	labelJoiner        = "joiner"
	labelWelcome       = "welcome"
	labelEpoch         = "epoch"
	labelInit          = "init"
	labelSenderData    = "sender data"
	labelEncryption    = "encryption"
	labelExporter      = "exporter"
	labelExternal      = "external"
	labelConfirm       = "confirm"
	labelMembership    = "membership"
	labelResumption    = "resumption"
	labelAuthenticator = "authentication"
)

// Secrets are the secrets of one epoch derived from its epoch_secret (§8).
// The epoch_secret itself is not kept: it is consumed by these derivations.
type Secrets struct {
	SenderData         []byte // sender_data_secret: keys for SenderData (§6.3.2)
	Encryption         []byte // encryption_secret: root of the secret tree (§9)
	Exporter           []byte // exporter_secret: MLS-Exporter (§8.5)
	External           []byte // external_secret: the external HPKE key pair (§8)
	Confirmation       []byte // confirmation_key: the confirmation tag (§6.1)
	Membership         []byte // membership_key: the membership tag (§6.2)
	Resumption         []byte // resumption_psk (§8.6)
	EpochAuthenticator []byte // epoch_authenticator (§8.7)
	Init               []byte // init_secret of this epoch, input to the next one
}

// Epoch is the output of one step of the key schedule: the secrets of the
// new epoch and the intermediate secrets that a committer needs to build a
// Welcome message.
type Epoch struct {
	// JoinerSecret goes into GroupSecrets.joiner_secret of the Welcome
	// (§12.4.3.1).
	JoinerSecret []byte
	// WelcomeSecret yields the key and nonce that encrypt the GroupInfo of
	// the Welcome; see [WelcomeKeyNonce].
	WelcomeSecret []byte
	Secrets
}

// checkSecret returns an error unless v has length n. Name is the secret's
// RFC 9420 name, for the error message.
func checkSecret(name string, v []byte, n int) error {
	if len(v) != n {
		return &SecretLengthError{Name: name, Got: len(v), Want: n}
	}
	return nil
}

// orZero returns v, or the all-zero vector of length n if v is nil: §8 uses
// the zero vector as commit_secret of a Commit without path (§12.4) and as
// psk_secret when no PSK is injected (§8.4).
func orZero(v []byte, n int) []byte {
	if v == nil {
		return make([]byte, n)
	}
	return v
}

// Derive runs the key schedule of §8 for a new epoch n: from
// init_secret_[n-1] (the Init of the previous epoch's [Secrets], or the
// output of [ExternalInitSecret]), the commit_secret, the psk_secret and the
// encoding of GroupContext_[n]. A nil commitSecret or pskSecret stands for
// the all-zero vector; otherwise every secret must be KDF.Nh bytes long.
//
// Derive does not modify its inputs; the caller deletes init_secret_[n-1]
// and commit_secret once the new epoch is in use (§9.2).
func Derive(s *suite.Suite, initSecret, commitSecret, pskSecret, groupContext []byte) (*Epoch, error) {
	nh := s.HashSize()
	if err := checkSecret("init_secret", initSecret, nh); err != nil {
		return nil, err
	}
	commitSecret = orZero(commitSecret, nh)
	if err := checkSecret("commit_secret", commitSecret, nh); err != nil {
		return nil, err
	}
	// §8: KDF.Extract(salt = init_secret_[n-1], ikm = commit_secret), then
	// ExpandWithLabel(., "joiner", GroupContext_[n], KDF.Nh).
	prk := s.Extract(initSecret, commitSecret)
	joiner, err := s.ExpandWithLabel(prk, labelJoiner, groupContext, nh)
	clear(prk)
	if err != nil {
		return nil, internal("joiner_secret", err)
	}
	e, err := Join(s, joiner, pskSecret, groupContext)
	clear(joiner)
	return e, err
}

// Join runs the key schedule of §8 from the joiner_secret, as a new member
// does with the joiner_secret of a Welcome's GroupSecrets (§12.4.3.1). A nil
// pskSecret stands for the all-zero vector.
func Join(s *suite.Suite, joinerSecret, pskSecret, groupContext []byte) (*Epoch, error) {
	nh := s.HashSize()
	member, err := memberSecret(s, joinerSecret, pskSecret)
	if err != nil {
		return nil, err
	}
	defer clear(member)

	welcome, err := s.DeriveSecret(member, labelWelcome)
	if err != nil {
		return nil, internal("welcome_secret", err)
	}
	epochSecret, err := s.ExpandWithLabel(member, labelEpoch, groupContext, nh)
	if err != nil {
		clear(welcome)
		return nil, internal("epoch_secret", err)
	}
	defer clear(epochSecret)
	secrets, err := FromEpochSecret(s, epochSecret)
	if err != nil {
		clear(welcome)
		return nil, err
	}
	return &Epoch{
		JoinerSecret:  append([]byte(nil), joinerSecret...),
		WelcomeSecret: welcome,
		Secrets:       *secrets,
	}, nil
}

// memberSecret is KDF.Extract(salt = joiner_secret, ikm = psk_secret), the
// unnamed value of §8 from which welcome_secret and epoch_secret derive.
func memberSecret(s *suite.Suite, joinerSecret, pskSecret []byte) ([]byte, error) {
	nh := s.HashSize()
	if err := checkSecret("joiner_secret", joinerSecret, nh); err != nil {
		return nil, err
	}
	pskSecret = orZero(pskSecret, nh)
	if err := checkSecret("psk_secret", pskSecret, nh); err != nil {
		return nil, err
	}
	return s.Extract(joinerSecret, pskSecret), nil
}

// WelcomeSecret derives welcome_secret from the joiner_secret and
// psk_secret (§8), which is all a new member knows before it has decrypted
// the GroupInfo of a Welcome. A nil pskSecret stands for the zero vector.
func WelcomeSecret(s *suite.Suite, joinerSecret, pskSecret []byte) ([]byte, error) {
	member, err := memberSecret(s, joinerSecret, pskSecret)
	if err != nil {
		return nil, err
	}
	defer clear(member)
	w, err := s.DeriveSecret(member, labelWelcome)
	if err != nil {
		return nil, internal("welcome_secret", err)
	}
	return w, nil
}

// WelcomeKeyNonce derives the AEAD key and nonce that encrypt the GroupInfo
// of a Welcome from welcome_secret (§12.4.3.1).
func WelcomeKeyNonce(s *suite.Suite, welcomeSecret []byte) (key, nonce []byte, err error) {
	if err := checkSecret("welcome_secret", welcomeSecret, s.HashSize()); err != nil {
		return nil, nil, err
	}
	// §12.4.3.1: welcome_nonce = ExpandWithLabel(welcome_secret, "nonce", "", AEAD.Nn),
	// welcome_key = ExpandWithLabel(welcome_secret, "key", "", AEAD.Nk).
	nonce, err = s.ExpandWithLabel(welcomeSecret, "nonce", nil, s.AEADNonceSize())
	if err != nil {
		return nil, nil, internal("welcome_nonce", err)
	}
	key, err = s.ExpandWithLabel(welcomeSecret, "key", nil, s.AEADKeySize())
	if err != nil {
		clear(nonce)
		return nil, nil, internal("welcome_key", err)
	}
	return key, nonce, nil
}

// FromEpochSecret derives the secrets of an epoch from its epoch_secret
// (§8). A group creator uses it with a fresh random epoch_secret for epoch 0
// (§11); [Derive] and [Join] use it for every later epoch.
func FromEpochSecret(s *suite.Suite, epochSecret []byte) (*Secrets, error) {
	if err := checkSecret("epoch_secret", epochSecret, s.HashSize()); err != nil {
		return nil, err
	}
	x := new(Secrets)
	for _, d := range []struct {
		out   *[]byte
		label string
	}{
		{&x.SenderData, labelSenderData},
		{&x.Encryption, labelEncryption},
		{&x.Exporter, labelExporter},
		{&x.External, labelExternal},
		{&x.Confirmation, labelConfirm},
		{&x.Membership, labelMembership},
		{&x.Resumption, labelResumption},
		{&x.EpochAuthenticator, labelAuthenticator},
		{&x.Init, labelInit},
	} {
		v, err := s.DeriveSecret(epochSecret, d.label)
		if err != nil {
			x.Wipe()
			return nil, internal(d.label, err)
		}
		*d.out = v
	}
	return x, nil
}

// Wipe zeroes every secret and drops the references.
func (x *Secrets) Wipe() {
	for _, p := range []*[]byte{
		&x.SenderData, &x.Encryption, &x.Exporter, &x.External, &x.Confirmation,
		&x.Membership, &x.Resumption, &x.EpochAuthenticator, &x.Init,
	} {
		clear(*p)
		*p = nil
	}
}

// Wipe zeroes the joiner and welcome secrets and every epoch secret.
func (e *Epoch) Wipe() {
	clear(e.JoinerSecret)
	clear(e.WelcomeSecret)
	e.JoinerSecret, e.WelcomeSecret = nil, nil
	e.Secrets.Wipe()
}

// ExternalKeyPair derives the group's external HPKE key pair from
// external_secret: external_priv, external_pub =
// KEM.DeriveKeyPair(external_secret) (§8). The public key is published in
// the GroupInfo's external_pub extension.
func (x *Secrets) ExternalKeyPair(s *suite.Suite) (priv, pub []byte, err error) {
	if err := checkSecret("external_secret", x.External, s.HashSize()); err != nil {
		return nil, nil, err
	}
	priv, pub, err = s.DeriveKeyPair(x.External)
	if err != nil {
		return nil, nil, internal("external key pair", err)
	}
	return priv, pub, nil
}

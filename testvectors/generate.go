package testvectors

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// ErrUnknownKind reports a vector kind this package does not know (or
// cannot generate).
var ErrUnknownKind = errors.New("testvectors: unknown kind")

// generators make the cases of one file of a kind for one suite. They
// follow the parameters of FORMAT.md (the official generator's where it
// fixes them) with fresh random choices.
var generators = map[string]func(*suite.Suite, io.Reader) ([]Case, error){
	"crypto-basics":      generateCryptoBasics,
	"key-schedule":       generateKeySchedule,
	"secret-tree":        generateSecretTree,
	"message-protection": generateMessageProtection,
	"welcome":            generateWelcome,
	"treekem":            generateTreeKEM,
}

// GenerateKinds returns the kinds Generate makes, sorted: those whose cases
// are made for one cipher suite from chosen inputs.
func GenerateKinds() []string { return slices.Sorted(maps.Keys(generators)) }

// Generate returns new cases of a vector file of the given kind for suite
// s, in the format of the official files (FORMAT.md; encode them with
// encoding/json), so that other implementations can check suites the
// official set lacks, such as the post-quantum ones. Every choice is drawn
// from rand (nil means crypto/rand); encryption and signing may use fresh
// system randomness too, so outputs differ between runs, and each one
// passes Verify. An unknown kind yields ErrUnknownKind.
func Generate(kind string, s *suite.Suite, rand io.Reader) ([]Case, error) {
	gen, ok := generators[kind]
	if !ok {
		return nil, fmt.Errorf("%w %q for generation (known: %v)", ErrUnknownKind, kind, GenerateKinds())
	}
	cases, err := gen(s, randOrDefault(rand))
	if err != nil {
		return nil, fmt.Errorf("testvectors: generating %s for %v: %w", kind, s, err)
	}
	return cases, nil
}

func randOrDefault(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}

// chooser draws random inputs, keeping the first error (sticky, like
// wire.Builder).
type chooser struct {
	r   io.Reader
	err error
}

func (c *chooser) bytes(n int) HexBytes {
	b := make([]byte, n)
	if c.err == nil {
		_, c.err = io.ReadFull(c.r, b)
	}
	return b
}

func (c *chooser) uint32() uint32 { return binary.BigEndian.Uint32(c.bytes(4)) }

// label returns a random label, printable as the official ones are.
func (c *chooser) label() string { return hex.EncodeToString(c.bytes(16)) }

func generateCryptoBasics(s *suite.Suite, r io.Reader) ([]Case, error) {
	ch := &chooser{r: r}
	nh := s.HashSize()
	c := &CryptoBasics{Suite: uint16(s.ID())}
	rh, ex, ds, dt := &c.RefHash, &c.ExpandWithLabel, &c.DeriveSecret, &c.DeriveTreeSecret
	sw, ew := &c.SignWithLabel, &c.EncryptWithLabel
	rh.Label, rh.Value = "RefHash", ch.bytes(nh)
	ex.Secret, ex.Label, ex.Context, ex.Length = ch.bytes(nh), "ExpandWithLabel", ch.bytes(nh), 16
	ds.Secret, ds.Label = ch.bytes(nh), "DeriveSecret"
	dt.Secret, dt.Label, dt.Generation, dt.Length = ch.bytes(nh), "DeriveTreeSecret", ch.uint32(), uint16(nh)
	sw.Label, sw.Content = "SignWithLabel", ch.bytes(nh)
	ew.Label, ew.Context, ew.Plaintext = "EncryptWithLabel", ch.bytes(nh), ch.bytes(nh)
	if ch.err != nil {
		return nil, ch.err
	}

	rh.Out = s.RefHash(rh.Label, rh.Value)
	var err error
	if ex.Out, err = s.ExpandWithLabel(ex.Secret, ex.Label, ex.Context, int(ex.Length)); err != nil {
		return nil, err
	}
	if ds.Out, err = s.DeriveSecret(ds.Secret, ds.Label); err != nil {
		return nil, err
	}
	if dt.Out, err = s.DeriveTreeSecret(dt.Secret, dt.Label, dt.Generation, int(dt.Length)); err != nil {
		return nil, err
	}
	if sw.Priv, sw.Pub, err = s.GenerateSignatureKey(r); err != nil {
		return nil, err
	}
	signer, err := s.NewSigner(sw.Priv)
	if err != nil {
		return nil, err
	}
	if sw.Signature, err = s.SignWithLabel(signer, sw.Label, sw.Content); err != nil {
		return nil, err
	}
	if ew.Priv, ew.Pub, err = s.GenerateKeyPair(r); err != nil {
		return nil, err
	}
	if ew.KEMOutput, ew.Ciphertext, err = s.EncryptWithLabel(r, ew.Pub, ew.Label, ew.Context, ew.Plaintext); err != nil {
		return nil, err
	}
	return []Case{c}, nil
}

// keyScheduleEpochs is the number of epochs of a key-schedule case, as in
// the official set.
const keyScheduleEpochs = 5

func generateKeySchedule(s *suite.Suite, r io.Reader) ([]Case, error) {
	ch := &chooser{r: r}
	nh := s.HashSize()
	c := &KeySchedule{Suite: uint16(s.ID()), GroupID: ch.bytes(nh), InitialInitSecret: ch.bytes(nh)}
	c.Epochs = make([]KeyScheduleEpoch, keyScheduleEpochs)
	initSecret := []byte(c.InitialInitSecret)
	for i := range c.Epochs {
		ep := &c.Epochs[i]
		ep.TreeHash, ep.CommitSecret, ep.ConfirmedTranscriptHash = ch.bytes(nh), ch.bytes(nh), ch.bytes(nh)
		ep.PSKSecret = ch.bytes(nh)
		if i == 0 {
			ep.PSKSecret = make(HexBytes, nh) // no PSK: the zero vector
		}
		gc, err := wire.Marshal(&vectorGroupContext{CipherSuite: c.Suite, GroupID: c.GroupID, Epoch: uint64(i),
			TreeHash: ep.TreeHash, ConfirmedTranscriptHash: ep.ConfirmedTranscriptHash})
		if err != nil {
			return nil, err
		}
		ep.GroupContext = gc
		e, err := keyschedule.Derive(s, initSecret, ep.CommitSecret, ep.PSKSecret, gc)
		if err != nil {
			return nil, err
		}
		ep.JoinerSecret, ep.WelcomeSecret, ep.InitSecret = e.JoinerSecret, e.WelcomeSecret, e.Init
		ep.SenderDataSecret, ep.EncryptionSecret, ep.ExporterSecret = e.SenderData, e.Encryption, e.Exporter
		ep.EpochAuthenticator, ep.ExternalSecret, ep.ConfirmationKey = e.EpochAuthenticator, e.External, e.Confirmation
		ep.MembershipKey, ep.ResumptionPSK = e.Membership, e.Resumption
		if _, ep.ExternalPub, err = e.ExternalKeyPair(s); err != nil {
			return nil, err
		}
		x := &ep.Exporter
		x.Label, x.Context, x.Length = ch.label(), ch.bytes(nh), uint32(nh)
		if x.Secret, err = e.Export(s, x.Label, x.Context, int(x.Length)); err != nil {
			return nil, err
		}
		initSecret = e.Init
	}
	if ch.err != nil {
		return nil, ch.err
	}
	return []Case{c}, nil
}

// The secret-tree cases of one suite, as in the official set: trees of 1,
// 8 and 32 leaves, each leaf at generations 0 and 15.
var (
	secretTreeLeaves      = []uint32{1, 8, 32}
	SecretTreeGenerations = []uint32{0, 15}
)

func generateSecretTree(s *suite.Suite, r io.Reader) ([]Case, error) {
	ch := &chooser{r: r}
	nh := s.HashSize()
	var cases []Case
	for _, n := range secretTreeLeaves {
		c := &SecretTree{Suite: uint16(s.ID()), EncryptionSecret: ch.bytes(nh)}
		sd := &c.SenderData
		sd.SenderDataSecret, sd.Ciphertext = ch.bytes(nh), ch.bytes(nh+16)
		key, nonce, err := keyschedule.SenderDataKeyNonce(s, sd.SenderDataSecret, sd.Ciphertext)
		if err != nil {
			return nil, err
		}
		sd.Key, sd.Nonce = key, nonce
		if ch.err != nil {
			return nil, ch.err
		}
		tree, err := keyschedule.NewSecretTree(s, c.EncryptionSecret, n, keyschedule.Config{})
		if err != nil {
			return nil, err
		}
		for leaf := range n {
			var gens []SecretTreeGeneration
			for _, g := range SecretTreeGenerations {
				hk, hn, err := tree.ReceiveKey(treekem.LeafIndex(leaf), keyschedule.Handshake, g)
				if err != nil {
					return nil, err
				}
				ak, an, err := tree.ReceiveKey(treekem.LeafIndex(leaf), keyschedule.Application, g)
				if err != nil {
					return nil, err
				}
				gens = append(gens, SecretTreeGeneration{Generation: g, HandshakeKey: slices.Clone(hk),
					HandshakeNonce: slices.Clone(hn), ApplicationKey: slices.Clone(ak), ApplicationNonce: slices.Clone(an)})
			}
			c.Leaves = append(c.Leaves, gens)
		}
		tree.Wipe()
		cases = append(cases, c)
	}
	return cases, nil
}

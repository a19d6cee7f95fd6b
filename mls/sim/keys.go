package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/treekem"
)

// keys derives everything a simulated member needs from the seed, so that
// no per-member private state is kept: member id's signature key, its
// KeyPackage (and so its leaf key), and the randomness of each commit.
type keys struct {
	cs   *suite.Suite
	seed uint64
	now  time.Time
	// dress, if set, completes each member's Config (a run through a
	// delivery service: ds.go).
	dress func(id uint64, cfg *mls.Config) error
}

// epochTime is the clock of every simulated client, fixed so that a run
// is reproducible.
var epochTime = time.Unix(1_767_225_600, 0) // 2026-01-01

func newKeys(cs *suite.Suite, seed uint64) *keys {
	return &keys{cs: cs, seed: seed, now: epochTime}
}

// Stream labels: each kind of randomness has its own streams.
const (
	streamSig      = "signature key"
	streamMember   = "member"   // NewGroup or NewKeyPackage of a member
	streamClient   = "client"   // an observer's randomness after joining
	streamCommit   = "commit"   // the randomness of a simulated commit
	streamNode     = "node"     // a parent key of the steady-state tree
	streamGroup    = "group"    // the group ID and the restarted group
	streamChoices  = "choices"  // the run's random choices
	streamMessages = "messages" // application message contents
)

// stream returns the ChaCha8 stream of a label and index.
func (k *keys) stream(label string, i uint64) *rand.ChaCha8 {
	b := make([]byte, 0, 64)
	b = append(b, "mls sim v1|"...)
	b = binary.BigEndian.AppendUint64(b, k.seed)
	b = append(b, label...)
	b = binary.BigEndian.AppendUint64(b, i)
	return rand.NewChaCha8(sha256.Sum256(b))
}

// signer returns member id's signer, deriving its key (once).
func (k *keys) signer(id uint64) (suite.Signer, error) {
	return k.cs.GenerateSigner(k.stream(streamSig, id))
}

// config returns member id's Config with randomness rnd.
func (k *keys) config(id uint64, rnd io.Reader) (mls.Config, error) {
	s, err := k.signer(id)
	if err != nil {
		return mls.Config{}, fmt.Errorf("sim: signature key of member %d: %w", id, err)
	}
	return k.configWith(id, s, rnd)
}

// configWith returns member id's Config with its signer s and randomness
// rnd.
func (k *keys) configWith(id uint64, s suite.Signer, rnd io.Reader) (mls.Config, error) {
	cfg := mls.Config{
		Suite:      k.cs.ID(),
		Signer:     s,
		Credential: treekem.BasicCredential(fmt.Appendf(nil, "member-%d", id)),
		Rand:       rnd,
		Now:        func() time.Time { return k.now },
	}
	if k.dress != nil {
		if err := k.dress(id, &cfg); err != nil {
			return mls.Config{}, fmt.Errorf("sim: credential of member %d: %w", id, err)
		}
	}
	return cfg, nil
}

// keyPackage returns member id's KeyPackage (an MLSMessage) and its
// private part; the same every time.
func (k *keys) keyPackage(id uint64) ([]byte, *mls.KeyPackagePrivate, error) {
	kp, priv, _, err := k.keyPackageAndSigner(id)
	return kp, priv, err
}

// keyPackageAndSigner is keyPackage, also returning member id's signer.
func (k *keys) keyPackageAndSigner(id uint64) ([]byte, *mls.KeyPackagePrivate, suite.Signer, error) {
	s, err := k.signer(id)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("sim: signature key of member %d: %w", id, err)
	}
	cfg, err := k.configWith(id, s, k.stream(streamMember, id))
	if err != nil {
		return nil, nil, nil, err
	}
	kp, priv, err := mls.NewKeyPackage(cfg, nil)
	return kp, priv, s, err
}

// firstKeyPair returns the HPKE key pair that the first GenerateKeyPair
// on stream (label, i) gives.
func (k *keys) firstKeyPair(label string, i uint64) (priv, pub []byte, err error) {
	return k.cs.GenerateKeyPair(k.stream(label, i))
}

// checkKey returns priv if its public key is want.
func checkKey(priv, pub, want []byte, what string) ([]byte, error) {
	if !bytes.Equal(pub, want) {
		return nil, fmt.Errorf("sim: the key derived from the seed for %s is not the tree's", what)
	}
	return priv, nil
}

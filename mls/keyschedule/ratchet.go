package keyschedule

import (
	"fmt"
	"math"
	"slices"

	"github.com/mlsengine/engine/mls/suite"
)

// Kind selects one of the two hash ratchets of a sender (§9).
type Kind uint8

// The two ratchets of each leaf: handshake messages (proposals and commits)
// and application messages use distinct key sequences (§9.1).
const (
	Handshake   Kind = 0
	Application Kind = 1
)

func (k Kind) String() string {
	switch k {
	case Handshake:
		return "handshake"
	case Application:
		return "application"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

func (k Kind) valid() bool { return k == Handshake || k == Application }

// Defaults of [Config].
const (
	DefaultMaxForwardDistance = 1024
	DefaultMaxRetainedKeys    = 64
)

// Config bounds the work and memory a sender ratchet spends on reordered
// messages (§15.3). The zero value selects the defaults.
type Config struct {
	// MaxForwardDistance is how many generations a received message may
	// skip ahead of the next expected one; a message further ahead is
	// refused with ErrTooFarAhead, so that a malicious generation number
	// cannot force billions of derivations. 0 means
	// DefaultMaxForwardDistance; a negative value allows no skipping.
	MaxForwardDistance int
	// MaxRetainedKeys is how many keys of skipped generations each ratchet
	// keeps for messages that arrive late; the oldest are deleted first.
	// 0 means DefaultMaxRetainedKeys; a negative value keeps none.
	MaxRetainedKeys int
}

func (c Config) maxForward() uint32 {
	switch {
	case c.MaxForwardDistance == 0:
		return DefaultMaxForwardDistance
	case c.MaxForwardDistance < 0:
		return 0
	case uint64(c.MaxForwardDistance) > math.MaxUint32:
		return math.MaxUint32
	}
	return uint32(c.MaxForwardDistance)
}

func (c Config) maxRetained() int {
	switch {
	case c.MaxRetainedKeys == 0:
		return DefaultMaxRetainedKeys
	case c.MaxRetainedKeys < 0:
		return 0
	case uint64(c.MaxRetainedKeys) > math.MaxUint32:
		return math.MaxUint32 // no ratchet can skip more
	}
	return c.MaxRetainedKeys
}

// ratchet is one sender hash ratchet (§9.1).
type ratchet struct {
	// next is the generation of secret: every generation below it has been
	// consumed, skipped or retained.
	next uint32
	// secret is ratchet_secret_[next]; nil once generation 2^32-1 has been
	// consumed.
	secret []byte
	// floor: a generation below floor that is not retained was dropped
	// from the out-of-order window rather than consumed.
	floor uint32
	// retained holds the keys of skipped generations, by generation.
	retained []retainedKey
}

type retainedKey struct {
	gen        uint32
	key, nonce []byte
}

func (k *retainedKey) wipe() {
	clear(k.key)
	clear(k.nonce)
	k.key, k.nonce = nil, nil
}

func (r *ratchet) wipe() {
	clear(r.secret)
	r.secret = nil
	for i := range r.retained {
		r.retained[i].wipe()
	}
	r.retained = nil
}

// find returns the index of generation gen in r.retained.
func (r *ratchet) find(gen uint32) (int, bool) {
	return slices.BinarySearchFunc(r.retained, gen, func(k retainedKey, g uint32) int {
		switch {
		case k.gen < g:
			return -1
		case k.gen > g:
			return 1
		}
		return 0
	})
}

// keyNonce derives ratchet_key_[N]_[j] and ratchet_nonce_[N]_[j] from
// ratchet_secret_[N]_[j] (§9.1).
func keyNonce(s *suite.Suite, secret []byte, j uint32) (key, nonce []byte, err error) {
	nonce, err = s.DeriveTreeSecret(secret, "nonce", j, s.AEADNonceSize())
	if err != nil {
		return nil, nil, internal("ratchet nonce", err)
	}
	key, err = s.DeriveTreeSecret(secret, "key", j, s.AEADKeySize())
	if err != nil {
		clear(nonce)
		return nil, nil, internal("ratchet key", err)
	}
	return key, nonce, nil
}

// nextSecret derives ratchet_secret_[N]_[j+1] from ratchet_secret_[N]_[j]
// (§9.1).
func nextSecret(s *suite.Suite, secret []byte, j uint32) ([]byte, error) {
	v, err := s.DeriveTreeSecret(secret, "secret", j, s.HashSize())
	if err != nil {
		return nil, internal("ratchet secret", err)
	}
	return v, nil
}

// send consumes the next generation of r for an outgoing message.
func (r *ratchet) send(s *suite.Suite) (gen uint32, key, nonce []byte, err error) {
	if r.secret == nil {
		return r.next, nil, nil, ErrExhausted
	}
	gen = r.next
	key, nonce, err = keyNonce(s, r.secret, gen)
	if err != nil {
		return 0, nil, nil, err
	}
	var succ []byte
	if gen < math.MaxUint32 {
		if succ, err = nextSecret(s, r.secret, gen); err != nil {
			clear(key)
			clear(nonce)
			return 0, nil, nil, err
		}
	}
	// §9.2: the ratchet secret of a used generation is consumed.
	clear(r.secret)
	r.secret = succ
	if succ != nil {
		r.next = gen + 1
	}
	return gen, key, nonce, nil
}

// receive finds or derives the key and nonce of generation gen and passes
// them to use. Only if use returns nil is the generation consumed: its key
// deleted, the ratchet advanced past it and the keys of skipped generations
// retained (§9.2, §15.3). Otherwise r is unchanged. The key and nonce are
// zeroed when use returns.
func (r *ratchet) receive(s *suite.Suite, cfg Config, gen uint32, use func(key, nonce []byte) error) error {
	if i, ok := r.find(gen); ok {
		k := &r.retained[i]
		// use gets copies, zeroed on return, so that the retained key
		// survives a failed use intact.
		key, nonce := clone(k.key), clone(k.nonce)
		err := use(key, nonce)
		clear(key)
		clear(nonce)
		if err != nil {
			return err
		}
		k.wipe()
		r.retained = slices.Delete(r.retained, i, i+1)
		return nil
	}
	if r.secret == nil || gen < r.next {
		if gen < r.floor {
			return ErrExpired
		}
		return ErrReplay
	}
	dist := gen - r.next
	if dist > cfg.maxForward() {
		return ErrTooFarAhead
	}

	// Derive without touching r, so that a failed use leaves it as it was.
	maxRetained := cfg.maxRetained()
	keepFrom := r.next // first skipped generation whose key is kept
	if dist > uint32(maxRetained) {
		keepFrom = gen - uint32(maxRetained)
	}
	var skipped []retainedKey
	wipeSkipped := func() {
		for i := range skipped {
			skipped[i].wipe()
		}
	}
	cur, owned := r.secret, false // cur is r.secret until the first step
	dropCur := func() {
		if owned {
			clear(cur)
		}
	}
	for j := r.next; j < gen; j++ {
		if j >= keepFrom {
			key, nonce, err := keyNonce(s, cur, j)
			if err != nil {
				dropCur()
				wipeSkipped()
				return err
			}
			skipped = append(skipped, retainedKey{gen: j, key: key, nonce: nonce})
		}
		succ, err := nextSecret(s, cur, j)
		if err != nil {
			dropCur()
			wipeSkipped()
			return err
		}
		dropCur()
		cur, owned = succ, true
	}
	key, nonce, err := keyNonce(s, cur, gen)
	if err != nil {
		dropCur()
		wipeSkipped()
		return err
	}
	defer clear(key)
	defer clear(nonce)
	var succ []byte
	if gen < math.MaxUint32 {
		if succ, err = nextSecret(s, cur, gen); err != nil {
			dropCur()
			wipeSkipped()
			return err
		}
	}
	dropCur()
	if err := use(key, nonce); err != nil {
		clear(succ)
		wipeSkipped()
		return err
	}

	// Commit. §9.2: every ratchet secret up to generation gen is consumed.
	clear(r.secret)
	r.secret = succ
	if keepFrom > r.next {
		// Generations [next, keepFrom) were skipped without keeping keys.
		r.floor = keepFrom
	}
	if succ != nil {
		r.next = gen + 1
	} else {
		r.next = gen
	}
	r.retained = append(r.retained, skipped...)
	r.evict(maxRetained)
	return nil
}

// evict deletes the oldest retained keys beyond max.
func (r *ratchet) evict(max int) {
	n := len(r.retained) - max
	if n <= 0 {
		return
	}
	for i := range n {
		r.retained[i].wipe()
	}
	if g := r.retained[n-1].gen + 1; g > r.floor {
		r.floor = g
	}
	r.retained = slices.Delete(r.retained, 0, n)
}

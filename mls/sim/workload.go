package sim

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Mix weighs the kinds of commit of the measured epochs: each epoch's
// kind is drawn with probability proportional to its weight. A Remove
// epoch that finds nobody to remove (only the observers and the committer
// are left) commits an update instead.
//
// The zero Mix means equal weights, update=1,add=1,remove=1 (the Mix of
// DefaultOptions).
type Mix struct {
	Update int `json:"update"`
	Add    int `json:"add"`
	Remove int `json:"remove"`
}

// defaultMix draws the three kinds with equal probability.
var defaultMix = Mix{Update: 1, Add: 1, Remove: 1}

// maxWeight bounds a Mix weight, so that their sum fits any int.
const maxWeight = 1 << 20

// ParseMix parses the syntax of `mls sim --mix`: comma-separated
// KIND=WEIGHT pairs, KIND one of update, add and remove, each at most
// once, WEIGHT a whole number from 0 to 2^20. A kind not named has weight
// 0; at least one weight must be positive. ParseMix(m.String()) is m.
func ParseMix(s string) (Mix, error) {
	var m Mix
	seen := map[string]bool{}
	for pair := range strings.SplitSeq(s, ",") {
		kind, w, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok {
			return Mix{}, fmt.Errorf("%w: mix: %q is not KIND=WEIGHT (such as update=8,add=1,remove=1)", ErrInvalidOptions, pair)
		}
		weight, err := strconv.Atoi(w)
		if err != nil || weight < 0 || weight > maxWeight {
			return Mix{}, fmt.Errorf("%w: mix: weight %q is not a whole number from 0 to %d", ErrInvalidOptions, w, maxWeight)
		}
		if seen[kind] {
			return Mix{}, fmt.Errorf("%w: mix: %s given twice", ErrInvalidOptions, kind)
		}
		seen[kind] = true
		switch kind {
		case opUpdate:
			m.Update = weight
		case opAdd:
			m.Add = weight
		case opRemove:
			m.Remove = weight
		default:
			return Mix{}, fmt.Errorf("%w: mix: unknown kind %q, want update, add or remove", ErrInvalidOptions, kind)
		}
	}
	if m == (Mix{}) {
		return Mix{}, fmt.Errorf("%w: mix: every weight is 0", ErrInvalidOptions)
	}
	return m, nil
}

// String returns m in the syntax of ParseMix.
func (m Mix) String() string {
	return fmt.Sprintf("update=%d,add=%d,remove=%d", m.Update, m.Add, m.Remove)
}

func (m Mix) check() error {
	for _, w := range []int{m.Update, m.Add, m.Remove} {
		if w < 0 || w > maxWeight {
			return fmt.Errorf("%w: mix %v: weights are from 0 to %d", ErrInvalidOptions, m, maxWeight)
		}
	}
	return nil
}

// draw returns a kind drawn with rng. The weights are divided by their
// greatest common divisor first, so that proportional mixes make the same
// run: defaultMix draws rng.IntN(3), as every run did before mixes.
func (m Mix) draw(rng *rand.Rand) string {
	w := []int{m.Update, m.Add, m.Remove}
	g := 0
	for _, v := range w {
		g = gcd(g, v)
	}
	x := rng.IntN((m.Update + m.Add + m.Remove) / g)
	for i, kind := range []string{opUpdate, opAdd, opRemove} {
		if x < w[i]/g {
			return kind
		}
		x -= w[i] / g
	}
	panic("unreachable")
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Committers chooses who commits each measured epoch.
//
// The zero Committers is uniform: every member of the group is equally
// likely (a leaf is drawn uniformly until it holds a member). With Zipf =
// S > 0, the members are ranked by when they joined: the creator first,
// then the members of the build in order, the observers, and the members
// added during the epochs, each after all before it. The member of rank k
// commits with probability proportional to k^-S among the members in the
// group at that epoch: a removed member never commits again, and its
// share goes to the others in proportion to their own (as if the law were
// drawn again until it named a member). Who is removed, and who adds the
// observers, is uniform either way.
type Committers struct {
	// Zipf is the exponent S, from 0 (uniform) to MaxZipf.
	Zipf float64
}

// MaxZipf bounds Committers.Zipf: at 10 the first member already makes
// 99.9% of the commits, and no member's weight (k^-S) underflows.
const MaxZipf = 10

// ParseCommitters parses the syntax of `mls sim --committers`: "uniform",
// or "zipf:S" with S a number from 0 to MaxZipf ("zipf:0" is uniform).
// ParseCommitters(c.String()) is c.
func ParseCommitters(s string) (Committers, error) {
	if s == "uniform" {
		return Committers{}, nil
	}
	exp, ok := strings.CutPrefix(s, "zipf:")
	if !ok {
		return Committers{}, fmt.Errorf("%w: committers: want uniform or zipf:S", ErrInvalidOptions)
	}
	v, err := strconv.ParseFloat(exp, 64)
	c := Committers{Zipf: v}
	if err != nil {
		return Committers{}, fmt.Errorf("%w: committers: Zipf exponent %q is not a number", ErrInvalidOptions, exp)
	}
	if err := c.check(); err != nil {
		return Committers{}, err
	}
	return c, nil
}

// String returns c in the syntax of ParseCommitters.
func (c Committers) String() string {
	if c.Zipf == 0 {
		return "uniform"
	}
	return "zipf:" + strconv.FormatFloat(c.Zipf, 'g', -1, 64)
}

// MarshalText encodes c as its String, "uniform" or "zipf:S".
func (c Committers) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText decodes what MarshalText encodes.
func (c *Committers) UnmarshalText(b []byte) error {
	v, err := ParseCommitters(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

func (c Committers) check() error {
	if !(c.Zipf >= 0 && c.Zipf <= MaxZipf) { // false for NaN too
		return fmt.Errorf("%w: committers: the Zipf exponent %v is not from 0 to %d", ErrInvalidOptions, c.Zipf, MaxZipf)
	}
	return nil
}

// errNoWeight reports a zipf draw from a picker holding no member.
var errNoWeight = errors.New("sim: no member left to draw a committer from")

// zipfPicker draws member ids: id with probability proportional to
// (id+1)^-s among the ids it holds. It is a Fenwick tree of the weights,
// so that adding, removing and drawing cost O(log n); a node is summed
// again from its children when an id below it changes (O(log² n)), so
// that removals leave no rounding residue behind.
type zipfPicker struct {
	s    float64
	held int
	w    []float64 // w[id] is id's weight, 0 if not held
	// tree[i] (1-based) is the sum of the weights of ids [i-lowbit(i), i).
	tree []float64
}

// newZipfPicker returns a picker for ids below capacity, holding
// [0, present).
func newZipfPicker(s float64, capacity, present int) *zipfPicker {
	z := &zipfPicker{s: s, held: present, w: make([]float64, capacity), tree: make([]float64, capacity+1)}
	for id := range present {
		z.w[id] = z.weight(uint64(id))
		z.tree[id+1] = z.w[id]
	}
	for i := 1; i <= capacity; i++ { // the sums, in O(n)
		if j := i + i&-i; j <= capacity {
			z.tree[j] += z.tree[i]
		}
	}
	return z
}

func (z *zipfPicker) weight(id uint64) float64 { return math.Pow(float64(id+1), -z.s) }

// add adds id, which the picker does not hold.
func (z *zipfPicker) add(id uint64) {
	z.held++
	z.set(id, z.weight(id))
}

// remove removes id, which the picker holds.
func (z *zipfPicker) remove(id uint64) {
	z.held--
	z.set(id, 0)
}

func (z *zipfPicker) set(id uint64, w float64) {
	z.w[id] = w
	for i := int(id) + 1; i < len(z.tree); i += i & -i {
		sum := z.w[i-1]
		for step := 1; step < i&-i; step <<= 1 {
			sum += z.tree[i-step]
		}
		z.tree[i] = sum
	}
}

// total returns the sum of the weights held.
func (z *zipfPicker) total() float64 {
	var t float64
	for i := len(z.tree) - 1; i > 0; i -= i & -i {
		t += z.tree[i]
	}
	return t
}

// draw returns an id drawn with rng. Rounding may, rarely, make it an id
// of weight 0 next to a held one: the caller checks and draws again.
func (z *zipfPicker) draw(rng *rand.Rand) (uint64, error) {
	if z.held == 0 {
		return 0, errNoWeight
	}
	u := rng.Float64() * z.total()
	n := len(z.tree) - 1
	pos := 0
	for step := 1 << (bits.Len(uint(n)) - 1); step > 0; step >>= 1 {
		if next := pos + step; next <= n && z.tree[next] <= u {
			pos = next
			u -= z.tree[next]
		}
	}
	return uint64(min(pos, n-1)), nil
}

package delivery

import (
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits keep one client from starving the others (RFC 9750 §8.1.3,
// "DoS Protection"). A zero field selects its default. Rates are token
// buckets (golang.org/x/time/rate) kept by each service process: with N
// processes sharing a store, a client gets up to N times the rate.
type Limits struct {
	// StreamsPerClient bounds a client's event streams and long polls at
	// once; one more gets 429. Default DefaultStreamsPerClient.
	StreamsPerClient int
	// MaxConnections bounds the connections Serve accepts at once; further
	// ones wait to be accepted. Default: DefaultMaxConnections, less if the
	// process's file descriptor limit is lower (it stays below it).
	MaxConnections int

	// Registrations per source address (IP).
	Registrations Rate
	// GroupCreations per client.
	GroupCreations Rate
	// Claims of KeyPackages per claimer (all targets), and per claimer and
	// target: one client cannot drain another's KeyPackages.
	Claims          Rate
	ClaimsPerTarget Rate
	// ClaimsOfTarget bounds the claims of one client's KeyPackages by all
	// claimers together.
	ClaimsOfTarget Rate
	// Uploads per client: KeyPackages, messages, GroupInfos.
	Uploads Rate
}

// Rate is a token bucket: Burst requests at once, refilled at PerSecond.
// A negative PerSecond means no limit.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Defaults of Limits.
const (
	DefaultStreamsPerClient = 16
	DefaultMaxConnections   = 8192
)

// Default rates of Limits.
var (
	DefaultRegistrations   = Rate{PerSecond: 1, Burst: 30}
	DefaultGroupCreations  = Rate{PerSecond: 1, Burst: 30}
	DefaultClaims          = Rate{PerSecond: 5, Burst: 100}
	DefaultClaimsPerTarget = Rate{PerSecond: 1.0 / 20, Burst: 3}
	DefaultClaimsOfTarget  = Rate{PerSecond: 0.5, Burst: 30}
	DefaultUploads         = Rate{PerSecond: 100, Burst: 1000}
)

func (r Rate) or(def Rate) Rate {
	if r == (Rate{}) {
		return def
	}
	return r
}

// limiter holds the buckets of one Rate, by key.
type limiter struct {
	rate    Rate
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// maxBuckets bounds a limiter's map: past it, full buckets (of keys idle
// long enough to have refilled) are forgotten.
const maxBuckets = 1 << 16

func newLimiter(r Rate) *limiter { return &limiter{rate: r, buckets: make(map[string]*rate.Limiter)} }

// allow takes a token of key's bucket, if there is one.
func (l *limiter) allow(key string) bool {
	if l.rate.PerSecond < 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.sweep()
		}
		b = rate.NewLimiter(rate.Limit(l.rate.PerSecond), max(l.rate.Burst, 1))
		l.buckets[key] = b
	}
	return b.Allow()
}

func (l *limiter) sweep() {
	now := time.Now()
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(b.Burst()) {
			delete(l.buckets, k)
		}
	}
}

// limits are a Server's.
type limits struct {
	streams                  int
	mu                       sync.Mutex
	open                     map[string]int // streams and long polls by client
	registrations, creations *limiter
	claims, pairs, ofTarget  *limiter
	uploads                  *limiter
}

func newLimits(l Limits) *limits {
	if l.StreamsPerClient <= 0 {
		l.StreamsPerClient = DefaultStreamsPerClient
	}
	return &limits{
		streams:       l.StreamsPerClient,
		open:          make(map[string]int),
		registrations: newLimiter(l.Registrations.or(DefaultRegistrations)),
		creations:     newLimiter(l.GroupCreations.or(DefaultGroupCreations)),
		claims:        newLimiter(l.Claims.or(DefaultClaims)),
		pairs:         newLimiter(l.ClaimsPerTarget.or(DefaultClaimsPerTarget)),
		ofTarget:      newLimiter(l.ClaimsOfTarget.or(DefaultClaimsOfTarget)),
		uploads:       newLimiter(l.Uploads.or(DefaultUploads)),
	}
}

// acquireStream counts a stream or long poll of client; false if the
// client has too many.
func (l *limits) acquireStream(client string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[client] >= l.streams {
		return false
	}
	l.open[client]++
	return true
}

func (l *limits) releaseStream(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[client]--; l.open[client] <= 0 {
		delete(l.open, client)
	}
}

// allowRegistration takes a registration token of the request's source
// address.
func (l *limits) allowRegistration(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return l.registrations.allow(host)
}

// allowClaim takes the tokens of a claim of target's KeyPackages by
// claimer.
func (l *limits) allowClaim(claimer, target string) bool {
	return l.claims.allow(claimer) && l.pairs.allow(claimer+"\x00"+target) && l.ofTarget.allow(target)
}

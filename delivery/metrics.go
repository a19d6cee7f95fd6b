package delivery

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mlsengine/engine/delivery/store"
)

// metrics are a Server's Prometheus metrics, written in the text exposition
// format (version 0.0.4) at /metrics. Labels are bounded sets (route
// patterns, status codes, content types): never group or client ids.
type metrics struct {
	mu     sync.Mutex
	routes map[string]*routeMetrics // by route pattern

	stored          [4]atomic.Uint64 // by content type
	duplicates      atomic.Uint64
	epochConflicts  [4]atomic.Uint64 // by content type
	fetched         atomic.Uint64
	kpUploaded      atomic.Uint64
	kpClaimed       atomic.Uint64
	kpLastResort    atomic.Uint64
	kpClaimsEmpty   atomic.Uint64
	welcomesQueued  atomic.Uint64
	welcomesDeleted atomic.Uint64
	listens         atomic.Uint64
	certificates    atomic.Uint64
	rejected        atomic.Uint64
	forbidden       atomic.Uint64
	rateLimited     atomic.Uint64
	snapshots       atomic.Uint64
	viewLoads       atomic.Uint64
	notifications   atomic.Uint64
	streams         atomic.Int64
	waiting         atomic.Int64
}

// durationBuckets are the upper bounds, in seconds, of the request duration
// histogram.
var durationBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

type routeMetrics struct {
	codes   map[int]uint64
	buckets []uint64 // counts per bucket, not cumulative; the last is +Inf
	sum     float64
	count   uint64
}

func newMetrics() *metrics { return &metrics{routes: make(map[string]*routeMetrics)} }

// observe records one request.
func (m *metrics) observe(route string, code int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	secs := d.Seconds()
	i, _ := slices.BinarySearch(durationBuckets, secs)
	m.mu.Lock()
	defer m.mu.Unlock()
	rm := m.routes[route]
	if rm == nil {
		rm = &routeMetrics{codes: make(map[int]uint64), buckets: make([]uint64, len(durationBuckets)+1)}
		m.routes[route] = rm
	}
	rm.codes[code]++
	rm.buckets[i]++
	rm.sum += secs
	rm.count++
}

func contentTypeLabel(ct int) string {
	return [...]string{"", "application", "proposal", "commit"}[ct]
}

// stored counts an appended message (or a duplicate of one).
func (m *metrics) appended(ct store.ContentType, a store.Appended) {
	if a.Duplicate {
		m.duplicates.Add(1)
	} else {
		m.stored[ct].Add(1)
	}
}

// refused counts a request refused with status.
func (m *metrics) refused(status int) {
	switch status {
	case http.StatusForbidden:
		m.forbidden.Add(1)
	case http.StatusUnprocessableEntity:
		m.rejected.Add(1)
	case http.StatusTooManyRequests:
		m.rateLimited.Add(1)
	}
}

// writeTo writes the exposition.
func (m *metrics) writeTo(w io.Writer) {
	p := &promWriter{w: w}
	m.mu.Lock()
	routes := make([]string, 0, len(m.routes))
	for r := range m.routes {
		routes = append(routes, r)
	}
	slices.Sort(routes)
	p.help("mls_ds_http_requests_total", "counter", "HTTP requests by route pattern and status code.")
	for _, r := range routes {
		codes := make([]int, 0, len(m.routes[r].codes))
		for c := range m.routes[r].codes {
			codes = append(codes, c)
		}
		slices.Sort(codes)
		for _, c := range codes {
			p.sample("mls_ds_http_requests_total", labels("route", r, "code", strconv.Itoa(c)), float64(m.routes[r].codes[c]))
		}
	}
	p.help("mls_ds_http_request_duration_seconds", "histogram", "HTTP request durations by route pattern (streams included).")
	for _, r := range routes {
		rm := m.routes[r]
		var cum uint64
		for i, n := range rm.buckets {
			cum += n
			le := "+Inf"
			if i < len(durationBuckets) {
				le = strconv.FormatFloat(durationBuckets[i], 'g', -1, 64)
			}
			p.sample("mls_ds_http_request_duration_seconds_bucket", labels("route", r, "le", le), float64(cum))
		}
		p.sample("mls_ds_http_request_duration_seconds_sum", labels("route", r), rm.sum)
		p.sample("mls_ds_http_request_duration_seconds_count", labels("route", r), float64(rm.count))
	}
	m.mu.Unlock()

	p.help("mls_ds_messages_stored_total", "counter", "Messages appended to group logs, by content type.")
	for ct := 1; ct <= 3; ct++ {
		p.sample("mls_ds_messages_stored_total", labels("content_type", contentTypeLabel(ct)), float64(m.stored[ct].Load()))
	}
	p.help("mls_ds_epoch_conflicts_total", "counter", "Messages refused for a stale or future epoch (commits that lost a race among them), by content type.")
	for ct := 1; ct <= 3; ct++ {
		p.sample("mls_ds_epoch_conflicts_total", labels("content_type", contentTypeLabel(ct)), float64(m.epochConflicts[ct].Load()))
	}
	counters := []struct {
		name, help string
		v          *atomic.Uint64
	}{
		{"mls_ds_duplicates_total", "Retried messages answered with their original position instead of being stored again.", &m.duplicates},
		{"mls_ds_messages_fetched_total", "Messages sent to members by fetches, long polls and streams.", &m.fetched},
		{"mls_ds_keypackages_uploaded_total", "KeyPackages added to the directory.", &m.kpUploaded},
		{"mls_ds_keypackages_claimed_total", "One-time KeyPackages handed out (and removed).", &m.kpClaimed},
		{"mls_ds_keypackages_last_resort_total", "Claims answered with a last-resort KeyPackage.", &m.kpLastResort},
		{"mls_ds_keypackage_claims_empty_total", "Claims that found no KeyPackage.", &m.kpClaimsEmpty},
		{"mls_ds_welcomes_queued_total", "Welcome queue entries created by winning commits (one per recipient).", &m.welcomesQueued},
		{"mls_ds_welcomes_deleted_total", "Welcomes deleted by their recipients after fetching them.", &m.welcomesDeleted},
		{"mls_ds_certificates_issued_total", "Certificates issued by the service's CA (registrations with a key, key rotations).", &m.certificates},
		{"mls_ds_rejected_total", "Handshake messages and GroupInfos of tracked groups refused by the group's view.", &m.rejected},
		{"mls_ds_forbidden_total", "Requests refused because the client may not make them (not a member, another member's message).", &m.forbidden},
		{"mls_ds_rate_limited_total", "Requests refused by a limit (streams, registrations, claims, uploads).", &m.rateLimited},
		{"mls_ds_view_snapshots_total", "Snapshots of tracked groups' views written to the store.", &m.snapshots},
		{"mls_ds_view_loads_total", "Tracked groups' views loaded from the store (a snapshot and the log after it).", &m.viewLoads},
		{"mls_ds_store_listens_total", "Times the server started listening for other processes' appends (PostgreSQL LISTEN).", &m.listens},
		{"mls_ds_store_notifications_total", "Appends announced by the store (by any process).", &m.notifications},
	}
	for _, c := range counters {
		p.help(c.name, "counter", c.help)
		p.sample(c.name, "", float64(c.v.Load()))
	}
	p.help("mls_ds_streams_open", "gauge", "Open event streams.")
	p.sample("mls_ds_streams_open", "", float64(m.streams.Load()))
	p.help("mls_ds_long_polls_waiting", "gauge", "Fetches waiting for new messages.")
	p.sample("mls_ds_long_polls_waiting", "", float64(m.waiting.Load()))
}

type promWriter struct{ w io.Writer }

func (p *promWriter) help(name, typ, help string) {
	fmt.Fprintf(p.w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func (p *promWriter) sample(name, labels string, v float64) {
	var s string
	switch {
	case math.IsInf(v, 1):
		s = "+Inf"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		s = strconv.FormatFloat(v, 'f', -1, 64)
	default:
		s = strconv.FormatFloat(v, 'g', -1, 64)
	}
	fmt.Fprintf(p.w, "%s%s %s\n", name, labels, s)
}

// labels formats name/value pairs as {a="x",b="y"}, escaping the values.
func labels(kv ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv[i])
		b.WriteString(`="`)
		b.WriteString(labelEscaper.Replace(kv[i+1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

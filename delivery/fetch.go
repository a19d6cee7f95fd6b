package delivery

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/mlsengine/engine/delivery/store"
)

// Limits of a fetch.
const (
	defaultFetchLimit = 100
	maxFetchLimit     = 1000
	// fetchChunk messages are read from the store at a time, and a response
	// stops growing after fetchBudget bytes, so that a fetch's memory stays
	// bounded whatever the messages' sizes.
	fetchChunk  = 64
	fetchBudget = 4 << 20
	// heartbeatInterval is how often an idle event stream sends a comment,
	// so that proxies and clients see it alive.
	heartbeatInterval = 15 * time.Second
	// streamWriteTimeout bounds each write to an event stream.
	streamWriteTimeout = 30 * time.Second
)

// reader filters what one client reads of a group's log: everything of an
// opaque group, a tracked group's messages within the client's
// memberships.
type reader struct {
	s      *Server
	tg     *trackedGroup // nil for an opaque group
	caller string
	acc    access
}

// newReader checks that caller may read the group gid.
func (s *Server) newReader(ctx context.Context, gid []byte, caller string) (*reader, error) {
	tg, acc, err := s.reading(ctx, gid, caller)
	if err != nil {
		return nil, err
	}
	defer tg.mu.Unlock()
	if tg.opaque {
		return &reader{s: s}, nil
	}
	if len(acc) == 0 {
		return nil, forbidden("only the group's members read its log")
	}
	return &reader{s: s, tg: tg, caller: caller, acc: acc}, nil
}

// filter returns the messages of ms the client may read. A handshake
// message among them that the view has not seen (another process stored
// it) makes the view catch up first, so that memberships are current.
func (rd *reader) filter(ctx context.Context, ms []store.Message) ([]store.Message, error) {
	if rd.tg == nil {
		return ms, nil
	}
	for _, m := range ms {
		if m.ContentType == store.ContentApplication {
			continue
		}
		rd.tg.mu.Lock()
		var err error
		if m.Seq > rd.tg.seq {
			err = rd.s.catchUp(ctx, rd.tg)
		}
		rd.acc = rd.tg.ix.spans(rd.caller)
		rd.tg.mu.Unlock()
		if err != nil {
			return nil, err
		}
		break
	}
	out := ms[:0:0]
	for _, m := range ms {
		if rd.acc.allows(m.Seq) {
			out = append(out, m)
		}
	}
	return out, nil
}

// ended reports whether nothing after cursor will ever be readable: the
// client's memberships all ended by then.
func (rd *reader) ended(cursor uint64) bool { return rd.tg != nil && rd.acc.ended(cursor) }

// handleFetch returns the group's messages after a cursor, waiting up to
// "wait" seconds for the first one if there is none yet (long poll).
func (s *Server) handleFetch(w http.ResponseWriter, r *http.Request, caller string) {
	gid, err := groupIDParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	after, err := uintParam(r, "after", 0, 1<<63-1)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit, err := uintParam(r, "limit", defaultFetchLimit, maxFetchLimit)
	if err == nil && limit == 0 {
		err = malformed("parameter limit", "want 1 to 1000")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	waitSecs, err := uintParam(r, "wait", 0, uint64(s.cfg.MaxWait/time.Second))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rd, err := s.newReader(r.Context(), gid, caller)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var deadline <-chan time.Time
	if waitSecs > 0 {
		if !s.limits.acquireStream(caller) {
			s.writeError(w, r, errRateLimited("event streams and long polls at once"))
			return
		}
		defer s.limits.releaseStream(caller)
		t := time.NewTimer(time.Duration(waitSecs) * time.Second)
		defer t.Stop()
		deadline = t.C
	}
	for {
		var wake <-chan struct{}
		release := func() {}
		if deadline != nil {
			wake, release = s.hub.subscribe(gid)
		}
		body, n, cursor, err := s.collect(r.Context(), rd, gid, after, int(limit))
		if err == nil && n == 0 && rd.ended(cursor) {
			err = forbidden("this client is no longer a member of the group")
		}
		if err != nil || n > 0 || deadline == nil {
			release()
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			s.metrics.fetched.Add(uint64(n))
			w.Header().Set("Content-Type", MediaTypeMessages)
			w.Header().Set("Mls-Cursor", strconv.FormatUint(cursor, 10))
			w.Write(body)
			return
		}
		after = cursor // past the messages the client may not read
		s.metrics.waiting.Add(1)
		timedOut := s.wait(r.Context(), wake, deadline)
		s.metrics.waiting.Add(-1)
		release()
		if err := r.Context().Err(); err != nil {
			s.writeError(w, r, err) // the client gave up: 499, not an error of ours
			return
		}
		if timedOut {
			deadline = nil // one more read, then answer even if empty
		}
	}
}

// wait blocks until wake is closed or the poll interval passes (false), or
// until deadline, the request's end or the server's (true).
func (s *Server) wait(ctx context.Context, wake <-chan struct{}, deadline <-chan time.Time) bool {
	poll := time.NewTimer(s.cfg.PollInterval)
	defer poll.Stop()
	select {
	case <-wake:
	case <-poll.C:
	case <-deadline:
		return true
	case <-ctx.Done():
		return true
	case <-s.done:
		return true
	}
	return false
}

// collect encodes up to limit messages after the cursor that rd may read
// as log entries and returns the new cursor: the last sequence number
// included or skipped, or after.
func (s *Server) collect(ctx context.Context, rd *reader, gid []byte, after uint64, limit int) (body []byte, n int, cursor uint64, err error) {
	cursor = after
	for n < limit && len(body) < fetchBudget {
		want := min(fetchChunk, limit-n)
		ms, err := s.st.Messages(ctx, gid, cursor, want)
		if err != nil {
			return nil, 0, 0, err
		}
		full := len(ms) == want
		last := cursor
		if len(ms) > 0 {
			last = ms[len(ms)-1].Seq
		}
		if ms, err = rd.filter(ctx, ms); err != nil {
			return nil, 0, 0, err
		}
		for i := range ms {
			if body, err = appendEntry(body, &ms[i]); err != nil {
				return nil, 0, 0, err
			}
			cursor = ms[i].Seq
			n++
			if len(body) >= fetchBudget {
				return body, n, cursor, nil
			}
		}
		cursor = last
		if !full {
			break
		}
	}
	return body, n, cursor, nil
}

// handleEvents streams the group's messages after a cursor as server-sent
// events, until the client or the server goes away. The cursor is the
// Last-Event-ID header of a reconnecting client, else the "after" parameter.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request, caller string) {
	gid, err := groupIDParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var after uint64
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		after, err = strconv.ParseUint(id, 10, 63)
		if err != nil {
			s.writeError(w, r, malformed("Last-Event-ID", "want a sequence number"))
			return
		}
	} else if after, err = uintParam(r, "after", 0, 1<<63-1); err != nil {
		s.writeError(w, r, err)
		return
	}
	rd, err := s.newReader(r.Context(), gid, caller)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !s.limits.acquireStream(caller) {
		s.writeError(w, r, errRateLimited("event streams and long polls at once"))
		return
	}
	defer s.limits.releaseStream(caller)
	s.metrics.streams.Add(1)
	defer s.metrics.streams.Add(-1)

	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(format string, args ...any) bool {
		rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("retry: 2000\n\n") {
		return
	}
	heartbeat := time.NewTicker(heartbeatInterval)
	defer heartbeat.Stop()
	for {
		wake, release := s.hub.subscribe(gid)
		ms, err := s.st.Messages(r.Context(), gid, after, fetchChunk)
		var readable []store.Message
		if err == nil {
			readable, err = rd.filter(r.Context(), ms)
		}
		if err != nil {
			release()
			if r.Context().Err() == nil {
				s.log.Error("delivery: event stream", "err", err)
			}
			return
		}
		if len(ms) > 0 && len(readable) == 0 {
			release()
			after = ms[len(ms)-1].Seq
			continue
		}
		if rd.ended(after) {
			release()
			return // the client is no longer a member
		}
		if len(ms) > 0 {
			release()
			for _, m := range readable {
				if !send("id: %d\nevent: message\ndata: %s\n\n", m.Seq, base64.StdEncoding.EncodeToString(m.Data)) {
					return
				}
			}
			after = ms[len(ms)-1].Seq
			s.metrics.fetched.Add(uint64(len(readable)))
			continue
		}
		poll := time.NewTimer(s.cfg.PollInterval)
		alive := true
		select {
		case <-wake:
		case <-poll.C:
		case <-heartbeat.C:
			alive = send(": keepalive\n\n")
		case <-r.Context().Done():
			alive = false
		case <-s.done:
			alive = false
		}
		poll.Stop()
		release()
		if !alive {
			return
		}
	}
}

package delivery

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"time"
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

// handleFetch returns the group's messages after a cursor, waiting up to
// "wait" seconds for the first one if there is none yet (long poll).
func (s *Server) handleFetch(w http.ResponseWriter, r *http.Request, _ string) {
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
	var deadline <-chan time.Time
	if waitSecs > 0 {
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
		body, n, cursor, err := s.collect(r.Context(), gid, after, int(limit))
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
		s.metrics.waiting.Add(1)
		timedOut := s.wait(r.Context(), wake, deadline)
		s.metrics.waiting.Add(-1)
		release()
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

// collect encodes up to limit messages after the cursor as log entries and
// returns the new cursor (the last sequence number included, or after).
func (s *Server) collect(ctx context.Context, gid []byte, after uint64, limit int) (body []byte, n int, cursor uint64, err error) {
	cursor = after
	for n < limit && len(body) < fetchBudget {
		want := min(fetchChunk, limit-n)
		ms, err := s.st.Messages(ctx, gid, cursor, want)
		if err != nil {
			return nil, 0, 0, err
		}
		for i := range ms {
			if body, err = appendEntry(body, &ms[i]); err != nil {
				return nil, 0, 0, err
			}
			cursor = ms[i].Seq
			n++
			if len(body) >= fetchBudget {
				break
			}
		}
		if len(ms) < want {
			break
		}
	}
	return body, n, cursor, nil
}

// handleEvents streams the group's messages after a cursor as server-sent
// events, until the client or the server goes away. The cursor is the
// Last-Event-ID header of a reconnecting client, else the "after" parameter.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request, _ string) {
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
	if _, err := s.st.Group(r.Context(), gid); err != nil {
		s.writeError(w, r, err)
		return
	}
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
		if err != nil {
			release()
			if r.Context().Err() == nil {
				s.log.Error("delivery: event stream", "err", err)
			}
			return
		}
		if len(ms) > 0 {
			release()
			for _, m := range ms {
				if !send("id: %d\nevent: message\ndata: %s\n\n", m.Seq, base64.StdEncoding.EncodeToString(m.Data)) {
					return
				}
				after = m.Seq
			}
			s.metrics.fetched.Add(uint64(len(ms)))
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

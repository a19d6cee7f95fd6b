package delivery

import (
	"bytes"
	"context"
	"errors"
	"math"
	"mime"
	"net/http"

	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/wire"
)

// Posted is the response to POST /v1/groups/{group}/messages.
type Posted struct {
	Seq   uint64 `json:"seq"`   // the message's position in the group's log
	Epoch uint64 `json:"epoch"` // the epoch the message was sent in (a commit: the epoch it ended)
	// Duplicate is true when the same bytes had been posted before: Seq
	// and Epoch are the original ones and nothing was stored.
	Duplicate bool `json:"duplicate,omitempty"`
}

// handlePost appends a proposal or application message (message/mls), or a
// commit (message/mls, or a commit bundle with its Welcome and GroupInfo).
// A tracked group's handshake messages are validated first (postTracked).
func (s *Server) handlePost(w http.ResponseWriter, r *http.Request, caller string) {
	gid, err := groupIDParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !s.limits.uploads.allow(caller) {
		s.writeError(w, r, errRateLimited("uploads"))
		return
	}
	limit := s.cfg.MaxMessageSize
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == MediaTypeCommitBundle {
		limit = s.cfg.MaxBundleSize
	}
	mt, body, err := readBody(w, r, limit, MediaTypeMLS, MediaTypeCommitBundle)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var m *message.MLSMessage
	var c store.Commit
	if mt == MediaTypeMLS {
		m, c.Message, err = parseGroupMessage("message", body, gid)
	} else {
		m, c, err = parseBundle(body, gid)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c.GroupID = gid
	ctx, cancel := writeContext(r)
	defer cancel()
	a, err := s.post(ctx, caller, m, &c)
	if errors.Is(err, store.ErrEpoch) {
		s.metrics.epochConflicts[c.Message.ContentType].Add(1)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.metrics.appended(c.Message.ContentType, a)
	status := http.StatusOK
	if !a.Duplicate {
		status = http.StatusCreated
		s.metrics.welcomesQueued.Add(uint64(len(c.Recipients)))
		s.hub.notify(gid)
	}
	writeJSON(w, status, Posted{Seq: a.Seq, Epoch: a.Epoch, Duplicate: a.Duplicate})
}

// post stores a message of caller, after the checks of its group's kind.
func (s *Server) post(ctx context.Context, caller string, m *message.MLSMessage, c *store.Commit) (store.Appended, error) {
	handshake := c.Message.ContentType != store.ContentApplication
	tg, err := s.lockGroup(ctx, c.GroupID, handshake)
	if err != nil {
		return store.Appended{}, err
	}
	switch {
	case tg.opaque:
		tg.mu.Unlock()
		if c.Message.ContentType != store.ContentCommit {
			return s.st.Append(ctx, c.GroupID, c.Message)
		}
		if c.Welcome != nil {
			if err := s.welcomeRecipients(ctx, c); err != nil {
				return store.Appended{}, err
			}
		}
		return s.st.Commit(ctx, *c)
	case handshake:
		defer tg.mu.Unlock()
		return s.postTracked(ctx, tg, caller, m, c)
	}
	// An application message: from a member. The view knows the
	// membership of the message's epoch once it has caught up with it.
	if c.Message.Epoch > tg.pg.Epoch() {
		err = s.catchUp(ctx, tg)
	}
	member := err == nil && tg.ix.isMember(caller)
	tg.mu.Unlock()
	switch {
	case err != nil:
		return store.Appended{}, err
	case !member:
		return store.Appended{}, forbidden("only members send to the group")
	}
	return s.st.Append(ctx, c.GroupID, c.Message)
}

// parseBundle decodes and checks a commit bundle posted to groupID: a
// commit for the group; optionally a Welcome, with recipients named at
// most once each; optionally a GroupInfo for the group's next epoch.
func parseBundle(body, groupID []byte) (*message.MLSMessage, store.Commit, error) {
	var b CommitBundle
	if err := wire.Unmarshal(body, &b); err != nil {
		return nil, store.Commit{}, &MalformedError{What: "commit bundle", Err: err}
	}
	m, sm, err := parseGroupMessage("commit", b.Commit, groupID)
	if err != nil {
		return nil, store.Commit{}, err
	}
	if sm.ContentType != store.ContentCommit {
		return nil, store.Commit{}, malformed("commit", "content type is not commit")
	}
	c := store.Commit{Message: sm, Welcome: b.Welcome, Recipients: b.Recipients, GroupInfo: b.GroupInfo}
	if b.Welcome != nil {
		secrets, err := parseWelcome(b.Welcome)
		if err != nil {
			return nil, store.Commit{}, err
		}
		if len(b.Recipients) > secrets {
			return nil, store.Commit{}, malformed("commit bundle", "more recipients than the Welcome has secrets")
		}
	} else if len(b.Recipients) > 0 {
		return nil, store.Commit{}, malformed("commit bundle", "recipients without a Welcome")
	}
	seen := make(map[string]bool, len(b.Recipients))
	for _, name := range b.Recipients {
		if !validClientName(name) || seen[name] {
			return nil, store.Commit{}, malformed("commit bundle", "invalid or repeated recipient name")
		}
		seen[name] = true
	}
	if b.GroupInfo != nil {
		giGroup, epoch, err := parseGroupInfo(b.GroupInfo)
		if err != nil {
			return nil, store.Commit{}, err
		}
		if !bytes.Equal(giGroup, groupID) || sm.Epoch == math.MaxUint64 || epoch != sm.Epoch+1 {
			return nil, store.Commit{}, malformed("GroupInfo", "not for the epoch the commit starts in this group")
		}
	}
	return m, c, nil
}

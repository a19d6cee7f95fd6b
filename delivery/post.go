package delivery

import (
	"bytes"
	"errors"
	"math"
	"mime"
	"net/http"

	"github.com/mlsengine/engine/delivery/store"
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
// commit (message/mls, or a commit bundle with its Welcome, recipients and
// GroupInfo).
func (s *Server) handlePost(w http.ResponseWriter, r *http.Request, _ string) {
	gid, err := groupIDParam(r)
	if err != nil {
		s.writeError(w, r, err)
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
	var c store.Commit
	if mt == MediaTypeMLS {
		c.Message, err = parseGroupMessage("message", body, gid)
	} else {
		c, err = parseBundle(body, gid)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx, cancel := writeContext(r)
	defer cancel()
	var a store.Appended
	if c.Message.ContentType == store.ContentCommit {
		c.GroupID = gid
		a, err = s.st.Commit(ctx, c)
	} else {
		a, err = s.st.Append(ctx, gid, c.Message)
	}
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

// parseBundle decodes and checks a commit bundle posted to groupID: a
// commit for the group; optionally a Welcome with at least one recipient
// and no more recipients than it has secrets; optionally a GroupInfo for
// the group's next epoch.
func parseBundle(body, groupID []byte) (store.Commit, error) {
	var b CommitBundle
	if err := wire.Unmarshal(body, &b); err != nil {
		return store.Commit{}, &MalformedError{What: "commit bundle", Err: err}
	}
	m, err := parseGroupMessage("commit", b.Commit, groupID)
	if err != nil {
		return store.Commit{}, err
	}
	if m.ContentType != store.ContentCommit {
		return store.Commit{}, malformed("commit", "content type is not commit")
	}
	c := store.Commit{Message: m, Welcome: b.Welcome, Recipients: b.Recipients, GroupInfo: b.GroupInfo}
	if b.Welcome != nil {
		secrets, err := parseWelcome(b.Welcome)
		if err != nil {
			return store.Commit{}, err
		}
		if len(b.Recipients) == 0 || len(b.Recipients) > secrets {
			return store.Commit{}, malformed("commit bundle", "a Welcome needs between 1 and as many recipients as it has secrets")
		}
	} else if len(b.Recipients) > 0 {
		return store.Commit{}, malformed("commit bundle", "recipients without a Welcome")
	}
	seen := make(map[string]bool, len(b.Recipients))
	for _, name := range b.Recipients {
		if !validClientName(name) || seen[name] {
			return store.Commit{}, malformed("commit bundle", "invalid or repeated recipient name")
		}
		seen[name] = true
	}
	if b.GroupInfo != nil {
		giGroup, epoch, err := parseGroupInfo(b.GroupInfo)
		if err != nil {
			return store.Commit{}, err
		}
		if !bytes.Equal(giGroup, groupID) || m.Epoch == math.MaxUint64 || epoch != m.Epoch+1 {
			return store.Commit{}, malformed("GroupInfo", "not for the epoch the commit starts in this group")
		}
	}
	return c, nil
}

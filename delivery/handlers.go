package delivery

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/wire"
)

// Registration is the response to POST /v1/clients.
type Registration struct {
	Name  string `json:"name"`
	Token string `json:"token"` // send as "Authorization: Bearer TOKEN"
	// Certificates is the X.509 credential's chain (end-entity first) of
	// a registration with a signature key (see CertificateRequest).
	Certificates [][]byte `json:"certificates,omitempty"`
}

// UploadedKeyPackage is the response to POST /v1/keypackages.
type UploadedKeyPackage struct {
	Ref     []byte `json:"ref"`     // the KeyPackageRef (base64 in JSON)
	Created bool   `json:"created"` // false if the KeyPackage had been uploaded before
}

// KeyPackageCount is the response to GET /v1/keypackages.
type KeyPackageCount struct {
	OneTime    int `json:"one_time"`
	LastResort int `json:"last_resort"`
}

// GroupState is the response to PUT and GET /v1/groups/{group}.
type GroupState struct {
	Epoch   uint64 `json:"epoch"`    // the epoch the next commit must carry
	LastSeq uint64 `json:"last_seq"` // sequence number of the last message, 0 if none
}

func (s *Server) handleUploadKeyPackage(w http.ResponseWriter, r *http.Request, caller string) {
	if !s.limits.uploads.allow(caller) {
		s.writeError(w, r, errRateLimited("uploads"))
		return
	}
	lastResort, err := boolParam(r, "last_resort")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	_, body, err := readBody(w, r, s.cfg.MaxMessageSize, MediaTypeMLS)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cs, ref, err := parseKeyPackage(body, s.cfg.Suites)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// A KeyPackage in the directory is valid and its credential, certified
	// by the service's Authentication Service, is the uploader's: nobody
	// publishes KeyPackages in another client's name (RFC 9750 §5.1).
	kp, err := mls.ValidateKeyPackage(mls.Config{Suite: cs, Suites: s.cfg.Suites, Authentication: s.as}, body)
	if err != nil {
		s.writeError(w, r, rejected("KeyPackage", err))
		return
	}
	if err := s.isCaller(caller, &kp.LeafNode.Credential, "the KeyPackage's credential"); err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx, cancel := writeContext(r)
	defer cancel()
	created, err := s.st.PutKeyPackage(ctx, store.KeyPackage{
		Ref: ref, Client: caller, CipherSuite: uint16(cs), LastResort: lastResort, Data: body,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		s.metrics.kpUploaded.Add(1)
	}
	writeJSON(w, status, UploadedKeyPackage{Ref: ref, Created: created})
}

func (s *Server) handleCountKeyPackages(w http.ResponseWriter, r *http.Request, caller string) {
	cs, err := uintParam(r, "suite", 0, 0xffff)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	n, err := s.st.CountKeyPackages(r.Context(), caller, uint16(cs))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, KeyPackageCount{OneTime: n.OneTime, LastResort: n.LastResort})
}

func (s *Server) handleClaimKeyPackage(w http.ResponseWriter, r *http.Request, caller string) {
	client := r.PathValue("client")
	if !validClientName(client) {
		s.writeError(w, r, malformed("client name", "invalid"))
		return
	}
	cs, err := uintParam(r, "suite", 0, 0xffff)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !s.limits.allowClaim(caller, client) {
		s.writeError(w, r, errRateLimited("claims of "+client+"'s KeyPackages"))
		return
	}
	ctx, cancel := writeContext(r)
	defer cancel()
	kp, err := s.st.ClaimKeyPackage(ctx, client, uint16(cs))
	if errors.Is(err, store.ErrNoKeyPackage) {
		s.metrics.kpClaimsEmpty.Add(1)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if kp.LastResort {
		s.metrics.kpLastResort.Add(1)
	} else {
		s.metrics.kpClaimed.Add(1)
	}
	// The owner can see who claims its KeyPackages (GET .../claims).
	if err := s.st.RecordClaim(ctx, store.Claim{Owner: client, Claimer: caller, Ref: kp.Ref, LastResort: kp.LastResort, Time: time.Now()}); err != nil {
		s.log.Warn("delivery: recording a claim", "err", err)
	}
	h := w.Header()
	h.Set("Mls-KeyPackage-Ref", base64.RawURLEncoding.EncodeToString(kp.Ref))
	h.Set("Mls-Last-Resort", strconv.FormatBool(kp.LastResort))
	writeMLS(w, kp.Data)
}

// ClaimRecord is one claim of the caller's KeyPackages, as GET
// /v1/keypackages/claims lists them, newest first.
type ClaimRecord struct {
	Claimer    string    `json:"claimer"`
	Ref        []byte    `json:"ref"` // base64 in JSON
	LastResort bool      `json:"last_resort"`
	Time       time.Time `json:"time"`
}

func (s *Server) handleClaims(w http.ResponseWriter, r *http.Request, caller string) {
	limit, err := uintParam(r, "limit", store.MaxClaims, store.MaxClaims)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cs, err := s.st.Claims(r.Context(), caller, int(limit))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]ClaimRecord, len(cs))
	for i, c := range cs {
		out[i] = ClaimRecord{Claimer: c.Claimer, Ref: c.Ref, LastResort: c.LastResort, Time: c.Time.UTC()}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCreateGroup(w http.ResponseWriter, r *http.Request, caller string) {
	gid, err := groupIDParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !s.limits.creations.allow(caller) {
		s.writeError(w, r, errRateLimited("group creations"))
		return
	}
	_, body, err := readBody(w, r, s.cfg.MaxBundleSize, MediaTypeGroupSetup)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var setup GroupSetup
	if err := wire.Unmarshal(body, &setup); err != nil {
		s.writeError(w, r, &MalformedError{What: "group setup", Err: err})
		return
	}
	ctx, cancel := writeContext(r)
	defer cancel()
	var created bool
	if setup.Opaque {
		if setup.GroupInfo != nil || setup.RatchetTree != nil {
			s.writeError(w, r, malformed("group setup", "an opaque group has no initial state"))
			return
		}
		_, created, err = s.st.CreateGroup(ctx, gid)
		if err == nil && !created {
			err = s.checkOpaque(ctx, gid)
		}
	} else {
		created, err = s.createTracked(ctx, gid, caller, &setup)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	g, err := s.st.Group(ctx, gid)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, GroupState{Epoch: g.Epoch, LastSeq: g.LastSeq})
}

// checkOpaque fails unless the existing group gid is opaque.
func (s *Server) checkOpaque(ctx context.Context, gid []byte) error {
	tg, err := s.lockGroup(ctx, gid, false)
	if err != nil {
		return err
	}
	defer tg.mu.Unlock()
	if !tg.opaque {
		return fmt.Errorf("%w, tracked", ErrGroupExists)
	}
	return nil
}

// reading returns the group's view, locked (tg.mu), for a request of
// caller that reads the group, and what caller may read of it: nil for an
// opaque group (anything); for a tracked group, its memberships, or
// ErrForbidden if caller has none and is not admitted.
func (s *Server) reading(ctx context.Context, gid []byte, caller string) (*trackedGroup, access, error) {
	tg, err := s.lockGroup(ctx, gid, false)
	if err != nil {
		return nil, nil, err
	}
	if tg.opaque {
		return tg, nil, nil
	}
	acc := access(tg.ix.spans(caller))
	if len(acc) == 0 && !s.admitted(tg, caller) {
		tg.mu.Unlock()
		return nil, nil, forbidden("only the group's members read it")
	}
	return tg, acc, nil
}

func (s *Server) handleGroup(w http.ResponseWriter, r *http.Request, caller string) {
	gid, err := groupIDParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tg, _, err := s.reading(r.Context(), gid, caller)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tg.mu.Unlock()
	g, err := s.st.Group(r.Context(), gid)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, GroupState{Epoch: g.Epoch, LastSeq: g.LastSeq})
}

func (s *Server) handleGetGroupInfo(w http.ResponseWriter, r *http.Request, caller string) {
	gid, err := groupIDParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tg, _, err := s.reading(r.Context(), gid, caller)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !tg.opaque && !tg.ix.isMember(caller) && !s.admitted(tg, caller) {
		err = forbidden("only the group's members and the clients it admits read its GroupInfo")
	}
	tg.mu.Unlock()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	gi, err := s.st.GroupInfo(r.Context(), gid)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeMLS(w, gi)
}

func (s *Server) handlePutGroupInfo(w http.ResponseWriter, r *http.Request, caller string) {
	gid, err := groupIDParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !s.limits.uploads.allow(caller) {
		s.writeError(w, r, errRateLimited("uploads"))
		return
	}
	_, body, err := readBody(w, r, s.cfg.MaxBundleSize, MediaTypeMLS)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	giGroup, epoch, err := parseGroupInfo(body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !bytes.Equal(giGroup, gid) {
		s.writeError(w, r, malformed("GroupInfo", "group_id differs from the group in the URL"))
		return
	}
	ctx, cancel := writeContext(r)
	defer cancel()
	tg, err := s.lockGroup(ctx, gid, true)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer tg.mu.Unlock()
	if !tg.opaque {
		if epoch != tg.pg.Epoch() {
			s.writeError(w, r, &store.EpochError{Epoch: epoch, Current: tg.pg.Epoch()})
			return
		}
		if err := s.checkGroupInfo(tg, caller, body); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if err := s.st.PutGroupInfo(ctx, gid, epoch, body); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleTree serves the ratchet tree of a tracked group (RFC 9420
// §12.4.3.3) in its current epoch, or in the epoch of "epoch", to the
// clients that were members then (a joiner, from the epoch its Welcome is
// for) and, for the current epoch, to those the group admits.
func (s *Server) handleTree(w http.ResponseWriter, r *http.Request, caller string) {
	gid, err := groupIDParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	epochParam := r.URL.Query().Get("epoch")
	epoch, err := uintParam(r, "epoch", 0, 1<<63-1)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tg, acc, err := s.reading(r.Context(), gid, caller)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer tg.mu.Unlock()
	if tg.opaque {
		s.writeError(w, r, fmt.Errorf("%w: the service does not track this group's tree", store.ErrNotFound))
		return
	}
	if epochParam == "" {
		epoch = tg.pg.Epoch()
	}
	if epoch > tg.pg.Epoch() {
		// Another process may have moved the group on.
		if err := s.catchUp(r.Context(), tg); err != nil {
			s.writeError(w, r, err)
			return
		}
		acc = tg.ix.spans(caller)
	}
	if !acc.allowsEpoch(epoch) && !(epoch == tg.pg.Epoch() && s.admitted(tg, caller)) {
		s.writeError(w, r, forbidden(fmt.Sprintf("this client was not a member in epoch %d", epoch)))
		return
	}
	tree, err := s.treeAt(r.Context(), tg, epoch)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Mls-Epoch", strconv.FormatUint(epoch, 10))
	w.Header().Set("Content-Type", MediaTypeTree)
	w.Header().Set("Content-Length", strconv.Itoa(len(tree)))
	w.Write(tree)
}

func (s *Server) handleNextWelcome(w http.ResponseWriter, r *http.Request, caller string) {
	ws, err := s.st.Welcomes(r.Context(), caller, 1)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(ws) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	// The epoch the Welcome is for: the joiner asks for its tree.
	epoch, err := s.epochAfter(r.Context(), ws[0].GroupID, ws[0].Seq)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Mls-Welcome-Id", strconv.FormatInt(ws[0].ID, 10))
	h.Set("Mls-Group-Id", EncodeGroupID(ws[0].GroupID))
	h.Set("Mls-Seq", strconv.FormatUint(ws[0].Seq, 10))
	h.Set("Mls-Epoch", strconv.FormatUint(epoch, 10))
	writeMLS(w, ws[0].Data)
}

func (s *Server) handleDeleteWelcome(w http.ResponseWriter, r *http.Request, caller string) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.writeError(w, r, malformed("Welcome id", "want a positive decimal integer"))
		return
	}
	ctx, cancel := writeContext(r)
	defer cancel()
	if err := s.st.DeleteWelcome(ctx, caller, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.metrics.welcomesDeleted.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.metrics.writeTo(w)
}

func writeMLS(w http.ResponseWriter, data []byte) {
	w.Header().Set("Content-Type", MediaTypeMLS)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

// uintParam parses an optional decimal query parameter in [0, max].
func uintParam(r *http.Request, name string, def, max uint64) (uint64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n > max {
		return 0, malformed("parameter "+name, "want a decimal integer up to "+strconv.FormatUint(max, 10))
	}
	return n, nil
}

// boolParam parses an optional boolean query parameter.
func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, malformed("parameter "+name, "want true or false")
	}
	return b, nil
}

package delivery

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/mlsengine/engine/delivery/store"
)

// Registration is the response to POST /v1/clients.
type Registration struct {
	Name  string `json:"name"`
	Token string `json:"token"` // send as "Authorization: Bearer TOKEN"
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

func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	_, body, err := readBody(w, r, 4<<10, "application/json")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Name string `json:"name"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || dec.More() {
		s.writeError(w, r, malformed("registration", `want {"name": "..."}`))
		return
	}
	if !validClientName(req.Name) {
		s.writeError(w, r, malformed("client name", "want 1 to 64 of A-Z a-z 0-9 . _ - @ +"))
		return
	}
	tok, hash := newToken()
	ctx, cancel := writeContext(r)
	defer cancel()
	if err := s.st.RegisterClient(ctx, req.Name, hash); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, Registration{Name: req.Name, Token: tok})
}

func (s *Server) handleUploadKeyPackage(w http.ResponseWriter, r *http.Request, caller string) {
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

func (s *Server) handleClaimKeyPackage(w http.ResponseWriter, r *http.Request, _ string) {
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
	h := w.Header()
	h.Set("Mls-KeyPackage-Ref", base64.RawURLEncoding.EncodeToString(kp.Ref))
	h.Set("Mls-Last-Resort", strconv.FormatBool(kp.LastResort))
	writeMLS(w, kp.Data)
}

func (s *Server) handleCreateGroup(w http.ResponseWriter, r *http.Request, _ string) {
	gid, err := groupIDParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx, cancel := writeContext(r)
	defer cancel()
	g, created, err := s.st.CreateGroup(ctx, gid)
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

func (s *Server) handleGroup(w http.ResponseWriter, r *http.Request, _ string) {
	gid, err := groupIDParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	g, err := s.st.Group(r.Context(), gid)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, GroupState{Epoch: g.Epoch, LastSeq: g.LastSeq})
}

func (s *Server) handleGetGroupInfo(w http.ResponseWriter, r *http.Request, _ string) {
	gid, err := groupIDParam(r)
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

func (s *Server) handlePutGroupInfo(w http.ResponseWriter, r *http.Request, _ string) {
	gid, err := groupIDParam(r)
	if err != nil {
		s.writeError(w, r, err)
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
	if err := s.st.PutGroupInfo(ctx, gid, epoch, body); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
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
	h := w.Header()
	h.Set("Mls-Welcome-Id", strconv.FormatInt(ws[0].ID, 10))
	h.Set("Mls-Group-Id", EncodeGroupID(ws[0].GroupID))
	h.Set("Mls-Seq", strconv.FormatUint(ws[0].Seq, 10))
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

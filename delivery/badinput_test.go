package delivery

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/delivery/store/memstore"
	"github.com/mlsengine/engine/mls/message"

	"github.com/mlsengine/engine/testvectors"
	"github.com/mlsengine/engine/testvectors/vectordir"
)

// snapshot is everything a request could change in the test group, the
// Welcome queues and the KeyPackage directory.
type snapshot struct {
	group     store.Group
	log       []store.Message
	groupInfo []byte
	welcomes  map[string][]store.Welcome
	kps       map[string]store.KeyPackageCount
}

func takeSnapshot(t testing.TB, st store.Store, gid []byte, clients ...string) snapshot {
	t.Helper()
	var s snapshot
	var err error
	if s.group, err = st.Group(bg, gid); err != nil {
		t.Fatal(err)
	}
	if s.log, err = st.Messages(bg, gid, 0, 1000); err != nil {
		t.Fatal(err)
	}
	s.groupInfo, _ = st.GroupInfo(bg, gid)
	s.welcomes, s.kps = map[string][]store.Welcome{}, map[string]store.KeyPackageCount{}
	for _, c := range clients {
		s.welcomes[c], _ = st.Welcomes(bg, c, 100)
		s.kps[c], _ = st.CountKeyPackages(bg, c, 0)
	}
	return s
}

type rawRequest struct {
	name        string
	method      string
	path        string // "{g}" is replaced by the group id
	contentType string
	body        []byte
	chunked     bool // send without Content-Length
	want        int
}

// TestBadInput sends malformed, truncated, oversized and replayed requests:
// each gets the expected 4xx (a replay: its original answer) and nothing in
// the store changes.
func TestBadInput(t *testing.T) {
	st := memstore.New()
	_, url := testServer(t, st, Config{MaxMessageSize: 2048, MaxBundleSize: 4096})
	alice := newMember(t, url, "alice")
	bob, carol := newMember(t, url, "bob"), newMember(t, url, "carol")
	var refs [][]byte
	for _, m := range []*testMember{bob, carol} {
		up, err := m.UploadKeyPackage(bg, m.keyPackage(t, false), false)
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, up.Ref)
	}
	gid := groupID()
	g := EncodeGroupID(gid)
	if _, err := alice.CreateGroup(bg, gid, opaque); err != nil {
		t.Fatal(err)
	}
	c0 := privateMsg(gid, 0, message.ContentCommit)
	loser := privateMsg(gid, 0, message.ContentCommit)
	if _, err := alice.PostCommit(bg, gid, &CommitBundle{Commit: c0, GroupInfo: groupInfoMsg(gid, 1)}); err != nil {
		t.Fatal(err)
	}
	app := privateMsg(gid, 1, message.ContentApplication)
	if _, err := alice.Post(bg, gid, app); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Post(bg, gid, loser); err == nil {
		t.Fatal("a second commit for epoch 0 won")
	}
	if _, err := alice.UploadKeyPackage(bg, alice.keyPackage(t, false), false); err != nil {
		t.Fatal(err)
	}

	msgs := "/v1/groups/{g}/messages"
	good := privateMsg(gid, 1, message.ContentApplication)
	goodBundle := bundle(&CommitBundle{Commit: privateMsg(gid, 1, message.ContentCommit), Welcome: welcomeFor(refs...),
		Recipients: []string{"bob", "carol"}, GroupInfo: groupInfoMsg(gid, 2)})
	withBundle := func(b CommitBundle) []byte {
		if b.Commit == nil {
			b.Commit = privateMsg(gid, 1, message.ContentCommit)
		}
		return bundle(&b)
	}
	reqs := []rawRequest{
		{name: "empty", body: nil, want: 400},
		{name: "garbage", body: []byte("hello, world"), want: 400},
		{name: "trailing byte", body: append(bytes.Clone(good), 0), want: 400},
		{name: "no content type", contentType: "-", body: good, want: 415},
		{name: "text/plain", contentType: "text/plain", body: good, want: 415},
		{name: "oversized", body: make([]byte, 2049), want: 413},
		{name: "oversized, chunked", body: make([]byte, 5000), chunked: true, want: 413},
		{name: "oversized bundle", contentType: MediaTypeCommitBundle, body: make([]byte, 4097), want: 413},
		{name: "other group's message", body: privateMsg(groupID(), 1, message.ContentApplication), want: 400},
		{name: "bad group id", path: "/v1/groups/a+b/messages", body: good, want: 400},
		{name: "padded group id", path: "/v1/groups/" + g + "=/messages", body: good, want: 400},
		{name: "long group id", path: "/v1/groups/" + EncodeGroupID(make([]byte, 256)) + "/messages", body: good, want: 400},
		{name: "public application", body: publicAppMsg(gid, 1), want: 400},
		{name: "Welcome as message", body: welcomeMsg(1), want: 400},
		{name: "KeyPackage as message", body: keyPackageMsg(1, "x"), want: 400},
		{name: "bundle of a proposal", contentType: MediaTypeCommitBundle, body: withBundle(CommitBundle{Commit: privateMsg(gid, 1, message.ContentProposal)}), want: 400},
		{name: "bundle, recipients who own no KeyPackage the Welcome names", contentType: MediaTypeCommitBundle, body: withBundle(CommitBundle{Welcome: welcomeFor(refs[0]), Recipients: []string{"carol"}}), want: 400},
		{name: "bundle, recipients but an unknown KeyPackage", contentType: MediaTypeCommitBundle, body: withBundle(CommitBundle{Welcome: welcomeMsg(1), Recipients: []string{"bob"}}), want: 400},
		{name: "bundle, recipients without Welcome", contentType: MediaTypeCommitBundle, body: withBundle(CommitBundle{Recipients: []string{"bob"}}), want: 400},
		{name: "bundle, more recipients than secrets", contentType: MediaTypeCommitBundle, body: withBundle(CommitBundle{Welcome: welcomeMsg(1), Recipients: []string{"bob", "carol"}}), want: 400},
		{name: "bundle, repeated recipient", contentType: MediaTypeCommitBundle, body: withBundle(CommitBundle{Welcome: welcomeMsg(2), Recipients: []string{"bob", "bob"}}), want: 400},
		{name: "bundle, bad recipient name", contentType: MediaTypeCommitBundle, body: withBundle(CommitBundle{Welcome: welcomeMsg(1), Recipients: []string{"b/ob"}}), want: 400},
		{name: "bundle, malformed Welcome", contentType: MediaTypeCommitBundle, body: withBundle(CommitBundle{Welcome: []byte{0, 1, 0, 3, 0}, Recipients: []string{"bob"}}), want: 400},
		{name: "bundle, GroupInfo of this epoch", contentType: MediaTypeCommitBundle, body: withBundle(CommitBundle{GroupInfo: groupInfoMsg(gid, 1)}), want: 400},
		{name: "bundle, GroupInfo of another group", contentType: MediaTypeCommitBundle, body: withBundle(CommitBundle{GroupInfo: groupInfoMsg(groupID(), 2)}), want: 400},
		{name: "bundle, trailing byte", contentType: MediaTypeCommitBundle, body: append(bytes.Clone(goodBundle), 0), want: 400},
		{name: "replayed message", body: app, want: 200},
		{name: "replayed winning commit", body: c0, want: 200},
		{name: "replayed winning commit as bundle", contentType: MediaTypeCommitBundle, body: bundle(&CommitBundle{Commit: c0, Welcome: welcomeFor(refs[0]), Recipients: []string{"bob"}}), want: 200},
		{name: "replayed losing commit", body: loser, want: 409},
		{name: "stale message", body: privateMsg(gid, 0, message.ContentApplication), want: 409},
		{name: "future commit", body: privateMsg(gid, 9, message.ContentCommit), want: 409},
		{name: "commit for epoch 3 of an unknown group", path: "/v1/groups/AAAA/messages", body: privateMsg([]byte{0, 0, 0}, 3, message.ContentCommit), want: 404},
		{name: "fetch after -1", method: "GET", path: msgs + "?after=-1", want: 400},
		{name: "fetch limit 5000", method: "GET", path: msgs + "?limit=5000", want: 400},
		{name: "fetch limit 0", method: "GET", path: msgs + "?limit=0", want: 400},
		{name: "fetch wait 1 day", method: "GET", path: msgs + "?wait=86400", want: 400},
		{name: "events bad Last-Event-ID", method: "GET", path: "/v1/groups/{g}/events?after=x", want: 400},
		{name: "KeyPackage garbage", path: "/v1/keypackages", body: []byte{0, 1, 0, 5, 1, 2, 3}, want: 400},
		{name: "KeyPackage of a GREASE suite", path: "/v1/keypackages", body: keyPackageMsg(0x0a0a, "alice"), want: 400},
		{name: "KeyPackage as commit", path: "/v1/keypackages", body: c0, want: 400},
		{name: "KeyPackage last_resort=maybe", path: "/v1/keypackages?last_resort=maybe", body: keyPackageMsg(1, "alice"), want: 400},
		{name: "claim suite 70000", path: "/v1/clients/alice/keypackage?suite=70000", contentType: "-", want: 400},
		{name: "GroupInfo of another group", method: "PUT", path: "/v1/groups/{g}/groupinfo", body: groupInfoMsg(groupID(), 1), want: 400},
		{name: "GroupInfo garbage", method: "PUT", path: "/v1/groups/{g}/groupinfo", body: []byte{1, 2, 3}, want: 400},
		{name: "GroupInfo of a future epoch", method: "PUT", path: "/v1/groups/{g}/groupinfo", body: groupInfoMsg(gid, 5), want: 409},
		{name: "delete Welcome abc", method: "DELETE", path: "/v1/welcomes/abc", want: 400},
		{name: "delete Welcome 0", method: "DELETE", path: "/v1/welcomes/0", want: 400},
		{name: "register bad JSON", path: "/v1/clients", contentType: "application/json", body: []byte(`{"name":`), want: 400},
		{name: "register unknown field", path: "/v1/clients", contentType: "application/json", body: []byte(`{"name":"x","admin":true}`), want: 400},
	}
	// Every truncation of a valid message and bundle.
	for n := range len(good) {
		reqs = append(reqs, rawRequest{name: "truncated message", body: good[:n], want: 400})
	}
	for n := range len(goodBundle) {
		reqs = append(reqs, rawRequest{name: "truncated bundle", contentType: MediaTypeCommitBundle, body: goodBundle[:n], want: 400})
	}

	before := takeSnapshot(t, st, gid, "alice", "bob", "carol")
	for _, r := range reqs {
		if r.method == "" {
			r.method = "POST"
		}
		if r.path == "" {
			r.path = msgs
		}
		if r.contentType == "" {
			r.contentType = MediaTypeMLS
		}
		status, body := send(t, url, alice.Token, r, g)
		if status != r.want {
			t.Errorf("%s: status %d, want %d (%s)", r.name, status, r.want, body)
		}
		if status >= 500 {
			t.Errorf("%s: server error for client input", r.name)
		}
		if after := takeSnapshot(t, st, gid, "alice", "bob", "carol"); !reflect.DeepEqual(before, after) {
			t.Fatalf("%s changed the store", r.name)
		}
	}
}

// send sends a raw request and returns the status and body.
func send(t testing.TB, url, token string, r rawRequest, g string) (int, string) {
	t.Helper()
	var body io.Reader = bytes.NewReader(r.body)
	if r.chunked {
		body = io.MultiReader(bytes.NewReader(r.body)) // no length known: sent chunked
	}
	req, err := http.NewRequest(r.method, url+strings.ReplaceAll(r.path, "{g}", g), body)
	if err != nil {
		t.Fatal(err)
	}
	if r.contentType != "-" {
		req.Header.Set("Content-Type", r.contentType)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", r.name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// publicAppMsg returns a PublicMessage with application content, which RFC
// 9420 §6 forbids.
func publicAppMsg(gid []byte, epoch uint64) []byte {
	return encode(&message.PublicMessage{
		Content: message.FramedContent{
			GroupID: gid, Epoch: epoch, Sender: message.MemberSender(0),
			ContentType: message.ContentApplication, ApplicationData: random(20),
		},
		Auth:          message.FramedContentAuthData{Signature: random(64)},
		MembershipTag: random(32),
	})
}

// fuzzGroup is the group id of the fuzz targets' seeds.
var fuzzGroup = []byte("fuzz-group")

// FuzzPost posts arbitrary bodies, as message/mls or as a commit bundle, to
// a group at epoch 0: no panic, never a 5xx, and a refused request changes
// nothing.
func FuzzPost(f *testing.F) {
	f.Add(false, privateMsg(fuzzGroup, 0, message.ContentApplication))
	f.Add(false, publicCommit(fuzzGroup, 0))
	f.Add(false, publicProposal(fuzzGroup, 0, message.ExternalSenderAt(1)))
	f.Add(false, publicAppMsg(fuzzGroup, 0))
	f.Add(true, bundle(&CommitBundle{Commit: publicCommit(fuzzGroup, 0), Welcome: welcomeMsg(2),
		Recipients: []string{"a", "b"}, GroupInfo: groupInfoMsg(fuzzGroup, 1)}))
	var vs []testvectors.Messages
	vectordir.Load(f, "messages.json", &vs)
	for _, v := range vs[:min(len(vs), 10)] {
		f.Add(false, []byte(v.PublicMessageCommit))
		f.Add(false, []byte(v.PublicMessageProposal))
		f.Add(true, bundle(&CommitBundle{Commit: v.PrivateMessage, Welcome: v.MLSWelcome, Recipients: []string{"x"}, GroupInfo: v.MLSGroupInfo}))
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.Fuzz(func(t *testing.T, isBundle bool, body []byte) {
		st := memstore.New()
		if _, _, err := st.CreateGroup(bg, fuzzGroup); err != nil {
			t.Fatal(err)
		}
		srv, err := NewServer(Config{Store: st, Logger: logger, Authenticate: func(*http.Request) (string, error) { return "fuzzer", nil }})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		req := httptest.NewRequest("POST", "/v1/groups/"+EncodeGroupID(fuzzGroup)+"/messages", bytes.NewReader(body))
		req.Header.Set("Content-Type", map[bool]string{false: MediaTypeMLS, true: MediaTypeCommitBundle}[isBundle])
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		g, _ := st.Group(bg, fuzzGroup)
		ws, _ := st.Welcomes(bg, "a", 10)
		switch {
		case rec.Code >= 500:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		case rec.Code >= 400 && (g != store.Group{} || len(ws) != 0):
			t.Fatalf("status %d but the store changed: %+v", rec.Code, g)
		case rec.Code == 201 && g.LastSeq != 1:
			t.Fatalf("status 201 but the group has %d messages", g.LastSeq)
		}
	})
}

// FuzzParseEnvelope decodes arbitrary MLSMessages the way the service reads
// them: no panic, and what is accepted is kept byte for byte.
func FuzzParseEnvelope(f *testing.F) {
	var vs []testvectors.Messages
	vectordir.Load(f, "messages.json", &vs)
	for _, v := range vs[:min(len(vs), 20)] {
		for _, b := range [][]byte{v.MLSWelcome, v.MLSGroupInfo, v.MLSKeyPackage, v.PublicMessageApplication, v.PublicMessageProposal, v.PublicMessageCommit, v.PrivateMessage} {
			f.Add(b)
		}
	}
	f.Add(keyPackageMsg(1, "x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, m, err := parseGroupMessage("message", data, fuzzGroup); err == nil && !bytes.Equal(m.Data, data) {
			t.Fatal("accepted message not kept as posted")
		}
		parseKeyPackage(data, nil)
		parseWelcome(data)
		parseGroupInfo(data)
		parseBundle(data, fuzzGroup)
	})
}

package delivery

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
)

// Client calls a delivery service's HTTP API. Errors match the sentinel
// errors of package store and of this package (errors.Is), and a message
// refused for its epoch yields a *store.EpochError naming the current epoch
// and, if the epoch has ended, the winning commit.
type Client struct {
	BaseURL    string       // e.g. "http://127.0.0.1:8080"
	Token      string       // bearer token from Register
	HTTPClient *http.Client // nil means http.DefaultClient
	// MaxTreeSize bounds a ratchet tree fetched with Tree or TreeAt; 0
	// means DefaultMaxTreeSize. (The tree is checked by mls.Join against
	// the tree hash of the Welcome's GroupInfo, and bounded again there by
	// mls.Config.MaxTreeLeaves.)
	MaxTreeSize int64
}

// maxResponse bounds the responses a Client reads but ratchet trees:
// twice the default limit of a commit bundle, whose Welcome or GroupInfo
// (in base64 in JSON) it may fetch.
const maxResponse = 2 * DefaultMaxBundleSize

// DefaultMaxTreeSize is the default of Client.MaxTreeSize: 1 GiB, the tree
// of about 1.8 million members of suite 0x0001 with X.509 credentials
// (about 580 bytes per member).
const DefaultMaxTreeSize = 1 << 30

// ClaimedKeyPackage is a KeyPackage handed out by a claim.
type ClaimedKeyPackage struct {
	KeyPackage []byte // MLSMessage(key_package)
	Ref        []byte // its KeyPackageRef
	LastResort bool   // the client's last-resort KeyPackage (not consumed)
}

// PendingWelcome is a Welcome waiting for the client.
type PendingWelcome struct {
	ID      int64  // for DeleteWelcome
	GroupID []byte // the group it adds the client to
	Seq     uint64 // the sequence number of the commit that added the client
	Epoch   uint64 // the epoch the Welcome is for (its GroupInfo's): see Client.TreeAt
	Welcome []byte // MLSMessage(welcome)
}

// Register registers a client name without a signature key and returns
// its token; it also sets c.Token. Such a client has no certificate, so it
// can use the KeyPackage directory and opaque groups, not tracked ones;
// see RegisterKey.
func (c *Client) Register(ctx context.Context, name string) (Registration, error) {
	return c.register(ctx, CertificateRequest{Name: name})
}

// RegisterKey registers a client name with its signature key in cipher
// suite cs (signer holds it) and returns its token and certificate chain,
// the X.509 credential the service's CA issued; it also sets c.Token.
func (c *Client) RegisterKey(ctx context.Context, name string, cs suite.ID, signer suite.Signer) (Registration, error) {
	req, err := ProveKey(cs, signer, name)
	if err != nil {
		return Registration{}, err
	}
	return c.register(ctx, req)
}

func (c *Client) register(ctx context.Context, req CertificateRequest) (Registration, error) {
	body, _ := json.Marshal(req)
	var reg Registration
	err := c.doJSON(ctx, "POST", "/v1/clients", "application/json", body, &reg)
	if err == nil {
		c.Token = reg.Token
	}
	return reg, err
}

// Certify asks the service's CA to certify a new signature key of the
// client name (the caller): key rotation. It returns the new chain.
func (c *Client) Certify(ctx context.Context, name string, cs suite.ID, signer suite.Signer) ([][]byte, error) {
	req, err := ProveKey(cs, signer, name)
	if err != nil {
		return nil, err
	}
	req.Name = ""
	body, _ := json.Marshal(req)
	var out Certified
	err = c.doJSON(ctx, "POST", "/v1/clients/"+url.PathEscape(name)+"/certificate", "application/json", body, &out)
	return out.Certificates, err
}

// CA returns the service's root certificate (DER), which clients pin.
func (c *Client) CA(ctx context.Context) ([]byte, error) {
	resp, err := c.do(ctx, "GET", "/v1/ca", "", nil)
	if err != nil {
		return nil, err
	}
	return resp.body, nil
}

// Claims returns the latest claims of the caller's KeyPackages, newest
// first.
func (c *Client) Claims(ctx context.Context) ([]ClaimRecord, error) {
	var out []ClaimRecord
	err := c.doJSON(ctx, "GET", "/v1/keypackages/claims", "", nil, &out)
	return out, err
}

// UploadKeyPackage adds an MLSMessage(key_package) to the caller's
// directory entry.
func (c *Client) UploadKeyPackage(ctx context.Context, kp []byte, lastResort bool) (UploadedKeyPackage, error) {
	var out UploadedKeyPackage
	err := c.doJSON(ctx, "POST", "/v1/keypackages?last_resort="+strconv.FormatBool(lastResort), MediaTypeMLS, kp, &out)
	return out, err
}

// CountKeyPackages counts the caller's claimable KeyPackages of a cipher
// suite (0: all).
func (c *Client) CountKeyPackages(ctx context.Context, suite uint16) (KeyPackageCount, error) {
	var out KeyPackageCount
	err := c.doJSON(ctx, "GET", "/v1/keypackages?suite="+strconv.Itoa(int(suite)), "", nil, &out)
	return out, err
}

// ClaimKeyPackage claims a KeyPackage of client for a cipher suite (0: any).
func (c *Client) ClaimKeyPackage(ctx context.Context, client string, suite uint16) (ClaimedKeyPackage, error) {
	path := "/v1/clients/" + url.PathEscape(client) + "/keypackage?suite=" + strconv.Itoa(int(suite))
	resp, err := c.do(ctx, "POST", path, "", nil)
	if err != nil {
		return ClaimedKeyPackage{}, err
	}
	ref, err := base64.RawURLEncoding.DecodeString(resp.header.Get("Mls-KeyPackage-Ref"))
	if err != nil {
		return ClaimedKeyPackage{}, fmt.Errorf("%w: bad Mls-KeyPackage-Ref header", ErrServer)
	}
	return ClaimedKeyPackage{KeyPackage: resp.body, Ref: ref, LastResort: resp.header.Get("Mls-Last-Resort") == "true"}, nil
}

// CreateGroup creates a group at epoch 0 as setup says, or returns the
// state of the group created so before.
func (c *Client) CreateGroup(ctx context.Context, groupID []byte, setup *GroupSetup) (GroupState, error) {
	body, err := wire.Marshal(setup)
	if err != nil {
		return GroupState{}, err
	}
	var out GroupState
	err = c.doJSON(ctx, "PUT", "/v1/groups/"+EncodeGroupID(groupID), MediaTypeGroupSetup, body, &out)
	return out, err
}

// Tree returns a tracked group's ratchet tree in its current epoch, and
// that epoch.
func (c *Client) Tree(ctx context.Context, groupID []byte) ([]byte, uint64, error) {
	return c.tree(ctx, groupID, "")
}

// TreeAt returns a tracked group's ratchet tree in an epoch: for a joiner,
// the epoch of its Welcome (PendingWelcome.Epoch). Check it against the
// tree hash of a GroupInfo (mls.Join does): the service is not trusted
// with it.
func (c *Client) TreeAt(ctx context.Context, groupID []byte, epoch uint64) ([]byte, error) {
	tree, _, err := c.tree(ctx, groupID, "?epoch="+strconv.FormatUint(epoch, 10))
	return tree, err
}

func (c *Client) tree(ctx context.Context, groupID []byte, query string) ([]byte, uint64, error) {
	limit := c.MaxTreeSize
	if limit <= 0 {
		limit = DefaultMaxTreeSize
	}
	resp, err := c.doLimit(ctx, "GET", "/v1/groups/"+EncodeGroupID(groupID)+"/tree"+query, "", nil, limit)
	if err != nil {
		return nil, 0, err
	}
	epoch, err := strconv.ParseUint(resp.header.Get("Mls-Epoch"), 10, 64)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: bad Mls-Epoch header", ErrServer)
	}
	return resp.body, epoch, nil
}

// Group returns a group's state.
func (c *Client) Group(ctx context.Context, groupID []byte) (GroupState, error) {
	var out GroupState
	err := c.doJSON(ctx, "GET", "/v1/groups/"+EncodeGroupID(groupID), "", nil, &out)
	return out, err
}

// Post posts an MLSMessage (PublicMessage or PrivateMessage: a proposal,
// an application message or a commit without Welcome) to a group.
func (c *Client) Post(ctx context.Context, groupID, msg []byte) (Posted, error) {
	var out Posted
	err := c.doJSON(ctx, "POST", "/v1/groups/"+EncodeGroupID(groupID)+"/messages", MediaTypeMLS, msg, &out)
	return out, err
}

// PostCommit posts a commit with its Welcome, recipients and GroupInfo.
func (c *Client) PostCommit(ctx context.Context, groupID []byte, b *CommitBundle) (Posted, error) {
	body, err := wire.Marshal(b)
	if err != nil {
		return Posted{}, err
	}
	var out Posted
	err = c.doJSON(ctx, "POST", "/v1/groups/"+EncodeGroupID(groupID)+"/messages", MediaTypeCommitBundle, body, &out)
	return out, err
}

// Fetch returns up to limit (0: the server's default) messages of a group
// after sequence number after, waiting up to wait for the first one.
func (c *Client) Fetch(ctx context.Context, groupID []byte, after uint64, limit int, wait time.Duration) ([]Entry, error) {
	q := url.Values{"after": {strconv.FormatUint(after, 10)}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if wait > 0 {
		q.Set("wait", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	}
	resp, err := c.do(ctx, "GET", "/v1/groups/"+EncodeGroupID(groupID)+"/messages?"+q.Encode(), "", nil)
	if err != nil {
		return nil, err
	}
	return ParseEntries(resp.body)
}

// Stream reads a group's event stream from after, calling fn for each
// message in order, until ctx is done, the stream ends or fn returns an
// error (which Stream returns). It returns the last sequence number
// delivered to fn, to resume from.
func (c *Client) Stream(ctx context.Context, groupID []byte, after uint64, fn func(Entry) error) (uint64, error) {
	req, err := c.newRequest(ctx, "GET", fmt.Sprintf("/v1/groups/%s/events?after=%d", EncodeGroupID(groupID), after), "", nil)
	if err != nil {
		return after, err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return after, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
		return after, responseError(resp.StatusCode, body)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 2*maxResponse)
	var e Entry
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			if e.Seq, err = strconv.ParseUint(line[4:], 10, 64); err != nil {
				return after, fmt.Errorf("%w: bad event id", ErrServer)
			}
		case strings.HasPrefix(line, "data: "):
			if e.Message, err = base64.StdEncoding.DecodeString(line[6:]); err != nil {
				return after, fmt.Errorf("%w: bad event data", ErrServer)
			}
		case line == "" && e.Message != nil:
			if err := fn(e); err != nil {
				return after, err
			}
			after, e = e.Seq, Entry{}
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return after, err
	}
	return after, ctx.Err()
}

// GroupInfo returns a group's GroupInfo for its current epoch.
func (c *Client) GroupInfo(ctx context.Context, groupID []byte) ([]byte, error) {
	resp, err := c.do(ctx, "GET", "/v1/groups/"+EncodeGroupID(groupID)+"/groupinfo", "", nil)
	if err != nil {
		return nil, err
	}
	return resp.body, nil
}

// PutGroupInfo publishes a GroupInfo for a group's current epoch.
func (c *Client) PutGroupInfo(ctx context.Context, groupID, groupInfo []byte) error {
	_, err := c.do(ctx, "PUT", "/v1/groups/"+EncodeGroupID(groupID)+"/groupinfo", MediaTypeMLS, groupInfo)
	return err
}

// NextWelcome returns the caller's oldest pending Welcome, or nil if there
// is none. It stays pending until DeleteWelcome.
func (c *Client) NextWelcome(ctx context.Context) (*PendingWelcome, error) {
	resp, err := c.do(ctx, "GET", "/v1/welcomes/next", "", nil)
	if err != nil || resp.status == http.StatusNoContent {
		return nil, err
	}
	w := &PendingWelcome{Welcome: resp.body}
	w.ID, err = strconv.ParseInt(resp.header.Get("Mls-Welcome-Id"), 10, 64)
	if err == nil {
		w.GroupID, err = base64.RawURLEncoding.DecodeString(resp.header.Get("Mls-Group-Id"))
	}
	if err == nil {
		w.Seq, err = strconv.ParseUint(resp.header.Get("Mls-Seq"), 10, 64)
	}
	if err == nil {
		w.Epoch, err = strconv.ParseUint(resp.header.Get("Mls-Epoch"), 10, 64)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: bad Welcome headers", ErrServer)
	}
	return w, nil
}

// DeleteWelcome removes a pending Welcome once it has been processed.
func (c *Client) DeleteWelcome(ctx context.Context, id int64) error {
	_, err := c.do(ctx, "DELETE", "/v1/welcomes/"+strconv.FormatInt(id, 10), "", nil)
	return err
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (c *Client) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return http.DefaultClient
}

func (c *Client) newRequest(ctx context.Context, method, path, contentType string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.BaseURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	return req, nil
}

// do sends a request and returns a 2xx response, or the error the response
// stands for.
func (c *Client) do(ctx context.Context, method, path, contentType string, body []byte) (*response, error) {
	return c.doLimit(ctx, method, path, contentType, body, maxResponse)
}

// doLimit is do for a response body of at most limit bytes; a longer one
// is an error, never silently cut.
func (c *Client) doLimit(ctx context.Context, method, path, contentType string, body []byte, limit int64) (*response, error) {
	req, err := c.newRequest(ctx, method, path, contentType, body)
	if err != nil {
		return nil, err
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %s %s: response larger than %d bytes", ErrServer, method, path, limit)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, responseError(resp.StatusCode, data)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

func (c *Client) doJSON(ctx context.Context, method, path, contentType string, body []byte, out any) error {
	resp, err := c.do(ctx, method, path, contentType, body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
		return fmt.Errorf("%w: undecodable response: %v", ErrServer, err)
	}
	return nil
}

// responseError turns an error response into a *store.EpochError or a
// *StatusError.
func responseError(status int, body []byte) error {
	var eb errorBody
	if json.Unmarshal(body, &eb) != nil {
		return &StatusError{StatusCode: status, Message: strings.TrimSpace(string(body[:min(len(body), 200)]))}
	}
	if eb.Code == "wrong_epoch" && eb.Epoch != nil && eb.CurrentEpoch != nil {
		ee := &store.EpochError{Epoch: *eb.Epoch, Current: *eb.CurrentEpoch}
		if eb.Winner != nil {
			ee.Winner = &store.Message{Seq: eb.Winner.Seq, Epoch: ee.Epoch, ContentType: store.ContentCommit, Data: eb.Winner.Message}
			if len(eb.Winner.Message) >= 4 {
				ee.Winner.WireFormat = uint16(eb.Winner.Message[2])<<8 | uint16(eb.Winner.Message[3])
			}
		}
		return ee
	}
	return &StatusError{StatusCode: status, Code: eb.Code, Message: eb.Error}
}

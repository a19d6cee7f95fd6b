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
}

// maxResponse bounds the responses a Client reads: twice the default
// limit of a commit bundle, whose Welcome or GroupInfo (in base64 in JSON)
// it may fetch.
const maxResponse = 2 * DefaultMaxBundleSize

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
	Welcome []byte // MLSMessage(welcome)
}

// Register registers a client name and returns its token; it also sets
// c.Token.
func (c *Client) Register(ctx context.Context, name string) (Registration, error) {
	body, _ := json.Marshal(map[string]string{"name": name})
	var reg Registration
	err := c.doJSON(ctx, "POST", "/v1/clients", "application/json", body, &reg)
	if err == nil {
		c.Token = reg.Token
	}
	return reg, err
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

// CreateGroup creates a group at epoch 0, or returns the existing group's
// state.
func (c *Client) CreateGroup(ctx context.Context, groupID []byte) (GroupState, error) {
	var out GroupState
	err := c.doJSON(ctx, "PUT", "/v1/groups/"+EncodeGroupID(groupID), "", nil, &out)
	return out, err
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
	req, err := c.newRequest(ctx, method, path, contentType, body)
	if err != nil {
		return nil, err
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, err
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

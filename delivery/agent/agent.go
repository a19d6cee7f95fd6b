package agent

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/treekem"
)

// ExtensionGroupName is the GroupContext extension that carries the name the
// group's creator gave it (UTF-8, a valid name: see Agent.Create), so that
// every member, whoever added it, lists the group under the same name. Its
// type is in the private-use range of RFC 9420 §17.3 (0xF000-0xFFFF); every
// Agent lists it in its capabilities, as §13.4 requires of all members.
const ExtensionGroupName treekem.ExtensionType = 0xF001

// Defaults of Options.
const (
	DefaultKeyPackages = 5
	DefaultTimeout     = 30 * time.Second
	DefaultSuite       = suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	DefaultLockWait    = 10 * time.Second
)

// Options say where an Agent keeps its state and which delivery service it
// talks to.
type Options struct {
	// Dir is the state directory.
	Dir string
	// DS is the delivery service's base URL, e.g. "http://127.0.0.1:8080".
	DS string
	// HTTPClient calls the delivery service; nil means a client of its own
	// with a timeout of DefaultTimeout per request.
	HTTPClient *http.Client
	// KeyPackages is how many one-time KeyPackages the client keeps
	// uploaded; 0 means DefaultKeyPackages.
	KeyPackages int
	// LockWait is how long Open and Init wait for another process using
	// the state directory to finish; 0 means DefaultLockWait.
	LockWait time.Duration
	// LastResortGrace is how long the private part of a last-resort
	// KeyPackage is kept after it was replaced by a fresh one, for the
	// Welcomes of claims made before; 0 means DefaultLastResortGrace.
	LastResortGrace time.Duration
	// RenewBefore is how long before the client's certificate expires Open
	// renews it; 0 means DefaultRenewBefore, or half the certificate's
	// validity if that is shorter.
	RenewBefore time.Duration
	// CA, if set, is the delivery service's root certificate (DER), known
	// out of band: Init pins it and fails if the service presents another.
	// Nil pins the root the service presents at Init (trust on first use;
	// compare its fingerprint, CAFingerprint, out of band).
	CA []byte
}

// identityRecord is the client's identity file (JSON, mode 0600).
type identityRecord struct {
	Version int    `json:"version"`
	Name    string `json:"name"`
	Suite   uint16 `json:"suite"`
	// SignatureKey is the private signature key in the suite's encoding.
	SignatureKey []byte `json:"signature_key"`
	// Token is the delivery service's bearer token for Name.
	Token string `json:"token"`
	// Certificates is the client's X.509 credential: the chain (DER,
	// end-entity first) the delivery service's CA issued for Name and
	// the signature key.
	Certificates [][]byte `json:"certificates"`
	// CA is the pinned root certificate (DER) of the delivery service's
	// CA, against which every credential the client meets is validated.
	CA []byte `json:"ca"`
	// DS is the delivery service the client registered with (for
	// information: Options.DS is used).
	DS string `json:"ds"`
}

const identityVersion = 2

// An Agent is one MLS client working against a delivery service: its
// identity, the private parts of its KeyPackages and its groups, kept in a
// state directory that it locks while open. An Agent is not safe for
// concurrent use.
type Agent struct {
	opts      Options
	st        *DirStorage
	ds        *delivery.Client
	id        identityRecord
	cfg       mls.Config
	unlock    func() error
	transport *http.Transport // the transport of the Agent's own HTTP client, or nil
	now       func() time.Time
}

// Init creates the client's identity in opts.Dir: a signature key for the
// cipher suite cs (0 means DefaultSuite), registration of name with the
// delivery service, and KeyPackages uploaded (Options.KeyPackages one-time
// ones and a last-resort one). Run again with the same name on an
// initialized directory, it only uploads the KeyPackages missing.
func Init(ctx context.Context, opts Options, name string, cs suite.ID) (*Agent, error) {
	if err := checkName("client name", name); err != nil {
		return nil, err
	}
	if cs == 0 {
		cs = DefaultSuite
	}
	if _, err := suite.Lookup(cs); err != nil {
		return nil, wrapErr(ErrInvalidArgument, "cipher suite", err)
	}
	st, err := NewDirStorage(opts.Dir)
	if err != nil {
		return nil, err
	}
	a, err := newAgent(opts, st)
	if err != nil {
		return nil, err
	}
	if err := a.initIdentity(ctx, name, cs); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.topUp(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// Open opens an initialized state directory. If the client's certificate
// is due for renewal (Options.RenewBefore), Open has the delivery service
// certify the signature key again and commits an update of the client's
// leaf in each of its groups, carrying the new certificate (see
// renew.go); that is the only time it calls the delivery service.
func Open(ctx context.Context, opts Options) (*Agent, error) {
	if _, err := os.Stat(filepath.Join(opts.Dir, identityFile)); errors.Is(err, fs.ErrNotExist) {
		return nil, errorf(ErrNotInitialized, "%s has no identity: run init first", opts.Dir)
	}
	st, err := NewDirStorage(opts.Dir)
	if err != nil {
		return nil, err
	}
	a, err := newAgent(opts, st)
	if err != nil {
		return nil, err
	}
	read, err := readIdentity(opts.Dir)
	id := read
	if err == nil {
		id, err = a.renewIfDue(ctx, read)
	}
	if err == nil {
		err = a.setIdentity(id)
	}
	if err != nil {
		a.Close()
		return nil, err
	}
	if id != read {
		// Groups where the update fails keep RefreshLeaf: Join tries again.
		a.refreshLeaves(ctx)
	}
	return a, nil
}

func newAgent(opts Options, st *DirStorage) (*Agent, error) {
	if opts.KeyPackages <= 0 {
		opts.KeyPackages = DefaultKeyPackages
	}
	if opts.LockWait <= 0 {
		opts.LockWait = DefaultLockWait
	}
	if opts.LastResortGrace <= 0 {
		opts.LastResortGrace = DefaultLastResortGrace
	}
	unlock, err := lockDir(filepath.Join(opts.Dir, lockFile), opts.LockWait)
	if err != nil {
		return nil, err
	}
	a := &Agent{opts: opts, st: st, unlock: unlock, now: time.Now}
	hc := opts.HTTPClient
	if hc == nil {
		a.transport = http.DefaultTransport.(*http.Transport).Clone()
		hc = &http.Client{Transport: a.transport, Timeout: DefaultTimeout}
	}
	a.ds = &delivery.Client{BaseURL: opts.DS, HTTPClient: hc}
	return a, nil
}

// CAFingerprint returns the fingerprint of the pinned root certificate
// of the delivery service's CA (delivery.Fingerprint), to compare out of
// band.
func (a *Agent) CAFingerprint() string { return delivery.Fingerprint(a.id.CA) }

// Close releases the state directory.
func (a *Agent) Close() error {
	if a.transport != nil {
		a.transport.CloseIdleConnections()
	}
	if a.unlock == nil {
		return nil
	}
	err := a.unlock()
	a.unlock = nil
	if err != nil {
		return wrapErr(ErrState, "unlocking", err)
	}
	return nil
}

// Claims returns the latest claims of the client's KeyPackages at the
// delivery service, newest first: who is adding it to groups, or draining
// its KeyPackages.
func (a *Agent) Claims(ctx context.Context) ([]delivery.ClaimRecord, error) {
	cs, err := a.ds.Claims(ctx)
	if err != nil {
		return nil, dsErr("fetching the claims of this client's KeyPackages", err)
	}
	return cs, nil
}

// Name returns the client's name: its credential identity and its name at
// the delivery service.
func (a *Agent) Name() string { return a.id.Name }

// Suite returns the cipher suite of the client's KeyPackages and of the
// groups it creates.
func (a *Agent) Suite() suite.ID { return suite.ID(a.id.Suite) }

func (a *Agent) initIdentity(ctx context.Context, name string, cs suite.ID) error {
	id, err := readIdentity(a.opts.Dir)
	if err == nil {
		if id.Name != name || suite.ID(id.Suite) != cs {
			return errorf(ErrAlreadyInitialized, "%s holds client %s (suite %v)", a.opts.Dir, id.Name, suite.ID(id.Suite))
		}
		return a.setIdentity(id)
	}
	if !errors.Is(err, ErrNotInitialized) {
		return err
	}
	s, _ := suite.Lookup(cs) // checked by Init
	priv, _, err := s.GenerateSignatureKey(nil)
	if err != nil {
		return wrapErr(ErrState, "generating the signature key", err)
	}
	signer, err := s.NewSigner(priv)
	if err != nil {
		return wrapErr(ErrState, "the signature key", err)
	}
	root, err := a.pinCA(ctx)
	if err != nil {
		return err
	}
	reg, err := a.ds.RegisterKey(ctx, name, cs, signer)
	if errors.Is(err, store.ErrClientExists) {
		return errorf(ErrDelivery, "the name %s is already registered with %s", name, a.opts.DS)
	}
	if errors.Is(err, delivery.ErrUnsupportedKey) || errors.Is(err, delivery.ErrMalformed) {
		return wrapErr(ErrInvalidArgument, "registering "+name, err)
	}
	if err != nil {
		return dsErr("registering "+name, err)
	}
	id = &identityRecord{Version: identityVersion, Name: name, Suite: uint16(cs), SignatureKey: priv, Token: reg.Token,
		Certificates: reg.Certificates, CA: root, DS: a.opts.DS}
	if err := a.setIdentity(id); err != nil {
		return wrapErr(ErrDelivery, "the certificate the delivery service issued", err)
	}
	data, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return wrapErr(ErrState, "encoding the identity", err)
	}
	return writeFileAtomic(filepath.Join(a.opts.Dir, identityFile), append(data, '\n'))
}

// pinCA returns the delivery service's root certificate: the one of
// Options.CA, which the service must present, or the one it presents.
func (a *Agent) pinCA(ctx context.Context) ([]byte, error) {
	root, err := a.ds.CA(ctx)
	if err != nil {
		return nil, dsErr("fetching the delivery service's CA certificate", err)
	}
	if a.opts.CA != nil && !bytes.Equal(root, a.opts.CA) {
		return nil, errorf(ErrDelivery, "the delivery service presents the CA certificate %s, not the pinned %s: another service, or an impostor",
			delivery.Fingerprint(root), delivery.Fingerprint(a.opts.CA))
	}
	if _, err := x509.ParseCertificate(root); err != nil {
		return nil, wrapErr(ErrDelivery, "the delivery service's CA certificate", err)
	}
	return root, nil
}

func readIdentity(dir string) (*identityRecord, error) {
	path := filepath.Join(dir, identityFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errorf(ErrNotInitialized, "%s has no identity: run init first", dir)
	}
	if err != nil {
		return nil, wrapErr(ErrState, "reading the identity", err)
	}
	id := new(identityRecord)
	if err := json.Unmarshal(data, id); err != nil {
		return nil, wrapErr(ErrState, "decoding "+path, err)
	}
	if id.Version != identityVersion {
		return nil, errorf(ErrState, "%s: version %d, want %d", path, id.Version, identityVersion)
	}
	return id, nil
}

// setIdentity builds the client's mls.Config from its identity.
func (a *Agent) setIdentity(id *identityRecord) error {
	if !validName(id.Name) {
		return errorf(ErrState, "identity: invalid name %q", id.Name)
	}
	s, err := suite.Lookup(suite.ID(id.Suite))
	if err != nil {
		return wrapErr(ErrState, "identity", err)
	}
	signer, err := s.NewSigner(id.SignatureKey)
	if err != nil {
		return wrapErr(ErrState, "identity: signature key", err)
	}
	root, err := x509.ParseCertificate(id.CA)
	if err != nil {
		return wrapErr(ErrState, "identity: the pinned CA certificate", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root)
	cfg, err := mls.NewX509Config(s.ID(), signer, id.Certificates, roots)
	if err != nil {
		return wrapErr(ErrState, "identity: the client's certificate", err)
	}
	// Every member validates every credential against the pinned root,
	// and admits whom the group's admission extension admits (the
	// delivery service applies the same policy).
	cfg.SupportedExtensions = []treekem.ExtensionType{ExtensionGroupName, delivery.ExtensionAdmission}
	cfg.Policy = delivery.Policy()
	a.id = *id
	a.ds.Token = id.Token
	a.cfg = cfg
	return nil
}

// dsErr wraps an error of the delivery service client.
func dsErr(what string, err error) error {
	switch {
	case errors.Is(err, delivery.ErrUnauthorized):
		what += " (is this client registered with this delivery service? run init there)"
	case transient(err) && !errors.Is(err, delivery.ErrServer):
		what += " (cannot reach the delivery service: is it running, at the URL of --ds or $MLS_DS?)"
	}
	return wrapErr(ErrDelivery, what, err)
}

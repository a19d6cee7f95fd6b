package mls

import (
	"crypto/rand"
	"io"
	"slices"
	"time"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/treekem"
)

// Defaults of Config.
const (
	DefaultKeyPackageLifetime = 90 * 24 * time.Hour
	DefaultPastEpochs         = 3
	DefaultResumptionEpochs   = 16
	// DefaultMaxTreeLeaves is the default of Config.MaxTreeLeaves: 2^22
	// leaves, four times a group of a million members.
	DefaultMaxTreeLeaves = 1 << 22
)

// Config describes a client: its cipher suite and identity, where it gets
// randomness and time, and the policy it applies to what it receives. The
// same Config is passed to every function that creates or loads a Group; the
// zero value of each field selects a documented default.
type Config struct {
	// Suite is the cipher suite of the groups this client creates and of
	// its KeyPackages. Joining takes the suite from the Welcome or
	// GroupInfo, which must be this one.
	Suite CipherSuite
	// Suites are the cipher suites the client supports, where Suite is
	// looked up, and which its capabilities list by default. Nil means
	// suite.Default(): the suites of RFC 9420 and of
	// draft-ietf-mls-pq-ciphersuites. A registry made with suite.New and
	// suite.Registry.With adds compositions under the code points the
	// client's peers use.
	Suites *suite.Registry
	// Signer signs with the client's signature key; its public key goes in
	// the client's LeafNodes. It may live in an HSM.
	Signer Signer
	// Credential binds the client's identity to the signature key (§5.3).
	Credential Credential
	// Capabilities are advertised in the client's LeafNodes (§7.2). Nil
	// selects: protocol version mls10, the cipher suites of Suites, the
	// extension and proposal types of SupportedExtensions and
	// SupportedProposals, and the basic and X.509 credential types (and
	// that of Credential). DefaultCapabilities returns them.
	Capabilities *Capabilities
	// LeafExtensions are put in the client's LeafNodes. Their types must
	// be listed in the capabilities (default ones excepted).
	LeafExtensions Extensions
	// SupportedExtensions lists the non-default extension types the
	// application implements. A group whose GroupContext carries an
	// extension of another type cannot be joined (§13.4).
	SupportedExtensions []ExtensionType
	// SupportedProposals lists the custom proposal types the application
	// implements; they are handed to Policy.Proposal.
	SupportedProposals []ProposalType

	// Rand is the source of all key material and nonces; nil means
	// crypto/rand.
	Rand io.Reader
	// Now is the clock for KeyPackage lifetimes; nil means time.Now.
	Now func() time.Time
	// KeyPackageLifetime is the validity of the KeyPackages NewKeyPackage
	// creates; 0 means DefaultKeyPackageLifetime.
	KeyPackageLifetime time.Duration
	// MaxLifetime is the longest lifetime accepted in a received
	// KeyPackage (§7.2); 0 means no limit.
	MaxLifetime time.Duration

	// Authentication is the Authentication Service (§5.3.1): it validates
	// every credential introduced in the group, decides which credential
	// may succeed another, and names the identity a credential presents.
	// Nil selects a *BasicAuthentication, which accepts basic credentials
	// and refuses all others. See NewX509Config for X.509.
	Authentication AuthenticationService
	// Policy is the authorization policy: who may enter the group on its
	// own (external commits, new_member_proposal Adds) and the
	// application's rules for proposals. Its zero value admits only a
	// member's resync; see Policy.
	Policy Policy
	// ExternalPSK returns the secret of an external pre-shared key (§8.4),
	// or an error if it is unknown. Nil knows none.
	ExternalPSK func(id []byte) ([]byte, error)
	// ResumptionPSK returns the resumption_psk of the given epoch of
	// another group (§8.6), for PreSharedKey proposals of usage
	// application that reference a group other than the one they are
	// committed in, typically from Group.ResumptionPSK of the client's copy
	// of that group; an error if it is not available. The group's own past
	// epochs (Config.ResumptionEpochs) are looked up without it. Nil knows
	// none.
	ResumptionPSK func(groupID []byte, epoch uint64) ([]byte, error)

	// Padding chooses the padding of the PrivateMessages this client
	// sends (§6.3.1, §15.1); nil adds none. See message.PadToMultiple.
	Padding message.Padding
	// EncryptHandshake sends proposals and commits as PrivateMessages
	// instead of PublicMessages.
	EncryptHandshake bool
	// MaxForwardDistance bounds how many generations a received message may
	// skip ahead in a sender's ratchet (§15.3); 0 means
	// keyschedule.DefaultMaxForwardDistance.
	MaxForwardDistance int
	// MaxRetainedKeys bounds how many keys of skipped generations each
	// sender ratchet keeps for late messages; 0 means
	// keyschedule.DefaultMaxRetainedKeys, negative keeps none.
	MaxRetainedKeys int
	// PastEpochs is how many past epochs are kept to decrypt late
	// application messages; 0 means DefaultPastEpochs, negative keeps none.
	PastEpochs int
	// ResumptionEpochs is how many epochs' resumption_psk are kept (§8.6);
	// 0 means DefaultResumptionEpochs, negative keeps only the current one.
	ResumptionEpochs int
	// MaxTreeLeaves bounds the ratchet tree a client accepts when it joins
	// (Join, JoinExternal): the tree in the ratchet_tree extension of the
	// GroupInfo (of a Welcome, or given to JoinExternal), or
	// JoinOptions.RatchetTree, may have at most this many leaves, blank
	// ones included, in its encoding. The encoding (§12.4.3.3) spends one
	// byte per blank node, so without a bound a small message could make
	// the joiner allocate the state of a huge tree; the bound is checked
	// before any per-node state is allocated. Whatever the bound, a tree
	// may have at most max(treekem.SparseTreeLeaves,
	// treekem.LeavesPerMember × members) leaves, so that its blank leaves
	// cost less to hash than its members' signatures to verify: decoding
	// and hashing a received tree cost O(non-blank nodes + encoded size).
	// A larger tree fails with ErrInvalidWelcome and a
	// *treekem.TreeSizeError (errors.Is(err, treekem.ErrTreeTooLarge)).
	// 0 means DefaultMaxTreeLeaves; negative means the largest tree
	// treekem holds (2^30 leaves). Trees in snapshots (UnmarshalGroup) and
	// trees grown by commits are not bounded.
	MaxTreeLeaves int
	// GREASE adds random GREASE values (§13.5) to the capabilities and
	// extensions of the LeafNodes, KeyPackages and GroupInfos this client
	// creates. Received GREASE values are always accepted.
	GREASE bool
}

// config is a Config with its suite looked up and defaults applied.
type config struct {
	Config
	cs *suite.Suite
	as AuthenticationService
}

func (c *Config) resolve() (*config, error) {
	if c.Suite == 0 {
		return nil, errorf(ErrInvalidArgument, "Config.Suite is zero: set a cipher suite, e.g. mls.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519")
	}
	cs, err := lookupSuite(c.Suites, c.Suite)
	if err != nil {
		return nil, err
	}
	cf := &config{Config: *c, cs: cs, as: c.Authentication}
	if cf.as == nil {
		cf.as = &BasicAuthentication{}
	}
	return cf, nil
}

// resolveSigner is resolve for an operation that signs: Signer is required.
func (c *Config) resolveSigner() (*config, error) {
	cf, err := c.resolve()
	if err != nil {
		return nil, err
	}
	if cf.Signer == nil {
		return nil, errorf(ErrInvalidArgument, "Config.Signer is nil: make one with mls.NewSigner")
	}
	if err := cf.cs.CheckSignaturePublicKey(cf.Signer.Public()); err != nil {
		return nil, wrapErr(ErrInvalidArgument, "signer's public key", err)
	}
	return cf, nil
}

// resolveMember is resolveSigner for a client that makes LeafNodes (group
// members, KeyPackages): Credential is required too.
func (c *Config) resolveMember() (*config, error) {
	cf, err := c.resolveSigner()
	if err != nil {
		return nil, err
	}
	if cf.Credential.Type == 0 {
		return nil, errorf(ErrInvalidArgument, "Config.Credential is empty: set one, e.g. mls.BasicCredential(name)")
	}
	return cf, nil
}

func (c *config) rand() io.Reader {
	if c.Rand != nil {
		return c.Rand
	}
	return rand.Reader
}

func (c *config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *config) keyPackageLifetime() time.Duration {
	if c.KeyPackageLifetime > 0 {
		return c.KeyPackageLifetime
	}
	return DefaultKeyPackageLifetime
}

func (c *config) pastEpochs() int { return epochCount(c.PastEpochs, DefaultPastEpochs) }

func (c *config) resumptionEpochs() int {
	return epochCount(c.ResumptionEpochs, DefaultResumptionEpochs)
}

// epochCount reads a count of epochs from Config: 0 means def, and a
// negative count none.
func epochCount(n, def int) int {
	switch {
	case n < 0:
		return 0
	case n == 0:
		return def
	}
	return n
}

// maxTreeLeaves returns the bound of treekem.UnmarshalTreeLimit for
// Config.MaxTreeLeaves (0 there is treekem's own maximum).
func (c *config) maxTreeLeaves() uint32 {
	switch n := c.MaxTreeLeaves; {
	case n == 0:
		return DefaultMaxTreeLeaves
	case n < 0 || uint64(n) > 1<<32-1:
		return 0
	default:
		return uint32(n)
	}
}

func (c *config) ratchetConfig() keyschedule.Config {
	return keyschedule.Config{MaxForwardDistance: c.MaxForwardDistance, MaxRetainedKeys: c.MaxRetainedKeys}
}

// policy returns the leaf validation policy (§7.3) for a group whose
// GroupContext extensions are exts. checkTime selects whether lifetimes are
// checked against the clock, which RFC 9420 §7.3 requires for LeafNodes the
// client sends and recommends for those it receives in proposals; the
// leaves of a tree a client joins are not checked (they may be old
// key_package leaves that legitimately outlived their lifetime).
func (c *config) policy(exts Extensions, checkTime bool) (*treekem.Policy, error) {
	rc, err := treekem.RequiredCapabilitiesOf(exts)
	if err != nil {
		return nil, wrapErr(ErrMalformed, "required_capabilities extension", err)
	}
	p := &treekem.Policy{RequiredCapabilities: rc, Credentials: treekem.CredentialValidatorFunc(c.validateCredential), MaxLifetime: c.MaxLifetime}
	if checkTime {
		p.Now = c.now
	}
	return p, nil
}

// capabilities returns the capabilities of the client's LeafNodes, without
// GREASE values: they represent what the client supports (§13.5).
func (c *config) capabilities() Capabilities {
	if c.Capabilities != nil {
		cp := *c.Capabilities
		cp.Versions = slices.Clone(cp.Versions)
		cp.CipherSuites = slices.Clone(cp.CipherSuites)
		cp.Extensions = slices.Clone(cp.Extensions)
		cp.Proposals = slices.Clone(cp.Proposals)
		cp.Credentials = slices.Clone(cp.Credentials)
		return cp
	}
	return DefaultCapabilities(c.Config)
}

// DefaultCapabilities returns the capabilities a nil Config.Capabilities
// selects for cfg (see there), for a caller that extends them:
//
//	caps := mls.DefaultCapabilities(cfg)
//	caps.Extensions = append(caps.Extensions, myExtension)
//	cfg.Capabilities = &caps
func DefaultCapabilities(cfg Config) Capabilities {
	c := &cfg
	caps := Capabilities{Versions: []treekem.ProtocolVersion{treekem.MLS10}}
	for _, id := range c.Suites.IDs() {
		caps.CipherSuites = append(caps.CipherSuites, uint16(id))
	}
	for _, e := range c.SupportedExtensions {
		if !e.IsDefault() && !slices.Contains(caps.Extensions, e) {
			caps.Extensions = append(caps.Extensions, e)
		}
	}
	for _, e := range c.LeafExtensions {
		if !e.Type.IsDefault() && !slices.Contains(caps.Extensions, e.Type) {
			caps.Extensions = append(caps.Extensions, e.Type)
		}
	}
	for _, p := range c.SupportedProposals {
		if !p.IsDefault() && !slices.Contains(caps.Proposals, uint16(p)) {
			caps.Proposals = append(caps.Proposals, uint16(p))
		}
	}
	caps.Credentials = []CredentialType{treekem.CredentialBasic, treekem.CredentialX509}
	if !slices.Contains(caps.Credentials, c.Credential.Type) {
		caps.Credentials = append(caps.Credentials, c.Credential.Type)
	}
	return caps
}

// supportsProposal reports whether the client implements proposal type t.
func (c *config) supportsProposal(t ProposalType) bool {
	if t.IsDefault() {
		return true
	}
	if c.Capabilities != nil {
		return slices.Contains(c.Capabilities.Proposals, uint16(t))
	}
	return slices.Contains(c.SupportedProposals, t)
}

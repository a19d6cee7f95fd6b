package mls

import (
	"bytes"
	"maps"
	"slices"

	"github.com/fxamacker/cbor/v2"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// The snapshot of a Group is a CBOR map (RFC 8949) with small integer
// keys, versioned by its first field. It holds the group's secrets: store it
// as such, and replace the stored copy on every change, which is how
// consumed secrets are deleted from storage too (§9.2). The tree is stored
// in its ratchet_tree encoding, so a snapshot is O(n).

// snapshotVersion is the version of the snapshot layout.
const snapshotVersion = 1

type snapshot struct {
	Version         int                          `cbor:"1,keyasint"`
	Suite           uint16                       `cbor:"2,keyasint"`
	GroupContext    []byte                       `cbor:"3,keyasint"`
	Tree            []byte                       `cbor:"4,keyasint"`
	Private         []byte                       `cbor:"5,keyasint"`
	Secrets         snapSecrets                  `cbor:"6,keyasint"`
	SecretTree      *keyschedule.SecretTreeState `cbor:"7,keyasint"`
	Interim         []byte                       `cbor:"8,keyasint"`
	ConfirmationTag []byte                       `cbor:"9,keyasint"`
	Proposals       []snapProposal               `cbor:"10,keyasint"`
	ReInit          []byte                       `cbor:"11,keyasint,omitempty"`
	Past            []snapPast                   `cbor:"12,keyasint"`
	Resumption      []snapResumption             `cbor:"13,keyasint"`
	Removed         bool                         `cbor:"14,keyasint"`
	// Public marks the snapshot of a PublicGroup: keys 3, 4 and 8 to 11
	// only, no secret.
	Public bool `cbor:"15,keyasint,omitempty"`
}

type snapSecrets struct {
	SenderData         []byte `cbor:"1,keyasint"`
	Exporter           []byte `cbor:"2,keyasint"`
	External           []byte `cbor:"3,keyasint"`
	Confirmation       []byte `cbor:"4,keyasint"`
	Membership         []byte `cbor:"5,keyasint"`
	Resumption         []byte `cbor:"6,keyasint"`
	EpochAuthenticator []byte `cbor:"7,keyasint"`
	Init               []byte `cbor:"8,keyasint"`
}

type snapProposal struct {
	Ref        []byte `cbor:"1,keyasint"`
	SenderType uint8  `cbor:"2,keyasint"`
	SenderLeaf uint32 `cbor:"3,keyasint"`
	SenderExt  uint32 `cbor:"4,keyasint"`
	Type       uint16 `cbor:"5,keyasint"`
	Body       []byte `cbor:"6,keyasint"`
	LeafPriv   []byte `cbor:"7,keyasint,omitempty"`
}

type snapPast struct {
	Epoch        uint64                       `cbor:"1,keyasint"`
	GroupContext []byte                       `cbor:"2,keyasint"`
	SenderData   []byte                       `cbor:"3,keyasint"`
	SecretTree   *keyschedule.SecretTreeState `cbor:"4,keyasint"`
	SigKeys      []snapLeafKey                `cbor:"5,keyasint"`
}

type snapLeafKey struct {
	Leaf uint32 `cbor:"1,keyasint"`
	Key  []byte `cbor:"2,keyasint"`
}

type snapResumption struct {
	Epoch uint64 `cbor:"1,keyasint"`
	PSK   []byte `cbor:"2,keyasint"`
}

// MarshalBinary returns a snapshot of the group's whole state, which
// UnmarshalGroup restores: the loaded group continues exactly where this one
// stands (its next messages, commits and late-message keys are the same).
// The snapshot contains secrets.
func (g *Group) MarshalBinary() ([]byte, error) {
	ep := g.ep
	priv, err := ep.priv.MarshalBinary()
	if err != nil {
		return nil, internalErr("private state: %v", err)
	}
	s := &snapshot{
		Version: snapshotVersion,
		Suite:   uint16(g.cf.cs.ID()),
		Private: priv,
		Secrets: snapSecrets{
			SenderData:         ep.secrets.SenderData,
			Exporter:           ep.secrets.Exporter,
			External:           ep.secrets.External,
			Confirmation:       ep.secrets.Confirmation,
			Membership:         ep.secrets.Membership,
			Resumption:         ep.secrets.Resumption,
			EpochAuthenticator: ep.secrets.EpochAuthenticator,
			Init:               ep.secrets.Init,
		},
		SecretTree: ep.stree.State(),
		Removed:    g.removed,
	}
	defer s.SecretTree.Wipe()
	if err := ep.publicEpoch.save(s); err != nil {
		return nil, err
	}
	for _, p := range g.past {
		sp := snapPast{Epoch: p.epoch, GroupContext: p.gcBytes, SenderData: p.senderData, SecretTree: p.stree.State()}
		defer sp.SecretTree.Wipe()
		for _, leaf := range slices.Sorted(maps.Keys(p.sigKeys)) {
			sp.SigKeys = append(sp.SigKeys, snapLeafKey{Leaf: uint32(leaf), Key: p.sigKeys[leaf]})
		}
		s.Past = append(s.Past, sp)
	}
	for _, r := range g.resumption {
		s.Resumption = append(s.Resumption, snapResumption{Epoch: r.epoch, PSK: r.psk})
	}
	return encodeSnapshot(s)
}

// save puts the public state of the epoch in s.
func (ep *publicEpoch) save(s *snapshot) error {
	rt, err := ep.tree.RatchetTree()
	if err != nil {
		return internalErr("tree: %v", err)
	}
	s.GroupContext, s.Tree, s.Interim, s.ConfirmationTag = ep.gcBytes, rt, ep.interim, ep.confirmationTag
	for _, c := range ep.proposals {
		body, err := wire.Marshal(c.proposal.Body)
		if err != nil {
			return internalErr("proposal: %v", err)
		}
		s.Proposals = append(s.Proposals, snapProposal{
			Ref: c.ref, SenderType: uint8(c.sender.Type), SenderLeaf: uint32(c.sender.Leaf),
			SenderExt: c.sender.ExternalIndex, Type: uint16(c.proposal.Type()), Body: body, LeafPriv: c.leafPriv,
		})
	}
	if ep.reinit != nil {
		if s.ReInit, err = wire.Marshal(ep.reinit); err != nil {
			return internalErr("ReInit: %v", err)
		}
	}
	return nil
}

func encodeSnapshot(s *snapshot) ([]byte, error) {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		return nil, internalErr("CBOR: %v", err)
	}
	out, err := em.Marshal(s)
	if err != nil {
		return nil, internalErr("CBOR: %v", err)
	}
	return out, nil
}

// openSnapshot decodes a snapshot of a group (or of a PublicGroup) and
// resolves cfg for it: a member's Config needs a signer and credential.
func openSnapshot(cfg Config, data []byte, public bool) (*snapshot, *config, error) {
	s, err := decodeSnapshot(data, public)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Suite == 0 {
		cfg.Suite = CipherSuite(s.Suite)
	}
	resolve := cfg.resolveMember
	if public {
		resolve = cfg.resolve
	}
	cf, err := resolve()
	if err != nil {
		return nil, nil, err
	}
	if uint16(cf.cs.ID()) != s.Suite {
		return nil, nil, errorf(ErrInvalidArgument, "snapshot of suite %d, Config of suite %v", s.Suite, cf.cs.ID())
	}
	return s, cf, nil
}

// decodeSnapshot decodes a snapshot and checks its version and kind.
func decodeSnapshot(data []byte, public bool) (*snapshot, error) {
	dm, err := cbor.DecOptions{
		MaxArrayElements: 1<<31 - 1,
		MaxMapPairs:      64,
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
	}.DecMode()
	if err != nil {
		return nil, internalErr("CBOR: %v", err)
	}
	s := new(snapshot)
	if err := dm.Unmarshal(data, s); err != nil {
		return nil, wrapErr(ErrInvalidState, "CBOR", err)
	}
	if s.Version != snapshotVersion {
		return nil, errorf(ErrInvalidState, "snapshot version %d", s.Version)
	}
	if s.Public != public {
		return nil, errorf(ErrInvalidState, "a snapshot of a PublicGroup is not a member's, and the reverse")
	}
	return s, nil
}

// loadPublic restores the public state of the epoch of snapshot s, for
// suite cs. The tree of a trusted snapshot is not validated again; its
// hash must be the GroupContext's.
func loadPublic(cs *suite.Suite, s *snapshot) (*publicEpoch, error) {
	bad := func(what string, err error) error { return wrapErr(ErrInvalidState, what, err) }
	ep := &publicEpoch{gcBytes: bytes.Clone(s.GroupContext), interim: s.Interim, confirmationTag: s.ConfirmationTag}
	if err := wire.Unmarshal(bytes.Clone(s.GroupContext), &ep.gc); err != nil {
		return nil, bad("GroupContext", err)
	}
	if ep.gc.CipherSuite != cs.ID() {
		return nil, errorf(ErrInvalidState, "GroupContext of suite %v", ep.gc.CipherSuite)
	}
	var err error
	if ep.tree, err = treekem.UnmarshalTree(cs, s.Tree); err != nil {
		return nil, bad("tree", err)
	}
	if !bytes.Equal(ep.tree.TreeHash(), ep.gc.TreeHash) {
		return nil, errorf(ErrInvalidState, "tree hash differs from the GroupContext's")
	}
	for _, sp := range s.Proposals {
		p, err := decodeProposal(ProposalType(sp.Type), sp.Body)
		if err != nil {
			return nil, bad("proposal", err)
		}
		ep.proposals = append(ep.proposals, &cachedProposal{
			ref:      sp.Ref,
			sender:   Sender{Type: SenderType(sp.SenderType), Leaf: LeafIndex(sp.SenderLeaf), ExternalIndex: sp.SenderExt},
			proposal: p,
			leafPriv: sp.LeafPriv,
		})
	}
	if s.ReInit != nil {
		ri := new(ReInit)
		if err := wire.Unmarshal(s.ReInit, ri); err != nil {
			return nil, bad("ReInit", err)
		}
		ep.reinit = ri
	}
	return ep, nil
}

// UnmarshalGroup restores a group from a snapshot taken by MarshalBinary
// (Load does it from a Storage). cfg is
// the member's configuration (its Suite may be zero); its Signer must hold
// the member's signature key. A snapshot that is inconsistent fails with
// ErrInvalidState.
func UnmarshalGroup(cfg Config, data []byte) (g *Group, err error) {
	defer func() {
		if p := recover(); p != nil {
			g, err = nil, recovered("loading a snapshot", p)
		}
	}()
	s, cf, err := openSnapshot(cfg, data, false)
	if err != nil {
		return nil, err
	}
	cs := cf.cs
	bad := func(what string, err error) error { return wrapErr(ErrInvalidState, what, err) }
	pub, err := loadPublic(cs, s)
	if err != nil {
		return nil, err
	}
	gc, tree := &pub.gc, pub.tree
	priv, err := treekem.UnmarshalPrivateState(cs, s.Private)
	if err != nil {
		return nil, bad("private state", err)
	}
	if !s.Removed {
		if err := priv.Check(tree); err != nil {
			return nil, bad("private state", err)
		}
		if !bytes.Equal(tree.SignatureKey(priv.Leaf()), cf.Signer.Public()) {
			return nil, errorf(ErrInvalidArgument, "Config.Signer is not the member's signature key")
		}
	}
	nh := cs.HashSize()
	sec := keyschedule.Secrets{
		SenderData: s.Secrets.SenderData, Exporter: s.Secrets.Exporter, External: s.Secrets.External,
		Confirmation: s.Secrets.Confirmation, Membership: s.Secrets.Membership, Resumption: s.Secrets.Resumption,
		EpochAuthenticator: s.Secrets.EpochAuthenticator, Init: s.Secrets.Init,
	}
	for _, b := range [][]byte{sec.SenderData, sec.Exporter, sec.External, sec.Confirmation, sec.Membership, sec.Resumption, sec.EpochAuthenticator, sec.Init} {
		if len(b) != nh {
			return nil, errorf(ErrInvalidState, "epoch secret of %d bytes", len(b))
		}
	}
	if s.SecretTree == nil {
		return nil, errorf(ErrInvalidState, "no secret tree")
	}
	stree, err := keyschedule.RestoreSecretTree(cs, s.SecretTree, cf.ratchetConfig())
	if err != nil {
		return nil, bad("secret tree", err)
	}
	if stree.Leaves() != tree.LeafCount() {
		return nil, errorf(ErrInvalidState, "secret tree of %d leaves for a tree of %d", stree.Leaves(), tree.LeafCount())
	}
	ep := &epochState{publicEpoch: *pub, priv: priv, secrets: sec, stree: stree}
	g = &Group{cf: cf, ep: ep, removed: s.Removed}
	for _, sp := range s.Past {
		if n := len(g.past); n > 0 && g.past[n-1].epoch >= sp.Epoch || sp.Epoch >= gc.Epoch {
			return nil, errorf(ErrInvalidState, "past epochs out of order")
		}
		if sp.SecretTree == nil || len(sp.SenderData) != nh {
			return nil, errorf(ErrInvalidState, "past epoch %d incomplete", sp.Epoch)
		}
		st, err := keyschedule.RestoreSecretTree(cs, sp.SecretTree, cf.ratchetConfig())
		if err != nil {
			return nil, bad("past secret tree", err)
		}
		p := &pastEpoch{epoch: sp.Epoch, gcBytes: sp.GroupContext, senderData: sp.SenderData, stree: st, sigKeys: map[LeafIndex][]byte{}}
		for _, k := range sp.SigKeys {
			p.sigKeys[LeafIndex(k.Leaf)] = k.Key
		}
		g.past = append(g.past, p)
	}
	for _, r := range s.Resumption {
		if len(r.PSK) != nh {
			return nil, errorf(ErrInvalidState, "resumption PSK of %d bytes", len(r.PSK))
		}
		g.resumption = append(g.resumption, resumptionPSK{epoch: r.Epoch, psk: r.PSK})
	}
	return g, nil
}

// decodeProposal decodes a proposal body of type t (a custom type's body
// is opaque data<V>, as in a message).
func decodeProposal(t ProposalType, body []byte) (*message.Proposal, error) {
	b := wire.NewBuilder(nil)
	b.AddUint16(uint16(t))
	b.AddFixed(body)
	enc, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	p := new(message.Proposal)
	if err := wire.Unmarshal(enc, p); err != nil {
		return nil, err
	}
	return p, nil
}

// MarshalBinary returns a snapshot of the view, without any secret: its
// GroupContext, tree, interim transcript hash, confirmation tag and
// pending proposals, which UnmarshalPublicGroup restores. It is O(n) in
// the group's size.
func (pg *PublicGroup) MarshalBinary() ([]byte, error) {
	s := &snapshot{Version: snapshotVersion, Suite: uint16(pg.cf.cs.ID()), Public: true}
	if err := pg.ep.save(s); err != nil {
		return nil, err
	}
	return encodeSnapshot(s)
}

// UnmarshalPublicGroup restores a PublicGroup from a snapshot taken by
// PublicGroup.MarshalBinary, with the Config cfg (its Suite may be zero).
// A snapshot that is inconsistent fails with ErrInvalidState.
func UnmarshalPublicGroup(cfg Config, data []byte) (pg *PublicGroup, err error) {
	defer func() {
		if p := recover(); p != nil {
			pg, err = nil, recovered("loading a public group", p)
		}
	}()
	s, cf, err := openSnapshot(cfg, data, true)
	if err != nil {
		return nil, err
	}
	ep, err := loadPublic(cf.cs, s)
	if err != nil {
		return nil, err
	}
	return &PublicGroup{cf: cf, ep: ep}, nil
}

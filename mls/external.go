package mls

import (
	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/treekem"
)

// ExternalJoinOptions are the options of JoinExternal.
type ExternalJoinOptions struct {
	JoinOptions
	// Resync replaces the joiner's earlier leaf in the group, removed by
	// the same commit (§12.4.3.2): the member whose signature key is
	// Config.Signer's, else the only member whose credential presents the
	// identity of Config.Credential (AuthenticationService.Identity). It
	// fails with ErrInvalidArgument if there is none.
	Resync bool
	// Remove, if set, is the leaf to replace, as Resync finds it. The
	// joiner's credential must be a valid successor of that leaf's
	// (§12.2), and the commit must be admitted by Config.Policy, whose
	// default admits a resync with the leaf's identity and signature key
	// (see DefaultAdmit).
	Remove *LeafIndex
	// PSKs are pre-shared keys to inject (§12.2 allows PreSharedKey
	// proposals in an external commit); fresh nonces are chosen for them.
	PSKs []PreSharedKeyID
	// AuthenticatedData is the commit's authenticated_data.
	AuthenticatedData []byte
	// GroupInfo are the options of the GroupInfo of the new epoch, which
	// Group.GroupInfo can also produce later.
	GroupInfo GroupInfoOptions
}

// externalCommit is what an external commit adds to a regular one.
type externalCommit struct {
	initSecret []byte
}

// JoinExternal joins a group by external commit (§12.4.3.2) from its
// GroupInfo (an MLSMessage), which must carry the external_pub extension,
// and the tree (in the GroupInfo or opts.RatchetTree). It returns the
// joiner's group in the new epoch and the commit to send. If the delivery
// service refuses the commit, the application drops the group and tries
// again with a newer GroupInfo.
func JoinExternal(cfg Config, groupInfo []byte, opts *ExternalJoinOptions) (g *Group, commit []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			g, commit, err = nil, nil, recovered("joining", p)
		}
	}()
	if opts == nil {
		opts = &ExternalJoinOptions{}
	}
	gi, err := parseGroupInfo(groupInfo)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Suite == 0 {
		cfg.Suite = gi.GroupContext.CipherSuite
	}
	cf, err := cfg.resolveMember()
	if err != nil {
		return nil, nil, err
	}
	cs := cf.cs
	if gi.GroupContext.CipherSuite != cs.ID() {
		return nil, nil, errorf(ErrUnsupported, "group of suite %v, Config of suite %v", gi.GroupContext.CipherSuite, cs.ID())
	}
	tree, err := groupTree(cf, gi, opts.RatchetTree)
	if err != nil {
		return nil, nil, err
	}
	own := cf.leafTemplate()
	if err := checkJoinedGroup(cf, gi, tree, &own); err != nil {
		return nil, nil, err
	}
	ep, ok, err := gi.ExternalPub()
	if err != nil || !ok {
		return nil, nil, errorf(ErrInvalidWelcome, "GroupInfo without a valid external_pub extension (§12.4.3.2)")
	}
	kemOutput, initSecret, err := keyschedule.ExternalInit(cs, cf.rand(), ep.ExternalPub)
	if err != nil {
		return nil, nil, wrapErr(ErrInvalidWelcome, "external_pub", err)
	}
	defer clear(initSecret)
	interim, err := message.InterimTranscriptHash(cs, gi.GroupContext.ConfirmedTranscriptHash, gi.ConfirmationTag)
	if err != nil {
		return nil, nil, wrapErr(ErrInvalidWelcome, "interim transcript hash", err)
	}
	gcBytes, err := gi.GroupContext.Bytes()
	if err != nil {
		return nil, nil, internalErr("GroupContext: %v", err)
	}
	// The joiner's view of the epoch it joins: the public state only.
	outsider := &Group{cf: cf, ep: &epochState{publicEpoch: publicEpoch{gc: gi.GroupContext, gcBytes: gcBytes, tree: tree, interim: interim}}}

	committer := Sender{Type: message.SenderNewMemberCommit}
	list := []entry{{p: &message.Proposal{Body: &ExternalInit{KEMOutput: kemOutput}}, sender: committer}}
	remove := opts.Remove
	if opts.Resync && remove == nil {
		old, err := cf.findOwnLeaf(tree)
		if err != nil {
			return nil, nil, err
		}
		remove = &old
	}
	if remove != nil {
		if !tree.IsMember(*remove) {
			return nil, nil, errorf(ErrInvalidArgument, "leaf %d to remove is blank", *remove)
		}
		list = append(list, entry{p: NewRemove(*remove).wire(), sender: committer})
	}
	for _, id := range opts.PSKs {
		nonce, err := cf.pskNonce()
		if err != nil {
			return nil, nil, err
		}
		id.Nonce = nonce
		list = append(list, entry{p: &message.Proposal{Body: &PreSharedKey{PSK: id}}, sender: committer})
	}
	for i := range list {
		list[i].index = i
	}
	cc := &commitContext{committer: committer, sending: true, resumption: opts.Resumption}
	s, err := outsider.view().applyList(list, cc)
	if err != nil {
		return nil, nil, err
	}
	// What the members will check of the joiner (§12.2, Config.Policy).
	if err := cf.admitJoiner(&gi.GroupContext, &own, s.removes); err != nil {
		return nil, nil, err
	}
	copts := &CommitOptions{AuthenticatedData: opts.AuthenticatedData, GroupInfo: opts.GroupInfo}
	pc, err := outsider.createCommit(list, s, cc, copts, &externalCommit{initSecret: initSecret})
	if err != nil {
		return nil, nil, err
	}
	return &Group{cf: cf, ep: pc.next}, pc.Commit, nil
}

// parseGroupInfo decodes a GroupInfo from an MLSMessage or a bare GroupInfo
// encoding. The result does not alias data.
func parseGroupInfo(data []byte) (*message.GroupInfo, error) {
	return parseMLSOrBare(data, message.WireFormatGroupInfo, "GroupInfo",
		func(m *message.MLSMessage) *message.GroupInfo { return m.GroupInfo })
}

// ParseGroupInfo decodes a GroupInfo from an MLSMessage or a bare GroupInfo
// encoding, without verifying it, for a client that needs its group ID,
// epoch, suite or extensions before it acts on it (its signature is
// verified by JoinExternal and NewPublicGroup, against the signer's leaf in
// the tree). The result does not alias data.
func ParseGroupInfo(data []byte) (*message.GroupInfo, error) { return parseGroupInfo(data) }

// ExternalProposal creates a proposal from an external sender (§12.1.8):
// the party at index senderIndex of the group's external_senders extension,
// signing with cfg.Signer. Only Add, Remove, PreSharedKey, ReInit and
// GroupContextExtensions proposals may be sent this way. It returns the
// PublicMessage (as an MLSMessage) to send to the group in the given epoch.
func ExternalProposal(cfg Config, groupID []byte, epoch uint64, senderIndex uint32, p *Proposal, opts *SendOptions) ([]byte, error) {
	return outsideProposal(cfg, groupID, epoch, message.ExternalSenderAt(senderIndex), p, opts)
}

// NewMemberProposal creates the proposal of a client to add itself with
// the KeyPackage kp (§12.1.8, sender type new_member_proposal), signed with
// cfg.Signer, which must hold the KeyPackage's signature key. groupInfo (an
// MLSMessage) gives the group and epoch. Members accept it if the
// application's policy admits it (Config.Policy.Admit; refused by default).
func NewMemberProposal(cfg Config, groupInfo []byte, kp []byte, opts *SendOptions) ([]byte, error) {
	gi, err := parseGroupInfo(groupInfo)
	if err != nil {
		return nil, err
	}
	add, err := NewAdd(kp)
	if err != nil {
		return nil, err
	}
	if cfg.Suite == 0 {
		cfg.Suite = gi.GroupContext.CipherSuite
	}
	sender := Sender{Type: message.SenderNewMemberProposal}
	return outsideProposal(cfg, gi.GroupContext.GroupID, gi.GroupContext.Epoch, sender, add, opts)
}

func outsideProposal(cfg Config, groupID []byte, epoch uint64, sender Sender, p *Proposal, opts *SendOptions) ([]byte, error) {
	cf, err := cfg.resolveSigner()
	if err != nil {
		return nil, err
	}
	if p == nil || p.Body == nil {
		return nil, errorf(ErrInvalidArgument, "nil proposal")
	}
	if opts == nil {
		opts = &SendOptions{}
	}
	fc := &message.FramedContent{
		GroupID:           groupID,
		Epoch:             epoch,
		Sender:            sender,
		AuthenticatedData: opts.AuthenticatedData,
		ContentType:       message.ContentProposal,
		Proposal:          p.wire(),
	}
	// The FramedContentTBS of these senders has no GroupContext (§6.1).
	ac, err := message.SignContent(cf.cs, cf.Signer, message.WireFormatPublicMessage, fc, nil)
	if err != nil {
		return nil, wrapErr(ErrInvalidArgument, "signing the proposal", err)
	}
	pm, err := message.ProtectPublic(cf.cs, ac, nil, nil)
	if err != nil {
		return nil, wrapErr(ErrInvalidArgument, "protecting the proposal", err)
	}
	return encodeMLS(pm)
}

// findOwnLeaf returns the client's leaf in tree, for a resync: the member
// with the client's signature key, else the only member whose credential
// presents the client's identity.
func (c *config) findOwnLeaf(tree *treekem.Tree) (LeafIndex, error) {
	if leaf, ok := tree.FindSignatureKey(c.Signer.Public()); ok {
		return leaf, nil
	}
	id, err := c.identity(&c.Credential)
	if err != nil {
		return 0, err
	}
	switch found := findIdentity(c, tree, id); len(found) {
	case 0:
		return 0, errorf(ErrInvalidArgument, "resync: no member with the client's signature key or identity %q", id)
	case 1:
		return found[0], nil
	default:
		return 0, errorf(ErrInvalidArgument, "resync: %d members present identity %q, set ExternalJoinOptions.Remove", len(found), id)
	}
}

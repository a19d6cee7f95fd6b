package mls

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// JoinOptions are the options of Join and JoinExternal.
type JoinOptions struct {
	// RatchetTree is the group's tree (a ratchet_tree encoding, see
	// Group.RatchetTree) when the Welcome or GroupInfo does not carry it in
	// a ratchet_tree extension (§12.4.3.3). Its hash is checked against the
	// GroupInfo's tree_hash.
	RatchetTree []byte
	// Resumption are groups the joiner is (or was) a member of whose
	// resumption PSKs the Welcome may use: the old group of a
	// reinitialization (§11.2) or the parent of a branch (§11.3).
	Resumption []*Group
}

// Join joins a group with a Welcome (an MLSMessage) for the KeyPackage
// whose private part is kp (RFC 9420 §12.4.3.1). On success it consumes
// kp, wiping its private keys (KeyPackages are used once, §16.8), unless kp
// is a last-resort KeyPackage; a consumed kp fails with
// ErrInvalidArgument. ParseWelcome says which KeyPackages a Welcome is
// for. Join decrypts the
// GroupSecrets and GroupInfo, verifies the GroupInfo's signature, the
// tree (its hash, parent hashes and every leaf, §7.3, §7.9.2), the
// confirmation tag, and for a reinitialized or branched group its link to
// the old one (§11.2, §11.3). The application checks that the group ID is
// not one of its other groups' (§12.4.3.1).
//
// cfg.Suite may be zero; otherwise it must be the KeyPackage's suite.
func Join(cfg Config, welcome []byte, kp *KeyPackagePrivate, opts *JoinOptions) (g *Group, err error) {
	defer func() {
		if p := recover(); p != nil {
			g, err = nil, recovered("joining", p)
		}
	}()
	if kp == nil {
		return nil, errorf(ErrInvalidArgument, "nil KeyPackagePrivate")
	}
	if len(kp.InitKey) == 0 {
		return nil, errorf(ErrInvalidArgument, "KeyPackagePrivate without keys: consumed by an earlier Join (§16.8)")
	}
	if opts == nil {
		opts = &JoinOptions{}
	}
	pkg, err := ParseKeyPackage(kp.KeyPackage)
	if err != nil {
		return nil, err
	}
	if cfg.Suite == 0 {
		cfg.Suite = pkg.CipherSuite
	}
	cf, err := cfg.resolveMember()
	if err != nil {
		return nil, err
	}
	cs := cf.cs
	if pkg.CipherSuite != cs.ID() {
		return nil, errorf(ErrInvalidArgument, "KeyPackage of suite %v, Config of suite %v", pkg.CipherSuite, cs.ID())
	}
	w, err := parseWelcome(welcome)
	if err != nil {
		return nil, err
	}
	// §12.4.3.1: "If no such field exists, or if the cipher suite
	// indicated in the KeyPackage does not match the one in the Welcome
	// message, return an error."
	if w.CipherSuite != cs.ID() {
		return nil, errorf(ErrInvalidWelcome, "Welcome of suite %v for a KeyPackage of suite %v", w.CipherSuite, cs.ID())
	}
	ref, err := pkg.Ref(cs)
	if err != nil {
		return nil, internalErr("KeyPackageRef: %v", err)
	}
	entry, err := w.Find(ref)
	if err != nil {
		return nil, wrapErr(ErrNoKeyPackage, "welcome", err)
	}
	gs, err := message.DecryptGroupSecrets(cs, kp.InitKey, w.EncryptedGroupInfo, &entry.EncryptedGroupSecrets)
	if err != nil {
		return nil, wrapErr(ErrInvalidWelcome, "GroupSecrets", err)
	}
	defer clear(gs.JoinerSecret)
	defer clear(gs.PathSecret)

	// §12.4.3.1: PSKs must be available, and a reinit or branch PSK must be
	// the only such PSK.
	var link *PreSharedKeyID
	for i := range gs.PSKs {
		id := &gs.PSKs[i]
		if err := id.Validate(cs); err != nil {
			return nil, wrapErr(ErrInvalidWelcome, "PreSharedKeyID", err)
		}
		if id.Type == keyschedule.PSKTypeResumption && id.Usage != keyschedule.UsageApplication {
			if link != nil {
				return nil, errorf(ErrInvalidWelcome, "more than one reinit or branch PSK (§12.4.3.1)")
			}
			link = id
		}
	}
	psks := &pskSource{cf: cf, others: opts.Resumption}
	pskSecret, err := psks.pskSecret(gs.PSKs)
	if err != nil {
		return nil, err
	}
	defer clear(pskSecret)
	welcomeSecret, err := keyschedule.WelcomeSecret(cs, gs.JoinerSecret, pskSecret)
	if err != nil {
		return nil, wrapErr(ErrInvalidWelcome, "welcome_secret", err)
	}
	defer clear(welcomeSecret)
	gi, err := message.DecryptGroupInfo(cs, welcomeSecret, w.EncryptedGroupInfo)
	if err != nil {
		return nil, wrapErr(ErrInvalidWelcome, "GroupInfo", err)
	}
	// §12.4.3.1: "Verify that the cipher_suite in the GroupInfo matches
	// the cipher_suite in the KeyPackage."
	if gi.GroupContext.CipherSuite != cs.ID() || gi.GroupContext.Version != pkg.Version {
		return nil, errorf(ErrInvalidWelcome, "GroupInfo of suite %v version %d, KeyPackage of suite %v version %d",
			gi.GroupContext.CipherSuite, gi.GroupContext.Version, cs.ID(), pkg.Version)
	}
	tree, err := groupTree(cf, gi, opts.RatchetTree)
	if err != nil {
		return nil, err
	}
	if err := checkJoinedGroup(cf, gi, tree, &pkg.LeafNode); err != nil {
		return nil, err
	}
	// §12.4.3.1: "Identify a leaf whose LeafNode is identical to the one in
	// the KeyPackage."
	me, ok := tree.FindLeaf(&pkg.LeafNode)
	if !ok {
		return nil, errorf(ErrInvalidWelcome, "the KeyPackage's LeafNode is not in the tree")
	}
	priv, err := treekem.NewPrivateState(cs, me, kp.EncryptionKey)
	if err != nil {
		return nil, wrapErr(ErrInvalidArgument, "KeyPackage encryption key", err)
	}
	if pub, _ := priv.PublicKey(me.Node()); !bytes.Equal(pub, pkg.LeafNode.EncryptionKey) {
		return nil, errorf(ErrInvalidArgument, "KeyPackagePrivate.EncryptionKey does not match the KeyPackage")
	}
	if gs.PathSecret != nil {
		// §12.4.3.1: the path secret is that of the lowest common ancestor
		// of the joiner's leaf and the signer's.
		if gi.Signer == me {
			return nil, errorf(ErrInvalidWelcome, "GroupInfo signed by the joiner")
		}
		x := treekem.CommonAncestor(me.Node(), gi.Signer.Node())
		if err := priv.ImplantPathSecret(tree, x, gs.PathSecret); err != nil {
			return nil, wrapErr(ErrInvalidWelcome, "path_secret", err)
		}
	}
	gcBytes, err := gi.GroupContext.Bytes()
	if err != nil {
		return nil, internalErr("GroupContext: %v", err)
	}
	ks, err := keyschedule.Join(cs, gs.JoinerSecret, pskSecret, gcBytes)
	if err != nil {
		return nil, wrapErr(ErrInvalidWelcome, "key schedule", err)
	}
	defer ks.Wipe()
	// §12.4.3.1: "Verify the confirmation tag in the GroupInfo".
	if err := message.VerifyConfirmationTag(cs, ks.Confirmation, gi.GroupContext.ConfirmedTranscriptHash, gi.ConfirmationTag); err != nil {
		return nil, wrapErr(ErrInvalidWelcome, "confirmation tag", err)
	}
	if link != nil {
		if err := checkResumptionLink(cf, link, gi, tree, opts.Resumption); err != nil {
			return nil, err
		}
	}
	g, err = newJoinedGroup(cf, gi, tree, priv, ks)
	if err == nil && !kp.LastResort {
		kp.Wipe()
		kp.InitKey, kp.EncryptionKey = nil, nil
	}
	return g, err
}

// WelcomeInfo is what a Welcome shows in the clear (§12.4.3.1).
type WelcomeInfo struct {
	CipherSuite CipherSuite
	// KeyPackageRefs are the references (§5.2) of the KeyPackages the
	// Welcome is for (KeyPackagePrivate.Ref): a client joins with the
	// private part of one of its own.
	KeyPackageRefs [][]byte
}

// ParseWelcome decodes a Welcome (an MLSMessage or a bare encoding) and
// returns what it shows without decryption.
func ParseWelcome(welcome []byte) (*WelcomeInfo, error) {
	w, err := parseWelcome(welcome)
	if err != nil {
		return nil, err
	}
	info := &WelcomeInfo{CipherSuite: w.CipherSuite}
	for _, e := range w.Secrets {
		info.KeyPackageRefs = append(info.KeyPackageRefs, bytes.Clone(e.NewMember))
	}
	return info, nil
}

// newJoinedGroup builds the group of a joiner from the GroupInfo and the
// key schedule of its epoch.
func newJoinedGroup(cf *config, gi *message.GroupInfo, tree *treekem.Tree, priv *treekem.PrivateState, ks *keyschedule.Epoch) (*Group, error) {
	interim, err := message.InterimTranscriptHash(cf.cs, gi.GroupContext.ConfirmedTranscriptHash, gi.ConfirmationTag)
	if err != nil {
		return nil, wrapErr(ErrInvalidWelcome, "interim transcript hash", err)
	}
	secrets := ks.Secrets
	ks.Secrets = keyschedule.Secrets{}
	gc := gi.GroupContext
	ep, err := newEpoch(cf, &gc, tree, priv, &secrets, interim, bytes.Clone(gi.ConfirmationTag))
	if err != nil {
		secrets.Wipe()
		return nil, err
	}
	return &Group{cf: cf, ep: ep}, nil
}

// parseWelcome decodes a Welcome from an MLSMessage or a bare Welcome
// encoding. The result does not alias data.
func parseWelcome(data []byte) (*message.Welcome, error) {
	return parseMLSOrBare(data, message.WireFormatWelcome, "Welcome",
		func(m *message.MLSMessage) *message.Welcome { return m.Welcome })
}

// groupTree returns the tree of a group being joined: the one given out of
// band, else the GroupInfo's ratchet_tree extension (§12.4.3.3). Its size
// is bounded by Config.MaxTreeLeaves before it is built: the encoding
// costs a byte per blank node, the tree far more.
func groupTree(cf *config, gi *message.GroupInfo, outOfBand []byte) (*treekem.Tree, error) {
	limit := cf.maxTreeLeaves()
	if outOfBand != nil {
		t, err := treekem.UnmarshalTreeLimit(cf.cs, outOfBand, limit)
		if err != nil {
			return nil, wrapErr(ErrInvalidWelcome, "ratchet tree", err)
		}
		return t, nil
	}
	data, ok := gi.Extensions.Find(treekem.ExtensionRatchetTree)
	if !ok {
		return nil, errorf(ErrInvalidArgument, "no ratchet tree: the GroupInfo has none, pass JoinOptions.RatchetTree")
	}
	t, err := treekem.UnmarshalTreeLimit(cf.cs, data, limit)
	if err != nil {
		return nil, wrapErr(ErrInvalidWelcome, "ratchet_tree extension", err)
	}
	return t, nil
}

// checkJoinedGroup verifies what a joiner must about the group before
// using it (§12.4.3.1, §12.4.3.2, §13.4): the GroupInfo's signature by the
// signer's leaf, the tree's integrity and hash, and that the joiner
// supports every GroupContext extension (own is the joiner's LeafNode,
// whose capabilities say what it supports; nil for a PublicGroup).
func checkJoinedGroup(cf *config, gi *message.GroupInfo, tree *treekem.Tree, own *LeafNode) error {
	cs := cf.cs
	gc := &gi.GroupContext
	// §12.4.3.1: "The public key is taken from the LeafNode of the ratchet
	// tree with leaf index signer. If the node is blank or if signature
	// verification fails, return an error."
	signerKey := tree.SignatureKey(gi.Signer)
	if signerKey == nil {
		return errorf(ErrInvalidWelcome, "GroupInfo signer %d is blank", gi.Signer)
	}
	if err := gi.VerifySignature(cs, signerKey); err != nil {
		return wrapErr(ErrAuthentication, "GroupInfo signature (§12.4.3.1)", err)
	}
	// §12.4.3.1: "Verify that the tree hash of the ratchet tree matches the
	// tree_hash field in GroupInfo", then the parent hashes and leaves.
	if !bytes.Equal(tree.TreeHash(), gc.TreeHash) {
		return errorf(ErrInvalidWelcome, "tree hash differs from the GroupInfo's (§12.4.3.1)")
	}
	if err := checkGroupExtensions(-1, gc.Extensions); err != nil {
		return wrapErr(ErrInvalidWelcome, "GroupContext extensions", err)
	}
	if err := cf.checkExternalSenders(gc.Extensions); err != nil {
		return wrapErr(ErrInvalidWelcome, "external_senders extension (§5.3.1)", err)
	}
	// §13.4: "A client joining a group MUST verify that it supports every
	// extension in the GroupContext for the group."
	for _, e := range gc.Extensions {
		if own != nil && !e.Type.IsDefault() && !slices.Contains(own.Capabilities.Extensions, e.Type) {
			return errorf(ErrUnsupported, "GroupContext extension 0x%04x (§13.4)", uint16(e.Type))
		}
	}
	pol, err := cf.policy(gc.Extensions, false)
	if err != nil {
		return wrapErr(ErrInvalidWelcome, "GroupContext extensions", err)
	}
	if err := tree.Validate(gc.GroupID, pol); err != nil {
		return wrapErr(ErrInvalidWelcome, "ratchet tree (§12.4.3.1)", err)
	}
	return nil
}

// checkResumptionLink verifies the link between a group joined with a
// reinit or branch PSK and the group it continues (§11.2, §11.3,
// §12.4.3.1).
func checkResumptionLink(cf *config, id *PreSharedKeyID, gi *message.GroupInfo, tree *treekem.Tree, groups []*Group) error {
	gc := &gi.GroupContext
	// §12.4.3.1: "verify that the epoch field in the GroupInfo is equal to 1".
	if gc.Epoch != 1 {
		return errorf(ErrInvalidWelcome, "%v group at epoch %d, not 1 (§12.4.3.1)", id.Usage, gc.Epoch)
	}
	var old *Group
	for _, g := range groups {
		if g != nil && bytes.Equal(g.ep.gc.GroupID, id.GroupID) {
			old = g
		}
	}
	if old == nil {
		return errorf(ErrPSKNotFound, "group %x of the %v PSK", id.GroupID, id.Usage)
	}
	switch id.Usage {
	case keyschedule.UsageReinit:
		// §12.4.3.1: "verify that the last Commit to the referenced group
		// contains a ReInit proposal and that the group_id, version,
		// cipher_suite, and group_context.extensions fields of the
		// GroupInfo match the ReInit proposal."
		ri := old.ep.reinit
		if ri == nil || id.Epoch != old.ep.gc.Epoch {
			return errorf(ErrInvalidWelcome, "the old group's last commit has no ReInit (§11.2)")
		}
		if !bytes.Equal(ri.GroupID, gc.GroupID) || ri.Version != gc.Version || ri.CipherSuite != gc.CipherSuite ||
			!sameExtensions(ri.Extensions, gc.Extensions) {
			return errorf(ErrInvalidWelcome, "group does not match the ReInit proposal (§11.2)")
		}
		// "Additionally, verify that all the members of the old group are
		// also members of the new group, according to the application."
		if err := cf.coveredBy(old.ep.tree, tree); err != nil {
			return err
		}
	case keyschedule.UsageBranch:
		// §11.3: same version and suite, members a subset of the old ones.
		if old.ep.gc.Version != gc.Version || old.ep.gc.CipherSuite != gc.CipherSuite {
			return errorf(ErrInvalidWelcome, "branch with another version or suite (§11.3)")
		}
		if err := cf.coveredBy(tree, old.ep.tree); err != nil {
			return err
		}
	}
	return nil
}

// coveredBy checks that every member of sub has a member of the same
// identity (AuthenticationService.Identity) in super, in O(n).
func (c *config) coveredBy(sub, super *treekem.Tree) error {
	ids := map[string]bool{}
	for i := range super.Members() {
		ln, _ := super.Leaf(i)
		id, err := c.identity(&ln.Credential)
		if err != nil {
			return wrapErr(ErrInvalidWelcome, fmt.Sprintf("identity of member %d", i), err)
		}
		ids[string(id)] = true
	}
	for i := range sub.Members() {
		ln, _ := sub.Leaf(i)
		id, err := c.identity(&ln.Credential)
		if err != nil {
			return wrapErr(ErrInvalidWelcome, fmt.Sprintf("identity of member %d", i), err)
		}
		if !ids[string(id)] {
			return errorf(ErrInvalidWelcome, "member %d has no counterpart in the other group (§11.2, §11.3)", i)
		}
	}
	return nil
}

func sameExtensions(a, b Extensions) bool {
	ea, err1 := wire.Marshal(a)
	eb, err2 := wire.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ea, eb)
}

package delivery

import (
	"crypto/rand"

	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// Builders of syntactically valid MLS messages with random contents: the
// delivery service reads only their framing.

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func encode(body wire.Marshaler) []byte {
	data, err := wire.Marshal(message.NewMLSMessage(body))
	if err != nil {
		panic(err) // the builders' values always encode
	}
	return data
}

// privateMsg returns a PrivateMessage of content type ct.
func privateMsg(gid []byte, epoch uint64, ct message.ContentType) []byte {
	return encode(&message.PrivateMessage{
		GroupID: gid, Epoch: epoch, ContentType: ct,
		EncryptedSenderData: random(24), Ciphertext: random(64),
	})
}

// publicCommit returns a PublicMessage commit from a member, with one
// proposal by reference.
func publicCommit(gid []byte, epoch uint64) []byte {
	return encode(&message.PublicMessage{
		Content: message.FramedContent{
			GroupID: gid, Epoch: epoch, Sender: message.MemberSender(0), ContentType: message.ContentCommit,
			Commit: &message.Commit{Proposals: []message.ProposalOrRef{{Reference: random(32)}}},
		},
		Auth:          message.FramedContentAuthData{Signature: random(64), ConfirmationTag: random(32)},
		MembershipTag: random(32),
	})
}

// publicProposal returns a PublicMessage Remove proposal from sender.
func publicProposal(gid []byte, epoch uint64, sender message.Sender) []byte {
	pm := &message.PublicMessage{
		Content: message.FramedContent{
			GroupID: gid, Epoch: epoch, Sender: sender, ContentType: message.ContentProposal,
			Proposal: &message.Proposal{Body: &message.Remove{Removed: 1}},
		},
		Auth: message.FramedContentAuthData{Signature: random(64)},
	}
	if sender.Type == message.SenderMember {
		pm.MembershipTag = random(32)
	}
	return encode(pm)
}

// welcomeMsg returns a Welcome with n secrets.
func welcomeMsg(n int) []byte {
	w := &message.Welcome{CipherSuite: suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, EncryptedGroupInfo: random(100)}
	for range n {
		w.Secrets = append(w.Secrets, message.EncryptedGroupSecrets{
			NewMember:             random(32),
			EncryptedGroupSecrets: treekem.HPKECiphertext{KEMOutput: random(32), Ciphertext: random(48)},
		})
	}
	return encode(w)
}

// groupInfoMsg returns a GroupInfo for the group at epoch.
func groupInfoMsg(gid []byte, epoch uint64) []byte {
	return encode(&message.GroupInfo{
		GroupContext: message.GroupContext{
			Version: message.MLS10, CipherSuite: suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519,
			GroupID: gid, Epoch: epoch, TreeHash: random(32), ConfirmedTranscriptHash: random(32),
		},
		ConfirmationTag: random(32),
		Signature:       random(64),
	})
}

// welcomeFor returns a Welcome for the KeyPackages refs.
func welcomeFor(refs ...[]byte) []byte {
	w := &message.Welcome{CipherSuite: suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, EncryptedGroupInfo: random(100)}
	for _, ref := range refs {
		w.Secrets = append(w.Secrets, message.EncryptedGroupSecrets{
			NewMember:             ref,
			EncryptedGroupSecrets: treekem.HPKECiphertext{KEMOutput: random(32), Ciphertext: random(48)},
		})
	}
	return encode(w)
}

// keyPackageMsg returns a KeyPackage of the cipher suite for identity.
func keyPackageMsg(cs suite.ID, identity string) []byte {
	return encode(&message.KeyPackage{
		Version: message.MLS10, CipherSuite: cs, InitKey: random(32),
		LeafNode: treekem.LeafNode{
			EncryptionKey: random(32), SignatureKey: random(32),
			Credential: treekem.BasicCredential([]byte(identity)),
			Capabilities: treekem.Capabilities{
				Versions: []treekem.ProtocolVersion{message.MLS10}, CipherSuites: []uint16{uint16(cs)},
				Credentials: []treekem.CredentialType{treekem.CredentialBasic},
			},
			Source:    treekem.SourceKeyPackage,
			Lifetime:  treekem.Lifetime{NotBefore: 0, NotAfter: 1 << 62},
			Signature: random(64),
		},
		Signature: random(64),
	})
}

// bundle encodes a commit bundle.
func bundle(b *CommitBundle) []byte {
	data, err := wire.Marshal(b)
	if err != nil {
		panic(err)
	}
	return data
}

// groupID returns a fresh random group id.
func groupID() []byte { return random(16) }

// opaque is the setup of a group whose messages the service only orders.
var opaque = &GroupSetup{Opaque: true}

// noRates lifts every rate limit, for tests that register, create and
// claim much from one address.
var noRates = Limits{
	Registrations: Rate{PerSecond: -1}, GroupCreations: Rate{PerSecond: -1}, Claims: Rate{PerSecond: -1},
	ClaimsPerTarget: Rate{PerSecond: -1}, ClaimsOfTarget: Rate{PerSecond: -1}, Uploads: Rate{PerSecond: -1},
}

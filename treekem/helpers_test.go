package treekem

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
)

// testSuite returns cipher suite 0x0001.
func testSuite(tb testing.TB) *suite.Suite {
	tb.Helper()
	cs, err := suite.Lookup(suite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
	if err != nil {
		tb.Fatal(err)
	}
	return cs
}

// seededReader is a deterministic randomness source for tests.
type seededReader struct{ r *rand.ChaCha8 }

func newSeeded(seed uint64) *seededReader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return &seededReader{rand.NewChaCha8(s)}
}

func (s *seededReader) Read(p []byte) (int, error) { return s.r.Read(p) }

// member is a test client: its signer and the private key of its leaf.
type member struct {
	signer  suite.Signer
	encPriv []byte
}

// testCaps are the capabilities of every test leaf.
func testCaps(cs *suite.Suite) Capabilities {
	return Capabilities{
		Versions:     []ProtocolVersion{MLS10},
		CipherSuites: []uint16{uint16(cs.ID())},
		Credentials:  []CredentialType{CredentialBasic},
	}
}

// newLeaf returns a signed LeafNode of the given source for a fresh
// client (or, with m set, for m with a fresh encryption key).
func newLeaf(tb testing.TB, cs *suite.Suite, rnd *seededReader, src LeafNodeSource, m *member, groupID []byte, at LeafIndex) (*LeafNode, *member) {
	tb.Helper()
	if m == nil {
		sigPriv, _, err := cs.GenerateSignatureKey(rnd)
		if err != nil {
			tb.Fatal(err)
		}
		signer, err := cs.NewSigner(sigPriv)
		if err != nil {
			tb.Fatal(err)
		}
		m = &member{signer: signer}
	}
	encPriv, encPub, err := cs.GenerateKeyPair(rnd)
	if err != nil {
		tb.Fatal(err)
	}
	m = &member{signer: m.signer, encPriv: encPriv}
	id := make([]byte, 8)
	rnd.Read(id)
	ln := &LeafNode{
		EncryptionKey: encPub,
		SignatureKey:  m.signer.Public(),
		Credential:    BasicCredential(id),
		Capabilities:  testCaps(cs),
		Source:        src,
		Lifetime:      Lifetime{NotBefore: 0, NotAfter: 1 << 62},
	}
	if src == SourceCommit {
		ln.ParentHash = []byte{}
	}
	tbs, err := ln.TBS(groupID, at)
	if err != nil {
		tb.Fatal(err)
	}
	if ln.Signature, err = cs.SignWithLabel(m.signer, labelLeafNodeTBS, tbs); err != nil {
		tb.Fatal(err)
	}
	return ln, m
}

// naiveTreeHash computes the tree hash of a node list from scratch with the
// wire structs' encoders, independently of the cached hashes.
func naiveTreeHash(tb testing.TB, cs *suite.Suite, nl NodeList, n uint32) []byte {
	tb.Helper()
	var th func(x NodeIndex) []byte
	th = func(x NodeIndex) []byte {
		var nd *Node
		if int(x) < len(nl) {
			nd = nl[x]
		}
		b := wire.NewBuilder(nil)
		if x.IsLeaf() {
			b.AddUint8(uint8(NodeTypeLeaf))
			b.AddUint32(uint32(x.Leaf()))
			b.AddOptional(nd != nil, func(b *wire.Builder) { nd.Leaf.MarshalMLS(b) })
		} else {
			b.AddUint8(uint8(NodeTypeParent))
			b.AddOptional(nd != nil, func(b *wire.Builder) { nd.Parent.MarshalMLS(b) })
			b.AddVector(th(x.Left()))
			b.AddVector(th(x.Right()))
		}
		enc, err := b.Bytes()
		if err != nil {
			tb.Fatal(err)
		}
		return cs.Hash(enc)
	}
	return th(Root(n))
}

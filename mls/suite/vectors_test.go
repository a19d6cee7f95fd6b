package suite_test

import (
	"bytes"
	"testing"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/testvectors"
	"github.com/mlsengine/engine/testvectors/vectordir"
)

// TestKeyScheduleExternalPub checks DeriveKeyPair on every suite with an ikm
// of KDF.Nh bytes (not the KEM's Nsk for X448 and P-521): RFC 9420 §8.3
// external_pub = DeriveKeyPair(external_secret).pub. It also checks
// joiner_secret (§8) and the exporter (§8.5), built from the exported
// primitives.
func TestKeyScheduleExternalPub(t *testing.T) {
	var cases []testvectors.KeySchedule
	vectordir.Load(t, "key-schedule.json", &cases)
	seen := map[suite.ID]bool{}
	for _, c := range cases {
		s, err := suite.Lookup(suite.ID(c.Suite))
		if err != nil {
			t.Fatal(err)
		}
		seen[s.ID()] = true
		if len(c.Epochs) == 0 {
			t.Fatalf("%v: no epochs", s)
		}
		initSecret := c.InitialInitSecret
		for i, e := range c.Epochs {
			// §8: joiner_secret = ExpandWithLabel(Extract(init_secret,
			// commit_secret), "joiner", GroupContext, Nh); this pins the
			// argument order of Extract(salt, ikm).
			joiner, err := s.ExpandWithLabel(s.Extract(initSecret, e.CommitSecret), "joiner", e.GroupContext, s.HashSize())
			if err != nil || !bytes.Equal(joiner, e.JoinerSecret) {
				t.Errorf("%v epoch %d: joiner_secret = %x, %v; want %x", s, i, joiner, err, e.JoinerSecret)
			}
			initSecret = e.InitSecret
			if len(e.ExternalSecret) != s.HashSize() {
				t.Fatalf("%v epoch %d: external_secret of %d bytes", s, i, len(e.ExternalSecret))
			}
			priv, pub, err := s.DeriveKeyPair(e.ExternalSecret)
			if err != nil {
				t.Fatalf("%v epoch %d: DeriveKeyPair: %v", s, i, err)
			}
			if !bytes.Equal(pub, e.ExternalPub) {
				t.Errorf("%v epoch %d: external_pub = %x, want %x", s, i, pub, e.ExternalPub)
			}
			if len(priv) != s.HPKEPrivateKeySize() {
				t.Errorf("%v epoch %d: private key of %d bytes", s, i, len(priv))
			}
			if p2, err := s.HPKEPublicKey(priv); err != nil || !bytes.Equal(p2, pub) {
				t.Errorf("%v epoch %d: HPKEPublicKey(priv) = %x, %v", s, i, p2, err)
			}
			// §8.5: MLS-Exporter(Label, Context, Length) =
			//   ExpandWithLabel(DeriveSecret(exporter_secret, Label), "exported", Hash(Context), Length)
			ds, err := s.DeriveSecret(e.ExporterSecret, e.Exporter.Label)
			if err != nil {
				t.Fatal(err)
			}
			exp, err := s.ExpandWithLabel(ds, "exported", s.Hash(e.Exporter.Context), int(e.Exporter.Length))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(exp, e.Exporter.Secret) {
				t.Errorf("%v epoch %d: exporter = %x, want %x", s, i, exp, e.Exporter.Secret)
			}
		}
	}
	for id := suite.ID(1); id <= 7; id++ { // the suites of RFC 9420
		if !seen[id] {
			t.Errorf("key-schedule.json has no case for %v", id)
		}
	}
}

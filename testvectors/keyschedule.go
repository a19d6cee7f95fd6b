package testvectors

import (
	"fmt"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
)

// KeySchedule is one case of key-schedule.json (FORMAT.md "Key Schedule"):
// a chain of epochs of the RFC 9420 §8 key schedule for one suite.
type KeySchedule struct {
	Suite             uint16             `json:"cipher_suite"`
	GroupID           HexBytes           `json:"group_id"`
	InitialInitSecret HexBytes           `json:"initial_init_secret"`
	Epochs            []KeyScheduleEpoch `json:"epochs"`
}

// KeyScheduleEpoch is one epoch of a KeySchedule case.
type KeyScheduleEpoch struct {
	TreeHash                HexBytes `json:"tree_hash"`
	CommitSecret            HexBytes `json:"commit_secret"`
	PSKSecret               HexBytes `json:"psk_secret"`
	ConfirmedTranscriptHash HexBytes `json:"confirmed_transcript_hash"`

	GroupContext HexBytes `json:"group_context"`

	JoinerSecret  HexBytes `json:"joiner_secret"`
	WelcomeSecret HexBytes `json:"welcome_secret"`
	InitSecret    HexBytes `json:"init_secret"`

	SenderDataSecret   HexBytes `json:"sender_data_secret"`
	EncryptionSecret   HexBytes `json:"encryption_secret"`
	ExporterSecret     HexBytes `json:"exporter_secret"`
	EpochAuthenticator HexBytes `json:"epoch_authenticator"`
	ExternalSecret     HexBytes `json:"external_secret"`
	ConfirmationKey    HexBytes `json:"confirmation_key"`
	MembershipKey      HexBytes `json:"membership_key"`
	ResumptionPSK      HexBytes `json:"resumption_psk"`

	ExternalPub HexBytes `json:"external_pub"`
	Exporter    struct {
		Label   string   `json:"label"`
		Context HexBytes `json:"context"`
		Length  uint32   `json:"length"`
		Secret  HexBytes `json:"secret"`
	} `json:"exporter"`
}

// CipherSuite returns the case's cipher suite.
func (c *KeySchedule) CipherSuite() uint16 { return c.Suite }

// Verify runs the key schedule epoch by epoch from initial_init_secret,
// checking the GroupContext encoding, every derived secret, external_pub and
// one exporter output per epoch.
func (c *KeySchedule) Verify() error {
	s, err := suite.Lookup(suite.ID(c.Suite))
	if err != nil {
		return err
	}
	initSecret := []byte(c.InitialInitSecret)
	for i := range c.Epochs {
		ep := &c.Epochs[i]
		gc := vectorGroupContext{
			CipherSuite:             c.Suite,
			GroupID:                 c.GroupID,
			Epoch:                   uint64(i),
			TreeHash:                ep.TreeHash,
			ConfirmedTranscriptHash: ep.ConfirmedTranscriptHash,
		}
		gcBytes, err := wire.Marshal(&gc)
		if err != nil {
			return err
		}
		if err := expectEqual(fmt.Sprintf("epoch %d group_context", i), gcBytes, ep.GroupContext); err != nil {
			return err
		}
		e, err := keyschedule.Derive(s, initSecret, ep.CommitSecret, ep.PSKSecret, gcBytes)
		if err != nil {
			return fmt.Errorf("epoch %d: %w", i, err)
		}
		for _, v := range []struct {
			name      string
			got, want []byte
		}{
			{"joiner_secret", e.JoinerSecret, ep.JoinerSecret},
			{"welcome_secret", e.WelcomeSecret, ep.WelcomeSecret},
			{"init_secret", e.Init, ep.InitSecret},
			{"sender_data_secret", e.SenderData, ep.SenderDataSecret},
			{"encryption_secret", e.Encryption, ep.EncryptionSecret},
			{"exporter_secret", e.Exporter, ep.ExporterSecret},
			{"epoch_authenticator", e.EpochAuthenticator, ep.EpochAuthenticator},
			{"external_secret", e.External, ep.ExternalSecret},
			{"confirmation_key", e.Confirmation, ep.ConfirmationKey},
			{"membership_key", e.Membership, ep.MembershipKey},
			{"resumption_psk", e.Resumption, ep.ResumptionPSK},
		} {
			if err := expectEqual(fmt.Sprintf("epoch %d %s", i, v.name), v.got, v.want); err != nil {
				return err
			}
		}

		// A new member joining from joiner_secret reaches the same epoch.
		j, err := keyschedule.Join(s, ep.JoinerSecret, ep.PSKSecret, gcBytes)
		if err != nil {
			return fmt.Errorf("epoch %d: join: %w", i, err)
		}
		if err := expectEqual(fmt.Sprintf("epoch %d joined init_secret", i), j.Init, ep.InitSecret); err != nil {
			return err
		}

		_, pub, err := e.ExternalKeyPair(s)
		if err != nil {
			return fmt.Errorf("epoch %d: %w", i, err)
		}
		if err := expectEqual(fmt.Sprintf("epoch %d external_pub", i), pub, ep.ExternalPub); err != nil {
			return err
		}
		x := &ep.Exporter
		exported, err := e.Export(s, x.Label, x.Context, int(x.Length))
		if err != nil {
			return fmt.Errorf("epoch %d: %w", i, err)
		}
		if err := expectEqual(fmt.Sprintf("epoch %d exporter.secret", i), exported, x.Secret); err != nil {
			return err
		}
		initSecret = e.Init
	}
	return nil
}

// vectorGroupContext encodes the GroupContext of RFC 9420 §8.1 with empty
// extensions, which is all the key-schedule vectors use:
//
//	struct {
//	    ProtocolVersion version = mls10;
//	    CipherSuite cipher_suite;
//	    opaque group_id<V>;
//	    uint64 epoch;
//	    opaque tree_hash<V>;
//	    opaque confirmed_transcript_hash<V>;
//	    Extension extensions<V>;
//	} GroupContext;
//
// The message package owns the full GroupContext type.
type vectorGroupContext struct {
	CipherSuite             uint16
	GroupID                 []byte
	Epoch                   uint64
	TreeHash                []byte
	ConfirmedTranscriptHash []byte
}

// MarshalMLS encodes gc.
func (gc *vectorGroupContext) MarshalMLS(b *wire.Builder) {
	const mls10 = 1
	b.AddUint16(mls10)
	b.AddUint16(gc.CipherSuite)
	b.AddVector(gc.GroupID)
	b.AddUint64(gc.Epoch)
	b.AddVector(gc.TreeHash)
	b.AddVector(gc.ConfirmedTranscriptHash)
	b.AddVector(nil) // extensions
}

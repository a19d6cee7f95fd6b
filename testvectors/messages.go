package testvectors

import (
	"fmt"

	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// Messages is a case of messages.json: one encoding of each wire structure,
// each of which must decode and re-encode to the same bytes.
type Messages struct {
	MLSWelcome    HexBytes `json:"mls_welcome"`
	MLSGroupInfo  HexBytes `json:"mls_group_info"`
	MLSKeyPackage HexBytes `json:"mls_key_package"`

	RatchetTree  HexBytes `json:"ratchet_tree"`
	GroupSecrets HexBytes `json:"group_secrets"`

	AddProposal                    HexBytes `json:"add_proposal"`
	UpdateProposal                 HexBytes `json:"update_proposal"`
	RemoveProposal                 HexBytes `json:"remove_proposal"`
	PreSharedKeyProposal           HexBytes `json:"pre_shared_key_proposal"`
	ReInitProposal                 HexBytes `json:"re_init_proposal"`
	ExternalInitProposal           HexBytes `json:"external_init_proposal"`
	GroupContextExtensionsProposal HexBytes `json:"group_context_extensions_proposal"`

	Commit HexBytes `json:"commit"`

	PublicMessageApplication HexBytes `json:"public_message_application"`
	PublicMessageProposal    HexBytes `json:"public_message_proposal"`
	PublicMessageCommit      HexBytes `json:"public_message_commit"`
	PrivateMessage           HexBytes `json:"private_message"`
}

// CipherSuite returns 0: the kind has no cipher suite.
func (*Messages) CipherSuite() uint16 { return 0 }

// messageField is one field of a messages.json case: its name, its bytes,
// a constructor of the structure it must decode as and, optionally, a check
// of what the field name promises about the decoded value (the wire format
// of an MLSMessage, the content type of a PublicMessage).
type messageField struct {
	Name  string
	Data  []byte
	New   func() wire.Unmarshaler
	Check func(v wire.Unmarshaler) error
}

// fields lists the case's fields with the structures they must decode as.
func (c *Messages) fields() []messageField {
	mls := func() wire.Unmarshaler { return new(message.MLSMessage) }
	wireFormat := func(wf message.WireFormat, ct message.ContentType) func(wire.Unmarshaler) error {
		return func(v wire.Unmarshaler) error {
			m := v.(*message.MLSMessage)
			if m.WireFormat != wf {
				return fmt.Errorf("%w: wire format %v, want %v", ErrMismatch, m.WireFormat, wf)
			}
			if ct != 0 && m.PublicMessage.Content.ContentType != ct {
				return fmt.Errorf("%w: content type %v, want %v", ErrMismatch, m.PublicMessage.Content.ContentType, ct)
			}
			return nil
		}
	}
	return []messageField{
		{"mls_welcome", c.MLSWelcome, mls, wireFormat(message.WireFormatWelcome, 0)},
		{"mls_group_info", c.MLSGroupInfo, mls, wireFormat(message.WireFormatGroupInfo, 0)},
		{"mls_key_package", c.MLSKeyPackage, mls, wireFormat(message.WireFormatKeyPackage, 0)},
		{"ratchet_tree", c.RatchetTree, func() wire.Unmarshaler { return new(treekem.NodeList) }, nil},
		{"group_secrets", c.GroupSecrets, func() wire.Unmarshaler { return new(message.GroupSecrets) }, nil},
		{"add_proposal", c.AddProposal, func() wire.Unmarshaler { return new(message.Add) }, nil},
		{"update_proposal", c.UpdateProposal, func() wire.Unmarshaler { return new(message.Update) }, nil},
		{"remove_proposal", c.RemoveProposal, func() wire.Unmarshaler { return new(message.Remove) }, nil},
		{"pre_shared_key_proposal", c.PreSharedKeyProposal, func() wire.Unmarshaler { return new(message.PreSharedKey) }, nil},
		{"re_init_proposal", c.ReInitProposal, func() wire.Unmarshaler { return new(message.ReInit) }, nil},
		{"external_init_proposal", c.ExternalInitProposal, func() wire.Unmarshaler { return new(message.ExternalInit) }, nil},
		{"group_context_extensions_proposal", c.GroupContextExtensionsProposal,
			func() wire.Unmarshaler { return new(message.GroupContextExtensions) }, nil},
		{"commit", c.Commit, func() wire.Unmarshaler { return new(message.Commit) }, nil},
		{"public_message_application", c.PublicMessageApplication, mls,
			wireFormat(message.WireFormatPublicMessage, message.ContentApplication)},
		{"public_message_proposal", c.PublicMessageProposal, mls,
			wireFormat(message.WireFormatPublicMessage, message.ContentProposal)},
		{"public_message_commit", c.PublicMessageCommit, mls,
			wireFormat(message.WireFormatPublicMessage, message.ContentCommit)},
		{"private_message", c.PrivateMessage, mls, wireFormat(message.WireFormatPrivateMessage, 0)},
	}
}

// Verify decodes every field with its structure and checks that it
// re-encodes to the same bytes.
func (c *Messages) Verify() error {
	for _, f := range c.fields() {
		v := f.New()
		if err := wire.Unmarshal(f.Data, v); err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		if f.Check != nil {
			if err := f.Check(v); err != nil {
				return fmt.Errorf("%s: %w", f.Name, err)
			}
		}
		m, ok := v.(wire.Marshaler)
		if !ok {
			return fmt.Errorf("%s: %T cannot be encoded", f.Name, v)
		}
		enc, err := wire.Marshal(m)
		if err != nil {
			return fmt.Errorf("%s: re-encoding: %w", f.Name, err)
		}
		if err := expectEqual(f.Name+" re-encoding", enc, f.Data); err != nil {
			return err
		}
	}
	return nil
}

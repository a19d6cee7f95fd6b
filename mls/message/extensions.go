package message

import (
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// ExternalSender is one entry of the external_senders GroupContext
// extension (§12.1.8.1): a party allowed to send external proposals.
type ExternalSender struct {
	SignatureKey []byte
	Credential   treekem.Credential
}

// MarshalMLS encodes the ExternalSender.
func (e *ExternalSender) MarshalMLS(b *wire.Builder) {
	b.AddVector(e.SignatureKey)
	e.Credential.MarshalMLS(b)
}

// UnmarshalMLS decodes an ExternalSender.
func (e *ExternalSender) UnmarshalMLS(r *wire.Reader) bool {
	*e = ExternalSender{}
	return r.ReadVector(&e.SignatureKey) && e.Credential.UnmarshalMLS(r)
}

// ExternalSenders is the content of the external_senders extension:
// ExternalSender external_senders<V> (§12.1.8.1).
type ExternalSenders []ExternalSender

// MarshalMLS encodes the list.
func (es ExternalSenders) MarshalMLS(b *wire.Builder) {
	b.AddVectorFunc(func(b *wire.Builder) {
		for i := range es {
			es[i].MarshalMLS(b)
		}
	})
}

// UnmarshalMLS decodes the list.
func (es *ExternalSenders) UnmarshalMLS(r *wire.Reader) bool {
	var list ExternalSenders
	if !r.ReadList(func(r *wire.Reader) bool {
		var e ExternalSender
		if !e.UnmarshalMLS(r) {
			return false
		}
		list = append(list, e)
		return true
	}) {
		return false
	}
	*es = list
	return true
}

// Extension returns the list as an extension.
func (es ExternalSenders) Extension() (treekem.Extension, error) {
	data, err := wire.Marshal(es)
	return treekem.Extension{Type: treekem.ExtensionExternalSenders, Data: data}, err
}

// ExternalPub is the content of the external_pub GroupInfo extension
// (§12.4.3.2): the group's external HPKE public key.
type ExternalPub struct {
	ExternalPub []byte
}

// MarshalMLS encodes the ExternalPub.
func (e *ExternalPub) MarshalMLS(b *wire.Builder) { b.AddVector(e.ExternalPub) }

// UnmarshalMLS decodes an ExternalPub.
func (e *ExternalPub) UnmarshalMLS(r *wire.Reader) bool { return r.ReadVector(&e.ExternalPub) }

// Extension returns the ExternalPub as an extension.
func (e *ExternalPub) Extension() (treekem.Extension, error) {
	data, err := wire.Marshal(e)
	return treekem.Extension{Type: treekem.ExtensionExternalPub, Data: data}, err
}

// ParseExternalSenders decodes the external_senders extension of exts, if
// present.
func ParseExternalSenders(exts treekem.Extensions) (ExternalSenders, bool, error) {
	data, ok := exts.Find(treekem.ExtensionExternalSenders)
	if !ok {
		return nil, false, nil
	}
	var es ExternalSenders
	if err := wire.Unmarshal(data, &es); err != nil {
		return nil, true, malformed("external_senders extension", err)
	}
	return es, true, nil
}

package delivery

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/wire"
	"github.com/mlsengine/engine/treekem"
)

// ExtensionAdmission is the GroupContext extension that says who may enter
// a group on its own (by external commit, or a new_member_proposal Add)
// besides a member's resync: anyone ("open"), or the clients it lists. A
// group without it admits only resyncs (mls.DefaultAdmit). Being in the
// GroupContext, it is the same for every member and for the delivery
// service, which apply it through [Policy]; members change it with a
// GroupContextExtensions proposal. Its type is in the private-use range of
// RFC 9420 §17.3; every member must list it in its capabilities (§13.4).
//
//	struct {
//	    uint8 open;                 // 1: anyone; 0: the identities below
//	    opaque identities<V><V>;    // credential identities (client names)
//	} Admission;
const ExtensionAdmission treekem.ExtensionType = 0xF002

// Admission is the content of an ExtensionAdmission extension.
type Admission struct {
	Open       bool
	Identities []string // admitted besides resyncs, when not Open
}

// MarshalMLS implements wire.Marshaler.
func (a *Admission) MarshalMLS(b *wire.Builder) {
	b.AddBool(a.Open)
	b.AddVectorFunc(func(b *wire.Builder) {
		for _, id := range a.Identities {
			b.AddVector([]byte(id))
		}
	})
}

// UnmarshalMLS implements wire.Unmarshaler.
func (a *Admission) UnmarshalMLS(r *wire.Reader) bool {
	*a = Admission{}
	if !r.ReadBool(&a.Open) {
		return false
	}
	return r.ReadList(func(r *wire.Reader) bool {
		var id []byte
		if !r.ReadVector(&id) {
			return false
		}
		a.Identities = append(a.Identities, string(id))
		return true
	})
}

// Extension returns a as a GroupContext extension.
func (a *Admission) Extension() (treekem.Extension, error) {
	data, err := wire.Marshal(a)
	if err != nil {
		return treekem.Extension{}, err
	}
	return treekem.Extension{Type: ExtensionAdmission, Data: data}, nil
}

// GroupAdmission returns the Admission of a group's GroupContext
// extensions; ok is false if it has none (only resyncs are admitted).
func GroupAdmission(exts treekem.Extensions) (a Admission, ok bool, err error) {
	data, found := exts.Find(ExtensionAdmission)
	if !found {
		return Admission{}, false, nil
	}
	if err := wire.Unmarshal(data, &a); err != nil {
		return Admission{}, false, &MalformedError{What: "admission extension", Err: err}
	}
	return a, true, nil
}

// admits reports whether a admits the client whose credential presents
// identity.
func (a *Admission) admits(identity []byte) bool {
	return a.Open || slices.ContainsFunc(a.Identities, func(id string) bool { return bytes.Equal([]byte(id), identity) })
}

// ErrNotAdmitted is the error of Policy for a client the group's
// admission does not let in.
var ErrNotAdmitted = errors.New("delivery: the group does not admit this client (a member must add it)")

// Policy returns the authorization policy of groups at this delivery
// service, for the members' mls.Config as much as for the service's view:
// a resync of a member by itself is admitted (mls.DefaultAdmit); any other
// external commit or new_member_proposal Add only if the group's
// ExtensionAdmission admits the client's identity.
func Policy() mls.Policy { return mls.Policy{Admit: admit} }

func admit(a *mls.Admission) error {
	if a.Resync() {
		return nil
	}
	adm, ok, err := GroupAdmission(a.GroupContext.Extensions)
	if err != nil {
		return err
	}
	if ok && adm.admits(a.Identity) {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrNotAdmitted, mls.ErrNotAdmitted)
}

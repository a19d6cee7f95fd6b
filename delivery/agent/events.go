package agent

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/message"
	"github.com/mlsengine/engine/treekem"
)

// EventKind says what an Event reports.
type EventKind uint8

const (
	// EventMessage: Sender sent the application message Text.
	EventMessage EventKind = iota + 1
	// EventAdded: Sender added Member (Sender == Member: Member joined by
	// external commit).
	EventAdded
	// EventRemoved: Sender removed Member.
	EventRemoved
	// EventLeft: Member's request to leave was committed.
	EventLeft
	// EventUpdated: Member refreshed its keys.
	EventUpdated
	// EventRemovedSelf: Sender removed this client; it can no longer read
	// the group.
	EventRemovedSelf
	// EventLeftSelf: this client left the group.
	EventLeftSelf
	// EventWarning: a message was skipped; Text says why.
	EventWarning
	// EventRejoined: Member joined again by external commit, removing its
	// previous leaf (a resync, RFC 9420 §12.4.3.2).
	EventRejoined
	// EventJoined: this client joined the group (Join, Rejoin).
	EventJoined
)

// String returns the kind's name in Event's JSON form.
func (k EventKind) String() string {
	switch k {
	case EventMessage:
		return "message"
	case EventAdded:
		return "added"
	case EventRemoved:
		return "removed"
	case EventLeft:
		return "left"
	case EventUpdated:
		return "updated"
	case EventRemovedSelf:
		return "removed_you"
	case EventLeftSelf:
		return "you_left"
	case EventWarning:
		return "warning"
	case EventRejoined:
		return "rejoined"
	case EventJoined:
		return "joined_you"
	}
	return "kind_" + strconv.Itoa(int(k))
}

// Event is something that happened in a group: an application message or
// a membership change, as Receive and the commands report it. Its String
// form is the line `mls client` prints.
type Event struct {
	Kind  EventKind `cbor:"1,keyasint"`
	Group string    `cbor:"2,keyasint"` // the group's local name
	// Seq is the message's sequence number in the group's log.
	Seq uint64 `cbor:"3,keyasint,omitempty"`
	// Epoch is the epoch of an application message, or the epoch a
	// membership change starts.
	Epoch uint64 `cbor:"4,keyasint,omitempty"`
	// Sender sent the message or proposed the change (a credential
	// identity, as received: see String for the printed form).
	Sender string `cbor:"5,keyasint,omitempty"`
	// Member is who was added, removed, updated or left.
	Member string `cbor:"6,keyasint,omitempty"`
	// Text is the application message, or the warning.
	Text string `cbor:"7,keyasint,omitempty"`
}

// String returns the line printed for the event:
//
//	GROUP NAME: TEXT            an application message
//	GROUP: NAME added NAME      (and "removed"; "NAME joined" for an external join)
//	GROUP: NAME left
//	GROUP: NAME updated
//	GROUP: NAME removed you
//	GROUP: you left
//	GROUP: warning: TEXT
//	GROUP: NAME rejoined
//	joined GROUP                (this client)
//
// Names and text received from other members are printed with control and
// other non-printable characters escaped (as in Go string literals), so a
// message cannot forge lines or terminal sequences.
func (e Event) String() string {
	g, s, m := clean(e.Group), clean(e.Sender), clean(e.Member)
	switch e.Kind {
	case EventMessage:
		return fmt.Sprintf("%s %s: %s", g, s, clean(e.Text))
	case EventAdded:
		if e.Sender == e.Member {
			return fmt.Sprintf("%s: %s joined", g, m)
		}
		return fmt.Sprintf("%s: %s added %s", g, s, m)
	case EventRemoved:
		return fmt.Sprintf("%s: %s removed %s", g, s, m)
	case EventLeft:
		return fmt.Sprintf("%s: %s left", g, m)
	case EventUpdated:
		return fmt.Sprintf("%s: %s updated", g, m)
	case EventRemovedSelf:
		return fmt.Sprintf("%s: %s removed you", g, s)
	case EventLeftSelf:
		return fmt.Sprintf("%s: you left", g)
	case EventWarning:
		return fmt.Sprintf("%s: warning: %s", g, clean(e.Text))
	case EventRejoined:
		return fmt.Sprintf("%s: %s rejoined", g, m)
	case EventJoined:
		return "joined " + g
	}
	return fmt.Sprintf("%s: event %d", g, e.Kind)
}

// eventJSON is the JSON form of an Event: every field is always present.
type eventJSON struct {
	Kind   string `json:"kind"`
	Group  string `json:"group"`
	Seq    uint64 `json:"seq"`
	Epoch  uint64 `json:"epoch"`
	Sender string `json:"sender"`
	Member string `json:"member"`
	Text   string `json:"text"`
}

// MarshalJSON returns the event's JSON form, one object with the fields
// kind (EventKind.String), group, seq, epoch, sender, member and text,
// all present; what is not set for the kind is "" or 0. A line of `mls
// client recv --json`.
func (e Event) MarshalJSON() ([]byte, error) {
	return json.Marshal(eventJSON{Kind: e.Kind.String(), Group: e.Group, Seq: e.Seq, Epoch: e.Epoch, Sender: e.Sender, Member: e.Member, Text: e.Text})
}

// clean escapes what is not printable in s (invalid UTF-8 becomes U+FFFD).
func clean(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strconv.IsPrint(r) {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRune(r)
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}

// identity returns the identity of a LeafNode's credential as a name.
func identity(ln *treekem.LeafNode) string {
	if ln == nil {
		return "?"
	}
	switch ln.Credential.Type {
	case treekem.CredentialBasic:
		return string(ln.Credential.Identity)
	case treekem.CredentialX509:
		// The certificate's subject, as the group's Authentication
		// Service names it (the chain was validated when it came in).
		if id, err := (&mls.X509Authentication{}).Identity(&ln.Credential); err == nil {
			return string(id)
		}
	}
	return fmt.Sprintf("(credential type %d)", ln.Credential.Type)
}

// fingerprint returns the fingerprint of a member's end-entity
// certificate (delivery.Fingerprint), "" for another credential.
func fingerprint(ln *treekem.LeafNode) string {
	if ln == nil || ln.Credential.Type != treekem.CredentialX509 || len(ln.Credential.Certificates) == 0 {
		return ""
	}
	return delivery.Fingerprint(ln.Credential.Certificates[0])
}

// memberName returns the identity of the member at leaf.
func memberName(g *mls.Group, leaf treekem.LeafIndex) string {
	if ln, ok := g.Member(leaf); ok {
		return identity(ln)
	}
	return fmt.Sprintf("(leaf %d)", leaf)
}

// senderName names the sender of a message or proposal in g's current
// epoch.
func senderName(g *mls.Group, s message.Sender) string {
	switch s.Type {
	case message.SenderMember:
		return memberName(g, s.Leaf)
	case message.SenderExternal:
		return fmt.Sprintf("(external sender %d)", s.ExternalIndex)
	}
	return "(new member)"
}

// commitEvents describes a commit about to be applied to g (names are
// looked up in g's current tree): who was added, removed or updated, or
// that the committer refreshed its keys when the commit has no proposal.
func commitEvents(group string, g *mls.Group, committer message.Sender, adds, updates, removes []mls.MemberChange, proposals int, epoch, seq uint64) []Event {
	var out []Event
	ev := func(k EventKind, sender, member string) {
		out = append(out, Event{Kind: k, Group: group, Seq: seq, Epoch: epoch, Sender: sender, Member: member})
	}
	self := g.LeafIndex()
	for _, c := range removes {
		switch {
		case c.Leaf == self:
			ev(EventRemovedSelf, senderName(g, c.Sender), "")
		case c.Sender.Type == message.SenderMember && c.Sender.Leaf == c.Leaf:
			ev(EventLeft, "", identity(c.LeafNode))
		default:
			ev(EventRemoved, senderName(g, c.Sender), identity(c.LeafNode))
		}
	}
	for _, c := range adds {
		name := identity(c.LeafNode)
		if c.LeafNode == nil && c.KeyPackage != nil {
			name = identity(&c.KeyPackage.LeafNode)
		}
		sender := senderName(g, c.Sender)
		if c.Sender.Type == message.SenderNewMemberProposal || c.Sender.Type == message.SenderNewMemberCommit {
			sender = name
		}
		ev(EventAdded, sender, name)
	}
	for _, c := range updates {
		ev(EventUpdated, "", identity(c.LeafNode))
	}
	if proposals == 0 && committer.Type == message.SenderMember {
		ev(EventUpdated, "", memberName(g, committer.Leaf))
	}
	return out
}

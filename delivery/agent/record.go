package agent

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"

	"github.com/mlsengine/engine/delivery/store"
)

// recordVersion is the version of the group record layout.
const recordVersion = 1

// Status is what a client is to a group it knows.
type Status uint8

const (
	// StatusActive: the client is a member and holds the group's state.
	StatusActive Status = iota
	// StatusRemoved: another member's commit removed the client.
	StatusRemoved
	// StatusLeft: the client asked to leave and dropped the group's state.
	StatusLeft
	// StatusClosed: the group was reinitialized (RFC 9420 §11.2).
	StatusClosed
)

func (s Status) String() string {
	switch s {
	case StatusActive:
		return "active"
	case StatusRemoved:
		return "removed"
	case StatusLeft:
		return "left"
	case StatusClosed:
		return "closed"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// groupRecord is what a state directory keeps about one group, saved as
// one file so that the MLS state, the cursor in the delivery service's log
// and the unread events always change together. A record of a group the
// client no longer belongs to keeps no MLS state (its secrets are deleted)
// and is kept so that the name still resolves and the events explaining why
// can be read.
type groupRecord struct {
	Version int    `cbor:"1,keyasint"`
	Name    string `cbor:"2,keyasint"`
	GroupID []byte `cbor:"3,keyasint"`
	Status  Status `cbor:"4,keyasint"`
	// Cursor is the sequence number of the last message of the group's
	// log that was processed (or skipped).
	Cursor uint64 `cbor:"5,keyasint"`
	// Own are the sequence numbers of messages this client posted after
	// Cursor: its commits are applied already and its application messages
	// cannot be decrypted by itself, so they are skipped.
	Own []uint64 `cbor:"6,keyasint,omitempty"`
	// Inbox holds the events of messages processed but not reported yet
	// (read by Receive).
	Inbox []Event `cbor:"7,keyasint,omitempty"`
	// Epoch is the epoch last known to the client.
	Epoch uint64 `cbor:"8,keyasint"`
	// JoinSeq is the sequence number of the commit that added the client
	// (0 for the group's creator), to recognize its Welcome again.
	JoinSeq uint64 `cbor:"9,keyasint,omitempty"`
	// State is the mls snapshot (Group.MarshalBinary), empty unless the
	// status is StatusActive or the client's leave is pending (Leaving).
	State []byte `cbor:"10,keyasint,omitempty"`
	// RemovedBy names who removed the client (StatusRemoved).
	RemovedBy string `cbor:"11,keyasint,omitempty"`
	// Leaving is set, with StatusLeft, while the client's request to leave
	// has not been committed: the client is still in the group's tree, so
	// it keeps the state to follow the log until a commit removes it, and
	// proposes again if its proposal was lost with its epoch.
	Leaving bool `cbor:"12,keyasint,omitempty"`
	// LeaveEpoch is the epoch of the client's latest Remove proposal for
	// itself (Leaving).
	LeaveEpoch uint64 `cbor:"13,keyasint,omitempty"`
	// RefreshLeaf is set when the client joined with its last-resort
	// KeyPackage (RFC 9750 §5.1: the leaf's key may be in other groups), or
	// renewed its certificate (renew.go), and has not updated its leaf
	// since: Join commits an update, as does Open after a renewal.
	RefreshLeaf bool `cbor:"14,keyasint,omitempty"`
	// Sent are the messages the client posted, or is about to post, whose
	// place in the log it has not learned yet, oldest first (see
	// sentRecord).
	Sent []*sentRecord `cbor:"15,keyasint,omitempty"`
	// Rejoin is the client's external commit rejoining the group (see
	// Agent.Rejoin), written ahead: its State is the group joined. The
	// next command on the group posts it again and finishes it.
	Rejoin *sentRecord `cbor:"16,keyasint,omitempty"`
}

// sentKind says what a sent message is.
type sentKind uint8

const (
	sentApplication sentKind = iota + 1
	sentProposal
	sentCommit
)

// sentRecord is a message of the client written to its group's record
// before it is posted (write-ahead), so that whatever happens to the
// process or the connection after that, the client recognizes the message
// when it comes back in the log and never takes its own commit for someone
// else's: a commit found in the log is finished from the record (Next
// becomes the group's state), one that lost its epoch is discarded (Next
// is wiped), and one whose fate is unknown is posted again (the delivery
// service answers a repeated post with the original position).
type sentRecord struct {
	Kind sentKind `cbor:"1,keyasint"`
	// Epoch is the epoch the message was sent in (for a commit, the
	// epoch it ends).
	Epoch uint64 `cbor:"2,keyasint"`
	// Digest is the message's idempotency key at the delivery service
	// (store.Digest of Message).
	Digest []byte `cbor:"3,keyasint"`
	// Message is the MLSMessage posted; for a commit, Welcome, Recipients
	// and GroupInfo complete the bundle.
	Message    []byte   `cbor:"4,keyasint"`
	Welcome    []byte   `cbor:"5,keyasint,omitempty"`
	Recipients []string `cbor:"6,keyasint,omitempty"`
	GroupInfo  []byte   `cbor:"7,keyasint,omitempty"`
	// Next is the mls snapshot of the group once the commit is applied.
	Next []byte `cbor:"8,keyasint,omitempty"`
	// Events are what the commit does, reported by Receive if a later
	// command finishes it.
	Events []Event `cbor:"9,keyasint,omitempty"`
}

// newSent returns the write-ahead record of message msg of kind k, sent in
// epoch.
func newSent(k sentKind, epoch uint64, msg []byte) *sentRecord {
	d := store.Digest(msg)
	return &sentRecord{Kind: k, Epoch: epoch, Digest: d[:], Message: msg}
}

// wipe deletes the secrets of the epoch a commit that will never be
// applied would have started.
func (r *sentRecord) wipe() {
	clear(r.Next)
	r.Next = nil
}

// findSent returns the index in r.Sent of the message msg, or -1.
func (r *groupRecord) findSent(msg []byte) int {
	if len(r.Sent) == 0 {
		return -1
	}
	d := store.Digest(msg)
	return slices.IndexFunc(r.Sent, func(s *sentRecord) bool { return bytes.Equal(s.Digest, d[:]) })
}

// removeSent forgets r.Sent[i].
func (r *groupRecord) removeSent(i int) {
	r.Sent = slices.Delete(r.Sent, i, i+1)
}

// dropSent forgets the messages sent in epochs up to epoch, once a commit
// ended it: the delivery service accepts a message only in its epoch, so
// those not seen in the log before that commit were never accepted. The
// commits among them are discarded.
func (r *groupRecord) dropSent(epoch uint64) {
	r.Sent = slices.DeleteFunc(r.Sent, func(s *sentRecord) bool {
		if s.Epoch > epoch {
			return false
		}
		s.wipe()
		return true
	})
}

// takeOwn reports whether seq is one of the client's own messages, and
// forgets it.
func (r *groupRecord) takeOwn(seq uint64) bool {
	i := slices.Index(r.Own, seq)
	if i < 0 {
		return false
	}
	r.Own = slices.Delete(r.Own, i, i+1)
	return true
}

// validName reports whether s is a valid client or group name: 1 to 64 of
// A-Z a-z 0-9 . _ - @ +, the delivery service's rule for client names.
// Such names never contain a space or a colon, so the lines Receive prints
// ("GROUP NAME: TEXT") split unambiguously.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.' || c == '_' || c == '-' || c == '@' || c == '+':
		default:
			return false
		}
	}
	return true
}

func checkName(kind, s string) error {
	if !validName(s) {
		return errorf(ErrInvalidName, "%s %q: want 1 to 64 of A-Z a-z 0-9 . _ - @ +", kind, s)
	}
	return nil
}

// recordByID returns the record of the group groupID, or nil.
func (s *DirStorage) recordByID(groupID []byte) (*groupRecord, error) {
	recs, err := s.records()
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if bytes.Equal(r.GroupID, groupID) {
			return r, nil
		}
	}
	return nil, nil
}

// findRecord returns the record of the group named name, preferring the
// group the client is a member of to one it was in before.
func (s *DirStorage) findRecord(name string) (*groupRecord, error) {
	recs, err := s.records()
	if err != nil {
		return nil, err
	}
	var found *groupRecord
	for _, r := range recs {
		if r.Name == name && (found == nil || r.Status == StatusActive) {
			found = r
		}
	}
	if found == nil {
		return nil, errorf(ErrUnknownGroup, "%q ('mls client groups' lists this client's groups)", name)
	}
	return found, nil
}

// freeName returns want if no record other than that of groupID uses it,
// else want-2, want-3, ... (truncated to stay a valid name). A record of a
// group the client is no longer in gives up its name.
func freeName(recs []*groupRecord, want string, groupID []byte) string {
	taken := map[string]bool{}
	for _, r := range recs {
		if r.Status == StatusActive && string(r.GroupID) != string(groupID) {
			taken[r.Name] = true
		}
	}
	if !taken[want] {
		return want
	}
	for i := 2; ; i++ {
		suffix := fmt.Sprintf("-%d", i)
		base := want
		if len(base)+len(suffix) > 64 {
			base = base[:64-len(suffix)]
		}
		if !taken[base+suffix] {
			return base + suffix
		}
	}
}

// sortRecords sorts records by name.
func sortRecords(recs []*groupRecord) {
	sort.Slice(recs, func(i, j int) bool { return recs[i].Name < recs[j].Name })
}

// fallbackName is the name of a group whose creator gave none usable.
func fallbackName(groupID []byte) string {
	n := min(len(groupID), 4)
	return "group-" + hex.EncodeToString(groupID[:n])
}

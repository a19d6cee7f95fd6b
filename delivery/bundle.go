package delivery

import (
	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/mls/wire"
)

// Media types of request and response bodies.
const (
	// MediaTypeMLS is one MLSMessage (RFC 9420 §17.10).
	MediaTypeMLS = "message/mls"
	// MediaTypeCommitBundle is a [CommitBundle].
	MediaTypeCommitBundle = "application/vnd.mlsengine.commit-bundle"
	// MediaTypeMessages is a list of log entries (see [Entry]).
	MediaTypeMessages = "application/vnd.mlsengine.messages"
	// MediaTypeGroupSetup is a [GroupSetup].
	MediaTypeGroupSetup = "application/vnd.mlsengine.group-setup"
	// MediaTypeTree is a ratchet tree (RFC 9420 §12.4.3.3: the
	// ratchet_tree extension's content).
	MediaTypeTree = "application/vnd.mlsengine.ratchet-tree"
)

// GroupSetup is how a group is created (PUT /v1/groups/{group}): tracked,
// with its initial state, or opaque. Its encoding (media type
// MediaTypeGroupSetup) uses the MLS presentation language:
//
//	struct {
//	    uint8 opaque;             // 1: the service only orders the group's messages
//	    opaque group_info<V>;     // tracked: MLSMessage GroupInfo of epoch 0
//	    opaque ratchet_tree<V>;   // tracked: its tree, unless the GroupInfo has a ratchet_tree extension
//	} GroupSetup;
type GroupSetup struct {
	// Opaque groups have encrypted handshake messages, or a membership
	// the service must not see: it orders their messages without reading
	// them, and checks no membership (any authenticated client may read
	// and post), so it cannot refuse an invalid commit, which then stalls
	// the group.
	Opaque      bool
	GroupInfo   []byte
	RatchetTree []byte
}

// MarshalMLS implements wire.Marshaler.
func (g *GroupSetup) MarshalMLS(b *wire.Builder) {
	b.AddBool(g.Opaque)
	b.AddVector(g.GroupInfo)
	b.AddVector(g.RatchetTree)
}

// UnmarshalMLS implements wire.Unmarshaler.
func (g *GroupSetup) UnmarshalMLS(r *wire.Reader) bool {
	*g = GroupSetup{}
	if !r.ReadBool(&g.Opaque) || !r.ReadVector(&g.GroupInfo) || !r.ReadVector(&g.RatchetTree) {
		return false
	}
	if len(g.GroupInfo) == 0 {
		g.GroupInfo = nil
	}
	if len(g.RatchetTree) == 0 {
		g.RatchetTree = nil
	}
	return true
}

// CommitBundle is a commit posted with what only a winning commit may
// deliver. Its encoding (media type MediaTypeCommitBundle) uses the MLS
// presentation language:
//
//	struct {
//	    opaque commit<V>;      // MLSMessage: PublicMessage or PrivateMessage, content_type commit
//	    opaque welcome<V>;     // MLSMessage: Welcome, or empty
//	    opaque group_info<V>;  // MLSMessage: GroupInfo for the new epoch, or empty
//	    ClientName recipients<V>;  // optional: the clients the Welcome adds
//	} CommitBundle;
//
//	opaque ClientName<V>;
type CommitBundle struct {
	Commit    []byte
	Welcome   []byte // optional
	GroupInfo []byte // optional
	// Recipients optionally names the clients Welcome is for; the service
	// queues it for the owners of the KeyPackages it names, and refuses a
	// bundle whose Recipients are not exactly those.
	Recipients []string
}

// MarshalMLS implements wire.Marshaler.
func (cb *CommitBundle) MarshalMLS(b *wire.Builder) {
	b.AddVector(cb.Commit)
	b.AddVector(cb.Welcome)
	b.AddVector(cb.GroupInfo)
	b.AddVectorFunc(func(b *wire.Builder) {
		for _, r := range cb.Recipients {
			b.AddVector([]byte(r))
		}
	})
}

// UnmarshalMLS implements wire.Unmarshaler. It checks the structure only;
// the server checks the parts.
func (cb *CommitBundle) UnmarshalMLS(r *wire.Reader) bool {
	*cb = CommitBundle{}
	if !r.ReadVector(&cb.Commit) || !r.ReadVector(&cb.Welcome) || !r.ReadVector(&cb.GroupInfo) {
		return false
	}
	if len(cb.Welcome) == 0 {
		cb.Welcome = nil
	}
	if len(cb.GroupInfo) == 0 {
		cb.GroupInfo = nil
	}
	return r.ReadList(func(r *wire.Reader) bool {
		var name []byte
		if !r.ReadVector(&name) {
			return false
		}
		cb.Recipients = append(cb.Recipients, string(name))
		return true
	})
}

// Entry is one message of a group's log as a fetch returns it. A response of
// media type MediaTypeMessages is a sequence of entries, each encoded as
//
//	struct {
//	    uint64 seq;
//	    opaque message<V>;  // the MLSMessage as posted
//	} Entry;
//
// with nothing before, between or after them.
type Entry struct {
	Seq     uint64
	Message []byte
}

// MarshalMLS implements wire.Marshaler.
func (e *Entry) MarshalMLS(b *wire.Builder) {
	b.AddUint64(e.Seq)
	b.AddVector(e.Message)
}

// UnmarshalMLS implements wire.Unmarshaler.
func (e *Entry) UnmarshalMLS(r *wire.Reader) bool {
	return r.ReadUint64(&e.Seq) && r.ReadVector(&e.Message)
}

// appendEntry appends the encoding of a log entry to buf.
func appendEntry(buf []byte, m *store.Message) ([]byte, error) {
	return wire.AppendMarshal(buf, &Entry{Seq: m.Seq, Message: m.Data})
}

// ParseEntries decodes a MediaTypeMessages body strictly.
func ParseEntries(body []byte) ([]Entry, error) {
	var out []Entry
	r := wire.NewReader(body)
	for !r.Empty() {
		var e Entry
		if !e.UnmarshalMLS(r) {
			return nil, &MalformedError{What: "message list", Reason: r.Reason()}
		}
		out = append(out, e)
	}
	return out, nil
}

package store

import (
	"context"
	"crypto/sha256"
)

// ContentType is the content_type of a framed message (RFC 9420 §6).
type ContentType uint8

// Content types.
const (
	ContentApplication ContentType = 1
	ContentProposal    ContentType = 2
	ContentCommit      ContentType = 3
)

// Limits every Store accepts, which the caller enforces on client input.
const (
	// MaxGroupIDLen bounds a group_id.
	MaxGroupIDLen = 255
	// MaxClientNameLen bounds a client name.
	MaxClientNameLen = 64
)

// Message is one entry of a group's log.
type Message struct {
	Seq         uint64 // position in the log, from 1, gapless; set by the Store
	Epoch       uint64 // the epoch the message was sent in
	ContentType ContentType
	WireFormat  uint16 // mls_public_message (1) or mls_private_message (2)
	Data        []byte // the MLSMessage exactly as posted
}

// Commit is a commit posted with what rides on it. The Store queues Welcome
// for each recipient and replaces the group's GroupInfo only if the commit
// wins its epoch, in the same transaction that appends it.
type Commit struct {
	GroupID    []byte
	Message    Message  // ContentType must be ContentCommit
	Welcome    []byte   // MLSMessage(welcome) or nil
	Recipients []string // clients whose Welcome queue receives Welcome; empty iff Welcome is nil
	GroupInfo  []byte   // MLSMessage(group_info) for epoch Message.Epoch+1, or nil
}

// Group is a group's state in the Store.
type Group struct {
	Epoch   uint64 // current epoch: the epoch the next commit must carry
	LastSeq uint64 // sequence number of the last message, 0 if none
}

// Appended reports where a posted message is in its group's log.
type Appended struct {
	Seq   uint64
	Epoch uint64 // the epoch the message was sent in
	// Duplicate is true when the same bytes had been stored before: Seq
	// and Epoch are the original ones and nothing was changed.
	Duplicate bool
}

// KeyPackage is one entry of the KeyPackage directory.
type KeyPackage struct {
	Ref         []byte // KeyPackageRef (RFC 9420 §5.2), unique across clients
	Client      string // owner: the client the KeyPackage adds to groups
	CipherSuite uint16
	LastResort  bool   // handed out only when no one-time KeyPackage is left, never consumed
	Data        []byte // MLSMessage(key_package) exactly as uploaded
}

// KeyPackageCount counts a client's KeyPackages that can still be claimed.
type KeyPackageCount struct {
	OneTime    int
	LastResort int
}

// Welcome is a Welcome queued for a client.
type Welcome struct {
	ID      int64  // handle for DeleteWelcome, increasing in queue order
	GroupID []byte // the group the commit that added the client belongs to
	Seq     uint64 // sequence number of that commit in the group's log
	Data    []byte // MLSMessage(welcome)
}

// Store is what the delivery service persists. Implementations are safe for
// concurrent use, also (where the backend allows it) by several processes.
//
// Slices passed to a Store are not retained; slices a Store returns must not
// be modified. A write either happens completely or not at all.
type Store interface {
	// RegisterClient records a client name and the SHA-256 hash of its
	// bearer token. A taken name yields ErrClientExists.
	RegisterClient(ctx context.Context, name string, tokenHash []byte) error
	// ClientByToken returns the name registered with tokenHash, or
	// ErrUnknownClient.
	ClientByToken(ctx context.Context, tokenHash []byte) (string, error)

	// PutKeyPackage adds a KeyPackage to its client's directory and reports
	// whether it was new. Uploading a Ref again, even after it was claimed,
	// changes nothing (created is false), so a retried upload cannot hand
	// out a one-time KeyPackage twice; a Ref uploaded by another client
	// yields ErrKeyPackageExists. A new last-resort KeyPackage retires the
	// client's previous last-resort KeyPackage of the same cipher suite.
	PutKeyPackage(ctx context.Context, kp KeyPackage) (created bool, err error)
	// ClaimKeyPackage hands out client's oldest one-time KeyPackage of the
	// cipher suite (any suite if suite is 0) and removes it, atomically:
	// concurrent claims never get the same one. When none is left it
	// returns the newest matching last-resort KeyPackage without removing
	// it, else ErrNoKeyPackage.
	ClaimKeyPackage(ctx context.Context, client string, suite uint16) (KeyPackage, error)
	// CountKeyPackages counts client's claimable KeyPackages of the cipher
	// suite (any suite if suite is 0).
	CountKeyPackages(ctx context.Context, client string, suite uint16) (KeyPackageCount, error)

	// CreateGroup creates a group at epoch 0, or returns the existing one;
	// created reports which.
	CreateGroup(ctx context.Context, groupID []byte) (g Group, created bool, err error)
	// Group returns a group's state, or ErrUnknownGroup.
	Group(ctx context.Context, groupID []byte) (Group, error)

	// Append appends a proposal or application message. If the same bytes
	// are already in the group's log it returns their original position
	// (Duplicate). Otherwise the message's epoch must be the group's current
	// epoch, else *EpochError; ErrUnknownGroup for an unknown group.
	Append(ctx context.Context, groupID []byte, m Message) (Appended, error)
	// Commit appends a commit if its epoch is the group's current epoch and
	// advances the epoch: exactly one commit wins each epoch. A commit for
	// epoch 0 of an unknown group creates the group. If the same bytes are
	// already in the log it returns their original position (Duplicate),
	// even once later epochs have begun, and changes nothing. A commit for
	// any other epoch yields *EpochError naming the current epoch and, for
	// an ended epoch, the commit that ended it.
	Commit(ctx context.Context, c Commit) (Appended, error)
	// Messages returns up to limit messages of the group's log with
	// sequence numbers greater than after, in order, or ErrUnknownGroup.
	Messages(ctx context.Context, groupID []byte, after uint64, limit int) ([]Message, error)

	// PutGroupInfo sets the group's GroupInfo, which must be for the
	// current epoch (else *EpochError).
	PutGroupInfo(ctx context.Context, groupID []byte, epoch uint64, data []byte) error
	// GroupInfo returns the group's GroupInfo for its current epoch, or
	// ErrNoGroupInfo (a commit without a GroupInfo clears it).
	GroupInfo(ctx context.Context, groupID []byte) ([]byte, error)

	// Welcomes returns up to limit of client's pending Welcomes, oldest
	// first.
	Welcomes(ctx context.Context, client string, limit int) ([]Welcome, error)
	// DeleteWelcome removes a pending Welcome of client, or returns
	// ErrNotFound.
	DeleteWelcome(ctx context.Context, client string, id int64) error

	// Tracker keeps tracked groups' Views, the certificate authority
	// and KeyPackage claims (tracked.go).
	Tracker

	// Close releases the Store's resources.
	Close() error
}

// Notifier is implemented by Stores that several processes share: Listen
// calls notify with the group id of appends and commits made by any
// process, soon after they are durable, until ctx is done. It calls
// notify(nil) whenever it starts listening, the first time and after a lost
// connection: appends made meanwhile were not announced, so any group may
// have changed. Listen may also notify spuriously. A notification is sent
// after its append is durable, so one can be lost (the appending process
// dies in between, or its notification fails): listeners must also re-read
// the store now and then, as package delivery's Server does every
// PollInterval. Listen returns ctx's error, or an error if it cannot
// listen.
type Notifier interface {
	Listen(ctx context.Context, notify func(groupID []byte)) error
}

// Digest is the idempotency key of a message: the same bytes posted twice to
// a group are stored once.
func Digest(data []byte) [32]byte { return sha256.Sum256(data) }

// CheckCommit reports whether c satisfies the Store contract, for backends.
func CheckCommit(c *Commit) error {
	if err := CheckMessage(c.GroupID, &c.Message); err != nil {
		return err
	}
	if c.Message.ContentType != ContentCommit || (c.Welcome == nil) != (len(c.Recipients) == 0) {
		return ErrInvalid
	}
	return nil
}

// CheckMessage reports whether m may be appended to groupID, for backends.
func CheckMessage(groupID []byte, m *Message) error {
	if len(groupID) == 0 || len(groupID) > MaxGroupIDLen || len(m.Data) == 0 ||
		m.ContentType < ContentApplication || m.ContentType > ContentCommit {
		return ErrInvalid
	}
	return nil
}

package store

import (
	"context"
	"time"
)

// Authority is the delivery service's certificate authority (RFC 9750 §4):
// the key that certifies clients' signature keys and its self-signed root
// certificate, which clients pin.
type Authority struct {
	Key         []byte // PKCS #8 private key, DER
	Certificate []byte // the root certificate, DER
}

// View is a snapshot of a tracked group's public state (the delivery
// service's PublicGroup and what it derives from it) as of a place in the
// group's log: everything up to and including the message at Seq, and
// nothing after it, is reflected. A tracked group has at least one View;
// the delivery service replays the log after the newest one.
type View struct {
	Epoch uint64 // the group's epoch in the snapshot
	Seq   uint64 // the last message of the log the snapshot reflects
	Data  []byte // opaque to the Store
}

// Claim records that a client claimed one of another client's KeyPackages,
// so that the owner can see who drains them.
type Claim struct {
	Owner      string // the KeyPackage's owner
	Claimer    string // the client that claimed it
	Ref        []byte
	LastResort bool
	Time       time.Time
}

// MaxClaims is how many claims a Store keeps per owner; older ones are
// forgotten.
const MaxClaims = 100

// Tracker is what a Store keeps for the delivery service's tracked groups
// (groups whose handshake messages it validates), its certificate
// authority and its KeyPackage claims.
type Tracker interface {
	// LoadOrStoreAuthority returns the Store's certificate authority,
	// storing a first if the Store has none: concurrent callers (several
	// processes) all get the one stored first.
	LoadOrStoreAuthority(ctx context.Context, a Authority) (Authority, error)

	// CreateTrackedGroup creates a group at epoch 0 with its GroupInfo and
	// first View (Epoch 0, Seq 0), in one transaction, and reports
	// whether it did; an existing group is left as it is (created false).
	CreateTrackedGroup(ctx context.Context, groupID []byte, v View, groupInfo []byte) (created bool, err error)
	// PutView stores a View of a group (a View already stored for its
	// epoch is kept), then deletes the Views older than keepFrom except
	// the newest one at or before keepFrom, so that a View at or before any
	// epoch from keepFrom on remains.
	PutView(ctx context.Context, groupID []byte, v View, keepFrom uint64) error
	// View returns the group's newest View whose epoch is at most
	// maxEpoch, or ErrNotFound (the group is not tracked, or no View that
	// old is kept).
	View(ctx context.Context, groupID []byte, maxEpoch uint64) (View, error)
	// OldestWelcome returns the sequence number of the commit of the
	// oldest Welcome pending for any client in the group; ok is false if
	// none is pending.
	OldestWelcome(ctx context.Context, groupID []byte) (seq uint64, ok bool, err error)

	// KeyPackageOwner returns the client that uploaded the KeyPackage
	// whose KeyPackageRef is ref (claimed or not), or ErrNotFound.
	KeyPackageOwner(ctx context.Context, ref []byte) (string, error)
	// RecordClaim records a claim, forgetting the owner's claims beyond
	// the newest MaxClaims.
	RecordClaim(ctx context.Context, c Claim) error
	// Claims returns up to limit of owner's newest claims, newest first.
	Claims(ctx context.Context, owner string, limit int) ([]Claim, error)
}

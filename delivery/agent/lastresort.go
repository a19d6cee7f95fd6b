package agent

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlsengine/engine/mls"
)

// A last-resort KeyPackage is handed out by the delivery service to every
// claimer once the client's one-time KeyPackages are exhausted, so the same
// init_key and leaf encryption_key may introduce the client to several
// groups (RFC 9420 §16.8). RFC 9750 §5.1 (under "Key Storage and
// Retrieval") recommends rotating it as soon as possible after it was used
// or once it has been stored for a prolonged period, deleting the private
// part of its init_key after the rotation, and having a client that joined
// with it update its leaf key as early as possible. The client follows
// that:
//
//   - A Welcome for the current last-resort KeyPackage (joined or not) marks
//     it used. The client only learns of a use through a Welcome: the
//     delivery service does not tell it that its KeyPackages were claimed.
//   - Join (and Init) then uploads a fresh last-resort KeyPackage, which
//     retires the previous one at the delivery service, and records when
//     the previous one was retired. So does a top-up finding the current
//     one older than LastResortMaxAge, or none recorded.
//   - A retired last-resort KeyPackage's private part is kept for
//     Options.LastResortGrace, for Welcomes of commits built from claims
//     made before the rotation, and deleted by the first Join after that,
//     once every pending Welcome was processed.
//   - Join commits an update of the client's leaf in every group it joined
//     with a last-resort KeyPackage (see groupRecord.RefreshLeaf).

// DefaultLastResortGrace is the default of Options.LastResortGrace: how long
// the private part of a replaced last-resort KeyPackage is kept. A claimer
// that commits later than that after the rotation has its Welcome refused
// (reported as a warning by Join).
const DefaultLastResortGrace = time.Hour

// LastResortMaxAge is the age at which a last-resort KeyPackage is rotated
// even if unused: half the lifetime of the KeyPackages the client creates,
// so that claimers never get an expired one.
const LastResortMaxAge = mls.DefaultKeyPackageLifetime / 2

const (
	lastResortFile    = "lastresort.json"
	lastResortVersion = 1
)

// lastResortRecord is the state directory's account of the client's
// last-resort KeyPackages (JSON, mode 0600). Refs are in hex.
type lastResortRecord struct {
	Version int `json:"version"`
	// Current is the ref of the last-resort KeyPackage uploaded last, and
	// Created when it was made.
	Current string    `json:"current,omitempty"`
	Created time.Time `json:"created,omitzero"`
	// Used reports that a Welcome for Current arrived: it is rotated at the
	// next top-up.
	Used bool `json:"used,omitempty"`
	// Retired are the refs of replaced last-resort KeyPackages whose
	// private part is still kept, with when they were replaced.
	Retired map[string]time.Time `json:"retired,omitempty"`
}

func (a *Agent) lastResortPath() string { return filepath.Join(a.opts.Dir, lastResortFile) }

// readLastResort reads the last-resort record; a state directory without
// one (made before rotation existed) has an empty record, so that its
// last-resort KeyPackage is rotated at the next top-up.
func (a *Agent) readLastResort() (*lastResortRecord, error) {
	lr := &lastResortRecord{Version: lastResortVersion}
	data, err := os.ReadFile(a.lastResortPath())
	if errors.Is(err, fs.ErrNotExist) {
		return lr, nil
	}
	if err != nil {
		return nil, wrapErr(ErrState, "reading "+lastResortFile, err)
	}
	if err := json.Unmarshal(data, lr); err != nil {
		return nil, wrapErr(ErrState, "decoding "+lastResortFile, err)
	}
	if lr.Version != lastResortVersion {
		return nil, errorf(ErrState, "%s: version %d, want %d", lastResortFile, lr.Version, lastResortVersion)
	}
	return lr, nil
}

func (a *Agent) writeLastResort(lr *lastResortRecord) error {
	data, err := json.MarshalIndent(lr, "", "  ")
	if err != nil {
		return wrapErr(ErrState, "encoding "+lastResortFile, err)
	}
	return writeFileAtomic(a.lastResortPath(), append(data, '\n'))
}

// rotationDue reports whether the current last-resort KeyPackage must be
// replaced.
func (a *Agent) rotationDue(lr *lastResortRecord) bool {
	return lr.Current == "" || lr.Used || a.now().Sub(lr.Created) >= LastResortMaxAge
}

// markLastResortUsed records that a Welcome for the KeyPackage ref arrived,
// if ref is the current last-resort KeyPackage.
func (a *Agent) markLastResortUsed(ref []byte) error {
	lr, err := a.readLastResort()
	if err != nil {
		return err
	}
	if lr.Current != hex.EncodeToString(ref) || lr.Used {
		return nil
	}
	lr.Used = true
	return a.writeLastResort(lr)
}

// rotateLastResort uploads a fresh last-resort KeyPackage, which retires
// the previous one at the delivery service, and marks every other
// last-resort private part held as retired now (this also catches one
// uploaded by a rotation that crashed before recording it).
func (a *Agent) rotateLastResort(ctx context.Context, lr *lastResortRecord) error {
	ref, err := a.uploadKeyPackage(ctx, true)
	if err != nil {
		return err
	}
	now := a.now()
	held, err := a.st.lastResortRefs()
	if err != nil {
		return err
	}
	if lr.Retired == nil {
		lr.Retired = map[string]time.Time{}
	}
	cur := hex.EncodeToString(ref)
	for _, r := range held {
		if _, ok := lr.Retired[r]; !ok && r != cur {
			lr.Retired[r] = now
		}
	}
	lr.Current, lr.Created, lr.Used = cur, now, false
	return a.writeLastResort(lr)
}

// deleteRetired deletes the private parts of the last-resort KeyPackages
// retired for longer than the grace period (RFC 9750 §5.1: delete the
// init_key's private part after the rotation). Join calls it once no
// Welcome is pending.
func (a *Agent) deleteRetired() error {
	lr, err := a.readLastResort()
	if err != nil || len(lr.Retired) == 0 {
		return err
	}
	grace := a.opts.LastResortGrace
	now := a.now()
	changed := false
	for r, when := range lr.Retired {
		if now.Sub(when) < grace {
			continue
		}
		ref, err := hex.DecodeString(r)
		if err != nil {
			return errorf(ErrState, "%s: bad ref %q", lastResortFile, r)
		}
		if err := a.st.deleteKeyPackage(ref); err != nil {
			return err
		}
		delete(lr.Retired, r)
		changed = true
	}
	if !changed {
		return nil
	}
	return a.writeLastResort(lr)
}

// lastResortRefs returns the refs (hex) of the last-resort KeyPackages
// whose private part is stored.
func (s *DirStorage) lastResortRefs() ([]string, error) {
	dir := filepath.Join(s.dir, keyPackagesDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, wrapErr(ErrState, "listing KeyPackages", err)
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, keyPackageExt) || strings.HasPrefix(name, tempPrefix) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, wrapErr(ErrState, "reading KeyPackage", err)
		}
		var k mls.KeyPackagePrivate
		err = k.UnmarshalBinary(data)
		clear(data)
		if err != nil {
			return nil, wrapErr(ErrState, "decoding KeyPackage "+name, err)
		}
		if k.LastResort {
			// The file is named by a hash of the ref; the record keeps refs.
			ref, err := k.Ref()
			if err != nil {
				k.Wipe()
				return nil, wrapErr(ErrState, "KeyPackage "+name, err)
			}
			out = append(out, hex.EncodeToString(ref))
		}
		k.Wipe()
	}
	return out, nil
}

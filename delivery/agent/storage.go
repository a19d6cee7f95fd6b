package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/fxamacker/cbor/v2"

	"github.com/mlsengine/engine/internal/atomicfile"
	"github.com/mlsengine/engine/mls"
)

// Layout of a state directory (every file 0600, every folder 0700):
//
//	identity.json          the client's name, cipher suite, signature key and DS token
//	groups/HEX.group       one record per group (HEX is the MLS group id in hex):
//	                       local name, DS cursor, unread events and the mls snapshot
//	keypackages/HEX.kp     private part of a KeyPackage not used yet (HEX is the SHA-256 of
//	                       its ref, so that a Welcome naming any ref names a short file), or
//	                       of a last-resort one, current or retired (see lastresort.go)
//	lastresort.json        which last-resort KeyPackage is current, and when the
//	                       retired ones were replaced
//	lock                   held (flock) by the process using the directory
//
// Every file is replaced atomically: written to a temporary file in the
// same folder, synced, renamed over the old one, and the folder synced.
const (
	identityFile   = "identity.json"
	groupsDir      = "groups"
	keyPackagesDir = "keypackages"
	lockFile       = "lock"
	groupExt       = ".group"
	keyPackageExt  = ".kp"
	tempPrefix     = atomicfile.TempPrefix
)

// DirStorage is an mls.Storage kept in a directory: one file per group and
// per KeyPackage private part, each replaced atomically (write a temporary
// file, sync it, rename it over the old one, sync the directory), so that a
// crash leaves the old or the new content, never a mix. Deleting a file is
// how consumed secrets are deleted (RFC 9420 §9.2).
//
// A group's file is a record that also holds what the Agent keeps about
// the group (its local name, its cursor in the delivery service's log);
// SaveGroup replaces only the MLS state in it.
//
// DirStorage is not safe for concurrent use by several processes; Agent
// locks the directory.
type DirStorage struct {
	dir string
}

// NewDirStorage returns the DirStorage of dir, creating its folders if
// needed.
func NewDirStorage(dir string) (*DirStorage, error) {
	for _, d := range []string{dir, filepath.Join(dir, groupsDir), filepath.Join(dir, keyPackagesDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, wrapErr(ErrState, "creating "+d, err)
		}
	}
	return &DirStorage{dir: dir}, nil
}

// Dir returns the storage's directory.
func (s *DirStorage) Dir() string { return s.dir }

func (s *DirStorage) groupPath(groupID []byte) string {
	return filepath.Join(s.dir, groupsDir, hex.EncodeToString(groupID)+groupExt)
}

func (s *DirStorage) keyPackagePath(ref []byte) string {
	h := sha256.Sum256(ref)
	return filepath.Join(s.dir, keyPackagesDir, hex.EncodeToString(h[:])+keyPackageExt)
}

// LoadGroup implements mls.Storage: it returns the MLS state last saved for
// the group, or an error wrapping mls.ErrNotFound.
func (s *DirStorage) LoadGroup(groupID []byte) ([]byte, error) {
	rec, err := s.loadRecord(groupID)
	if err != nil {
		return nil, err
	}
	if len(rec.State) == 0 {
		return nil, errors.Join(errorf(ErrState, "group %x has no MLS state (%s)", groupID, rec.Status), mls.ErrNotFound)
	}
	return rec.State, nil
}

// SaveGroup implements mls.Storage: it replaces the MLS state in the
// group's record atomically, creating the record if needed.
func (s *DirStorage) SaveGroup(groupID []byte, state []byte) error {
	rec, err := s.loadRecord(groupID)
	if errors.Is(err, mls.ErrNotFound) {
		rec, err = &groupRecord{Version: recordVersion, GroupID: groupID}, nil
	}
	if err != nil {
		return err
	}
	rec.State = state
	return s.saveRecord(rec)
}

// DeleteGroup implements mls.Storage: it deletes the group's record.
func (s *DirStorage) DeleteGroup(groupID []byte) error { return s.deleteRecord(groupID) }

// GroupIDs implements mls.Storage: the ids of the groups with a record.
func (s *DirStorage) GroupIDs() ([][]byte, error) {
	recs, err := s.records()
	if err != nil {
		return nil, err
	}
	ids := make([][]byte, len(recs))
	for i, r := range recs {
		ids[i] = r.GroupID
	}
	return ids, nil
}

// PutKeyPackage implements mls.Storage.
func (s *DirStorage) PutKeyPackage(ref []byte, private []byte) error {
	return writeFileAtomic(s.keyPackagePath(ref), private)
}

// TakeKeyPackage implements mls.Storage: it returns the private part
// stored under ref and deletes its file.
func (s *DirStorage) TakeKeyPackage(ref []byte) ([]byte, error) {
	data, err := s.readKeyPackage(ref)
	if err != nil {
		return nil, err
	}
	if err := s.deleteKeyPackage(ref); err != nil {
		return nil, err
	}
	return data, nil
}

func (s *DirStorage) readKeyPackage(ref []byte) ([]byte, error) {
	data, err := os.ReadFile(s.keyPackagePath(ref))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errors.Join(errorf(ErrState, "no KeyPackage %x", ref), mls.ErrNotFound)
	}
	if err != nil {
		return nil, wrapErr(ErrState, "reading KeyPackage", err)
	}
	return data, nil
}

func (s *DirStorage) deleteKeyPackage(ref []byte) error {
	return removeFile(s.keyPackagePath(ref))
}

// keyPackageCount returns how many KeyPackage private parts are stored.
func (s *DirStorage) keyPackageCount() (int, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, keyPackagesDir))
	if err != nil {
		return 0, wrapErr(ErrState, "listing KeyPackages", err)
	}
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), keyPackageExt) && !strings.HasPrefix(e.Name(), tempPrefix) {
			n++
		}
	}
	return n, nil
}

// loadRecord reads a group's record, or fails wrapping mls.ErrNotFound.
func (s *DirStorage) loadRecord(groupID []byte) (*groupRecord, error) {
	return readRecord(s.groupPath(groupID))
}

func readRecord(path string) (*groupRecord, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errors.Join(errorf(ErrState, "no group record %s", filepath.Base(path)), mls.ErrNotFound)
	}
	if err != nil {
		return nil, wrapErr(ErrState, "reading group record", err)
	}
	rec := new(groupRecord)
	if err := cbor.Unmarshal(data, rec); err != nil {
		return nil, wrapErr(ErrState, "decoding "+path, err)
	}
	if rec.Version != recordVersion {
		return nil, errorf(ErrState, "%s: record version %d, want %d", path, rec.Version, recordVersion)
	}
	return rec, nil
}

// saveRecord replaces a group's record atomically.
func (s *DirStorage) saveRecord(rec *groupRecord) error {
	data, err := cbor.Marshal(rec)
	if err != nil {
		return wrapErr(ErrState, "encoding group record", err)
	}
	defer clear(data)
	return writeFileAtomic(s.groupPath(rec.GroupID), data)
}

// deleteRecord deletes a group's record.
func (s *DirStorage) deleteRecord(groupID []byte) error {
	return removeFile(s.groupPath(groupID))
}

// records returns every group record, in no particular order.
func (s *DirStorage) records() ([]*groupRecord, error) {
	dir := filepath.Join(s.dir, groupsDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, wrapErr(ErrState, "listing groups", err)
	}
	var out []*groupRecord
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), groupExt) || strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		rec, err := readRecord(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// writeFileAtomic replaces path with data: a crash leaves either the old
// file or the new one.
func writeFileAtomic(path string, data []byte) error {
	if err := atomicfile.Write(path, data); err != nil {
		return wrapErr(ErrState, "writing "+path, err)
	}
	return nil
}

// removeFile deletes path and syncs its folder; a missing file is not an
// error.
func removeFile(path string) error {
	if err := atomicfile.Remove(path); err != nil {
		return wrapErr(ErrState, "deleting "+path, err)
	}
	return nil
}

package mls

import (
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlsengine/engine/internal/atomicfile"
)

// FileStorage is a Storage in a directory: groups/HEX.group holds the
// snapshot of a group (HEX is its id in hex), keypackages/HEX.kp the
// private part of a KeyPackage (HEX is its reference). Every file is
// replaced atomically (written to a temporary file in the same folder,
// synced, renamed over the old one, the folder synced), with mode 0600 in
// folders of mode 0700, and deleting a file is how its secrets are
// deleted (§9.2). It is safe for concurrent use by one process; two
// processes must not share a directory.
type FileStorage struct {
	dir string
}

const (
	fileGroups      = "groups"
	fileKeyPackages = "keypackages"
	fileGroupExt    = ".group"
	fileKPExt       = ".kp"
)

// NewFileStorage returns the FileStorage of dir, creating its folders if
// needed.
func NewFileStorage(dir string) (*FileStorage, error) {
	for _, d := range []string{dir, filepath.Join(dir, fileGroups), filepath.Join(dir, fileKeyPackages)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, wrapErr(ErrInvalidArgument, "storage directory", err)
		}
	}
	return &FileStorage{dir: dir}, nil
}

func (s *FileStorage) path(folder string, key []byte, ext string) string {
	return filepath.Join(s.dir, folder, hex.EncodeToString(key)+ext)
}

func (s *FileStorage) read(path, what string, key []byte) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errorf(ErrNotFound, "%s %x", what, key)
	}
	if err != nil {
		return nil, wrapErr(ErrInvalidState, "reading "+what, err)
	}
	return data, nil
}

func storageErr(what string, err error) error {
	if err != nil {
		return wrapErr(ErrInvalidState, what, err)
	}
	return nil
}

// LoadGroup implements Storage.
func (s *FileStorage) LoadGroup(groupID []byte) ([]byte, error) {
	return s.read(s.path(fileGroups, groupID, fileGroupExt), "group", groupID)
}

// SaveGroup implements Storage.
func (s *FileStorage) SaveGroup(groupID []byte, state []byte) error {
	return storageErr("saving a group", atomicfile.Write(s.path(fileGroups, groupID, fileGroupExt), state))
}

// DeleteGroup implements Storage.
func (s *FileStorage) DeleteGroup(groupID []byte) error {
	return storageErr("deleting a group", atomicfile.Remove(s.path(fileGroups, groupID, fileGroupExt)))
}

// GroupIDs implements Storage.
func (s *FileStorage) GroupIDs() ([][]byte, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, fileGroups))
	if err != nil {
		return nil, wrapErr(ErrInvalidState, "listing groups", err)
	}
	var ids [][]byte
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), fileGroupExt)
		if !ok || strings.HasPrefix(name, atomicfile.TempPrefix) {
			continue
		}
		if id, err := hex.DecodeString(name); err == nil {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// PutKeyPackage implements Storage.
func (s *FileStorage) PutKeyPackage(ref []byte, private []byte) error {
	return storageErr("saving a KeyPackage", atomicfile.Write(s.path(fileKeyPackages, ref, fileKPExt), private))
}

// TakeKeyPackage implements Storage: it reads the private part and
// deletes its file.
func (s *FileStorage) TakeKeyPackage(ref []byte) ([]byte, error) {
	path := s.path(fileKeyPackages, ref, fileKPExt)
	data, err := s.read(path, "KeyPackage", ref)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Remove(path); err != nil {
		clear(data)
		return nil, wrapErr(ErrInvalidState, "deleting a KeyPackage", err)
	}
	return data, nil
}

// Package atomicfile replaces and deletes files so that a crash leaves the
// old content or the new one, never a mix, and an acknowledged change is
// on disk: a file is written to a temporary file in the same folder,
// synced, renamed over the old one, and the folder synced.
package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// TempPrefix starts the names of the temporary files Write creates; a
// folder listing skips them.
const TempPrefix = ".tmp-"

// Write replaces path with data, with mode 0600.
func Write(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, TempPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	// CreateTemp creates files with mode 0600 already; Chmod guards
	// against a platform whose default differs.
	if err = f.Chmod(0o600); err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	return err
}

// Remove deletes path and syncs its folder; a missing file is not an
// error.
func Remove(path string) error {
	err := os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	return err
}

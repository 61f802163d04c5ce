package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// HashBytes is the lowercase hex SHA-256 of a config file's bytes:
// config.get returns it, and config.apply and config.patch refuse to write
// unless their baseHash still equals the file's.
func HashBytes(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// BackupSuffix is appended to the config path to name the copy of the
// previous file WriteAtomic keeps.
const BackupSuffix = ".bak"

// Hooks for tests: the steps of WriteAtomic that can fail.
var (
	writeTemp = func(f *os.File, data []byte) error {
		_, err := f.Write(data)
		return err
	}
	renameFile = os.Rename
	linkFile   = os.Link
)

// WriteAtomic replaces the file at path with data so that path always holds
// either the old or the new content, never a mix: it writes a temporary file
// in the same directory (mode 0600), syncs it, keeps the previous file as
// path+".bak" (a hard link, or a copy where links are not possible), renames
// the temporary file over path and syncs the directory. If path is a symlink,
// the file it points to is replaced. On error the previous file is untouched
// and no temporary file is left.
func WriteAtomic(path string, data []byte) error {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := writeTemp(tmp, data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := backup(path); err != nil {
		return fmt.Errorf("write %s: keep the previous file: %w", path, err)
	}
	if err := renameFile(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	done = true
	return syncDir(dir)
}

// backup makes path+".bak" the current content of path, if path exists.
func backup(path string) error {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	bak := path + BackupSuffix
	if err := os.Remove(bak); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := linkFile(path, bak); err == nil {
		// It holds secrets: whatever the old file's mode, the backup is
		// private (the old file is about to be replaced anyway).
		_ = os.Chmod(bak, 0o600)
		return nil
	}
	// No hard links here (some file systems): copy, atomically too.
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	dir, base := filepath.Split(bak)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err := io.Copy(tmp, src); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), bak); err != nil {
		return err
	}
	ok = true
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestHashBytes(t *testing.T) {
	for in, want := range map[string]string{
		"":    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"abc": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	} {
		if got := HashBytes([]byte(in)); got != want {
			t.Errorf("HashBytes(%q) = %s, want %s", in, got, want)
		}
	}
	if HashBytes([]byte("{gateway:{}}")) == HashBytes([]byte("{gateway:{} }")) {
		t.Error("the hash ignores a byte of difference")
	}
}

// dirNames lists a directory, to see that no temporary file is left.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != want {
		t.Errorf("%s mode = %v, want %v", path, fi.Mode().Perm(), want)
	}
}

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "openclaw.json")

	// A new file: no backup.
	if err := WriteAtomic(path, []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, path); got != "v1" {
		t.Errorf("content = %q", got)
	}
	checkMode(t, path, 0o600)
	if names := dirNames(t, dir); !slices.Equal(names, []string{"openclaw.json"}) {
		t.Errorf("dir = %v", names)
	}

	// Replacing it keeps the previous content as .bak.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteAtomic(path, []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if got, bak := readString(t, path), readString(t, path+".bak"); got != "v2" || bak != "v1" {
		t.Errorf("content = %q, .bak = %q; want v2, v1", got, bak)
	}
	checkMode(t, path, 0o600)
	checkMode(t, path+".bak", 0o600)

	// And again: the backup is the latest previous version.
	if err := WriteAtomic(path, []byte("v3")); err != nil {
		t.Fatal(err)
	}
	if got, bak := readString(t, path), readString(t, path+".bak"); got != "v3" || bak != "v2" {
		t.Errorf("content = %q, .bak = %q; want v3, v2", got, bak)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"openclaw.json", "openclaw.json.bak"}) {
		t.Errorf("dir = %v", names)
	}
}

// Through a symlink the target file is replaced and the link stays.
func TestWriteAtomicSymlink(t *testing.T) {
	dir := t.TempDir()
	realDir := filepath.Join(dir, "dotfiles")
	if err := os.Mkdir(realDir, 0o700); err != nil {
		t.Fatal(err)
	}
	real := filepath.Join(realDir, "openclaw.json")
	link := filepath.Join(dir, "openclaw.json")
	if err := os.WriteFile(real, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Skip("no symlinks:", err)
	}
	if err := WriteAtomic(link, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v %v", fi, err)
	}
	if got, bak := readString(t, real), readString(t, real+".bak"); got != "new" || bak != "old" {
		t.Errorf("content = %q, .bak = %q", got, bak)
	}
}

// Where hard links fail, the backup is a copy.
func TestWriteAtomicBackupCopy(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "openclaw.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	linkFile = func(string, string) error { return errors.ErrUnsupported }
	t.Cleanup(func() { linkFile = os.Link })
	if err := WriteAtomic(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if got, bak := readString(t, path), readString(t, path+".bak"); got != "new" || bak != "old" {
		t.Errorf("content = %q, .bak = %q", got, bak)
	}
	checkMode(t, path+".bak", 0o600)
	if names := dirNames(t, dir); !slices.Equal(names, []string{"openclaw.json", "openclaw.json.bak"}) {
		t.Errorf("dir = %v", names)
	}
}

// A failed write leaves the previous file as it was and no temporary file.
func TestWriteAtomicFailures(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir, path string)
	}{
		{
			name: "directory not writable",
			setup: func(t *testing.T, dir, path string) {
				if os.Geteuid() == 0 {
					t.Skip("root writes to read-only directories")
				}
				if err := os.Chmod(dir, 0o500); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.Chmod(dir, 0o700) })
			},
		},
		{
			name: "write fails halfway",
			setup: func(t *testing.T, dir, path string) {
				orig := writeTemp
				writeTemp = func(f *os.File, data []byte) error {
					f.Write(data[:len(data)/2])
					return errors.New("disk full")
				}
				t.Cleanup(func() { writeTemp = orig })
			},
		},
		{
			name: "rename fails",
			setup: func(t *testing.T, dir, path string) {
				renameFile = func(string, string) error { return errors.New("rename refused") }
				t.Cleanup(func() { renameFile = os.Rename })
			},
		},
		{
			// The backup cannot be made: nothing is replaced.
			name: "backup in the way",
			setup: func(t *testing.T, dir, path string) {
				if err := os.MkdirAll(filepath.Join(path+".bak", "x"), 0o700); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "openclaw.json")
			if err := os.WriteFile(path, []byte(`{gateway: {port: 1}}`), 0o600); err != nil {
				t.Fatal(err)
			}
			tt.setup(t, dir, path)
			before := dirNames(t, dir)
			if err := WriteAtomic(path, []byte(`{gateway: {port: 2}}`)); err == nil {
				t.Fatal("WriteAtomic succeeded")
			}
			if got := readString(t, path); got != `{gateway: {port: 1}}` {
				t.Errorf("the previous file changed to %q", got)
			}
			after := dirNames(t, dir)
			for _, n := range after {
				if !slices.Contains(before, n) && n != "openclaw.json.bak" {
					t.Errorf("left behind: %s (dir %v)", n, after)
				}
			}
		})
	}
}

func TestWriteAtomicMissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope", "openclaw.json")
	if err := WriteAtomic(path, []byte("x")); err == nil {
		t.Fatal("WriteAtomic into a missing directory succeeded")
	}
}

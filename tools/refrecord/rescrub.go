package main

import (
	"os"
	"path/filepath"
)

// phaseRescrub applies the scrubber's generic rules (keys, patterns; not
// the values a run knew by name) to every recording under out again, so
// that a rule added later reaches files recorded before it. Scrubbing is
// idempotent: placeholders stay, new numbers continue after the ones a
// file already has.
func phaseRescrub(out string) (int, error) {
	sc := newScrubber()
	addHost(sc) // same machine: the host name is known
	n := 0
	err := filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var next []byte
		switch ext := filepath.Ext(p); {
		case ext == ".json":
			v, err := parseJSON(data)
			if err != nil {
				return nil // not ours
			}
			next = sc.doc(v).encode()
		case ext == ".log" || ext == ".txt" || ext == ".html":
			next = []byte(sc.text(string(data)))
		default:
			return nil
		}
		if string(next) != string(data) {
			n++
			return os.WriteFile(p, next, 0o644)
		}
		return nil
	})
	return n, err
}

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// evictFromPageCache drops a file's pages from the page cache, as a reboot
// would (no root needed: the pages are clean once synced).
//
// Why the startup scenario does it, once, before its first run: a binary
// that `go build` has just written sits in the page cache in large folios,
// and a process faulting on one maps the whole folio, so its file-backed RSS
// reads several MB (up to 15 measured) higher than the same binary read from
// disk, and varies with what wrote it and when. Run 1 then reads the binary
// from disk, as a service's first start after a reboot does, and the later
// runs find it cached the way that start cached it.
func evictFromPageCache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return err
	}
	return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}

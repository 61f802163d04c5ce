package memtrim

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// dropExecutable advises MADV_DONTNEED on every mapping of this process's
// executable that is not writable. Those pages are never written (no private
// copies exist), so the kernel maps them again from the file on the next
// access; the writable data segment is left alone.
func dropExecutable() (int64, error) {
	exe, err := os.Stat("/proc/self/exe")
	if err != nil {
		return 0, err
	}
	st, ok := exe.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("memtrim: no inode for /proc/self/exe")
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	var total int64
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		m, ok := parseMapping(sc.Text())
		if !ok || m.inode != st.Ino || m.dev != st.Dev || m.writable {
			continue
		}
		// The raw call: the range is not Go memory, so no []byte over it.
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, m.start, m.end-m.start, syscall.MADV_DONTNEED); errno != 0 {
			return total, fmt.Errorf("memtrim: madvise %x-%x: %w", m.start, m.end, errno)
		}
		total += int64(m.end - m.start)
	}
	return total, sc.Err()
}

type mapping struct {
	start, end uintptr
	writable   bool
	dev, inode uint64
}

// parseMapping reads one line of /proc/PID/maps:
// "start-end perms offset major:minor inode path".
func parseMapping(line string) (m mapping, ok bool) {
	f := bytes.Fields([]byte(line))
	if len(f) < 6 {
		return m, false
	}
	lo, hi, found := bytes.Cut(f[0], []byte("-"))
	if !found {
		return m, false
	}
	start, err1 := strconv.ParseUint(string(lo), 16, 64)
	end, err2 := strconv.ParseUint(string(hi), 16, 64)
	major, minor, found := bytes.Cut(f[3], []byte(":"))
	maj, err3 := strconv.ParseUint(string(major), 16, 32)
	mnr, err4 := strconv.ParseUint(string(minor), 16, 32)
	inode, err5 := strconv.ParseUint(string(f[4]), 10, 64)
	if !found || err1 != nil || err2 != nil || err3 != nil || err4 != nil || err5 != nil || end <= start {
		return m, false
	}
	return mapping{
		start: uintptr(start), end: uintptr(end),
		writable: len(f[1]) > 1 && f[1][1] == 'w',
		// The kernel's new_encode_dev, as stat(2) reports st_dev.
		dev:   (mnr & 0xff) | (maj << 8) | ((mnr &^ 0xff) << 12),
		inode: inode,
	}, true
}

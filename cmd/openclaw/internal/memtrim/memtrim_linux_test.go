package memtrim

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestParseMapping(t *testing.T) {
	for _, tc := range []struct {
		line string
		ok   bool
		want mapping
	}{
		{"00400000-01d9f000 r-xp 00000000 fe:00 10144139   /work/bin/openclaw", true,
			mapping{start: 0x400000, end: 0x1d9f000, dev: 0xfe00, inode: 10144139}},
		{"03c44000-03d0d000 rw-p 03844000 fe:00 10144139   /work/bin/openclaw", true,
			mapping{start: 0x3c44000, end: 0x3d0d000, writable: true, dev: 0xfe00, inode: 10144139}},
		// A minor above 255 goes to the high bits, as stat(2) reports it.
		{"7f00-8f00 r--p 00000000 103:1a5 42 /x", true,
			mapping{start: 0x7f00, end: 0x8f00, dev: 0xa5 | 0x103<<8 | 0x100<<12, inode: 42}},
		{"175af0800000-175af1c00000 rw-p 00000000 00:00 0 ", false, mapping{}}, // anonymous: no path
		{"garbage", false, mapping{}},
		{"2000-1000 r--p 00000000 fe:00 1 /x", false, mapping{}}, // end before start
	} {
		got, ok := parseMapping(tc.line)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("parseMapping(%q) = %+v, %v; want %+v, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

// written lives in the executable's writable data segment; it must keep the
// value written at run time (an advice on that segment would revert it to
// the file's bytes).
var written = [8192]byte{1}

func TestTrimDropsExecutablePagesOnly(t *testing.T) {
	for i := range written {
		written[i] = 7
	}
	before := executableRss(t)
	st, err := Trim()
	if err != nil {
		t.Fatal(err)
	}
	after := executableRss(t)
	t.Logf("executable mappings: %d KiB resident before, %d KiB after; %d bytes advised", before, after, st.Executable)
	if st.Executable == 0 {
		t.Fatal("no read-only mapping of the executable was advised")
	}
	// What the test ran since (reading smaps) is mapped again, a part of
	// what the package inits and the test runner had touched.
	if after >= before {
		t.Fatalf("resident executable pages did not drop: %d KiB before, %d KiB after", before, after)
	}
	for i, b := range written {
		if b != 7 {
			t.Fatalf("written[%d] = %d after Trim: the writable data segment was advised", i, b)
		}
	}
	// The code still runs: every page it needs is mapped again from the file.
	if got := strconv.Quote(strings.Repeat("é", 2)); got != `"éé"` {
		t.Fatalf("strconv.Quote after Trim = %s", got)
	}
}

// executableRss sums Rss (KiB) over the mappings of this test binary that
// are not writable, from /proc/self/smaps.
func executableRss(t *testing.T) int {
	t.Helper()
	fi, err := os.Stat("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	exe := fi.Sys().(*syscall.Stat_t)
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	total, counting := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m, ok := parseMapping(line); ok || strings.Contains(strings.Fields(line)[0], "-") {
			counting = ok && m.inode == exe.Ino && m.dev == exe.Dev && !m.writable
			continue
		}
		if v, ok := strings.CutPrefix(line, "Rss:"); ok && counting {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			total += n
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return total
}

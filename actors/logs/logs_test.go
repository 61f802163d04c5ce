package logs

import (
	"openclaw/transport/protocol"

	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestWriterCreatesDatedFile(t *testing.T) {
	// The directory does not exist yet: the writer makes it, private to
	// the user, since logs can carry message text.
	dir := filepath.Join(t.TempDir(), "state", "logs")
	before := time.Now()
	w, err := NewWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	after := time.Now()

	// The file is named for today; accept either side of a midnight that
	// falls inside the call.
	got := w.Path()
	want1 := filepath.Join(dir, "openclaw-"+before.Format("2006-01-02")+".log")
	want2 := filepath.Join(dir, "openclaw-"+after.Format("2006-01-02")+".log")
	if got != want1 && got != want2 {
		t.Fatalf("Path() = %q, want %q", got, want2)
	}
	st, err := os.Stat(got)
	if err != nil {
		t.Fatalf("the log file was not created when the writer opened: %v", err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Errorf("log file mode = %o, want 600", perm)
	}
	dst, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := dst.Mode().Perm(); perm != 0o700 {
		t.Errorf("log dir mode = %o, want 700", perm)
	}
}

func TestWriterAppends(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range []string{`{"msg":"one"}` + "\n", `{"msg":"two"}` + "\n"} {
		if n, err := w.Write([]byte(rec)); err != nil || n != len(rec) {
			t.Fatalf("Write(%q) = %d, %v", rec, n, err)
		}
	}
	path := w.Path()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Closing twice is harmless (shutdown paths may both close).
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	// A restarted gateway opens the same day's file and appends to it,
	// never truncating what the previous run wrote.
	w2, err := NewWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	if w2.Path() != path {
		t.Skipf("the date changed between writers (%s vs %s)", path, w2.Path())
	}
	if _, err := w2.Write([]byte(`{"msg":"three"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	w2.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"msg":"one"}` + "\n" + `{"msg":"two"}` + "\n" + `{"msg":"three"}` + "\n"
	if string(data) != want {
		t.Fatalf("file = %q, want %q", data, want)
	}
}

// slog handlers share one Writer across goroutines; each record must land
// whole, never interleaved with another.
func TestWriterConcurrent(t *testing.T) {
	w, err := NewWriter(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const goroutines, each = 8, 50
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				fmt.Fprintf(w, "{\"g\":%d,\"i\":%d,\"pad\":%q}\n", g, i, strings.Repeat("x", 200))
			}
		}()
	}
	wg.Wait()
	res, err := Tail(w.Path(), protocol.LogsTailParams{Limit: 5000, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Lines) != goroutines*each {
		t.Fatalf("%d lines, want %d", len(res.Lines), goroutines*each)
	}
	for _, l := range res.Lines {
		if !json.Valid([]byte(l)) {
			t.Fatalf("a record was torn: %q", l)
		}
	}
}

// writeLog creates a log file with the given content.
func writeLog(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "openclaw-2026-09-06.log")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func appendLog(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func cursor(n int64) *int64 { return &n }

func TestTail(t *testing.T) {
	// Offsets: "l1\n" 0-2, "l2\n" 3-5, "l3\n" 6-8, "l4\n" 9-11, "l5\n"
	// 12-14, then a record still being written at 15-20.
	const content = "l1\nl2\nl3\nl4\nl5\n{\"part"
	tests := []struct {
		name          string
		content       string
		params        protocol.LogsTailParams
		wantLines     []string
		wantCursor    int64
		wantTruncated bool
		anyTruncated  bool // the contract does not say; do not check
		wantReset     bool
	}{
		{
			// The partial last record is left for a later call; the
			// cursor stops before it so that call picks it up whole.
			name:       "last lines",
			content:    content,
			wantLines:  []string{"l1", "l2", "l3", "l4", "l5"},
			wantCursor: 15,
		},
		{
			name:          "limit keeps the newest",
			content:       content,
			params:        protocol.LogsTailParams{Limit: 2},
			wantLines:     []string{"l4", "l5"},
			wantCursor:    15,
			wantTruncated: true,
		},
		{
			name:       "limit equal to the line count",
			content:    content,
			params:     protocol.LogsTailParams{Limit: 5},
			wantLines:  []string{"l1", "l2", "l3", "l4", "l5"},
			wantCursor: 15,
		},
		{
			// The last 14 bytes start mid-"l3": that fragment is dropped,
			// never returned as if it were a line.
			name:          "maxBytes drops the partial first line",
			content:       content,
			params:        protocol.LogsTailParams{MaxBytes: 14},
			wantLines:     []string{"l4", "l5"},
			wantCursor:    15,
			wantTruncated: true,
		},
		{
			name:          "maxBytes and limit",
			content:       content,
			params:        protocol.LogsTailParams{MaxBytes: 14, Limit: 1},
			wantLines:     []string{"l5"},
			wantCursor:    15,
			wantTruncated: true,
		},
		{
			name:       "no complete line",
			content:    "{\"partial",
			wantLines:  []string{},
			wantCursor: 0,
		},
		{
			name:       "empty lines are lines",
			content:    "a\n\nb\n",
			wantLines:  []string{"a", "", "b"},
			wantCursor: 5,
		},
		{
			name:       "empty file",
			content:    "",
			wantLines:  []string{},
			wantCursor: 0,
		},
		{
			name:       "cursor at 0 reads from the top",
			content:    content,
			params:     protocol.LogsTailParams{Cursor: cursor(0)},
			wantLines:  []string{"l1", "l2", "l3", "l4", "l5"},
			wantCursor: 15,
		},
		{
			name:       "cursor returns only what follows",
			content:    content,
			params:     protocol.LogsTailParams{Cursor: cursor(9)},
			wantLines:  []string{"l4", "l5"},
			wantCursor: 15,
		},
		{
			// With a cursor, limit keeps the oldest lines and the cursor
			// stops right after the last one returned: a page, nothing
			// skipped, so not truncated (the reference CLI prints "Log tail
			// truncated" for that flag).
			name:       "cursor and limit",
			content:    content,
			params:     protocol.LogsTailParams{Cursor: cursor(3), Limit: 2},
			wantLines:  []string{"l2", "l3"},
			wantCursor: 9,
		},
		{
			// maxBytes cuts "l3" in half: only whole lines come back and the
			// cursor stops at the start of l3.
			name:         "cursor and maxBytes",
			content:      content,
			params:       protocol.LogsTailParams{Cursor: cursor(0), MaxBytes: 8},
			wantLines:    []string{"l1", "l2"},
			wantCursor:   6,
			anyTruncated: true,
		},
		{
			name:       "cursor at the partial line",
			content:    content,
			params:     protocol.LogsTailParams{Cursor: cursor(15)},
			wantLines:  []string{},
			wantCursor: 15,
		},
		{
			name:       "cursor at the end",
			content:    "l1\nl2\n",
			params:     protocol.LogsTailParams{Cursor: cursor(6)},
			wantLines:  []string{},
			wantCursor: 6,
		},
		{
			// The file rotated or was truncated under the client: start
			// over from the top and say so.
			name:       "cursor past the end",
			content:    "new1\nnew2\n",
			params:     protocol.LogsTailParams{Cursor: cursor(1000)},
			wantLines:  []string{"new1", "new2"},
			wantCursor: 10,
			wantReset:  true,
		},
		{
			name:       "cursor one past the end",
			content:    "new1\n",
			params:     protocol.LogsTailParams{Cursor: cursor(6)},
			wantLines:  []string{"new1"},
			wantCursor: 5,
			wantReset:  true,
		},
		{
			name:       "cursor past the end of an empty file",
			content:    "",
			params:     protocol.LogsTailParams{Cursor: cursor(42)},
			wantLines:  []string{},
			wantCursor: 0,
			wantReset:  true,
		},
		{
			name:       "reset with limit",
			content:    "a\nb\nc\n",
			params:     protocol.LogsTailParams{Cursor: cursor(100), Limit: 1},
			wantLines:  []string{"a"},
			wantCursor: 2,
			wantReset:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeLog(t, tt.content)
			res, err := Tail(path, tt.params)
			if err != nil {
				t.Fatal(err)
			}
			if res.File != path || res.Size != int64(len(tt.content)) {
				t.Errorf("file, size = %q, %d; want %q, %d", res.File, res.Size, path, len(tt.content))
			}
			if res.Lines == nil {
				t.Error("Lines is nil: it must encode as [] for clients")
			}
			if !slices.Equal(res.Lines, tt.wantLines) {
				t.Errorf("lines = %q, want %q", res.Lines, tt.wantLines)
			}
			if res.Cursor != tt.wantCursor {
				t.Errorf("cursor = %d, want %d", res.Cursor, tt.wantCursor)
			}
			if res.Reset != tt.wantReset {
				t.Errorf("reset = %v, want %v", res.Reset, tt.wantReset)
			}
			if !tt.anyTruncated && res.Truncated != tt.wantTruncated {
				t.Errorf("truncated = %v, want %v", res.Truncated, tt.wantTruncated)
			}
			// Whatever was returned, the cursor sits right after a
			// newline (or at 0), so the next call starts on a line.
			if res.Cursor > 0 && tt.content[res.Cursor-1] != '\n' {
				t.Errorf("cursor %d is not at the start of a line", res.Cursor)
			}
		})
	}
}

// A client that follows the log passes each returned cursor back; every
// line must reach it exactly once, including one that was half-written at
// the time of an earlier call.
func TestTailFollow(t *testing.T) {
	path := writeLog(t, "a\nb\n")
	res, err := Tail(path, protocol.LogsTailParams{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	got = append(got, res.Lines...)

	steps := []struct {
		appendS   string
		wantLines []string
	}{
		{"", nil},
		{"c\n{\"half", []string{"c"}},
		{"\":1}\n", []string{`{"half":1}`}},
		{"d\ne\nf\n", []string{"d", "e", "f"}},
	}
	for i, s := range steps {
		appendLog(t, path, s.appendS)
		prev := res.Cursor
		res, err = Tail(path, protocol.LogsTailParams{Cursor: cursor(prev)})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Lines, s.wantLines) {
			t.Fatalf("step %d from cursor %d: lines = %q, want %q", i, prev, res.Lines, s.wantLines)
		}
		if res.Reset {
			t.Fatalf("step %d: reset on a file that only grew", i)
		}
		got = append(got, res.Lines...)
	}
	want := []string{"a", "b", "c", `{"half":1}`, "d", "e", "f"}
	if !slices.Equal(got, want) {
		t.Fatalf("followed lines = %q, want %q", got, want)
	}
	st, _ := os.Stat(path)
	if res.Cursor != st.Size() {
		t.Fatalf("final cursor %d, want the file size %d", res.Cursor, st.Size())
	}
}

// Paging with a small limit walks the whole file without losing or
// repeating a line.
func TestTailPaging(t *testing.T) {
	var b strings.Builder
	var want []string
	for i := range 23 {
		l := fmt.Sprintf(`{"i":%d}`, i)
		want = append(want, l)
		b.WriteString(l + "\n")
	}
	path := writeLog(t, b.String())
	var got []string
	var c int64
	for range 100 {
		res, err := Tail(path, protocol.LogsTailParams{Cursor: cursor(c), Limit: 5, MaxBytes: 40})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Lines) == 0 {
			break
		}
		if len(res.Lines) > 5 {
			t.Fatalf("page of %d lines with limit 5", len(res.Lines))
		}
		got = append(got, res.Lines...)
		c = res.Cursor
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged lines = %q, want %q", got, want)
	}
}

func TestTailDefaults(t *testing.T) {
	// More than the default limit of 200 lines: without a limit, the newest
	// 200 come back.
	var b strings.Builder
	for i := range 250 {
		fmt.Fprintf(&b, "%d\n", i)
	}
	path := writeLog(t, b.String())
	res, err := Tail(path, protocol.LogsTailParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Lines) != 200 || res.Lines[0] != "50" || res.Lines[199] != "249" || !res.Truncated {
		t.Fatalf("got %d lines [%s..%s] truncated=%v; want 200 lines [50..249] truncated", len(res.Lines),
			first(res.Lines), last(res.Lines), res.Truncated)
	}

	// More than the default 256 KiB: without maxBytes, only the tail end is
	// read.
	line := strings.Repeat("y", 1023) + "\n"
	path = writeLog(t, strings.Repeat(line, 300))
	res, err = Tail(path, protocol.LogsTailParams{Limit: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Lines); n < 250 || n > 256 || !res.Truncated {
		t.Fatalf("got %d lines of 1 KiB (truncated=%v), want about 256 KiB worth, truncated", n, res.Truncated)
	}
}

// When the last maxBytes of the file begin exactly at the start of a line,
// that line is whole and must be returned.
func TestTailMaxBytesAtLineBoundary(t *testing.T) {
	tests := []struct {
		content   string
		maxBytes  int
		wantLines []string
	}{
		// size 8, window = bytes 4..7 = "bbb\n", a whole line.
		{"aaa\nbbb\n", 4, []string{"bbb"}},
		{"l1\nl2\nl3\nl4\nl5\n", 6, []string{"l4", "l5"}},
		// The partial last record does not count toward "whole".
		{"l1\nl2\nl3\n{\"p", 6, []string{"l3"}},
	}
	for _, tt := range tests {
		path := writeLog(t, tt.content)
		res, err := Tail(path, protocol.LogsTailParams{MaxBytes: tt.maxBytes})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Lines, tt.wantLines) {
			t.Errorf("Tail(%q, maxBytes %d) = %q, want %q", tt.content, tt.maxBytes, res.Lines, tt.wantLines)
		}
	}
}

// A client following the log must make progress past a record longer than
// maxBytes; otherwise it polls the same cursor forever and never sees the
// lines after it.
func TestTailCursorPastLongLine(t *testing.T) {
	path := writeLog(t, strings.Repeat("x", 100)+"\nnext\n")
	c := int64(0)
	var got []string
	for range 10 {
		res, err := Tail(path, protocol.LogsTailParams{Cursor: cursor(c), MaxBytes: 50})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, res.Lines...)
		if res.Cursor == c && len(res.Lines) == 0 && c < res.Size {
			t.Fatalf("cursor stuck at %d of %d with no lines returned", c, res.Size)
		}
		c = res.Cursor
	}
	if !slices.Contains(got, "next") {
		t.Fatalf("never reached the line after the long one: %q", got)
	}
}

// A follower too far behind (more than maxBehindWindows windows) jumps to
// the newest window instead of paging through the backlog, and is told what
// it missed.
func TestTailFarBehind(t *testing.T) {
	var b strings.Builder
	for i := range 400 {
		fmt.Fprintf(&b, "%04d\n", i) // 5 bytes a line, 2000 bytes
	}
	path := writeLog(t, b.String())
	res, err := Tail(path, protocol.LogsTailParams{Cursor: cursor(0), MaxBytes: 25}) // 64 windows = 1600 bytes < 2000
	if err != nil {
		t.Fatal(err)
	}
	if !res.Reset || !res.Truncated || res.SkippedBytes != 2000-25 || !slices.Equal(res.Lines, []string{"0395", "0396", "0397", "0398", "0399"}) ||
		res.Cursor != 2000 {
		t.Fatalf("far behind: %+v", res)
	}
	// Within the bound, the same cursor pages without loss.
	res, err = Tail(path, protocol.LogsTailParams{Cursor: cursor(500), MaxBytes: 25})
	if err != nil {
		t.Fatal(err)
	}
	if res.Reset || res.Truncated || res.SkippedBytes != 0 || !slices.Equal(res.Lines, []string{"0100", "0101", "0102", "0103", "0104"}) {
		t.Fatalf("paging: %+v", res)
	}
}

// Following a busy file from its end never reports truncation: each poll
// returns what was written since the last, across several pages when more
// than limit lines arrived.
func TestTailFollowNotTruncated(t *testing.T) {
	path := writeLog(t, "start\n")
	res, err := Tail(path, protocol.LogsTailParams{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	c, seen := res.Cursor, 0
	for round := range 3 {
		var b strings.Builder
		for i := range 450 {
			fmt.Fprintf(&b, "{\"round\":%d,\"i\":%d}\n", round, i)
		}
		appendLog(t, path, b.String())
		for {
			res, err = Tail(path, protocol.LogsTailParams{Cursor: cursor(c), Limit: 200, MaxBytes: 250000})
			if err != nil {
				t.Fatal(err)
			}
			if res.Truncated || res.Reset {
				t.Fatalf("round %d: truncated=%v reset=%v while following", round, res.Truncated, res.Reset)
			}
			if len(res.Lines) == 0 {
				break
			}
			seen += len(res.Lines)
			c = res.Cursor
		}
	}
	if seen != 3*450 {
		t.Fatalf("followed %d lines, want %d", seen, 3*450)
	}
}

func TestTailMissingFile(t *testing.T) {
	if _, err := Tail(filepath.Join(t.TempDir(), "nope.log"), protocol.LogsTailParams{}); err == nil {
		t.Fatal("Tail of a missing file succeeded")
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

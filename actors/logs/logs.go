// Package logs is the gateway's JSON-lines log file: a daily file under
// <stateDir>/logs that slog writes to, and the logs actor, which serves
// logs.tail from it.
package logs

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"openclaw/transport/protocol"
)

// Writer appends to <dir>/openclaw-YYYY-MM-DD.log, switching files at
// midnight (local time). Safe for concurrent use.
type Writer struct {
	dir string

	mu   sync.Mutex
	day  string
	f    *os.File
	path string
}

// NewWriter creates the directory and opens today's file.
func NewWriter(dir string) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	w := &Writer{dir: dir}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w, w.rotate(time.Now())
}

func (w *Writer) rotate(now time.Time) error {
	day := now.Format("2006-01-02")
	if day == w.day && w.f != nil {
		return nil
	}
	path := filepath.Join(w.dir, "openclaw-"+day+".log")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if w.f != nil {
		w.f.Close()
	}
	w.f, w.day, w.path = f, day, path
	return nil
}

// Write appends one record.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.rotate(time.Now()); err != nil && w.f == nil {
		return 0, err
	}
	return w.f.Write(p)
}

// Path is the file being written now.
func (w *Writer) Path() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.path
}

// Close closes the current file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// endsLine reports whether the byte before off is a newline.
func endsLine(f *os.File, off int64) bool {
	var b [1]byte
	_, err := f.ReadAt(b[:], off-1)
	return err == nil && b[0] == '\n'
}

const (
	defaultLimit    = 200
	defaultMaxBytes = 256 << 10
	// maxBehindWindows bounds how far a follower may lag: a cursor more
	// than this many maxBytes windows behind the end skips to the newest
	// window (reset, skippedBytes) instead of paging through the backlog.
	maxBehindWindows = 64
)

// Tail reads complete lines from path.
//
// Without a cursor it returns the newest lines (at most limit, from the last
// maxBytes); truncated says the file has more before them. With a cursor it
// returns what was written after that byte offset, oldest first, at most
// limit lines and maxBytes bytes, and the cursor to continue from: a client
// that follows the file sees every line once, and truncated stays false,
// since nothing was skipped. Two cases do skip, and say so with reset: a
// cursor past the end (the file rotated or was truncated: reading restarts
// from the top) and a cursor so far behind (maxBehindWindows windows) that
// paging would never catch up (reading jumps to the newest window;
// skippedBytes counts what was passed over, and truncated is set).
func Tail(path string, p protocol.LogsTailParams) (*protocol.LogsTail, error) {
	limit, maxBytes := p.Limit, p.MaxBytes
	if limit <= 0 {
		limit = defaultLimit
	}
	if maxBytes <= 0 {
		maxBytes = defaultMaxBytes
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	res := &protocol.LogsTail{File: path, Size: size, Lines: []string{}}
	var start int64
	newest := true // return the newest lines of the window, not the oldest
	switch {
	case p.Cursor == nil:
		start = max(size-int64(maxBytes), 0)
		res.Truncated = start > 0 // the file has more before the window
	case *p.Cursor > size:
		start, res.Reset, newest = 0, true, false
	case size-*p.Cursor > int64(maxBytes)*maxBehindWindows:
		start = size - int64(maxBytes)
		res.Reset, res.Truncated, res.SkippedBytes = true, true, start-*p.Cursor
	default:
		start, newest = *p.Cursor, false
	}
	end := min(size, start+int64(maxBytes))
	buf := make([]byte, end-start)
	if _, err := f.ReadAt(buf, start); err != nil && err != io.EOF {
		return nil, err
	}
	// Only whole lines: a partial first line (when the window starts
	// mid-file without a cursor to say it is a line start) and a partial
	// last line are left out. The first line is whole when the byte before
	// it ends a line.
	if newest && start > 0 && !endsLine(f, start) {
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf, start = buf[i+1:], start+int64(i+1)
		} else {
			buf = buf[:0]
		}
	}
	last := bytes.LastIndexByte(buf, '\n')
	if last < 0 {
		res.Cursor = start
		if !newest && int64(len(buf)) == int64(maxBytes) {
			// One line longer than maxBytes: return what fits as a cut-off
			// line and move on, or a follower would poll here forever.
			res.Lines = append(res.Lines, string(buf))
			res.Cursor = start + int64(len(buf))
			res.Truncated = true
		}
		return res, nil
	}
	buf = buf[:last+1]
	lines := bytes.Split(bytes.TrimSuffix(buf, []byte("\n")), []byte("\n"))
	consumed := start + int64(len(buf))
	if len(lines) > limit {
		if newest {
			lines = lines[len(lines)-limit:]
			res.Truncated = true
		} else {
			// Continue from the first line not returned: a page, nothing
			// skipped.
			n := 0
			for _, l := range lines[:limit] {
				n += len(l) + 1
			}
			consumed = start + int64(n)
			lines = lines[:limit]
		}
	}
	for _, l := range lines {
		res.Lines = append(res.Lines, string(l))
	}
	res.Cursor = consumed
	return res, nil
}

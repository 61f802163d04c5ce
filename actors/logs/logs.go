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
)

// Tail reads complete lines from path. Without a cursor it returns the last
// lines; with one it returns what was written after that byte offset. A cursor
// past the end means the file rotated or was truncated: reading restarts from
// the top and Reset says so. The returned cursor is where the next call
// should continue.
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
	if p.Cursor == nil {
		start = max(size-int64(maxBytes), 0)
	} else {
		start = *p.Cursor
		if start > size {
			start, res.Reset = 0, true
		}
	}
	end := min(size, start+int64(maxBytes))
	buf := make([]byte, end-start)
	if _, err := f.ReadAt(buf, start); err != nil && err != io.EOF {
		return nil, err
	}
	// Only whole lines: a partial first line (when we started mid-file
	// without a cursor) and a partial last line are left out. The first
	// line is whole when the byte before it ends a line.
	if p.Cursor == nil && start > 0 {
		res.Truncated = true // the file has more before the window
		if !endsLine(f, start) {
			if i := bytes.IndexByte(buf, '\n'); i >= 0 {
				buf, start = buf[i+1:], start+int64(i+1)
			}
		}
	}
	last := bytes.LastIndexByte(buf, '\n')
	if last < 0 {
		res.Cursor = start
		if p.Cursor != nil && int64(len(buf)) == int64(maxBytes) {
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
		if p.Cursor == nil {
			lines = lines[len(lines)-limit:]
		} else {
			// Continue from the first line not returned.
			n := 0
			for _, l := range lines[:limit] {
				n += len(l) + 1
			}
			consumed = start + int64(n)
			lines = lines[:limit]
		}
		res.Truncated = true
	}
	for _, l := range lines {
		res.Lines = append(res.Lines, string(l))
	}
	res.Cursor = consumed
	return res, nil
}

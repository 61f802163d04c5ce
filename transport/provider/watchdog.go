package provider

import (
	"bytes"
	"io"
	"time"
)

// watchedBody wraps a response body: a timer calls onStall when no bytes
// arrive for d (it is reset by every read that returns data and stopped by
// Close), and the first read error other than EOF is kept so a broken
// connection can be told from bytes that did not decode. It also notes
// whether the server sent the stream's end marker (data: [DONE]): the SDK
// ends a stream the same way on [DONE] and on a bare EOF, and only the
// marker tells a finished reply from one cut short.
//
// It is read on one goroutine (the SDK's stream decoder, on the caller of
// Stream); onStall runs on the timer's goroutine and only cancels a context.
type watchedBody struct {
	rc    io.ReadCloser
	d     time.Duration
	timer *time.Timer
	err   error

	line []byte // the start of the line being read, up to len(doneLine)
	done bool   // a data: [DONE] line was read
}

// doneLine is the event-stream line that ends an OpenAI-compatible stream
// (the space after the colon is optional in SSE).
var doneLine = []byte("data: [DONE]")

func watchBody(rc io.ReadCloser, d time.Duration, onStall func()) *watchedBody {
	return &watchedBody{rc: rc, d: d, timer: time.AfterFunc(d, onStall)}
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.timer.Reset(b.d)
		b.scan(p[:n])
	}
	if err == io.EOF {
		b.endLine() // a last line without its newline
	}
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// scan follows the lines of the event stream, keeping only the start of
// each, to spot the [DONE] marker.
func (b *watchedBody) scan(p []byte) {
	for _, c := range p {
		if c == '\n' || c == '\r' {
			b.endLine()
			continue
		}
		if len(b.line) < len(doneLine) {
			b.line = append(b.line, c)
		}
	}
}

func (b *watchedBody) endLine() {
	if v, ok := bytes.CutPrefix(b.line, []byte("data:")); ok {
		v = bytes.TrimPrefix(v, []byte(" "))
		if bytes.HasPrefix(v, []byte("[DONE]")) {
			b.done = true
		}
	}
	b.line = b.line[:0]
}

// sawDone reports whether the stream's end marker was read.
func (b *watchedBody) sawDone() bool { return b.done }

func (b *watchedBody) Close() error {
	b.timer.Stop()
	return b.rc.Close()
}

// readErr is the first read error other than EOF, or nil.
func (b *watchedBody) readErr() error { return b.err }

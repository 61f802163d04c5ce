package provider

import (
	"io"
	"time"
)

// watchedBody wraps a response body: a timer calls onStall when no bytes
// arrive for d (it is reset by every read that returns data and stopped by
// Close), and the first read error other than EOF is kept so a broken
// connection can be told from bytes that did not decode.
//
// It is read on one goroutine (the SDK's stream decoder, on the caller of
// Stream); onStall runs on the timer's goroutine and only cancels a context.
type watchedBody struct {
	rc    io.ReadCloser
	d     time.Duration
	timer *time.Timer
	err   error
}

func watchBody(rc io.ReadCloser, d time.Duration, onStall func()) *watchedBody {
	return &watchedBody{rc: rc, d: d, timer: time.AfterFunc(d, onStall)}
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.timer.Reset(b.d)
	}
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

func (b *watchedBody) Close() error {
	b.timer.Stop()
	return b.rc.Close()
}

// readErr is the first read error other than EOF, or nil.
func (b *watchedBody) readErr() error { return b.err }

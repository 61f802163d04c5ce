package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"openclaw/transport/protocol"
)

// responsePrefix is how every response frame starts (protocol.Response and
// protocol.FailRawID encode type and id first).
var responsePrefix = []byte(`{"type":"res","id":`)

// oversizeFrame is what Send writes instead of a frame over MaxFrameOut: for
// a response, an error response with the same id, so the caller learns its
// request failed instead of waiting for an answer that never comes; for
// anything else nil (skip it). Either way the socket stays open: a frame
// the gateway built too large is not the reader's fault.
func (s *Server) oversizeFrame(sock *Socket, frame []byte) []byte {
	limit := s.limits.MaxFrameOut
	var reply []byte
	if rest, ok := bytes.CutPrefix(frame, responsePrefix); ok {
		var id any
		// Decodes the id alone: the decoder reads only as far as it needs.
		if json.NewDecoder(bytes.NewReader(rest)).Decode(&id) == nil {
			reply = protocol.FailRawID(id, protocol.NewError(protocol.CodeInvalidRequest,
				fmt.Sprintf("response too large to send: %d bytes, over the %d-byte frame limit", len(frame), limit),
				map[string]any{"code": "RESPONSE_TOO_LARGE", "size": len(frame), "limit": limit}))
		}
	}
	if ok, more := s.oversize.allow(); ok {
		s.log.Warn("frame over the outbound limit not sent", "conn", sock.ID, "bytes", len(frame), "limit", limit,
			"answeredWithError", reply != nil, "heldBack", more)
	}
	return reply
}

// oversizeBroadcast notes a broadcast skipped for being over MaxFrameOut.
func (s *Server) oversizeBroadcast(b *protocol.Broadcast, n int64) {
	if ok, more := s.oversize.allow(); ok {
		s.log.Warn("broadcast over the outbound limit skipped", "event", b.Event, "bytes", n, "limit", s.limits.MaxFrameOut, "heldBack", more)
	}
}

// sometimes lets a warning that peers can cause at will through at most once
// per warnEvery.
type sometimes struct {
	mu      sync.Mutex
	last    time.Time
	skipped int
}

// allow reports whether to log now, and how many were held back since the
// last one that was.
func (o *sometimes) allow() (bool, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	if !o.last.IsZero() && now.Sub(o.last) < warnEvery {
		o.skipped++
		return false, 0
	}
	n := o.skipped
	o.skipped, o.last = 0, now
	return true, n
}

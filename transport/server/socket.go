package server

import (
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"

	"openclaw/transport/protocol"
)

// Socket is one accepted WebSocket. Its methods are safe from any goroutine;
// writes never block the caller: they go to the connection's own write queue,
// whose size in bytes the socket bounds itself (gws's queue has no limit).
type Socket struct {
	ID    string
	IP    netip.Addr
	Local bool // the peer is on a loopback address
	// Origin is the upgrade request's Origin header: browsers send one,
	// other clients (the CLI, nodes) do not. Only origins the server
	// allows get this far.
	Origin string

	conn   *gws.Conn
	srv    *Server
	limits *Limits

	authed   atomic.Bool
	closing  atomic.Bool
	abandon  atomic.Bool // dropped as a slow consumer: queued frames are not written
	backlog  atomic.Int64
	pingOut  atomic.Bool // a ping is waiting for its pong
	dropped  atomic.Int64
	preauthC bool // counted against the per-IP pre-auth limit (guarded by srv.mu)
}

// Authenticated tells the transport the handshake succeeded: the frame size
// limit rises to MaxPayload and the socket stops counting as pre-auth.
func (s *Socket) Authenticated() {
	if s.authed.CompareAndSwap(false, true) {
		s.srv.releasePreAuth(s)
	}
}

// IsAuthenticated reports whether Authenticated was called.
func (s *Socket) IsAuthenticated() bool { return s.authed.Load() }

// Browser reports whether the socket was opened by a web page (its upgrade
// carried an Origin header). Such a socket is never trusted for being on
// loopback: any page the user visits can reach 127.0.0.1.
func (s *Socket) Browser() bool { return s.Origin != "" }

// readLimit is the largest inbound frame the socket may send now.
func (s *Socket) readLimit() uint64 {
	if s.authed.Load() {
		return uint64(s.limits.MaxPayload)
	}
	return uint64(s.limits.PreAuthMaxFrame)
}

// frameTooLarge closes the socket 1009 when its guard refused a frame. It
// runs on the read goroutine; the close frame skips the write queue (a
// frame queued before it may be lost, which does not matter for a peer
// that broke the limit).
func (s *Socket) frameTooLarge() {
	s.closing.Store(true)
	_ = s.conn.SetWriteDeadline(time.Now().Add(closeWriteTimeout))
	_ = s.conn.WriteClose(1009, []byte("frame too large"))
}

// Backlog is the number of bytes queued but not yet written.
func (s *Socket) Backlog() int64 { return s.backlog.Load() }

// Dropped is how many droppable broadcasts were skipped for this socket.
func (s *Socket) Dropped() int64 { return s.dropped.Load() }

// Send queues one frame that must not be dropped (a response, a shutdown
// event). Over the backlog limit the socket is closed as a slow consumer and
// Send returns false.
//
// A frame over MaxFrameOut is never written (gws would close the socket
// 1001 for it, and the peer could not take it anyway): a response is
// replaced by an error response with the same id, anything else is skipped.
func (s *Socket) Send(frame []byte) bool {
	if s.closing.Load() {
		return false
	}
	if len(frame) > s.limits.MaxFrameOut {
		if frame = s.srv.oversizeFrame(s, frame); frame == nil {
			return false
		}
	}
	n := int64(len(frame))
	if s.overLimit(n) {
		s.SlowConsumer()
		return false
	}
	s.backlog.Add(n)
	s.conn.Async(func() {
		defer s.backlog.Add(-n)
		if s.abandon.Load() {
			return
		}
		s.conn.SetWriteDeadline(time.Now().Add(s.limits.WriteTimeout))
		_ = s.conn.WriteMessage(gws.OpcodeText, frame)
	})
	return true
}

// SendBroadcast queues a broadcast frame with this socket's seq. A droppable
// event over the backlog limit is skipped (the caller has already consumed
// the seq, so the client sees the gap); anything else closes the socket. A
// broadcast over MaxFrameOut is skipped for every socket, which stays open.
func (s *Socket) SendBroadcast(b *protocol.Broadcast, seq int64) bool {
	if s.closing.Load() {
		return false
	}
	mid := protocol.AppendSeq(make([]byte, 0, 24), seq)
	n := int64(len(b.Head) + len(mid) + len(b.Tail))
	if n > int64(s.limits.MaxFrameOut) {
		s.srv.oversizeBroadcast(b, n)
		return false
	}
	if s.overLimit(n) {
		if b.Droppable {
			s.dropped.Add(1)
			return false
		}
		s.SlowConsumer()
		return false
	}
	s.backlog.Add(n)
	s.conn.Async(func() {
		defer s.backlog.Add(-n)
		if s.abandon.Load() {
			return
		}
		s.conn.SetWriteDeadline(time.Now().Add(s.limits.WriteTimeout))
		_ = s.conn.Writev(gws.OpcodeText, b.Head, mid, b.Tail)
	})
	return true
}

// overLimit reports whether queuing n more bytes would pass the backlog
// limit. An empty queue always takes the frame, however large: otherwise a
// frame bigger than the limit could never reach even an idle socket.
func (s *Socket) overLimit(n int64) bool {
	cur := s.backlog.Load()
	return cur > 0 && cur+n > s.limits.MaxBufferedBytes
}

// Close queues a close frame behind the frames already queued, so a reply
// sent just before it still arrives, then closes the connection.
func (s *Socket) Close(code uint16, reason string) {
	if !s.closing.CompareAndSwap(false, true) {
		return
	}
	r := []byte(truncateReason(reason))
	s.conn.Async(func() {
		s.conn.SetWriteDeadline(time.Now().Add(closeWriteTimeout))
		_ = s.conn.WriteClose(code, r)
	})
}

// SlowConsumer drops a socket whose peer stopped reading, ending with a
// readable close 1008 "slow consumer" where the stream still allows one.
// The frames queued behind the stuck write are not written; the write in
// progress gets slowConsumerGrace to finish (a close frame cannot be sent
// in the middle of another frame), then the close frame follows it. A peer
// that reads nothing in that time gets no close frame: the write fails, and
// the connection is closed regardless once the grace and the close's own
// timeout are over, so a stuck peer holds nothing longer than that.
func (s *Socket) SlowConsumer() {
	if !s.closing.CompareAndSwap(false, true) {
		return
	}
	s.abandon.Store(true)
	_ = s.conn.SetWriteDeadline(time.Now().Add(slowConsumerGrace))
	s.conn.Async(func() {
		_ = s.conn.SetWriteDeadline(time.Now().Add(closeWriteTimeout))
		_ = s.conn.WriteClose(1008, []byte("slow consumer"))
	})
	time.AfterFunc(slowConsumerGrace+closeWriteTimeout, func() { _ = s.conn.NetConn().Close() })
}

// Ping sends a WebSocket ping. It returns false, and drops the socket, when
// the previous ping was never answered.
func (s *Socket) Ping() bool {
	if s.closing.Load() {
		return false
	}
	if s.pingOut.Swap(true) {
		s.closing.Store(true)
		_ = s.conn.NetConn().Close()
		return false
	}
	s.conn.Async(func() {
		if s.abandon.Load() {
			return
		}
		s.conn.SetWriteDeadline(time.Now().Add(s.limits.WriteTimeout))
		_ = s.conn.WritePing(nil)
	})
	return true
}

func (s *Socket) pong() { s.pingOut.Store(false) }

// truncateReason keeps a close reason within 120 bytes without splitting a
// UTF-8 sequence.
func truncateReason(r string) string {
	const max = 120
	if len(r) <= max {
		return r
	}
	cut := max
	for cut > 0 && r[cut]&0xC0 == 0x80 {
		cut--
	}
	return r[:cut]
}

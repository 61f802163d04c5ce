package server

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lxzan/gws"

	"openclaw/transport/protocol"
)

// Socket is one accepted WebSocket. Its methods are safe from any goroutine;
// writes never block the caller: they go to the socket's own outbound queue,
// whose size in bytes the socket bounds, drained by the server's pool of
// writers (pool.go, writer.go).
type Socket struct {
	ID    string
	IP    netip.Addr
	Local bool // the peer is on a loopback address
	// Origin is the upgrade request's Origin header: browsers send one,
	// other clients (the CLI, nodes) do not. Only origins the server
	// allows get this far.
	Origin string

	conn   *gws.Conn
	raw    net.Conn        // the TCP connection under conn: the writer writes frames to it
	rc     syscall.RawConn // raw's descriptor, for the pool's non-blocking writes; nil: no pool (pool.go)
	srv    *Server
	limits *Limits

	authed   atomic.Bool
	closing  atomic.Bool
	backlog  atomic.Int64 // bytes queued or being written
	pingOut  atomic.Bool  // a ping is waiting for its pong
	dropped  atomic.Int64
	merged   atomic.Int64
	preauthC bool // counted against the per-IP pre-auth limit (guarded by srv.mu)

	// The outbound queue (writer.go). Everything written to the peer goes
	// through it, in order; one writer at a time (a pool writer, or the
	// socket's own while its peer is behind) drains it, all that is queued
	// in one write.
	mu       sync.Mutex
	q        *outQueue // nil when empty
	seq      int64     // the last broadcast seq used (docs/PROTOCOL.md §6.1)
	writing  bool      // on the pool's ready list, or a writer is at it
	deadline int64     // the write deadline set on raw, Unix ns (writer.go)
	abandon  bool      // dropped as a slow consumer: nothing more but the close is written
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

// addBacklog moves the socket's backlog and the server's total with it.
func (s *Socket) addBacklog(n int64) {
	s.backlog.Add(n)
	s.srv.m.Backlog.Add(n)
}

// Backlog is the number of bytes queued but not yet written.
func (s *Socket) Backlog() int64 { return s.backlog.Load() }

// Dropped is how many droppable broadcasts were skipped for this socket.
func (s *Socket) Dropped() int64 { return s.dropped.Load() }

// Merged is how many deltas were merged into one this socket still held
// unsent instead of being queued on their own.
func (s *Socket) Merged() int64 { return s.merged.Load() }

// Send queues one frame that must not be dropped (a response, an event for
// this socket alone). Over the backlog limit the socket is closed as a slow
// consumer and Send returns false.
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
	it := outItem{frame: frame}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	if s.overLimit(it.size()) {
		s.slowConsumerLocked()
		return false
	}
	s.pushLocked(it)
	return true
}

// SendBroadcast queues one broadcast with this socket's next seq; see
// Broadcast.
func (s *Socket) SendBroadcast(b *protocol.Broadcast) bool {
	return s.Broadcast(b) == 1
}

// Broadcast queues broadcasts, in order, each with this socket's next seq
// (docs/PROTOCOL.md §6.1), to be written together, and returns how many it
// took. It is safe from any goroutine and never blocks on the peer.
//
// Over the backlog limit a droppable event is skipped (its seq is used all
// the same, so the client sees the gap); anything else closes the socket as
// a slow consumer. A delta whose run's previous delta of the same event is
// still queued is merged into it instead (docs/PROTOCOL.md §6.3): it takes
// no seq and no slot, and is never dropped. A broadcast over MaxFrameOut is
// skipped for every socket, which stays open.
func (s *Socket) Broadcast(bs ...*protocol.Broadcast) int {
	if s.closing.Load() {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, b := range bs {
		if s.closing.Load() {
			break
		}
		if s.broadcastLocked(b) {
			n++
		}
	}
	return n
}

func (s *Socket) broadcastLocked(b *protocol.Broadcast) bool {
	it := outItem{b: b}
	size := it.size()
	if !s.fits(b, s.seq+1) {
		s.seq++
		s.srv.oversizeBroadcast(b, int64(len(b.Head)+len(b.Tail))+seqLen(s.seq))
		return false
	}
	if b.Delta != nil {
		// A merge that would make a frame over MaxFrameOut is not made:
		// b then goes on its own.
		if i := s.mergeTarget(b); i >= 0 {
			prev := &s.q.items[i]
			if mb := protocol.Merge(prev.b, b); s.fits(mb, prev.seq) {
				m := outItem{b: mb, seq: prev.seq}
				grow := m.size() - prev.size()
				if s.overLimit(grow) {
					s.slowConsumerLocked()
					return false
				}
				*prev = m
				s.addBacklog(grow)
				s.merged.Add(1)
				s.srv.m.Merged.Inc()
				return true
			}
		}
	}
	if s.overLimit(size) {
		if b.Droppable {
			s.seq++
			s.dropped.Add(1)
			s.srv.m.Dropped.Inc()
			return false
		}
		s.slowConsumerLocked()
		return false
	}
	s.seq++
	it.seq = s.seq
	s.pushLocked(it)
	return true
}

// fits reports whether b with seq is a frame of at most MaxFrameOut.
func (s *Socket) fits(b *protocol.Broadcast, seq int64) bool {
	return int64(len(b.Head)+len(b.Tail))+seqLen(seq) <= int64(s.limits.MaxFrameOut)
}

// seqLen is the length of `,"seq":N`.
func seqLen(n int64) int64 {
	l := int64(len(`,"seq":`) + 1)
	for ; n >= 10; n /= 10 {
		l++
	}
	return l
}

// mergeScan bounds how far back a delta looks for the one it may merge
// into: a queue is short unless its reader stopped reading, and then the
// run's previous delta is among the last few frames (everything queued
// after it is another run's or another source's).
const mergeScan = 64

// mergeTarget is the index of the queued delta b may be merged into, or -1.
// It looks back from the newest frame past other runs' events and the same
// run's deltas of the other event, and stops at a response or control frame
// and at any other event of the same run (a lifecycle, tool, usage or final
// event): a merge never moves text across those.
func (s *Socket) mergeTarget(b *protocol.Broadcast) int {
	if s.q == nil {
		return -1
	}
	for i, n := len(s.q.items)-1, 0; i >= 0 && n < mergeScan; i, n = i-1, n+1 {
		q := s.q.items[i].b
		switch {
		case q == nil:
			return -1
		case q.Run != b.Run:
		case q.Merges(b):
			return i
		case q.Delta == nil || q.Event == b.Event:
			return -1
		}
	}
	return -1
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
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closing.CompareAndSwap(false, true) {
		return
	}
	s.pushLocked(outItem{op: opClose, code: code, frame: []byte(truncateReason(reason))})
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
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slowConsumerLocked()
}

func (s *Socket) slowConsumerLocked() {
	if !s.closing.CompareAndSwap(false, true) {
		return
	}
	s.srv.m.SlowConsumers.Inc()
	s.abandon = true
	s.dropQueueLocked()
	at := time.Now().Add(slowConsumerGrace)
	s.deadline = at.UnixNano()
	_ = s.raw.SetWriteDeadline(at)
	s.pushLocked(outItem{op: opClose, code: 1008, frame: []byte("slow consumer")})
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
	s.mu.Lock()
	s.pushLocked(outItem{op: opPing})
	s.mu.Unlock()
	return true
}

func (s *Socket) pong() { s.pingOut.Store(false) }

// maxControl is the longest control frame payload (RFC 6455 §5.5).
const maxControl = 125

// Pong answers a peer's ping. It goes through the queue like every other
// frame: a pool writer may leave a frame half written for the socket's
// own writer to finish, and a pong written straight to the connection
// could land in the middle of it.
func (s *Socket) Pong(payload []byte) {
	if s.closing.Load() {
		return
	}
	p := append([]byte(nil), payload[:min(len(payload), maxControl)]...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return
	}
	s.pushLocked(outItem{op: opPong, frame: p})
}

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

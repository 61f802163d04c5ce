package server

import (
	"encoding/binary"
	"net"
	"sync"
	"time"

	"openclaw/transport/protocol"
)

// The outbound path. A socket's frames (responses, broadcasts, pings, the
// close) wait in its queue, in order. When the queue stops being empty the
// socket goes on the server's ready list; a pool writer (pool.go) takes
// everything queued at once and writes it with one non-blocking system call
// (a burst of events costs one write, not one per frame). A socket whose
// peer does not take it all gets its own writer goroutine (writeLoop),
// which blocks on that peer alone until the queue is empty. Frames are
// framed here (RFC 6455 §5.2, server to client: no mask) and written
// straight to the TCP connection; gws still reads and writes the close
// frame of a peer that breaks the protocol.

// Control frames queued with the data.
const (
	opText  byte = 0 // a text frame: Broadcast or frame
	opPing  byte = 0x9
	opPong  byte = 0xA // its payload in frame
	opClose byte = 0x8
)

// outItem is one queued frame.
type outItem struct {
	b     *protocol.Broadcast // a broadcast, written as Head, the seq, Tail
	frame []byte              // or a whole text frame; the reason of a close
	seq   int64
	op    byte
	code  uint16 // of a close
}

// seqRoom is the most a broadcast's `,"seq":N` takes.
const seqRoom = 27

// size is what the item counts against the backlog limit.
func (it *outItem) size() int64 {
	if it.b != nil {
		return int64(len(it.b.Head) + len(it.b.Tail) + seqRoom)
	}
	return int64(len(it.frame) + 2)
}

// copyMax is the largest payload a write copies; larger ones are handed to
// the kernel where they are (writev), with their headers copied.
const copyMax = 16 << 10

// keepBuf bounds the copy buffer a writer returns to the pool, so one burst
// of many frames does not pin that much memory for good.
const keepBuf = 256 << 10

// batch is a writer's scratch space, pooled: idle sockets hold none.
type batch struct {
	buf []byte
	iov net.Buffers
	// tryWrite's result and callback (nonblock_unix.go).
	n       int
	err     error
	writeFD func(uintptr) bool
}

var batches = sync.Pool{New: func() any {
	w := &batch{}
	w.writeFD = w.fdWrite
	return w
}}

// release returns w to the pool.
func (w *batch) release() {
	if cap(w.buf) > keepBuf {
		w.buf = nil
	}
	batches.Put(w)
}

// outQueue is a socket's queue. Queues are recycled between bursts, so an
// idle socket holds none and a busy one allocates none.
type outQueue struct{ items []outItem }

var queues = sync.Pool{New: func() any { return &outQueue{} }}

// recycle empties q and returns it to the pool.
func (q *outQueue) recycle() {
	clear(q.items)
	q.items = q.items[:0]
	queues.Put(q)
}

// pushLocked appends it to the queue and makes sure a writer runs.
func (s *Socket) pushLocked(it outItem) {
	if s.q == nil {
		s.q = queues.Get().(*outQueue)
	}
	s.q.items = append(s.q.items, it)
	s.addBacklog(it.size())
	if !s.writing {
		s.writing = true
		if s.rc != nil {
			s.srv.pool.add(s)
		} else {
			go writeLoop(s, nil) // not s.writeLoop: a method value is an allocation
		}
	}
}

// writeReady is a pool writer's turn at s: everything queued, with one
// write that does not wait for the peer. What needs waiting for goes to a
// goroutine of s's own (writeLoop): the rest of a write the kernel took in
// part, a close, a frame not copied, a socket being dropped.
func (s *Socket) writeReady(w *batch) {
	s.mu.Lock()
	q := s.q
	if q == nil || len(q.items) == 0 {
		s.writing = false
		s.dropQueueLocked()
		s.mu.Unlock()
		return
	}
	if s.abandon || !poolable(q.items) {
		s.mu.Unlock()
		go writeLoop(s, nil)
		return
	}
	s.q = nil
	s.mu.Unlock()

	s.frame(w, q.items)
	n, err := w.tryWrite(s.rc)
	s.srv.m.Sent(len(q.items), int64(n))
	size := s.itemsSize(q.items)
	q.recycle()
	if err != nil {
		s.addBacklog(-size)
		s.fail()
		s.mu.Lock()
		s.writing = false
		s.dropQueueLocked()
		s.mu.Unlock()
		return
	}
	if n < len(w.buf) {
		// The peer is behind: the rest waits for it on a goroutine of
		// its own, still counted against the backlog until written.
		rest := append([]byte(nil), w.buf[n:]...)
		s.addBacklog(int64(len(rest)) - size)
		go writeLoop(s, rest)
		return
	}
	s.addBacklog(-size)
	s.mu.Lock()
	if s.q != nil && len(s.q.items) > 0 {
		// More came while writing: to the back of the list, behind the
		// sockets that waited longer (and more merges in meanwhile).
		s.mu.Unlock()
		s.srv.pool.add(s)
		return
	}
	s.writing = false
	s.dropQueueLocked()
	s.mu.Unlock()
}

// poolable reports whether a pool writer may write items: no close (it
// waits for the peer) and no frame too large to copy.
func poolable(items []outItem) bool {
	for i := range items {
		if items[i].op == opClose || items[i].payloadLen() > copyMax {
			return false
		}
	}
	return true
}

// itemsSize is what items count against the backlog.
func (s *Socket) itemsSize(items []outItem) int64 {
	var n int64
	for i := range items {
		n += items[i].size()
	}
	return n
}

// dropQueueLocked forgets every queued frame (the socket is being dropped).
func (s *Socket) dropQueueLocked() {
	if s.q == nil {
		return
	}
	var n int64
	for i := range s.q.items {
		n += s.q.items[i].size()
	}
	s.addBacklog(-n)
	s.q.recycle()
	s.q = nil
}

// writeLoop writes rest (the end of a write a pool writer began, counted
// in the backlog), then drains s's queue until it is empty or the socket is
// done, blocking on the peer with the write deadline.
func writeLoop(s *Socket, rest []byte) {
	w := batches.Get().(*batch)
	defer w.release()
	if len(rest) > 0 {
		s.mu.Lock()
		s.extendDeadlineLocked()
		s.mu.Unlock()
		n, err := s.raw.Write(rest)
		s.addBacklog(-int64(len(rest)))
		s.srv.m.Sent(0, int64(n))
		if err != nil {
			s.fail()
			s.mu.Lock()
			s.writing = false
			s.dropQueueLocked()
			s.mu.Unlock()
			return
		}
	}
	for {
		s.mu.Lock()
		q := s.q
		if q == nil || len(q.items) == 0 {
			s.writing = false
			s.dropQueueLocked()
			s.clearDeadlineLocked()
			s.mu.Unlock()
			return
		}
		s.q = nil
		s.extendDeadlineLocked()
		s.mu.Unlock()

		ok := s.writeItems(w, q.items)
		s.addBacklog(-s.itemsSize(q.items))
		q.recycle()
		if !ok {
			s.mu.Lock()
			s.writing = false
			s.dropQueueLocked()
			s.mu.Unlock()
			return
		}
	}
}

// extendDeadlineLocked gives the next blocking write between half the write
// timeout and all of it: moving the deadline is a timer operation, not done
// for every burst. Under the lock, so SlowConsumer's shorter deadline is
// never overwritten by this one.
func (s *Socket) extendDeadlineLocked() {
	if s.abandon {
		return
	}
	now := time.Now()
	if timeout := s.limits.WriteTimeout; time.Duration(s.deadline-now.UnixNano()) < timeout/2 {
		at := now.Add(timeout)
		s.deadline = at.UnixNano()
		_ = s.raw.SetWriteDeadline(at)
	}
}

// clearDeadlineLocked lifts the write deadline when the socket goes back to
// the pool: a pool writer's write checks it too (RawConn.Write), and one set
// for a blocking write, left to expire, failed the next write of a socket
// that was keeping up (the hello-ok, over copyMax, is written here).
// A socket dropped as a slow consumer keeps its shorter one.
func (s *Socket) clearDeadlineLocked() {
	if s.rc == nil || s.abandon || s.deadline == 0 {
		return
	}
	s.deadline = 0
	_ = s.raw.SetWriteDeadline(time.Time{})
}

// writeItems writes items with one system call, up to a close (written
// through gws, which then closes the connection). It reports whether the
// socket may still be written to.
func (s *Socket) writeItems(w *batch, items []outItem) bool {
	end := len(items)
	for i := range items {
		if items[i].op == opClose {
			end = i
			break
		}
	}
	if end > 0 && !s.flush(w, items[:end]) {
		s.fail()
		return false
	}
	if end < len(items) {
		c := items[end]
		_ = s.raw.SetWriteDeadline(time.Now().Add(closeWriteTimeout))
		_ = s.conn.WriteClose(c.code, c.frame)
		return false
	}
	return true
}

// fail closes a connection whose write failed or timed out: the stream may
// end in the middle of a frame, so no close frame can follow. The read loop
// then sees the connection closed and the socket's handler is told.
func (s *Socket) fail() {
	s.closing.Store(true)
	_ = s.raw.Close()
}

// flush frames items into w and writes them.
func (s *Socket) flush(w *batch, items []outItem) bool {
	iov := s.frame(w, items)
	if len(iov) == 0 {
		n, err := s.raw.Write(w.buf)
		s.srv.m.Sent(len(items), int64(n))
		return err == nil
	}
	// WriteTo through the pooled w.iov: on a local slice it would move
	// that slice header to the heap, once per write.
	w.iov = iov
	n, err := w.iov.WriteTo(s.raw) // consumes w.iov
	s.srv.m.Sent(len(items), int64(n))
	clear(iov)
	w.iov = iov[:0]
	return err == nil
}

// frame frames items into w.buf. Payloads over copyMax are not copied: the
// result is then the whole batch as buffers for writev (w.buf's pieces and
// those payloads), and nil when w.buf holds it all.
func (s *Socket) frame(w *batch, items []outItem) net.Buffers {
	// Sized first, so that appending never moves buf while w.iov holds
	// slices of it.
	need := 0
	for i := range items {
		need += maxHeader + seqRoom
		if n := items[i].payloadLen(); n <= copyMax {
			need += n
		}
	}
	if cap(w.buf) < need {
		w.buf = make([]byte, 0, need)
	}
	buf, iov, mark := w.buf[:0], w.iov[:0], 0
	for i := range items {
		it := &items[i]
		switch {
		case it.op == opPing:
			buf = append(buf, 0x80|opPing, 0)
		case it.op == opPong:
			buf = append(append(buf, 0x80|opPong, byte(len(it.frame))), it.frame...)
		case it.b != nil:
			var mid [seqRoom]byte
			seq := protocol.AppendSeq(mid[:0], it.seq)
			buf = appendHeader(buf, len(it.b.Head)+len(seq)+len(it.b.Tail))
			if it.payloadLen() <= copyMax {
				buf = append(append(append(buf, it.b.Head...), seq...), it.b.Tail...)
				continue
			}
			iov = append(iov, buf[mark:], it.b.Head)
			buf = append(buf, seq...)
			iov = append(iov, buf[len(buf)-len(seq):], it.b.Tail)
			mark = len(buf)
		default:
			buf = appendHeader(buf, len(it.frame))
			if len(it.frame) <= copyMax {
				buf = append(buf, it.frame...)
				continue
			}
			iov = append(iov, buf[mark:], it.frame)
			mark = len(buf)
		}
	}
	w.buf = buf
	if len(iov) > 0 && mark < len(buf) {
		iov = append(iov, buf[mark:])
	}
	return iov
}

// payloadLen is the length of the item's frame payload.
func (it *outItem) payloadLen() int {
	if it.b != nil {
		return len(it.b.Head) + seqRoom + len(it.b.Tail)
	}
	return len(it.frame)
}

// maxHeader is the longest server frame header: 2 bytes and a 64-bit length.
const maxHeader = 10

// appendHeader appends the header of a final text frame of n bytes.
func appendHeader(b []byte, n int) []byte {
	b = append(b, 0x80|0x1)
	switch {
	case n < 126:
		return append(b, byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(b, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
	}
}

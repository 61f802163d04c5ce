package server

import (
	"encoding/binary"
	"net"
	"sync"
	"time"

	"openclaw/transport/protocol"
)

// The outbound path. A socket's frames (responses, broadcasts, pings, the
// close) wait in its queue, in order; a writer goroutine, started when the
// queue stops being empty and gone when it is empty again, takes everything
// queued at once and writes it with one system call (a burst of events
// costs one write, not one per frame). Frames are framed here (RFC 6455
// §5.2, server to client: no mask) and written straight to the TCP
// connection; gws still reads, answers pings and writes the close frame.
// A slow peer blocks only its own writer: nothing else waits for it.

// Control frames queued with the data.
const (
	opText  byte = 0 // a text frame: Broadcast or frame
	opPing  byte = 0x9
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
}

var batches = sync.Pool{New: func() any { return &batch{} }}

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
		go writeLoop(s) // not s.writeLoop: a method value is an allocation
	}
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

// writeLoop drains s's queue until it is empty or the socket is done.
func writeLoop(s *Socket) {
	w := batches.Get().(*batch)
	defer func() {
		if cap(w.buf) > keepBuf {
			w.buf = nil
		}
		batches.Put(w)
	}()
	for {
		s.mu.Lock()
		q := s.q
		if q == nil || len(q.items) == 0 {
			s.writing = false
			s.dropQueueLocked()
			s.mu.Unlock()
			return
		}
		s.q = nil
		if !s.abandon {
			// Under the lock: SlowConsumer's shorter deadline is never
			// overwritten by this one. A write gets between half the
			// write timeout and all of it: moving the deadline is a
			// timer operation, not done for every burst.
			now := time.Now()
			if timeout := s.limits.WriteTimeout; time.Duration(s.deadline-now.UnixNano()) < timeout/2 {
				at := now.Add(timeout)
				s.deadline = at.UnixNano()
				_ = s.raw.SetWriteDeadline(at)
			}
		}
		s.mu.Unlock()

		ok := s.writeItems(w, q.items)
		var n int64
		for i := range q.items {
			n += q.items[i].size()
		}
		s.addBacklog(-n)
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
	if len(iov) == 0 {
		n, err := s.raw.Write(buf)
		s.srv.m.Sent(len(items), int64(n))
		return err == nil
	}
	if mark < len(buf) {
		iov = append(iov, buf[mark:])
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

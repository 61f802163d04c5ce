package server

import (
	"runtime"
	"sync"
)

// The writer pool. A socket with frames to write waits on the server's
// ready list; a few writer goroutines (one per CPU) take sockets off it in
// order and write each one's whole queue with one non-blocking system call.
//
// Before, each socket started its own writer goroutine for each burst: one
// delta to 10,000 readers made 10,000 goroutines runnable at once, and the
// provider's stream reader, the run actor and the hub, each readied behind
// them, waited for all of them to run before the next delta was even read
// (issue 17: most of a piece's latency passed before its first reader got
// it, and the readers' queues never held two deltas to merge). With the
// pool the run queue holds a few goroutines; the next delta is published
// while the last is still being written, and merges into the queues of the
// sockets not yet written (docs/PROTOCOL.md §6.3).
//
// A write the kernel cannot take whole (the peer's window or our send
// buffer is full), a close, a frame too large to copy, or a socket being
// dropped leaves the pool: that socket gets its own goroutine, which
// blocks on the peer with the write deadline as before (writeLoop), until
// its queue is empty again. A slow peer never holds a pool writer.
type writerPool struct {
	mu      sync.Mutex
	ready   []*Socket // FIFO from head; a socket is on it at most once (Socket.writing)
	head    int
	running int
	max     int
}

// writersPerCPU is how many pool writers run per CPU: their writes never
// block, so more would only wait for a CPU.
const writersPerCPU = 1

func newWriterPool() *writerPool {
	return &writerPool{max: max(1, writersPerCPU*runtime.GOMAXPROCS(0))}
}

// add puts s at the back of the ready list and starts a writer if fewer
// than max run. Writers exit when the list is empty, so an idle server
// holds none.
func (p *writerPool) add(s *Socket) {
	p.mu.Lock()
	p.ready = append(p.ready, s)
	start := p.running < p.max
	if start {
		p.running++
	}
	p.mu.Unlock()
	if start {
		go p.work()
	}
}

// keepReady bounds the ready list's array kept when it empties: a burst to
// 20,000 sockets should not pin its 160 KB for good.
const keepReady = 4096

// next takes the socket at the front of the list, or, the list being
// empty, counts the caller out and returns nil.
func (p *writerPool) next() *Socket {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.head == len(p.ready) {
		if cap(p.ready) > keepReady {
			p.ready = nil
		} else {
			p.ready = p.ready[:0]
		}
		p.head = 0
		p.running--
		return nil
	}
	s := p.ready[p.head]
	p.ready[p.head] = nil
	p.head++
	if p.head > len(p.ready)/2 && p.head > 64 {
		// The list never ran empty: move what is left to the front so
		// that appending does not grow the array for good.
		n := copy(p.ready, p.ready[p.head:])
		clear(p.ready[n:])
		p.ready, p.head = p.ready[:n], 0
	}
	return s
}

// work writes ready sockets until there are none.
func (p *writerPool) work() {
	w := batches.Get().(*batch)
	defer w.release()
	for s := p.next(); s != nil; s = p.next() {
		s.writeReady(w)
	}
}

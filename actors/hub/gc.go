package hub

import (
	"runtime/debug"
	"time"
)

// After a burst of handshakes (a reconnect storm, a restart, a load test) the
// heap has grown to the GC's goal, about twice the live heap, and Go keeps
// that memory resident while the sockets sit idle: the runtime returns free
// heap only down to the goal of its last cycle. Once burstSize handshakes have
// come in and then none for burstQuiet, the hub has the runtime collect and
// return the free heap to the OS (debug.FreeOSMemory: one GC cycle, run off
// the hub's goroutine). A steady trickle of handshakes never triggers it, and
// nothing changes for sockets that are busy: the heap grows back to the goal
// as they allocate.
//
// Measured with openclaw-bench conns 10000 --hold 5: 12.9-13.7 KiB per idle
// socket without, 9.7 with (see docs/MEMORY.md). Lowering GOGC to 50 instead
// gave 10.4 but cost ~15% round trips per CPU-second with 10,000 sockets open.
const (
	burstSize  = 1000
	burstQuiet = time.Second
)

type burstCheck struct{}

// burstGC watches handshakes for the end of a burst; hub goroutine only.
type burstGC struct {
	count int       // handshakes since the last release
	last  time.Time // the latest handshake
	armed bool      // a burstCheck is pending
}

// handshake counts one handshake; true when a quiet check must be armed.
func (g *burstGC) handshake() bool {
	g.last = time.Now()
	g.count++
	if g.count >= burstSize && !g.armed {
		g.armed = true
		return true
	}
	return false
}

// settled releases the free heap if the burst is over, or says how long to
// wait before looking again.
func (g *burstGC) settled() time.Duration {
	if wait := burstQuiet - time.Since(g.last); wait > 0 {
		return wait
	}
	g.count, g.armed = 0, false
	go debug.FreeOSMemory()
	return 0
}

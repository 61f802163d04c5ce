package core

import (
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Timers sends messages to an actor later, and cancels the ones still
// pending when the actor stops: a pending timer's closure holds the actor
// system, so without this a stopped gateway generation stays reachable (and
// in memory) until its longest timer fires.
type Timers struct {
	mu      sync.Mutex
	pending map[*time.Timer]struct{}
	stopped bool
}

// After sends msg to the actor of ctx after d.
func (t *Timers) After(ctx actor.Context, d time.Duration, msg any) {
	self, sys := ctx.Self(), ctx.ActorSystem()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	if t.pending == nil {
		t.pending = make(map[*time.Timer]struct{})
	}
	var timer *time.Timer
	timer = time.AfterFunc(d, func() {
		t.mu.Lock()
		delete(t.pending, timer)
		t.mu.Unlock()
		sys.Root.Send(self, msg)
	})
	t.pending[timer] = struct{}{}
}

// Stop cancels every pending timer; later After calls do nothing.
func (t *Timers) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	for timer := range t.pending {
		timer.Stop()
	}
	t.pending = nil
}

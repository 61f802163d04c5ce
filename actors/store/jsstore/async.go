package jsstore

import (
	"sync"

	"openclaw/actors/store"
)

// asyncQueue runs the *Async calls one at a time, in submission order, on
// one goroutine: an actor hands a write over without waiting, and a later
// write of a key never overtakes an earlier one. Unbounded, like the SQLite
// writer's queue: the caller must never block on it.
type asyncQueue struct {
	mu      sync.Mutex
	pending []func()
	closed  bool
	wake    chan struct{}
	done    chan struct{}
}

func newAsyncQueue() *asyncQueue {
	q := &asyncQueue{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go q.run()
	return q
}

func (q *asyncQueue) submit(f func()) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return store.ErrClosed
	}
	q.pending = append(q.pending, f)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

func (q *asyncQueue) run() {
	defer close(q.done)
	for {
		q.mu.Lock()
		batch, closed := q.pending, q.closed
		q.pending = nil
		q.mu.Unlock()
		for _, f := range batch {
			f()
		}
		if len(batch) == 0 {
			if closed {
				return
			}
			<-q.wake
		}
	}
}

// close runs what is queued and stops the goroutine.
func (q *asyncQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	<-q.done
}

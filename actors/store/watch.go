package store

import (
	"bytes"
	"context"
	"sync"
)

// Watcher is a store other gateways write too (JetStream in cluster mode;
// the standalone SQLite store is not one). An actor that keeps a
// namespace in memory watches it to learn the other gateways' changes
// without a restart.
type Watcher interface {
	// WatchKV calls f, on one goroutine of its own, for every change of
	// namespace ns stored after WatchKV returned, this gateway's included,
	// in the order they were stored, until ctx ends; value is nil for a
	// deletion. Start it before reading the namespace (Scan): a change
	// made in between is then reported, never lost.
	WatchKV(ctx context.Context, ns string, f func(key string, value []byte)) error
}

// Echoes tells an actor's own writes of a watched namespace from the other
// gateways'. The actor writes through Put and Delete, which note each
// value before it is submitted; the watch reports the changes in the order
// they were stored, and the actor's own writes in the order it submitted
// them, so the change of an own write is the oldest noted value of its
// key. The rest are foreign: the changes to apply. Without it, the
// echo of an older own write would put a value back that the actor has
// changed since.
//
// Over a store that is not a Watcher it writes straight through. It is
// safe for concurrent use (write callbacks run on the store's goroutine).
type Echoes struct {
	st       KVStore
	ns       string
	watching bool

	mu      sync.Mutex
	pending map[string][][]byte // by key: own values not seen back yet, oldest first; nil is a deletion
}

// NewEchoes writes namespace ns of st.
func NewEchoes(st KVStore, ns string) *Echoes {
	_, watching := st.(Watcher)
	return &Echoes{st: st, ns: ns, watching: watching, pending: map[string][][]byte{}}
}

// Follow is the Echoes of namespace ns of st with, when st is a Watcher,
// its watch started: f gets each change another gateway makes (on the
// watch's goroutine) until stop is called. Call it before reading the
// namespace.
func Follow(st KVStore, ns string, f func(key string, value []byte)) (e *Echoes, stop context.CancelFunc, err error) {
	e = NewEchoes(st, ns)
	ctx, stop := context.WithCancel(context.Background())
	if e.watching {
		err = st.(Watcher).WatchKV(ctx, ns, func(key string, value []byte) {
			if e.foreign(key, value) {
				f(key, value)
			}
		})
	}
	return e, stop, err
}

// Put is PutAsync of (ns, key), noted.
func (e *Echoes) Put(key string, value []byte, done func(error)) {
	if !e.watching {
		e.st.PutAsync(e.ns, key, value, done)
		return
	}
	if value == nil {
		value = []byte{}
	}
	e.note(key, value)
	e.st.PutAsync(e.ns, key, value, e.settle(key, value, done))
}

// Delete is DeleteAsync of (ns, key), noted.
func (e *Echoes) Delete(key string, done func(error)) {
	if !e.watching {
		e.st.DeleteAsync(e.ns, key, done)
		return
	}
	e.note(key, nil)
	e.st.DeleteAsync(e.ns, key, e.settle(key, nil, done))
}

func (e *Echoes) note(key string, value []byte) {
	e.mu.Lock()
	e.pending[key] = append(e.pending[key], value)
	e.mu.Unlock()
}

// settle wraps done: a write that failed will not come back.
func (e *Echoes) settle(key string, value []byte, done func(error)) func(error) {
	return func(err error) {
		if err != nil {
			e.mu.Lock()
			e.pop(key, value)
			e.mu.Unlock()
		}
		if done != nil {
			done(err)
		}
	}
}

// foreign reports whether a change the watch reported (value nil: a
// deletion) is another gateway's, to be applied; an own write's change is
// consumed. A peer's change stored while own writes of the key are still
// on their way is overwritten by them, so it is not applied either.
func (e *Echoes) foreign(key string, value []byte) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pop(key, value) {
		return false
	}
	return len(e.pending[key]) == 0
}

// pop removes the oldest noted value of key equal to value.
func (e *Echoes) pop(key string, value []byte) bool {
	q := e.pending[key]
	for i, v := range q {
		if (v == nil) == (value == nil) && bytes.Equal(v, value) {
			q = append(q[:i:i], q[i+1:]...)
			if len(q) == 0 {
				delete(e.pending, key)
			} else {
				e.pending[key] = q
			}
			return true
		}
	}
	return false
}

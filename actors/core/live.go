package core

import "sync/atomic"

// Live is a value one actor owns and replaces as a whole, and others read
// without asking: the active config, the shared secret, the published
// presence roster. A reader gets the latest complete value; values are
// never modified after Set.
type Live[T any] struct{ p atomic.Pointer[T] }

// NewLive returns a Live holding v.
func NewLive[T any](v T) *Live[T] {
	l := &Live[T]{}
	l.Set(v)
	return l
}

// Get returns the current value (the zero value before the first Set).
func (l *Live[T]) Get() T {
	if p := l.p.Load(); p != nil {
		return *p
	}
	var zero T
	return zero
}

// Set replaces the value.
func (l *Live[T]) Set(v T) { l.p.Store(&v) }

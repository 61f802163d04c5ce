package jsstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"openclaw/actors/store"
)

// Put stores value under (ns, key); it is replicated when Put returns.
func (s *Store) Put(ctx context.Context, ns, key string, value []byte) error {
	if ns == "" || key == "" {
		return fmt.Errorf("%w: empty namespace or key", store.ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	_, err := s.kv.Put(ctx, kvKey(ns, key), value)
	return err
}

// Get returns the value under (ns, key); ok is false if there is none.
func (s *Store) Get(ctx context.Context, ns, key string) ([]byte, bool, error) {
	if ns == "" || key == "" {
		return nil, false, nil
	}
	e, err := s.kv.Get(ctx, kvKey(ns, key))
	if notFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	v := e.Value()
	if v == nil {
		v = []byte{}
	}
	return v, true, nil
}

// Delete removes (ns, key); deleting a missing key is not an error.
func (s *Store) Delete(ctx context.Context, ns, key string) error {
	if ns == "" || key == "" {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.kv.Delete(ctx, kvKey(ns, key))
	if notFound(err) {
		return nil
	}
	return err
}

// PutAsync is Put without waiting: the asynchronous writes run in
// submission order (the last PutAsync of a key wins), and done, when not
// nil, is called once the write is stored.
func (s *Store) PutAsync(ns, key string, value []byte, done func(error)) {
	if ns == "" || key == "" {
		if done != nil {
			done(fmt.Errorf("%w: empty namespace or key", store.ErrInvalid))
		}
		return
	}
	s.later(done, func(ctx context.Context) error { return s.Put(ctx, ns, key, value) })
}

// DeleteAsync is Delete without waiting, in order with the other
// asynchronous writes.
func (s *Store) DeleteAsync(ns, key string, done func(error)) {
	s.later(done, func(ctx context.Context) error { return s.Delete(ctx, ns, key) })
}

// later queues f on the async goroutine and reports to done.
func (s *Store) later(done func(error), f func(ctx context.Context) error) {
	err := s.async.submit(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		err := f(ctx)
		cancel()
		if done != nil {
			done(err)
		}
	})
	if err != nil && done != nil {
		done(err)
	}
}

// Scan returns every key of namespace ns with its value.
func (s *Store) Scan(ctx context.Context, ns string) (map[string][]byte, error) {
	out := map[string][]byte{}
	if ns == "" {
		return out, nil
	}
	err := eachEntry(ctx, s.kv, escape(ns)+".*", func(e jetstream.KeyValueEntry) error {
		_, tok, _ := strings.Cut(e.Key(), ".")
		k, err := unescape(tok)
		if err != nil {
			return err
		}
		v := e.Value()
		if v == nil {
			v = []byte{}
		}
		out[k] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PutMany stores several values, in order; unlike SQLite's it is not one
// transaction (a failure part way leaves the first ones stored).
func (s *Store) PutMany(ctx context.Context, items []store.KV) error {
	for _, it := range items {
		if it.NS == "" || it.Key == "" {
			return fmt.Errorf("%w: empty namespace or key", store.ErrInvalid)
		}
	}
	for _, it := range items {
		if err := s.Put(ctx, it.NS, it.Key, it.Value); err != nil {
			return err
		}
	}
	return nil
}

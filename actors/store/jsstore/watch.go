package jsstore

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"openclaw/actors/store"
)

var _ store.Watcher = (*Store)(nil)

// errStop ends eachEntry early, without an error.
var errStop = errors.New("jsstore: stop")

// eachEntry calls f for every entry of kv under filter (">": all) as it is
// stored now, in the order of the entries' revisions, deletions left out.
func eachEntry(ctx context.Context, kv jetstream.KeyValue, filter string, f func(e jetstream.KeyValueEntry) error) error {
	w, err := kv.Watch(ctx, filter, jetstream.IgnoreDeletes())
	if err != nil {
		return err
	}
	defer w.Stop()
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok || e == nil { // nil: everything stored is delivered
				return nil
			}
			if err := f(e); errors.Is(err, errStop) {
				return nil
			} else if err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// rewatchEvery is how soon a namespace watch that ended (its subscription
// closed under it) is started again.
const rewatchEvery = 500 * time.Millisecond

// WatchKV reports every later change of namespace ns (store.Watcher). A
// watch that ends before ctx does (a lost connection) resumes after the
// last revision it reported, so no change is skipped.
func (s *Store) WatchKV(ctx context.Context, ns string, f func(key string, value []byte)) error {
	filter := escape(ns) + ".*"
	w, err := s.kv.Watch(ctx, filter, jetstream.UpdatesOnly())
	if err != nil {
		return err
	}
	go func() {
		var last uint64
		for {
			last = deliver(ctx, w, last, f)
			_ = w.Stop()
			for {
				if ctx.Err() != nil {
					return
				}
				if w, err = s.kv.Watch(ctx, filter, jetstream.ResumeFromRevision(last+1)); err == nil {
					break
				}
				select {
				case <-ctx.Done():
				case <-time.After(rewatchEvery):
				}
			}
		}
	}()
	return nil
}

// deliver hands w's changes to f until w or ctx ends, and returns the last
// revision delivered.
func deliver(ctx context.Context, w jetstream.KeyWatcher, last uint64, f func(key string, value []byte)) uint64 {
	for {
		select {
		case <-ctx.Done():
			return last
		case e, ok := <-w.Updates():
			if !ok {
				return last
			}
			if e == nil || e.Revision() <= last {
				continue
			}
			last = e.Revision()
			_, tok, _ := strings.Cut(e.Key(), ".")
			k, err := unescape(tok)
			if err != nil {
				continue
			}
			var v []byte
			if e.Operation() == jetstream.KeyValuePut {
				if v = e.Value(); v == nil {
					v = []byte{}
				}
			}
			f(k, v)
		}
	}
}

package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"openclaw/actors/store"
	"openclaw/actors/store/jsstore"
	"openclaw/actors/store/jsstore/natstest"
)

// The shared tests (eachStore, eachImpl) run against JetStream too: each
// test gets its own embedded NATS server; a reopen is a new store of the
// same cluster on the same connection.
func init() {
	var (
		n      atomic.Int64
		mu     sync.Mutex
		conns  = map[store.Store]jetstream.JetStream{}
		opened = func(t testing.TB, js jetstream.JetStream, cluster string) store.Store {
			s, err := jsstore.Open(context.Background(), js, jsstore.Config{Cluster: cluster})
			if err != nil {
				t.Fatalf("jsstore.Open: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			mu.Lock()
			conns[s] = js
			mu.Unlock()
			return s
		}
	)
	store.AddImpl("jetstream", func(t testing.TB) store.Store {
		return opened(t, natstest.Connect(t, natstest.Start(t)), fmt.Sprintf("t%d", n.Add(1)))
	}, func(t testing.TB, s store.Store) store.Store {
		s.Close()
		mu.Lock()
		js := conns[s]
		mu.Unlock()
		return opened(t, js, s.Path()[len("jetstream:"):])
	})
}

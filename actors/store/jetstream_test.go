package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"openclaw/actors/store"
	"openclaw/actors/store/jsstore"
	"openclaw/actors/store/jsstore/natstest"
)

// The shared tests (eachStore) run against JetStream too: each test gets
// its own embedded NATS server.
func init() {
	var n atomic.Int64
	store.AddImpl("jetstream", func(t testing.TB) store.Store {
		js := natstest.Connect(t, natstest.Start(t))
		s, err := jsstore.Open(context.Background(), js, jsstore.Config{Cluster: fmt.Sprintf("t%d", n.Add(1))})
		if err != nil {
			t.Fatalf("jsstore.Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

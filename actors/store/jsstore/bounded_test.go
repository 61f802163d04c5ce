package jsstore

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"openclaw/actors/store/jsstore/natstest"
)

// lostKV is a bucket whose every request is taken and never answered: what
// a client sees when the stream's leader took the request and then died or
// lost its quorum (the new leader never heard of it).
type lostKV struct{ jetstream.KeyValue }

func (lostKV) wait(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }

func (k lostKV) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	return nil, k.wait(ctx)
}

func (k lostKV) GetRevision(ctx context.Context, key string, rev uint64) (jetstream.KeyValueEntry, error) {
	return nil, k.wait(ctx)
}

func (k lostKV) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	return 0, k.wait(ctx)
}

func (k lostKV) Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error) {
	return 0, k.wait(ctx)
}

func (k lostKV) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	return 0, k.wait(ctx)
}

func (k lostKV) Delete(ctx context.Context, key string, opts ...jetstream.KVDeleteOpt) error {
	return k.wait(ctx)
}

func (k lostKV) Purge(ctx context.Context, key string, opts ...jetstream.KVDeleteOpt) error {
	return k.wait(ctx)
}

// TestLostRequestIsBounded: a request whose answer is lost ends after
// requestTimeout with an error Transient reports, not at the caller's far
// deadline (an agent turn's: its run timeout), and a caller whose own
// context ends first is not held.
func TestLostRequestIsBounded(t *testing.T) {
	b := boundedKV{lostKV{}}
	for _, tc := range []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"get", func(ctx context.Context) error { _, err := b.Get(ctx, "k"); return err }},
		{"get revision", func(ctx context.Context) error { _, err := b.GetRevision(ctx, "k", 1); return err }},
		{"put", func(ctx context.Context) error { _, err := b.Put(ctx, "k", nil); return err }},
		{"create", func(ctx context.Context) error { _, err := b.Create(ctx, "k", nil); return err }},
		{"update", func(ctx context.Context) error { _, err := b.Update(ctx, "k", nil, 1); return err }},
		{"delete", func(ctx context.Context) error { return b.Delete(ctx, "k") }},
		{"purge", func(ctx context.Context) error { return b.Purge(ctx, "k") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- tc.call(ctx) }()
			select {
			case err := <-done:
				if !Transient(err) {
					t.Fatalf("err %v: not transient", err)
				}
				if ctx.Err() != nil {
					t.Fatal("the caller's context ended")
				}
			case <-time.After(time.Minute):
				t.Fatalf("the lost request still waits a minute later (bound %s)", requestTimeout)
			}
			cctx, ccancel := context.WithCancel(context.Background())
			ccancel()
			if err := tc.call(cctx); err != context.Canceled {
				t.Fatalf("cancelled caller: %v", err)
			}
		})
	}
}

// TestNoQuorumIsTransient: on a real three-server JetStream whose streams
// lost their quorum (two servers gone), the store's writes fail
// (bounded, though the caller's deadline is far) with errors Transient
// reports: the errors a turn and the Telegram drain retry. Unbounded, the
// write waits for the caller's deadline: no answer comes (a read may still
// be answered by the old leader, so none is checked here).
func TestNoQuorumIsTransient(t *testing.T) {
	srvs := natstest.StartCluster(t, 3)
	var s *Store
	eventually(t, "the buckets are created with 3 replicas", func() bool {
		st, err := Open(bg, natstest.Connect(t, srvs[0]), Config{Cluster: "q", Replicas: 3})
		if err != nil {
			return false
		}
		t.Cleanup(func() { st.Close() })
		s = st
		return true
	})
	if err := s.Put(bg, "ns", "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	for _, srv := range srvs[1:] {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
	for _, tc := range []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"put", func(ctx context.Context) error { return s.Put(ctx, "ns", "k", []byte("w")) }},
		{"append", func(ctx context.Context) error { _, err := s.Append(ctx, userMsg("agent:main:main", "hi")); return err }},
	} {
		ctx, cancel := context.WithTimeout(bg, 10*time.Minute)
		done := make(chan error, 1)
		go func() { done <- tc.call(ctx) }()
		select {
		case err := <-done:
			t.Logf("%s without a quorum: %v", tc.name, err)
			if err == nil || !Transient(err) {
				t.Errorf("%s without a quorum: %v, want a transient error", tc.name, err)
			}
		case <-time.After(time.Minute):
			t.Errorf("%s without a quorum still waits a minute later", tc.name)
		}
		cancel()
	}
}

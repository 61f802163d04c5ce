package jsstore

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
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

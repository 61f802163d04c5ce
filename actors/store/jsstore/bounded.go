package jsstore

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// requestTimeout bounds each JetStream request of the store, whatever the
// caller's deadline. A request whose answer is lost (its stream's leader
// was killed or lost its quorum after taking it, and the new leader never
// heard of it) is otherwise waited for until the caller's deadline: an
// agent turn's is its run timeout (minutes), so one lost publish stalled
// the turn, and with it its chat's Telegram drain, for that long (issue 19).
// Bounded, the request fails with a deadline error, which Transient
// reports, and the caller tries again.
const requestTimeout = 5 * time.Second

// boundedKV is a bucket whose requests are bounded by requestTimeout. The
// watches are not: they are bounded by their callers (a scan's deadline)
// or run until cancelled.
type boundedKV struct{ jetstream.KeyValue }

func bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, requestTimeout)
}

func (b boundedKV) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	return b.KeyValue.Get(ctx, key)
}

func (b boundedKV) GetRevision(ctx context.Context, key string, revision uint64) (jetstream.KeyValueEntry, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	return b.KeyValue.GetRevision(ctx, key, revision)
}

func (b boundedKV) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	return b.KeyValue.Put(ctx, key, value)
}

func (b boundedKV) Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	return b.KeyValue.Create(ctx, key, value, opts...)
}

func (b boundedKV) Update(ctx context.Context, key string, value []byte, revision uint64) (uint64, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	return b.KeyValue.Update(ctx, key, value, revision)
}

func (b boundedKV) Delete(ctx context.Context, key string, opts ...jetstream.KVDeleteOpt) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	return b.KeyValue.Delete(ctx, key, opts...)
}

func (b boundedKV) Purge(ctx context.Context, key string, opts ...jetstream.KVDeleteOpt) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	return b.KeyValue.Purge(ctx, key, opts...)
}

package jsstore

import (
	"context"
	"fmt"

	"openclaw/actors/store"
)

// The durable queue (Telegram ingress, issue 19) is not kept in JetStream
// yet. Their calls fail, naming the part, so that nothing a
// caller hands over is dropped silently; `openclaw cluster import` leaves
// such state in the SQLite file and says so.

func unsupported(part string) error {
	return fmt.Errorf("jsstore: %s is not kept in JetStream yet: %w", part, store.ErrUnsupported)
}

func errQueue(queue string) error { return unsupported("the durable queue (" + queue + ")") }

func (s *Store) Enqueue(_ context.Context, queue, _, _ string, _ []byte) (bool, error) {
	return false, errQueue(queue)
}

func (s *Store) EnqueueBatch(_ context.Context, queue string, _ []store.Item, _ *store.KV) ([]bool, error) {
	return nil, errQueue(queue)
}

func (s *Store) Pending(_ context.Context, queue string, _ int) ([]store.QueueItem, error) {
	return nil, errQueue(queue)
}

func (s *Store) PendingPartition(_ context.Context, queue, _ string, _ int) ([]store.QueueItem, error) {
	return nil, errQueue(queue)
}

func (s *Store) Ack(_ context.Context, queue, _ string) error { return errQueue(queue) }

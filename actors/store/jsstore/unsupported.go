package jsstore

import (
	"context"
	"fmt"

	"openclaw/actors/store"
)

// The durable queue (Telegram ingress, issue 19) and cron are not kept in
// JetStream yet. Their calls fail, naming the part, so that nothing a
// caller hands over is dropped silently; `openclaw cluster import` leaves
// such state in the SQLite file and says so.

func unsupported(part string) error {
	return fmt.Errorf("jsstore: %s is not kept in JetStream yet: %w", part, store.ErrUnsupported)
}

func errQueue(queue string) error { return unsupported("the durable queue (" + queue + ")") }

var errCron = unsupported("cron (jobs and runs)")

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

func (s *Store) PutCronJob(context.Context, string, []byte) error { return errCron }

func (s *Store) DeleteCronJob(context.Context, string) (bool, error) { return false, errCron }

func (s *Store) CronJobs(context.Context) ([]store.CronJobRow, error) { return nil, errCron }

func (s *Store) ClaimCronSlot(context.Context, store.CronRun) (bool, error) { return false, errCron }

func (s *Store) FinishCronRun(context.Context, store.CronRun) error { return errCron }

func (s *Store) CloseInterruptedCronRuns(context.Context, string) (int, error) { return 0, errCron }

func (s *Store) CronRuns(context.Context, store.CronRunQuery) ([]store.CronRun, int, error) {
	return nil, 0, errCron
}

func (s *Store) CronRunStates(context.Context) (map[string]store.CronJobRunState, error) {
	return nil, errCron
}

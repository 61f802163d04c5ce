package store

import "context"

// Store is the durable state the actors use. *SQLite (Open) is the
// standalone gateway's; in cluster mode the same interface is backed by
// JetStream (actors/store/jsstore), so every actor runs unchanged on either.
// The groups below are the parts a consumer reads and writes.
type Store interface {
	Transcripts
	KVStore
	Queue
	Cron

	// Path says where the state is: the database file, or the cluster's
	// buckets for JetStream. Shown by status and sessions.list.
	Path() string
	// Close commits what is queued and releases the store.
	Close() error
}

// Transcripts are the sessions and their messages.
type Transcripts interface {
	Append(ctx context.Context, m Message) (Message, error)
	AppendAsync(m Message, done func(Message, error))
	History(ctx context.Context, sessionKey string, limit int) (msgs []Message, total int, err error)
	FirstMessages(ctx context.Context, key string, limit int) ([]Message, error)
	Usage(ctx context.Context, prefix string, since, until int64) ([]UsageRow, error)

	Session(ctx context.Context, key string) (info SessionInfo, ok bool, err error)
	SessionID(ctx context.Context, key string) (string, error)
	Sessions(ctx context.Context, limit int) ([]SessionInfo, error)
	RecentSessions(ctx context.Context, prefix string, limit int) ([]SessionInfo, error)
	CountSessions(ctx context.Context, prefix string) (int, error)
	ListSessions(ctx context.Context, q SessionQuery) ([]SessionInfo, int, error)

	PatchSession(ctx context.Context, key string, p SessionPatch) (SessionInfo, error)
	ResetSession(ctx context.Context, key string) (SessionInfo, error)
	DeleteSession(ctx context.Context, key string) (deleted bool, err error)
	CompactSession(ctx context.Context, key, sessionID string, throughSeq int64, summary Message) (SessionInfo, int, error)
	TrimSession(ctx context.Context, key string, keep int) (int, error)
}

// KVStore is the namespaced key-value state: paired devices and their
// tokens, the node registry, the gateway's identity, channel pairing, reply
// progress, runs in flight.
type KVStore interface {
	Put(ctx context.Context, ns, key string, value []byte) error
	Get(ctx context.Context, ns, key string) (value []byte, ok bool, err error)
	Delete(ctx context.Context, ns, key string) error
	PutAsync(ns, key string, value []byte, done func(error))
	DeleteAsync(ns, key string, done func(error))
	Scan(ctx context.Context, ns string) (map[string][]byte, error)
	PutMany(ctx context.Context, items []KV) error
}

// Queue is the durable ingress queue (Telegram updates).
type Queue interface {
	Enqueue(ctx context.Context, queue, partition, id string, payload []byte) (inserted bool, err error)
	EnqueueBatch(ctx context.Context, queue string, items []Item, mark *KV) (inserted []bool, err error)
	Pending(ctx context.Context, queue string, limit int) ([]QueueItem, error)
	PendingPartition(ctx context.Context, queue, partition string, limit int) ([]QueueItem, error)
	Ack(ctx context.Context, queue, id string) error
}

// Cron is the scheduled jobs and their runs.
type Cron interface {
	PutCronJob(ctx context.Context, id string, def []byte) error
	DeleteCronJob(ctx context.Context, id string) (deleted bool, err error)
	CronJobs(ctx context.Context) ([]CronJobRow, error)
	ClaimCronSlot(ctx context.Context, r CronRun) (claimed bool, err error)
	FinishCronRun(ctx context.Context, r CronRun) error
	CloseInterruptedCronRuns(ctx context.Context, reason string) (n int, err error)
	CronRuns(ctx context.Context, q CronRunQuery) ([]CronRun, int, error)
	CronRunStates(ctx context.Context) (map[string]CronJobRunState, error)
}

var _ Store = (*SQLite)(nil)

// Validate checks a message before it is stored: what Append refuses with
// ErrInvalid, for every implementation alike.
func Validate(m *Message) error { return validMessage(m) }

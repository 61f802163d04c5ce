// Package jsstore keeps a cluster's durable state in NATS JetStream behind
// store.Store, so every gateway of the cluster reads and writes the same
// sessions, transcripts and key-value state (issue 18 item 4).
//
// # Layout
//
// Six KV buckets per cluster, named after it (cluster "prod": prod_sessions
// and so on), each with the configured number of replicas:
//
//	<c>_sessions   one entry per session: its id, its first and last seq,
//	               usage, operator settings (key: the escaped session key)
//	<c>_messages   one entry per transcript message
//	               (key: <escaped session key>.<session id>.<seq>)
//	<c>_kv         the namespaced key-value state (key: <escaped ns>.<escaped key>)
//	<c>_locks      per-session turn locks, entries expire after the lock TTL
//	<c>_cron       cron jobs ("job.<id>") and runs ("run.<job>.<slot>")
//	<c>_queue      the durable queue, an entry per item ("<queue>.<id>")
//
// A session's messages are always the contiguous range FirstSeq..LastSeq
// (appends add at the end; trim and compaction remove from the start), so
// chat.history reads exactly the entries it returns, and the count is
// LastSeq-FirstSeq+1. A reset gives the session a new id, which makes the
// old messages unreachable at once; they are purged right after.
//
// # Consistency
//
// Every change of a session entry is a revision-checked update (a
// compare-and-set), so gateways appending to one session never lose each
// other's messages: an append first creates its message entry at
// LastSeq+1 (create-if-absent: a seq taken by another gateway, or left
// by a crash between the two writes, moves it to the next one), then
// folds it into the session entry.
//
// Reads of one entry see every write acknowledged before them, on any
// gateway: a replica may be a few milliseconds behind its leader, so the
// buckets other than the transcripts' do not let replicas answer gets
// (their streams' AllowDirect is off, turned off in place on buckets an
// earlier version created) and a get goes to the leader. Transcript pages
// are read from any replica and checked against the session entry, read
// from its leader: what a replica lacks is asked of the leader (page.go).
// Listings (ListSessions, RecentSessions, CountSessions) read a local
// copy of the sessions bucket kept by a watcher, and Scan and Usage read
// through a consumer, which may sit on a replica: this gateway's own
// session writes are in the copy at once, another gateway's writes within
// the delivery delay.
//
// # Not atomic here
//
// SQLite commits PutMany and EnqueueBatch as one transaction; here they are
// ordered writes (EnqueueBatch's marker strictly after its items), and a
// failure part way leaves the first ones written.
package jsstore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"openclaw/actors/store"
	"openclaw/transport/natsbus/lease"
)

// Config says which cluster's state to open.
type Config struct {
	// Cluster names the buckets ("<Cluster>_sessions" ...): letters,
	// digits, '-' and '_'.
	Cluster string
	// Replicas is how many copies JetStream keeps of each bucket it
	// creates (1..5; 0 means 1). Existing buckets are used as they are.
	Replicas int
	// Node names this gateway in the cluster (gateway.cluster.nodeName):
	// the cron runs it claims carry it, so that at start it closes only
	// its own interrupted runs.
	Node string
	// LockTTL is how long a session lock lives without a renewal
	// (DefaultLockTTL when zero), for a locks bucket this Open creates;
	// an existing bucket's TTL wins.
	LockTTL time.Duration
}

// DefaultLockTTL is a session lock's life without a renewal: the holder
// renews it every third of it (Lock.KeepAlive), so a gateway that dies
// releases its sessions within this time.
const DefaultLockTTL = 15 * time.Second

// opTimeout bounds one call to JetStream made without a caller's context
// (async writes, the watcher's start).
const opTimeout = 30 * time.Second

// clusterName is what a bucket name allows, less the '_' we add.
var clusterName = regexp.MustCompile(`^[A-Za-z0-9-]+$`)

// Store is store.Store on JetStream. It is safe for concurrent use.
type Store struct {
	cfg      Config
	js       jetstream.JetStream
	sessions jetstream.KeyValue
	messages jetstream.KeyValue
	kv       jetstream.KeyValue
	locks    jetstream.KeyValue
	cron     jetstream.KeyValue
	queue    jetstream.KeyValue

	stripes [64]sync.Mutex // serialises this process's changes of one session
	cache   *sessionCache
	async   *asyncQueue

	stopSweep, sweepDone chan struct{}
	closeOnce            sync.Once
}

var _ store.Store = (*Store)(nil)

// Bucket names of a cluster.
func bucketNames(cluster string) (sessions, messages, kv, locks, cron, queue string) {
	return cluster + "_sessions", cluster + "_messages", cluster + "_kv", cluster + "_locks", cluster + "_cron", cluster + "_queue"
}

// Open creates (or binds to) the cluster's buckets and loads the sessions
// listing. The connection stays the caller's: Close does not close it.
func Open(ctx context.Context, js jetstream.JetStream, cfg Config) (*Store, error) {
	if !clusterName.MatchString(cfg.Cluster) {
		return nil, fmt.Errorf("%w: cluster name %q: use letters, digits and '-'", store.ErrInvalid, cfg.Cluster)
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	if cfg.LockTTL <= 0 {
		cfg.LockTTL = DefaultLockTTL
	}
	s := &Store{cfg: cfg, js: js}
	sn, mn, kn, ln, cn, qn := bucketNames(cfg.Cluster)
	for _, b := range []struct {
		kv   *jetstream.KeyValue
		name string
		ttl  time.Duration
		what string
		// direct: gets may be served by any replica (see Consistency).
		direct bool
	}{
		{&s.sessions, sn, 0, "sessions", false},
		{&s.messages, mn, 0, "transcripts", true},
		{&s.kv, kn, 0, "key-value state", false},
		{&s.locks, ln, cfg.LockTTL, "session locks", false},
		{&s.cron, cn, 0, "cron jobs and runs", false},
		{&s.queue, qn, 0, "durable queue", false},
	} {
		kv, err := bucket(ctx, js, jetstream.KeyValueConfig{
			Bucket:      b.name,
			Description: "openclaw " + b.what + " of cluster " + cfg.Cluster,
			History:     1,
			TTL:         b.ttl,
			Replicas:    cfg.Replicas,
			Storage:     jetstream.FileStorage,
		}, b.direct)
		if err != nil {
			return nil, fmt.Errorf("jsstore: bucket %s: %w", b.name, err)
		}
		*b.kv = boundedKV{kv}
	}
	// The locks' life is the bucket's, whoever created it.
	st, err := s.locks.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("jsstore: bucket %s: %w", ln, err)
	}
	if ttl := st.TTL(); ttl > 0 {
		s.cfg.LockTTL = ttl
	}
	if s.cache, err = watchSessions(ctx, s.sessions); err != nil {
		return nil, fmt.Errorf("jsstore: watch %s: %w", sn, err)
	}
	s.async = newAsyncQueue()
	s.stopSweep, s.sweepDone = make(chan struct{}), make(chan struct{})
	go s.sweep(store.PruneEvery, s.stopSweep, s.sweepDone)
	return s, nil
}

// bucket binds to a bucket as it is, or creates it with cfg: a gateway or
// an import with another replicas setting never reconfigures the
// cluster's buckets (change them with the nats CLI). The one setting it
// does change in place is whether any replica may answer a get (the
// stream's AllowDirect): a bucket created by an earlier version answers
// from any replica, and its gets must go to the leader now.
func bucket(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig, direct bool) (jetstream.KeyValue, error) {
	var kv jetstream.KeyValue
	var err error
	for range 3 { // created meanwhile by a peer: bind again
		if kv, err = js.KeyValue(ctx, cfg.Bucket); !errors.Is(err, jetstream.ErrBucketNotFound) {
			break
		}
		// Created with its final AllowDirect: an update right after the
		// create waits for the new replicated stream's leader, which on a
		// busy machine took longer than the request's timeout, bucket after
		// bucket (a cluster's start took 30 s and more, issue 18).
		if _, err = js.CreateStream(ctx, kvStream(cfg, direct)); err == nil {
			return js.KeyValue(ctx, cfg.Bucket)
		}
		if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	st, err := js.Stream(ctx, "KV_"+cfg.Bucket)
	if err != nil {
		return nil, err
	}
	sc := st.CachedInfo().Config
	if sc.AllowDirect == direct {
		return kv, nil
	}
	sc.AllowDirect = direct
	if _, err := js.UpdateStream(ctx, sc); err != nil {
		return nil, fmt.Errorf("allow_direct %v: %w", direct, err)
	}
	// Bind again: a KeyValue reads the setting when it binds.
	return js.KeyValue(ctx, cfg.Bucket)
}

// kvStream is the stream of a KV bucket as nats.go's CreateKeyValue makes
// it (v1.55, for the settings used here: history, TTL, replicas, storage),
// but for AllowDirect, which CreateKeyValue always turns on.
func kvStream(cfg jetstream.KeyValueConfig, direct bool) jetstream.StreamConfig {
	history := int64(max(cfg.History, 1))
	dups := 2 * time.Minute // the server's default, capped by the TTL
	if cfg.TTL > 0 && cfg.TTL < dups {
		dups = cfg.TTL
	}
	return jetstream.StreamConfig{
		Name:              "KV_" + cfg.Bucket,
		Description:       cfg.Description,
		Subjects:          []string{"$KV." + cfg.Bucket + ".>"},
		MaxMsgsPerSubject: history,
		MaxBytes:          -1,
		MaxAge:            cfg.TTL,
		MaxMsgSize:        -1,
		MaxMsgs:           -1,
		MaxConsumers:      -1,
		Storage:           cfg.Storage,
		Replicas:          max(cfg.Replicas, 1),
		AllowRollup:       true,
		DenyDelete:        true,
		Duplicates:        dups,
		AllowDirect:       direct,
		Discard:           jetstream.DiscardNew,
	}
}

// Path names where the state is, for status and sessions.list.
func (s *Store) Path() string {
	return "jetstream:" + s.cfg.Cluster
}

// Close stops the sweep, runs the queued asynchronous writes and stops the
// watcher; the connection stays open.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stopSweep)
		<-s.sweepDone
		s.async.close()
		s.cache.stop()
	})
	return nil
}

// stripe is the local mutex of one session key.
func (s *Store) stripe(key string) *sync.Mutex {
	var h uint32 = 2166136261 // FNV-1a
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return &s.stripes[h%uint32(len(s.stripes))]
}

// isConflict reports a failed create-if-absent or revision-checked update
// (the lease package's test: the session locks are leases).
func isConflict(err error) bool { return lease.Conflict(err) }

// notFound reports a missing (or deleted) entry.
func notFound(err error) bool { return errors.Is(err, jetstream.ErrKeyNotFound) }

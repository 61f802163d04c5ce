// Package store is the gateway's durable state: one embedded SQLite database
// (<stateDir>/state/openclaw.sqlite, WAL mode, pure-Go driver
// modernc.org/sqlite) holding session transcripts, small key-value state
// (polling offsets and the like) and a durable ingress queue.
//
// # Writes: one owner, group commit
//
// Every write is a small operation handed to a single writer goroutine that
// owns the only read-write connection. The writer takes everything that is
// queued, applies it in one transaction, commits (one WAL fsync) and only then
// acknowledges each operation: a blocking call returns, an async callback
// runs. An operation that arrives while a batch is being committed rides in the
// next batch, so no caller waits behind more than one other fsync, and an
// acknowledged write is on stable storage.
//
// # Durability: synchronous=FULL
//
// In WAL mode synchronous=NORMAL skips the fsync of the WAL at commit (it
// syncs only at checkpoints): a committed transaction survives a process
// crash but may be rolled back by a power loss or kernel panic. Acknowledged
// must mean durable across power loss, so the writer runs with
// synchronous=FULL, which fsyncs the WAL at every commit. Group commit is what
// makes that affordable: one fsync per batch, not per write.
//
// # Reads
//
// Reads go to a separate pool of query-only connections. WAL lets them run
// concurrently with the writer, and each sees every transaction committed
// before it started, so a read issued after a write was acknowledged sees it.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// ErrClosed is returned by every operation on a closed Store.
var ErrClosed = errors.New("store: closed")

// DefaultPath is where the gateway keeps its database under a state dir.
func DefaultPath(stateDir string) string {
	return filepath.Join(stateDir, "state", "openclaw.sqlite")
}

// Store is the durable state store. It is safe for concurrent use.
type Store struct {
	path string
	wdb  *sql.DB // exactly one connection, owned by the writer goroutine
	rdb  *sql.DB // query-only pool for reads
	w    *writer

	mu      sync.Mutex
	pending []*op // queued writes, taken all at once by the writer
	closed  bool
	wake    chan struct{} // cap 1: "pending is non-empty or closed"

	writerDone chan struct{}
	stopSweep  chan struct{}
	sweepDone  chan struct{}
	closeOnce  sync.Once
	closeErr   error

	stats counters
	reads readStmts
}

// Stats are the writer's counters since Open.
type Stats struct {
	Commits  int64 // transactions committed (about one WAL fsync each)
	Ops      int64 // write operations acknowledged (successfully or not)
	MaxBatch int64 // largest number of operations committed together
	Fallback int64 // batches that failed and were retried one operation at a time
}

type counters struct {
	commits, ops, maxBatch, fallback atomic.Int64
}

// Stats returns the writer's counters.
func (s *Store) Stats() Stats {
	return Stats{
		Commits:  s.stats.commits.Load(),
		Ops:      s.stats.ops.Load(),
		MaxBatch: s.stats.maxBatch.Load(),
		Fallback: s.stats.fallback.Load(),
	}
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// options are the commit observer (OpenObserved) and test hooks; the zero
// value is production behaviour without metrics.
type options struct {
	// commits observes each group commit's latency, in seconds.
	commits Observer
	// beforeBatch runs in the writer goroutine before it takes a batch.
	beforeBatch func()
	// sweepEvery replaces PruneEvery, retention DefaultRetention.
	sweepEvery time.Duration
	retention  time.Duration
}

// checkTimeout bounds the integrity check at open: a few milliseconds for a
// gateway's database, but a very large one must not hold a start for long.
// Past it the check is given up (the database is used unchecked).
const checkTimeout = 10 * time.Second

// ErrCorrupt is returned by Open for a database that fails its integrity
// check.
var ErrCorrupt = errors.New("store: the state database is damaged")

// quickCheck runs PRAGMA quick_check: a damaged file is refused at start,
// with what to do, instead of every later write failing with "database
// disk image is malformed".
func quickCheck(ctx context.Context, conn *sql.Conn, path string) error {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	rows, err := conn.QueryContext(ctx, "PRAGMA quick_check(5)")
	if err != nil {
		if ctx.Err() != nil {
			return nil // too slow to check here; used as it is
		}
		return fmt.Errorf("%w: %s: %v (move it aside to start with an empty state, or recover it with: sqlite3 %s .recover)",
			ErrCorrupt, path, err, path)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
		}
		if line != "ok" {
			problems = append(problems, strings.Join(strings.Fields(line), " "))
		}
	}
	if err := rows.Err(); err != nil && ctx.Err() == nil {
		problems = append(problems, err.Error())
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s fails its integrity check (%s): move it aside to start with an empty state, or recover it with: sqlite3 %s .recover",
		ErrCorrupt, path, strings.Join(problems, "; "), path)
}

// readIdle is how long an idle read connection is kept.
const readIdle = time.Minute

// PruneEvery is how often acknowledged queue items older than
// DefaultRetention are deleted: without it a busy channel's queue table
// grows for ever.
const PruneEvery = time.Hour

// Open opens (creating if needed) the database at path: the parent directory
// is created 0700, the file 0600, the schema is migrated to the current
// version, and the writer goroutine is started.
func Open(path string) (*Store, error) { return open(path, options{}) }

// Observer takes one latency, in seconds (a Prometheus histogram is one).
type Observer interface{ Observe(seconds float64) }

// OpenObserved is Open, with every group commit's latency (BEGIN to COMMIT,
// all the writes queued with it) given to commits.
func OpenObserved(path string, commits Observer) (*Store, error) {
	return open(path, options{commits: commits})
}

func open(path string, o options) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := prepareFile(abs); err != nil {
		return nil, err
	}
	s := &Store{
		path:       abs,
		wake:       make(chan struct{}, 1),
		writerDone: make(chan struct{}),
		stopSweep:  make(chan struct{}),
		sweepDone:  make(chan struct{}),
	}

	// The writer: a pool of exactly one connection, held for the Store's life.
	s.wdb, err = sql.Open("sqlite", dsn(abs,
		"_pragma=busy_timeout(10000)",
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(FULL)",
		"_pragma=journal_size_limit(67108864)",
		"_pragma=foreign_keys(1)",
	))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	ctx := context.Background()
	conn, err := s.wdb.Conn(ctx)
	if err != nil {
		s.wdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		conn.Close()
		s.wdb.Close()
		if err == nil {
			err = fmt.Errorf("journal_mode is %q, want wal", mode)
		}
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	if err := quickCheck(ctx, conn, abs); err != nil {
		conn.Close()
		s.wdb.Close()
		return nil, err
	}
	if err := migrate(ctx, conn); err != nil {
		conn.Close()
		s.wdb.Close()
		return nil, fmt.Errorf("store: migrate %s: %w", abs, err)
	}
	s.w, err = newWriter(s, conn)
	if err != nil {
		conn.Close()
		s.wdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	s.w.commits = o.commits

	// Readers: query-only, so nothing but the writer can ever write.
	s.rdb, err = sql.Open("sqlite", dsn(abs,
		"_pragma=busy_timeout(10000)",
		"_query_only=1",
	))
	if err == nil {
		// Up to GOMAXPROCS concurrent readers under load, but only one kept
		// when idle, and not for ever: every SQLite connection carries its
		// own page cache and heap, which an idle gateway should not hold.
		n := max(4, runtime.GOMAXPROCS(0))
		s.rdb.SetMaxOpenConns(n)
		s.rdb.SetMaxIdleConns(1)
		s.rdb.SetConnMaxIdleTime(readIdle)
		err = s.reads.prepare(ctx, s.rdb)
	}
	if err != nil {
		s.w.close()
		s.wdb.Close()
		if s.rdb != nil {
			s.rdb.Close()
		}
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}

	go s.w.run(o.beforeBatch)
	every := o.sweepEvery
	if every <= 0 {
		every = PruneEvery
	}
	retention := o.retention
	if retention == 0 {
		retention = DefaultRetention
	}
	go s.sweep(every, retention)
	return s, nil
}

// prepareFile creates the parent directory (0700) and the database file
// (0600) before SQLite opens it; SQLite gives the -wal and -shm files the
// database file's permissions. New directory entries are fsynced, so a
// database created just before a power loss is still found after it.
func prepareFile(path string) error {
	wrap := func(err error) error { return fmt.Errorf("store: %w", err) }
	dir := filepath.Dir(path)
	// The directories MkdirAll is about to create, deepest first.
	var created []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, os.ErrNotExist) {
			return wrap(err)
		}
		created = append(created, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if len(created) > 0 {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return wrap(err)
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			return wrap(err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	newFile := err == nil
	if errors.Is(err, os.ErrExist) {
		f, err = os.OpenFile(path, os.O_RDWR, 0)
	}
	if err != nil {
		return wrap(err)
	}
	fi, err := f.Stat()
	if err == nil && fi.Mode().Perm()&0o077 != 0 {
		err = f.Chmod(0o600) // never leave transcripts group/world readable
	}
	if newFile && err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return wrap(err)
	}
	if newFile {
		created = append([]string{path}, created...)
	}
	for _, c := range created {
		if err := syncDir(filepath.Dir(c)); err != nil {
			return wrap(err)
		}
	}
	return nil
}

// syncDir fsyncs a directory, making the entries created in it durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be fsynced there; NTFS journals metadata
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// dsn builds a file: URI, so that a path with '?', '#' or '%' in it survives.
func dsn(abs string, params ...string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	q := ""
	for i, p := range params {
		if i > 0 {
			q += "&"
		}
		q += p
	}
	u.RawQuery = q
	return u.String()
}

// Close stops accepting writes, commits everything already queued (pending
// async appends included), stops the writer and closes the database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stopSweep)
		<-s.sweepDone
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.signal()
		<-s.writerDone
		s.closeErr = errors.Join(s.reads.close(), s.rdb.Close(), s.w.close(), s.wdb.Close())
	})
	return s.closeErr
}

func (s *Store) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// submit queues o for the writer.
func (s *Store) submit(o *op) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.pending = append(s.pending, o)
	s.mu.Unlock()
	s.signal()
	return nil
}

// doAll submits ops as one contiguous run (no other producer's op lands
// between them, so the writer applies them in this order) and waits for all
// of them. On a ctx error the writer may still own some ops; none is
// recycled then.
func (s *Store) doAll(ctx context.Context, ops []*op) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	for _, o := range ops {
		o.ctx = ctx
	}
	s.pending = append(s.pending, ops...)
	s.mu.Unlock()
	s.signal()
	for _, o := range ops {
		select {
		case <-o.ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// takeAll blocks until there is queued work and returns all of it, handing
// spare (emptied) back as the next queue. It returns nil once the store is
// closed and the queue is drained.
func (s *Store) takeAll(spare []*op) []*op {
	for {
		s.mu.Lock()
		if len(s.pending) > 0 {
			b := s.pending
			s.pending = spare[:0]
			s.mu.Unlock()
			return b
		}
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return nil
		}
		<-s.wake
	}
}

// do submits a blocking operation and waits for its acknowledgement. If ctx
// ends first, do returns ctx.Err() and the write may or may not be committed;
// an operation whose ctx has ended before its batch starts is not applied.
func (s *Store) do(ctx context.Context, o *op) error {
	if err := ctx.Err(); err != nil {
		putOp(o)
		return err
	}
	o.ctx = ctx
	if err := s.submit(o); err != nil {
		putOp(o)
		return err
	}
	select {
	case <-o.ch:
		return nil
	case <-ctx.Done():
		select {
		case <-o.ch: // acknowledged after all: report it
			return nil
		default:
		}
		// The writer still owns o; it is dropped, not recycled.
		return ctx.Err()
	}
}

// sweep prunes acknowledged queue items every interval until Close.
func (s *Store) sweep(every, retention time.Duration) {
	defer close(s.sweepDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stopSweep:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), every)
			_, _ = s.Prune(ctx, retention)
			cancel()
		}
	}
}

package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"
	"time"
)

type opKind uint8

const (
	opAppend opKind = iota + 1
	opSessionID
	opPut
	opDelete
	opEnqueue
	opAck
	opPrune
	opFunc
)

// op is one queued write. Fields a, b, c and val are the arguments:
//
//	opAppend:    msg
//	opSessionID: a=session key
//	opPut:       a=ns, b=key, val=value
//	opDelete:    a=ns, b=key
//	opEnqueue:   a=queue, b=partition, c=id, val=payload
//	opAck:       a=queue, c=id
//	opPrune:     n=cutoff (ms)
//	opFunc:      fn, run in the batch's transaction
type op struct {
	kind    opKind
	ctx     context.Context // nil for async ops
	msg     Message
	a, b, c string
	val     []byte
	n       int64
	fn      func(w *writer) error

	// results
	sid      string
	inserted bool
	err      error

	done    func(Message, error) // async append: called by the writer after commit
	doneErr func(error)          // other async ops: called by the writer after commit
	ch      chan struct{}        // blocking op: signalled after commit
}

var opPool = sync.Pool{New: func() any { return &op{ch: make(chan struct{}, 1)} }}

func getOp(k opKind) *op {
	o := opPool.Get().(*op)
	o.kind = k
	return o
}

func putOp(o *op) {
	ch := o.ch
	*o = op{ch: ch}
	opPool.Put(o)
}

// sessState is the writer's cached view of a sessions row: the columns an
// append changes.
type sessState struct {
	key, id                   string
	lastSeq, count, updatedAt int64
	inTok, outTok, lastTotal  int64
	dirty                     bool
}

// maxCachedSessions bounds the writer's session cache; past it the cache is
// dropped at the start of the next batch and refilled from the table.
const maxCachedSessions = 4096

// writer owns the read-write connection. Only its goroutine touches it after
// Open returns.
type writer struct {
	s    *Store
	conn *sql.Conn
	ctx  context.Context

	begin, commit, rollback, dataVersion       *sql.Stmt
	selSession, insSession, updSession, insMsg *sql.Stmt
	putKV, delKV, enqueue, ack, prune          *sql.Stmt
	stmts                                      []*sql.Stmt

	sessions map[string]*sessState
	dirty    []*sessState
	dataVer  int64
	now      int64    // ms, fixed per batch
	commits  Observer // nil: commit latency is not observed
}

func newWriter(s *Store, conn *sql.Conn) (*writer, error) {
	w := &writer{s: s, conn: conn, ctx: context.Background(), sessions: map[string]*sessState{}}
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{
		{&w.begin, "BEGIN IMMEDIATE"},
		{&w.commit, "COMMIT"},
		{&w.rollback, "ROLLBACK"},
		{&w.dataVersion, "PRAGMA data_version"},
		{&w.selSession, `SELECT session_id, last_seq, message_count, updated_at, input_tokens, output_tokens, last_total_tokens
			FROM sessions WHERE key = ?`},
		{&w.insSession, "INSERT INTO sessions (key, session_id, created_at, updated_at) VALUES (?, ?, ?, ?)"},
		{&w.updSession, `UPDATE sessions SET last_seq = ?, message_count = ?, updated_at = ?, input_tokens = ?, output_tokens = ?,
			last_total_tokens = ? WHERE key = ?`},
		{&w.insMsg, `INSERT INTO messages (session_key, seq, role, content, ts, run_id, provider, model, stop_reason, usage, extra)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&w.putKV, `INSERT INTO kv (ns, key, value, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`},
		{&w.delKV, "DELETE FROM kv WHERE ns = ? AND key = ?"},
		{&w.enqueue, `INSERT INTO queue_items (queue, part, item_id, payload, enqueued_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (queue, item_id) DO NOTHING`},
		{&w.ack, "UPDATE queue_items SET acked_at = ?, payload = X'' WHERE queue = ? AND item_id = ? AND acked_at IS NULL"},
		{&w.prune, "DELETE FROM queue_items WHERE acked_at IS NOT NULL AND acked_at < ?"},
	} {
		st, err := conn.PrepareContext(w.ctx, p.q)
		if err != nil {
			w.close()
			return nil, err
		}
		*p.dst = st
		w.stmts = append(w.stmts, st)
	}
	if err := w.dataVersion.QueryRowContext(w.ctx).Scan(&w.dataVer); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func (w *writer) close() error {
	var errs []error
	for _, st := range w.stmts {
		errs = append(errs, st.Close())
	}
	w.stmts = nil
	errs = append(errs, w.conn.Close())
	return errors.Join(errs...)
}

// run is the writer goroutine: take everything queued, commit it as one
// transaction, acknowledge, repeat. It returns once the store is closed and
// the queue drained.
func (w *writer) run(beforeBatch func()) {
	defer close(w.s.writerDone)
	// Refresh the query planner's statistics where they drifted, as SQLite
	// recommends before closing a long-lived connection.
	defer w.conn.ExecContext(w.ctx, "PRAGMA optimize")
	var spare []*op
	for {
		if beforeBatch != nil {
			beforeBatch()
		}
		batch := w.s.takeAll(spare)
		if batch == nil {
			return
		}
		w.runBatch(batch)
		clear(batch)
		spare = batch
	}
}

func (w *writer) runBatch(batch []*op) {
	// An op whose caller has already given up is not applied.
	n := 0
	for _, o := range batch {
		if o.ctx != nil && o.ctx.Err() != nil {
			o.err = o.ctx.Err()
			w.s.stats.ops.Add(1)
			w.finish(o)
			continue
		}
		batch[n] = o
		n++
	}
	batch = batch[:n]
	if len(w.sessions) > maxCachedSessions {
		w.reset()
	}
	for len(batch) > 0 {
		start := time.Now()
		w.now = start.UnixMilli()
		bad, err := w.tryBatch(batch)
		if err == nil {
			if w.commits != nil {
				w.commits.Observe(time.Since(start).Seconds())
			}
			break
		}
		w.reset()
		if bad < 0 {
			// Not attributable to one op (BEGIN, COMMIT, I/O): all fail.
			for _, o := range batch {
				o.err = err
			}
			w.s.stats.ops.Add(int64(len(batch)))
			for _, o := range batch {
				w.finish(o)
			}
			return
		}
		// One op failed: it fails alone, the rest are retried together.
		w.s.stats.fallback.Add(1)
		o := batch[bad]
		o.err = err
		w.s.stats.ops.Add(1)
		w.finish(o)
		batch = append(batch[:bad:bad], batch[bad+1:]...)
	}
	if len(batch) == 0 {
		return
	}
	w.s.stats.commits.Add(1)
	w.s.stats.ops.Add(int64(len(batch)))
	if m := int64(len(batch)); m > w.s.stats.maxBatch.Load() {
		w.s.stats.maxBatch.Store(m)
	}
	for _, o := range batch {
		w.finish(o)
	}
}

// tryBatch applies batch in one transaction and commits it. On failure the
// transaction is rolled back and bad is the index of the op that failed, or
// -1 if the failure was not one op's.
func (w *writer) tryBatch(batch []*op) (bad int, err error) {
	if _, err := w.begin.ExecContext(w.ctx); err != nil {
		return -1, err
	}
	var v int64
	if err := w.dataVersion.QueryRowContext(w.ctx).Scan(&v); err != nil {
		w.rollback.ExecContext(w.ctx)
		return -1, err
	}
	if v != w.dataVer {
		// Another connection (another process) committed: the cache may be stale.
		w.reset()
		w.dataVer = v
	}
	for i, o := range batch {
		if err := w.apply(o); err != nil {
			w.rollback.ExecContext(w.ctx)
			return i, err
		}
	}
	if err := w.flush(); err != nil {
		w.rollback.ExecContext(w.ctx)
		return -1, err
	}
	if _, err := w.commit.ExecContext(w.ctx); err != nil {
		// A failed COMMIT may leave the transaction open (SQLITE_BUSY) or
		// already rolled back (I/O error); make sure it is gone.
		w.rollback.ExecContext(w.ctx)
		return -1, err
	}
	return -1, nil
}

// flush writes the cached sessions rows that appends changed.
func (w *writer) flush() error {
	for _, st := range w.dirty {
		if _, err := w.updSession.ExecContext(w.ctx, st.lastSeq, st.count, st.updatedAt, st.inTok, st.outTok,
			st.lastTotal, st.key); err != nil {
			return err
		}
		st.dirty = false
	}
	w.dirty = w.dirty[:0]
	return nil
}

// forget drops one session from the cache (after an op rewrote its row).
// The row must have been flushed first.
func (w *writer) forget(key string) { delete(w.sessions, key) }

// reset drops the session cache (after a rollback or a foreign commit).
func (w *writer) reset() {
	clear(w.sessions)
	clear(w.dirty)
	w.dirty = w.dirty[:0]
}

// finish acknowledges o: an async append's callback runs here, in the writer
// goroutine; a blocking caller is woken.
func (w *writer) finish(o *op) {
	if o.done != nil {
		cb, m, err := o.done, o.msg, o.err
		putOp(o)
		cb(m, err)
		return
	}
	if o.doneErr != nil {
		cb, err := o.doneErr, o.err
		putOp(o)
		cb(err)
		return
	}
	if o.ctx == nil { // async op without callback
		putOp(o)
		return
	}
	o.ch <- struct{}{}
}

func (w *writer) apply(o *op) error {
	switch o.kind {
	case opAppend:
		m := &o.msg
		st, err := w.session(m.SessionKey)
		if err != nil {
			return err
		}
		m.Seq = st.lastSeq + 1
		if m.Timestamp == 0 {
			m.Timestamp = w.now
		}
		if _, err := w.insMsg.ExecContext(w.ctx, m.SessionKey, m.Seq, m.Role, string(m.Content), m.Timestamp,
			m.RunID, m.Provider, m.Model, m.StopReason, jsonText(m.Usage), jsonText(m.Extra)); err != nil {
			return err
		}
		st.lastSeq = m.Seq
		st.count++
		st.updatedAt = w.now
		if u, ok := parseUsage(m.Usage); ok {
			st.inTok += u.Input
			st.outTok += u.Output
			st.lastTotal = u.Total
		}
		if !st.dirty {
			st.dirty = true
			w.dirty = append(w.dirty, st)
		}
		return nil
	case opSessionID:
		st, err := w.session(o.a)
		if err != nil {
			return err
		}
		o.sid = st.id
		return nil
	case opPut:
		_, err := w.putKV.ExecContext(w.ctx, o.a, o.b, o.val, w.now)
		return err
	case opDelete:
		_, err := w.delKV.ExecContext(w.ctx, o.a, o.b)
		return err
	case opEnqueue:
		res, err := w.enqueue.ExecContext(w.ctx, o.a, o.b, o.c, o.val, w.now)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		o.inserted = n == 1
		return err
	case opAck:
		_, err := w.ack.ExecContext(w.ctx, w.now, o.a, o.c)
		return err
	case opFunc:
		// A function may read and rewrite sessions rows: it sees them as
		// the appends before it in this batch left them.
		if err := w.flush(); err != nil {
			return err
		}
		return o.fn(w)
	case opPrune:
		res, err := w.prune.ExecContext(w.ctx, o.n)
		if err != nil {
			return err
		}
		o.n, err = res.RowsAffected()
		return err
	}
	return errors.New("store: unknown op")
}

// session returns the cached sessions row for key, loading it or creating it
// (inside the current transaction) if needed.
func (w *writer) session(key string) (*sessState, error) {
	if st, ok := w.sessions[key]; ok {
		return st, nil
	}
	st := &sessState{key: key}
	err := w.selSession.QueryRowContext(w.ctx, key).Scan(&st.id, &st.lastSeq, &st.count, &st.updatedAt, &st.inTok,
		&st.outTok, &st.lastTotal)
	if errors.Is(err, sql.ErrNoRows) {
		st.id = newUUID()
		st.updatedAt = w.now
		_, err = w.insSession.ExecContext(w.ctx, key, st.id, w.now, w.now)
	}
	if err != nil {
		return nil, err
	}
	w.sessions[key] = st
	return st, nil
}

// usage is the token usage a message records ({"input","output","total"}).
type usage struct {
	Input  int64 `json:"input"`
	Output int64 `json:"output"`
	Total  int64 `json:"total"`
}

func parseUsage(raw []byte) (usage, bool) {
	var u usage
	if len(raw) == 0 || json.Unmarshal(raw, &u) != nil {
		return usage{}, false
	}
	if u.Total == 0 {
		u.Total = u.Input + u.Output
	}
	return u, true
}

// jsonText binds optional JSON as TEXT, absent as NULL.
func jsonText(r []byte) any {
	if len(r) == 0 {
		return nil
	}
	return string(r)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

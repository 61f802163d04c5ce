package store

import (
	"context"
	"database/sql"
	"errors"
)

// readStmts are prepared on the query-only pool (database/sql prepares each
// lazily on every connection that runs it).
type readStmts struct {
	history, session, sessionID, countSessions, recent, get, scan, pending, pendingPart *sql.Stmt
	all                                                                                 []*sql.Stmt
}

func (r *readStmts) prepare(ctx context.Context, db *sql.DB) error {
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{
		// One statement, so one snapshot: the count always matches the rows.
		{&r.history, `SELECT seq, role, content, ts, run_id, provider, model, stop_reason, usage, extra,
				(SELECT message_count FROM sessions WHERE key = ?1)
			FROM messages WHERE session_key = ?1 ORDER BY seq DESC LIMIT ?2`},
		{&r.countSessions, `SELECT COUNT(*) FROM sessions WHERE key >= ?1 AND (?2 = '' OR key < ?2)`},
		{&r.recent, `SELECT ` + sessionColumns + ` FROM sessions
			WHERE key >= ?1 AND (?2 = '' OR key < ?2) ORDER BY updated_at DESC, key LIMIT ?3`},
		{&r.session, `SELECT ` + sessionColumns + ` FROM sessions WHERE key = ?`},
		{&r.sessionID, `SELECT session_id FROM sessions WHERE key = ?`},
		{&r.get, `SELECT value FROM kv WHERE ns = ? AND key = ?`},
		{&r.scan, `SELECT key, value FROM kv WHERE ns = ? ORDER BY key`},
		{&r.pending, `SELECT id, part, item_id, payload, enqueued_at FROM queue_items
			WHERE queue = ? AND acked_at IS NULL ORDER BY id LIMIT ?`},
		{&r.pendingPart, `SELECT id, part, item_id, payload, enqueued_at FROM queue_items
			WHERE queue = ? AND part = ? AND acked_at IS NULL ORDER BY id LIMIT ?`},
	} {
		st, err := db.PrepareContext(ctx, p.q)
		if err != nil {
			r.close()
			return err
		}
		*p.dst = st
		r.all = append(r.all, st)
	}
	return nil
}

func (r *readStmts) close() error {
	var errs []error
	for _, st := range r.all {
		errs = append(errs, st.Close())
	}
	r.all = nil
	return errors.Join(errs...)
}

// readable reports ErrClosed once Close has begun.
func (s *SQLite) readable() error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	return nil
}

// sqlLimit maps "no limit" (<= 0) to SQLite's LIMIT -1.
func sqlLimit(limit int) int {
	if limit <= 0 {
		return -1
	}
	return limit
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Session changes that rewrite a session's row or transcript. Each runs in
// the writer's transaction (so it sees the appends queued before it and the
// writer's cache stays right), is durable when the call returns, and creates
// the session when it does not exist where that makes sense (patch, reset).

// ErrNoSession is returned by changes that need an existing session.
var ErrNoSession = errors.New("store: no such session")

// ErrSessionChanged is returned by CompactSession when the session was
// reset (its id changed) since the caller read it.
var ErrSessionChanged = errors.New("store: the session changed")

// SessionPatch is what PatchSession changes: a nil field is left alone, a
// pointer to "" clears it.
type SessionPatch struct {
	Label, ModelOverride, ThinkingLevel *string
}

// fn runs f in the writer's next batch and waits until it is committed.
func (s *SQLite) fn(ctx context.Context, f func(w *writer) error) error {
	o := getOp(opFunc)
	o.fn = f
	if err := s.do(ctx, o); err != nil {
		return err
	}
	err := o.err
	putOp(o)
	return err
}

// readSession reads one sessions row inside the writer's transaction.
func (w *writer) readSession(key string) (SessionInfo, bool, error) {
	si, err := scanSession(w.conn.QueryRowContext(w.ctx, `SELECT `+sessionColumns+` FROM sessions WHERE key = ?`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return SessionInfo{}, false, nil
	}
	return si, err == nil, err
}

// PatchSession sets a session's label, model override or thinking level,
// creating the session if needed, and returns the row as it now is.
func (s *SQLite) PatchSession(ctx context.Context, key string, p SessionPatch) (SessionInfo, error) {
	if key == "" {
		return SessionInfo{}, fmt.Errorf("%w: empty session key", ErrInvalid)
	}
	var out SessionInfo
	err := s.fn(ctx, func(w *writer) error {
		if _, err := w.session(key); err != nil { // creates it
			return err
		}
		if err := w.flush(); err != nil {
			return err
		}
		w.forget(key)
		set, args := []string{"updated_at = ?"}, []any{w.now}
		for _, f := range []struct {
			col string
			v   *string
		}{{"label", p.Label}, {"model_override", p.ModelOverride}, {"thinking_level", p.ThinkingLevel}} {
			if f.v != nil {
				set, args = append(set, f.col+" = ?"), append(args, *f.v)
			}
		}
		if _, err := w.conn.ExecContext(w.ctx, "UPDATE sessions SET "+strings.Join(set, ", ")+" WHERE key = ?",
			append(args, key)...); err != nil {
			return err
		}
		si, _, err := w.readSession(key)
		out = si
		return err
	})
	return out, err
}

// ResetSession starts a session over: its transcript is deleted, it gets a
// new id and its usage restarts from zero; what an operator set (label,
// overrides) stays. A missing session is created. It returns the new row.
func (s *SQLite) ResetSession(ctx context.Context, key string) (SessionInfo, error) {
	if key == "" {
		return SessionInfo{}, fmt.Errorf("%w: empty session key", ErrInvalid)
	}
	var out SessionInfo
	err := s.fn(ctx, func(w *writer) error {
		if _, err := w.session(key); err != nil {
			return err
		}
		if err := w.flush(); err != nil {
			return err
		}
		w.forget(key)
		if _, err := w.conn.ExecContext(w.ctx, "DELETE FROM messages WHERE session_key = ?", key); err != nil {
			return err
		}
		if _, err := w.conn.ExecContext(w.ctx, `UPDATE sessions SET session_id = ?, created_at = ?, updated_at = ?, last_seq = 0,
			message_count = 0, input_tokens = 0, output_tokens = 0, last_total_tokens = 0, compactions = 0 WHERE key = ?`,
			newUUID(), w.now, w.now, key); err != nil {
			return err
		}
		si, _, err := w.readSession(key)
		out = si
		return err
	})
	return out, err
}

// DeleteSession deletes a session and its transcript; deleted is false when
// there was none.
func (s *SQLite) DeleteSession(ctx context.Context, key string) (deleted bool, err error) {
	err = s.fn(ctx, func(w *writer) error {
		w.forget(key)
		if _, err := w.conn.ExecContext(w.ctx, "DELETE FROM messages WHERE session_key = ?", key); err != nil {
			return err
		}
		res, err := w.conn.ExecContext(w.ctx, "DELETE FROM sessions WHERE key = ?", key)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		deleted = n > 0
		return err
	})
	return deleted, err
}

// CompactSession replaces a session's messages up to throughSeq with one
// summary message (which takes seq throughSeq, so the order holds); the
// messages after it stay. sessionID must still be the session's id (a reset
// in between gives ErrSessionChanged). It returns the row as it now is and
// how many messages the summary replaced.
func (s *SQLite) CompactSession(ctx context.Context, key, sessionID string, throughSeq int64, summary Message) (SessionInfo, int, error) {
	summary.SessionKey = key
	if err := validMessage(&summary); err != nil {
		return SessionInfo{}, 0, err
	}
	var out SessionInfo
	var replaced int
	err := s.fn(ctx, func(w *writer) error {
		si, ok, err := w.readSession(key)
		switch {
		case err != nil:
			return err
		case !ok:
			return ErrNoSession
		case si.SessionID != sessionID:
			return ErrSessionChanged
		}
		w.forget(key)
		res, err := w.conn.ExecContext(w.ctx, "DELETE FROM messages WHERE session_key = ? AND seq <= ?", key, throughSeq)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		replaced = int(n)
		m := summary
		if m.Timestamp == 0 {
			m.Timestamp = w.now
		}
		if _, err := w.insMsg.ExecContext(w.ctx, key, throughSeq, m.Role, string(m.Content), m.Timestamp, m.RunID,
			m.Provider, m.Model, m.StopReason, jsonText(m.Usage), jsonText(m.Extra)); err != nil {
			return err
		}
		if _, err := w.conn.ExecContext(w.ctx, `UPDATE sessions SET message_count = message_count - ? + 1,
			compactions = compactions + 1, updated_at = ? WHERE key = ?`, n, w.now, key); err != nil {
			return err
		}
		out, _, err = w.readSession(key)
		return err
	})
	return out, replaced, err
}

// TrimSession keeps only a session's last keep messages; it returns how
// many it deleted.
func (s *SQLite) TrimSession(ctx context.Context, key string, keep int) (int, error) {
	var deleted int
	err := s.fn(ctx, func(w *writer) error {
		if _, ok, err := w.readSession(key); err != nil || !ok {
			if err == nil {
				err = ErrNoSession
			}
			return err
		}
		w.forget(key)
		res, err := w.conn.ExecContext(w.ctx, `DELETE FROM messages WHERE session_key = ?1 AND seq <= COALESCE(
			(SELECT seq FROM messages WHERE session_key = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2), -1)`, key, keep)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		deleted = int(n)
		if n > 0 {
			_, err = w.conn.ExecContext(w.ctx, `UPDATE sessions SET message_count = message_count - ?, compactions = compactions + 1,
				updated_at = ? WHERE key = ?`, n, w.now, key)
		}
		return err
	})
	return deleted, err
}

// SessionQuery selects sessions for a listing: all filters are optional.
type SessionQuery struct {
	Prefix string // key prefix ("agent:main:")
	Label  string // exact label
	Search string // substring of the key or the label (case-insensitive)
	// UpdatedSince keeps sessions updated at or after this time (ms).
	UpdatedSince int64
	// ExcludeKind drops keys whose part after agent:<id>: starts with it
	// ("cron:").
	ExcludeKind   string
	Limit, Offset int
}

// ListSessions lists the sessions q selects, most recently updated first,
// and how many there are in all before Limit and Offset.
func (s *SQLite) ListSessions(ctx context.Context, q SessionQuery) ([]SessionInfo, int, error) {
	if err := s.readable(); err != nil {
		return nil, 0, err
	}
	where, args := []string{"1"}, []any{}
	if q.Prefix != "" {
		where, args = append(where, "key >= ? AND key < ?"), append(args, q.Prefix, prefixEnd(q.Prefix))
	}
	if q.Label != "" {
		where, args = append(where, "label = ?"), append(args, q.Label)
	}
	if q.Search != "" {
		where = append(where, "(instr(lower(key), lower(?)) > 0 OR instr(lower(label), lower(?)) > 0)")
		args = append(args, q.Search, q.Search)
	}
	if q.UpdatedSince > 0 {
		where, args = append(where, "updated_at >= ?"), append(args, q.UpdatedSince)
	}
	if q.ExcludeKind != "" {
		// agent:<id>:<kind>...: the part after the second colon.
		where = append(where, "NOT (key LIKE 'agent:%' AND substr(substr(key, 7), instr(substr(key, 7), ':') + 1) LIKE ? || '%')")
		args = append(args, q.ExcludeKind)
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := s.rdb.QueryRowContext(ctx, "SELECT COUNT(*) FROM sessions WHERE "+cond, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE "+cond+
		" ORDER BY updated_at DESC, key LIMIT ? OFFSET ?", append(args, sqlLimit(q.Limit), max(q.Offset, 0))...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []SessionInfo
	for rows.Next() {
		si, err := scanSession(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, si)
	}
	return out, total, rows.Err()
}

// FirstMessages returns a session's first limit messages, oldest first.
func (s *SQLite) FirstMessages(ctx context.Context, key string, limit int) ([]Message, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT seq, role, content, ts, run_id, provider, model, stop_reason, usage, extra
		FROM messages WHERE session_key = ? ORDER BY seq LIMIT ?`, key, sqlLimit(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m := Message{SessionKey: key}
		var content, usage, extra []byte
		if err := rows.Scan(&m.Seq, &m.Role, &content, &m.Timestamp, &m.RunID, &m.Provider, &m.Model, &m.StopReason,
			&usage, &extra); err != nil {
			return nil, err
		}
		m.Content, m.Usage, m.Extra = content, usage, extra
		out = append(out, m)
	}
	return out, rows.Err()
}

// UsageRow is the usage one provider's model recorded on one UTC day.
type UsageRow struct {
	Provider, Model string
	Day             string // YYYY-MM-DD (UTC)
	Turns           int
	Input, Output   int64
	Total           int64
}

// Usage sums the token usage messages recorded, by provider, model and UTC
// day, for the sessions whose key starts with prefix ("" = all), from since
// to before until (ms; 0 = unbounded).
func (s *SQLite) Usage(ctx context.Context, prefix string, since, until int64) ([]UsageRow, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	if until <= 0 {
		until = 1<<62 - 1
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT provider, model, date(ts / 1000, 'unixepoch') AS day, COUNT(*),
			COALESCE(SUM(json_extract(usage, '$.input')), 0), COALESCE(SUM(json_extract(usage, '$.output')), 0),
			COALESCE(SUM(json_extract(usage, '$.total')), 0)
		FROM messages
		WHERE usage IS NOT NULL AND ts >= ?1 AND ts < ?2 AND session_key >= ?3 AND (?4 = '' OR session_key < ?4)
		GROUP BY provider, model, day ORDER BY day, provider, model`, since, until, prefix, prefixEnd(prefix))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []UsageRow
	for rows.Next() {
		var r UsageRow
		if err := rows.Scan(&r.Provider, &r.Model, &r.Day, &r.Turns, &r.Input, &r.Output, &r.Total); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

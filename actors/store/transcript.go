package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Message is one transcript entry (one row). See docs/PROTOCOL.md §5.3 for the
// shapes chat.history returns.
type Message struct {
	SessionKey string
	Seq        int64  // assigned by Append: 1, 2, ... per session, no gaps
	Role       string // user | assistant | system | tool
	// Content is JSON: a string for a user message, a list of parts
	// ([{"type":"text","text":...}]) for an assistant message.
	Content    json.RawMessage
	Timestamp  int64 // ms; Append fills in the commit time when zero
	RunID      string
	Provider   string
	Model      string
	StopReason string
	Usage      json.RawMessage // optional JSON
	Extra      json.RawMessage // optional JSON: anything else the message carries
}

// SessionInfo describes one session (a sessions row).
type SessionInfo struct {
	Key          string
	SessionID    string // a stable uuid, created with the session (a reset makes a new one)
	MessageCount int
	CreatedAt    int64 // ms
	UpdatedAt    int64 // ms: the last append or change
	// Set by an operator (sessions.patch); "" when not set.
	Label, ModelOverride, ThinkingLevel string
	// Token usage the session's turns recorded: input and output summed
	// over all turns, and the last turn's total (the context it filled).
	InputTokens, OutputTokens, LastTotalTokens int64
	// Compactions counts the times the transcript was compacted.
	Compactions int
	// LastRunID and LastRole are the newest message's run (of the newest
	// message that has one) and role: a last user message of a run that is
	// no longer going means that turn did not finish.
	LastRunID, LastRole string
}

// sessionColumns are the columns scanSession reads, in its order.
const sessionColumns = `key, session_id, message_count, created_at, updated_at, label, model_override, thinking_level,
	input_tokens, output_tokens, last_total_tokens, compactions,
	COALESCE((SELECT run_id FROM messages m WHERE m.session_key = sessions.key AND m.run_id <> '' ORDER BY m.seq DESC LIMIT 1), ''),
	COALESCE((SELECT role FROM messages m WHERE m.session_key = sessions.key ORDER BY m.seq DESC LIMIT 1), '')`

// scanSession reads one row of sessionColumns.
func scanSession(row interface{ Scan(...any) error }) (SessionInfo, error) {
	var si SessionInfo
	err := row.Scan(&si.Key, &si.SessionID, &si.MessageCount, &si.CreatedAt, &si.UpdatedAt, &si.Label, &si.ModelOverride,
		&si.ThinkingLevel, &si.InputTokens, &si.OutputTokens, &si.LastTotalTokens, &si.Compactions, &si.LastRunID, &si.LastRole)
	return si, err
}

// ErrInvalid wraps the reason an argument was refused before reaching the
// database.
var ErrInvalid = errors.New("store: invalid argument")

func validMessage(m *Message) error {
	switch {
	case m.SessionKey == "":
		return fmt.Errorf("%w: message without a session key", ErrInvalid)
	case m.Role == "":
		return fmt.Errorf("%w: message without a role", ErrInvalid)
	case len(m.Content) == 0 || !json.Valid(m.Content):
		// Content is later embedded verbatim in chat.history frames.
		return fmt.Errorf("%w: message content is not JSON", ErrInvalid)
	case len(m.Usage) > 0 && !json.Valid(m.Usage):
		return fmt.Errorf("%w: message usage is not JSON", ErrInvalid)
	case len(m.Extra) > 0 && !json.Valid(m.Extra):
		return fmt.Errorf("%w: message extra is not JSON", ErrInvalid)
	}
	return nil
}

// Append adds m to the end of its session's transcript (creating the session
// if needed) and returns it with its Seq (and Timestamp, if it was zero) once
// it is committed. The store reads m's slices until then; don't modify them.
//
// If ctx ends while the write is queued, Append returns ctx.Err() and the
// message may or may not have been appended.
func (s *SQLite) Append(ctx context.Context, m Message) (Message, error) {
	if err := validMessage(&m); err != nil {
		return Message{}, err
	}
	o := getOp(opAppend)
	o.msg = m
	if err := s.do(ctx, o); err != nil {
		return Message{}, err
	}
	m, err := o.msg, o.err
	putOp(o)
	if err != nil {
		return Message{}, err
	}
	return m, nil
}

// AppendAsync is Append without waiting: done (which may be nil) is called
// with the committed message, or the error, once the batch holding it is
// committed. done runs in the store's writer goroutine, so it must not block
// or call back into the store and wait: post a message to an actor's mailbox
// and return. On a closed store (or an invalid message) done is called
// before AppendAsync returns.
func (s *SQLite) AppendAsync(m Message, done func(Message, error)) {
	if err := validMessage(&m); err != nil {
		if done != nil {
			done(Message{}, err)
		}
		return
	}
	o := getOp(opAppend)
	o.msg = m
	o.done = done
	if err := s.submit(o); err != nil {
		putOp(o)
		if done != nil {
			done(Message{}, err)
		}
	}
}

// History returns the last limit messages of a session, oldest first, and
// the session's total message count (hasMore = total > len(msgs)). limit <= 0
// means all. An unknown session has no messages.
func (s *SQLite) History(ctx context.Context, sessionKey string, limit int) (msgs []Message, total int, err error) {
	if err := s.readable(); err != nil {
		return nil, 0, err
	}
	rows, err := s.reads.history.QueryContext(ctx, sessionKey, sqlLimit(limit))
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	if limit > 0 {
		msgs = make([]Message, 0, min(limit, 256))
	}
	for rows.Next() {
		m := Message{SessionKey: sessionKey}
		var content, usage, extra []byte
		var count sql.NullInt64
		if err := rows.Scan(&m.Seq, &m.Role, &content, &m.Timestamp, &m.RunID, &m.Provider, &m.Model,
			&m.StopReason, &usage, &extra, &count); err != nil {
			return nil, 0, err
		}
		m.Content, m.Usage, m.Extra = content, usage, extra
		total = int(count.Int64)
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	slices.Reverse(msgs)
	return msgs, total, nil
}

// Sessions lists sessions, most recently updated first; limit <= 0 means all.
func (s *SQLite) Sessions(ctx context.Context, limit int) ([]SessionInfo, error) {
	return s.RecentSessions(ctx, "", limit)
}

// CountSessions counts the sessions whose key starts with prefix ("" = all).
func (s *SQLite) CountSessions(ctx context.Context, prefix string) (int, error) {
	if err := s.readable(); err != nil {
		return 0, err
	}
	var n int
	err := s.reads.countSessions.QueryRowContext(ctx, prefix, prefixEnd(prefix)).Scan(&n)
	return n, err
}

// RecentSessions lists up to limit sessions whose key starts with prefix
// ("" = all), most recently updated first.
func (s *SQLite) RecentSessions(ctx context.Context, prefix string, limit int) ([]SessionInfo, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	rows, err := s.reads.recent.QueryContext(ctx, prefix, prefixEnd(prefix), sqlLimit(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SessionInfo
	for rows.Next() {
		si, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, si)
	}
	return out, rows.Err()
}

// prefixEnd is the first key past every key that starts with prefix ("" for
// no bound).
func prefixEnd(prefix string) string {
	if prefix == "" {
		return ""
	}
	b := []byte(prefix)
	b[len(b)-1]++
	return string(b)
}

// Session returns one session's info; ok is false if it does not exist.
func (s *SQLite) Session(ctx context.Context, key string) (info SessionInfo, ok bool, err error) {
	if err := s.readable(); err != nil {
		return SessionInfo{}, false, err
	}
	info, err = scanSession(s.reads.session.QueryRowContext(ctx, key))
	if errors.Is(err, sql.ErrNoRows) {
		return SessionInfo{}, false, nil
	}
	if err != nil {
		return SessionInfo{}, false, err
	}
	return info, true, nil
}

// SessionID returns the session's stable id, creating the session (durably)
// if it does not exist yet.
func (s *SQLite) SessionID(ctx context.Context, key string) (string, error) {
	if key == "" {
		return "", fmt.Errorf("%w: empty session key", ErrInvalid)
	}
	if err := s.readable(); err != nil {
		return "", err
	}
	var id string
	err := s.reads.sessionID.QueryRowContext(ctx, key).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	o := getOp(opSessionID)
	o.a = key
	if err := s.do(ctx, o); err != nil {
		return "", err
	}
	id, err = o.sid, o.err
	putOp(o)
	return id, err
}

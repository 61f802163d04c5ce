package jsstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"openclaw/actors/store"
)

func nowMs() int64 { return time.Now().UnixMilli() }

// message is a messages bucket entry.
type message struct {
	Seq        int64           `json:"seq"`
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	TS         int64           `json:"ts"`
	RunID      string          `json:"runId,omitempty"`
	Provider   string          `json:"provider,omitempty"`
	Model      string          `json:"model,omitempty"`
	StopReason string          `json:"stopReason,omitempty"`
	Usage      json.RawMessage `json:"usage,omitempty"`
	Extra      json.RawMessage `json:"extra,omitempty"`
}

func toMessage(key string, m message) store.Message {
	return store.Message{SessionKey: key, Seq: m.Seq, Role: m.Role, Content: m.Content, Timestamp: m.TS, RunID: m.RunID,
		Provider: m.Provider, Model: m.Model, StopReason: m.StopReason, Usage: m.Usage, Extra: m.Extra}
}

func fromMessage(m store.Message) message {
	return message{Seq: m.Seq, Role: m.Role, Content: m.Content, TS: m.Timestamp, RunID: m.RunID, Provider: m.Provider,
		Model: m.Model, StopReason: m.StopReason, Usage: m.Usage, Extra: m.Extra}
}

// Append adds m at the end of its session's transcript (creating the
// session) and returns it with its Seq once JetStream has stored it.
func (s *Store) Append(ctx context.Context, m store.Message) (store.Message, error) {
	return s.append(ctx, m, 0)
}

// append is Append under a fencing token (0: none, never refused): it refuses to write
// when the session entry records a newer holder's token, and records its
// own, in the same revision-checked update that adds the message.
func (s *Store) append(ctx context.Context, m store.Message, fence uint64) (store.Message, error) {
	if err := store.Validate(&m); err != nil {
		return store.Message{}, err
	}
	if err := ctx.Err(); err != nil {
		return store.Message{}, err
	}
	mu := s.stripe(m.SessionKey)
	mu.Lock()
	defer mu.Unlock()
	if m.Timestamp == 0 {
		m.Timestamp = nowMs()
	}
	u, hasUsage := store.ParseUsage(m.Usage)
	for range maxCAS {
		r, rev, err := s.getSession(ctx, m.SessionKey)
		if err != nil {
			return store.Message{}, err
		}
		now := nowMs()
		if r == nil {
			r = &session{ID: newUUID(), CreatedAt: now}
		}
		if fence > 0 && fence < r.Fence {
			return store.Message{}, ErrFenced
		}
		// Take the next free seq: a message entry is created only where
		// there is none, so two gateways never share a seq.
		first := r.LastSeq + 1
		m.Seq = first
		for {
			b, err := json.Marshal(fromMessage(m))
			if err != nil {
				return store.Message{}, err
			}
			_, err = s.messages.Create(ctx, msgKey(m.SessionKey, r.ID, m.Seq), b)
			if err == nil {
				break
			}
			if !isConflict(err) {
				return store.Message{}, err
			}
			m.Seq++
		}
		// Fold it into the session entry; on a conflict, into the newer
		// entry, as long as it is the same session (not reset meanwhile).
		for {
			if fence > 0 && fence < r.Fence {
				// A newer holder wrote first: the entry goes again.
				_ = s.messages.Purge(ctx, msgKey(m.SessionKey, r.ID, m.Seq))
				return store.Message{}, ErrFenced
			}
			r.Fence = max(r.Fence, fence)
			if r.count() == 0 {
				r.FirstSeq = first
			}
			if m.Seq > r.LastSeq {
				r.LastSeq = m.Seq
				r.LastRole = m.Role
				if m.RunID != "" {
					r.LastRunID = m.RunID
				}
			}
			r.UpdatedAt = now
			if hasUsage {
				r.InputTokens += u.Input
				r.OutputTokens += u.Output
				r.LastTotalTokens = u.Total
			}
			_, err := s.putSession(ctx, m.SessionKey, r, rev)
			if err == nil {
				return m, nil
			}
			if !isConflict(err) {
				return store.Message{}, err
			}
			id := r.ID
			if r, rev, err = s.getSession(ctx, m.SessionKey); err != nil {
				return store.Message{}, err
			}
			if r == nil || r.ID != id {
				// Reset or deleted since: the entry under the old id goes,
				// and the message is appended to what the session is now.
				if err := s.messages.Purge(ctx, msgKey(m.SessionKey, id, m.Seq)); err != nil {
					return store.Message{}, err
				}
				break
			}
			now = nowMs()
		}
	}
	return store.Message{}, fmt.Errorf("jsstore: session %q: too many concurrent changes", m.SessionKey)
}

// AppendAsync is Append without waiting: done (which may be nil) is called
// with the stored message, or the error, from the store's async goroutine,
// in submission order.
func (s *Store) AppendAsync(m store.Message, done func(store.Message, error)) {
	if err := store.Validate(&m); err != nil {
		if done != nil {
			done(store.Message{}, err)
		}
		return
	}
	err := s.async.submit(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		got, err := s.Append(ctx, m)
		cancel()
		if done != nil {
			done(got, err)
		}
	})
	if err != nil && done != nil {
		done(store.Message{}, err)
	}
}

// readParallel bounds the concurrent reads of one History.
const readParallel = 16

// readRange reads messages from..to (inclusive) of session r, in order;
// an entry removed meanwhile (a concurrent trim) is left out.
func (s *Store) readRange(ctx context.Context, key string, r *session, from, to int64) ([]store.Message, error) {
	if from > to {
		return nil, nil
	}
	n := int(to - from + 1)
	got := make([]*store.Message, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, readParallel)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			k := msgKey(key, r.ID, from+int64(i))
			m, _, err := s.msgGet(ctx, k, r.minRev(from+int64(i)))
			if notFound(err) {
				return
			}
			if err != nil {
				errs[i] = fmt.Errorf("jsstore: message %s: %w", k, err)
				return
			}
			sm := toMessage(key, m)
			got[i] = &sm
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := make([]store.Message, 0, n)
	for _, m := range got {
		if m != nil {
			out = append(out, *m)
		}
	}
	return out, nil
}

// History returns the last limit messages of a session, oldest first, and
// the session's message count; limit <= 0 means all.
func (s *Store) History(ctx context.Context, key string, limit int) ([]store.Message, int, error) {
	r, _, err := s.getSession(ctx, key)
	if err != nil || r == nil || r.count() == 0 {
		return nil, 0, err
	}
	from := r.FirstSeq
	if limit > 0 {
		from = max(from, r.LastSeq-int64(limit)+1)
	}
	msgs, err := s.readPage(ctx, key, r, from, r.LastSeq)
	return msgs, int(r.count()), err
}

// FirstMessages returns a session's first limit messages, oldest first.
func (s *Store) FirstMessages(ctx context.Context, key string, limit int) ([]store.Message, error) {
	r, _, err := s.getSession(ctx, key)
	if err != nil || r == nil || r.count() == 0 {
		return nil, err
	}
	to := r.LastSeq
	if limit > 0 {
		to = min(to, r.FirstSeq+int64(limit)-1)
	}
	return s.readPage(ctx, key, r, r.FirstSeq, to)
}

// Session returns one session's info; ok is false if it does not exist.
func (s *Store) Session(ctx context.Context, key string) (store.SessionInfo, bool, error) {
	r, _, err := s.getSession(ctx, key)
	if err != nil || r == nil {
		return store.SessionInfo{}, false, err
	}
	return r.info(key), true, nil
}

// SessionID returns the session's id, creating the session if needed.
func (s *Store) SessionID(ctx context.Context, key string) (string, error) {
	if key == "" {
		return "", fmt.Errorf("%w: empty session key", store.ErrInvalid)
	}
	r, err := s.update(ctx, key, true, func(*session, int64) (bool, error) { return false, nil })
	if err != nil {
		return "", err
	}
	return r.ID, nil
}

// Sessions lists sessions, most recently updated first; limit <= 0 means all.
func (s *Store) Sessions(ctx context.Context, limit int) ([]store.SessionInfo, error) {
	return s.RecentSessions(ctx, "", limit)
}

// RecentSessions lists up to limit sessions whose key starts with prefix,
// most recently updated first.
func (s *Store) RecentSessions(ctx context.Context, prefix string, limit int) ([]store.SessionInfo, error) {
	out, _, err := s.ListSessions(ctx, store.SessionQuery{Prefix: prefix, Limit: limit})
	return out, err
}

// CountSessions counts the sessions whose key starts with prefix.
func (s *Store) CountSessions(ctx context.Context, prefix string) (int, error) {
	return len(s.cache.list(func(k string, _ *session) bool { return strings.HasPrefix(k, prefix) })), nil
}

// ListSessions lists the sessions q selects, most recently updated first,
// and how many there are before Limit and Offset.
func (s *Store) ListSessions(ctx context.Context, q store.SessionQuery) ([]store.SessionInfo, int, error) {
	search := strings.ToLower(q.Search)
	kind := strings.ToLower(q.ExcludeKind)
	all := s.cache.list(func(k string, r *session) bool {
		switch {
		case !strings.HasPrefix(k, q.Prefix),
			q.Label != "" && r.Label != q.Label,
			search != "" && !strings.Contains(strings.ToLower(k), search) && !strings.Contains(strings.ToLower(r.Label), search),
			r.UpdatedAt < q.UpdatedSince:
			return false
		case kind != "":
			// agent:<id>:<kind>...: the part after the second colon.
			if rest, ok := strings.CutPrefix(k, "agent:"); ok {
				if _, after, found := strings.Cut(rest, ":"); found {
					rest = after
				}
				return !strings.HasPrefix(strings.ToLower(rest), kind)
			}
		}
		return true
	})
	slices.SortFunc(all, func(a, b store.SessionInfo) int {
		return cmp.Or(cmp.Compare(b.UpdatedAt, a.UpdatedAt), strings.Compare(a.Key, b.Key))
	})
	total := len(all)
	all = all[min(max(q.Offset, 0), total):]
	if q.Limit > 0 && len(all) > q.Limit {
		all = all[:q.Limit]
	}
	return all, total, nil
}

// PatchSession sets a session's label, model override or thinking level,
// creating the session if needed.
func (s *Store) PatchSession(ctx context.Context, key string, p store.SessionPatch) (store.SessionInfo, error) {
	if key == "" {
		return store.SessionInfo{}, fmt.Errorf("%w: empty session key", store.ErrInvalid)
	}
	r, err := s.update(ctx, key, true, func(r *session, now int64) (bool, error) {
		for _, f := range []struct {
			dst *string
			v   *string
		}{{&r.Label, p.Label}, {&r.ModelOverride, p.ModelOverride}, {&r.ThinkingLevel, p.ThinkingLevel}} {
			if f.v != nil {
				*f.dst = *f.v
			}
		}
		r.UpdatedAt = now
		return true, nil
	})
	if err != nil {
		return store.SessionInfo{}, err
	}
	return r.info(key), nil
}

// ResetSession starts a session over under a new id: its transcript and
// usage go, what an operator set stays. A missing session is created.
func (s *Store) ResetSession(ctx context.Context, key string) (store.SessionInfo, error) {
	if key == "" {
		return store.SessionInfo{}, fmt.Errorf("%w: empty session key", store.ErrInvalid)
	}
	mu := s.stripe(key)
	mu.Lock()
	defer mu.Unlock()
	var oldID string
	r, err := s.update(ctx, key, true, func(r *session, now int64) (bool, error) {
		oldID = r.ID
		*r = session{ID: newUUID(), CreatedAt: now, UpdatedAt: now,
			Label: r.Label, ModelOverride: r.ModelOverride, ThinkingLevel: r.ThinkingLevel, Fence: r.Fence}
		return true, nil
	})
	if err != nil {
		return store.SessionInfo{}, err
	}
	// The old messages are unreachable now (their keys name the old id).
	if err := s.purgeMessages(ctx, escape(key)+"."+escape(oldID)+".>"); err != nil {
		return store.SessionInfo{}, err
	}
	return r.info(key), nil
}

// purgeMessages removes the message entries matching a key filter.
func (s *Store) purgeMessages(ctx context.Context, filter string) error {
	st, err := s.js.Stream(ctx, "KV_"+s.messages.Bucket())
	if err != nil {
		return err
	}
	return st.Purge(ctx, jetstream.WithPurgeSubject("$KV."+s.messages.Bucket()+"."+filter))
}

// DeleteSession deletes a session and its transcript; deleted is false when
// there was none.
func (s *Store) DeleteSession(ctx context.Context, key string) (bool, error) {
	mu := s.stripe(key)
	mu.Lock()
	defer mu.Unlock()
	for range maxCAS {
		r, rev, err := s.getSession(ctx, key)
		if err != nil || r == nil {
			return false, err
		}
		if err := s.sessions.Delete(ctx, escape(key), jetstream.LastRevision(rev)); err != nil {
			if isConflict(err) {
				continue
			}
			return false, err
		}
		s.cache.set(key, nil, rev+1)
		return true, s.purgeMessages(ctx, escape(key)+".>")
	}
	return false, fmt.Errorf("jsstore: session %q: too many concurrent changes", key)
}

// removeRange purges messages from..to (inclusive) of a session and
// returns how many there were.
func (s *Store) removeRange(ctx context.Context, key, id string, from, to int64) (int, error) {
	n := 0
	for seq := from; seq <= to; seq++ {
		k := msgKey(key, id, seq)
		if _, _, err := s.msgGet(ctx, k, 0); notFound(err) {
			continue
		} else if err != nil {
			return n, err
		}
		if err := s.messages.Purge(ctx, k); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// lastRunID finds the run of the newest message that has one, for a
// session whose newest messages were just replaced.
func (s *Store) lastRunID(ctx context.Context, key string, r *session) (string, error) {
	const window = 64
	for to := r.LastSeq; to >= r.FirstSeq && r.count() > 0; to -= window {
		msgs, err := s.readRange(ctx, key, r, max(r.FirstSeq, to-window+1), to)
		if err != nil {
			return "", err
		}
		for i := len(msgs) - 1; i >= 0; i-- {
			if msgs[i].RunID != "" {
				return msgs[i].RunID, nil
			}
		}
	}
	return "", nil
}

// CompactSession replaces a session's messages up to throughSeq with one
// summary message at seq throughSeq; sessionID must still be the session's
// id. It returns the session as it now is and how many messages the
// summary replaced.
func (s *Store) CompactSession(ctx context.Context, key, sessionID string, throughSeq int64, summary store.Message) (store.SessionInfo, int, error) {
	summary.SessionKey = key
	if err := store.Validate(&summary); err != nil {
		return store.SessionInfo{}, 0, err
	}
	mu := s.stripe(key)
	mu.Lock()
	defer mu.Unlock()
	r, _, err := s.getSession(ctx, key)
	switch {
	case err != nil:
		return store.SessionInfo{}, 0, err
	case r == nil:
		return store.SessionInfo{}, 0, store.ErrNoSession
	case r.ID != sessionID:
		return store.SessionInfo{}, 0, store.ErrSessionChanged
	}
	oldFirst := r.FirstSeq
	// Count what goes before anything changes; then the summary takes
	// throughSeq (the session entry still covers the messages before it
	// if this stops half way), then the entry moves, then the rest goes.
	replaced := 0
	for seq := oldFirst; seq <= throughSeq && r.count() > 0; seq++ {
		if _, _, err := s.msgGet(ctx, msgKey(key, r.ID, seq), 0); err == nil {
			replaced++
		} else if !notFound(err) {
			return store.SessionInfo{}, 0, err
		}
	}
	summary.Seq = throughSeq
	if summary.Timestamp == 0 {
		summary.Timestamp = nowMs()
	}
	b, err := json.Marshal(fromMessage(summary))
	if err != nil {
		return store.SessionInfo{}, 0, err
	}
	sumRev, err := s.messages.Put(ctx, msgKey(key, r.ID, throughSeq), b)
	if err != nil {
		return store.SessionInfo{}, 0, err
	}
	r, err = s.update(ctx, key, false, func(r *session, now int64) (bool, error) {
		if r.ID != sessionID {
			return false, store.ErrSessionChanged
		}
		r.FirstSeq = throughSeq
		r.LastSeq = max(r.LastSeq, throughSeq)
		r.SumSeq, r.SumRev = throughSeq, sumRev
		if throughSeq == r.LastSeq {
			r.LastRole = summary.Role
		}
		r.Compactions++
		r.UpdatedAt = now
		return true, nil
	})
	if err != nil {
		return store.SessionInfo{}, 0, err
	}
	if oldFirst > 0 {
		if _, err := s.removeRange(ctx, key, r.ID, oldFirst, throughSeq-1); err != nil {
			return store.SessionInfo{}, 0, err
		}
	}
	if r.LastRunID, err = s.fixLastRun(ctx, key, r); err != nil {
		return store.SessionInfo{}, 0, err
	}
	return r.info(key), replaced, nil
}

// fixLastRun recomputes LastRunID after messages went and writes it back
// when it changed.
func (s *Store) fixLastRun(ctx context.Context, key string, r *session) (string, error) {
	run, err := s.lastRunID(ctx, key, r)
	if err != nil || run == r.LastRunID {
		return run, err
	}
	_, err = s.update(ctx, key, false, func(cur *session, _ int64) (bool, error) {
		if cur.ID != r.ID || cur.LastSeq != r.LastSeq {
			return false, nil // a newer message decides it now
		}
		cur.LastRunID = run
		return true, nil
	})
	return run, err
}

// TrimSession keeps only a session's last keep messages and returns how
// many it deleted.
func (s *Store) TrimSession(ctx context.Context, key string, keep int) (int, error) {
	mu := s.stripe(key)
	mu.Lock()
	defer mu.Unlock()
	var oldFirst, newFirst int64
	r, err := s.update(ctx, key, false, func(r *session, now int64) (bool, error) {
		oldFirst, newFirst = r.FirstSeq, r.LastSeq-int64(max(keep, 0))+1
		if r.count() == 0 || newFirst <= r.FirstSeq {
			return false, nil
		}
		r.FirstSeq = newFirst
		r.Compactions++
		r.UpdatedAt = now
		if r.count() == 0 {
			r.LastRole, r.LastRunID = "", ""
		}
		return true, nil
	})
	if err != nil || oldFirst == 0 || newFirst <= oldFirst {
		return 0, err
	}
	n, err := s.removeRange(ctx, key, r.ID, oldFirst, newFirst-1)
	if err != nil {
		return n, err
	}
	_, err = s.fixLastRun(ctx, key, r)
	return n, err
}

// Usage sums the token usage messages recorded, by provider, model and UTC
// day, for the sessions whose key starts with prefix, from since to before
// until (ms; 0 = unbounded). It reads every message entry.
func (s *Store) Usage(ctx context.Context, prefix string, since, until int64) ([]store.UsageRow, error) {
	if until <= 0 {
		until = 1<<62 - 1
	}
	type group struct{ provider, model, day string }
	sums := map[group]*store.UsageRow{}
	err := eachEntry(ctx, s.messages, ">", func(e jetstream.KeyValueEntry) error {
		tok, _, _ := strings.Cut(e.Key(), ".")
		key, err := unescape(tok)
		if err != nil || !strings.HasPrefix(key, prefix) {
			return nil
		}
		var m message
		if json.Unmarshal(e.Value(), &m) != nil || len(m.Usage) == 0 || m.TS < since || m.TS >= until {
			return nil
		}
		var u struct{ Input, Output, Total int64 }
		_ = json.Unmarshal(m.Usage, &u)
		g := group{m.Provider, m.Model, time.UnixMilli(m.TS).UTC().Format(time.DateOnly)}
		row := sums[g]
		if row == nil {
			row = &store.UsageRow{Provider: g.provider, Model: g.model, Day: g.day}
			sums[g] = row
		}
		row.Turns++
		row.Input += u.Input
		row.Output += u.Output
		row.Total += u.Total
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]store.UsageRow, 0, len(sums))
	for _, r := range sums {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b store.UsageRow) int {
		return cmp.Or(strings.Compare(a.Day, b.Day), strings.Compare(a.Provider, b.Provider), strings.Compare(a.Model, b.Model))
	})
	return out, nil
}

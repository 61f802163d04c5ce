package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func replyMsg(key, text, usage string) Message {
	c, _ := json.Marshal([]map[string]string{{"type": "text", "text": text}})
	return Message{SessionKey: key, Role: "assistant", Content: c, Usage: json.RawMessage(usage)}
}

func strp(s string) *string { return &s }

// Appends keep the session's token usage: input and output summed, the
// last turn's total kept.
func TestSessionUsage(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		mustAppend(t, s, userMsg("k", "hi"))
		mustAppend(t, s, replyMsg("k", "a", `{"input":10,"output":5,"total":15}`))
		mustAppend(t, s, userMsg("k", "more"))
		mustAppend(t, s, replyMsg("k", "b", `{"input":30,"output":7,"total":37}`))
		si, ok, err := s.Session(bg, "k")
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		if si.InputTokens != 40 || si.OutputTokens != 12 || si.LastTotalTokens != 37 || si.MessageCount != 4 {
			t.Fatalf("session = %+v", si)
		}
	})
}

// A version-1 database (before session metadata) is migrated with its
// sessions' token sums backfilled from the messages.
func TestMigrationBackfillsUsage(t *testing.T) {
	path := tempPath(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range append(migrations[0],
		`CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)`,
		`INSERT INTO schema_version VALUES (1, 0)`,
		`INSERT INTO sessions (key, session_id, created_at, updated_at, last_seq, message_count) VALUES ('k', 'id-1', 1, 2, 3, 3)`,
		`INSERT INTO messages (session_key, seq, role, content, ts) VALUES ('k', 1, 'user', '"hi"', 1)`,
		`INSERT INTO messages (session_key, seq, role, content, ts, usage) VALUES ('k', 2, 'assistant', '[]', 1, '{"input":4,"output":2,"total":6}')`,
		`INSERT INTO messages (session_key, seq, role, content, ts, usage) VALUES ('k', 3, 'assistant', '[]', 1, '{"input":9,"output":1,"total":10}')`,
	) {
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	raw.Close()
	s := openAt(t, path)
	si, ok, err := s.Session(bg, "k")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if si.InputTokens != 13 || si.OutputTokens != 3 || si.LastTotalTokens != 10 || si.SessionID != "id-1" || si.Label != "" {
		t.Fatalf("migrated session = %+v", si)
	}
	// Appending after the migration continues from the backfilled sums.
	mustAppend(t, s, replyMsg("k", "c", `{"input":1,"output":1,"total":11}`))
	si, _, _ = s.Session(bg, "k")
	if si.InputTokens != 14 || si.LastTotalTokens != 11 || si.MessageCount != 4 {
		t.Fatalf("after append = %+v", si)
	}
}

func TestPatchResetDelete(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		// Patch creates the session and sets only what it names.
		si, err := s.PatchSession(bg, "k", SessionPatch{Label: strp("work"), ModelOverride: strp("p/m")})
		if err != nil || si.Label != "work" || si.ModelOverride != "p/m" || si.SessionID == "" || si.MessageCount != 0 {
			t.Fatalf("patch = %+v, %v", si, err)
		}
		si, err = s.PatchSession(bg, "k", SessionPatch{ThinkingLevel: strp("high"), ModelOverride: strp("")})
		if err != nil || si.Label != "work" || si.ModelOverride != "" || si.ThinkingLevel != "high" {
			t.Fatalf("second patch = %+v, %v", si, err)
		}
		id := si.SessionID
		mustAppend(t, s, userMsg("k", "hi"))
		mustAppend(t, s, replyMsg("k", "a", `{"input":10,"output":5,"total":15}`))

		// Reset: a new id, no messages, no usage; the operator's settings stay;
		// appends start again at seq 1.
		si, err = s.ResetSession(bg, "k")
		if err != nil || si.SessionID == id || si.MessageCount != 0 || si.InputTokens != 0 || si.Label != "work" || si.ThinkingLevel != "high" {
			t.Fatalf("reset = %+v, %v", si, err)
		}
		if m := mustAppend(t, s, userMsg("k", "again")); m.Seq != 1 {
			t.Fatalf("first append after reset has seq %d", m.Seq)
		}
		if msgs, total, _ := s.History(bg, "k", 0); total != 1 || len(msgs) != 1 {
			t.Fatalf("history after reset: %d messages, total %d", len(msgs), total)
		}

		if deleted, err := s.DeleteSession(bg, "k"); err != nil || !deleted {
			t.Fatalf("delete = %v, %v", deleted, err)
		}
		if _, ok, _ := s.Session(bg, "k"); ok {
			t.Fatal("session still there after delete")
		}
		if deleted, err := s.DeleteSession(bg, "k"); err != nil || deleted {
			t.Fatalf("second delete = %v, %v", deleted, err)
		}
		// The key can be used again: a fresh session.
		if m := mustAppend(t, s, userMsg("k", "new")); m.Seq != 1 {
			t.Fatalf("seq after delete = %d", m.Seq)
		}
	})
}

// Appends and a delete of the same session in one batch: the delete wins
// for what came before it, later appends make a new session.
func TestDeleteBetweenAppendsInOneBatch(t *testing.T) {
	s := openT(t)
	mustAppend(t, s, userMsg("k", "one"))
	done := make(chan struct{}, 3)
	s.AppendAsync(userMsg("k", "two"), func(Message, error) { done <- struct{}{} })
	if _, err := s.DeleteSession(bg, "k"); err != nil {
		t.Fatal(err)
	}
	<-done
	m := mustAppend(t, s, userMsg("k", "three"))
	msgs, total, _ := s.History(bg, "k", 0)
	if total != 1 || len(msgs) != 1 || m.Seq != 1 {
		t.Fatalf("after delete: %d messages (total %d), seq %d", len(msgs), total, m.Seq)
	}
}

func TestCompactSession(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		for i := range 3 {
			mustAppend(t, s, userMsg("k", "q"))
			mustAppend(t, s, replyMsg("k", "a", `{"input":10,"output":5,"total":15}`))
			_ = i
		}
		si, _, _ := s.Session(bg, "k")
		sum, _ := json.Marshal("summary of turns 1-2")
		after, replaced, err := s.CompactSession(bg, "k", si.SessionID, 4, Message{Role: "system", Content: sum})
		if err != nil || replaced != 4 || after.MessageCount != 3 || after.Compactions != 1 {
			t.Fatalf("compact = %+v, replaced %d, %v", after, replaced, err)
		}
		msgs, total, _ := s.History(bg, "k", 0)
		if total != 3 || !slices.Equal(seqs(msgs), []int64{4, 5, 6}) || msgs[0].Role != "system" {
			t.Fatalf("after compaction: total %d, seqs %v, first %s", total, seqs(msgs), msgs[0].Role)
		}
		// Appends continue after the last seq.
		if m := mustAppend(t, s, userMsg("k", "next")); m.Seq != 7 {
			t.Fatalf("append after compaction got seq %d", m.Seq)
		}
		// A reset in between: the compaction is refused.
		if _, err := s.ResetSession(bg, "k"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.CompactSession(bg, "k", si.SessionID, 2, Message{Role: "system", Content: sum}); !errors.Is(err, ErrSessionChanged) {
			t.Fatalf("compact after reset: %v", err)
		}
		if _, _, err := s.CompactSession(bg, "nope", "x", 1, Message{Role: "system", Content: sum}); !errors.Is(err, ErrNoSession) {
			t.Fatalf("compact of a missing session: %v", err)
		}
	})
}

func TestTrimSession(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		for range 5 {
			mustAppend(t, s, userMsg("k", "x"))
		}
		n, err := s.TrimSession(bg, "k", 2)
		if err != nil || n != 3 {
			t.Fatalf("trim = %d, %v", n, err)
		}
		msgs, total, _ := s.History(bg, "k", 0)
		if total != 2 || !slices.Equal(seqs(msgs), []int64{4, 5}) {
			t.Fatalf("after trim: total %d seqs %v", total, seqs(msgs))
		}
		if n, err := s.TrimSession(bg, "k", 10); err != nil || n != 0 {
			t.Fatalf("trim keeping more than there is = %d, %v", n, err)
		}
	})
}

func TestListSessions(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		for _, k := range []string{"agent:main:main", "agent:main:telegram:dm:1", "agent:main:cron:job1", "agent:other:main"} {
			mustAppend(t, s, userMsg(k, "x"))
		}
		if _, err := s.PatchSession(bg, "agent:main:telegram:dm:1", SessionPatch{Label: strp("Ann")}); err != nil {
			t.Fatal(err)
		}
		keys := func(q SessionQuery) ([]string, int) {
			t.Helper()
			list, total, err := s.ListSessions(bg, q)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, si := range list {
				out = append(out, si.Key)
			}
			slices.Sort(out)
			return out, total
		}
		tests := []struct {
			name  string
			q     SessionQuery
			want  []string
			total int
		}{
			{"all", SessionQuery{}, []string{"agent:main:cron:job1", "agent:main:main", "agent:main:telegram:dm:1", "agent:other:main"}, 4},
			{"one agent", SessionQuery{Prefix: "agent:main:"}, []string{"agent:main:cron:job1", "agent:main:main", "agent:main:telegram:dm:1"}, 3},
			{"label", SessionQuery{Label: "Ann"}, []string{"agent:main:telegram:dm:1"}, 1},
			{"search matches the label", SessionQuery{Search: "ann"}, []string{"agent:main:telegram:dm:1"}, 1},
			{"search matches the key", SessionQuery{Search: "OTHER"}, []string{"agent:other:main"}, 1},
			{"no cron", SessionQuery{ExcludeKind: "cron:"}, []string{"agent:main:main", "agent:main:telegram:dm:1", "agent:other:main"}, 3},
			{"page", SessionQuery{Limit: 1, Offset: 1}, nil, 4},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, total := keys(tt.q)
				if tt.want != nil && !slices.Equal(got, tt.want) || total != tt.total || (tt.want == nil && len(got) != 1) {
					t.Fatalf("keys %v total %d, want %v total %d", got, total, tt.want, tt.total)
				}
			})
		}
	})
}

// Usage sums recorded usage by provider, model and UTC day, for a key
// prefix and a time range; FirstMessages reads a transcript's start.
func TestUsageAndFirstMessages(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		day := int64(1_767_225_600_000) // 2026-01-01T00:00:00Z
		for _, m := range []struct {
			key, model string
			ts         int64
			usage      string
		}{
			{"agent:main:main", "m1", day + 1000, `{"input":10,"output":5,"total":15}`},
			{"agent:main:main", "m1", day + 2000, `{"input":1,"output":1,"total":2}`},
			{"agent:main:dm", "m2", day + 86_400_000, `{"input":7,"output":3,"total":10}`},
			{"agent:other:main", "m1", day + 3000, `{"input":100,"output":100,"total":200}`},
			{"agent:main:main", "m1", day + 4000, ``},
		} {
			msg := replyMsg(m.key, "x", m.usage)
			msg.Provider, msg.Model, msg.Timestamp = "p", m.model, m.ts
			mustAppend(t, s, msg)
		}
		rows, err := s.Usage(bg, "agent:main:", 0, 0)
		want := []UsageRow{
			{Provider: "p", Model: "m1", Day: "2026-01-01", Turns: 2, Input: 11, Output: 6, Total: 17},
			{Provider: "p", Model: "m2", Day: "2026-01-02", Turns: 1, Input: 7, Output: 3, Total: 10},
		}
		if err != nil || !slices.Equal(rows, want) {
			t.Fatalf("Usage = %+v, %v", rows, err)
		}
		if rows, _ := s.Usage(bg, "", day+86_400_000, 0); len(rows) != 1 || rows[0].Model != "m2" {
			t.Fatalf("Usage since day 2 = %+v", rows)
		}
		first, err := s.FirstMessages(bg, "agent:main:main", 2)
		if err != nil || !slices.Equal(seqs(first), []int64{1, 2}) || first[1].Timestamp != day+2000 {
			t.Fatalf("FirstMessages = %+v, %v", first, err)
		}
	})
}

package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var bg = context.Background()

func tempPath(t testing.TB) string {
	return DefaultPath(t.TempDir())
}

func openAt(t testing.TB, path string) *SQLite {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openT(t testing.TB) *SQLite { return openAt(t, tempPath(t)) }

// impl is a Store implementation the shared tests run against: open gives
// a fresh store, reopen closes one and opens its state again (a restart).
type impl struct {
	name   string
	open   func(t testing.TB) Store
	reopen func(t testing.TB, s Store) Store
}

// impls are SQLite and, added by jetstream_test.go (package store_test,
// which may import actors/store/jsstore where this package may not),
// JetStream.
var impls = []impl{{"sqlite", func(t testing.TB) Store { return openT(t) }, func(t testing.TB, s Store) Store {
	s.Close()
	return openAt(t, s.Path())
}}}

// eachStore runs f against a fresh store of every implementation.
func eachStore(t *testing.T, f func(t *testing.T, s Store)) {
	eachImpl(t, func(t *testing.T, im impl) { f(t, im.open(t)) })
}

// eachImpl runs f for every implementation.
func eachImpl(t *testing.T, f func(t *testing.T, im impl)) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) { f(t, im) })
	}
}

func userMsg(key, text string) Message {
	c, _ := json.Marshal(text)
	return Message{SessionKey: key, Role: "user", Content: c}
}

func mustAppend(t testing.TB, s Store, m Message) Message {
	t.Helper()
	got, err := s.Append(bg, m)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return got
}

func seqs(msgs []Message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.Seq
	}
	return out
}

func seqRange(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func TestHistoryLimits(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		const key = "agent:main:main"
		for i := 1; i <= 5; i++ {
			m := mustAppend(t, s, userMsg(key, fmt.Sprintf("m%d", i)))
			if m.Seq != int64(i) {
				t.Fatalf("append %d got seq %d", i, m.Seq)
			}
			if m.Timestamp == 0 {
				t.Fatalf("append %d: zero timestamp not filled in", i)
			}
		}
		for _, tc := range []struct {
			name    string
			limit   int
			want    []int64
			hasMore bool
		}{
			{"all (limit 0)", 0, seqRange(1, 5), false},
			{"larger than total", 200, seqRange(1, 5), false},
			{"exactly total", 5, seqRange(1, 5), false},
			{"smaller", 3, seqRange(3, 5), true},
			{"one", 1, []int64{5}, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				msgs, total, err := s.History(bg, key, tc.limit)
				if err != nil {
					t.Fatal(err)
				}
				if total != 5 {
					t.Errorf("total = %d, want 5", total)
				}
				if got := seqs(msgs); !slices.Equal(got, tc.want) {
					t.Errorf("seqs = %v, want %v", got, tc.want)
				}
				if hasMore := total > len(msgs); hasMore != tc.hasMore {
					t.Errorf("hasMore = %v, want %v", hasMore, tc.hasMore)
				}
				for _, m := range msgs {
					var text string
					if err := json.Unmarshal(m.Content, &text); err != nil || text != fmt.Sprintf("m%d", m.Seq) {
						t.Errorf("seq %d content %s", m.Seq, m.Content)
					}
					if m.SessionKey != key || m.Role != "user" {
						t.Errorf("seq %d: key %q role %q", m.Seq, m.SessionKey, m.Role)
					}
				}
			})
		}
		t.Run("unknown session", func(t *testing.T) {
			msgs, total, err := s.History(bg, "agent:main:nobody", 10)
			if err != nil || len(msgs) != 0 || total != 0 {
				t.Fatalf("got %v, %d, %v", msgs, total, err)
			}
		})
	})
}

func TestMessageRoundTrip(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		in := Message{
			SessionKey: "agent:main:telegram:dm:42",
			Role:       "assistant",
			Content:    json.RawMessage(`[{"type":"text","text":"hi \"there\" ✓"}]`),
			Timestamp:  1_700_000_000_123,
			RunID:      "run-1",
			Provider:   "anthropic",
			Model:      "claude",
			StopReason: "end_turn",
			Usage:      json.RawMessage(`{"input":3,"output":5,"total":8}`),
			Extra:      json.RawMessage(`{"thinking":"x"}`),
		}
		got := mustAppend(t, s, in)
		in.Seq = 1
		msgs, total, err := s.History(bg, in.SessionKey, 10)
		if err != nil || total != 1 || len(msgs) != 1 {
			t.Fatalf("History: %v %d %v", msgs, total, err)
		}
		for _, m := range []Message{got, msgs[0]} {
			a, _ := json.Marshal(m)
			b, _ := json.Marshal(in)
			if string(a) != string(b) {
				t.Errorf("got  %s\nwant %s", a, b)
			}
		}
		// Optional JSON left out comes back nil.
		m2 := mustAppend(t, s, userMsg(in.SessionKey, "plain"))
		msgs, _, _ = s.History(bg, in.SessionKey, 1)
		if msgs[0].Seq != m2.Seq || msgs[0].Usage != nil || msgs[0].Extra != nil || msgs[0].RunID != "" {
			t.Errorf("plain message came back as %+v", msgs[0])
		}
	})
}

func TestAppendValidation(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		for _, tc := range []struct {
			name string
			m    Message
		}{
			{"no key", Message{Role: "user", Content: json.RawMessage(`"x"`)}},
			{"no role", Message{SessionKey: "k", Content: json.RawMessage(`"x"`)}},
			{"no content", Message{SessionKey: "k", Role: "user"}},
			{"bad content", Message{SessionKey: "k", Role: "user", Content: json.RawMessage(`hello`)}},
			{"bad usage", Message{SessionKey: "k", Role: "user", Content: json.RawMessage(`"x"`), Usage: json.RawMessage(`{`)}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := s.Append(bg, tc.m); !errors.Is(err, ErrInvalid) {
					t.Errorf("Append err = %v, want ErrInvalid", err)
				}
				var got error
				s.AppendAsync(tc.m, func(_ Message, err error) { got = err })
				if !errors.Is(got, ErrInvalid) {
					t.Errorf("AppendAsync err = %v, want ErrInvalid", got)
				}
			})
		}
		if _, total, _ := s.History(bg, "k", 0); total != 0 {
			t.Errorf("invalid messages were stored: total %d", total)
		}
	})
}

func TestCancelledContext(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx, cancel := context.WithCancel(bg)
		cancel()
		if _, err := s.Append(ctx, userMsg("k", "x")); !errors.Is(err, context.Canceled) {
			t.Fatalf("Append err = %v", err)
		}
		if err := s.Put(ctx, "ns", "k", []byte("v")); !errors.Is(err, context.Canceled) {
			t.Fatalf("Put err = %v", err)
		}
		if _, total, _ := s.History(bg, "k", 0); total != 0 {
			t.Errorf("cancelled append was stored")
		}
		if m := mustAppend(t, s, userMsg("k", "y")); m.Seq != 1 {
			t.Errorf("seq after a cancelled append = %d, want 1", m.Seq)
		}
	})
}

func TestSeqPerSession(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		keys := []string{"agent:main:main", "agent:main:telegram:dm:1", "agent:ops:main"}
		want := map[string]int64{}
		// Interleave unevenly: key i gets i+1 messages per round.
		for round := 0; round < 4; round++ {
			for i, k := range keys {
				for j := 0; j <= i; j++ {
					want[k]++
					if m := mustAppend(t, s, userMsg(k, "x")); m.Seq != want[k] {
						t.Fatalf("%s: seq %d, want %d", k, m.Seq, want[k])
					}
				}
			}
		}
		for _, k := range keys {
			msgs, total, err := s.History(bg, k, 0)
			if err != nil {
				t.Fatal(err)
			}
			if int64(total) != want[k] || !slices.Equal(seqs(msgs), seqRange(1, want[k])) {
				t.Errorf("%s: total %d seqs %v, want 1..%d", k, total, seqs(msgs), want[k])
			}
		}
	})
}

func TestConcurrentAppendsSameSession(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		const (
			key        = "agent:main:main"
			goroutines = 50
			each       = 20
			n          = goroutines * each
		)
		stats := func() Stats { // group commit is SQLite's
			if sq, ok := s.(*SQLite); ok {
				return sq.Stats()
			}
			return Stats{}
		}
		before := stats()
		got := make([][]int64, goroutines) // got[g][i]: seq returned to goroutine g's i-th append
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				for i := range each {
					m, err := s.Append(bg, userMsg(key, fmt.Sprintf("%d/%d", g, i)))
					if err != nil {
						t.Error(err)
						return
					}
					got[g] = append(got[g], m.Seq)
				}
			})
		}
		wg.Wait()
		msgs, total, err := s.History(bg, key, 0)
		if err != nil {
			t.Fatal(err)
		}
		if total != n || !slices.Equal(seqs(msgs), seqRange(1, n)) {
			t.Fatalf("total %d, seqs not 1..%d without gaps", total, n)
		}
		for g := range goroutines {
			if !slices.IsSorted(got[g]) || len(got[g]) != each {
				t.Errorf("goroutine %d got seqs %v", g, got[g])
			}
			for i, seq := range got[g] {
				// Each append sees its own seq: the row at that seq is its message.
				want, _ := json.Marshal(fmt.Sprintf("%d/%d", g, i))
				if string(msgs[seq-1].Content) != string(want) {
					t.Errorf("seq %d holds %s, want %s", seq, msgs[seq-1].Content, want)
				}
			}
		}
		if _, ok := s.(*SQLite); !ok {
			return
		}
		st := stats()
		commits := st.Commits - before.Commits
		t.Logf("%d appends from %d goroutines in %d commits (max batch %d)", n, goroutines, commits, st.MaxBatch)
		if commits >= n {
			t.Errorf("no group commit: %d commits for %d concurrent appends", commits, n)
		}
	})
}

// TestGroupCommitBatches holds the writer back while ops queue up, then checks
// that all of them go out in one transaction.
func TestGroupCommitBatches(t *testing.T) {
	release := make(chan struct{})
	var first atomic.Bool
	first.Store(true)
	s, err := open(tempPath(t), options{beforeBatch: func() {
		if first.CompareAndSwap(true, false) {
			<-release
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	const n = 64
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		s.AppendAsync(userMsg(fmt.Sprintf("s%d", i%4), "x"), func(_ Message, err error) {
			if err != nil {
				t.Error(err)
			}
			wg.Done()
		})
	}
	close(release)
	wg.Wait()
	st := s.Stats()
	if st.Commits != 1 || st.Ops != n || st.MaxBatch != n {
		t.Fatalf("stats %+v, want 1 commit of %d ops", st, n)
	}
	for i := range 4 {
		if _, total, _ := s.History(bg, fmt.Sprintf("s%d", i), 0); total != n/4 {
			t.Errorf("s%d total %d, want %d", i, total, n/4)
		}
	}
}

func TestCloseFlushesAsyncAppends(t *testing.T) {
	path := tempPath(t)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	var acked, failed atomic.Int64
	for i := range n {
		s.AppendAsync(userMsg("agent:main:main", strconv.Itoa(i)), func(m Message, err error) {
			if err != nil || m.Seq < 1 || m.Seq > n {
				failed.Add(1)
				return
			}
			acked.Add(1)
		})
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if acked.Load() != n || failed.Load() != 0 {
		t.Fatalf("after Close: %d acked, %d failed, want %d acked", acked.Load(), failed.Load(), n)
	}
	// After Close everything fails with ErrClosed.
	var lateErr error
	s.AppendAsync(userMsg("agent:main:main", "late"), func(_ Message, err error) { lateErr = err })
	if !errors.Is(lateErr, ErrClosed) {
		t.Errorf("AppendAsync after Close: %v", lateErr)
	}
	if _, err := s.Append(bg, userMsg("agent:main:main", "late")); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v", err)
	}
	if _, _, err := s.History(bg, "agent:main:main", 1); !errors.Is(err, ErrClosed) {
		t.Errorf("History after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	s = openAt(t, path)
	msgs, total, err := s.History(bg, "agent:main:main", 0)
	if err != nil || total != n || !slices.Equal(seqs(msgs), seqRange(1, n)) {
		t.Fatalf("after reopen: total %d, err %v", total, err)
	}
	// Async appends from one goroutine keep their submission order.
	for i, m := range msgs {
		if want, _ := json.Marshal(strconv.Itoa(i)); string(m.Content) != string(want) {
			t.Fatalf("seq %d holds %s, want %s", m.Seq, m.Content, want)
		}
	}
}

func TestReopenSeesEverything(t *testing.T) {
	path := tempPath(t)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, userMsg("agent:main:a", "1"))
	mustAppend(t, s, userMsg("agent:main:a", "2"))
	time.Sleep(2 * time.Millisecond) // distinct updatedAt
	mustAppend(t, s, userMsg("agent:main:b", "1"))
	idA, err := s.SessionID(bg, "agent:main:a")
	if err != nil {
		t.Fatal(err)
	}
	idEmpty, err := s.SessionID(bg, "agent:main:empty") // created without messages
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(bg, "telegram", "offset", []byte("12345")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue(bg, "ingress", "telegram:1", "u1", []byte("p1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path)
	time.Sleep(2 * time.Millisecond) // a's next append is strictly the newest update
	if _, total, _ := s.History(bg, "agent:main:a", 0); total != 2 {
		t.Errorf("a: total %d, want 2", total)
	}
	if m := mustAppend(t, s, userMsg("agent:main:a", "3")); m.Seq != 3 {
		t.Errorf("append after reopen: seq %d, want 3", m.Seq)
	}
	if id, _ := s.SessionID(bg, "agent:main:a"); id != idA {
		t.Errorf("session id changed across reopen: %s → %s", idA, id)
	}
	if id, _ := s.SessionID(bg, "agent:main:empty"); id != idEmpty {
		t.Errorf("empty session id changed across reopen: %s → %s", idEmpty, id)
	}
	if v, ok, _ := s.Get(bg, "telegram", "offset"); !ok || string(v) != "12345" {
		t.Errorf("Get after reopen: %q %v", v, ok)
	}
	if items, _ := s.Pending(bg, "ingress", 0); len(items) != 1 || items[0].ID != "u1" {
		t.Errorf("Pending after reopen: %+v", items)
	}
	sessions, err := s.Sessions(bg, 0)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, si := range sessions {
		keys = append(keys, si.Key)
		if len(si.SessionID) != 36 {
			t.Errorf("%s: session id %q", si.Key, si.SessionID)
		}
	}
	// a was appended to last (after reopen), so it is the newest.
	if keys[0] != "agent:main:a" {
		t.Errorf("newest session %q, want agent:main:a (%v)", keys[0], keys)
	}
	want := map[string]int{"agent:main:a": 3, "agent:main:b": 1, "agent:main:empty": 0}
	for _, si := range sessions {
		if si.MessageCount != want[si.Key] {
			t.Errorf("%s: count %d, want %d", si.Key, si.MessageCount, want[si.Key])
		}
	}
	if len(sessions) != 3 {
		t.Errorf("sessions %v", keys)
	}
	for i := 1; i < len(sessions); i++ {
		if sessions[i].UpdatedAt > sessions[i-1].UpdatedAt {
			t.Errorf("sessions not newest first: %+v", sessions)
		}
	}
	if top, _ := s.Sessions(bg, 1); len(top) != 1 || top[0].Key != "agent:main:a" {
		t.Errorf("Sessions(1) = %+v", top)
	}
	if info, ok, err := s.Session(bg, "agent:main:b"); err != nil || !ok || info.SessionID == "" || info.MessageCount != 1 {
		t.Errorf("Session(b) = %+v %v %v", info, ok, err)
	}
	if _, ok, err := s.Session(bg, "agent:main:none"); err != nil || ok {
		t.Errorf("Session(none) = %v %v", ok, err)
	}
}

func TestSessionIDConcurrent(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ids := make([]string, 20)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() {
				id, err := s.SessionID(bg, "agent:main:new")
				if err != nil {
					t.Error(err)
				}
				ids[i] = id
			})
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] || id == "" {
				t.Fatalf("SessionID not stable under concurrency: %v", ids)
			}
		}
		if m := mustAppend(t, s, userMsg("agent:main:new", "x")); m.Seq != 1 {
			t.Errorf("first append to a pre-created session: seq %d", m.Seq)
		}
		if id, _ := s.SessionID(bg, "agent:main:new"); id != ids[0] {
			t.Errorf("append changed the session id")
		}
	})
}

func TestMigrationsIdempotent(t *testing.T) {
	path := tempPath(t)
	for i := range 3 {
		s, err := Open(path)
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		var rows, maxV int
		if err := s.rdb.QueryRow("SELECT COUNT(*), MAX(version) FROM schema_version").Scan(&rows, &maxV); err != nil {
			t.Fatal(err)
		}
		if rows != SchemaVersion || maxV != SchemaVersion {
			t.Fatalf("open #%d: %d schema_version rows, max %d, want %d", i+1, rows, maxV, SchemaVersion)
		}
		mustAppend(t, s, userMsg("k", "x"))
		s.Close()
	}
	s := openAt(t, path)
	if _, total, _ := s.History(bg, "k", 0); total != 3 {
		t.Errorf("total %d after three opens, want 3", total)
	}
	s.Close()
	// A database written by a newer build is refused, not modified.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("INSERT INTO schema_version VALUES (?, 0)", SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if s2, err := Open(path); err == nil {
		s2.Close()
		t.Fatal("opened a database with a newer schema version")
	}
}

func TestKV(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		steps := []struct {
			op        string // put | del | get
			ns, key   string
			value     string
			wantFound bool
		}{
			{"get", "telegram", "offset", "", false},
			{"put", "telegram", "offset", "100", false},
			{"get", "telegram", "offset", "100", true},
			{"get", "whatsapp", "offset", "", false}, // namespaces are separate
			{"put", "telegram", "offset", "101", false},
			{"get", "telegram", "offset", "101", true},
			{"put", "telegram", "empty", "", false},
			{"get", "telegram", "empty", "", true}, // empty value is found
			{"del", "telegram", "offset", "", false},
			{"get", "telegram", "offset", "", false},
			{"del", "telegram", "missing", "", false}, // deleting a missing key is fine
		}
		for i, st := range steps {
			switch st.op {
			case "put":
				if err := s.Put(bg, st.ns, st.key, []byte(st.value)); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			case "del":
				if err := s.Delete(bg, st.ns, st.key); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			case "get":
				v, ok, err := s.Get(bg, st.ns, st.key)
				if err != nil || ok != st.wantFound || string(v) != st.value || (ok && v == nil) {
					t.Fatalf("step %d: Get(%s,%s) = %q %v %v, want %q %v", i, st.ns, st.key, v, ok, err, st.value, st.wantFound)
				}
			}
		}
		if err := s.Put(bg, "", "k", nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("Put with empty ns: %v", err)
		}
		if err := s.Put(bg, "ns", "nil", nil); err != nil {
			t.Errorf("Put nil value: %v", err)
		}
	})
}

func TestQueue(t *testing.T) { eachImpl(t, testQueue) }

func testQueue(t *testing.T, im impl) {
	s := im.open(t)
	type item struct{ part, id, payload string }
	items := []item{{"tg:1", "a", "A"}, {"tg:2", "b", "B"}, {"tg:1", "c", "C"}, {"tg:2", "d", "D"}, {"tg:1", "e", "E"}}
	for _, it := range items {
		ins, err := s.Enqueue(bg, "ingress", it.part, it.id, []byte(it.payload))
		if err != nil || !ins {
			t.Fatalf("Enqueue %s: %v %v", it.id, ins, err)
		}
	}
	// Dedupe: the same id again (even with another payload) is not inserted.
	if ins, err := s.Enqueue(bg, "ingress", "tg:1", "a", []byte("again")); err != nil || ins {
		t.Fatalf("duplicate Enqueue: inserted=%v err=%v", ins, err)
	}
	// Ids are per queue.
	if ins, _ := s.Enqueue(bg, "other", "x", "a", nil); !ins {
		t.Fatalf("same id in another queue was not inserted")
	}
	ids := func(items []QueueItem) string {
		var out string
		for _, it := range items {
			out += it.ID
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		part  string // "" = all partitions
		limit int
		want  string
	}{
		{"all", "", 0, "abcde"},
		{"limit", "", 2, "ab"},
		{"partition tg:1", "tg:1", 0, "ace"},
		{"partition tg:2 limit", "tg:2", 1, "b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []QueueItem
			var err error
			if tc.part == "" {
				got, err = s.Pending(bg, "ingress", tc.limit)
			} else {
				got, err = s.PendingPartition(bg, "ingress", tc.part, tc.limit)
			}
			if err != nil || ids(got) != tc.want {
				t.Fatalf("got %q %v, want %q", ids(got), err, tc.want)
			}
		})
	}
	got, _ := s.Pending(bg, "ingress", 1)
	if it := got[0]; it.Payload == nil || string(it.Payload) != "A" || it.Partition != "tg:1" || it.Queue != "ingress" || it.EnqueuedAt == 0 {
		t.Errorf("item %+v", it)
	}

	if err := s.Ack(bg, "ingress", "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(bg, "ingress", "c"); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(bg, "ingress", "nope"); err != nil {
		t.Errorf("Ack of an unknown id: %v", err)
	}
	if got, _ := s.Pending(bg, "ingress", 0); ids(got) != "bde" {
		t.Errorf("after Ack: %q, want bde", ids(got))
	}
	// An acknowledged id still dedupes.
	if ins, _ := s.Enqueue(bg, "ingress", "tg:1", "a", []byte("A")); ins {
		t.Errorf("acknowledged id was enqueued again")
	}

	// Survives reopen.
	s = im.reopen(t, s)
	if got, _ := s.Pending(bg, "ingress", 0); ids(got) != "bde" {
		t.Errorf("after reopen: %q, want bde", ids(got))
	}
	if ins, _ := s.Enqueue(bg, "ingress", "tg:1", "c", nil); ins {
		t.Errorf("acknowledged id was enqueued again after reopen")
	}

	// Prune keeps recent acks, then removes them once old enough.
	p := s.(interface {
		Prune(context.Context, time.Duration) (int64, error)
	})
	if n, err := p.Prune(bg, DefaultRetention); err != nil || n != 0 {
		t.Errorf("Prune(7d) = %d %v, want 0", n, err)
	}
	if n, err := p.Prune(bg, -time.Minute); err != nil || n != 2 {
		t.Errorf("Prune(now) = %d %v, want 2", n, err)
	}
	if ins, _ := s.Enqueue(bg, "ingress", "tg:1", "a", nil); !ins {
		t.Errorf("pruned id was not accepted again")
	}
	if got, _ := s.Pending(bg, "ingress", 0); ids(got) != "bdea" {
		t.Errorf("after prune and re-enqueue: %q, want bdea", ids(got))
	}
}

func TestFilePermissionsAndWAL(t *testing.T) {
	root := t.TempDir()
	path := DefaultPath(root)
	s := openAt(t, path)
	mustAppend(t, s, userMsg("k", "x")) // the WAL exists once written
	for _, tc := range []struct {
		path string
		want os.FileMode
	}{
		{filepath.Dir(path), 0o700 | os.ModeDir},
		{path, 0o600},
		{path + "-wal", 0o600},
		{path + "-shm", 0o600},
	} {
		fi, err := os.Stat(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != tc.want {
			t.Errorf("%s: mode %v, want %v", tc.path, fi.Mode(), tc.want)
		}
	}
	var mode string
	if err := s.rdb.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q %v, want wal", mode, err)
	}
	var sync int
	if err := s.w.conn.QueryRowContext(bg, "PRAGMA synchronous").Scan(&sync); err != nil || sync != 2 {
		t.Errorf("writer synchronous = %d %v, want 2 (FULL)", sync, err)
	}
	// Readers cannot write.
	if _, err := s.rdb.Exec("DELETE FROM kv"); err == nil {
		t.Errorf("the read pool accepted a write")
	}
}

func TestExistingFileTightened(t *testing.T) {
	path := tempPath(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o644)
	openAt(t, path)
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

// TestReadsDuringWrites checks that readers always see a consistent prefix.
func TestReadsDuringWrites(t *testing.T) {
	s := openT(t)
	const key, n = "agent:main:main", 300
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for i := range n {
			s.AppendAsync(userMsg(key, strconv.Itoa(i)), nil)
			if i%50 == 49 {
				mustAppend(t, s, userMsg(key, "sync"))
			}
		}
	})
	for range 3 {
		wg.Go(func() {
			last := 0
			for {
				select {
				case <-done:
					return
				default:
				}
				msgs, total, err := s.History(bg, key, 10)
				if err != nil {
					t.Error(err)
					return
				}
				if total < last || len(msgs) != min(10, total) ||
					(total > 0 && msgs[len(msgs)-1].Seq != int64(total)) {
					t.Errorf("inconsistent read: total %d (previous %d), %d msgs", total, last, len(msgs))
					return
				}
				last = total
			}
		})
	}
	wg.Wait()
}

// TestCancelWhileQueued: an op whose caller gave up before its batch started
// is not applied.
func TestCancelWhileQueued(t *testing.T) {
	release := make(chan struct{})
	var first atomic.Bool
	first.Store(true)
	s, err := open(tempPath(t), options{beforeBatch: func() {
		if first.CompareAndSwap(true, false) {
			<-release
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(bg)
	errc := make(chan error, 1)
	go func() {
		_, err := s.Append(ctx, userMsg("k", "cancelled"))
		errc <- err
	}()
	for s.queued() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Append err = %v, want context.Canceled", err)
	}
	close(release)
	if m := mustAppend(t, s, userMsg("k", "kept")); m.Seq != 1 {
		t.Errorf("seq %d, want 1: the cancelled append was applied", m.Seq)
	}
	if _, total, _ := s.History(bg, "k", 0); total != 1 {
		t.Errorf("total %d, want 1", total)
	}
}

func (s *SQLite) queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// EnqueueBatch keeps its items in order among concurrent producers, skips
// ids already seen, and commits the marker with (never ahead of) the items.
func TestEnqueueBatch(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		var wg sync.WaitGroup
		for p := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := range 10 {
					items := make([]Item, 5)
					for i := range items {
						items[i] = Item{Partition: fmt.Sprint("p", p), ID: fmt.Sprintf("%d-%02d-%d", p, b, i), Payload: []byte("x")}
					}
					mark := &KV{NS: "offset", Key: fmt.Sprint(p), Value: []byte(fmt.Sprint(b))}
					ins, err := s.EnqueueBatch(bg, "q", items, mark)
					if err != nil || len(ins) != 5 || !ins[0] || !ins[4] {
						t.Errorf("EnqueueBatch: %v %v", ins, err)
					}
				}
			}()
		}
		wg.Wait()
		for p := range 4 {
			got, err := s.PendingPartition(bg, "q", fmt.Sprint("p", p), 0)
			if err != nil || len(got) != 50 {
				t.Fatalf("partition %d: %d items, %v", p, len(got), err)
			}
			for i := 1; i < len(got); i++ {
				if got[i-1].ID >= got[i].ID {
					t.Fatalf("partition %d out of order: %s before %s", p, got[i-1].ID, got[i].ID)
				}
			}
			if v, ok, _ := s.Get(bg, "offset", fmt.Sprint(p)); !ok || string(v) != "9" {
				t.Fatalf("marker %d = %q", p, v)
			}
		}
		ins, err := s.EnqueueBatch(bg, "q", []Item{{Partition: "p0", ID: "0-00-0"}, {Partition: "p0", ID: "new"}}, nil)
		if err != nil || ins[0] || !ins[1] {
			t.Fatalf("dedupe: %v %v", ins, err)
		}
		if _, err := s.EnqueueBatch(bg, "q", []Item{{ID: ""}}, nil); err == nil {
			t.Fatal("an empty id was accepted")
		}
	})
}

// PutAsync applies writes in submission order and reports durability; Scan
// and PutMany see and write a whole namespace.
func TestPutAsyncScanPutMany(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		done := make(chan error, 100)
		for i := range 100 {
			s.PutAsync("ns", "k", []byte(fmt.Sprint(i)), func(err error) { done <- err })
		}
		for range 100 {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		if v, ok, _ := s.Get(bg, "ns", "k"); !ok || string(v) != "99" {
			t.Fatalf("last write lost its place: %q", v)
		}
		if err := s.PutMany(bg, []KV{{NS: "ns", Key: "a", Value: []byte("1")}, {NS: "ns", Key: "b"}, {NS: "other", Key: "c", Value: []byte("3")}}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Scan(bg, "ns")
		if err != nil || len(got) != 3 || string(got["a"]) != "1" || got["b"] == nil || string(got["k"]) != "99" {
			t.Fatalf("Scan = %q, %v", got, err)
		}
		s.PutAsync("", "x", nil, func(err error) { done <- err })
		if err := <-done; err == nil {
			t.Fatal("an empty namespace was accepted")
		}
	})
}

// TestSweepPrunesAcknowledged: the periodic sweep deletes acknowledged
// queue items past the retention, so an id can be queued again; pending
// items stay.
func TestSweepPrunesAcknowledged(t *testing.T) {
	s, err := open(filepath.Join(t.TempDir(), "s.sqlite"), options{sweepEvery: 10 * time.Millisecond, retention: -time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	bg := context.Background()
	for _, id := range []string{"a", "b"} {
		if _, err := s.Enqueue(bg, "q", "p", id, []byte(id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Ack(bg, "q", "a"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ins, err := s.Enqueue(bg, "q", "p", "a", []byte("again"))
		if err != nil {
			t.Fatal(err)
		}
		if ins {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the acknowledged item was never pruned")
		}
		time.Sleep(10 * time.Millisecond)
	}
	got, err := s.Pending(bg, "q", 0)
	if err != nil || len(got) != 2 || got[0].ID != "b" || got[1].ID != "a" {
		t.Fatalf("pending after the sweep = %+v, %v; want b then the requeued a", got, err)
	}
}

// TestOpenRefusesACorruptDatabase: a file whose pages were overwritten is
// refused at open with ErrCorrupt and what to do, not opened for every
// later write to fail.
func TestOpenRefusesACorruptDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.sqlite")
	s := openAt(t, path)
	big := []byte(`"` + strings.Repeat("x", 3000) + `"`)
	for i := 0; i < 200; i++ {
		if _, err := s.Append(context.Background(), Message{SessionKey: "agent:main:main", Role: "user", Content: big}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Garbage over pages 3 to 40: b-tree pages of the tables, not the header.
	junk := bytes.Repeat([]byte{0xA5, 0x5A, 0x00, 0xFF}, 4096*38/4)
	if _, err := f.WriteAt(junk, 4096*2); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = Open(path)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), ".recover") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Open of a corrupt file: %v", err)
	}
}

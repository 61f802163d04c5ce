package jsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"openclaw/actors/store"
	"openclaw/actors/store/jsstore/natstest"
)

var bg = context.Background()

// settle bounds the waits for something another gateway did to show up
// (a watcher delivery, a lock's expiry); it normally takes milliseconds.
const settle = 30 * time.Second

// open opens the cluster's store on its own connection to srv, as a
// gateway would.
func open(t *testing.T, srv *server.Server, cfg Config) *Store {
	t.Helper()
	if cfg.Cluster == "" {
		cfg.Cluster = "test"
	}
	s, err := Open(bg, natstest.Connect(t, srv), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func userMsg(key, text string) store.Message {
	c, _ := json.Marshal(text)
	return store.Message{SessionKey: key, Role: "user", Content: c}
}

func texts(t *testing.T, msgs []store.Message) []string {
	t.Helper()
	var out []string
	for _, m := range msgs {
		var s string
		if err := json.Unmarshal(m.Content, &s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// eventually polls cond until it holds or settle passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(settle)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s", what, settle)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Two gateways on one NATS: what one writes, the other reads, and appends
// from both to one session interleave without losing or sharing a seq.
func TestTwoGatewaysShareSessions(t *testing.T) {
	srv := natstest.Start(t)
	a, b := open(t, srv, Config{}), open(t, srv, Config{})
	const key = "agent:main:telegram:dm:42"

	var wg sync.WaitGroup
	const each = 30
	for i, s := range []*Store{a, b} {
		wg.Go(func() {
			for j := range each {
				if _, err := s.Append(bg, userMsg(key, fmt.Sprintf("%c%d", 'a'+i, j))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, s := range []*Store{a, b} {
		msgs, total, err := s.History(bg, key, 0)
		if err != nil || total != 2*each || len(msgs) != 2*each {
			t.Fatalf("History: %d messages, total %d, %v", len(msgs), total, err)
		}
		for i, m := range msgs {
			if m.Seq != int64(i+1) {
				t.Fatalf("seq %d at %d", m.Seq, i)
			}
		}
		// Each gateway's own messages stay in its order.
		var fromA []string
		for _, x := range texts(t, msgs) {
			if x[0] == 'a' {
				fromA = append(fromA, x)
			}
		}
		if len(fromA) != each || !slices.IsSortedFunc(fromA, func(x, y string) int {
			var i, j int
			fmt.Sscanf(x[1:], "%d", &i)
			fmt.Sscanf(y[1:], "%d", &j)
			return i - j
		}) {
			t.Fatalf("a's messages: %v", fromA)
		}
	}
	// A page from the other gateway.
	msgs, total, _ := b.History(bg, key, 5)
	if total != 2*each || len(msgs) != 5 || msgs[4].Seq != 2*each {
		t.Fatalf("last page: %d messages, total %d", len(msgs), total)
	}
	// Settings and listings cross over too (listings within the watch delay).
	if _, err := a.PatchSession(bg, key, store.SessionPatch{Label: new("Ann")}); err != nil {
		t.Fatal(err)
	}
	if si, ok, err := b.Session(bg, key); err != nil || !ok || si.Label != "Ann" || si.MessageCount != 2*each {
		t.Fatalf("b sees %+v %v %v", si, ok, err)
	}
	eventually(t, "b lists a's label", func() bool {
		l, _, _ := b.ListSessions(bg, store.SessionQuery{Label: "Ann"})
		return len(l) == 1 && l[0].Key == key
	})
	if _, err := b.DeleteSession(bg, key); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a lists the deletion", func() bool { n, _ := a.CountSessions(bg, ""); return n == 0 })
	if _, total, _ := a.History(bg, key, 0); total != 0 {
		t.Fatalf("history after delete on the other gateway: %d", total)
	}

	// The kv namespaces are shared.
	if err := a.Put(bg, "devices", "d1", []byte(`{"id":"d1"}`)); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := b.Get(bg, "devices", "d1"); err != nil || !ok || string(v) != `{"id":"d1"}` {
		t.Fatalf("b.Get = %q %v %v", v, ok, err)
	}
}

// The lock serialises holders, expires without renewals, and its token
// fences a holder that stalled past the TTL: its renewal, release and
// writes are refused once another gateway took the session.
func TestLockFencesAStaleHolder(t *testing.T) {
	srv := natstest.Start(t)
	cfg := Config{LockTTL: time.Second}
	a, b := open(t, srv, cfg), open(t, srv, cfg)
	const key = "agent:main:main"

	la, err := a.LockSession(bg, key, "gw-a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.LockSession(bg, key, "gw-b"); !errors.Is(err, ErrLocked) {
		t.Fatalf("second holder: %v, want ErrLocked", err)
	}
	if err := la.Renew(bg); err != nil {
		t.Fatalf("renew: %v", err)
	}
	if _, err := la.Append(bg, userMsg(key, "from a")); err != nil {
		t.Fatal(err)
	}
	// a stalls: no renewal; its lock expires and b takes the session.
	var lb *Lock
	eventually(t, "b takes the expired lock", func() bool {
		lb, err = b.LockSession(bg, key, "gw-b")
		return err == nil
	})
	if lb.Token() <= la.Token() {
		t.Fatalf("tokens do not grow: a %d, b %d", la.Token(), lb.Token())
	}
	if _, err := lb.Append(bg, userMsg(key, "from b")); err != nil {
		t.Fatal(err)
	}
	// a wakes up: its write under the old token is refused…
	if _, err := la.Append(bg, userMsg(key, "late from a")); !errors.Is(err, ErrFenced) {
		t.Fatalf("stale append: %v, want ErrFenced", err)
	}
	// …and so are its renewal and release, which leave b's lock alone.
	if err := la.Renew(bg); !errors.Is(err, ErrLockLost) {
		t.Fatalf("stale renew: %v", err)
	}
	if err := la.Unlock(bg); !errors.Is(err, ErrLockLost) {
		t.Fatalf("stale unlock: %v", err)
	}
	if _, err := a.LockSession(bg, key, "gw-a"); !errors.Is(err, ErrLocked) {
		t.Fatalf("b's lock was released by a: %v", err)
	}
	msgs, _, _ := a.History(bg, key, 0)
	if got := texts(t, msgs); !slices.Equal(got, []string{"from a", "from b"}) {
		t.Fatalf("transcript %q", got)
	}
	// Released, it is free at once.
	if err := lb.Unlock(bg); err != nil {
		t.Fatal(err)
	}
	if _, err := a.LockSession(bg, key, "gw-a"); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

// KeepAlive keeps a lock past its TTL.
func TestLockKeepAlive(t *testing.T) {
	srv := natstest.Start(t)
	s := open(t, srv, Config{LockTTL: 600 * time.Millisecond})
	l, err := s.LockSession(bg, "k", "gw-a")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	lost := l.KeepAlive(ctx)
	first := l.Token()
	eventually(t, "three renewals", func() bool { return l.Token() >= first+3 })
	if _, err := s.LockSession(bg, "k", "gw-b"); !errors.Is(err, ErrLocked) {
		t.Fatalf("kept-alive lock was taken: %v", err)
	}
	cancel()
	if err := <-lost; err != nil {
		t.Fatalf("KeepAlive ended with %v", err)
	}
}

func TestEscape(t *testing.T) {
	for _, k := range []string{"", "agent:main:main", "a.b c_d/é", "_", "__3A"} {
		e := escape(k)
		if got, err := unescape(e); err != nil || got != k {
			t.Errorf("unescape(escape(%q)) = %q, %v", k, got, err)
		}
		for _, c := range e {
			if c == '.' || c == ' ' || c == '*' || c == '>' {
				t.Errorf("escape(%q) = %q", k, e)
			}
		}
	}
}

// Import copies a standalone gateway's database once: the second run finds
// everything present, and a value the cluster holds differently is
// reported and kept.
func TestImportTwiceImportsOnce(t *testing.T) {
	src, err := store.Open(store.DefaultPath(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for i := range 5 {
		m := userMsg("agent:main:main", fmt.Sprint("m", i))
		m.Usage = json.RawMessage(`{"input":2,"output":1}`)
		if _, err := src.Append(bg, m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := src.TrimSession(bg, "agent:main:main", 3); err != nil { // seqs 3..5 stay
		t.Fatal(err)
	}
	if _, err := src.PatchSession(bg, "agent:main:telegram:dm:7", store.SessionPatch{Label: new("Bo")}); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"d1": "one", "d2": "two"} {
		if err := src.Put(bg, "devices", k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.PutCronJob(bg, "job1", []byte(`{"id":"job1"}`)); err != nil {
		t.Fatal(err)
	}
	run := store.CronRun{JobID: "job1", SlotMs: 60_000, RunID: "r1", Trigger: "schedule"}
	if ok, err := src.ClaimCronSlot(bg, run); err != nil || !ok {
		t.Fatal(ok, err)
	}
	run.Status, run.Summary = "ok", "done"
	if err := src.FinishCronRun(bg, run); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Enqueue(bg, "telegram:default", "chat:1", "update:1", []byte("{}")); err != nil {
		t.Fatal(err)
	}

	dst := open(t, natstest.Start(t), Config{})
	r, err := dst.Import(bg, src)
	if err != nil {
		t.Fatal(err)
	}
	if r.Sessions != 2 || r.Messages != 3 || r.Keys != 2 || r.CronJobs != 1 || r.CronRuns != 1 ||
		r.QueueItems != 1 || r.SessionsPresent+r.KeysPresent+r.CronPresent+r.QueuePresent != 0 || !r.Complete() {
		t.Fatalf("first import: %+v", r)
	}
	for _, key := range []string{"agent:main:main", "agent:main:telegram:dm:7"} {
		want, wantTotal, _ := src.History(bg, key, 0)
		got, total, err := dst.History(bg, key, 0)
		if err != nil || total != wantTotal || len(got) != len(want) {
			t.Fatalf("%s: %d messages, total %d, %v", key, len(got), total, err)
		}
		for i := range want {
			a, _ := json.Marshal(want[i])
			b, _ := json.Marshal(got[i])
			if string(a) != string(b) {
				t.Fatalf("%s #%d:\n got %s\nwant %s", key, i, b, a)
			}
		}
		wi, _, _ := src.Session(bg, key)
		gi, _, _ := dst.Session(bg, key)
		if wi != gi {
			t.Fatalf("%s:\n got %+v\nwant %+v", key, gi, wi)
		}
	}
	if items, err := dst.Pending(bg, "telegram:default", 0); err != nil || len(items) != 1 || items[0].ID != "update:1" ||
		items[0].Partition != "chat:1" || string(items[0].Payload) != "{}" {
		t.Fatalf("imported queue: %+v, %v", items, err)
	}
	runs, _, err := dst.CronRuns(bg, store.CronRunQuery{})
	if err != nil || len(runs) != 1 || runs[0].RunID != "r1" || runs[0].Summary != "done" || runs[0].Status != "ok" {
		t.Fatalf("imported runs: %+v, %v", runs, err)
	}
	if ok, err := dst.ClaimCronSlot(bg, store.CronRun{JobID: "job1", SlotMs: 60_000, RunID: "r1-again"}); err != nil || ok {
		t.Fatalf("a slot run before the import was claimed again: %v %v", ok, err)
	}
	if m, err := dst.Append(bg, userMsg("agent:main:main", "after")); err != nil || m.Seq != 6 {
		t.Fatalf("append after import: seq %d, %v", m.Seq, err)
	}

	// The cluster moves on; a second import changes nothing.
	if err := dst.Put(bg, "devices", "d2", []byte("changed in the cluster")); err != nil {
		t.Fatal(err)
	}
	r, err = dst.Import(bg, src)
	if err != nil {
		t.Fatal(err)
	}
	if r.Sessions+r.Messages+r.Keys+r.CronJobs+r.CronRuns+r.QueueItems != 0 || r.SessionsPresent != 2 || r.KeysPresent != 1 ||
		r.CronPresent != 2 || r.QueuePresent != 1 ||
		!slices.Equal(r.Conflicts, []string{"kv devices/d2: the cluster holds another value"}) {
		t.Fatalf("second import: %+v", r)
	}
	if v, _, _ := dst.Get(bg, "devices", "d2"); string(v) != "changed in the cluster" {
		t.Fatalf("import overwrote the cluster's value: %q", v)
	}
	if _, total, _ := dst.History(bg, "agent:main:main", 0); total != 4 {
		t.Fatalf("history after the second import: %d messages", total)
	}
}

// A page is read in one batch from its first message's stream position:
// a compaction's summary, rewritten after the messages that follow it, and
// the purge markers a trim leaves, still give the page in seq order.
func TestHistoryPageAfterCompactionAndTrim(t *testing.T) {
	s := open(t, natstest.Start(t), Config{})
	const key = "agent:main:main"
	for i := 1; i <= 30; i++ {
		if _, err := s.Append(bg, userMsg(key, fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	want := func(from, to int) []string {
		var out []string
		for i := from; i <= to; i++ {
			out = append(out, fmt.Sprint(i))
		}
		return out
	}
	if _, err := s.TrimSession(bg, key, 25); err != nil { // 6..30 stay
		t.Fatal(err)
	}
	msgs, total, err := s.History(bg, key, 0)
	if err != nil || total != 25 || !slices.Equal(texts(t, msgs), want(6, 30)) {
		t.Fatalf("after trim: total %d, %q, %v", total, texts(t, msgs), err)
	}
	si, _, _ := s.Session(bg, key)
	sum, _ := json.Marshal("summary")
	if _, _, err := s.CompactSession(bg, key, si.SessionID, 10, store.Message{Role: "system", Content: sum}); err != nil {
		t.Fatal(err)
	}
	msgs, total, err = s.History(bg, key, 0)
	if err != nil || total != 21 || !slices.Equal(texts(t, msgs), append([]string{"summary"}, want(11, 30)...)) ||
		msgs[0].Seq != 10 || msgs[20].Seq != 30 {
		t.Fatalf("after compaction: total %d, %q, %v", total, texts(t, msgs), err)
	}
	first, err := s.FirstMessages(bg, key, 12)
	if err != nil || len(first) != 12 || first[0].Seq != 10 || first[11].Seq != 21 {
		t.Fatalf("FirstMessages: %d, %v", len(first), err)
	}
}

// With three replicas on a three-server JetStream cluster, a transcript
// written through one server is read through another, and still after the
// first server is gone: a turn survives the loss of the gateway (and the
// embedded NATS) that ran it.
func TestReplicasSurviveTheLossOfAServer(t *testing.T) {
	srvs := natstest.StartCluster(t, 3)
	var a, c *Store
	eventually(t, "the buckets are created with 3 replicas", func() bool {
		s, err := Open(bg, natstest.Connect(t, srvs[0]), Config{Cluster: "prod", Replicas: 3})
		if err != nil {
			return false
		}
		t.Cleanup(func() { s.Close() })
		a = s
		return true
	})
	for _, name := range []string{"KV_prod_sessions", "KV_prod_messages", "KV_prod_kv"} {
		st, err := a.js.Stream(bg, name)
		if err != nil || st.CachedInfo().Config.Replicas != 3 {
			t.Fatalf("%s: %v", name, err)
		}
	}
	const key = "agent:main:main"
	for i := range 3 {
		if _, err := a.Append(bg, userMsg(key, fmt.Sprint("turn ", i))); err != nil {
			t.Fatal(err)
		}
	}
	c = open(t, srvs[2], Config{Cluster: "prod"})
	srvs[0].Shutdown()
	srvs[0].WaitForShutdown()
	eventually(t, "the transcript is read through the third server without the first", func() bool {
		msgs, total, err := c.History(bg, key, 0)
		return err == nil && total == 3 && slices.Equal(texts(t, msgs), []string{"turn 0", "turn 1", "turn 2"})
	})
	eventually(t, "a turn is appended without the first server", func() bool {
		_, err := c.Append(bg, userMsg(key, "turn 3"))
		return err == nil
	})
	msgs, _, err := c.History(bg, key, 1)
	if err != nil || len(msgs) != 1 || texts(t, msgs)[0] != "turn 3" {
		t.Fatalf("last message after the loss: %v, %v", msgs, err)
	}
}

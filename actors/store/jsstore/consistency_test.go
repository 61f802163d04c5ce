package jsstore

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"openclaw/actors/store"
	"openclaw/actors/store/jsstore/natstest"
)

// consistencyRounds is how many times each case writes on one gateway and
// reads at once on another: a replica a few milliseconds behind its leader
// served a stale read in most runs of 50 before the reads went to the
// leaders.
const consistencyRounds = 100

// Three gateways, each on its own server of a three-server JetStream
// cluster with three replicas: a read made anywhere right after a write was
// acknowledged anywhere sees that write (or a later one), never an older
// state.
func TestReadYourWritesAcrossGateways(t *testing.T) {
	srvs := natstest.StartCluster(t, 3)
	// Each Open is tried again until the cluster's JetStream answers in
	// time, as the gateway's untilQuorum does: binding a replicated bucket
	// can take past a request's deadline on a loaded machine.
	var gws [3]*Store
	for i, cfg := range []Config{{Cluster: "rw", Replicas: 3}, {Cluster: "rw"}, {Cluster: "rw"}} {
		eventually(t, fmt.Sprintf("gateway %d opens the store (the first creates the buckets, 3 replicas)", i), func() bool {
			s, err := Open(bg, natstest.Connect(t, srvs[i]), cfg)
			if err != nil {
				return false
			}
			t.Cleanup(func() { s.Close() })
			gws[i] = s
			return true
		})
	}
	// pair is round i's writer and reader: every ordered pair of gateways.
	pair := func(i int) (w, r *Store) { return gws[i%3], gws[(i+1+i/3%2)%3] }

	tests := []struct {
		name string
		// round writes on w and checks at once, on r, that the write is there.
		round func(t *testing.T, i int, w, r *Store) error
	}{
		{"key-value put", func(t *testing.T, i int, w, r *Store) error {
			v := strconv.Itoa(i)
			if err := w.Put(bg, "devices", "dev-1", []byte(v)); err != nil {
				t.Fatal(err)
			}
			got, ok, err := r.Get(bg, "devices", "dev-1")
			if err != nil || !ok || string(got) != v {
				return fmt.Errorf("read %q (found %v, %v), want %q", got, ok, err, v)
			}
			return nil
		}},
		{"key-value delete", func(t *testing.T, i int, w, r *Store) error {
			key := "idem-" + strconv.Itoa(i)
			if err := w.Put(bg, "idempotency", key, []byte("x")); err != nil {
				t.Fatal(err)
			}
			if _, ok, err := r.Get(bg, "idempotency", key); err != nil || !ok {
				return fmt.Errorf("a new key not found (%v)", err)
			}
			if err := r.Delete(bg, "idempotency", key); err != nil {
				t.Fatal(err)
			}
			if _, ok, err := w.Get(bg, "idempotency", key); err != nil || ok {
				return fmt.Errorf("a deleted key still found (%v)", err)
			}
			return nil
		}},
		{"session entry", func(t *testing.T, i int, w, r *Store) error {
			label := "label " + strconv.Itoa(i)
			if _, err := w.PatchSession(bg, "agent:main:patch", store.SessionPatch{Label: &label}); err != nil {
				t.Fatal(err)
			}
			info, ok, err := r.Session(bg, "agent:main:patch")
			if err != nil || !ok || info.Label != label {
				return fmt.Errorf("label %q (found %v, %v), want %q", info.Label, ok, err, label)
			}
			return nil
		}},
		{"history after an append", func(t *testing.T, i int, w, r *Store) error {
			const key = "agent:main:main"
			m, err := w.Append(bg, userMsg(key, "turn "+strconv.Itoa(i)))
			if err != nil {
				t.Fatal(err)
			}
			// A short page (single reads) and a long one (a batched read).
			for _, limit := range []int{2, 3 * pageMin} {
				msgs, total, err := r.History(bg, key, limit)
				if err != nil {
					t.Fatal(err)
				}
				if n := len(msgs); total != int(m.Seq) || n != min(total, limit) || msgs[n-1].Seq != m.Seq ||
					texts(t, msgs[n-1:])[0] != "turn "+strconv.Itoa(i) {
					return fmt.Errorf("limit %d: %d messages of %d, want the last at seq %d", limit, n, total, m.Seq)
				}
			}
			return nil
		}},
		{"history after a compaction", func(t *testing.T, i int, w, r *Store) error {
			const key = "agent:main:compact"
			var last store.Message
			for j := range pageMin + 1 {
				var err error
				if last, err = w.Append(bg, userMsg(key, fmt.Sprint("turn ", i, ".", j))); err != nil {
					t.Fatal(err)
				}
			}
			id, err := w.SessionID(bg, key)
			if err != nil {
				t.Fatal(err)
			}
			sum := "summary " + strconv.Itoa(i)
			if _, _, err := w.CompactSession(bg, key, id, last.Seq-1, userMsg(key, sum)); err != nil {
				t.Fatal(err)
			}
			msgs, total, err := r.History(bg, key, 0)
			if err != nil {
				t.Fatal(err)
			}
			if total != 2 || len(msgs) != 2 || texts(t, msgs[:1])[0] != sum || msgs[1].Seq != last.Seq {
				return fmt.Errorf("%d messages of %d, want the summary and seq %d", len(msgs), total, last.Seq)
			}
			return nil
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i := range consistencyRounds {
				w, r := pair(i)
				if err := tc.round(t, i, w, r); err != nil {
					t.Fatalf("round %d: a stale read: %v", i, err)
				}
			}
		})
	}
}

// Buckets an earlier version created let any replica answer a get: Open
// makes the gets of every bucket but the transcripts' go to the leader,
// in place, keeping what they hold.
func TestOpenSendsGetsToTheLeader(t *testing.T) {
	srv := natstest.Start(t)
	js := natstest.Connect(t, srv)
	sn, mn, kn, ln, cn, qn := bucketNames("old")
	for _, name := range []string{sn, mn, kn, ln, cn, qn} {
		kv, err := js.CreateKeyValue(bg, jetstream.KeyValueConfig{Bucket: name, History: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kv.Put(bg, "kept", []byte(name)); err != nil {
			t.Fatal(err)
		}
	}
	s := open(t, srv, Config{Cluster: "old"})
	for _, tc := range []struct {
		name   string
		direct bool
	}{{sn, false}, {mn, true}, {kn, false}, {ln, false}, {cn, false}, {qn, false}} {
		st, err := js.Stream(bg, "KV_"+tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.CachedInfo().Config.AllowDirect; got != tc.direct {
			t.Errorf("%s: allow_direct %v, want %v", tc.name, got, tc.direct)
		}
	}
	if v, err := s.kv.Get(bg, "kept"); err != nil || string(v.Value()) != kn {
		t.Fatalf("an entry from before: %v", err)
	}
}

// Open creates the buckets with their final AllowDirect (no update of a
// stream it just created), as the KV buckets nats.go makes otherwise: a
// second Open binds them as they are.
func TestOpenCreatesBucketsAsKeyValues(t *testing.T) {
	srv := natstest.Start(t)
	js := natstest.Connect(t, srv)
	open(t, srv, Config{Cluster: "new", LockTTL: 2 * time.Second})
	sn, mn, kn, ln, cn, qn := bucketNames("new")
	for _, tc := range []struct {
		name   string
		direct bool
		ttl    time.Duration
	}{{sn, false, 0}, {mn, true, 0}, {kn, false, 0}, {ln, false, 2 * time.Second}, {cn, false, 0}, {qn, false, 0}} {
		st, err := js.Stream(bg, "KV_"+tc.name)
		if err != nil {
			t.Fatal(err)
		}
		c := st.CachedInfo().Config
		if c.AllowDirect != tc.direct || c.MaxAge != tc.ttl || c.MaxMsgsPerSubject != 1 || !c.AllowRollup || !c.DenyDelete ||
			c.Discard != jetstream.DiscardNew || !slices.Equal(c.Subjects, []string{"$KV." + tc.name + ".>"}) {
			t.Errorf("%s: %+v", tc.name, c)
		}
		kv, err := js.KeyValue(bg, tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if st, err := kv.Status(bg); err != nil || st.Bucket() != tc.name || st.History() != 1 || st.TTL() != tc.ttl {
			t.Errorf("%s: status %+v, %v", tc.name, st, err)
		}
	}
	if s2 := open(t, srv, Config{Cluster: "new"}); s2.cfg.LockTTL != 2*time.Second {
		t.Errorf("the lock TTL of the bucket: %s", s2.cfg.LockTTL)
	}
}

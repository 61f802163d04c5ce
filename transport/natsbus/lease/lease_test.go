package lease

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startNATS runs a real single-node NATS server with JetStream on a
// loopback port and returns a JetStream handle on it.
func startNATS(t *testing.T) jetstream.JetStream {
	_, js := startServer(t)
	return js
}

// startServer is startNATS with the server, for a test that cuts it off.
func startServer(t *testing.T) (*server.Server, jetstream.JetStream) {
	t.Helper()
	srv, err := server.NewServer(&server.Options{ServerName: "lease-test", Host: "127.0.0.1", Port: server.RANDOM_PORT,
		JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(20 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(srv.Shutdown)
	nc, err := nats.Connect(srv.ClientURL(), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return srv, js
}

func open(t *testing.T, js jetstream.JetStream, node string, ttl time.Duration) *Manager {
	t.Helper()
	m, err := Open(context.Background(), js, Config{Bucket: "oc_test_leases", Node: node, TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// campaign runs b's campaign for key in the background.
func campaign(t *testing.T, m *Manager, key string) <-chan *Lease {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	out := make(chan *Lease, 1)
	go func() {
		l, err := m.Campaign(ctx, key, nil)
		if err == nil {
			out <- l
		}
	}()
	return out
}

func TestKey(t *testing.T) {
	for _, tt := range []struct{ channel, account, want string }{
		{"telegram", "default", "telegram.default"},
		{"telegram", "ops_bot-2", "telegram.ops_bot-2"},
		{"telegram", "a.b", "telegram.=YS5i"},
		{"telegram", "=x", "telegram.=PXg"},
	} {
		if got := Key(tt.channel, tt.account); got != tt.want {
			t.Errorf("Key(%q, %q) = %q, want %q", tt.channel, tt.account, got, tt.want)
		}
	}
}

// One holder at a time; the holder's fencing updates move the revision on;
// a release hands the lease over at once (the TTL here is far longer than
// the wait) and fences the old holder out.
func TestAcquireFenceRelease(t *testing.T) {
	js := startNATS(t)
	a, b := open(t, js, "gw-a", time.Minute), open(t, js, "gw-b", time.Minute)
	ctx := context.Background()
	la, err := a.Acquire(ctx, "telegram.default")
	if err != nil {
		t.Fatal(err)
	}
	var he *HeldError
	if _, err := b.Acquire(ctx, "telegram.default"); !errors.As(err, &he) || he.Info.Owner != "gw-a" || !errors.Is(err, ErrHeld) {
		t.Fatalf("second acquire: %v, want held by gw-a", err)
	}
	rev := la.Info().Revision
	if err := la.Fence(ctx); err != nil || la.Info().Revision <= rev {
		t.Fatalf("fence: %v, revision %d after %d", err, la.Info().Revision, rev)
	}
	if in, ok, err := b.Current(ctx, "telegram.default"); err != nil || !ok || in.Owner != "gw-a" || in.Revision != la.Info().Revision {
		t.Fatalf("current: %+v %v %v, want gw-a at %d", in, ok, err, la.Info().Revision)
	}
	won := campaign(t, b, "telegram.default")
	if err := la.Release(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case lb := <-won:
		if lb.Info().Owner != "gw-b" {
			t.Fatalf("new lease %+v", lb.Info())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the standby did not take the released lease (the TTL is a minute)")
	}
	if err := la.Fence(ctx); !errors.Is(err, ErrLost) {
		t.Fatalf("fence after release: %v, want ErrLost", err)
	}
}

// A holder that stops renewing (paused) loses the lease at its expiry: the
// standby's watcher sees the expiry marker and takes it, and the old
// holder's next fencing update is refused.
func TestExpiryFencesStaleHolder(t *testing.T) {
	js := startNATS(t)
	a, b := open(t, js, "gw-a", time.Second), open(t, js, "gw-b", time.Second)
	ctx := context.Background()
	la, err := a.Acquire(ctx, "telegram.default")
	if err != nil {
		t.Fatal(err)
	}
	var lb *Lease
	select {
	case lb = <-campaign(t, b, "telegram.default"):
	case <-time.After(30 * time.Second):
		t.Fatal("the lease never expired for the standby")
	}
	if err := la.Fence(ctx); !errors.Is(err, ErrLost) {
		t.Fatalf("the stale holder's fence: %v, want ErrLost", err)
	}
	select {
	case <-la.Lost():
	default:
		t.Fatal("Lost not closed")
	}
	if err := lb.Fence(ctx); err != nil {
		t.Fatalf("the new holder's fence: %v", err)
	}
	// The stale holder's release leaves the new holder's lease alone.
	if err := la.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := lb.Fence(ctx); err != nil {
		t.Fatalf("the new holder's fence after the stale release: %v", err)
	}
}

// Keep renews the lease past its TTL: after several renewals (more than a
// TTL), the standby still finds it held.
func TestKeepRenews(t *testing.T) {
	js := startNATS(t)
	a, b := open(t, js, "gw-a", time.Second), open(t, js, "gw-b", time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	la, err := a.Acquire(ctx, "telegram.default")
	if err != nil {
		t.Fatal(err)
	}
	first := la.Info().Revision
	done := la.Keep(ctx)
	deadline := time.Now().Add(30 * time.Second)
	// Four renewals a third of the TTL apart: past the TTL.
	for la.Info().Revision < first+4 {
		if time.Now().After(deadline) {
			t.Fatalf("revision %d: not renewed", la.Info().Revision)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := b.Acquire(ctx, "telegram.default"); !errors.Is(err, ErrHeld) {
		t.Fatalf("acquire of a kept lease: %v, want ErrHeld", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("keep ended with %v, want nil on cancel", err)
	}
}

// A holder cut off from NATS cannot renew: Keep gives the lease up (the
// reason says it was not renewed) and its fencing refuses every change
// from then on, without any network call.
func TestKeepLosesWhenCutOff(t *testing.T) {
	srv, js := startServer(t)
	m := open(t, js, "gw-a", time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, err := m.Acquire(ctx, "telegram.default")
	if err != nil {
		t.Fatal(err)
	}
	done := l.Keep(ctx)
	srv.Shutdown() // the cut
	select {
	case why := <-done:
		if why == nil || !strings.Contains(why.Error(), "not renewed") {
			t.Fatalf("keep ended with %v, want the lease given up as not renewed", why)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a cut-off holder kept its lease")
	}
	if err := l.Fence(ctx); !errors.Is(err, ErrLost) {
		t.Fatalf("fence after the cut: %v, want ErrLost", err)
	}
}

// lostAnswers is a real bucket whose creates are written but answered with
// a timeout, as when the stream's leader moves while the answer is on its
// way.
type lostAnswers struct {
	jetstream.KeyValue
	lose bool
}

func (k *lostAnswers) Create(ctx context.Context, key string, v []byte, opts ...jetstream.KVCreateOpt) (uint64, error) {
	rev, err := k.KeyValue.Create(ctx, key, v, opts...)
	if err == nil && k.lose {
		return 0, context.DeadlineExceeded
	}
	return rev, err
}

// A create whose answer was lost leaves this gateway's own entry behind: the
// next Acquire adopts it (fenced, at a newer revision) instead of finding it
// held for a TTL; an entry of this node it did not write is still held, and
// so is another node's.
func TestAcquireAdoptsItsLostCreate(t *testing.T) {
	js := startNATS(t)
	ctx := context.Background()
	base := open(t, js, "gw-a", time.Minute)
	kv := &lostAnswers{KeyValue: base.kv, lose: true}
	a := New(kv, "gw-a", time.Minute)
	if _, err := a.Acquire(ctx, "k1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("acquire with its answer lost: %v", err)
	}
	kv.lose = false
	e, err := base.kv.Get(ctx, "k1")
	if err != nil {
		t.Fatalf("the lost create was not written: %v", err)
	}
	l, err := a.Acquire(ctx, "k1")
	if err != nil {
		t.Fatalf("acquire after a lost answer: %v, want its own entry adopted", err)
	}
	if in := l.Info(); in.Owner != "gw-a" || in.Revision <= e.Revision() {
		t.Fatalf("adopted lease %+v, want gw-a past revision %d", in, e.Revision())
	}
	if _, err := New(base.kv, "gw-b", time.Minute).Acquire(ctx, "k1"); !errors.Is(err, ErrHeld) {
		t.Fatalf("another node's acquire: %v, want held", err)
	}
	// The same node's second Acquire of a lease it holds (a second turn of a
	// session on this gateway) is refused: only a lost create is adopted.
	if _, err := a.Acquire(ctx, "k1"); !errors.Is(err, ErrHeld) {
		t.Fatalf("second acquire of a held lease: %v, want held", err)
	}
	if err := l.Fence(ctx); err != nil {
		t.Fatalf("the adopted lease fences: %v", err)
	}
}

// hangingUpdates is a real bucket whose updates, while hang is set, get no
// answer until their context ends: a cut-off server that leads the stream
// waits for a quorum it cannot reach. It records when each update was sent
// and its deadline, and when the last one that succeeded was sent.
type hangingUpdates struct {
	jetstream.KeyValue
	hang      atomic.Bool
	mu        sync.Mutex
	lastOK    time.Time
	deadlines []time.Time
}

func (k *hangingUpdates) Update(ctx context.Context, key string, v []byte, rev uint64) (uint64, error) {
	sent := time.Now()
	if k.hang.Load() {
		d, _ := ctx.Deadline()
		k.mu.Lock()
		k.deadlines = append(k.deadlines, d)
		k.mu.Unlock()
		<-ctx.Done()
		return 0, ctx.Err()
	}
	next, err := k.KeyValue.Update(ctx, key, v, rev)
	if err == nil {
		k.mu.Lock()
		k.lastOK = sent
		k.mu.Unlock()
	}
	return next, err
}

// A holder whose renewals hang (not refused, not answered) gives the lease
// up before it expires for the others: no renewal waits past what is left
// of the lease's validity, so none keeps it acting as the owner after the
// TTL counted from its last successful renewal. (Each hung renewal used to
// wait its full 3 s: at a 4 s TTL the route-cut test saw the owner give up
// 4.17 s after its last renewal.)
func TestKeepLosesWhenRenewalsHang(t *testing.T) {
	js := startNATS(t)
	const ttl = 1200 * time.Millisecond
	base := open(t, js, "gw-a", ttl)
	kv := &hangingUpdates{KeyValue: base.kv}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, err := New(kv, "gw-a", ttl).Acquire(ctx, "telegram.default")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Fence(ctx); err != nil {
		t.Fatal(err)
	}
	kv.hang.Store(true)
	done := l.Keep(ctx)
	select {
	case why := <-done:
		if why == nil || !strings.Contains(why.Error(), "not renewed") {
			t.Fatalf("keep ended with %v, want the lease given up as not renewed", why)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a holder whose renewals hang kept its lease")
	}
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if len(kv.deadlines) == 0 {
		t.Fatal("no renewal was tried after the hang began")
	}
	for i, d := range kv.deadlines {
		if expiry := kv.lastOK.Add(ttl); d.IsZero() || !d.Before(expiry) {
			t.Fatalf("hung renewal %d waits until %s, past the lease's expiry %s (last renewal %s)",
				i, d.Format("15:04:05.000"), expiry.Format("15:04:05.000"), kv.lastOK.Format("15:04:05.000"))
		}
	}
}

// Package lease gives a key of a JetStream KV bucket one holder at a time
// across a cluster: a lease per key, taken by create-if-absent, kept by
// revision-checked updates, handed over by a revision-checked delete. The
// entry's revision is the fencing token: a holder proves it still holds the
// lease by updating it under the revision it holds (Lease.Fence), so a
// gateway that lost the lease (paused past the TTL, cut off from NATS, or
// replaced) has that update refused by the stream's leader and does not
// act on it.
//
// It serves two callers: each channel account of a cluster has one owner
// (issue 19; Open, Campaign, Fence before every state change;
// docs/ARCHITECTURE.md "Channel ownership" says what this guarantees and
// the window that remains), and the turns of one session are serialised
// cluster-wide (actors/store/jsstore binds New to its locks bucket and
// writes a session's messages under the revision).
//
// It knows nothing of actors, channels or sessions: a key is a string.
package lease

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// DefaultTTL is a lease's life without a renewal (gateway.cluster.leaseTTL):
// the owner renews it every third of it, so an owner that dies is replaced
// within this time (plus the server's expiry sweep).
const DefaultTTL = 10 * time.Second

// MinTTL is the shortest TTL accepted: JetStream keeps the expiry markers
// that tell the standbys a lease is gone for at least a second, and a renew
// every third of it must fit a JetStream round trip under load.
const MinTTL = time.Second

// opTimeout bounds one JetStream call (a create, an update, a delete).
const opTimeout = 3 * time.Second

// ErrHeld is returned by Acquire while another gateway holds the lease.
var ErrHeld = errors.New("lease: held by another gateway")

// ErrLost is returned by a lease's calls once it expired, was taken over,
// could not be renewed within its TTL, or was released.
var ErrLost = errors.New("lease: lost")

// Config says which bucket holds the leases.
type Config struct {
	// Bucket is the KV bucket's name ("oc_<cluster>_leases").
	Bucket string
	// Replicas is how many copies JetStream keeps (1..5; 0 means 1), for
	// a bucket this Open creates.
	Replicas int
	// TTL is a lease's life without a renewal (DefaultTTL when zero), for
	// a bucket this Open creates; an existing bucket's TTL wins.
	TTL time.Duration
	// Node names this gateway: a lease's value, shown as its owner.
	Node string
}

// Manager takes and watches the leases of one bucket for one gateway.
type Manager struct {
	kv   jetstream.KeyValue
	node string
	ttl  time.Duration

	// unsure holds, per key, the value of this gateway's last create whose
	// answer never came (a timeout while the stream's leader moved): it
	// may have been written. Without it this gateway would find its own
	// entry "held" and wait out the TTL for a lease nobody uses.
	mu     sync.Mutex
	unsure map[string][]byte
}

// Info is who holds a lease.
type Info struct {
	Owner    string `json:"owner"` // the holder's node name
	Since    int64  `json:"since"` // ms: when it took the lease
	Revision uint64 `json:"-"`     // the entry's revision: the fencing token
}

// New takes leases in a bucket opened elsewhere (its history 1, its MaxAge
// ttl: what a lease lives without a renewal) for node. Campaign needs the
// bucket's expiry markers (Open creates them) to hear of an expiry at once;
// without them it tries every third of the TTL.
func New(kv jetstream.KeyValue, node string, ttl time.Duration) *Manager {
	return &Manager{kv: kv, node: node, ttl: ttl}
}

// Open binds to the bucket, or creates it: history 1, the TTL as its
// MaxAge, and expiry markers so that a watcher sees a lease expire.
func Open(ctx context.Context, js jetstream.JetStream, cfg Config) (*Manager, error) {
	if cfg.Bucket == "" || cfg.Node == "" {
		return nil, errors.New("lease: a bucket and a node name are needed")
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.TTL < MinTTL {
		return nil, fmt.Errorf("lease: TTL %s is below the minimum %s", cfg.TTL, MinTTL)
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	kvc := jetstream.KeyValueConfig{
		Bucket:         cfg.Bucket,
		Description:    "openclaw channel account leases",
		History:        1,
		TTL:            cfg.TTL,
		LimitMarkerTTL: cfg.TTL,
		Replicas:       cfg.Replicas,
		Storage:        jetstream.FileStorage,
	}
	var kv jetstream.KeyValue
	var err error
	for range 3 { // created meanwhile by a peer: bind again
		if kv, err = js.KeyValue(ctx, cfg.Bucket); !errors.Is(err, jetstream.ErrBucketNotFound) {
			break
		}
		if kv, err = js.CreateKeyValue(ctx, kvc); !errors.Is(err, jetstream.ErrBucketExists) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("lease: bucket %s: %w", cfg.Bucket, err)
	}
	m := New(kv, cfg.Node, cfg.TTL)
	// The leases' life is the bucket's, whoever created it.
	if st, err := kv.Status(ctx); err == nil && st.TTL() > 0 {
		m.ttl = st.TTL()
	}
	return m, nil
}

// TTL is the leases' life without a renewal.
func (m *Manager) TTL() time.Duration { return m.ttl }

// Node is this gateway's name.
func (m *Manager) Node() string { return m.node }

// plainKey is what a key token may hold as is.
var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Key is the bucket key of a channel account: "<channel>.<account>", an
// account id outside [A-Za-z0-9_-] base64url-encoded after '=' (which a
// plain id never holds).
func Key(channel, account string) string {
	enc := func(s string) string {
		if plainKey.MatchString(s) {
			return s
		}
		return "=" + base64.RawURLEncoding.EncodeToString([]byte(s))
	}
	return enc(channel) + "." + enc(account)
}

// Acquire takes the lease of key if nobody holds it; ErrHeld (wrapped, with
// the holder) when somebody does.
func (m *Manager) Acquire(ctx context.Context, key string) (*Lease, error) {
	since := time.Now().UnixMilli()
	v, err := json.Marshal(Info{Owner: m.node, Since: since})
	if err != nil {
		return nil, err
	}
	sent := time.Now()
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	rev, err := m.kv.Create(cctx, key, v)
	cancel()
	if Conflict(err) {
		return m.held(ctx, key)
	}
	m.mu.Lock()
	if err != nil {
		if m.unsure == nil {
			m.unsure = map[string][]byte{}
		}
		m.unsure[key] = v
	} else {
		delete(m.unsure, key)
	}
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return &Lease{m: m, key: key, value: v, info: Info{Owner: m.node, Since: since, Revision: rev}, renewed: sent,
		lost: make(chan struct{})}, nil
}

// held answers an Acquire whose create found the key taken: by another
// holder (a HeldError), or by this gateway's own earlier create whose
// answer was lost, which it adopts, proving it with a fencing update.
func (m *Manager) held(ctx context.Context, key string) (*Lease, error) {
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	e, err := m.kv.Get(cctx, key)
	cancel()
	if err != nil {
		return nil, ErrHeld
	}
	m.mu.Lock()
	mine := m.unsure[key] != nil && bytes.Equal(m.unsure[key], e.Value())
	delete(m.unsure, key)
	m.mu.Unlock()
	in, _, derr := decode(e)
	if derr != nil {
		return nil, ErrHeld
	}
	if !mine {
		return nil, &HeldError{Info: in}
	}
	// Valid from the server's stamp of the lost create at best; the fence
	// renews it, or finds that it moved on.
	l := &Lease{m: m, key: key, value: e.Value(), info: in, renewed: e.Created(), lost: make(chan struct{})}
	if err := l.Fence(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// HeldError is ErrHeld with the holder.
type HeldError struct{ Info Info }

func (e *HeldError) Error() string {
	return fmt.Sprintf("lease: held by %s since %s", e.Info.Owner, time.UnixMilli(e.Info.Since).UTC().Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrHeld) hold.
func (e *HeldError) Is(target error) bool { return target == ErrHeld }

// Current reads who holds key; ok is false when nobody does.
func (m *Manager) Current(ctx context.Context, key string) (Info, bool, error) {
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	e, err := m.kv.Get(cctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Info{}, false, nil
	}
	if err != nil {
		return Info{}, false, err
	}
	return decode(e)
}

func decode(e jetstream.KeyValueEntry) (Info, bool, error) {
	var in Info
	if err := json.Unmarshal(e.Value(), &in); err != nil {
		return Info{}, false, fmt.Errorf("lease: entry %s: %w", e.Key(), err)
	}
	in.Revision = e.Revision()
	return in, true, nil
}

// Campaign takes the lease of key, waiting while another gateway holds it:
// it tries at once, again whenever the watched entry is deleted or expires,
// and every third of the TTL besides (a watcher that cannot start, or a
// cut-off NATS, only slows it down). seen, when not nil, is called with each
// holder observed (ok false: none). It returns when it holds the lease, or
// ctx's error.
func (m *Manager) Campaign(ctx context.Context, key string, seen func(in Info, ok bool)) (*Lease, error) {
	if seen == nil {
		seen = func(Info, bool) {}
	}
	var updates <-chan jetstream.KeyValueEntry
	var w jetstream.KeyWatcher
	defer func() {
		if w != nil {
			_ = w.Stop()
		}
	}()
	t := time.NewTicker(m.ttl / 3)
	defer t.Stop()
	for {
		if w == nil {
			// UpdatesOnly: the current entry is what Acquire reports.
			if kw, err := m.kv.Watch(ctx, key, jetstream.UpdatesOnly()); err == nil {
				w, updates = kw, kw.Updates()
			}
		}
		l, err := m.Acquire(ctx, key)
		if err == nil {
			return l, nil
		}
		if he := (*HeldError)(nil); errors.As(err, &he) {
			seen(he.Info, true)
		}
		for again := false; !again; {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-t.C:
				again = true
			case e, open := <-updates:
				switch {
				case !open:
					w, updates, again = nil, nil, true // the watcher ended: start another
				case e == nil: // the end of the initial values
				case e.Operation() == jetstream.KeyValuePut:
					if in, ok, err := decode(e); err == nil {
						seen(in, ok)
					}
				default: // deleted, purged or expired: try now
					seen(Info{}, false)
					again = true
				}
			}
		}
	}
}

// Lease is a held lease.
type Lease struct {
	m     *Manager
	key   string
	value []byte

	fence sync.Mutex // serialises the updates of the entry

	mu      sync.Mutex // guards what follows; never held across a call to NATS
	info    Info       // Revision 0 once lost
	renewed time.Time  // when the last successful update was sent
	why     error      // why it was lost
	lost    chan struct{}
}

// Key is the lease's bucket key.
func (l *Lease) Key() string { return l.key }

// Info is the lease as last written (Revision 0 once lost).
func (l *Lease) Info() Info {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.info
}

// Lost is closed once the lease is lost (or released).
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Err is why the lease was lost; nil while it is held.
func (l *Lease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.why
}

// lose marks the lease lost; l.mu is held.
func (l *Lease) lose(why error) {
	if l.info.Revision == 0 {
		return
	}
	l.info.Revision, l.why = 0, why
	close(l.lost)
}

// validFor is how long after the last successful update this gateway still
// acts as the owner while updates fail: two thirds of the TTL, so that it
// has stopped before the entry expires (its expiry counts from the write,
// which the server stamped after the update was sent).
func (l *Lease) validFor() time.Duration { return l.m.ttl * 2 / 3 }

// Fence proves this gateway still holds the lease, by a revision-checked
// update of it (which renews it, too): a change made for the account right
// after a nil Fence is made by the owner. It returns ErrLost (wrapped) once
// the lease is lost: the entry moved on (another owner, or expired), or the
// updates have failed for two thirds of the TTL.
func (l *Lease) Fence(ctx context.Context) error {
	l.fence.Lock()
	defer l.fence.Unlock()
	l.mu.Lock()
	rev, renewed := l.info.Revision, l.renewed
	l.mu.Unlock()
	if rev == 0 {
		return l.lostErr()
	}
	sent := time.Now()
	cctx, cancel := context.WithTimeout(ctx, l.updateWait(sent.Sub(renewed)))
	next, err := l.m.kv.Update(cctx, l.key, l.value, rev)
	cancel()
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err == nil:
		l.info.Revision, l.renewed = next, sent
		return nil
	case conflict(err):
		l.lose(errors.New("taken over or expired"))
	case time.Since(renewed) >= l.validFor():
		l.lose(fmt.Errorf("not renewed for %s: %v", time.Since(renewed).Round(time.Millisecond), err))
	default:
		return fmt.Errorf("lease: %s not renewed: %w", l.key, err)
	}
	return fmt.Errorf("%w: %s: %v", ErrLost, l.key, l.why)
}

// updateWait bounds a fencing update sent since after the last successful
// one: by what is left of the lease's validity, so that an update that hangs
// (a cut-off server that leads the stream waits for a quorum it cannot
// reach) does not keep this gateway acting as the owner past two thirds of
// the TTL, after the entry expired for the others. It is left at least a
// sixth of the TTL (a holder back from a pause may still hold the lease, and
// the update proves it): so a lease is given up at five sixths of the TTL at
// the latest.
func (l *Lease) updateWait(since time.Duration) time.Duration {
	return min(opTimeout, max(l.validFor()-since, l.m.ttl/6))
}

func (l *Lease) lostErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Errorf("%w: %s: %v", ErrLost, l.key, l.why)
}

// Keep renews the lease every third of the TTL (sooner after a failed
// renewal) until ctx ends or the lease is lost; the channel then yields why
// (nil when ctx ended) and closes.
func (l *Lease) Keep(ctx context.Context) <-chan error {
	out := make(chan error, 1)
	go func() {
		defer close(out)
		every := l.m.ttl / 3
		t := time.NewTimer(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				out <- nil
				return
			case <-l.lost:
				out <- l.Err()
				return
			case <-t.C:
			}
			err := l.Fence(ctx)
			switch {
			case errors.Is(err, ErrLost):
				out <- l.Err()
				return
			case err != nil:
				t.Reset(every / 4) // NATS busy or cut off: try again soon
			default:
				t.Reset(every)
			}
		}
	}()
	return out
}

// Release hands the lease over at once: the entry is deleted if it is still
// this holder's (a revision-checked delete), so a standby takes it without
// waiting for the TTL. The lease is lost afterwards whatever the outcome.
func (l *Lease) Release(ctx context.Context) error {
	l.fence.Lock()
	defer l.fence.Unlock()
	l.mu.Lock()
	rev := l.info.Revision
	l.lose(errors.New("released"))
	l.mu.Unlock()
	if rev == 0 {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	err := l.m.kv.Delete(cctx, l.key, jetstream.LastRevision(rev))
	if conflict(err) {
		return nil // already somebody else's, or gone
	}
	return err
}

// Conflict reports a create-if-absent or revision-checked write refused
// because of the entry's revision: a single replica answers code 10071
// (ErrKeyExists), a replicated stream 10164, which nats.go maps to
// ErrKeyRevisionMismatch for Update and Delete, and not at all when Create
// re-creates a deleted key.
func Conflict(err error) bool {
	var api *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) ||
		errors.As(err, &api) && (api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// conflict reports a revision-checked write refused because the entry moved
// on or is gone.
func conflict(err error) bool { return Conflict(err) || errors.Is(err, jetstream.ErrKeyNotFound) }

// String names the lease for logs.
func (l *Lease) String() string {
	in := l.Info()
	return strings.Join([]string{l.key, in.Owner, fmt.Sprint(in.Revision)}, "/")
}

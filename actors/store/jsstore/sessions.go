package jsstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"openclaw/actors/store"
)

// session is a sessions bucket entry.
type session struct {
	ID string `json:"id"`
	// FirstSeq..LastSeq are the messages kept; FirstSeq 0 (or past
	// LastSeq) means none.
	FirstSeq  int64 `json:"first,omitempty"`
	LastSeq   int64 `json:"last,omitempty"`
	CreatedAt int64 `json:"created"`
	UpdatedAt int64 `json:"updated"`

	Label         string `json:"label,omitempty"`
	ModelOverride string `json:"modelOverride,omitempty"`
	ThinkingLevel string `json:"thinkingLevel,omitempty"`

	InputTokens     int64  `json:"in,omitempty"`
	OutputTokens    int64  `json:"out,omitempty"`
	LastTotalTokens int64  `json:"lastTotal,omitempty"`
	Compactions     int    `json:"compactions,omitempty"`
	LastRunID       string `json:"lastRun,omitempty"`
	LastRole        string `json:"lastRole,omitempty"`
	// Fence is the newest session-lock token that wrote to the session:
	// a write under an older token is refused (ErrFenced).
	Fence uint64 `json:"fence,omitempty"`
	// SumSeq and SumRev are the seq of the newest compaction summary and
	// its entry's revision: it replaced a message in place, and a replica
	// behind its leader may still hold that message (readPage).
	SumSeq int64  `json:"sumSeq,omitempty"`
	SumRev uint64 `json:"sumRev,omitempty"`
}

// minRev is the lowest revision of the entry of seq that is current: the
// summary's for its seq, any other.
func (r *session) minRev(seq int64) uint64 {
	if seq == r.SumSeq {
		return r.SumRev
	}
	return 0
}

// count is the number of messages kept.
func (r *session) count() int64 {
	if r.FirstSeq == 0 || r.FirstSeq > r.LastSeq {
		return 0
	}
	return r.LastSeq - r.FirstSeq + 1
}

func (r *session) info(key string) store.SessionInfo {
	return store.SessionInfo{
		Key: key, SessionID: r.ID, MessageCount: int(r.count()), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		Label: r.Label, ModelOverride: r.ModelOverride, ThinkingLevel: r.ThinkingLevel,
		InputTokens: r.InputTokens, OutputTokens: r.OutputTokens, LastTotalTokens: r.LastTotalTokens,
		Compactions: r.Compactions, LastRunID: r.LastRunID, LastRole: r.LastRole,
	}
}

// newUUID returns a random (version 4) UUID, the session id.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// getSession reads a session entry and its revision; rev 0 means there is
// none.
func (s *Store) getSession(ctx context.Context, key string) (*session, uint64, error) {
	e, err := s.sessions.Get(ctx, escape(key))
	if notFound(err) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var r session
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return nil, 0, fmt.Errorf("jsstore: session %q: %w", key, err)
	}
	return &r, e.Revision(), nil
}

// putSession writes r if the entry is still at rev (0: if there is none)
// and returns the new revision; a conflict is reported by isConflict.
func (s *Store) putSession(ctx context.Context, key string, r *session, rev uint64) (uint64, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return 0, err
	}
	var nrev uint64
	if rev == 0 {
		nrev, err = s.sessions.Create(ctx, escape(key), b)
	} else {
		nrev, err = s.sessions.Update(ctx, escape(key), b, rev)
	}
	if err == nil {
		s.cache.put(key, r, nrev)
	}
	return nrev, err
}

// maxCAS bounds the retries of one compare-and-set against other
// gateways' changes of the same session: each retry means another write
// landed, so running out needs that many writers on one session at once.
const maxCAS = 100

// update applies change to the session (created first when create is
// true and it does not exist) with a revision-checked write, re-reading
// and re-applying on a conflict. change returns false to write nothing.
// It returns the session as written (or as found, when nothing changed).
func (s *Store) update(ctx context.Context, key string, create bool, change func(r *session, now int64) (bool, error)) (*session, error) {
	for range maxCAS {
		r, rev, err := s.getSession(ctx, key)
		if err != nil {
			return nil, err
		}
		now := nowMs()
		if r == nil {
			if !create {
				return nil, store.ErrNoSession
			}
			r = &session{ID: newUUID(), CreatedAt: now, UpdatedAt: now}
		}
		write, err := change(r, now)
		if err != nil {
			return nil, err
		}
		if !write && rev != 0 {
			return r, nil
		}
		if _, err := s.putSession(ctx, key, r, rev); err != nil {
			if isConflict(err) {
				continue
			}
			return nil, err
		}
		return r, nil
	}
	return nil, fmt.Errorf("jsstore: session %q: too many concurrent changes", key)
}

// sessionCache is this process's copy of the sessions bucket, for listings.
type sessionCache struct {
	mu      sync.RWMutex
	entries map[string]cached // by session key
	w       jetstream.KeyWatcher
	done    chan struct{}
}

type cached struct {
	r   *session // nil: deleted
	rev uint64
}

// watchSessions loads the bucket and keeps the copy up to date.
func watchSessions(ctx context.Context, kv jetstream.KeyValue) (*sessionCache, error) {
	w, err := kv.WatchAll(context.Background())
	if err != nil {
		return nil, err
	}
	c := &sessionCache{entries: map[string]cached{}, w: w, done: make(chan struct{})}
	loaded := make(chan struct{})
	go c.run(loaded)
	select {
	case <-loaded:
		return c, nil
	case <-ctx.Done():
		c.stop()
		return nil, ctx.Err()
	}
}

func (c *sessionCache) run(loaded chan struct{}) {
	defer close(c.done)
	for e := range c.w.Updates() {
		if e == nil { // the initial values are all in
			if loaded != nil {
				close(loaded)
				loaded = nil
			}
			continue
		}
		key, err := unescape(e.Key())
		if err != nil {
			continue
		}
		if e.Operation() != jetstream.KeyValuePut {
			c.set(key, nil, e.Revision())
			continue
		}
		var r session
		if json.Unmarshal(e.Value(), &r) == nil {
			c.set(key, &r, e.Revision())
		}
	}
}

func (c *sessionCache) stop() {
	_ = c.w.Stop()
	<-c.done
}

// set records r at rev unless the copy already holds a later revision.
func (c *sessionCache) set(key string, r *session, rev uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[key]; ok && old.rev > rev {
		return
	}
	c.entries[key] = cached{r, rev}
}

func (c *sessionCache) put(key string, r *session, rev uint64) {
	cp := *r
	c.set(key, &cp, rev)
}

// list returns the sessions whose key keep accepts.
func (c *sessionCache) list(keep func(key string, r *session) bool) []store.SessionInfo {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []store.SessionInfo
	for k, e := range c.entries {
		if e.r != nil && keep(k, e.r) {
			out = append(out, e.r.info(k))
		}
	}
	return out
}

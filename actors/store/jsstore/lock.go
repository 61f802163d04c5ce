package jsstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"openclaw/actors/store"
)

// Turns of one session are serialised cluster-wide by a lock in the
// <c>_locks bucket: one entry per session key, created only when absent,
// expiring LockTTL after its last write (the bucket's TTL), renewed by a
// revision-checked update. The entry's revision is the fencing token: it
// grows with every acquisition and renewal anywhere in the bucket, so a
// holder that stalled past the TTL holds a smaller token than whoever took
// the session after it, and Lock.Append refuses to write under it.

// ErrLocked is returned by LockSession while another holder has the lock;
// the error's text names the holder.
var ErrLocked = store.ErrLocked

// ErrLockLost is returned by a lock's calls once it expired or was taken
// over (or released).
var ErrLockLost = store.ErrLockLost

// ErrFenced is returned by a write under a fencing token older than one
// that has already written to the session.
var ErrFenced = store.ErrFenced

// lockEntry is a lock's value: who holds it, since when.
type lockEntry struct {
	Owner string `json:"owner"`
	Since int64  `json:"since"` // ms
}

// Lock is a held session lock.
type Lock struct {
	s       *Store
	session string
	value   []byte

	mu  sync.Mutex
	rev uint64 // 0 once released or lost
}

// LockSession takes the turn lock of a session for owner (a gateway's
// node name, shown to whoever finds it locked). It does not wait: a held
// lock gives ErrLocked.
func (s *Store) LockSession(ctx context.Context, session, owner string) (*Lock, error) {
	if session == "" {
		return nil, fmt.Errorf("%w: empty session key", store.ErrInvalid)
	}
	v, err := json.Marshal(lockEntry{Owner: owner, Since: nowMs()})
	if err != nil {
		return nil, err
	}
	rev, err := s.locks.Create(ctx, escape(session), v)
	if isConflict(err) {
		holder := "another holder"
		if e, gerr := s.locks.Get(ctx, escape(session)); gerr == nil {
			var le lockEntry
			if json.Unmarshal(e.Value(), &le) == nil && le.Owner != "" {
				holder = le.Owner
			}
		}
		return nil, fmt.Errorf("%w: session %q by %s", ErrLocked, session, holder)
	}
	if err != nil {
		return nil, err
	}
	return &Lock{s: s, session: session, value: v, rev: rev}, nil
}

var _ store.SessionLocker = (*Store)(nil)

// LockTurn is LockSession as a store.SessionLocker: the runs actor takes a
// session's lock for each turn it runs in a cluster.
func (s *Store) LockTurn(ctx context.Context, session, owner string) (store.SessionLock, error) {
	l, err := s.LockSession(ctx, session, owner)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return l, nil
}

// Token is the lock's fencing token (its current revision; 0 once lost).
func (l *Lock) Token() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rev
}

// Renew extends the lock by the TTL; ErrLockLost when it expired or was
// taken meanwhile.
func (l *Lock) Renew(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rev == 0 {
		return ErrLockLost
	}
	rev, err := l.s.locks.Update(ctx, escape(l.session), l.value, l.rev)
	if isConflict(err) || notFound(err) {
		l.rev = 0
		return fmt.Errorf("%w: session %q", ErrLockLost, l.session)
	}
	if err != nil {
		return err
	}
	l.rev = rev
	return nil
}

// KeepAlive renews the lock every third of the TTL until ctx ends or a
// renewal fails; the channel then yields the failure (nil when ctx ended)
// and closes.
func (l *Lock) KeepAlive(ctx context.Context) <-chan error {
	out := make(chan error, 1)
	go func() {
		defer close(out)
		t := time.NewTicker(l.s.cfg.LockTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				out <- nil
				return
			case <-t.C:
				if err := l.Renew(ctx); err != nil && ctx.Err() == nil {
					out <- err
					return
				}
			}
		}
	}()
	return out
}

// Unlock releases the lock if it is still this holder's; ErrLockLost
// otherwise (a newer holder's lock is left alone).
func (l *Lock) Unlock(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rev == 0 {
		return ErrLockLost
	}
	err := l.s.locks.Delete(ctx, escape(l.session), jetstream.LastRevision(l.rev))
	l.rev = 0
	if isConflict(err) || notFound(err) {
		return fmt.Errorf("%w: session %q", ErrLockLost, l.session)
	}
	return err
}

// Append appends m to the locked session under the lock's fencing token:
// refused with ErrFenced once a newer holder has written to the session,
// with ErrLockLost once this lock is known to be lost.
func (l *Lock) Append(ctx context.Context, m store.Message) (store.Message, error) {
	tok := l.Token()
	if tok == 0 {
		return store.Message{}, ErrLockLost
	}
	if m.SessionKey != l.session {
		return store.Message{}, fmt.Errorf("%w: message for %q under the lock of %q", store.ErrInvalid, m.SessionKey, l.session)
	}
	return l.s.append(ctx, m, tok)
}

package jsstore

import (
	"context"
	"errors"
	"fmt"

	"openclaw/actors/store"
	"openclaw/transport/natsbus/lease"
)

// Turns of one session are serialised cluster-wide by a lease
// (transport/natsbus/lease) in the <c>_locks bucket: one entry per session
// key, created only when absent, expiring LockTTL after its last write (the
// bucket's TTL), renewed by a revision-checked update. The entry's revision
// is the fencing token: it grows with every acquisition and renewal
// anywhere in the bucket, so a holder that stalled past the TTL holds a
// smaller token than whoever took the session after it, and Lock.Append
// refuses to write under it.

// ErrLocked is returned by LockSession while another holder has the lock;
// the error's text names the holder.
var ErrLocked = store.ErrLocked

// ErrLockLost is returned by a lock's calls once it expired or was taken
// over (or released).
var ErrLockLost = store.ErrLockLost

// ErrFenced is returned by a write under a fencing token older than one
// that has already written to the session.
var ErrFenced = store.ErrFenced

// Lock is a held session lock: a lease on the session's key.
type Lock struct {
	s       *Store
	session string
	l       *lease.Lease
}

// LockSession takes the turn lock of a session for owner (a gateway's
// node name, shown to whoever finds it locked). It does not wait: a held
// lock gives ErrLocked.
func (s *Store) LockSession(ctx context.Context, session, owner string) (*Lock, error) {
	if session == "" {
		return nil, fmt.Errorf("%w: empty session key", store.ErrInvalid)
	}
	l, err := lease.New(s.locks, owner, s.cfg.LockTTL).Acquire(ctx, escape(session))
	if errors.Is(err, lease.ErrHeld) {
		holder := "another holder"
		if he := (*lease.HeldError)(nil); errors.As(err, &he) && he.Info.Owner != "" {
			holder = he.Info.Owner
		}
		return nil, fmt.Errorf("%w: session %q by %s", ErrLocked, session, holder)
	}
	if err != nil {
		return nil, err
	}
	return &Lock{s: s, session: session, l: l}, nil
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
func (l *Lock) Token() uint64 { return l.l.Info().Revision }

// Renew extends the lock by the TTL: ErrLockLost when it expired or was
// taken meanwhile, or renewals have failed for two thirds of the TTL (the
// holder stops before the entry can expire); another error of a renewal
// that failed before that.
func (l *Lock) Renew(ctx context.Context) error {
	if err := l.l.Fence(ctx); errors.Is(err, lease.ErrLost) {
		return l.lost(err)
	} else if err != nil {
		return err
	}
	return nil
}

// lost is ErrLockLost for this session, with the lease's reason.
func (l *Lock) lost(why error) error {
	return fmt.Errorf("%w: session %q: %v", ErrLockLost, l.session, why)
}

// KeepAlive renews the lock every third of the TTL (sooner after a failed
// renewal) until ctx ends or the lock is lost; the channel then yields why
// (nil when ctx ended) and closes.
func (l *Lock) KeepAlive(ctx context.Context) <-chan error { return l.l.Keep(ctx) }

// Unlock releases the lock if it is still this holder's: ErrLockLost if it
// is known lost; one found taken over meanwhile is left to its new holder.
func (l *Lock) Unlock(ctx context.Context) error {
	if l.Token() == 0 {
		return l.lost(l.l.Err())
	}
	return l.l.Release(ctx)
}

// Append appends m to the locked session under the lock's fencing token:
// refused with ErrFenced once a newer holder has written to the session,
// with ErrLockLost once this lock is known to be lost.
func (l *Lock) Append(ctx context.Context, m store.Message) (store.Message, error) {
	tok := l.Token()
	if tok == 0 {
		return store.Message{}, l.lost(l.l.Err())
	}
	if m.SessionKey != l.session {
		return store.Message{}, fmt.Errorf("%w: message for %q under the lock of %q", store.ErrInvalid, m.SessionKey, l.session)
	}
	return l.s.append(ctx, m, tok)
}

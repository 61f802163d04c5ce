package store

import (
	"context"
	"errors"
)

// SessionLocker serialises the turns of one session across the gateways of
// a cluster: its store implements it (actors/store/jsstore); a standalone
// gateway has none, its runs actor serialises its own turns.
type SessionLocker interface {
	// LockTurn takes the session's turn lock for owner (a gateway's node
	// name) without waiting: ErrLocked while another holder has it.
	LockTurn(ctx context.Context, session, owner string) (SessionLock, error)
}

// SessionLock is a held turn lock. Its fencing token grows with every
// acquisition and renewal: a holder that stalled past the lock's life
// cannot write after the one that took the session from it.
type SessionLock interface {
	// KeepAlive renews the lock until ctx ends or the lock is lost (a
	// renewal refused, or none succeeded for most of the lock's life); the
	// channel then yields why (nil when ctx ended) and closes.
	KeepAlive(ctx context.Context) <-chan error
	// Append appends a message of the locked session under the lock's
	// token: ErrFenced once a newer holder wrote, ErrLockLost once the
	// lock is known to be lost.
	Append(ctx context.Context, m Message) (Message, error)
	// Unlock releases the lock if it is still this holder's.
	Unlock(ctx context.Context) error
}

// The errors of a session lock.
var (
	ErrLocked   = errors.New("the session is locked")
	ErrLockLost = errors.New("the session lock was lost")
	ErrFenced   = errors.New("a newer lock holder has written to the session")
)

package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"openclaw/actors/core"
	"openclaw/actors/store"
)

// In a cluster (Deps.Locker set) the turns of one session are serialised
// across the gateways by the session's lock in the cluster's store:
//
//   - A turn takes the lock before it starts (its lifecycle start event
//     follows), waiting while a turn of another gateway holds it, the way
//     a turn waits behind a busy session on one gateway; the run's timeout
//     covers the wait. It keeps the lock alive while it runs, writes its
//     transcript messages under the lock's fencing token, and releases the
//     lock when it ends, also when the gateway stops (the turn is then
//     handed over at once, below).
//   - Its in-flight record is written under the lock before the user
//     message and deleted before the lock is released, so a record whose
//     session lock is free is a turn whose gateway is gone (killed, or
//     stopped in the middle of it) or lost the lock.
//   - Every orphanEvery each gateway looks for such records of the other
//     gateways. One that takes the session's lock reads the record again
//     under it, marks it its own and resumed, and runs the turn again from
//     its committed user message (once: a turn taken over that is lost
//     again is not run a third time); two survivors cannot both take it.
//   - A gateway that comes back resumes its own records only if, read under
//     the lock, they are still its own; one a peer took over ends with the
//     peer's recorded answer.
//   - A turn that loses its lock (a renewal refused after a pause past the
//     lock's life) is cancelled, and its writes after a newer holder's are
//     refused: it ends with UNAVAILABLE, details.code SESSION_LOCK_LOST.

// lockPoll is how often a turn waiting for its session's lock tries again:
// a turn of another gateway releases it when it ends.
const lockPoll = 200 * time.Millisecond

// releaseWait bounds how long a stopping gateway waits for a turn it
// cancelled to release its session's lock.
const releaseWait = 3 * time.Second

// orphanEvery is how often a gateway of a cluster looks for the turns a
// lost gateway left. A killed gateway's lock expires after the lock's life
// (jsstore.DefaultLockTTL, 15 s): its turns run again within that plus
// orphanEvery.
const orphanEvery = 5 * time.Second

// turn runs the job: in a cluster under its session's lock, taken first.
// cancel ends the turn with a cause (a lost lock).
func (r *run) turn(ctx context.Context, cancel context.CancelCauseFunc, post func(any)) (*core.RunFinal, error) {
	if r.d.Locker == nil {
		return r.work(ctx, nil, post)
	}
	l := r.job.Lock
	if l == nil {
		var err error
		if l, err = takeLock(ctx, r.d, r.job.SessionKey); err != nil {
			return nil, err
		}
	}
	kctx, stop := context.WithCancel(ctx)
	lost := l.KeepAlive(kctx)
	go func() {
		if err := <-lost; err != nil {
			if !errors.Is(err, store.ErrLockLost) {
				err = fmt.Errorf("%w: %v", store.ErrLockLost, err)
			}
			cancel(err)
		}
	}()
	defer func() {
		stop()
		unlock(l)
	}()
	post(&evLocked{})
	return r.work(ctx, l, post)
}

// takeLock waits for the session's lock until ctx ends. A store that does
// not answer (a JetStream election) is tried again like a held lock.
func takeLock(ctx context.Context, d Deps, session string) (store.SessionLock, error) {
	for {
		octx, cancel := context.WithTimeout(ctx, storeTimeout)
		l, err := d.Locker.LockTurn(octx, session, d.Node)
		cancel()
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, store.ErrLocked) && ctx.Err() == nil {
			d.Log.Debug("the session lock could not be taken; trying again", "sessionKey", session, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil, ctxErr(ctx)
		case <-time.After(lockPoll):
		}
	}
}

func unlock(l store.SessionLock) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	_ = l.Unlock(ctx)
}

// ctxErr is why ctx ended: a lost lock, or its own error (cancelled,
// deadline).
func ctxErr(ctx context.Context) error {
	if c := context.Cause(ctx); errors.Is(c, store.ErrLockLost) {
		return c
	}
	return ctx.Err()
}

// lockLost reports a turn ended by the loss of its session lock.
func lockLost(ctx context.Context, err error) bool {
	return errors.Is(err, store.ErrLockLost) || errors.Is(err, store.ErrFenced) ||
		errors.Is(context.Cause(ctx), store.ErrLockLost)
}

// caughtUp is the context of a turn that appended its user message at seq:
// history (total messages), read before the append, unless it lacks a
// message before seq, one another writer appended in between; then the
// context is read again, once. The cluster store's reads see every write
// acknowledged before them (jsstore's "Consistency"), so a read made after
// the append holds every message before it; an error keeps history.
func caughtUp(ctx context.Context, st store.Store, session string, history []store.Message, total int, seq int64) []store.Message {
	if n := len(history); n == min(total, HistoryWindow) && (n == 0 && seq == 1 || n > 0 && history[n-1].Seq == seq-1) {
		return history // read fresh the first time: the usual case
	}
	// One more than the window: this turn's message is in it.
	h, _, err := st.History(ctx, session, HistoryWindow+1)
	if err != nil {
		return history
	}
	for len(h) > 0 && h[len(h)-1].Seq >= seq {
		h = h[:len(h)-1] // this turn's message, and any written after it
	}
	return h[max(0, len(h)-HistoryWindow):]
}

// rememberNow writes a turn's record before the turn goes on.
func rememberNow(ctx context.Context, st store.Store, runID string, rec *inflight) error {
	b, _ := json.Marshal(rec)
	for {
		// Each try has its own deadline: a put sent while a peer's server
		// stops (its JetStream leaders step down) can reach the old leader
		// and never be acknowledged; it is sent again, to the new leader,
		// until the run's own deadline. The same bytes again are harmless.
		wctx, cancel := context.WithTimeout(ctx, rememberTry)
		err := st.Put(wctx, inflightNS, runID, b)
		lost := wctx.Err() != nil && ctx.Err() == nil
		cancel()
		if err == nil || !lost {
			return err
		}
	}
}

// rememberTry bounds one try of rememberNow's write: longer than a put
// takes on a loaded cluster, shorter than waiting out a whole storeTimeout
// for an answer that will not come. A variable for the tests.
var rememberTry = 5 * time.Second

// taken reads, under the session's lock, whether a turn this gateway
// resumes at start is still its own. When a peer took it over: the answer
// the peer recorded, or an error saying so (nil, nil: still its own).
func (r *run) taken(ctx context.Context) (*core.RunFinal, error) {
	j, st := r.job, r.d.Store
	raw, ok, err := st.Get(ctx, inflightNS, j.RunID)
	if err != nil {
		return nil, err
	}
	var cur inflight
	if ok && json.Unmarshal(raw, &cur) == nil && cur.Node == r.d.Node && !cur.Resumed {
		return nil, nil
	}
	history, _, err := st.History(ctx, j.SessionKey, HistoryWindow)
	if err != nil {
		return nil, err
	}
	if done := resumed(history, j); done != nil {
		done.SessionID, _ = st.SessionID(ctx, j.SessionKey)
		return done, nil
	}
	by := cur.Node
	if by == "" {
		by = "another gateway"
	}
	return nil, fmt.Errorf("the interrupted turn was taken over by %s", by)
}

// orphan is a turn of a lost gateway this one took the session lock of.
type orphan struct {
	runID string
	rec   *inflight
	lock  store.SessionLock
}

type (
	orphanScan  struct{}
	orphansDone struct{}
)

// findOrphans looks for the other gateways' records whose session lock is
// free and sends each, with the lock taken, to the runs actor (send).
func findOrphans(d Deps, send func(any)) {
	defer send(&orphansDone{})
	ctx, cancel := context.WithTimeout(context.Background(), resumeTimeout)
	defer cancel()
	rows, err := d.Store.Scan(ctx, inflightNS)
	if err != nil {
		d.Log.Debug("the turns in flight could not be read", "err", err)
		return
	}
	for id, raw := range rows {
		var rec inflight
		if json.Unmarshal(raw, &rec) != nil || rec.SessionKey == "" || rec.Node == "" || rec.Node == d.Node {
			continue
		}
		l, err := d.Locker.LockTurn(ctx, rec.SessionKey, d.Node)
		if err != nil {
			continue // running on its gateway (or taken by a peer)
		}
		// Again under the lock: it may have ended, or been taken, since.
		raw, ok, err := d.Store.Get(ctx, inflightNS, id)
		var cur inflight
		if err != nil || !ok || json.Unmarshal(raw, &cur) != nil || cur.Node == d.Node {
			unlock(l)
			continue
		}
		if cur.Resumed {
			d.Log.Warn("a turn taken over from a lost gateway was lost again; not running it a third time",
				"runId", id, "sessionKey", cur.SessionKey, "node", cur.Node)
			forget(d.Store, id)
			unlock(l)
			continue
		}
		send(&orphan{runID: id, rec: &cur, lock: l})
	}
}

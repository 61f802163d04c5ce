package runs

import (
	"context"
	"sync"
	"time"

	"openclaw/actors/core"
	"openclaw/transport/protocol"
)

// Outcome is a finished run.
type Outcome struct {
	Final *Final
	Err   *protocol.ErrorShape
}

// Handle is a run started by an in-process client (the HTTP APIs, a
// channel). The run's worker appends deltas (Sink, in order) and the runs
// actor hands over the outcome (Done); neither ever blocks on the client.
type Handle struct {
	env               *core.Env
	runID, sessionKey string

	mu    sync.Mutex
	queue []string
	wake  chan struct{}
	done  chan Outcome
}

// startTimeout bounds how long the runs actor may take to accept a run.
const startTimeout = 10 * time.Second

// Begin asks the runs actor for a run and waits until it is accepted. A
// run refused up front (unknown agent, no provider) returns its error, so
// the caller can still answer with an error of its own (an HTTP status).
func Begin(env *core.Env, p Params) (*Handle, *protocol.ErrorShape) {
	ar := &Handle{env: env, runID: p.IdempotencyKey, sessionKey: p.SessionKey,
		wake: make(chan struct{}, 1), done: make(chan Outcome, 1)}
	start := &Start{Params: p,
		Sink: func(u Update) {
			ar.mu.Lock()
			ar.queue = append(ar.queue, u.Delta)
			ar.mu.Unlock()
			select {
			case ar.wake <- struct{}{}:
			default:
			}
		},
		Done: func(f *Final, e *protocol.ErrorShape) {
			select {
			case ar.done <- Outcome{Final: f, Err: e}:
			default:
			}
		},
	}
	res, err := env.System.Root.RequestFuture(env.Runs, start, startTimeout).Result()
	if err != nil {
		return nil, protocol.NewError(protocol.CodeUnavailable, "the gateway did not accept the run: "+err.Error(), nil)
	}
	if rep, ok := res.(*core.Reply); ok && rep.Err != nil {
		return nil, rep.Err
	}
	return ar, nil
}

// take returns the deltas queued so far.
func (ar *Handle) take() []string {
	ar.mu.Lock()
	q := ar.queue
	ar.queue = nil
	ar.mu.Unlock()
	return q
}

// Follow hands every delta to emit, in order, until the run ends; it returns
// the outcome. When ctx ends (the client went away) or emit fails (it cannot
// be written to), it aborts the run and returns nil.
func (ar *Handle) Follow(ctx context.Context, emit func(delta string) error) *Outcome {
	flush := func() bool {
		for _, d := range ar.take() {
			if emit == nil {
				continue
			}
			if err := emit(d); err != nil {
				return false
			}
		}
		return true
	}
	// A gateway that stops while the run is in flight stops its actors
	// without a Done: the check lets the request end instead of hanging.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if ar.env.System.IsStopped() {
				flush()
				return &Outcome{Err: protocol.NewError(protocol.CodeUnavailable, "gateway stopping", nil)}
			}
		case <-ar.wake:
			if !flush() {
				ar.Abort()
				return nil
			}
		case o := <-ar.done:
			// Every Sink call happened before Done: the queue is complete.
			if !flush() {
				return nil
			}
			return &o
		case <-ctx.Done():
			ar.Abort()
			return nil
		}
	}
}

// Abort cancels the run (chat.abort); the answer is not needed.
func (ar *Handle) Abort() {
	ar.env.System.Root.RequestFuture(ar.env.Runs, &Abort{SessionKey: ar.sessionKey, RunID: ar.runID}, 5*time.Second)
}

// RunID is the run's id (its idempotency key).
func (ar *Handle) RunID() string { return ar.runID }

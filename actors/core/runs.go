package core

import (
	"context"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/transport/protocol"
)

// The runs actor's vocabulary for in-process clients (the HTTP APIs, a
// channel): start a run, follow its text, get its outcome.

// RunParams start a run.
type RunParams struct {
	Message        string
	IdempotencyKey string // becomes the runId
	AgentID        string
	SessionKey     string
	Timeout        time.Duration
	Model          string
	// Thinking is the reasoning effort of this turn (off, minimal, low,
	// medium, high); "" uses the session's (sessions.patch thinkingLevel).
	Thinking          string
	ExtraSystemPrompt string
	// Resume makes the run safe to repeat after a crash (a channel that
	// processes an update again): a user message already recorded under this
	// runId is not recorded twice, and a turn whose answer was recorded
	// returns that answer without calling the provider.
	Resume bool
	// Peer is the channel chat the turn is about (agent's to and channel):
	// without a sessionKey the turn continues that chat's session,
	// agent:<agent>:<channel>:dm:<to>.
	Peer *Delivery
	// Deliver, when set, sends the final text to a channel target (agent's
	// deliver:true) before the run reports done.
	Deliver *Delivery
}

// Delivery is a channel target: where a run's final text goes.
type Delivery struct{ Channel, To, AccountID string }

// RunFinal is a finished run.
type RunFinal struct {
	RunID, SessionKey, SessionID, AgentID string
	Text, Provider, Model, StopReason     string
	Usage                                 protocol.Usage
	DurationMs                            int64
	// Delivery is the outcome of RunParams.Deliver: the send result, or
	// {"error": ...}.
	Delivery map[string]any
}

// StartRun asks the runs actor for a run on behalf of an in-process client.
// The runs actor responds with *Reply (an Err when the run is refused up
// front); then Sink gets every text delta, in order, and Done the outcome.
// Neither may block.
type StartRun struct {
	Params RunParams
	Sink   func(delta string)
	Done   func(*RunFinal, *protocol.ErrorShape)
}

// AbortRun cancels the running runs of a session (RunID "" = all of them).
type AbortRun struct{ SessionKey, RunID string }

// CountRuns asks the runs actor how many runs are in progress.
type CountRuns = Request[struct{}, int]

// RunOutcome is a finished run as Follow returns it.
type RunOutcome struct {
	Final *RunFinal
	Err   *protocol.ErrorShape
}

// RunHandle is a run started by an in-process client. The run's worker
// appends deltas and the runs actor hands over the outcome; neither ever
// blocks on the client.
type RunHandle struct {
	root              *actor.RootContext
	runs              *actor.PID
	runID, sessionKey string

	mu    sync.Mutex
	queue []string
	wake  chan struct{}
	done  chan RunOutcome
}

// startTimeout bounds how long the runs actor may take to accept a run.
const startTimeout = 10 * time.Second

// followPoll is how often Follow checks that the gateway is still running
// (a gateway stopping mid-run stops its actors without a Done).
const followPoll = time.Second

// BeginRun asks the runs actor for a run and waits until it is accepted. A
// run refused up front (unknown agent, no provider) returns its error, so
// the caller can still answer with an error of its own (an HTTP status).
func BeginRun(root *actor.RootContext, runs *actor.PID, p RunParams) (*RunHandle, *protocol.ErrorShape) {
	h := &RunHandle{root: root, runs: runs, runID: p.IdempotencyKey, sessionKey: p.SessionKey,
		wake: make(chan struct{}, 1), done: make(chan RunOutcome, 1)}
	start := &StartRun{Params: p,
		Sink: func(delta string) {
			h.mu.Lock()
			h.queue = append(h.queue, delta)
			h.mu.Unlock()
			select {
			case h.wake <- struct{}{}:
			default:
			}
		},
		Done: func(f *RunFinal, e *protocol.ErrorShape) {
			select {
			case h.done <- RunOutcome{Final: f, Err: e}:
			default:
			}
		},
	}
	res, err := root.RequestFuture(runs, start, startTimeout).Result()
	if err != nil {
		return nil, protocol.NewError(protocol.CodeUnavailable, "the gateway did not accept the run: "+err.Error(), nil)
	}
	if rep, ok := res.(*Reply); ok && rep.Err != nil {
		return nil, rep.Err
	}
	return h, nil
}

// take returns the deltas queued so far.
func (h *RunHandle) take() []string {
	h.mu.Lock()
	q := h.queue
	h.queue = nil
	h.mu.Unlock()
	return q
}

// Follow hands every delta to emit, in order, until the run ends; it returns
// the outcome. When ctx ends (the client went away) or emit fails (it cannot
// be written to), it aborts the run and returns nil.
func (h *RunHandle) Follow(ctx context.Context, emit func(delta string) error) *RunOutcome {
	flush := func() bool {
		for _, d := range h.take() {
			if emit == nil {
				continue
			}
			if err := emit(d); err != nil {
				return false
			}
		}
		return true
	}
	tick := time.NewTicker(followPoll)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if h.root.ActorSystem().IsStopped() {
				flush()
				return &RunOutcome{Err: protocol.NewError(protocol.CodeUnavailable, "gateway stopping", nil)}
			}
		case <-h.wake:
			if !flush() {
				h.Abort()
				return nil
			}
		case o := <-h.done:
			// Every Sink call happened before Done: the queue is complete.
			if !flush() {
				return nil
			}
			return &o
		case <-ctx.Done():
			h.Abort()
			return nil
		}
	}
}

// Abort cancels the run.
func (h *RunHandle) Abort() {
	h.root.Send(h.runs, &AbortRun{SessionKey: h.sessionKey, RunID: h.runID})
}

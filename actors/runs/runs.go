// Package runs is the agent-run part of the actor tree (DESIGN.md): the runs
// actor keeps the idempotency cache and the active runs, and spawns one run
// actor per agent turn. A run streams its output as agent and chat events to
// every reader, writes the turn to the session transcript, and answers the
// agent method twice (accepted, then the final).
package runs

import (
	"context"
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"

	"openclaw/actors/core"
	"openclaw/transport/protocol"
	"openclaw/transport/provider"
)

// IdempotencyWindow is how long a finished run's final is kept for a repeat
// of its key.
const IdempotencyWindow = 5 * time.Minute

// Params start a run.
type Params struct {
	Message           string
	IdempotencyKey    string // becomes the runId
	AgentID           string
	SessionKey        string
	Timeout           time.Duration
	Model             string
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

// Delivery is where a run's final text goes (agent's channel and to).
type Delivery struct{ Channel, To, AccountID string }

// Update is one piece of a run's output for an in-process subscriber (the
// HTTP APIs): a text delta.
type Update struct{ Delta string }

// Final is a finished run.
type Final struct {
	RunID, SessionKey, SessionID, AgentID string
	Text, Provider, Model, StopReason     string
	Usage                                 provider.Usage
	DurationMs                            int64
	// Delivery is the outcome of Params.Deliver: the send result, or
	// {"error": ...}.
	Delivery map[string]any
}

// Start asks the runs actor for a run. ReplyTo (a connection) gets the
// interim "accepted" (TwoStage) or a one-off ack, then the final, as
// *core.Reply with ReqID; Done (in-process callers) gets the outcome.
type Start struct {
	core.ReqID
	Params   Params
	TwoStage bool
	Sink     func(Update)
	Done     func(*Final, *protocol.ErrorShape)
}

// Wait is agent.wait.
type Wait struct {
	core.ReqID
	RunID   string
	Timeout time.Duration
}

// Abort is chat.abort.
type Abort struct {
	core.ReqID
	SessionKey, RunID string
}

type runDone struct {
	runID   string
	final   *Final
	err     error
	endedAt time.Time
}

type waitTimeout struct {
	runID string
	w     *waiter
}

type sweep struct{}

type waiter struct {
	to    *actor.PID
	reqID string
	done  bool
}

type entry struct {
	runID, sessionKey, agentID string
	pid                        *actor.PID
	startedAt, endedAt         time.Time
	status                     string // running | ok | error | timeout | aborted
	final                      *Final
	err                        *protocol.ErrorShape
	replyTo                    *actor.PID
	reqID                      string
	twoStage                   bool
	done                       func(*Final, *protocol.ErrorShape)
	waiters                    []*waiter
}

type runsActor struct {
	env     *core.Env
	tools   map[string]*Tool
	entries map[string]*entry // by runId (= idempotency key)
	byPID   map[string]*entry // running, by actor id
	timers  core.Timers
}

// Props builds the runs actor. Extra tools join the registry (tests install
// one that panics).
func Props(env *core.Env, extra map[string]*Tool) *actor.Props {
	// A run actor that panics is stopped; its entry is failed below.
	stop := actor.NewOneForOneStrategy(0, time.Second, func(reason any) actor.Directive {
		env.Log.Error("agent run crashed", "panic", reason)
		return actor.StopDirective
	})
	return actor.PropsFromProducer(func() actor.Actor {
		tools := Tools()
		for n, t := range extra {
			tools[n] = t
		}
		return &runsActor{env: env, tools: tools, entries: map[string]*entry{}, byPID: map[string]*entry{}}
	}, actor.WithSupervisor(stop))
}

func (a *runsActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.later(ctx, time.Minute, &sweep{})
	case *actor.Stopping:
		a.timers.Stop()
	case *Start:
		a.start(ctx, m)
	case *runDone:
		a.done(ctx, m.runID, m.final, m.err, m.endedAt)
		if e := a.entries[m.runID]; e != nil && e.pid != nil {
			ctx.Stop(e.pid)
		}
	case *actor.Terminated:
		if e := a.byPID[m.Who.Id]; e != nil && e.status == "running" {
			a.done(ctx, e.runID, nil, errors.New("internal error: the run stopped unexpectedly"), time.Now())
		}
		delete(a.byPID, m.Who.Id)
	case *Wait:
		a.wait(ctx, m)
	case *waitTimeout:
		if !m.w.done {
			m.w.done = true
			ctx.Send(m.w.to, &core.Reply{ReqID: m.w.reqID, Payload: map[string]any{"runId": m.runID, "status": "timeout"}})
		}
	case *Abort:
		ids := []string{}
		for _, e := range a.entries {
			if e.status == "running" && e.sessionKey == m.SessionKey && (m.RunID == "" || m.RunID == e.runID) {
				ctx.Send(e.pid, &abortRun{})
				ids = append(ids, e.runID)
			}
		}
		ctx.Respond(&core.Reply{ReqID: m.ID, Payload: map[string]any{"ok": true, "aborted": len(ids) > 0, "runIds": ids}})
	case *sweep:
		for id, e := range a.entries {
			if e.status != "running" && time.Since(e.endedAt) > IdempotencyWindow {
				delete(a.entries, id)
			}
		}
		a.later(ctx, time.Minute, &sweep{})
	}
}

func (a *runsActor) later(ctx actor.Context, d time.Duration, msg any) {
	a.timers.After(ctx, d, msg)
}

func (a *runsActor) start(ctx actor.Context, m *Start) {
	p := m.Params
	reply := func(r *core.Reply) {
		if ctx.Sender() != nil {
			ctx.Respond(r)
		}
	}
	if e := a.entries[p.IdempotencyKey]; e != nil {
		if e.status == "running" {
			reply(&core.Reply{ReqID: m.ID, Payload: map[string]any{"runId": e.runID, "status": "in_flight"}})
			if m.Done != nil {
				m.Done(nil, protocol.NewError(protocol.CodeUnavailable, "a run with this idempotency key is in flight", nil))
			}
			return
		}
		// Same key within the window: the cached final, in one response.
		reply(&core.Reply{ReqID: m.ID, Payload: finalPayload(e), Err: e.err})
		if m.Done != nil {
			m.Done(e.final, e.err)
		}
		return
	}
	t, errShape := resolve(a.env.Config(), p.AgentID, p.Model, p.Timeout)
	if errShape != nil {
		reply(&core.Reply{ReqID: m.ID, Err: errShape})
		if m.Done != nil {
			m.Done(nil, errShape)
		}
		return
	}
	sessionKey := p.SessionKey
	switch {
	case sessionKey != "":
	case p.Peer != nil:
		sessionKey = "agent:" + t.AgentID + ":" + p.Peer.Channel + ":dm:" + p.Peer.To
	default:
		sessionKey = "agent:" + t.AgentID + ":main"
	}
	now := time.Now()
	runID := p.IdempotencyKey
	if runID == "" {
		runID = uuid.NewString()
	}
	j := &job{RunID: runID, SessionKey: sessionKey, AgentID: t.AgentID, Message: p.Message,
		ExtraSystemPrompt: p.ExtraSystemPrompt, Resume: p.Resume, Deliver: p.Deliver, Target: t, Tools: a.tools, Sink: m.Sink, Started: now}
	pid := ctx.Spawn(runProps(a.env, j))
	e := &entry{runID: runID, sessionKey: sessionKey, agentID: t.AgentID, pid: pid, startedAt: now, status: "running",
		replyTo: ctx.Sender(), reqID: m.ID, twoStage: m.TwoStage, done: m.Done}
	a.entries[runID] = e
	a.byPID[pid.Id] = e
	if m.TwoStage {
		reply(&core.Reply{ReqID: m.ID, Interim: true, Payload: map[string]any{"runId": runID, "sessionKey": sessionKey,
			"agentId": t.AgentID, "status": "accepted", "acceptedAt": now.UnixMilli()}})
	} else {
		reply(&core.Reply{ReqID: m.ID, Payload: map[string]any{"runId": runID, "status": "started"}})
	}
}

func (a *runsActor) done(ctx actor.Context, runID string, final *Final, err error, ended time.Time) {
	e := a.entries[runID]
	if e == nil || e.status != "running" {
		return
	}
	e.endedAt, e.final = ended, final
	switch {
	case err == nil:
		e.status = "ok"
	case errors.Is(err, context.Canceled):
		e.status, e.err = "aborted", protocol.NewError(protocol.CodeUnavailable, "run aborted", nil)
	case errors.Is(err, context.DeadlineExceeded):
		e.status, e.err = "timeout", protocol.NewError(protocol.CodeAgentTimeout, "agent did not finish within its deadline", nil)
	default:
		e.status, e.err = "error", providerError(err)
	}
	if e.twoStage && e.replyTo != nil {
		ctx.Send(e.replyTo, &core.Reply{ReqID: e.reqID, Payload: finalPayload(e), Err: e.err})
	}
	if e.done != nil {
		e.done(e.final, e.err)
	}
	for _, w := range e.waiters {
		if !w.done {
			w.done = true
			ctx.Send(w.to, &core.Reply{ReqID: w.reqID, Payload: waitPayload(e)})
		}
	}
	e.waiters = nil
}

func (a *runsActor) wait(ctx actor.Context, m *Wait) {
	e := a.entries[m.RunID]
	if e == nil {
		ctx.Respond(&core.Reply{ReqID: m.ID, Payload: map[string]any{"runId": m.RunID, "status": "timeout"}})
		return
	}
	if e.status != "running" {
		ctx.Respond(&core.Reply{ReqID: m.ID, Payload: waitPayload(e)})
		return
	}
	w := &waiter{to: ctx.Sender(), reqID: m.ID}
	e.waiters = append(e.waiters, w)
	a.later(ctx, m.Timeout, &waitTimeout{runID: m.RunID, w: w})
}

func waitPayload(e *entry) map[string]any {
	status := e.status
	if status == "aborted" {
		status = "error"
	}
	p := map[string]any{"runId": e.runID, "status": status, "startedAt": e.startedAt.UnixMilli(), "endedAt": e.endedAt.UnixMilli()}
	if e.err != nil {
		p["error"] = e.err.Message
	}
	return p
}

// finalPayload is the agent method's second response (sample_agent_ok.json).
func finalPayload(e *entry) map[string]any {
	if e.err != nil {
		status := "error"
		if e.status == "timeout" {
			status = "timeout"
		}
		return map[string]any{"runId": e.runID, "status": status, "summary": e.err.Message}
	}
	f := e.final
	meta := map[string]any{
		"durationMs": f.DurationMs,
		"agentMeta": map[string]any{
			"sessionId": f.SessionID, "sessionFile": f.SessionKey, "provider": f.Provider, "model": f.Model,
			"usage": map[string]any{"input": f.Usage.Input, "output": f.Usage.Output, "total": f.Usage.Total},
		},
		"aborted": false, "stopReason": f.StopReason,
	}
	if f.Delivery != nil {
		meta["delivery"] = f.Delivery
	}
	return map[string]any{
		"runId": f.RunID, "status": "ok", "summary": "completed",
		"result": map[string]any{
			"payloads": []map[string]any{{"text": f.Text, "mediaUrl": nil}},
			"meta":     meta,
		},
	}
}

// providerError maps a failure to the protocol's UNAVAILABLE, keeping the
// provider's retry hint.
func providerError(err error) *protocol.ErrorShape {
	var pe *provider.Error
	if errors.As(err, &pe) {
		e := protocol.NewError(protocol.CodeUnavailable, pe.Error(), map[string]any{"code": "PROVIDER_ERROR", "status": pe.Status})
		if pe.Retryable {
			e.WithRetry(pe.RetryAfter.Milliseconds())
		}
		return e
	}
	return protocol.NewError(protocol.CodeUnavailable, err.Error(), nil)
}

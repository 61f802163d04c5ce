// Package runs is the agent-run part of the actor tree: the runs actor keeps
// the idempotency cache and the active runs, and spawns one run actor per
// agent turn. A run streams its output as agent and chat events to every
// reader, writes the turn to the session transcript, and answers the agent
// method twice (accepted, then the final). It serves agent, agent.wait and
// chat.*, and in-process clients through core.StartRun.
package runs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"

	"openclaw/actors/core"
	"openclaw/actors/methods"
	"openclaw/actors/store"
	"openclaw/actors/tools"
	"openclaw/config"
	"openclaw/metrics"
	"openclaw/transport/protocol"
	"openclaw/transport/provider"
)

// IdempotencyWindow is how long a finished run's final is kept for a repeat
// of its key.
const IdempotencyWindow = 5 * time.Minute

// sweepEvery is how often finished runs past the window are forgotten.
const sweepEvery = time.Minute

// DefaultWaitTimeout is agent.wait's timeout when the request gives none.
const DefaultWaitTimeout = 30 * time.Second

// DefaultHistoryLimit is chat.history's limit when the request gives none.
const DefaultHistoryLimit = 200

// historyTimeout bounds one chat.history read.
const historyTimeout = 10 * time.Second

// Deps is what the runs actor is built with.
type Deps struct {
	Hub      *actor.PID // agent and chat events go out through it
	Channels *actor.PID // deliver: true sends the final text there
	Sessions *actor.PID // told when a run changed a session
	Store    store.Store
	Config   *core.Live[*config.Config]
	Tools    tools.Set
	Log      *slog.Logger
	Metrics  *metrics.Metrics // runs and provider latency
	// Cluster, in cluster mode, is told of the runs (and the sessions with
	// a run) here (core.Claim), and gets agent.wait and chat.abort for
	// runs that are not (core.Elsewhere). Nil for a single gateway.
	Cluster *actor.PID
	// Node is this gateway's name in its cluster ("" for a single
	// gateway): it marks the turns this gateway runs (see inflight.Node).
	Node string
	// Locker, in cluster mode, serialises a session's turns across the
	// gateways, and lets a survivor take over a lost gateway's turns
	// (lock.go). Nil for a single gateway.
	Locker store.SessionLocker
	// Transient, in cluster mode, reports a store error that a retry after
	// a short wait outlives (a JetStream stream electing its leader:
	// jsstore.Transient); a turn retries those (retry.go). Nil: none is.
	Transient func(error) bool
}

type runDone struct {
	runID      string
	sessionKey string
	final      *core.RunFinal
	err        error
	endedAt    time.Time
}

type waitTimeout struct {
	runID string
	w     *methods.AgentWait
}

type sweep struct{}

// entry is one run, running or finished within the idempotency window.
type entry struct {
	runID, sessionKey, agentID string
	pid                        *actor.PID
	startedAt, endedAt         time.Time
	status                     string // running | ok | error | timeout | aborted
	final                      *core.RunFinal
	err                        *protocol.ErrorShape
	agent                      *methods.Agent // the agent request answered twice, if any
	done                       func(*core.RunFinal, *protocol.ErrorShape)
	waiters                    []*methods.AgentWait
	job                        *job // set until its actor is spawned (queued behind its session)
	progress                   *progress
}

type runsActor struct {
	d       Deps
	entries map[string]*entry // by runId (= idempotency key)
	byPID   map[string]*entry // running, by actor id
	running int
	// queued holds, per session, the runs waiting for the one in progress:
	// turns of one session run one after the other, never interleaved.
	queued map[string][]*entry
	busy   map[string]*entry // the run in progress, by session
	timers core.Timers
	// scanning: a look for a lost gateway's turns is under way (cluster).
	scanning bool
}

// Props builds the runs actor.
func Props(d Deps) *actor.Props {
	d.Metrics = metrics.Or(d.Metrics)
	// A run actor that panics is stopped; its entry is failed below.
	stop := actor.NewOneForOneStrategy(0, time.Second, func(reason any) actor.Directive {
		d.Log.Error("agent run crashed", "panic", reason)
		return actor.StopDirective
	})
	return actor.PropsFromProducer(func() actor.Actor {
		return &runsActor{d: d, entries: map[string]*entry{}, byPID: map[string]*entry{},
			queued: map[string][]*entry{}, busy: map[string]*entry{}}
	}, actor.WithSupervisor(stop))
}

func (a *runsActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.timers.After(ctx, sweepEvery, &sweep{})
		if a.d.Locker != nil {
			a.timers.After(ctx, orphanEvery, &orphanScan{})
		}
		// Read here, before any request: an agent.wait for a turn being
		// resumed must find it. A few rows, once per start.
		recs, err := interrupted(a.d.Store, a.d.Node)
		if err != nil {
			a.d.Log.Error("the interrupted turns could not be read; they will not be resumed", "err", err)
		}
		a.resume(ctx, recs)
	case *core.Shutdown:
		a.shutdown(m)
	case *actor.Stopping:
		a.timers.Stop()
	case *methods.Agent:
		a.agent(ctx, m)
	case *methods.ChatSend:
		a.chatSend(ctx, m)
	case *core.StartRun:
		a.startRun(ctx, m)
	case *methods.AgentWait:
		a.wait(ctx, m)
	case *methods.ChatAbort:
		ids := a.abort(ctx, m.Params.SessionKey, m.Params.RunID)
		if len(ids) == 0 && a.d.Cluster != nil && !m.Routed && (m.Params.RunID != "" || m.Params.SessionKey != "") {
			// Maybe running on another gateway.
			key := "session." + m.Params.SessionKey
			if m.Params.RunID != "" {
				key = "run." + m.Params.RunID
			}
			ctx.Send(a.d.Cluster, &core.Elsewhere{Key: key, Method: "chat.abort", Req: m, Back: ctx.Self(), Timeout: routeTimeout})
			return
		}
		m.Reply(protocol.ChatAbort{OK: true, Aborted: len(ids) > 0, RunIDs: ids})
	case *core.AbortRun:
		a.abort(ctx, m.SessionKey, m.RunID)
	case *methods.ChatHistory:
		st := a.d.Store
		var running *progress
		if e := a.busy[m.Params.SessionKey]; e != nil && e.status == "running" {
			running = e.progress
		}
		go func() {
			hctx, cancel := context.WithTimeout(context.Background(), historyTimeout)
			defer cancel()
			res, errShape := history(hctx, st, m.Params, running.load())
			if errShape != nil {
				m.Fail(errShape)
				return
			}
			m.Reply(res)
		}()
	case *methods.ToolsCatalog:
		m.Reply(catalog(a.d.Config.Get(), a.d.Tools, m.Params.AgentID))
	case *methods.ExecApprovalList: // none of our tools asks for approval
		m.Reply(protocol.Approvals{})
	case *methods.PluginApprovalList:
		m.Reply(protocol.Approvals{})
	case *methods.OpenclawApprovalList:
		m.Reply(protocol.Approvals{})
	case *methods.ChatStartup:
		a.chatStartup(m)
	case *methods.ChatMetadata:
		m.Reply(chatMetadata(a.d.Config.Get(), m.Params.AgentID))
	case *methods.AgentIdentityGet:
		a.agentIdentity(m)
	case *methods.DiagnosticsLanes:
		m.Reply(a.lanes())
	case *core.CountRuns:
		m.Reply(a.running)
	case *core.ActiveRuns:
		active := map[string][]string{}
		for _, e := range a.entries {
			if e.status == "running" {
				active[e.sessionKey] = append(active[e.sessionKey], e.runID)
			}
		}
		m.Reply(active)
	case *runDone:
		a.done(ctx, m.runID, m.final, m.err, m.endedAt)
		if e := a.entries[m.runID]; e != nil && e.pid != nil {
			ctx.Stop(e.pid)
		}
		a.next(ctx, m.sessionKey)
	case *actor.Terminated:
		if e := a.byPID[m.Who.Id]; e != nil && e.status == "running" {
			a.done(ctx, e.runID, nil, errors.New("internal error: the run stopped unexpectedly"), time.Now())
			a.next(ctx, e.sessionKey)
		}
		delete(a.byPID, m.Who.Id)
	case *waitTimeout:
		m.w.Reply(protocol.AgentWait{RunID: m.runID, Status: "timeout"})
	case *orphanScan:
		if !a.scanning {
			a.scanning = true
			self, root := ctx.Self(), ctx.ActorSystem().Root
			go findOrphans(a.d, func(m any) { root.Send(self, m) })
		}
		a.timers.After(ctx, orphanEvery, &orphanScan{})
	case *orphan:
		a.adopt(ctx, m)
	case *orphansDone:
		a.scanning = false
	case *sweep:
		for id, e := range a.entries {
			if e.status != "running" && time.Since(e.endedAt) > IdempotencyWindow {
				delete(a.entries, id)
				a.release(ctx, "run."+id)
			}
		}
		a.timers.After(ctx, sweepEvery, &sweep{})
	}
}

// agent is the agent method: accepted now, the final when the run ends.
func (a *runsActor) agent(ctx actor.Context, m *methods.Agent) {
	p := m.Params
	var peer, deliver *core.Delivery
	if p.To != "" {
		channel := p.Channel
		if channel == "" {
			channel = config.DefaultChannel(a.d.Config.Get())
		}
		peer = &core.Delivery{Channel: channel, To: p.To}
	}
	if p.Deliver {
		if peer == nil {
			m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "deliver needs a target: set to (and channel)", nil))
			return
		}
		deliver = peer
	}
	rp := core.RunParams{Message: p.Message, IdempotencyKey: p.IdempotencyKey, AgentID: p.AgentID, SessionKey: p.SessionKey,
		Timeout: seconds(p.Timeout), Model: p.Model, Thinking: p.Thinking, ExtraSystemPrompt: p.ExtraSystemPrompt, Peer: peer,
		Deliver: deliver}
	if e := a.entries[rp.IdempotencyKey]; e != nil {
		if e.status == "running" {
			m.Reply(protocol.AgentResponse{RunID: e.runID, Status: "in_flight"})
			return
		}
		// Same key within the window: the cached final, in one response.
		answerFinal(m, e)
		return
	}
	e, errShape := a.spawn(ctx, rp, nil, nil, nil)
	if errShape != nil {
		m.Fail(errShape)
		return
	}
	e.agent = m
	m.Interim(protocol.AgentResponse{RunID: e.runID, SessionKey: e.sessionKey, AgentID: e.agentID, Status: "accepted",
		AcceptedAt: e.startedAt.UnixMilli()})
}

// chatSend is chat.send: one ack; the output arrives as events.
func (a *runsActor) chatSend(ctx actor.Context, m *methods.ChatSend) {
	p := m.Params
	if p.Deliver {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest,
			"chat.send does not deliver: send with agent (deliver: true, channel, to) to have the reply sent to a channel", nil))
		return
	}
	if e := a.entries[p.IdempotencyKey]; e != nil {
		status := e.status
		if status == "running" {
			status = "in_flight"
		}
		m.Reply(protocol.ChatSend{RunID: e.runID, Status: status})
		return
	}
	e, errShape := a.spawn(ctx, core.RunParams{Message: p.Message, IdempotencyKey: p.IdempotencyKey, AgentID: p.AgentID,
		SessionKey: p.SessionKey, Thinking: p.Thinking, Timeout: time.Duration(p.TimeoutMs) * time.Millisecond}, nil, nil, nil)
	if errShape != nil {
		m.Fail(errShape)
		return
	}
	m.Reply(protocol.ChatSend{RunID: e.runID, Status: "started"})
}

// startRun is an in-process client's run (the HTTP APIs, a channel).
func (a *runsActor) startRun(ctx actor.Context, m *core.StartRun) {
	if e := a.entries[m.Params.IdempotencyKey]; e != nil && m.Params.IdempotencyKey != "" {
		if e.status == "running" {
			err := protocol.NewError(protocol.CodeUnavailable, "a run with this idempotency key is in flight", nil)
			ctx.Respond(&core.Reply{Err: err})
			m.Done(nil, err)
			return
		}
		ctx.Respond(&core.Reply{})
		m.Done(e.final, e.err)
		return
	}
	e, errShape := a.spawn(ctx, m.Params, m.Sink, nil, nil)
	if errShape != nil {
		ctx.Respond(&core.Reply{Err: errShape})
		m.Done(nil, errShape)
		return
	}
	e.done = m.Done
	ctx.Respond(&core.Reply{})
}

// spawn starts a run for p, now or, when its session has one in progress,
// after it.
// rec, when set, is the record of an interrupted turn run again; lock, in a
// cluster, the session's lock already taken for it (a lost gateway's turn).
func (a *runsActor) spawn(ctx actor.Context, p core.RunParams, sink func(string), rec *inflight,
	lock store.SessionLock) (*entry, *protocol.ErrorShape) {
	t, errShape := resolve(a.d.Config.Get(), p.AgentID, p.Model, p.Timeout)
	if errShape != nil {
		return nil, errShape
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
		ExtraSystemPrompt: p.ExtraSystemPrompt, Resume: p.Resume, Deliver: p.Deliver, Target: t,
		ExplicitModel: p.Model != "", Thinking: p.Thinking, Timeout: p.Timeout,
		Tools: a.d.Tools.Offered(a.d.Config.Get()), Sink: sink, Started: now,
		Lock: lock, Verify: rec != nil && lock == nil && a.d.Locker != nil}
	if !p.Resume || rec != nil {
		j.Record = rec
		if j.Record == nil {
			j.Record = &inflight{SessionKey: sessionKey, AgentID: t.AgentID, Message: p.Message, Model: p.Model,
				ExtraSystemPrompt: p.ExtraSystemPrompt, TimeoutMs: p.Timeout.Milliseconds(), Deliver: p.Deliver,
				StartedAt: now.UnixMilli(), Node: a.d.Node}
		}
	}
	if a.d.Sessions != nil {
		ctx.Send(a.d.Sessions, &core.SessionTouched{Key: sessionKey, Reason: "update"})
	}
	j.Progress = &progress{}
	e := &entry{runID: runID, sessionKey: sessionKey, agentID: t.AgentID, startedAt: now, status: "running", job: j,
		progress: j.Progress}
	a.entries[runID] = e
	a.running++
	a.d.Metrics.RunsStarted.Inc()
	a.d.Metrics.RunsActive.Set(float64(a.running))
	if a.d.Cluster != nil {
		ctx.Send(a.d.Cluster, &core.Claim{Key: "run." + runID})
		ctx.Send(a.d.Cluster, &core.Claim{Key: "session." + sessionKey})
	}
	if a.busy[sessionKey] != nil {
		a.queued[sessionKey] = append(a.queued[sessionKey], e)
		return e, nil
	}
	a.launch(ctx, e)
	return e, nil
}

// launch spawns the actor of a run whose session is free.
func (a *runsActor) launch(ctx actor.Context, e *entry) {
	a.busy[e.sessionKey] = e
	e.pid = ctx.Spawn(runProps(a.d, e.job))
	e.job = nil
	a.byPID[e.pid.Id] = e
}

// next starts the session's next queued run, if any.
func (a *runsActor) next(ctx actor.Context, sessionKey string) {
	for q := a.queued[sessionKey]; len(q) > 0; q = a.queued[sessionKey] {
		e := q[0]
		a.queued[sessionKey] = q[1:]
		if e.status == "running" { // not aborted while it waited
			a.launch(ctx, e)
			return
		}
	}
	delete(a.queued, sessionKey)
	delete(a.busy, sessionKey)
}

// resume runs again the turns the last gateway left unfinished, once.
func (a *runsActor) resume(ctx actor.Context, recs map[string]*inflight) {
	for runID, rec := range recs {
		if _, known := a.entries[runID]; known {
			continue
		}
		if rec.Resumed {
			a.d.Log.Warn("an interrupted turn was interrupted again after it was resumed; not running it a third time",
				"runId", runID, "sessionKey", rec.SessionKey)
			go forget(a.d.Store, runID)
			continue
		}
		rec.Resumed = true
		a.d.Log.Info("resuming an interrupted turn", "runId", runID, "sessionKey", rec.SessionKey)
		_, errShape := a.spawn(ctx, core.RunParams{Message: rec.Message, IdempotencyKey: runID, AgentID: rec.AgentID,
			SessionKey: rec.SessionKey, Model: rec.Model, ExtraSystemPrompt: rec.ExtraSystemPrompt,
			Timeout: time.Duration(rec.TimeoutMs) * time.Millisecond, Deliver: rec.Deliver, Resume: true}, nil, rec, nil)
		if errShape != nil {
			a.d.Log.Warn("an interrupted turn could not be resumed", "runId", runID, "err", errShape.Message)
			go forget(a.d.Store, runID)
		}
	}
}

// adopt runs again, once, a turn a lost gateway left (findOrphans took its
// session's lock). A session with a turn here already is left for the next
// look: that turn waits for the lock.
func (a *runsActor) adopt(ctx actor.Context, o *orphan) {
	if _, known := a.entries[o.runID]; known || a.busy[o.rec.SessionKey] != nil {
		go unlock(o.lock)
		return
	}
	rec := o.rec
	a.d.Log.Info("taking over a turn of a lost gateway", "runId", o.runID, "sessionKey", rec.SessionKey, "from", rec.Node)
	rec.Node, rec.Resumed = a.d.Node, true
	_, errShape := a.spawn(ctx, core.RunParams{Message: rec.Message, IdempotencyKey: o.runID, AgentID: rec.AgentID,
		SessionKey: rec.SessionKey, Model: rec.Model, ExtraSystemPrompt: rec.ExtraSystemPrompt,
		Timeout: time.Duration(rec.TimeoutMs) * time.Millisecond, Deliver: rec.Deliver, Resume: true}, nil, rec, o.lock)
	if errShape != nil {
		a.d.Log.Warn("a lost gateway's turn could not be run again", "runId", o.runID, "err", errShape.Message)
		go func() { forget(a.d.Store, o.runID); unlock(o.lock) }()
	}
}

// shutdown answers the agent requests still waiting for their final: the
// gateway is going away; the turn runs again when it is back.
func (a *runsActor) shutdown(m *core.Shutdown) {
	err := protocol.NewError(protocol.CodeUnavailable, m.Reason+": the turn is kept and runs again when the gateway is back",
		map[string]any{"code": "GATEWAY_STOPPING"}).WithRetry(max(m.RestartExpectedMs, 1000))
	for _, e := range a.entries {
		if e.status == "running" && e.agent != nil {
			e.agent.FailWith(protocol.AgentResponse{RunID: e.runID, Status: "error", Summary: err.Message}, err)
			e.agent = nil
		}
	}
}

// abort cancels the running runs that match (an empty field matches all,
// but not both empty) and returns their ids.
func (a *runsActor) abort(ctx actor.Context, sessionKey, runID string) []string {
	ids := []string{}
	if sessionKey == "" && runID == "" {
		return ids
	}
	for _, e := range a.entries {
		if e.status == "running" && (sessionKey == "" || e.sessionKey == sessionKey) && (runID == "" || runID == e.runID) {
			ids = append(ids, e.runID)
			if e.pid != nil {
				ctx.Send(e.pid, &abortRun{})
				continue
			}
			// Still queued behind its session: it ends now, never started.
			a.done(ctx, e.runID, nil, context.Canceled, time.Now())
		}
	}
	return ids
}

func (a *runsActor) done(ctx actor.Context, runID string, final *core.RunFinal, err error, ended time.Time) {
	e := a.entries[runID]
	if e == nil || e.status != "running" {
		return
	}
	a.running--
	a.d.Metrics.RunsActive.Set(float64(a.running))
	if a.d.Cluster != nil && !a.sessionRunning(e.sessionKey, runID) {
		a.release(ctx, "session."+e.sessionKey)
	}
	if a.d.Sessions != nil {
		ctx.Send(a.d.Sessions, &core.SessionTouched{Key: e.sessionKey, Reason: "update"})
	}
	e.endedAt, e.final = ended, final
	switch {
	case err == nil:
		e.status = "ok"
	case errors.Is(err, context.Canceled):
		e.status, e.err = "aborted", protocol.NewError(protocol.CodeUnavailable, "run aborted", nil)
	case errors.Is(err, context.DeadlineExceeded):
		e.status, e.err = "timeout", protocol.NewError(protocol.CodeAgentTimeout, "agent did not finish within its deadline", nil)
	case errors.Is(err, store.ErrLockLost) || errors.Is(err, store.ErrFenced):
		e.status, e.err = "error", protocol.NewError(protocol.CodeUnavailable,
			"the session's turn lock was lost (another gateway took the session): "+err.Error(),
			map[string]any{"code": "SESSION_LOCK_LOST"})
	default:
		e.status, e.err = "error", providerError(err)
	}
	a.d.Metrics.RunFinished(e.status)
	if e.agent != nil {
		answerFinal(e.agent, e)
		e.agent = nil
	}
	if e.done != nil {
		e.done(e.final, e.err)
	}
	for _, w := range e.waiters {
		w.Reply(waitResult(e))
	}
	e.waiters = nil
}

// routeTimeout bounds a chat.abort routed to another gateway.
const routeTimeout = 5 * time.Second

// release tells the cluster a key is no longer held here.
func (a *runsActor) release(ctx actor.Context, key string) {
	if a.d.Cluster != nil {
		ctx.Send(a.d.Cluster, &core.Release{Key: key})
	}
}

// sessionRunning reports whether a run other than except runs for the
// session here.
func (a *runsActor) sessionRunning(sessionKey, except string) bool {
	for id, e := range a.entries {
		if id != except && e.status == "running" && e.sessionKey == sessionKey {
			return true
		}
	}
	return false
}

func (a *runsActor) wait(ctx actor.Context, m *methods.AgentWait) {
	e := a.entries[m.Params.RunID]
	if e == nil && a.d.Cluster != nil && !m.Routed {
		// Maybe a run of another gateway: it answers, or none does and
		// this one answers as if alone.
		timeout := time.Duration(m.Params.TimeoutMs) * time.Millisecond
		if timeout <= 0 {
			timeout = DefaultWaitTimeout
		}
		ctx.Send(a.d.Cluster, &core.Elsewhere{Key: "run." + m.Params.RunID, Method: "agent.wait", Req: m, Back: ctx.Self(),
			Timeout: timeout + routeTimeout})
		return
	}
	if e == nil {
		m.Reply(protocol.AgentWait{RunID: m.Params.RunID, Status: "timeout"})
		return
	}
	if e.status != "running" {
		m.Reply(waitResult(e))
		return
	}
	e.waiters = append(e.waiters, m)
	timeout := time.Duration(m.Params.TimeoutMs) * time.Millisecond
	if timeout <= 0 {
		timeout = DefaultWaitTimeout
	}
	a.timers.After(ctx, timeout, &waitTimeout{runID: e.runID, w: m})
}

func waitResult(e *entry) protocol.AgentWait {
	status := e.status
	if status == "aborted" {
		status = "error"
	}
	p := protocol.AgentWait{RunID: e.runID, Status: status, StartedAt: e.startedAt.UnixMilli(), EndedAt: e.endedAt.UnixMilli()}
	if e.err != nil {
		p.Error = e.err.Message
	}
	return p
}

// answerFinal sends the agent method's second response (sample_agent_ok.json
// in the shared contract).
func answerFinal(m *methods.Agent, e *entry) {
	if e.err != nil {
		status := "error"
		if e.status == "timeout" {
			status = "timeout"
		}
		m.FailWith(protocol.AgentResponse{RunID: e.runID, Status: status, Summary: e.err.Message}, e.err)
		return
	}
	f := e.final
	meta := protocol.AgentMeta{DurationMs: f.DurationMs, StopReason: f.StopReason, Delivery: f.Delivery,
		AgentMeta: protocol.AgentRunMeta{SessionID: f.SessionID, SessionFile: f.SessionKey, Provider: f.Provider,
			Model: f.Model, Usage: f.Usage}}
	m.Reply(protocol.AgentResponse{RunID: f.RunID, Status: "ok", Summary: "completed",
		Result: &protocol.AgentResult{Payloads: []protocol.AgentPayload{{Text: f.Text}}, Meta: meta}})
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

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/core"
	"openclaw/actors/methods"
	"openclaw/actors/store"
	"openclaw/actors/tools"
	"openclaw/transport/protocol"
	"openclaw/transport/provider"
)

// MaxContextChars is the default context budget: the newest messages that
// fit go to the provider (the new user message always goes).
const MaxContextChars = 200_000

// HistoryWindow is how many stored messages are read to build the context.
const HistoryWindow = 200

// MaxToolRounds bounds how many times a run hands tool results back to the
// model before it must answer.
const MaxToolRounds = 8

// storeTimeout bounds the write of an answer: a cancelled run still records
// what was answered, with its own short deadline rather than the run's.
const storeTimeout = 10 * time.Second

// run is the actor of one agent turn. Its worker goroutine does the slow
// work (transcript writes, the provider stream, tools) and reports back with
// messages; the actor stamps the per-run seq on every event and publishes it.
type run struct {
	d      Deps
	root   *actor.RootContext
	job    *job
	cancel context.CancelCauseFunc
	seq    int64 // agent event seq, per run
	chat   int64 // chat event seq, per run
	text   strings.Builder
	start  time.Time
	// worker, in a cluster, is closed when the turn's goroutine is done.
	worker chan struct{}
}

// job is everything a run needs, fixed when the runs actor starts it.
type job struct {
	RunID, SessionKey, AgentID string
	Message                    string
	ExtraSystemPrompt          string
	Resume                     bool
	Deliver                    *core.Delivery
	Target                     *target
	// Record keeps the turn's params in the store until it ends, so a turn
	// the gateway did not finish (a crash, a stop) runs again at the next
	// start. A channel that resumes its own turns (Resume) does not need it.
	Record *inflight
	// ExplicitModel: the request named the model; a session's model
	// override does not apply then. Thinking is the request's reasoning
	// effort ("" for the session's); Timeout the request's.
	ExplicitModel bool
	Thinking      string
	Timeout       time.Duration
	Tools         []*tools.Tool
	Sink          func(delta string)
	Started       time.Time
	// Progress is the text so far, for chat.history (a reader that
	// reconnects mid-run).
	Progress *progress
	// Lock, in a cluster, is the session's lock already held for this
	// turn (a dead gateway's turn taken over); nil: the turn takes it.
	Lock store.SessionLock
	// Verify, in a cluster, marks a turn this gateway resumes at start:
	// it runs only if, read under the session's lock, its record is still
	// this gateway's (a peer may have taken it over meanwhile).
	Verify bool
}

// progress is a running turn's text so far and the run seqs it covers:
// the run actor stores it, chat.history reads it from another goroutine.
type progress struct {
	p atomic.Pointer[protocol.InFlightRun]
}

func (p *progress) store(r *protocol.InFlightRun) { p.p.Store(r) }

// load is nil for a nil progress or a run that has streamed no text yet.
func (p *progress) load() *protocol.InFlightRun {
	if p == nil {
		return nil
	}
	return p.p.Load()
}

// messages from the worker to its actor
type (
	evDelta struct{ text string }
	evTool  struct {
		phase, id, name, args, result string
		isError                       bool
	}
	evUsage struct{ u protocol.Usage }
	// evMessage: a message of the turn is in the transcript.
	evMessage struct{ m store.Message }
	// evLocked: the turn holds its session's cluster lock.
	evLocked struct{}
	evFinish struct {
		final *core.RunFinal
		err   error
	}
	abortRun struct{}
)

func runProps(d Deps, j *job) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &run{d: d, job: j} })
}

func (r *run) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		r.start = time.Now()
		wctx, cancel := context.WithCancelCause(context.Background())
		wctx, stopTimer := context.WithTimeout(wctx, r.job.Target.Timeout)
		r.cancel = func(cause error) { cancel(cause); stopTimer() }
		if r.d.Locker == nil {
			r.emit(ctx, protocol.StreamLifecycle, &protocol.Lifecycle{Phase: "start", StartedAt: r.job.Started.UnixMilli()})
		}
		self, sys := ctx.Self(), ctx.ActorSystem()
		r.root = sys.Root
		var worker chan struct{}
		if r.d.Locker != nil {
			worker = make(chan struct{})
			r.worker = worker
		}
		go func() {
			if worker != nil {
				defer close(worker)
			}
			final, err := r.turn(wctx, cancel, func(msg any) { sys.Root.Send(self, msg) })
			sys.Root.Send(self, &evFinish{final: final, err: err})
		}()
	case *evLocked:
		// In a cluster the turn starts once it holds its session's lock.
		r.emit(ctx, protocol.StreamLifecycle, &protocol.Lifecycle{Phase: "start", StartedAt: r.job.Started.UnixMilli()})
	case *evDelta:
		r.text.WriteString(m.text)
		// Stored before the events go out: a chat.history that sees this
		// text sees events after it only with later seqs.
		r.job.Progress.store(&protocol.InFlightRun{RunID: r.job.RunID, Text: r.text.String(),
			StartedAt: r.job.Started.UnixMilli(), Seq: r.seq + 1, ChatSeq: r.chat + 1})
		// Both events of a delta in one publish: a socket writes them
		// with one system call.
		ctx.Send(r.d.Hub, &core.Publish{B: r.agentDelta(r.text.String(), m.text), Also: []*protocol.Broadcast{r.chatDelta(m.text)}})
	case *evTool:
		data := &protocol.ToolEvent{Phase: m.phase, Name: m.name, ToolCallID: m.id}
		if m.phase == "start" {
			data.Args = json.RawMessage(orEmptyObject(m.args))
		} else {
			data.Result, data.IsError = &m.result, &m.isError
		}
		r.emit(ctx, protocol.StreamTool, data)
	case *evUsage:
		r.emit(ctx, protocol.StreamUsage, &m.u)
	case *evMessage:
		b := methods.SessionMessage.Broadcast(protocol.SessionMessage{SessionKey: r.job.SessionKey, AgentID: r.job.AgentID,
			Message: chatMessage(m.m, 0), MessageID: messageID(m.m.Seq), MessageSeq: m.m.Seq}, nil)
		b.Session = r.job.SessionKey
		ctx.Send(r.d.Hub, &core.Publish{B: b})
	case *abortRun:
		r.cancel(context.Canceled)
	case *evFinish:
		r.finish(ctx, m)
	case *actor.Stopping:
		if r.cancel != nil {
			// The gateway is stopping, not the user aborting: the turn
			// stays recorded and runs again at the next start.
			r.cancel(errStopping)
			if r.worker != nil {
				// In a cluster: until the turn has released its session
				// lock (the gateway's NATS closes next), so a peer takes
				// the turn over at once.
				select {
				case <-r.worker:
				case <-time.After(releaseWait):
				}
			}
		}
	}
}

// emit publishes one agent event: encoded once, fanned out by the hub.
func (r *run) emit(ctx actor.Context, stream string, data any) {
	r.seq++
	b := methods.AgentEvent.Broadcast(protocol.AgentEvent{RunID: r.job.RunID, Seq: r.seq, Stream: stream,
		TS: time.Now().UnixMilli(), SessionKey: r.job.SessionKey, AgentID: r.job.AgentID, Data: data}, nil)
	b.Run, b.Session = r.job.RunID, r.job.SessionKey
	ctx.Send(r.d.Hub, &core.Publish{B: b})
}

func (r *run) emitChat(ctx actor.Context, ev protocol.ChatEvent) {
	ctx.Send(r.d.Hub, &core.Publish{B: r.chatEvent(ev)})
}

func (r *run) chatEvent(ev protocol.ChatEvent) *protocol.Broadcast {
	r.chat++
	ev.RunID, ev.SessionKey, ev.Seq = r.job.RunID, r.job.SessionKey, r.chat
	b := methods.ChatEvent.Broadcast(ev, nil)
	b.Run, b.Session = r.job.RunID, r.job.SessionKey
	return b
}

// agentDelta is the assistant event of one text delta. A socket that
// still holds the previous one unsent merges the two (protocol.Merge): the
// merged event covers both run seqs (fromSeq..seq), its delta is both
// pieces and its text the newer cumulative text.
func (r *run) agentDelta(text, piece string) *protocol.Broadcast {
	r.seq++
	ev := protocol.AgentEvent{RunID: r.job.RunID, Seq: r.seq, Stream: protocol.StreamAssistant,
		TS: time.Now().UnixMilli(), SessionKey: r.job.SessionKey, AgentID: r.job.AgentID,
		Data: &protocol.AssistantDelta{Text: text, Delta: piece}}
	b := methods.AgentEvent.Broadcast(ev, nil)
	b.Run, b.Session = r.job.RunID, r.job.SessionKey
	b.Delta = protocol.NewDelta(r.seq, r.seq, text, piece, func(d *protocol.Delta) *protocol.Broadcast {
		m := ev
		m.FromSeq, m.Seq, m.Data = d.FromSeq, d.Seq, &protocol.AssistantDelta{Text: d.Text, Delta: d.Piece}
		return methods.AgentEvent.Broadcast(m, nil)
	})
	return b
}

// chatDelta is the chat event of one text delta; merged like agentDelta's
// (deltaText is both pieces).
func (r *run) chatDelta(piece string) *protocol.Broadcast {
	b := r.chatEvent(protocol.ChatEvent{State: "delta", DeltaText: piece})
	ev := protocol.ChatEvent{RunID: r.job.RunID, SessionKey: r.job.SessionKey, State: "delta"}
	b.Delta = protocol.NewDelta(r.chat, r.chat, "", piece, func(d *protocol.Delta) *protocol.Broadcast {
		m := ev
		m.FromSeq, m.Seq, m.DeltaText = d.FromSeq, d.Seq, d.Piece
		return methods.ChatEvent.Broadcast(m, nil)
	})
	return b
}

func (r *run) finish(ctx actor.Context, m *evFinish) {
	ended := time.Now()
	aborted := errors.Is(m.err, context.Canceled)
	switch {
	case m.err == nil:
		content, _ := json.Marshal(protocol.TextParts(m.final.Text))
		r.emitChat(ctx, protocol.ChatEvent{State: "final", StopReason: m.final.StopReason,
			Message: &protocol.ChatMessage{Role: "assistant", Content: content, Timestamp: ended.UnixMilli()}})
	case aborted:
		r.emitChat(ctx, protocol.ChatEvent{State: "aborted"})
	default:
		r.emit(ctx, protocol.StreamLifecycle, &protocol.Lifecycle{Phase: "error", Error: m.err.Error()})
		r.emitChat(ctx, protocol.ChatEvent{State: "error", ErrorMessage: m.err.Error()})
	}
	r.emit(ctx, protocol.StreamLifecycle, &protocol.Lifecycle{Phase: "end", StartedAt: r.job.Started.UnixMilli(),
		EndedAt: ended.UnixMilli(), Aborted: &aborted})
	// The runs actor stops this actor once it has the outcome: stopping
	// here would let the Terminated system message overtake runDone.
	ctx.Send(ctx.Parent(), &runDone{runID: r.job.RunID, sessionKey: r.job.SessionKey, final: m.final, err: m.err, endedAt: ended})
}

// work is the turn: the user message is committed before the provider is
// called, the assistant message before the run is reported done.
func (r *run) work(ctx context.Context, lock store.SessionLock, post func(any)) (final *core.RunFinal, err error) {
	defer func() {
		// A panic in a tool or in the turn's own code ends this run with an
		// error; the gateway and every other run carry on.
		if p := recover(); p != nil {
			final, err = nil, fmt.Errorf("internal error in run: %v", p)
		}
	}()
	j, st := r.job, r.d.Store
	if j.Verify {
		if done, err := r.taken(ctx); done != nil || err != nil {
			return done, err
		}
	}
	if j.Record != nil {
		if lock != nil {
			// Under the lock, before anything else: a peer that finds the
			// lock free and this record takes the turn over.
			if err := rememberNow(ctx, st, j.RunID, j.Record); err != nil {
				return nil, err
			}
		} else {
			// Queued before the user message: both commit together.
			remember(st, j.RunID, j.Record)
		}
		defer func() {
			// A turn stopped with the gateway runs again; one whose lock
			// was lost is now the new holder's.
			if context.Cause(ctx) != errStopping && !lockLost(ctx, err) {
				forget(st, j.RunID)
			}
		}()
	}
	appendMsg := st.Append
	if lock != nil {
		appendMsg = lock.Append // refused once a newer holder wrote
	}
	var sessionID string
	if err := r.retry(ctx, func(ctx context.Context) (err error) {
		sessionID, err = st.SessionID(ctx, j.SessionKey)
		return err
	}); err != nil {
		return nil, err
	}
	var target *target
	var effort string
	if err := r.retry(ctx, func(ctx context.Context) (err error) {
		target, effort, err = r.sessionSettings(ctx)
		return err
	}); err != nil {
		return nil, err
	}
	var history []store.Message
	var total int
	if err := r.retry(ctx, func(ctx context.Context) (err error) {
		history, total, err = st.History(ctx, j.SessionKey, HistoryWindow)
		return err
	}); err != nil {
		return nil, err
	}
	recorded := false
	if j.Resume {
		if done := resumed(history, j); done != nil {
			done.SessionID = sessionID
			return done, nil
		}
		if n := len(history); n > 0 && history[n-1].Role == "user" && history[n-1].RunID == j.RunID {
			history, recorded = history[:n-1], true
		}
	}
	if !recorded {
		userContent, _ := json.Marshal(j.Message)
		m, err := r.appendOnce(ctx, appendMsg, store.Message{SessionKey: j.SessionKey, Role: "user", Content: userContent, RunID: j.RunID})
		if err != nil {
			return nil, err
		}
		post(&evMessage{m})
		if lock != nil {
			history = caughtUp(ctx, st, j.SessionKey, history, total, m.Seq)
		}
	}
	msgs := contextMessages(history, j.ExtraSystemPrompt, j.Message, target.ContextChars)
	offered := providerTools(j.Tools)
	var usage provider.Usage
	var res *provider.Result
	for round := 0; ; round++ {
		req := provider.Request{Model: target.Model, Messages: msgs, ReasoningEffort: effort}
		if round < MaxToolRounds {
			req.Tools = offered
		}
		sent, first := time.Now(), true
		res, err = target.Provider.Stream(ctx, req, func(text string) {
			if first {
				first = false
				r.d.Metrics.ProviderFirstToken(target.ProviderID).Observe(time.Since(sent).Seconds())
			}
			if j.Sink != nil {
				j.Sink(text)
			}
			post(&evDelta{text: text})
		})
		r.d.Metrics.ProviderRequest(target.ProviderID, outcome(err)).Observe(time.Since(sent).Seconds())
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctxErr(ctx)
			}
			return nil, err
		}
		usage.Input += res.Usage.Input
		usage.Output += res.Usage.Output
		usage.Total += res.Usage.Total
		if len(res.ToolCalls) == 0 || round >= MaxToolRounds {
			break
		}
		msgs = append(msgs, provider.Message{Role: "assistant", Content: res.Text, ToolCalls: res.ToolCalls})
		for _, call := range res.ToolCalls {
			post(&evTool{phase: "start", id: call.ID, name: call.Name, args: call.Arguments})
			out, isErr := r.invoke(ctx, call)
			post(&evTool{phase: "result", id: call.ID, name: call.Name, result: out, isError: isErr})
			msgs = append(msgs, provider.Message{Role: "tool", ToolCallID: call.ID, Content: out})
		}
	}
	post(&evUsage{u: protocol.Usage{Input: usage.Input, Output: usage.Output, Total: usage.Total}})
	model := res.Model
	if model == "" {
		model = target.Model
	}
	usageJSON, _ := json.Marshal(map[string]int{"input": usage.Input, "output": usage.Output, "total": usage.Total})
	content, _ := json.Marshal(protocol.TextParts(res.Text))
	// A cancelled request must still record what was answered: the write
	// gets its own short deadline rather than the run's (and room for its
	// retries).
	wctx, cancel := context.WithTimeout(context.Background(), storeTimeout+retryBudget)
	defer cancel()
	answer, err := r.appendOnce(wctx, appendMsg, store.Message{SessionKey: j.SessionKey, Role: "assistant", Content: content, RunID: j.RunID,
		Provider: target.ProviderID, Model: model, StopReason: res.FinishReason, Usage: usageJSON})
	if err != nil {
		return nil, err
	}
	post(&evMessage{answer})
	f := &core.RunFinal{RunID: j.RunID, SessionKey: j.SessionKey, SessionID: sessionID, AgentID: j.AgentID, Text: res.Text,
		Provider: target.ProviderID, Model: model, StopReason: res.FinishReason,
		Usage: protocol.Usage{Input: usage.Input, Output: usage.Output, Total: usage.Total}}
	if j.Deliver != nil {
		f.Delivery = r.deliver(j.RunID, j.Deliver, res.Text)
	}
	f.DurationMs = time.Since(j.Started).Milliseconds()
	return f, nil
}

// outcome is a model request's label in the provider latency histogram.
func outcome(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// sessionSettings applies what sessions.patch set on the session: its
// model override (unless the request named a model) and its thinking level
// (unless the request gave one, as reasoning effort; "off" sends none).
func (r *run) sessionSettings(ctx context.Context) (*target, string, error) {
	j := r.job
	t, effort := j.Target, j.Thinking
	si, ok, err := r.d.Store.Session(ctx, j.SessionKey)
	if err != nil {
		return nil, "", err
	}
	if ok && si.ModelOverride != "" && !j.ExplicitModel {
		ot, errShape := resolve(r.d.Config.Get(), j.AgentID, si.ModelOverride, j.Timeout)
		if errShape != nil {
			return nil, "", fmt.Errorf("the session's model %s: %s", si.ModelOverride, errShape.Message)
		}
		t = ot
	}
	if effort == "" && ok {
		effort = si.ThinkingLevel
	}
	if effort == "off" {
		effort = ""
	}
	return t, effort, nil
}

// deliver sends a run's final text to its channel target (agent's
// deliver:true), keyed by the run so that a repeat sends nothing twice.
func (r *run) deliver(runID string, d *core.Delivery, text string) map[string]any {
	if strings.TrimSpace(text) == "" {
		return map[string]any{"error": "nothing to deliver: the reply is empty"}
	}
	res, errShape := tools.Send(r.root, r.d.Channels, protocol.SendParams{To: d.To, Channel: d.Channel,
		AccountID: d.AccountID, Message: text, IdempotencyKey: "deliver:" + runID})
	if errShape != nil {
		return map[string]any{"error": errShape.Message, "code": errShape.Code}
	}
	out := map[string]any{"ok": true, "runId": res.RunID, "messageId": res.MessageID, "channel": res.Channel}
	if res.ChatID != "" {
		out["chatId"] = res.ChatID
	}
	return out
}

// resumed is the answer of a repeated turn that was already recorded (an
// assistant message of this run after its newest user message: in a
// cluster, turns of the session may have followed it), or nil.
func resumed(history []store.Message, j *job) *core.RunFinal {
	i := len(history) - 1
	for ; i >= 0; i-- {
		if m := history[i]; m.RunID == j.RunID && (m.Role == "assistant" || m.Role == "user") {
			break
		}
	}
	if i < 0 || history[i].Role != "assistant" {
		return nil
	}
	m := history[i]
	var u protocol.Usage
	_ = json.Unmarshal(m.Usage, &u)
	return &core.RunFinal{RunID: j.RunID, SessionKey: j.SessionKey, AgentID: j.AgentID, Text: messageText(m.Content),
		Provider: m.Provider, Model: m.Model, StopReason: m.StopReason, Usage: u,
		DurationMs: time.Since(j.Started).Milliseconds()}
}

func (r *run) invoke(ctx context.Context, call provider.ToolCall) (string, bool) {
	var t *tools.Tool
	for _, o := range r.job.Tools {
		if o.Name == call.Name {
			t = o
		}
	}
	if t == nil {
		return "unknown tool: " + call.Name, true
	}
	out, err := t.Invoke(ctx, json.RawMessage(orEmptyObject(call.Arguments)))
	if err != nil {
		return err.Error(), true
	}
	return out, false
}

// contextMessages turns the stored conversation into the provider's: the
// newest messages that fit in maxChars, in order, plus the new user message.
// A compaction's summary (a system message, the oldest of a compacted
// transcript) goes to the model with the system prompt.
func contextMessages(history []store.Message, system, user string, maxChars int) []provider.Message {
	var kept []provider.Message
	var summary string
	budget := maxChars - len(user) - len(system)
	for i := len(history) - 1; i >= 0 && budget > 0; i-- {
		m := history[i]
		if m.Role != "user" && m.Role != "assistant" && m.Role != "system" {
			continue
		}
		text := messageText(m.Content)
		if budget -= len(text); budget < 0 {
			break
		}
		if m.Role == "system" {
			summary = text
			continue
		}
		kept = append(kept, provider.Message{Role: m.Role, Content: text})
	}
	out := make([]provider.Message, 0, len(kept)+2)
	switch {
	case system != "" && summary != "":
		out = append(out, provider.Message{Role: "system", Content: system + "\n\n" + summary})
	case system != "" || summary != "":
		out = append(out, provider.Message{Role: "system", Content: system + summary})
	}
	for i := len(kept) - 1; i >= 0; i-- {
		out = append(out, kept[i])
	}
	return append(out, provider.Message{Role: "user", Content: user})
}

// messageText reads both stored content forms: a string (user) or a list of
// parts (assistant).
func messageText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type, Text string
	}
	_ = json.Unmarshal(raw, &parts)
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

func orEmptyObject(s string) string {
	if strings.TrimSpace(s) == "" {
		return "{}"
	}
	return s
}

// providerTools is the tools as the model sees them.
func providerTools(ts []*tools.Tool) []provider.Tool {
	out := make([]provider.Tool, 0, len(ts))
	for _, t := range ts {
		out = append(out, provider.Tool{Name: t.Name, Description: t.Description, Parameters: t.Parameters})
	}
	return out
}

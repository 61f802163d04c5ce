package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/core"
	"openclaw/actors/store"
	"openclaw/transport/protocol"
	"openclaw/transport/provider"
)

// MaxContextChars is the default context budget: the newest messages that
// fit go to the provider (the new user message always goes).
const MaxContextChars = 200_000

// HistoryWindow is how many stored messages are read to build the context.
const HistoryWindow = 200

// run is the actor of one agent turn. Its worker goroutine does the slow
// work (transcript writes, the provider stream, tools) and reports back with
// messages; the actor stamps the per-run seq on every event and publishes it.
type run struct {
	env    *core.Env
	job    *job
	cancel context.CancelFunc
	seq    int64 // agent event seq, per run
	chat   int64 // chat event seq, per run
	text   strings.Builder
	start  time.Time
}

// job is everything a run needs, fixed when the runs actor starts it.
type job struct {
	RunID, SessionKey, AgentID string
	Message                    string
	ExtraSystemPrompt          string
	Resume                     bool
	Deliver                    *Delivery
	Target                     *target
	Tools                      map[string]*Tool
	Sink                       func(Update)
	Started                    time.Time
}

// messages from the worker to its actor
type (
	evDelta struct{ text string }
	evTool  struct {
		phase, id, name, args, result string
		isError                       bool
	}
	evUsage  struct{ u provider.Usage }
	evFinish struct {
		final *Final
		err   error
	}
	abortRun struct{}
)

func runProps(env *core.Env, j *job) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &run{env: env, job: j} })
}

func (r *run) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		r.start = time.Now()
		var wctx context.Context
		wctx, r.cancel = context.WithTimeout(context.Background(), r.job.Target.Timeout)
		r.emit(ctx, "lifecycle", map[string]any{"phase": "start", "startedAt": r.job.Started.UnixMilli()}, false)
		self, sys := ctx.Self(), ctx.ActorSystem()
		go func() {
			final, err := r.work(wctx, func(msg any) { sys.Root.Send(self, msg) })
			sys.Root.Send(self, &evFinish{final: final, err: err})
		}()
	case *evDelta:
		r.text.WriteString(m.text)
		r.emit(ctx, "assistant", map[string]any{"text": r.text.String(), "delta": m.text}, true)
		r.emitChat(ctx, map[string]any{"state": "delta", "deltaText": m.text}, true)
	case *evTool:
		data := map[string]any{"phase": m.phase, "name": m.name, "toolCallId": m.id}
		if m.phase == "start" {
			data["args"] = json.RawMessage(orEmptyObject(m.args))
		} else {
			data["result"], data["isError"] = m.result, m.isError
		}
		r.emit(ctx, "tool", data, false)
	case *evUsage:
		r.emit(ctx, "usage", map[string]any{"input": m.u.Input, "output": m.u.Output, "total": m.u.Total}, false)
	case *abortRun:
		r.cancel()
	case *evFinish:
		r.finish(ctx, m)
	case *actor.Stopping:
		if r.cancel != nil {
			r.cancel()
		}
	}
}

// emit publishes one agent event: encoded once, fanned out by the hub.
func (r *run) emit(ctx actor.Context, stream string, data map[string]any, droppable bool) {
	r.seq++
	b := protocol.NewBroadcast("agent", map[string]any{"runId": r.job.RunID, "seq": r.seq, "stream": stream,
		"ts": time.Now().UnixMilli(), "sessionKey": r.job.SessionKey, "agentId": r.job.AgentID, "data": data}, nil)
	b.Droppable, b.Scope = droppable, core.ScopeRead
	ctx.Send(r.env.Hub, &core.Publish{B: b})
}

func (r *run) emitChat(ctx actor.Context, fields map[string]any, droppable bool) {
	r.chat++
	fields["runId"], fields["sessionKey"], fields["seq"] = r.job.RunID, r.job.SessionKey, r.chat
	b := protocol.NewBroadcast("chat", fields, nil)
	b.Droppable, b.Scope = droppable, core.ScopeRead
	ctx.Send(r.env.Hub, &core.Publish{B: b})
}

func (r *run) finish(ctx actor.Context, m *evFinish) {
	ended := time.Now()
	aborted := errors.Is(m.err, context.Canceled)
	switch {
	case m.err == nil:
		r.emitChat(ctx, map[string]any{"state": "final", "stopReason": m.final.StopReason,
			"message": map[string]any{"role": "assistant", "content": textParts(m.final.Text), "timestamp": ended.UnixMilli()}}, false)
	case aborted:
		r.emitChat(ctx, map[string]any{"state": "aborted"}, false)
	default:
		r.emit(ctx, "lifecycle", map[string]any{"phase": "error", "error": m.err.Error()}, false)
		r.emitChat(ctx, map[string]any{"state": "error", "errorMessage": m.err.Error()}, false)
	}
	r.emit(ctx, "lifecycle", map[string]any{"phase": "end", "startedAt": r.job.Started.UnixMilli(), "endedAt": ended.UnixMilli(), "aborted": aborted}, false)
	// The runs actor stops this actor once it has the outcome: stopping
	// here would let the Terminated system message overtake runDone.
	ctx.Send(ctx.Parent(), &runDone{runID: r.job.RunID, final: m.final, err: m.err, endedAt: ended})
}

// work is the turn: the user message is committed before the provider is
// called, the assistant message before the run is reported done.
func (r *run) work(ctx context.Context, post func(any)) (final *Final, err error) {
	defer func() {
		// A panic in a tool or in the turn's own code ends this run with an
		// error; the gateway and every other run carry on.
		if p := recover(); p != nil {
			final, err = nil, fmt.Errorf("internal error in run: %v", p)
		}
	}()
	j, st := r.job, r.env.Store
	sessionID, err := st.SessionID(ctx, j.SessionKey)
	if err != nil {
		return nil, err
	}
	history, _, err := st.History(ctx, j.SessionKey, HistoryWindow)
	if err != nil {
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
		if _, err := st.Append(ctx, store.Message{SessionKey: j.SessionKey, Role: "user", Content: userContent, RunID: j.RunID}); err != nil {
			return nil, err
		}
	}
	msgs := contextMessages(history, j.ExtraSystemPrompt, j.Message, j.Target.ContextChars)
	tools := providerTools(j.Tools)
	var usage provider.Usage
	var res *provider.Result
	for round := 0; ; round++ {
		req := provider.Request{Model: j.Target.Model, Messages: msgs}
		if round < MaxToolRounds {
			req.Tools = tools
		}
		res, err = j.Target.Provider.Stream(ctx, req, func(text string) {
			if j.Sink != nil {
				j.Sink(Update{Delta: text})
			}
			post(&evDelta{text: text})
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
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
	post(&evUsage{u: usage})
	model := res.Model
	if model == "" {
		model = j.Target.Model
	}
	usageJSON, _ := json.Marshal(map[string]int{"input": usage.Input, "output": usage.Output, "total": usage.Total})
	content, _ := json.Marshal(textParts(res.Text))
	// A cancelled request must still record what was answered: the write
	// gets its own short deadline rather than the run's.
	wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := st.Append(wctx, store.Message{SessionKey: j.SessionKey, Role: "assistant", Content: content, RunID: j.RunID,
		Provider: j.Target.ProviderID, Model: model, StopReason: res.FinishReason, Usage: usageJSON}); err != nil {
		return nil, err
	}
	f := &Final{RunID: j.RunID, SessionKey: j.SessionKey, SessionID: sessionID, AgentID: j.AgentID, Text: res.Text,
		Provider: j.Target.ProviderID, Model: model, StopReason: res.FinishReason, Usage: usage}
	if j.Deliver != nil {
		f.Delivery = deliver(ctx, r.env, j.RunID, j.Deliver, res.Text)
	}
	f.DurationMs = time.Since(j.Started).Milliseconds()
	return f, nil
}

// deliver sends a run's final text to its channel target (agent's
// deliver:true), keyed by the run so that a repeat sends nothing twice.
func deliver(ctx context.Context, env *core.Env, runID string, d *Delivery, text string) map[string]any {
	if strings.TrimSpace(text) == "" {
		return map[string]any{"error": "nothing to deliver: the reply is empty"}
	}
	if env.Channels == nil {
		return map[string]any{"error": "no channel configured: set channels.telegram.botToken in the config"}
	}
	res, err := env.System.Root.RequestFuture(env.Channels, &core.ChannelSend{Params: core.SendParams{
		To: d.To, Channel: d.Channel, AccountID: d.AccountID, Message: text, IdempotencyKey: "deliver:" + runID}},
		deliverTimeout).Result()
	if err != nil {
		return map[string]any{"error": "delivery: " + err.Error()}
	}
	rep, _ := res.(*core.Reply)
	switch {
	case rep == nil:
		return map[string]any{"error": "delivery: no answer"}
	case rep.Err != nil:
		return map[string]any{"error": rep.Err.Message, "code": rep.Err.Code}
	}
	out := map[string]any{"ok": true}
	if m, ok := rep.Payload.(map[string]any); ok {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// deliverTimeout bounds a delivery (a channel waiting out flood control).
const deliverTimeout = 2 * time.Minute

// resumed is the answer of a repeated turn that was already recorded (the
// last message is this run's assistant message), or nil.
func resumed(history []store.Message, j *job) *Final {
	n := len(history)
	if n == 0 || history[n-1].Role != "assistant" || history[n-1].RunID != j.RunID {
		return nil
	}
	m := history[n-1]
	var u provider.Usage
	_ = json.Unmarshal(m.Usage, &u)
	return &Final{RunID: j.RunID, SessionKey: j.SessionKey, AgentID: j.AgentID, Text: messageText(m.Content),
		Provider: m.Provider, Model: m.Model, StopReason: m.StopReason, Usage: u,
		DurationMs: time.Since(j.Started).Milliseconds()}
}

func (r *run) invoke(ctx context.Context, call provider.ToolCall) (string, bool) {
	t := r.job.Tools[call.Name]
	if t == nil {
		return "unknown tool: " + call.Name, true
	}
	out, err := t.Invoke(ctx, r.env, json.RawMessage(orEmptyObject(call.Arguments)))
	if err != nil {
		return err.Error(), true
	}
	return out, false
}

// contextMessages turns the stored conversation into the provider's: the
// newest messages that fit in maxChars, in order, plus the new user message.
func contextMessages(history []store.Message, system, user string, maxChars int) []provider.Message {
	var kept []provider.Message
	budget := maxChars - len(user) - len(system)
	for i := len(history) - 1; i >= 0 && budget > 0; i-- {
		m := history[i]
		text := messageText(m.Content)
		if m.Role != "user" && m.Role != "assistant" {
			continue
		}
		if budget -= len(text); budget < 0 {
			break
		}
		kept = append(kept, provider.Message{Role: m.Role, Content: text})
	}
	out := make([]provider.Message, 0, len(kept)+2)
	if system != "" {
		out = append(out, provider.Message{Role: "system", Content: system})
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

func textParts(text string) []map[string]any {
	return []map[string]any{{"type": "text", "text": text}}
}

func orEmptyObject(s string) string {
	if strings.TrimSpace(s) == "" {
		return "{}"
	}
	return s
}

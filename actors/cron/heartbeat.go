package cron

import (
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/core"
	"openclaw/actors/methods"
	"openclaw/actors/store"
	"openclaw/config"
	"openclaw/transport/protocol"
)

// previewChars bounds a heartbeat event's preview of the reply.
const previewChars = 200

// deliverTimeout bounds the send of a heartbeat reply.
const deliverTimeout = 2 * time.Minute

// queueEvent queues a system event for an agent's next heartbeat.
func (a *cronActor) queueEvent(agent, text string) {
	q := append(a.events[agent], text)
	if len(q) > maxQueuedEvents {
		q = q[len(q)-maxQueuedEvents:]
	}
	a.events[agent] = q
}

// wake is the wake method: a system event for an agent, acted on now (a
// heartbeat runs) or at its next heartbeat.
func (a *cronActor) wake(ctx actor.Context, m *methods.Wake) {
	p := m.Params
	cfg := a.d.Config.Get()
	agent := p.AgentID
	if owner := core.SessionAgent(p.SessionKey); owner != "" {
		if agent != "" && agent != owner {
			m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "wake agentId contradicts the agent that owns sessionKey; pass a single canonical wake target", nil))
			return
		}
		agent = owner
	}
	if agent == "" {
		agent = config.DefaultAgent(cfg)
	}
	if !config.KnownAgent(cfg, agent) {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "unknown agent: "+agent, nil))
		return
	}
	a.queueEvent(agent, p.Text)
	if p.Mode == "now" {
		a.heartbeatNow(ctx, agent, "wake")
	}
	m.Reply(protocol.OKResult{OK: true})
}

// heartbeatNow runs an agent's heartbeat now (wake, cron.run); it returns
// the run id ("" when one is already running).
func (a *cronActor) heartbeatNow(ctx actor.Context, agent, trigger string) string {
	id := heartbeatPrefix + agent
	j := a.jobs[id]
	if j == nil {
		// Heartbeats are off for the agent: a one-off job runs it.
		j = &job{def: heartbeatDefinition(agent, time.Hour), agent: agent}
		j.def.Enabled = false
		j.sched = mustEvery(j.def.Schedule)
		a.jobs[id] = j
	}
	if j.running != nil {
		return ""
	}
	return a.start(ctx, j, time.Now(), trigger)
}

// startHeartbeat runs a claimed heartbeat: the prompt and the queued system
// events as a turn in the agent's main session.
func (a *cronActor) startHeartbeat(ctx actor.Context, j *job) {
	if !a.hbEnabled && j.running.trigger == "schedule" {
		a.heartbeatSkipped(ctx, j, "disabled")
		return
	}
	h, _ := config.HeartbeatFor(a.d.Config.Get(), j.agent)
	msg := h.Prompt
	events := a.events[j.agent]
	delete(a.events, j.agent)
	j.running.events = events
	if len(events) > 0 {
		msg += "\n\nSystem events:\n- " + strings.Join(events, "\n- ")
	}
	a.runTurn(ctx, j, core.RunParams{Message: msg, IdempotencyKey: j.running.runID, AgentID: j.agent,
		SessionKey: j.running.sessionKey, Resume: true}) // as a cron slot: never run twice
}

func (a *cronActor) heartbeatSkipped(ctx actor.Context, j *job, reason string) {
	ev := protocol.HeartbeatEvent{TS: time.Now().UnixMilli(), Status: "skipped", Reason: reason, AgentID: j.agent,
		SessionKey: j.running.sessionKey}
	a.emitHeartbeat(ctx, ev)
	a.finish(ctx, j, store.CronRun{Status: "skipped", Summary: "heartbeat skipped: " + reason})
}

// heartbeatFinished classifies a heartbeat turn's reply, sends a reply
// that is not the ack token to the configured target, and records it.
func (a *cronActor) heartbeatFinished(ctx actor.Context, j *job, r store.CronRun, m *finished) {
	ev := protocol.HeartbeatEvent{TS: time.Now().UnixMilli(), AgentID: j.agent, SessionKey: j.running.sessionKey,
		RunID: j.running.runID, DurationMs: time.Since(j.running.started).Milliseconds()}
	r.DeliveryStatus = "not-requested"
	switch {
	case m.err != nil:
		ev.Status, ev.Error = "failed", m.err.Message
		// The events it took are still to act on.
		a.events[j.agent] = append(j.running.events, a.events[j.agent]...)
	case m.final != nil && strings.TrimSpace(m.final.Text) == "":
		ev.Status = "ok-empty"
	case m.final != nil && strings.Contains(m.final.Text, config.HeartbeatAckToken) &&
		len(strings.TrimSpace(strings.ReplaceAll(m.final.Text, config.HeartbeatAckToken, ""))) <= 4:
		ev.Status = "ok-token"
	default:
		ev.Status, ev.Preview = "ran", clip(m.final.Text, previewChars)
		h, _ := config.HeartbeatFor(a.d.Config.Get(), j.agent)
		if h.Channel != "" && h.To != "" {
			ev.Channel, ev.To = h.Channel, h.To
			a.deliverHeartbeat(ctx, j, h, m.final.Text, r, ev)
			return
		}
	}
	a.emitHeartbeat(ctx, ev)
	a.finish(ctx, j, r)
}

// deliverHeartbeat sends a heartbeat reply to its target, off the actor.
func (a *cronActor) deliverHeartbeat(ctx actor.Context, j *job, h config.Heartbeat, text string, r store.CronRun, ev protocol.HeartbeatEvent) {
	self, root, channels := ctx.Self(), ctx.ActorSystem().Root, a.d.Channels
	id, runID := j.def.ID, j.running.runID
	j.pendingRun, j.pendingEvent = &r, &ev
	go func() {
		_, errShape := core.Ask[protocol.SendParams, protocol.SendResult](root, channels, protocol.SendParams{To: h.To,
			Channel: h.Channel, AccountID: h.AccountID, Message: text, IdempotencyKey: "heartbeat:" + runID}, deliverTimeout)
		d := &delivered{id: id, runID: runID, status: "delivered"}
		if errShape != nil {
			d.status, d.err = "not-delivered", errShape.Message
		}
		root.Send(self, d)
	}()
}

func (a *cronActor) heartbeatDelivered(ctx actor.Context, m *delivered) {
	j := a.jobs[m.id]
	if j == nil || j.running == nil || j.running.runID != m.runID || j.pendingRun == nil {
		return
	}
	r, ev := *j.pendingRun, *j.pendingEvent
	j.pendingRun, j.pendingEvent = nil, nil
	r.DeliveryStatus, r.DeliveryError = m.status, m.err
	ev.Status = "sent"
	if m.err != "" {
		ev.Status, ev.Error = "failed", "the reply was not sent: "+m.err
	}
	a.emitHeartbeat(ctx, ev)
	a.finish(ctx, j, r)
}

// emitHeartbeat keeps the event for last-heartbeat and broadcasts it.
func (a *cronActor) emitHeartbeat(ctx actor.Context, ev protocol.HeartbeatEvent) {
	a.lastHB = &ev
	ctx.Send(a.d.Hub, &core.Publish{B: methods.HeartbeatEventName.Broadcast(ev, nil)})
}

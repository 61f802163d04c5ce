// Package hub is the actor that knows who is connected: it spawns one
// connection actor per socket (and supervises them: a connection that panics
// is stopped, alone), keeps the authenticated ones with their role and
// scopes, and fans broadcasts out to them. It also drives the tick event and
// the WebSocket pings, and counts connections for status.
package hub

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/core"
	"openclaw/actors/methods"
	"openclaw/metrics"
	"openclaw/transport/protocol"
)

// Deps is what the hub is built with.
type Deps struct {
	Log          *slog.Logger
	TickInterval time.Duration    // the tick event's period
	PingInterval time.Duration    // the WebSocket ping's period
	Metrics      *metrics.Metrics // the connections gauges
}

// entry is one authenticated connection. Kept small (tens of thousands of
// idle sockets each have one).
type entry struct {
	pid    *actor.PID
	sock   core.Outlet
	peer   *core.Peer
	secret bool  // authenticated with the gateway token or password
	reads  bool  // peer.Scopes.Has(ScopeRead), asked once: most events need it
	at     int   // its index in hubActor.list
	topics uint8 // subscribed topics (topicBit)
	// subs are the sessions whose agent and chat events a session-scoped
	// socket gets (nil for most).
	subs map[string]struct{}
}

func connID(p *core.Peer) string {
	if p == nil {
		return ""
	}
	return p.ConnID
}

// topicBit is a topic's bit in entry.topics (0: not a topic).
func topicBit(t core.Topic) uint8 {
	switch t {
	case core.TopicSessions:
		return 1
	}
	return 0
}

type hubActor struct {
	d        Deps
	conns    map[string]*entry // authenticated connections by id
	list     []*entry          // the same, for publish to walk (a slice walks faster than a map)
	spawned  int               // live connection actors, authenticated or not
	nodes    int               // authenticated node connections
	stopping bool
	timers   core.Timers
	gc       burstGC
}

type tickMsg struct{}
type pingMsg struct{}

// Props builds the hub. Its children are connection actors; the strategy
// stops a child that panics (its socket is closed 1011 as it stops) and lets
// every other connection carry on.
func Props(d Deps) *actor.Props {
	d.Metrics = metrics.Or(d.Metrics)
	stopOnPanic := actor.NewOneForOneStrategy(0, time.Second, func(reason any) actor.Directive {
		d.Log.Error("connection actor crashed; closing that connection", "panic", reason)
		return actor.StopDirective
	})
	return actor.PropsFromProducer(func() actor.Actor {
		return &hubActor{d: d, conns: make(map[string]*entry)}
	}, actor.WithSupervisor(stopOnPanic))
}

func (h *hubActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		h.timers.After(ctx, h.d.TickInterval, &tickMsg{})
		h.timers.After(ctx, h.d.PingInterval, &pingMsg{})
	case *actor.Stopping:
		h.timers.Stop()
	case *core.SpawnConn:
		h.spawned++
		h.count()
		ctx.Respond(ctx.Spawn(m.Props))
		if h.gc.handshake() {
			h.timers.After(ctx, burstQuiet, &burstCheck{})
		}
	case *burstCheck:
		if wait := h.gc.settled(); wait > 0 {
			h.timers.After(ctx, wait, &burstCheck{})
		}
	case *core.Register:
		e := &entry{pid: m.PID, sock: m.Socket, peer: m.Peer, secret: m.SharedSecret, reads: m.Peer.Scopes.Has(core.ScopeRead)}
		if old := h.conns[m.Peer.ConnID]; old != nil {
			h.remove(old)
		}
		h.conns[m.Peer.ConnID] = e
		e.at = len(h.list)
		h.list = append(h.list, e)
		if m.Peer.Role == core.RoleNode {
			h.nodes++
		}
		h.count()
	case *core.Unregister:
		if e := h.conns[m.ConnID]; e != nil {
			h.remove(e)
			h.count()
		}
	case *actor.Terminated:
		h.spawned--
		h.count()
	case *core.Publish:
		h.publish(m)
	case *methods.SessionsSubscribe:
		// The subscription lives as long as the connection's entry.
		if e := h.conns[connID(m.Caller)]; e != nil {
			e.topics |= topicBit(core.TopicSessions)
		}
		m.Reply(protocol.SessionsSubscribed{Subscribed: true})
	case *tickMsg:
		h.publish(&core.Publish{B: methods.Tick.Broadcast(protocol.Tick{TS: time.Now().UnixMilli()}, nil)})
		h.timers.After(ctx, h.d.TickInterval, &tickMsg{})
	case *pingMsg:
		for _, e := range h.conns {
			e.sock.Ping()
		}
		h.timers.After(ctx, h.d.PingInterval, &pingMsg{})
	case *core.SecretRotated:
		n := 0
		for _, e := range h.conns {
			if e.secret {
				ctx.Send(e.pid, m)
				n++
			}
		}
		h.d.Log.Info("gateway secret rotated; closing sockets that used the old one", "sockets", n)
	case *core.CloseDevice:
		n := 0
		for _, e := range h.conns {
			if e.peer.DeviceID == m.DeviceID && (m.Role == "" || e.peer.Role == m.Role) {
				ctx.Send(e.pid, &core.CloseConn{Code: m.Code, Reason: m.Reason})
				n++
			}
		}
		h.d.Log.Info("closing a device's sockets", "deviceId", m.DeviceID, "role", m.Role, "reason", m.Reason, "sockets", n)
	case *core.ConnectedDevices:
		ids := map[string]bool{}
		for _, e := range h.conns {
			if e.peer.DeviceID != "" {
				ids[e.peer.DeviceID] = true
			}
		}
		m.Reply(ids)
	case *methods.SessionsMessagesSubscribe:
		m.Reply(h.subscribe(m.Caller, m.Params.Key, true))
	case *methods.SessionsMessagesUnsubscribe:
		m.Reply(h.subscribe(m.Caller, m.Params.Key, false))
	case *core.CountConns:
		m.Reply(protocol.ConnectionCount{Total: len(h.conns), Operators: len(h.conns) - h.nodes, Nodes: h.nodes,
			Handshaking: h.spawned - len(h.conns)})
	case *core.Shutdown:
		h.stopping = true
		// Every child, not only the authenticated: a socket still in its
		// handshake is closed 1012 too, so its client knows to come back.
		for _, pid := range ctx.Children() {
			ctx.Send(pid, m)
		}
		ctx.Respond(len(h.conns))
	}
}

// publish queues the broadcasts on every socket they are meant for. The
// payload was encoded once by the publisher; each socket adds only its seq.
// Queuing is a short locked append per socket (the socket's own writer
// does the writing), so one publish to ten thousand sockets keeps the hub
// for a few milliseconds and sends no actor message.
func (h *hubActor) publish(m *core.Publish) {
	if h.stopping {
		return
	}
	bs := make([]*protocol.Broadcast, 0, 1+len(m.Also))
	bs = append(append(bs, m.B), m.Also...)
	var some [4]*protocol.Broadcast
	for _, e := range h.list {
		mine := some[:0]
		for _, b := range bs {
			if e.gets(b) {
				mine = append(mine, b)
			}
		}
		switch {
		case len(mine) == len(bs):
			e.sock.Broadcast(bs...)
		case len(mine) > 0:
			e.sock.Broadcast(mine...)
		}
	}
}

// count sets the connections gauges: a few atomic stores per connection
// opened or closed.
func (h *hubActor) count() {
	m := h.d.Metrics
	m.ConnOperator.Set(float64(len(h.conns) - h.nodes))
	m.ConnNode.Set(float64(h.nodes))
	m.ConnUnauthenticated.Set(float64(max(h.spawned-len(h.conns), 0)))
}

// remove forgets a connection.
func (h *hubActor) remove(e *entry) {
	if e.peer.Role == core.RoleNode {
		h.nodes--
	}
	delete(h.conns, e.peer.ConnID)
	last := h.list[len(h.list)-1]
	h.list[e.at], last.at = last, e.at
	h.list[len(h.list)-1] = nil
	h.list = h.list[:len(h.list)-1]
}

// gets reports whether the connection is meant to receive b.
func (e *entry) gets(b *protocol.Broadcast) bool {
	if t := topicBit(b.Topic); t != 0 && e.topics&t == 0 {
		return false
	}
	if e.peer.Role == core.RoleNode {
		return b.NodesToo
	}
	switch b.Scope {
	case core.NoScope:
	case core.ScopeRead:
		if !e.reads {
			return false
		}
	default:
		if !e.peer.Scopes.Has(b.Scope) {
			return false
		}
	}
	if b.Session != "" && e.peer.SessionScoped {
		_, ok := e.subs[b.Session]
		return ok
	}
	return true
}

// subscribe is sessions.messages.subscribe and unsubscribe: the caller's
// socket gets (or stops getting) the session's agent and chat events, from
// the next publish on. Only sockets that connected with the
// session-scoped-events cap are filtered; the others get every session's,
// subscribed or not, as from the reference. Past maxSubscriptions a new
// key is not added (subscribed false).
func (h *hubActor) subscribe(caller *core.Peer, key string, on bool) protocol.SessionSubscription {
	var e *entry
	if caller != nil {
		e = h.conns[caller.ConnID]
	}
	if e == nil {
		return protocol.SessionSubscription{Subscribed: false, Key: key}
	}
	if !on {
		delete(e.subs, key)
		return protocol.SessionSubscription{Subscribed: false, Key: key}
	}
	if e.subs == nil {
		e.subs = make(map[string]struct{}, 1)
	}
	if _, ok := e.subs[key]; !ok && len(e.subs) >= maxSubscriptions {
		return protocol.SessionSubscription{Subscribed: false, Key: key}
	}
	e.subs[key] = struct{}{}
	return protocol.SessionSubscription{Subscribed: true, Key: key}
}

// maxSubscriptions bounds the sessions one socket subscribes to, so one
// client cannot make the hub's state grow without end.
const maxSubscriptions = 1000

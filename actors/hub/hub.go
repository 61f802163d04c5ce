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
	// Cluster, in cluster mode, gets every broadcast and device closing
	// published here after the local sockets got it, to send to the other
	// gateways (actors/cluster: a NATS publish, which does not block).
	// Nil for a single gateway.
	Cluster Forwarder
}

// Forwarder sends what the hub delivered locally to the other gateways of
// the cluster.
type Forwarder interface {
	Publish(*core.Publish)
	CloseDevice(*core.CloseDevice)
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
	uat    int   // its index in hubActor.unscoped, unless it is filtered
	topics uint8 // subscribed topics (topicBit)
	// subs are the sessions whose agent and chat events a session-scoped
	// socket gets (nil for most), each with the entry's index in
	// hubActor.bySession[key] (-1 for a socket that is not filtered: it
	// gets every session's events anyway).
	subs map[string]int
}

// filtered reports whether the socket gets a session's events only when
// subscribed to it (gets). A node's events are chosen by NodesToo alone.
func (e *entry) filtered() bool { return e.peer.SessionScoped && e.peer.Role != core.RoleNode }

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
	d     Deps
	conns map[string]*entry // authenticated connections by id
	list  []*entry          // the same, for publish to walk (a slice walks faster than a map)
	// A session's events go to the sockets that are not filtered and to the
	// filtered ones subscribed to it: publish walks those two lists, not
	// every socket. With ten runs watched by a thousand sockets each, the
	// walk of all 10,000 for each delta took a fifth of the gateway's CPU
	// (issue 17, pprof of agent-fanout 10000 --concurrent 10 --watch own).
	unscoped  []*entry
	bySession map[string][]*entry
	spawned   int // live connection actors, authenticated or not
	nodes     int // authenticated node connections
	stopping  bool
	timers    core.Timers
	gc        burstGC
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
		return &hubActor{d: d, conns: make(map[string]*entry), bySession: make(map[string][]*entry)}
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
		if !e.filtered() {
			e.uat = len(h.unscoped)
			h.unscoped = append(h.unscoped, e)
		}
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
		if h.d.Cluster != nil && !m.Remote {
			h.d.Cluster.Publish(m)
		}
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
		if h.d.Cluster != nil && !m.Remote {
			h.d.Cluster.CloseDevice(m)
		}
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
	if s := m.B.Session; s != "" && sameSession(bs, s) {
		deliver(h.unscoped, bs, false)
		deliver(h.bySession[s], bs, true)
		return
	}
	deliver(h.list, bs, false)
}

// sameSession reports whether every broadcast is an event of session s.
func sameSession(bs []*protocol.Broadcast, s string) bool {
	for _, b := range bs {
		if b.Session != s {
			return false
		}
	}
	return true
}

// deliver queues bs, in order, on each of es that gets them. subscribed:
// every one of es is subscribed to the session of bs (hubActor.bySession),
// so gets need not look it up: a lookup in each socket's map, for each
// delta, was a tenth of the gateway's CPU with ten runs watched by a
// thousand session-scoped sockets each (pprof, agent-fanout 10000
// --concurrent 10 --watch own).
func deliver(es []*entry, bs []*protocol.Broadcast, subscribed bool) {
	var some [4]*protocol.Broadcast
	for _, e := range es {
		mine := some[:0]
		for _, b := range bs {
			if e.gets(b, subscribed) {
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
	h.list = drop(h.list, e.at, func(m *entry, i int) { m.at = i })
	if !e.filtered() {
		h.unscoped = drop(h.unscoped, e.uat, func(m *entry, i int) { m.uat = i })
	}
	for key, i := range e.subs {
		if i >= 0 {
			h.unindex(key, i)
		}
	}
}

// drop removes es[i] by moving the last entry into its place, whose new
// index moved records.
func drop(es []*entry, i int, moved func(*entry, int)) []*entry {
	last := es[len(es)-1]
	es[i] = last
	moved(last, i)
	es[len(es)-1] = nil
	return es[:len(es)-1]
}

// unindex removes the i-th socket subscribed to session key.
func (h *hubActor) unindex(key string, i int) {
	l := drop(h.bySession[key], i, func(m *entry, j int) { m.subs[key] = j })
	if len(l) == 0 {
		delete(h.bySession, key)
		return
	}
	h.bySession[key] = l
}

// gets reports whether the connection is meant to receive b; subscribed
// says it is known to be subscribed to b's session.
func (e *entry) gets(b *protocol.Broadcast, subscribed bool) bool {
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
	if b.Session != "" && e.peer.SessionScoped && !subscribed {
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
	i, ok := e.subs[key]
	if !on {
		if ok && i >= 0 {
			h.unindex(key, i)
		}
		delete(e.subs, key)
		return protocol.SessionSubscription{Subscribed: false, Key: key}
	}
	if ok {
		return protocol.SessionSubscription{Subscribed: true, Key: key}
	}
	if len(e.subs) >= maxSubscriptions {
		return protocol.SessionSubscription{Subscribed: false, Key: key}
	}
	if e.subs == nil {
		e.subs = make(map[string]int, 1)
	}
	e.subs[key] = -1
	if e.filtered() {
		e.subs[key] = len(h.bySession[key])
		h.bySession[key] = append(h.bySession[key], e)
	}
	return protocol.SessionSubscription{Subscribed: true, Key: key}
}

// maxSubscriptions bounds the sessions one socket subscribes to, so one
// client cannot make the hub's state grow without end.
const maxSubscriptions = 1000

// Package hub is the actor that knows who is connected: it spawns one
// connection actor per socket (and supervises them: a connection that panics
// is stopped, alone), keeps the authenticated ones with their role and
// scopes, and fans broadcasts out to them. It also drives the tick event and
// the WebSocket pings, counts connections for status, and closes the sockets
// of a device whose pairing or token was revoked.
package hub

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/core"
	"openclaw/actors/methods"
	"openclaw/transport/protocol"
)

// Deps is what the hub is built with.
type Deps struct {
	Log          *slog.Logger
	TickInterval time.Duration // the tick event's period
	PingInterval time.Duration // the WebSocket ping's period
}

// entry is one authenticated connection. Kept small (tens of thousands of
// idle sockets each have one).
type entry struct {
	pid    *actor.PID
	sock   core.Pinger
	peer   *core.Peer
	secret bool  // authenticated with the gateway token or password
	topics uint8 // subscribed topics (topicBit)
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
		ctx.Respond(ctx.Spawn(m.Props))
		if h.gc.handshake() {
			h.timers.After(ctx, burstQuiet, &burstCheck{})
		}
	case *burstCheck:
		if wait := h.gc.settled(); wait > 0 {
			h.timers.After(ctx, wait, &burstCheck{})
		}
	case *core.Register:
		h.conns[m.Peer.ConnID] = &entry{pid: m.PID, sock: m.Socket, peer: m.Peer, secret: m.SharedSecret}
		if m.Peer.Role == core.RoleNode {
			h.nodes++
		}
	case *core.Unregister:
		if e := h.conns[m.ConnID]; e != nil {
			if e.peer.Role == core.RoleNode {
				h.nodes--
			}
			delete(h.conns, m.ConnID)
		}
	case *actor.Terminated:
		h.spawned--
	case *core.Publish:
		h.publish(ctx, m.B)
	case *methods.SessionsSubscribe:
		// The subscription lives as long as the connection's entry.
		if e := h.conns[connID(m.Caller)]; e != nil {
			e.topics |= topicBit(core.TopicSessions)
		}
		m.Reply(protocol.SessionsSubscribed{Subscribed: true})
	case *tickMsg:
		h.publish(ctx, methods.Tick.Broadcast(protocol.Tick{TS: time.Now().UnixMilli()}, nil))
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

// publish hands b to every connection it is meant for. The payload was
// encoded once by the publisher; each connection adds only its seq.
func (h *hubActor) publish(ctx actor.Context, b *protocol.Broadcast) {
	if h.stopping {
		return
	}
	d := &core.Deliver{B: b}
	topic := topicBit(b.Topic)
	for _, e := range h.conns {
		if topic != 0 && e.topics&topic == 0 {
			continue
		}
		if e.peer.Role == core.RoleNode {
			if !b.NodesToo {
				continue
			}
		} else if !e.peer.Scopes.Has(b.Scope) {
			continue
		}
		ctx.Send(e.pid, d)
	}
}

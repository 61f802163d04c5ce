// Package hub is the actor that knows who is connected: it spawns one
// connection actor per socket (and supervises them: a connection that panics
// is stopped, alone), keeps the authenticated ones with their role and
// scopes, and fans broadcasts out to them. It also drives the tick event and
// the WebSocket pings, and answers status.
package hub

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/core"
	"openclaw/transport/protocol"
	"openclaw/transport/server"
)

// ConnProps builds the actor for one socket; the gateway passes the conn
// package's constructor, which keeps hub and conn independent.
type ConnProps func(env *core.Env, sock *server.Socket) *actor.Props

// entry is one authenticated connection. Kept small (tens of thousands of
// idle sockets each have one): what only nodes_list needs is on node.
type entry struct {
	pid          *actor.PID
	sock         *server.Socket
	scopes       core.Scopes
	node         *nodeInfo // role node; nil for operators
	sharedSecret bool      // authenticated with the gateway token or password
}

type nodeInfo struct {
	client core.ClientInfo
	device string
	since  time.Time
}

type hubActor struct {
	env       *core.Env
	connProps ConnProps
	conns     map[string]*entry // authenticated connections by id
	spawned   int               // live connection actors, authenticated or not
	stopping  bool
	timers    core.Timers
	gc        burstGC
}

type tickMsg struct{}
type pingMsg struct{}

// Props builds the hub. Its children are connection actors; the strategy
// stops a child that panics (its socket is closed 1011 as it stops) and lets
// every other connection carry on.
func Props(env *core.Env, connProps ConnProps) *actor.Props {
	stopOnPanic := actor.NewOneForOneStrategy(0, time.Second, func(reason any) actor.Directive {
		env.Log.Error("connection actor crashed; closing that connection", "panic", reason)
		return actor.StopDirective
	})
	return actor.PropsFromProducer(func() actor.Actor {
		return &hubActor{env: env, connProps: connProps, conns: make(map[string]*entry)}
	}, actor.WithSupervisor(stopOnPanic))
}

func (h *hubActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		h.after(ctx, h.env.Limits.TickInterval, &tickMsg{})
		h.after(ctx, h.env.Limits.PingInterval, &pingMsg{})
	case *actor.Stopping:
		h.timers.Stop()
	case *core.SpawnConn:
		h.spawned++
		ctx.Respond(ctx.Spawn(h.connProps(h.env, m.Sock)))
		if h.gc.handshake() {
			h.after(ctx, burstQuiet, &burstCheck{})
		}
	case *burstCheck:
		if wait := h.gc.settled(); wait > 0 {
			h.after(ctx, wait, &burstCheck{})
		}
	case *core.Register:
		e := &entry{pid: m.PID, sock: m.Sock, scopes: m.Scopes, sharedSecret: m.Auth == "token" || m.Auth == "password"}
		if m.Role == core.RoleNode {
			e.node = &nodeInfo{client: m.Client, device: m.DeviceID, since: time.Now()}
		}
		h.conns[m.ConnID] = e
	case *core.Unregister:
		delete(h.conns, m.ConnID)
	case *actor.Terminated:
		h.spawned--
	case *core.Publish:
		h.publish(ctx, m.B)
	case *tickMsg:
		b := protocol.NewBroadcast("tick", map[string]any{"ts": time.Now().UnixMilli()}, nil)
		b.Droppable, b.NodesToo = true, true
		h.publish(ctx, b)
		h.after(ctx, h.env.Limits.TickInterval, &tickMsg{})
	case *pingMsg:
		for _, e := range h.conns {
			e.sock.Ping()
		}
		h.after(ctx, h.env.Limits.PingInterval, &pingMsg{})
	case *core.SecretRotated:
		n := 0
		for _, e := range h.conns {
			if e.sharedSecret {
				ctx.Send(e.pid, m)
				n++
			}
		}
		h.env.Log.Info("gateway secret rotated; closing sockets that used the old one", "sockets", n)
	case *core.NodesGet:
		nodes := []map[string]any{}
		for _, e := range h.conns {
			if n := e.node; n != nil {
				nodes = append(nodes, map[string]any{"nodeId": n.device, "displayName": n.client.DisplayName,
					"platform": n.client.Platform, "version": n.client.Version, "clientId": n.client.ID,
					"connected": true, "connectedAtMs": n.since.UnixMilli()})
			}
		}
		ctx.Respond(&core.Reply{ReqID: m.ID, Payload: nodes})
	case *core.StatusGet:
		ctx.Respond(&core.Reply{ReqID: m.ID, Payload: h.status()})
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

func (h *hubActor) after(ctx actor.Context, d time.Duration, msg any) { h.timers.After(ctx, d, msg) }

// publish hands b to every connection it is meant for. The payload was
// encoded once by the publisher; each connection adds only its seq.
func (h *hubActor) publish(ctx actor.Context, b *protocol.Broadcast) {
	if h.stopping {
		return
	}
	d := &core.Deliver{B: b}
	for _, e := range h.conns {
		if e.node != nil {
			if !b.NodesToo {
				continue
			}
		} else if !e.scopes.Has(b.Scope) {
			continue
		}
		ctx.Send(e.pid, d)
	}
}

func (h *hubActor) status() map[string]any {
	byRole := map[string]int{core.RoleOperator: 0, core.RoleNode: 0}
	for _, e := range h.conns {
		if e.node != nil {
			byRole[core.RoleNode]++
		} else {
			byRole[core.RoleOperator]++
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return map[string]any{
		"ok":             true,
		"version":        h.env.Version,
		"runtimeVersion": runtime.Version(),
		"pid":            h.env.PID,
		"uptimeMs":       time.Since(h.env.Started).Milliseconds(),
		"connections": map[string]any{
			"total": len(h.conns), "operators": byRole[core.RoleOperator], "nodes": byRole[core.RoleNode],
			"handshaking": h.spawned - len(h.conns),
		},
		"channels":   []any{},
		"sessions":   map[string]any{"count": 0},
		"activeRuns": 0,
		"memory": map[string]any{
			"rssBytes": rss(), "heapAllocBytes": ms.HeapAlloc, "goroutines": runtime.NumGoroutine(),
		},
		"stateVersion": h.env.StateVersion(),
	}
}

// rss reads the resident set size from /proc (0 where there is none).
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

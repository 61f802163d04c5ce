// Package conn is the connection actor: one per WebSocket. It runs the
// handshake (challenge, first-frame rules, connect validation, protocol
// negotiation, shared-secret and device authentication, scopes, hello-ok:
// docs/PROTOCOL.md), then checks each request against the method registry
// (role, scope, params), sends it to the actor that owns the method, writes
// the answers. Broadcasts do not pass through it: the hub queues them on the
// socket, which gives each its seq (transport/server).
package conn

import (
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/core"
	"openclaw/config"
	"openclaw/metrics"
	"openclaw/transport/auth"
	"openclaw/transport/protocol"
	"openclaw/transport/server"
)

// Deps is what every connection actor of a gateway generation is built
// with; one value is shared by all of them.
type Deps struct {
	Hub      *actor.PID // registers the socket, fans broadcasts out
	Presence *actor.PID // the roster row of a tracked socket
	Devices  *actor.PID // device pairing at connect
	Nodes    *actor.PID // told when a node socket opens and closes
	// Routes takes a checked request to the actor that owns its method.
	Routes  core.Routes
	Methods *core.Registry
	Events  []string // hello-ok.features.events
	// Capabilities is hello-ok.features.capabilities.
	Capabilities []string

	Validate *protocol.Validator
	Limits   server.Limits
	Secret   *core.Live[auth.Secret]
	Limiter  *core.Live[*auth.Limiter]
	Config   *core.Live[*config.Config] // hello-ok's session defaults

	// What hello-ok's snapshot shows.
	Roster   *core.Live[[]protocol.PresenceEntry]
	Health   *core.Live[json.RawMessage]
	Versions *core.StateVersions
	Server   ServerInfo

	// Draining is set while the gateway stops: new handshakes are refused.
	Draining *atomic.Bool
	// DrainTimeout bounds how long a stopping socket waits for the answers
	// to requests in flight before it closes.
	DrainTimeout time.Duration
	// MaxInflight bounds the requests one socket may have unanswered; past
	// it a request is refused at once (UNAVAILABLE, retryable), so a client
	// that pipelines thousands cannot make the gateway queue their work.
	MaxInflight int
	Log         *slog.Logger
	// Metrics count handshakes and time requests.
	Metrics *metrics.Metrics
}

// ServerInfo is the process hello-ok describes.
type ServerInfo struct {
	Version, BuildID, BootID string
	Started                  time.Time
	// Shown to admins only.
	ConfigPath, StateDir string
	// ControlUIBuildSource says where the Control UI this gateway serves
	// comes from (hello-ok server.controlUiBuildSource).
	ControlUIBuildSource string
}

// DefaultMaxInflight is MaxInflight's default: well above what a browser
// UI sends at once on load (about 40), far below what would hurt.
const DefaultMaxInflight = 128

// inflightRetryMs is the retry hint of a request refused for MaxInflight.
const inflightRetryMs = 100

// handshakeTimeout and drainDeadline are timers' messages to the actor.
type handshakeTimeout struct{}
type drainDeadline struct{}

type phase int

const (
	awaitingConnect phase = iota // challenge sent, no connect yet
	authenticating               // connect accepted, waiting for the device actor
	open                         // hello-ok sent
	closed
)

// connActor is kept small: tens of thousands of them sit idle, so what only
// the handshake needs lives in *handshake and is dropped at hello-ok.
type connActor struct {
	d    *Deps
	sock *server.Socket
	gone *atomic.Bool // the socket closed: the actor is being stopped
	hs   *handshake   // nil once hello-ok is sent
	peer *core.Peer   // set at hello-ok

	phase       phase
	inflight    int     // requests dispatched and not yet answered
	draining    bool    // shutdown sent: finish in-flight requests, take no new ones
	registered  bool    // the hub knows this connection
	presenceKey string  // "" when this socket is not in the roster
	timing      []timed // requests in flight, for the latency histogram
}

// lockfreeMailbox is the connection actors' mailbox: two linked lists, where
// the default keeps a 10-slot ring (~220 B) for every idle socket's actor.
var lockfreeMailbox = actor.UnboundedLockfree()

// props builds the actor for sock; gone is set when the socket closes.
func props(d *Deps, sock *server.Socket, gone *atomic.Bool) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &connActor{d: d, sock: sock, gone: gone, hs: &handshake{}} },
		actor.WithMailbox(lockfreeMailbox))
}

func (c *connActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		c.challenge(ctx)
	case *inbound:
		c.inbound(ctx, m)
	case *core.PairResult:
		c.paired(ctx, m)
	case *core.Reply:
		c.reply(m)
	case *core.Deliver:
		if c.phase == open {
			c.sock.SendBroadcast(m.B)
		}
	case *core.Shutdown:
		c.shutdown(ctx, m)
	case *drainDeadline:
		c.finishDrain()
	case *core.SendFrame:
		if c.phase == open {
			c.sock.Send(m.Frame)
		}
	case *core.CloseConn:
		if c.phase == open {
			c.d.Log.Info("closing socket", "conn", c.sock.ID, "code", m.Code, "reason", m.Reason)
			c.closeWith(m.Code, m.Reason)
		}
	case *core.SecretRotated:
		if c.phase == open {
			c.d.Log.Info("closing socket: gateway auth changed", "conn", c.sock.ID)
			c.closeWith(4001, "gateway auth changed")
		}
	case *handshakeTimeout:
		if c.phase == awaitingConnect || c.phase == authenticating {
			c.d.Log.Debug("handshake timeout", "conn", c.sock.ID, "ip", c.sock.IP.String())
			c.d.Metrics.HandshakeTimeout.Inc()
			c.sock.Close(1000, "handshake timeout")
			c.phase = closed
		}
	case *actor.Stopping:
		c.cleanup(ctx)
	}
}

// cleanup runs however the actor stops: socket closed, gateway stopping, or a
// panic in a handler (then the socket is still open and is closed 1011).
func (c *connActor) cleanup(ctx actor.Context) {
	if c.hs != nil && c.hs.timeout != nil {
		c.hs.timeout.Stop()
	}
	if c.phase != closed && !c.gone.Load() {
		// Stopped without the socket closing or a shutdown: a panic.
		c.sock.Close(1011, "internal error")
	}
	if c.registered {
		ctx.Send(c.d.Hub, &core.Unregister{ConnID: c.sock.ID})
		if c.peer.Role == core.RoleNode && c.d.Nodes != nil {
			ctx.Send(c.d.Nodes, &core.NodeDisconnected{ConnID: c.sock.ID, NodeID: c.peer.DeviceID})
		}
	}
	if c.presenceKey != "" {
		ctx.Send(c.d.Presence, &core.PresenceDisconnect{Key: c.presenceKey, ConnID: c.sock.ID})
	}
	c.phase = closed
}

func (c *connActor) inbound(ctx actor.Context, in *inbound) {
	switch c.phase {
	case awaitingConnect:
		c.firstFrame(ctx, in)
	case authenticating:
		if len(c.hs.held) >= c.d.Limits.MaxPendingFrames {
			c.d.Metrics.HandshakeRejected.Inc()
			c.closeWith(1008, "too many pending handshake frames")
			return
		}
		c.hs.held = append(c.hs.held, in)
	case open:
		c.request(ctx, in)
	}
}

func (c *connActor) reply(r *core.Reply) {
	if c.phase != open {
		return
	}
	if !r.Interim {
		c.inflight--
		c.answered(r.ReqID)
	}
	switch {
	case r.Err != nil && r.Payload != nil:
		// A failed final may carry a payload too (agent's error final).
		c.sock.Send(protocol.FailWithPayload(r.ReqID, r.Payload, r.Err))
	case r.Err != nil:
		c.sock.Send(protocol.Fail(r.ReqID, r.Err))
	default:
		c.sock.Send(protocol.OK(r.ReqID, r.Payload))
	}
	if c.draining && c.inflight <= 0 {
		c.finishDrain()
	}
}

// shutdown tells the client why the gateway is going away, lets the requests
// it has in flight finish (bounded by DrainTimeout), then closes 1012.
func (c *connActor) shutdown(ctx actor.Context, m *core.Shutdown) {
	if c.phase != open {
		c.sock.Close(1012, "service restart")
		c.phase = closed
		return
	}
	c.sock.SendBroadcast(shutdownEvent(m))
	c.draining = true
	if c.inflight <= 0 {
		c.finishDrain()
		return
	}
	self, sys := ctx.Self(), ctx.ActorSystem()
	time.AfterFunc(c.d.DrainTimeout, func() { sys.Root.Send(self, &drainDeadline{}) })
}

func (c *connActor) finishDrain() {
	if c.phase == open {
		c.closeWith(1012, "service restart")
	}
}

func (c *connActor) failAndClose(id string, e *protocol.ErrorShape, code uint16) {
	if c.phase != open {
		c.handshakeFailed(e)
	}
	c.sock.Send(protocol.Fail(id, e))
	c.closeWith(code, e.Message)
}

func (c *connActor) closeWith(code uint16, reason string) {
	c.sock.Close(code, reason)
	c.phase = closed
}

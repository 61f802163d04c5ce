// Package gateway is the composition root: it builds one gateway generation
// from its Options, the shared state (the active config, the secret, the
// published snapshots), every actor with exactly the dependencies it talks
// to (root.go), and the transport whose sockets become connection actors
// under the hub. Start and Stop bound its whole life; Runner keeps it running
// across in-process restarts.
package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"

	"openclaw/actors/channels"
	"openclaw/actors/conn"
	"openclaw/actors/core"
	"openclaw/actors/health"
	"openclaw/actors/httpapi"
	"openclaw/actors/hub"
	"openclaw/actors/methods"
	"openclaw/actors/reload"
	"openclaw/actors/store"
	"openclaw/actors/store/jsstore"
	"openclaw/actors/tools"
	"openclaw/config"
	"openclaw/metrics"
	"openclaw/transport/auth"
	"openclaw/transport/canvas"
	"openclaw/transport/controlui"
	"openclaw/transport/controlui/builtin"
	"openclaw/transport/natsbus"
	"openclaw/transport/natsbus/lease"
	"openclaw/transport/protocol"
	"openclaw/transport/server"
)

// Version is the OpenClaw version this gateway speaks for, reported in
// hello-ok.server.version, status.runtimeVersion and presence: the
// reference's release whose protocol and shapes it matches. The reference
// CLI compares it with its own version and flags any difference as a
// mismatch (openclaw doctor, restart checks), so it carries no suffix; what
// this build is goes in BuildID.
var Version = "2026.9.6"

// bootID identifies this process across in-process restarts.
var bootID = uuid.NewString()

// Defaults of the Options a caller leaves zero.
const (
	// DefaultDrainTimeout is how long requests in flight get on stop.
	DefaultDrainTimeout = 5 * time.Second
	// startTimeout bounds how long the actor tree may take to come up (its
	// first health summary reads the store): milliseconds normally, but a
	// start on a machine under heavy load must not fail for being slow.
	startTimeout = 30 * time.Second
	// shutdownTimeout bounds telling every socket the gateway is going.
	shutdownTimeout = 5 * time.Second
	// drainPoll is how often a stopping gateway checks for open sockets,
	// and drainGrace how long past DrainTimeout it waits for them.
	drainPoll  = 20 * time.Millisecond
	drainGrace = time.Second
)

// Options configure one gateway generation.
type Options struct {
	// Listeners, when set, is the bound port to serve on (the Runner keeps
	// it across restarts); otherwise Start binds Hosts and Port.
	Listeners *server.Listeners
	Hosts     []string
	Port      int
	Limits    server.Limits

	Secret           auth.Secret
	RateLimit        auth.RateLimit
	AutoApproveLocal bool
	PresenceTTL      time.Duration // default presence.DefaultTTL
	DrainTimeout     time.Duration // in-flight requests get this long on stop; default DefaultDrainTimeout
	HealthEvery      time.Duration // default health.CacheFor

	StateDir   string
	ConfigPath string
	LogFile    func() string
	Log        *slog.Logger

	// Channels are the kinds of channel this gateway runs (cmd/openclaw
	// passes Telegram's driver); their accounts come from the config.
	Channels []channels.Driver

	// Extra adds methods served by extra actors, and tools (tests install a
	// method that panics, a slow one, a tool that panics).
	Extra Extra

	// RequestRestart asks the process for an in-process restart (set by the
	// Runner; nil when the gateway runs alone).
	RequestRestart func(reason string)

	// Canvas serves <workspace>/canvas at /__openclaw__/canvas/ on the
	// gateway port and on its own port; nil disables it.
	Canvas *CanvasOptions

	// ControlUI serves the browser Control UI on the gateway port; nil
	// disables it.
	ControlUI *ControlUIOptions

	// Config is the configuration this generation runs (nil: defaults) and
	// ConfigHash the hash of the file it came from ("" when there is none).
	Config     *config.Config
	ConfigHash string

	// Restarts is how many in-process restarts came before this
	// generation (set by the Runner; openclaw_restarts_total).
	Restarts int64
}

// Extra is what tests add to a gateway.
type Extra struct {
	Methods []core.Method
	Owners  map[core.Owner]*actor.Props
	Tools   tools.Set
}

// CanvasOptions configure the canvas host (the runbook's canvas file server).
type CanvasOptions struct {
	Root  string
	Port  int      // its own port (gateway port + 4 by default)
	Hosts []string // loopback unless gateway auth is configured
}

// ControlUIOptions configure the Control UI (gateway.controlUi).
type ControlUIOptions struct {
	BasePath string
	// Root is a directory holding a Control UI build (e.g. the reference's
	// dist/control-ui); empty serves the page built into the gateway.
	Root string
}

// buildSource is what hello-ok's server.controlUiBuildSource says about the
// UI this gateway serves: "configured" (a build from gateway.controlUi.root,
// which the reference's app then never asks to reload for a build-id
// mismatch), "bundled" (our own page), "" (none).
func (c *ControlUIOptions) buildSource() string {
	switch {
	case c == nil:
		return ""
	case c.Root != "":
		return "configured"
	default:
		return "bundled"
	}
}

// Gateway is a running gateway.
type Gateway struct {
	opts     Options
	system   *actor.ActorSystem
	root     *actor.PID
	hub      *actor.PID
	runs     *actor.PID
	channels *actor.PID
	config   *actor.PID
	store    store.Store
	draining atomic.Bool
	srv      *server.Server
	canvas   *canvas.Server
	metrics  *metrics.Metrics
	bus      *natsbus.Bus   // cluster mode only
	leases   *lease.Manager // cluster mode only: one owner per channel account

	stopOnce sync.Once
	stopErr  error
}

// New validates options; Start runs it.
func New(opts Options) (*Gateway, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.LogFile == nil {
		opts.LogFile = func() string { return "" }
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = DefaultDrainTimeout
	}
	if opts.Config == nil {
		opts.Config = &config.Config{}
	}
	if opts.StateDir == "" {
		return nil, errors.New("gateway: no state directory")
	}
	return &Gateway{opts: opts}, nil
}

// Start builds the actor tree and binds the port. When it returns nil the
// gateway accepts authenticated connections.
func (g *Gateway) Start(ctx context.Context) error {
	o := g.opts
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return fmt.Errorf("state directory %s: %w", o.StateDir, err)
	}
	validate, err := protocol.NewValidator()
	if err != nil {
		return err
	}
	// A registry of this generation's own: a restart starts the counters
	// from zero (Prometheus reads that as a counter reset).
	g.metrics = metrics.New(metrics.Options{Methods: registry(o.Extra.Methods).Names(), Restarts: o.Restarts, Runtime: true})
	st, err := store.OpenObserved(store.DefaultPath(o.StateDir), g.metrics.StoreCommit)
	if err != nil {
		return fmt.Errorf("state database: %w", err)
	}
	g.store = st
	if cc := o.Config.Gateway.Cluster; cc != nil && cc.Enabled {
		// Cluster mode: NATS first, so the actors find it connected.
		g.bus, err = natsbus.Start(natsbus.Options{Config: *cc, StateDir: o.StateDir, Port: o.Port, Log: o.Log})
		if err != nil {
			_ = st.Close()
			return err
		}
		o.Log.Info("cluster mode", "cluster", g.bus.Name, "node", g.bus.Node, "embeddedNats", g.bus.Embedded(),
			"replicas", g.bus.Replicas)
		// The cluster's state (sessions, transcripts, devices, kv, cron,
		// the durable queue) lives in JetStream, the same on every gateway;
		// the local database was opened above to hold the state
		// directory's integrity check and is closed unused (`openclaw
		// cluster import` moves its contents in, once).
		js, err := openClusterStore(ctx, g.bus, o.Log)
		if err != nil {
			g.bus.Close()
			_ = st.Close()
			return fmt.Errorf("cluster state in JetStream: %w", err)
		}
		_ = st.Close()
		g.store = js
		g.leases, err = untilQuorum(ctx, o.Log, "the channel leases", func() (*lease.Manager, error) {
			return lease.Open(ctx, g.bus.JS, lease.Config{Bucket: g.bus.Bucket("leases"), Replicas: g.bus.Replicas,
				TTL: cc.LeaseTTL(), Node: g.bus.Node})
		})
		if err != nil {
			_ = js.Close()
			g.bus.Close()
			return fmt.Errorf("cluster channel leases in JetStream: %w", err)
		}
	}
	g.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		// The actor library logs dead letters and restarts at INFO; keep
		// what matters (warnings and errors) in our log.
		return slog.New(levelFilter{h: o.Log.Handler(), min: slog.LevelWarn}).With("subsystem", "actor")
	}), actor.WithDeadLetterRequestLogging(false))
	hub.CompactRegistry(g.system)

	t := g.compose(validate)
	g.hub, g.runs, g.config, g.channels = t.pids.hub, t.pids.runs, t.pids.config, t.pids.channels
	g.root, err = g.system.Root.SpawnNamed(supervisorProps(o.Log, t.children, t.pids.health), rootName)
	if err != nil {
		g.stopActors()
		return err
	}
	// Ready once the health actor has published its first summary: the
	// first hello-ok already carries one.
	if _, err := g.system.Root.RequestFuture(g.root, &health.Ready{}, startTimeout).Result(); err != nil {
		g.stopActors()
		return fmt.Errorf("actor tree did not start: %w", err)
	}

	routes := httpapi.Routes(t.httpapi)
	if c := o.Canvas; c != nil {
		routes[canvas.Prefix] = canvas.Handler(c.Root)
	}
	if c := o.ControlUI; c != nil {
		// At "/": every other route is more specific, and the WebSocket
		// upgrade still answers on any path (the app connects to its base
		// path).
		routes["/"] = controlui.Handler(controlui.Options{BasePath: c.BasePath, Root: c.Root, FS: builtin.FS})
	}
	limits := o.Limits.WithDefaults()
	g.srv = server.New(server.Options{
		Listeners: o.Listeners, Hosts: o.Hosts, Port: o.Port, Limits: limits, Log: o.Log, Routes: routes,
		Metrics:        g.metrics.Transport,
		AllowedOrigins: o.Config.Gateway.ControlUI.AllowedOrigins,
		Accept:         func(s *server.Socket) server.Handler { return conn.Accept(g.system.Root, t.conn, s) },
		Info: func() map[string]any {
			return map[string]any{"version": Version, "uptimeMs": time.Since(t.conn.Server.Started).Milliseconds()}
		},
		Failing: func() []string {
			if g.draining.Load() {
				return []string{"gateway draining"}
			}
			return nil
		},
	})
	if err := g.srv.Start(ctx); err != nil {
		g.stopActors()
		return err
	}
	if c := o.Canvas; c != nil {
		// The canvas has its own port too (the runbook's); losing it is not
		// worth losing the gateway over: the gateway port serves the same.
		g.canvas = canvas.New(canvas.Options{Hosts: c.Hosts, Port: c.Port, Root: c.Root, Log: o.Log})
		if err := g.canvas.Start(ctx); err != nil {
			o.Log.Warn("canvas host not started on its own port; it is still served on the gateway port", "err", err)
			g.canvas = nil
		}
	}
	o.Log.Info("gateway listening", "addr", g.srv.Addr(), "port", g.srv.Port(), "auth", string(o.Secret.Mode),
		"stateDir", o.StateDir, "pid", os.Getpid())
	return nil
}

// ReloadConfig has the config actor read the file now (SIGHUP): a hot
// change is applied in place, a restart-class one asks for a restart, a
// broken file is logged and the running config stays.
func (g *Gateway) ReloadConfig(reason string) {
	g.system.Root.Send(g.config, &reload.ReloadNow{Reason: reason})
}

// Port is the bound port.
func (g *Gateway) Port() int { return g.srv.Port() }

// Metrics are this generation's collectors (tests read them).
func (g *Gateway) Metrics() *metrics.Metrics { return g.metrics }

// Store is the state database (tests read what the gateway wrote).
func (g *Gateway) Store() store.Store { return g.store }

// SetDraining makes the gateway refuse new handshakes (as while it stops),
// or accept them again.
func (g *Gateway) SetDraining(on bool) { g.draining.Store(on) }

// Stop tells every client why (shutdown event, close 1012), stops accepting,
// and stops the actor tree. It returns when sockets are closed or ctx ends.
func (g *Gateway) Stop(ctx context.Context, reason string, restartExpectedMs int64) error {
	g.stopOnce.Do(func() { g.stopErr = g.stop(ctx, reason, restartExpectedMs) })
	return g.stopErr
}

func (g *Gateway) stop(ctx context.Context, reason string, restartExpectedMs int64) error {
	g.draining.Store(true)
	shutdown := &core.Shutdown{Reason: reason, RestartExpectedMs: restartExpectedMs}
	// The runs before the hub: an agent request still waiting for its final
	// gets an answer (the turn runs again at the next start) before its
	// socket closes.
	// In a cluster, the channel accounts first: they stop (a turn in
	// progress stays queued, not answered with the runs' shutdown error)
	// and hand their leases to a peer at once, not after the drain.
	if g.leases != nil {
		_, _ = g.system.Root.RequestFuture(g.channels, shutdown, shutdownTimeout).Result()
	}
	g.system.Root.Send(g.runs, shutdown)
	res, err := g.system.Root.RequestFuture(g.hub, shutdown, shutdownTimeout).Result()
	if err == nil {
		g.opts.Log.Info("gateway stopping", "reason", reason, "clients", res)
	}
	stopErr := g.srv.Stop(ctx)
	if g.canvas != nil {
		_ = g.canvas.Stop(ctx)
	}
	g.waitDrained(ctx)
	g.stopActors()
	return stopErr
}

// Kill stops the gateway the way a crash would, for tests of a cluster
// losing a gateway: its NATS goes first, with no goodbye (its peers time it
// out), then its sockets drop without the shutdown event.
func (g *Gateway) Kill() {
	g.stopOnce.Do(func() {
		if g.bus != nil {
			g.bus.Close()
		}
		g.draining.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = g.srv.Stop(ctx)
		g.stopActors()
	})
}

// ClusterNode is this gateway's name in its cluster ("" for a single
// gateway).
func (g *Gateway) ClusterNode() string {
	if g.bus == nil {
		return ""
	}
	return g.bus.Node
}

// waitDrained waits for every socket to close: sockets with requests in
// flight finish them first (up to DrainTimeout), the others close at once.
func (g *Gateway) waitDrained(ctx context.Context) {
	deadline := time.Now().Add(g.opts.DrainTimeout + drainGrace)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		n, errShape := core.Ask[struct{}, protocol.ConnectionCount](g.system.Root, g.hub, struct{}{}, drainGrace)
		if errShape != nil || (n.Total == 0 && n.Handshaking == 0) {
			return
		}
		time.Sleep(drainPoll)
	}
}

func (g *Gateway) stopActors() {
	if g.root != nil {
		_ = g.system.Root.PoisonFuture(g.root).Wait()
	}
	g.system.Shutdown()
	if g.bus != nil {
		g.bus.Close()
	}
	// After the actors: a run that was cut short still commits what it had.
	if err := g.store.Close(); err != nil {
		g.opts.Log.Warn("closing the state database", "err", err)
	}
}

// registry is the method table of a generation: the registry's methods and
// any extra ones.
func registry(extra []core.Method) *core.Registry {
	if len(extra) == 0 {
		return methods.Registry
	}
	all := []core.Method{}
	methods.Registry.Each(func(m *core.Method) { all = append(all, *m) })
	return core.NewRegistry(append(all, extra...)...).NotServed(methods.ReferenceMethods)
}

// publishedHealth is the health summary hello-ok shows until the health
// actor publishes its first (never seen by a client: Start waits for it).
var publishedHealth = json.RawMessage(`{}`)

// clusterQuorumWait bounds how long a gateway waits at start for its
// cluster's JetStream: a clustered JetStream answers only once a majority
// of its servers is up, so the first gateway of a cluster waits for a
// second.
const clusterQuorumWait = 2 * time.Minute

// openClusterStore opens the cluster's state in JetStream, trying again
// (each try waits for JetStream's own request timeout) until the quorum
// answers or clusterQuorumWait has passed.
func openClusterStore(ctx context.Context, bus *natsbus.Bus, log *slog.Logger) (*jsstore.Store, error) {
	return untilQuorum(ctx, log, "the cluster's state", func() (*jsstore.Store, error) {
		return jsstore.Open(ctx, bus.JS, jsstore.Config{Cluster: bus.Name, Replicas: bus.Replicas, Node: bus.Node})
	})
}

// untilQuorum tries open (which creates or binds JetStream buckets) again
// until it succeeds, ctx ends or clusterQuorumWait has passed: while the
// cluster forms, or its JetStream elects the leaders of buckets a peer has
// just created, a create or bind times out.
func untilQuorum[T any](ctx context.Context, log *slog.Logger, what string, open func() (T, error)) (T, error) {
	deadline := time.Now().Add(clusterQuorumWait)
	for {
		v, err := open()
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			return v, err
		}
		log.Info("waiting for the cluster's JetStream (a majority of its servers must be up)", "for", what, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(quorumRetry):
		}
	}
}

// quorumRetry spaces the tries of untilQuorum (each of which waits for
// JetStream's own request timeout when the cluster does not answer).
const quorumRetry = 250 * time.Millisecond

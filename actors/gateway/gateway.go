// Package gateway is the root of the actor tree (DESIGN.md): it builds the
// environment, spawns the supervisor and its children (presence, health,
// devices, hub), and starts the transport whose sockets become connection
// actors under the hub. Start and Stop bound its whole life.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"

	"openclaw/actors/conn"
	"openclaw/actors/core"
	"openclaw/actors/health"
	"openclaw/actors/hub"
	"openclaw/actors/reload"
	"openclaw/actors/runs"
	"openclaw/actors/store"
	"openclaw/channels"
	"openclaw/config"
	"openclaw/transport/auth"
	"openclaw/transport/canvas"
	"openclaw/transport/httpapi"
	"openclaw/transport/protocol"
	"openclaw/transport/server"
)

// Version is the gateway's version, reported in hello-ok and presence.
var Version = "2026.9.6-go"

// bootID identifies this process across in-process restarts.
var bootID = uuid.NewString()

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
	PresenceTTL      time.Duration // default 5 min
	DrainTimeout     time.Duration // in-flight requests get this long on stop; default 5 s
	HealthEvery      time.Duration // default 60 s

	StateDir   string
	ConfigPath string
	LogFile    func() string
	Log        *slog.Logger

	// ExtraMethods are added to the core method table (tests use this to
	// install a method that panics).
	ExtraMethods map[string]*core.Method
	// ExtraTools are added to the agent tool registry (tests).
	ExtraTools map[string]*runs.Tool
	// Channels tunes the channel accounts (tests shorten timings).
	Channels channels.Options

	// RequestRestart asks the process for an in-process restart (set by the
	// Runner; nil when the gateway runs alone).
	RequestRestart func(reason string)

	// Canvas serves <workspace>/canvas at /__openclaw__/canvas/ on the
	// gateway port and on its own port; nil disables it.
	Canvas *CanvasOptions

	// Config is the configuration this generation runs (nil: defaults) and
	// ConfigHash the hash of the file it came from ("" when there is none).
	Config     *config.Config
	ConfigHash string
}

// CanvasOptions configure the canvas host (the runbook's canvas file server).
type CanvasOptions struct {
	Root  string
	Port  int      // its own port (gateway port + 4 by default)
	Hosts []string // loopback unless gateway auth is configured
}

// Events the core emits.
var coreEvents = []string{"connect.challenge", "tick", "presence", "health", "shutdown", "node.pair.requested"}

// Gateway is a running gateway.
type Gateway struct {
	opts   Options
	env    *core.Env
	system *actor.ActorSystem
	root   *actor.PID
	srv    *server.Server
	canvas *canvas.Server

	stopOnce sync.Once
	stopErr  error
}

// New validates options; Start runs it.
func New(opts Options) (*Gateway, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.PresenceTTL <= 0 {
		opts.PresenceTTL = 5 * time.Minute
	}
	if opts.HealthEvery <= 0 {
		opts.HealthEvery = health.CacheFor
	}
	if opts.LogFile == nil {
		opts.LogFile = func() string { return "" }
	}
	if opts.StateDir == "" {
		return nil, errors.New("gateway: no state directory")
	}
	return &Gateway{opts: opts}, nil
}

// Start builds the actor tree and binds the port. When it returns nil the
// gateway accepts authenticated connections.
func (g *Gateway) Start(ctx context.Context) error {
	if err := os.MkdirAll(g.opts.StateDir, 0o700); err != nil {
		return fmt.Errorf("state directory %s: %w", g.opts.StateDir, err)
	}
	v, err := protocol.NewValidator()
	if err != nil {
		return err
	}
	limits := g.opts.Limits.WithDefaults()
	methods := conn.Methods()
	for name, m := range runs.Methods() {
		methods[name] = m
	}
	for name, m := range channels.Methods() {
		methods[name] = m
	}
	for name, m := range g.opts.ExtraMethods {
		methods[name] = m
	}
	st, err := store.Open(filepath.Join(g.opts.StateDir, "state", "openclaw.sqlite"))
	if err != nil {
		return fmt.Errorf("state database: %w", err)
	}
	env := &core.Env{
		Version: Version, BuildID: buildID(), BootID: bootID, InstanceID: uuid.NewString(), Started: time.Now(), PID: os.Getpid(),
		Host: hostInfo(), Limits: limits, Validate: v, Limiter: auth.NewLimiter(g.opts.RateLimit),
		AutoApproveLocal: g.opts.AutoApproveLocal, PresenceTTL: g.opts.PresenceTTL, HealthEvery: g.opts.HealthEvery,
		StateDir: g.opts.StateDir, ConfigPath: g.opts.ConfigPath, LogFile: g.opts.LogFile, Log: g.opts.Log,
		Methods: methods, Events: append(append([]string{}, coreEvents...), runs.Events...), DrainTimeout: g.opts.DrainTimeout,
		Store: st,
	}
	env.SetConfig(g.opts.Config)
	if env.DrainTimeout <= 0 {
		env.DrainTimeout = 5 * time.Second
	}
	env.SetSecret(g.opts.Secret)
	g.env = env
	g.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		// The actor library logs dead letters and restarts at INFO; keep
		// what matters (warnings and errors) in our log.
		return slog.New(levelFilter{h: g.opts.Log.Handler(), min: slog.LevelWarn}).With("lib", "actor")
	}), actor.WithDeadLetterRequestLogging(false))
	hub.CompactRegistry(g.system)
	env.System = g.system

	ro := reload.Options{Path: g.opts.ConfigPath, Config: g.opts.Config, Hash: g.opts.ConfigHash,
		Restart: g.opts.RequestRestart}
	if g.opts.Config != nil {
		ro.Mode = g.opts.Config.Gateway.Reload.Mode
	}
	g.root, err = g.system.Root.SpawnNamed(rootProps(env, ro, g.opts.ExtraTools, g.opts.Channels), "gateway")
	if err != nil {
		return err
	}
	if _, err := g.system.Root.RequestFuture(g.root, &ready{}, 5*time.Second).Result(); err != nil {
		return fmt.Errorf("actor tree did not start: %w", err)
	}

	routes := map[string]http.Handler{}
	for pattern, h := range httpapi.Routes(env) {
		routes[pattern] = h
	}
	if c := g.opts.Canvas; c != nil {
		routes[canvas.Prefix] = canvas.Handler(c.Root)
	}
	g.srv = server.New(server.Options{
		Listeners: g.opts.Listeners, Hosts: g.opts.Hosts, Port: g.opts.Port, Limits: limits, Log: g.opts.Log, Routes: routes,
		AllowedOrigins: env.Config().Gateway.ControlUI.AllowedOrigins, Accept: func(s *server.Socket) server.Handler { return conn.Accept(env, s) },
		Info: func() map[string]any {
			return map[string]any{"version": env.Version, "uptimeMs": time.Since(env.Started).Milliseconds()}
		},
		Failing: func() []string {
			if env.Draining.Load() {
				return []string{"gateway draining"}
			}
			return nil
		},
	})
	if err := g.srv.Start(ctx); err != nil {
		g.stopActors()
		return err
	}
	if c := g.opts.Canvas; c != nil {
		// The canvas has its own port too (the runbook's); losing it is not
		// worth losing the gateway over: the gateway port serves the same.
		g.canvas = canvas.New(canvas.Options{Hosts: c.Hosts, Port: c.Port, Root: c.Root, Log: g.opts.Log})
		if err := g.canvas.Start(ctx); err != nil {
			g.opts.Log.Warn("canvas host not started on its own port; it is still served on the gateway port", "err", err)
			g.canvas = nil
		}
	}
	g.opts.Log.Info("gateway listening", "addr", g.srv.Addr(), "port", g.srv.Port(), "auth", string(env.Secret().Mode),
		"stateDir", env.StateDir, "pid", env.PID)
	return nil
}

// Port is the bound port.
func (g *Gateway) Port() int { return g.srv.Port() }

// Env exposes the environment (tests read counters from it).
func (g *Gateway) Env() *core.Env { return g.env }

// Stop tells every client why (shutdown event, close 1012), stops accepting,
// and stops the actor tree. It returns when sockets are closed or ctx ends.
func (g *Gateway) Stop(ctx context.Context, reason string, restartExpectedMs int64) error {
	g.stopOnce.Do(func() { g.stopErr = g.stop(ctx, reason, restartExpectedMs) })
	return g.stopErr
}

func (g *Gateway) stop(ctx context.Context, reason string, restartExpectedMs int64) error {
	g.env.Draining.Store(true)
	res, err := g.system.Root.RequestFuture(g.env.Hub, &core.Shutdown{Reason: reason, RestartExpectedMs: restartExpectedMs}, 5*time.Second).Result()
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

// waitDrained waits for every socket to close: sockets with requests in
// flight finish them first (up to DrainTimeout), the others close at once.
func (g *Gateway) waitDrained(ctx context.Context) {
	deadline := time.Now().Add(g.env.DrainTimeout + time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		res, err := g.system.Root.RequestFuture(g.env.Hub, &core.StatusGet{}, time.Second).Result()
		if err != nil {
			return
		}
		c := res.(*core.Reply).Payload.(map[string]any)["connections"].(map[string]any)
		if c["total"].(int) == 0 && c["handshaking"].(int) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (g *Gateway) stopActors() {
	_ = g.system.Root.PoisonFuture(g.root).Wait()
	g.system.Shutdown()
	// After the actors: a run that was cut short still commits what it had.
	if err := g.env.Store.Close(); err != nil {
		g.opts.Log.Warn("closing the state database", "err", err)
	}
}

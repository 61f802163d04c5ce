package main

import (
	"openclaw/actors/channels"
	"openclaw/channels/telegram"

	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"openclaw/actors/gateway"
	"openclaw/actors/reload"
	"openclaw/config"
	"openclaw/transport/auth"
	"openclaw/transport/server"
	"openclaw/transport/takeover"
)

// RunCmd runs the gateway in the foreground until SIGTERM or SIGINT.
type RunCmd struct {
	Port              int    `help:"Port for WebSocket and HTTP (precedence: --port, OPENCLAW_GATEWAY_PORT, gateway.port, 18789)."`
	Bind              string `help:"loopback (default), lan (0.0.0.0), custom (gateway.customBindHost), or an IP address."`
	Verbose           bool   `help:"Debug logging (handshakes, requests, events) to stdout and the log file."`
	AllowUnconfigured bool   `help:"Start without a config file, on the embedded defaults."`
	Force             bool   `help:"Stop whatever listens on the port (SIGTERM, logging each process) before starting."`
	Pprof             string `help:"Serve Go's pprof profiles on this loopback address (e.g. 127.0.0.1:6060)." placeholder:"ADDR"`
}

func (r *RunCmd) Run(g *Globals) error {
	prof, paths, err := g.paths()
	if err != nil {
		return err
	}
	// Check the config before anything else, so a broken file is one line
	// and a non-zero exit, not a half-started gateway.
	if _, err := r.loadConfig(prof, paths); err != nil {
		return err
	}
	log, logw, err := setupLogging(paths.StateDir, r.Verbose)
	if err != nil {
		return fail(exitConfig, "cannot open the log file under %s: %v", paths.StateDir, err)
	}
	defer logw.Close()

	// A generated token is made once per process: an in-process restart
	// must not lock out the clients that were given it. It is a secret: it
	// goes to stdout once (the person who started the gateway) and to the
	// token file (clients of the same user and profile), never to the log.
	var generated string
	generatedInForce := false // the generation being started uses it
	build := func() (gateway.Options, error) {
		cfg, hash, err := r.loadConfigHash(prof, paths)
		if err != nil {
			return gateway.Options{}, err
		}
		opts, err := r.options(cfg, prof, paths)
		if err != nil {
			return gateway.Options{}, err
		}
		opts.ConfigHash = hash
		generatedInForce = opts.Secret.Generated
		if opts.Secret.Generated {
			if generated == "" {
				generated = opts.Secret.Value
			}
			opts.Secret.Value = generated
		}
		opts.Log, opts.LogFile = log, logw.Path
		return opts, nil
	}
	runner := gateway.NewRunner(build, log)
	// The token file is written only once this gateway holds the state
	// directory (a second gateway refused by the lock must not replace the
	// first one's file) and follows restarts that configure a token.
	started, announced := false, false
	runner.OnStart = func(*gateway.Gateway) {
		if !started {
			// Once per process, off this goroutine: the ~14 MB that start-up
			// allocated, mostly garbage by now (kong's parse tree,
			// protoactor's registry before the hub compacts it), goes back
			// to the OS while the gateway already serves. A restart reuses
			// the process and needs no second pass.
			go debug.FreeOSMemory()
		}
		started = true
		if !generatedInForce {
			removeTokenFile(paths.StateDir, generated)
			return
		}
		if err := writeTokenFile(paths.StateDir, generated); err != nil {
			log.Warn("cannot write the token file; clients must be given the token", "path", tokenFilePath(paths.StateDir), "err", err)
		}
		if !announced {
			announced = true
			log.Warn("no gateway token configured: generated one for this run, printed on stdout and kept in the token file while the gateway runs (set gateway.auth.token or OPENCLAW_GATEWAY_TOKEN to keep one)",
				"tokenFile", tokenFilePath(paths.StateDir))
			fmt.Printf("gateway token for this run: %s\n", generated)
		}
	}
	defer func() {
		if generated != "" {
			removeTokenFile(paths.StateDir, generated)
		}
	}()
	if r.Pprof != "" {
		if err := servePprof(r.Pprof, log); err != nil {
			return fail(exitConfig, "--pprof: %v", err)
		}
	}
	if r.Force {
		opts, err := build()
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		killed, err := takeover.Free(ctx, opts.Port, func(msg string, args ...any) { log.Warn(msg, args...) })
		cancel()
		if err != nil {
			return fail(exitFailure, "--force: %v", err)
		}
		if len(killed) == 0 {
			log.Info("--force: nothing was listening on the port", "port", opts.Port)
		}
	}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go func() {
		for sig := range sigs {
			if sig == syscall.SIGHUP {
				// As NATS and Caddy do: reread the config, don't die.
				runner.Reload("SIGHUP")
				continue
			}
			if sig != syscall.SIGUSR1 {
				log.Info("signal received; stopping", "signal", sig.String())
				runner.Stop()
				continue
			}
			cfg, err := r.loadConfig(prof, paths)
			if err == nil && !restartAllowed(cfg) {
				log.Warn("SIGUSR1 ignored: commands.restart is false")
				continue
			}
			runner.Restart("SIGUSR1")
		}
	}()

	if err := runner.Run(context.Background()); err != nil {
		log.Error("gateway failed", "err", err)
		var ee *exitError
		if errors.As(err, &ee) {
			return err
		}
		if !started {
			// It never served: the port is busy, the state directory is
			// locked, a listener or the state database cannot open. Starting
			// it again as it is would fail the same way.
			return fail(exitConfig, "%v", err)
		}
		return fail(exitFailure, "%v", err)
	}
	log.Info("gateway stopped")
	return nil
}

// loadConfig reads the config file; a missing one is allowed only with
// --allow-unconfigured or in the dev profile. The hash is of the bytes the
// config was parsed from ("" without a file), the baseline for config.apply.
func (r *RunCmd) loadConfig(prof config.Profile, paths config.Paths) (*config.Config, error) {
	cfg, _, err := r.loadConfigHash(prof, paths)
	return cfg, err
}

func (r *RunCmd) loadConfigHash(prof config.Profile, paths config.Paths) (*config.Config, string, error) {
	data, err := os.ReadFile(paths.ConfigPath)
	if errors.Is(err, fs.ErrNotExist) {
		if !r.AllowUnconfigured && !prof.Dev {
			return nil, "", fail(exitConfig, "no config at %s: create one with `openclaw setup` or pass --allow-unconfigured to run on the defaults", paths.ConfigPath)
		}
		return &config.Config{}, "", nil
	}
	if err != nil {
		return nil, "", fail(exitConfig, "%v", err)
	}
	cfg, err := config.Parse(paths.ConfigPath, data)
	if err != nil {
		return nil, "", fail(exitConfig, "%v", err)
	}
	return cfg, config.HashBytes(data), nil
}

// options turns the config and flags into one generation's options.
func (r *RunCmd) options(cfg *config.Config, prof config.Profile, paths config.Paths) (gateway.Options, error) {
	port, _, err := config.ResolvePort(r.Port, cfg, prof)
	if err != nil {
		return gateway.Options{}, fail(exitConfig, "%v", err)
	}
	hosts, err := bindHosts(r.Bind, cfg)
	if err != nil {
		return gateway.Options{}, fail(exitConfig, "%v", err)
	}
	secret, err := resolveSecret(cfg)
	if err != nil {
		return gateway.Options{}, fail(exitConfig, "%v", err)
	}
	if secret.Mode == auth.ModeNone && !allLoopback(hosts) {
		return gateway.Options{}, fail(exitConfig, "refusing to listen on %v with gateway.auth.mode=none: set a token or bind to loopback", hosts)
	}
	opts := gateway.Options{
		Hosts: hosts, Port: port, Limits: limitsFrom(cfg), Secret: secret, RateLimit: reload.RateLimitFrom(cfg),
		AutoApproveLocal: autoApproveLocal(cfg), StateDir: paths.StateDir, ConfigPath: paths.ConfigPath,
		Config: cfg, Canvas: canvasOptions(cfg, paths, port, hosts, secret), ControlUI: controlUIOptions(cfg),
		Channels: []channels.Driver{telegram.Driver{}},
	}
	if ms := envInt("OPENCLAW_PRESENCE_TTL_MS"); ms > 0 {
		opts.PresenceTTL = time.Duration(ms) * time.Millisecond
	}
	if ms := cfg.Gateway.Limits.PresenceTTLMs; ms > 0 {
		opts.PresenceTTL = time.Duration(ms) * time.Millisecond
	}
	if ms := cfg.Gateway.Limits.HealthBroadcastMs; ms > 0 {
		opts.HealthEvery = time.Duration(ms) * time.Millisecond
	}
	return opts, nil
}

// canvasOptions applies canvasHost.* and the environment: the canvas root
// defaults to <workspace>/canvas, its port to the gateway port + 4
// (OPENCLAW_CANVAS_HOST_PORT overrides), and it stays on loopback unless the
// gateway has auth configured.
func canvasOptions(cfg *config.Config, paths config.Paths, port int, hosts []string, secret auth.Secret) *gateway.CanvasOptions {
	if !cfg.CanvasHost.IsEnabled() || os.Getenv("OPENCLAW_SKIP_CANVAS_HOST") == "1" {
		return nil
	}
	root := cfg.CanvasHost.Root
	if root == "" {
		ws := cfg.Agents.Defaults.Workspace
		if ws == "" {
			ws = filepath.Join(paths.StateDir, "workspace")
		}
		root = filepath.Join(expandHome(ws), "canvas")
	}
	cport := cfg.CanvasHost.PortFor(port)
	if v := envInt("OPENCLAW_CANVAS_HOST_PORT"); v > 0 {
		cport = v
	}
	chosts := []string{"127.0.0.1", "::1"}
	if secret.Mode != auth.ModeNone {
		chosts = hosts
	}
	return &gateway.CanvasOptions{Root: expandHome(root), Port: cport, Hosts: chosts}
}

// controlUIOptions applies gateway.controlUi: the built-in page unless root
// names a build; nil when it is turned off.
func controlUIOptions(cfg *config.Config) *gateway.ControlUIOptions {
	c := cfg.Gateway.ControlUI
	if !c.IsEnabled() {
		return nil
	}
	root := c.Root
	if root != "" {
		root = expandHome(root)
	}
	return &gateway.ControlUIOptions{BasePath: c.BasePath, Root: root}
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, strings.TrimPrefix(p, "~"))
		}
	}
	return p
}

// restartAllowed is commands.restart (default true).
func restartAllowed(cfg *config.Config) bool { return cfg.RestartEnabled() }

func bindHosts(flag string, cfg *config.Config) ([]string, error) {
	switch flag {
	case "":
		return config.BindHosts(cfg)
	case "loopback", "lan", "custom":
		c := *cfg
		c.Gateway.Bind = flag
		return config.BindHosts(&c)
	}
	if _, err := netip.ParseAddr(flag); err != nil {
		return nil, fmt.Errorf("--bind %q: use loopback, lan, custom or an IP address", flag)
	}
	return []string{flag}, nil
}

func allLoopback(hosts []string) bool {
	for _, h := range hosts {
		a, err := netip.ParseAddr(h)
		if err != nil || !a.IsLoopback() {
			return false
		}
	}
	return true
}

// resolveSecret applies docs/PROTOCOL.md §3.3 (config, then environment, else a
// generated token for this run).
func resolveSecret(cfg *config.Config) (auth.Secret, error) { return reload.SecretFrom(cfg) }

func limitsFrom(cfg *config.Config) server.Limits {
	l := cfg.Gateway.Limits
	ms := func(v int) time.Duration { return time.Duration(v) * time.Millisecond }
	out := server.Limits{
		PreAuthMaxFrame: l.PreAuthMaxFrameBytes, MaxPayload: l.MaxPayloadBytes, MaxBufferedBytes: int64(l.MaxBufferedBytes),
		TickInterval: ms(l.TickIntervalMs), HandshakeTimeout: ms(l.HandshakeTimeoutMs), MaxPreAuthPerIP: l.MaxPreAuthPerIP,
		MaxPendingFrames: l.MaxPendingFrames, PingInterval: ms(l.PingIntervalMs),
	}
	if v := envInt("OPENCLAW_HANDSHAKE_TIMEOUT_MS"); v > 0 {
		out.HandshakeTimeout = ms(v)
	}
	if v := envInt("OPENCLAW_MAX_PREAUTH_CONNECTIONS_PER_IP"); v > 0 {
		out.MaxPreAuthPerIP = v
	}
	return out
}

func autoApproveLocal(cfg *config.Config) bool {
	if v := cfg.Gateway.Nodes.Pairing.AutoApproveLocal; v != nil {
		return *v
	}
	return true
}

func envInt(name string) int {
	n, _ := strconv.Atoi(os.Getenv(name))
	return n
}

func version() string { return gateway.Version }

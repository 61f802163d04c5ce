package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"openclaw/actors/gateway"
	"openclaw/config"
	"openclaw/transport/auth"
	"openclaw/transport/server"
)

// RunCmd runs the gateway in the foreground until SIGTERM or SIGINT.
type RunCmd struct {
	Port              int    `help:"Port for WebSocket and HTTP (precedence: --port, OPENCLAW_GATEWAY_PORT, gateway.port, 18789)."`
	Bind              string `help:"loopback (default), lan (0.0.0.0), custom (gateway.customBindHost), or an IP address."`
	Verbose           bool   `help:"Debug logging (handshakes, requests, events) to stdout and the log file."`
	AllowUnconfigured bool   `help:"Start without a config file, on the embedded defaults."`
}

func (r *RunCmd) Run(g *Globals) error {
	prof, err := g.profile()
	if err != nil {
		return fail(2, "%v", err)
	}
	paths, err := config.ResolvePaths(prof)
	if err != nil {
		return fail(2, "%v", err)
	}
	cfg, err := config.Load(paths.ConfigPath)
	if err != nil {
		return fail(2, "%v", err)
	}
	if cfg == nil {
		if !r.AllowUnconfigured && !prof.Dev {
			return fail(2, "no config at %s: create one (see README) or pass --allow-unconfigured to run on the defaults", paths.ConfigPath)
		}
		cfg = &config.Config{}
	}
	port, _, err := config.ResolvePort(r.Port, cfg, prof)
	if err != nil {
		return fail(2, "%v", err)
	}
	hosts, err := bindHosts(r.Bind, cfg)
	if err != nil {
		return fail(2, "%v", err)
	}
	secret, err := resolveSecret(cfg)
	if err != nil {
		return fail(2, "%v", err)
	}
	if secret.Mode == auth.ModeNone && !allLoopback(hosts) {
		return fail(2, "refusing to listen on %v with gateway.auth.mode=none: set a token or bind to loopback", hosts)
	}
	log, logw, err := setupLogging(paths.StateDir, r.Verbose)
	if err != nil {
		return fail(1, "cannot open the log file under %s: %v", paths.StateDir, err)
	}
	defer logw.Close()
	if secret.Generated {
		log.Warn("no gateway token configured: generated one for this run (set gateway.auth.token or OPENCLAW_GATEWAY_TOKEN to keep one)",
			"token", secret.Value)
		fmt.Fprintf(os.Stderr, "gateway token for this run: %s\n", secret.Value)
	}

	opts := gateway.Options{
		Hosts: hosts, Port: port, Limits: limitsFrom(cfg), Secret: secret, RateLimit: rateLimitFrom(cfg),
		AutoApproveLocal: autoApproveLocal(cfg), StateDir: paths.StateDir, ConfigPath: paths.ConfigPath,
		LogFile: logw.Path, Log: log,
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
	gw, err := gateway.New(opts)
	if err != nil {
		return fail(1, "%v", err)
	}
	ctx := context.Background()
	if err := gw.Start(ctx); err != nil {
		log.Error("gateway failed to start", "err", err)
		return fail(1, "%v", err)
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	sig := <-sigs
	log.Info("signal received; stopping", "signal", sig.String())
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := gw.Stop(stopCtx, "gateway stopping", 0); err != nil {
		log.Warn("stop", "err", err)
	}
	log.Info("gateway stopped")
	return nil
}

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

// resolveSecret applies PROTOCOL.md §3.3: config first, then environment; a
// token mode with no token gets a generated one for this run.
func resolveSecret(cfg *config.Config) (auth.Secret, error) {
	a := cfg.Gateway.Auth
	mode := auth.Mode(a.Mode)
	if mode == "" {
		mode = auth.ModeToken
		if a.Token == nil && a.Password != nil {
			mode = auth.ModePassword
		}
	}
	switch mode {
	case auth.ModeNone:
		return auth.Secret{Mode: mode}, nil
	case auth.ModeToken, auth.ModePassword:
	default:
		return auth.Secret{}, fmt.Errorf("gateway.auth.mode=%q: use token, password or none", a.Mode)
	}
	kind, fromCfg, envName := "token", a.Token, "OPENCLAW_GATEWAY_TOKEN"
	if mode == auth.ModePassword {
		kind, fromCfg, envName = "password", a.Password, "OPENCLAW_GATEWAY_PASSWORD"
	}
	var val string
	if fromCfg != nil {
		if err := auth.ValidateConfigured(kind, *fromCfg); err != nil {
			return auth.Secret{}, err
		}
		val = *fromCfg
	} else if env := os.Getenv(envName); env != "" {
		// An empty variable counts as unset: the runbook's systemd unit
		// ships `Environment=OPENCLAW_GATEWAY_TOKEN=`.
		if err := auth.ValidateConfigured(kind, env); err != nil {
			return auth.Secret{}, fmt.Errorf("%s: %v", envName, err)
		}
		val = env
	}
	if val == "" {
		if mode == auth.ModePassword {
			return auth.Secret{}, fmt.Errorf("gateway.auth.mode=password but no password is set (gateway.auth.password or OPENCLAW_GATEWAY_PASSWORD)")
		}
		return auth.Secret{Mode: mode, Value: auth.GenerateToken(), Generated: true}, nil
	}
	return auth.Secret{Mode: mode, Value: val}, nil
}

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

func rateLimitFrom(cfg *config.Config) auth.RateLimit {
	p := auth.DefaultRateLimit
	if r := cfg.Gateway.Auth.RateLimit; r != nil {
		if r.MaxAttempts != nil {
			p.MaxAttempts = *r.MaxAttempts
		}
		if r.WindowMs != nil {
			p.Window = time.Duration(*r.WindowMs) * time.Millisecond
		}
		if r.LockoutMs != nil {
			p.Lockout = time.Duration(*r.LockoutMs) * time.Millisecond
		}
		if r.ExemptLoopback != nil {
			p.ExemptLoopback = *r.ExemptLoopback
		}
	}
	return p
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

package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"openclaw/transport/server"
)

// generationStopTimeout bounds stopping one generation (shutdown event,
// drain, actor tree), for a restart or the final stop.
const generationStopTimeout = 10 * time.Second

// DefaultRestartExpectedMs is what the shutdown event tells clients to wait
// before reconnecting after an in-process restart.
const DefaultRestartExpectedMs = 1500

// Runner keeps a gateway running across in-process restarts (SIGUSR1, a
// restart-class config change): each restart stops the current generation
// (shutdown event, close 1012, actor tree stopped) and starts a new one from
// the current config, in the same process. The listening port is kept unless
// the port or bind address changed.
type Runner struct {
	// Build reads the current configuration into Options. It is called at
	// start and before every restart; if it fails on a restart the running
	// generation carries on and the error is logged.
	Build func() (Options, error)
	Log   *slog.Logger
	// OnStart, when set, is called with each generation once it accepts
	// connections (tests use it).
	OnStart func(*Gateway)

	restart chan string
	reload  chan string
	stop    chan struct{}
}

// NewRunner returns a runner; Run starts it.
func NewRunner(build func() (Options, error), log *slog.Logger) *Runner {
	return &Runner{Build: build, Log: log, restart: make(chan string, 1), reload: make(chan string, 1), stop: make(chan struct{})}
}

// Restart asks for an in-process restart; it does not wait for it.
func (r *Runner) Restart(reason string) {
	select {
	case r.restart <- reason:
	default: // one is already pending
	}
}

// Reload asks the running generation to read its config file now
// (SIGHUP); it does not wait.
func (r *Runner) Reload(reason string) {
	select {
	case r.reload <- reason:
	default: // one is already pending
	}
}

// Stop asks the runner to stop the gateway and return from Run.
func (r *Runner) Stop() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
}

// Run starts the first generation and serves until Stop. It returns an error
// only when the gateway cannot start (bad config, busy port, locked state).
func (r *Runner) Run(ctx context.Context) error {
	opts, err := r.Build()
	if err != nil {
		return err
	}
	unlock, err := LockStateDir(opts.StateDir)
	if err != nil {
		return err
	}
	defer unlock()
	ls, err := server.Listen(ctx, opts.Hosts, opts.Port)
	if err != nil {
		return err
	}
	defer func() { ls.Close() }()

	g, err := r.startGeneration(ctx, opts, ls)
	if err != nil {
		return err
	}
	for gen := 2; ; {
		var reason string
		select {
		case <-r.stop:
			r.stopGeneration(context.Background(), g)
			return nil
		case <-ctx.Done():
			r.stopGeneration(context.Background(), g)
			return nil
		case why := <-r.reload:
			g.ReloadConfig(why)
			continue
		case reason = <-r.restart:
		}
		start := time.Now()
		next, err := r.Build()
		if err != nil {
			// A broken config file must not take a running gateway down.
			r.Log.Error("restart refused: the configuration does not load; the running gateway carries on", "reason", reason, "err", err)
			continue
		}
		r.Log.Info("in-process restart", "reason", reason, "generation", gen)
		stopCtx, cancel := context.WithTimeout(ctx, generationStopTimeout)
		_ = g.Stop(stopCtx, "gateway restarting", DefaultRestartExpectedMs)
		cancel()
		if !ls.Same(next.Hosts, next.Port) {
			ls.Close()
			if ls, err = server.Listen(ctx, next.Hosts, next.Port); err != nil {
				return fmt.Errorf("restart: %w", err)
			}
			r.Log.Info("listening on a new address", "addr", ls.Addr())
		}
		next.Restarts = int64(gen - 1)
		if g, err = r.startGeneration(ctx, next, ls); err != nil {
			return fmt.Errorf("restart: %w", err)
		}
		gen++
		r.Log.Info("restart done", "tookMs", time.Since(start).Milliseconds())
	}
}

func (r *Runner) stopGeneration(ctx context.Context, g *Gateway) {
	ctx, cancel := context.WithTimeout(ctx, generationStopTimeout)
	defer cancel()
	if err := g.Stop(ctx, "gateway stopping", 0); err != nil {
		r.Log.Warn("stop", "err", err)
	}
}

func (r *Runner) startGeneration(ctx context.Context, opts Options, ls *server.Listeners) (*Gateway, error) {
	opts.Listeners = ls
	opts.RequestRestart = r.Restart
	g, err := New(opts)
	if err != nil {
		return nil, err
	}
	if err := g.Start(ctx); err != nil {
		return nil, err
	}
	if r.OnStart != nil {
		r.OnStart(g)
	}
	return g, nil
}

// LockStateDir takes an exclusive lock on <stateDir>/gateway.lock, holding
// this process's PID, so two gateways never share a state directory. The lock
// is an flock: it is released by the kernel if the process dies, so a stale
// file never blocks a start.
func LockStateDir(stateDir string) (release func(), err error) {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory %s: %w", stateDir, err)
	}
	path := filepath.Join(stateDir, "gateway.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		owner, _ := os.ReadFile(path)
		f.Close()
		pid := strings.TrimSpace(string(owner))
		if pid == "" {
			pid = "unknown"
		}
		return nil, fmt.Errorf("another gateway (pid %s) is running with state directory %s: stop it, or use another --profile or OPENCLAW_STATE_DIR", pid, stateDir)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		_ = f.Truncate(0)
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

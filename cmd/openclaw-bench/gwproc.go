package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"openclaw/transport/loopback"
)

// absBinary finds a binary (a path, or a name on PATH) and makes its path
// absolute: the gateway runs in another working directory.
func absBinary(bin string) (string, error) {
	p, err := exec.LookPath(bin)
	if err != nil {
		return "", err
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return p, nil
}

// gwProc is a gateway process the tool started, in a throwaway HOME and
// state dir, in its own process group.
type gwProc struct {
	cmd     *exec.Cmd
	pid     int
	port    int
	url     string
	token   string
	dir     string
	logPath string
	logFile *os.File
	exited  chan error
	done    bool
	readyMs float64 // exec → first authenticated hello-ok
	lastLog string  // the log's last lines, read when it stopped
}

// startGateway runs "bin <sub...> --port P --allow-unconfigured <extra...>"
// on a free port and waits (up to timeout) until it answers an
// authenticated connect with hello-ok. The reference refuses with "gateway
// starting" until it is ready: every refusal is retried.
func startGateway(ctx context.Context, bin string, sub, extra []string, token string, timeout time.Duration) (*gwProc, error) {
	return startGatewayConfig(ctx, bin, sub, extra, token, timeout, nil, "")
}

// startGatewayConfig is startGateway; with a non-nil config it writes it to
// <state>/openclaw.json, runs without --allow-unconfigured and sets
// OPENCLAW_SKIP_CANVAS_HOST=1. With a logPath the gateway's output goes
// there and stays (otherwise into its throwaway dir).
func startGatewayConfig(ctx context.Context, bin string, sub, extra []string, token string, timeout time.Duration, config []byte, logPath string) (*gwProc, error) {
	port, err := loopback.FreePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "openclaw-bench-gw-")
	if err != nil {
		return nil, err
	}
	g := &gwProc{port: port, url: fmt.Sprintf("ws://127.0.0.1:%d", port), token: token, dir: dir,
		logPath: logPath, exited: make(chan error, 1)}
	if logPath == "" {
		g.logPath = filepath.Join(dir, "gateway.log")
	}
	state, home := filepath.Join(dir, "state"), filepath.Join(dir, "home")
	for _, d := range []string{state, home} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	args := append(append([]string(nil), sub...), "--port", strconv.Itoa(port))
	if config == nil {
		args = append(args, "--allow-unconfigured")
	} else if err := os.WriteFile(filepath.Join(state, "openclaw.json"), config, 0o600); err != nil {
		return nil, err
	}
	args = append(args, extra...)
	// Appended to: a cluster started again after a failed try keeps the
	// first try's output in a --gw-logs file.
	if g.logFile, err = os.OpenFile(g.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err != nil {
		return nil, err
	}
	g.cmd = exec.Command(bin, args...)
	g.cmd.Dir = dir
	g.cmd.Stdout, g.cmd.Stderr = g.logFile, g.logFile
	g.cmd.Env = gatewayEnv(token, state, home)
	if config != nil {
		g.cmd.Env = append(g.cmd.Env, "OPENCLAW_SKIP_CANVAS_HOST=1")
	}
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	t0 := time.Now()
	if err := g.cmd.Start(); err != nil {
		_ = g.logFile.Close()
		_ = os.RemoveAll(dir)
		return nil, err
	}
	g.pid = g.cmd.Process.Pid
	go func() { g.exited <- g.cmd.Wait() }()

	b := newBench(g.url, token, false)
	deadline := t0.Add(timeout)
	var lastErr error
	for {
		select {
		case werr := <-g.exited:
			g.done = true
			g.cleanup(true)
			return nil, fmt.Errorf("gateway exited before hello-ok: %s (last connect error: %v); log:\n%s", exitString(werr), lastErr, tail(g.logPath, 15))
		default:
		}
		left := time.Until(deadline)
		if ctx.Err() != nil || left <= 0 {
			g.stop()
			why := fmt.Errorf("no hello-ok within %s", timeout)
			if ctx.Err() != nil {
				why = fmt.Errorf("no hello-ok after %s: %w", time.Since(t0).Round(time.Millisecond), ctx.Err())
			}
			return nil, fmt.Errorf("%w (last connect error: %v); log:\n%s", why, lastErr, g.lastLog)
		}
		c, upgraded, derr := b.dial(ctx, min(left, 5*time.Second))
		if derr == nil {
			g.readyMs = float64(time.Since(t0)) / float64(time.Millisecond)
			b.closeAll([]*bconn{c}, 5*time.Second)
			return g, nil
		}
		lastErr = derr
		pause := 5 * time.Millisecond
		if upgraded {
			pause = 100 * time.Millisecond // answered but refused ("starting"): do not hammer
		}
		sleepCtx(ctx, pause)
	}
}

// stop sends SIGTERM, waits up to 15 s, then kills the process group and
// any helper process that left it. It returns how the gateway ended.
func (g *gwProc) stop() string {
	if g.done {
		return "already exited"
	}
	kids := snapshotTree(g.pid)
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(15 * time.Second)
	defer t.Stop()
	var how string
	select {
	case werr := <-g.exited:
		how = exitString(werr)
	case <-t.C:
		_ = syscall.Kill(-g.pid, syscall.SIGKILL)
		how = "killed after 15s: " + exitString(<-g.exited)
	}
	g.done = true
	_ = syscall.Kill(-g.pid, syscall.SIGKILL)
	kids.kill()
	g.cleanup(false)
	return how
}

func (g *gwProc) cleanup(keep bool) {
	_ = g.logFile.Close()
	g.lastLog = tail(g.logPath, logTailLines)
	if keep {
		logf("  kept %s", g.dir)
		return
	}
	_ = os.RemoveAll(g.dir)
}

// logTailLines is how much of a gateway's log a failed scenario prints.
const logTailLines = 40

// procTree is a set of processes identified by pid and start time (so a
// reused pid is never killed).
type procTree map[int]uint64

func snapshotTree(root int) procTree {
	t := procTree{}
	for _, pid := range descendants(root) {
		if st := procStartTime(pid); st > 0 {
			t[pid] = st
		}
	}
	return t
}

// kill SIGKILLs every process of the snapshot that still runs.
func (t procTree) kill() {
	for pid, st := range t {
		if procStartTime(pid) == st {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// procStartTime is field 22 of /proc/<pid>/stat (0 if unreadable).
func procStartTime(pid int) uint64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 20 {
		return 0
	}
	v, _ := strconv.ParseUint(f[19], 10, 64)
	return v
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"

	"openclaw/transport/loopback"
)

type startupRun struct {
	upgradeMs  float64 // exec → first successful WebSocket upgrade
	helloMs    float64 // exec → first authenticated hello-ok
	attempts   int
	rssKB      int64 // the gateway process, after settle
	anonKB     int64 // of rssKB: anonymous (heap, stacks, runtime)
	fileKB     int64 // of rssKB: file-backed (the binary's pages, shared libraries)
	servedKB   int64 // after servedConns more handshakes and another settle
	treeRSSKB  int64 // the gateway and its children
	procs      int
	fds        int
	threads    int64
	shutdownMs float64 // SIGTERM → exit
	exit       string
	killed     bool
}

func cmdStartup(ctx context.Context, args []string) (result, *common, error) {
	fs := newFlagSet("startup")
	var cf common
	cf.register(fs)
	bin := fs.String("bin", "", "gateway binary (run as: BIN <--cmd> --port P --allow-unconfigured [extra])")
	sub := fs.String("cmd", "gateway", `the subcommand words before --port (the reference: "gateway run")`)
	port := fs.Int("port", 0, "port for the gateway (default: a free 127.0.0.1 port per run)")
	runs := fs.Int("runs", 1, "number of runs (the median is reported)")
	timeout := fs.Duration("timeout", 60*time.Second, "per run: give up waiting for hello-ok after this long")
	settle := fs.Duration("settle", 2*time.Second, "per run: wait this long after hello-ok before reading the idle RSS")
	keep := fs.Bool("keep", false, "keep the temp state dirs and logs")
	cold := fs.Bool("cold", true, "before the first run, drop the binary's pages from the page cache: run 1 reads it from disk, as after a reboot, and the later runs find it cached the way a start caches it (see evictFromPageCache)")
	pos, extra, err := parseArgs(fs, args)
	if err != nil {
		return nil, &cf, err
	}
	if err := cf.check(); err != nil {
		return nil, &cf, err
	}
	if len(pos) > 0 {
		return nil, &cf, fmt.Errorf("unexpected argument %q (gateway args go after --)", pos[0])
	}
	if *bin == "" {
		return nil, &cf, fmt.Errorf("--bin is required")
	}
	if *runs < 1 || *runs > maxRuns {
		return nil, &cf, fmt.Errorf("--runs must be 1..%d", maxRuns)
	}
	if *timeout <= 0 || *timeout > 120*time.Second {
		return nil, &cf, fmt.Errorf("--timeout must be in (0, 120s]")
	}
	if *settle < 0 || *settle > 60*time.Second {
		return nil, &cf, fmt.Errorf("--settle must be in [0, 60s]")
	}
	binPath, err := absBinary(*bin)
	if err != nil {
		return nil, &cf, err
	}
	token := cf.Token
	if token == "" {
		token = "bench-" + strings.ReplaceAll(uuid.NewString(), "-", "")
	}
	wd := watchdog(time.Duration(*runs)*(*timeout+*settle+30*time.Second) + time.Minute)
	defer wd.Stop()

	var all []startupRun
	var runErr error
	for i := 0; i < *runs && ctx.Err() == nil; i++ {
		p := *port
		if p == 0 {
			if p, err = loopback.FreePort(); err != nil {
				return nil, &cf, err
			}
		}
		if *cold && i == 0 {
			// Only the named file: the reference's is a launcher script,
			// its Node and modules stay cached (its RSS is all anonymous).
			if err := evictFromPageCache(binPath); err != nil {
				return nil, &cf, fmt.Errorf("--cold: %w (--cold=false measures the binary as cached)", err)
			}
		}
		logf("startup run %d/%d: %s %s --port %d --allow-unconfigured %s", i+1, *runs, binPath, *sub, p, strings.Join(extra, " "))
		sr, err := startupOnce(ctx, binPath, strings.Fields(*sub), p, token, extra, *timeout, *settle, *keep)
		if err != nil {
			runErr = fmt.Errorf("run %d: %w", i+1, err)
			break
		}
		logf("  upgrade %.1f ms, hello-ok %.1f ms (%d attempts), idle RSS %.1f MB (anon %.1f, file %.1f; tree %.1f MB, %d procs), after %d more handshakes %.1f MB, %d fds, shutdown %.1f ms (%s)",
			sr.upgradeMs, sr.helloMs, sr.attempts, mb(sr.rssKB), mb(sr.anonKB), mb(sr.fileKB), mb(sr.treeRSSKB), sr.procs,
			servedConns, mb(sr.servedKB), sr.fds, sr.shutdownMs, sr.exit)
		all = append(all, sr)
	}
	if len(all) == 0 {
		if runErr == nil {
			runErr = fmt.Errorf("interrupted")
		}
		return nil, &cf, runErr
	}
	col := func(f func(startupRun) float64) []float64 {
		out := make([]float64, len(all))
		for i, s := range all {
			out[i] = f(s)
		}
		return out
	}
	hello := col(func(s startupRun) float64 { return round(s.helloMs, 1) })
	upg := col(func(s startupRun) float64 { return round(s.upgradeMs, 1) })
	rss := col(func(s startupRun) float64 { return mb(s.rssKB) })
	tree := col(func(s startupRun) float64 { return mb(s.treeRSSKB) })
	shut := col(func(s startupRun) float64 { return round(s.shutdownMs, 1) })
	var r result
	r.add("scenario", "startup")
	r.add("bin", binPath)
	r.add("runs", len(all))
	r.add("cold", *cold)
	if *cold {
		r.add("hello_ok_ms_first_run", hello[0]) // the binary read from disk
	}
	r.add("hello_ok_ms_median", median(hello))
	r.add("hello_ok_ms_min", minOf(hello))
	r.add("hello_ok_ms_max", maxOf(hello))
	r.add("hello_ok_ms_runs", hello)
	r.add("first_upgrade_ms_median", median(upg))
	r.add("idle_rss_mb_median", median(rss))
	r.add("idle_rss_mb_runs", rss)
	r.add("idle_rss_anon_mb_median", median(col(func(s startupRun) float64 { return mb(s.anonKB) })))
	r.add("idle_rss_file_mb_median", median(col(func(s startupRun) float64 { return mb(s.fileKB) })))
	served := col(func(s startupRun) float64 { return mb(s.servedKB) })
	r.add("idle_rss_served_mb_median", median(served))
	r.add("idle_rss_served_mb_runs", served)
	r.add("idle_rss_tree_mb_median", median(tree))
	r.add("idle_fds", all[len(all)-1].fds)
	r.add("idle_threads", all[len(all)-1].threads)
	r.add("shutdown_ms_median", median(shut))
	killed := 0
	for _, s := range all {
		if s.killed {
			killed++
		}
	}
	r.add("killed_after_sigterm_timeout", killed)
	r.add("exit_last", all[len(all)-1].exit)
	return r, &cf, runErr
}

// servedConns is how many handshakes follow the first before the second RSS
// reading.
const servedConns = 3

func startupOnce(ctx context.Context, bin string, sub []string, port int, token string, extra []string,
	timeout, settle time.Duration, keep bool) (sr startupRun, err error) {
	dir, err := os.MkdirTemp("", "openclaw-bench-startup-")
	if err != nil {
		return sr, err
	}
	state, home := filepath.Join(dir, "state"), filepath.Join(dir, "home")
	for _, d := range []string{state, home} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return sr, err
		}
	}
	logPath := filepath.Join(dir, "gateway.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return sr, err
	}
	defer func() {
		_ = logFile.Close()
		if err != nil {
			logf("  gateway log %s, last lines:\n%s", logPath, tail(logPath, 20))
		}
		if keep || err != nil {
			logf("  kept %s", dir)
		} else {
			_ = os.RemoveAll(dir)
		}
	}()

	args := append(append(append([]string(nil), sub...), "--port", strconv.Itoa(port), "--allow-unconfigured"), extra...)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = gatewayEnv(token, state, home)
	// Own process group (so stragglers can be killed), and die with us.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return sr, err
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			kids := snapshotTree(pid)
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-exited
			kids.kill()
		}
	}()

	b := newBench(fmt.Sprintf("ws://127.0.0.1:%d", port), token, false)
	deadline := t0.Add(timeout)
	var lastErr error
	for {
		if ctx.Err() != nil {
			return sr, ctx.Err()
		}
		select {
		case werr := <-exited:
			stopped = true
			return sr, fmt.Errorf("gateway exited before hello-ok: %v (last connect error: %v)", werr, lastErr)
		default:
		}
		left := time.Until(deadline)
		if left <= 0 {
			return sr, fmt.Errorf("no hello-ok within %s (last connect error: %v)", timeout, lastErr)
		}
		sr.attempts++
		c, upgraded, derr := b.dial(ctx, min(left, 5*time.Second))
		if upgraded && sr.upgradeMs == 0 {
			sr.upgradeMs = float64(time.Since(t0)) / float64(time.Millisecond)
		}
		if derr == nil {
			sr.helloMs = float64(time.Since(t0)) / float64(time.Millisecond)
			b.closeAll([]*bconn{c}, 5*time.Second)
			break
		}
		lastErr = derr
		pause := time.Millisecond
		if upgraded {
			pause = 50 * time.Millisecond // answered but refused ("starting"): do not hammer
		}
		sleepCtx(ctx, pause)
	}
	if upgradeMs := sr.upgradeMs; upgradeMs == 0 || upgradeMs > sr.helloMs {
		sr.upgradeMs = sr.helloMs
	}

	if !sleepCtx(ctx, settle) {
		return sr, ctx.Err()
	}
	sr.rssKB = rssKB(pid)
	sr.anonKB, _ = statusKB(pid, "RssAnon")
	sr.fileKB, _ = statusKB(pid, "RssFile")
	sr.treeRSSKB, sr.procs = treeRSSKB(pid)
	sr.fds = fdCount(pid)
	sr.threads = threadCount(pid)
	// The first hello-ok can race with what the gateway does once it
	// serves (ours releases its start-up pages then): the RSS once a few
	// more clients came and went is the one an idle gateway keeps.
	if err := b.handshakes(ctx, servedConns); err != nil {
		return sr, fmt.Errorf("after the first hello-ok: %w", err)
	}
	if !sleepCtx(ctx, settle) {
		return sr, ctx.Err()
	}
	sr.servedKB = rssKB(pid)

	kids := snapshotTree(pid) // helpers in their own group (the reference's spawn broker)
	defer kids.kill()
	ts := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(15 * time.Second)
	defer t.Stop()
	select {
	case werr := <-exited:
		sr.shutdownMs = float64(time.Since(ts)) / float64(time.Millisecond)
		sr.exit = exitString(werr)
	case <-t.C:
		sr.killed = true
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		werr := <-exited
		sr.shutdownMs = float64(time.Since(ts)) / float64(time.Millisecond)
		sr.exit = "killed after 15s: " + exitString(werr)
	}
	stopped = true
	_ = syscall.Kill(-pid, syscall.SIGKILL) // stragglers in the group, if any
	return sr, nil
}

// gatewayEnv is this environment without OPENCLAW_* and HOME, plus the
// token, state dir and home of the run.
func gatewayEnv(token, state, home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "OPENCLAW_") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "OPENCLAW_GATEWAY_TOKEN="+token, "OPENCLAW_STATE_DIR="+state, "HOME="+home)
}

func exitString(err error) string {
	if err == nil {
		return "exit 0"
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "signal " + ws.Signal().String()
		}
		return "exit " + strconv.Itoa(ee.ExitCode())
	}
	return err.Error()
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return round((s[len(s)/2-1]+s[len(s)/2])/2, 3)
}

func minOf(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func maxOf(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

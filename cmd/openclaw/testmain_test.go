package main

// Shared helpers for the black-box tests (binary_test.go) and the reference
// conformance tests (conformance_test.go): TestMain builds the openclaw binary
// once; startGateway runs it as a real process on a free loopback port with a
// fresh state dir and HOME, waits until it accepts connections, and makes sure
// it is gone when the test ends.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"openclaw/actors/gateway/gatewaytest"
)

// testBinary is the openclaw binary built by TestMain.
var testBinary string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "openclaw-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "TestMain:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	testBinary = filepath.Join(dir, "openclaw")
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	// The test runs in cmd/openclaw, so "." is the command's package.
	build := exec.Command(goTool, "build", "-o", testBinary, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "TestMain: go build ./cmd/openclaw failed: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// lockedBuffer is a bytes.Buffer safe to read while a process writes to it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// cleanEnv is the test process's environment without OPENCLAW_* variables
// (so a developer's own gateway settings cannot leak in), plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "OPENCLAW_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// gwOptions configure one gateway process.
type gwOptions struct {
	Token string // OPENCLAW_GATEWAY_TOKEN; "" leaves it unset
	Port  int    // 0: a free port
	// StateDir is OPENCLAW_STATE_DIR; "" means a fresh temp dir.
	StateDir string
	// NoAllowUnconfigured drops --allow-unconfigured.
	NoAllowUnconfigured bool
	Args                []string // more flags for `openclaw gateway`
	Env                 []string // more environment
}

// gatewayProc is a running (or finished) gateway process.
type gatewayProc struct {
	Port     int
	Token    string
	StateDir string
	Home     string
	URL      string // ws://127.0.0.1:PORT
	HTTP     string // http://127.0.0.1:PORT

	cmd    *exec.Cmd
	Stdout *lockedBuffer
	Stderr *lockedBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // cmd.Wait's result, valid after done
}

// launchGateway starts `openclaw gateway` without waiting for it to listen.
// The process is killed (if still running) when the test ends.
func launchGateway(t testing.TB, o gwOptions) *gatewayProc {
	t.Helper()
	if o.Port == 0 {
		o.Port = gatewaytest.FreePort(t)
	}
	if o.StateDir == "" {
		o.StateDir = t.TempDir()
	}
	g := &gatewayProc{
		Port: o.Port, Token: o.Token, StateDir: o.StateDir, Home: t.TempDir(),
		URL:    "ws://127.0.0.1:" + strconv.Itoa(o.Port),
		HTTP:   "http://127.0.0.1:" + strconv.Itoa(o.Port),
		Stdout: &lockedBuffer{}, Stderr: &lockedBuffer{}, done: make(chan struct{}),
	}
	args := []string{"gateway", "--port", strconv.Itoa(o.Port)}
	if !o.NoAllowUnconfigured {
		args = append(args, "--allow-unconfigured")
	}
	args = append(args, o.Args...)
	env := cleanEnv("HOME="+g.Home, "OPENCLAW_STATE_DIR="+g.StateDir)
	if o.Token != "" {
		env = append(env, "OPENCLAW_GATEWAY_TOKEN="+o.Token)
	}
	env = append(env, o.Env...)
	g.cmd = exec.Command(testBinary, args...)
	g.cmd.Env = env
	g.cmd.Dir = g.Home
	g.cmd.Stdout, g.cmd.Stderr = g.Stdout, g.Stderr
	if err := g.cmd.Start(); err != nil {
		t.Fatalf("start gateway: %v", err)
	}
	go func() {
		g.err = g.cmd.Wait()
		close(g.done)
	}()
	t.Cleanup(func() {
		select {
		case <-g.done:
		default:
			_ = g.cmd.Process.Kill()
			<-g.done
		}
		if t.Failed() {
			t.Logf("gateway %s\n--- stdout:\n%s--- stderr:\n%s", strings.Join(g.cmd.Args, " "), g.Stdout, g.Stderr)
		}
	})
	return g
}

// startGateway starts a gateway and waits until it accepts connections. A
// free port taken by someone else in between is retried on another port.
func startGateway(t testing.TB, o gwOptions) *gatewayProc {
	t.Helper()
	for attempt := 1; ; attempt++ {
		g := launchGateway(t, o)
		err := g.waitListening(20 * time.Second)
		if err == nil {
			return g
		}
		if o.Port == 0 && attempt < 3 && g.exited() && strings.Contains(g.Stderr.String(), "is busy") {
			t.Logf("port %d was taken; retrying on another", g.Port)
			continue
		}
		t.Fatalf("gateway did not start: %v\n--- stdout:\n%s--- stderr:\n%s", err, g.Stdout, g.Stderr)
	}
}

// waitListening waits until the gateway has logged that it listens and its
// port accepts TCP connections, or until it exits.
func (g *gatewayProc) waitListening(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	addr := "127.0.0.1:" + strconv.Itoa(g.Port)
	for {
		if g.exited() {
			return fmt.Errorf("gateway exited early (%v)", g.err)
		}
		if strings.Contains(g.Stdout.String(), "gateway listening") {
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening on %s after %v", addr, timeout)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (g *gatewayProc) exited() bool {
	select {
	case <-g.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the gateway process.
func (g *gatewayProc) signal(t testing.TB, sig os.Signal) {
	t.Helper()
	if err := g.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// wait waits for the process to exit and returns its exit code; it fails the
// test if that takes longer than timeout.
func (g *gatewayProc) wait(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-g.done:
	case <-time.After(timeout):
		t.Fatalf("gateway still running %v later\n--- stdout:\n%s--- stderr:\n%s", timeout, g.Stdout, g.Stderr)
	}
	return exitCodeOf(g.err)
}

// stop sends SIGTERM and waits for a clean exit.
func (g *gatewayProc) stop(t testing.TB) {
	t.Helper()
	if g.exited() {
		return
	}
	g.signal(t, syscall.SIGTERM)
	if code := g.wait(t, 15*time.Second); code != 0 {
		t.Errorf("gateway exited %d after SIGTERM, want 0", code)
	}
}

// exitCodeOf turns cmd.Wait's error into an exit code (-1: killed or not
// run).
func exitCodeOf(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// cmdResult is one finished command.
type cmdResult struct {
	Cmd      string
	Code     int
	Stdout   string
	Stderr   string
	Duration time.Duration
}

func (r cmdResult) String() string {
	return fmt.Sprintf("$ %s\nexit %d after %v\n--- stdout:\n%s\n--- stderr:\n%s", r.Cmd, r.Code, r.Duration.Round(time.Millisecond), r.Stdout, r.Stderr)
}

// runCmd runs a command to completion (at most timeout) and captures it.
func runCmd(t testing.TB, timeout time.Duration, env []string, dir, name string, args ...string) cmdResult {
	t.Helper()
	r, timedOut, err := execCmd(timeout, env, dir, name, args...)
	if timedOut {
		t.Fatalf("timed out after %v:\n%s", timeout, r)
	}
	if r.Code == -1 {
		t.Fatalf("could not run: %v\n%s", err, r)
	}
	return r
}

// execCmd runs a command for at most timeout (then kills its process group)
// and captures it.
func execCmd(timeout time.Duration, env []string, dir, name string, args ...string) (r cmdResult, timedOut bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env, cmd.Dir = env, dir
	// Node may leave helpers holding the pipes: kill the whole group, and
	// don't wait for the pipes forever.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	r = cmdResult{
		Cmd: shellQuote(append([]string{name}, args...)), Code: exitCodeOf(err),
		Stdout: stdout.String(), Stderr: stderr.String(), Duration: time.Since(start),
	}
	return r, ctx.Err() != nil, err
}

// shellQuote renders argv for logs, quoted so it can be pasted into a shell.
func shellQuote(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && !strings.ContainsAny(a, " \t\n'\"{}[]$`\\*?;&|<>()!#~") {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}

// jsonPath walks decoded JSON by object keys; ok is false when a step is
// missing or not an object.
func jsonPath(v any, keys ...string) (any, bool) {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

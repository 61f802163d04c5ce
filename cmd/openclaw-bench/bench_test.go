package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lxzan/gws"
)

// fakeGateway is an in-process gws server that speaks just enough of the
// gateway protocol for the tool: challenge, connect → hello-ok (or a refusal
// for a wrong token), any other request → ok response. It pings and sends a
// tick after hello-ok so that those paths run too.
type fakeGateway struct {
	gws.BuiltinEventHandler
	token string
}

func (g *fakeGateway) OnOpen(s *gws.Conn) {
	_ = s.WriteString(`{"type":"event","event":"connect.challenge","payload":{"nonce":"n","ts":1}}`)
}

func (g *fakeGateway) OnPing(s *gws.Conn, p []byte) { _ = s.WritePong(p) }

func (g *fakeGateway) OnMessage(s *gws.Conn, m *gws.Message) {
	defer m.Close()
	var req struct {
		Type   string `json:"type"`
		ID     string `json:"id"`
		Method string `json:"method"`
		Params struct {
			Auth struct {
				Token string `json:"token"`
			} `json:"auth"`
		} `json:"params"`
	}
	if err := json.Unmarshal(m.Bytes(), &req); err != nil || req.Type != "req" {
		_ = s.WriteClose(1008, []byte("invalid request frame"))
		return
	}
	id, _ := json.Marshal(req.ID)
	switch req.Method {
	case "connect":
		if req.Params.Auth.Token != g.token {
			_ = s.WriteString(`{"type":"res","id":` + string(id) + `,"ok":false,"error":{"code":"INVALID_REQUEST","message":"unauthorized: gateway token mismatch"}}`)
			_ = s.WriteClose(1008, []byte("unauthorized"))
			return
		}
		// Nested "id" and "type" members must not confuse the scanner.
		_ = s.WriteString(`{"payload":{"type":"hello-ok","protocol":4,"server":{"id":"x","connId":"c"},"features":{"methods":["health"]}},"type":"res","id":` + string(id) + `,"ok":true}`)
		_ = s.WritePing([]byte("p"))
		_ = s.WriteString(`{"type":"event","event":"tick","payload":{"ts":2},"seq":1}`)
	default:
		_ = s.WriteString(`{"type":"res","id":` + string(id) + `,"ok":true,"payload":{"ok":true,"ts":3,"nested":{"id":"nope","list":[{"a":"}"}]}}}`)
	}
}

// TestMain doubles as a fake gateway binary for the startup scenario: with
// BENCH_FAKE_GATEWAY=1 the test binary serves the fake protocol on
// 127.0.0.1:<--port> until SIGTERM.
func TestMain(m *testing.M) {
	if os.Getenv("BENCH_FAKE_GATEWAY") == "1" {
		os.Exit(fakeGatewayMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeGatewayMain(args []string) int {
	if len(args) == 0 || args[0] != "gateway" {
		return 2
	}
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	port := fs.Int("port", 0, "")
	fs.Bool("allow-unconfigured", false, "")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if os.Getenv("OPENCLAW_STATE_DIR") == "" || os.Getenv("HOME") == "" {
		return 3
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(*port))
	if err != nil {
		return 1
	}
	up := gws.NewUpgrader(&fakeGateway{token: os.Getenv("OPENCLAW_GATEWAY_TOKEN")}, &gws.ServerOption{})
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s, err := up.Upgrade(w, r); err == nil {
			go s.ReadLoop()
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	select {
	case <-sig:
	case <-time.After(time.Minute): // never outlive the test
	}
	_ = srv.Close()
	return 0
}

func startFakeGateway(t *testing.T, token string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := gws.NewUpgrader(&fakeGateway{token: token}, &gws.ServerOption{})
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		go s.ReadLoop()
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
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
	if num(t, m, "runs") != 2 || num(t, m, "hello_ok_ms_median") <= 0 || num(t, m, "idle_rss_mb_median") <= 0 {
		t.Errorf("startup: %v", m)
	}
	if m["exit_last"] != "exit 0" {
		t.Errorf("exit_last = %v", m["exit_last"])
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
		{"nope"},
	} {
		if _, code := runJSON(t, args...); code == 0 {
			t.Errorf("%v: want a non-zero exit", args)
		}
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

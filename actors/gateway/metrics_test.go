package gateway_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"openclaw/actors/gateway"
	"openclaw/actors/gateway/gatewaytest"
	"openclaw/transport/auth"
	"openclaw/transport/provider/fakeprovider"
)

// settle polls a scrape until cond holds (a gauge the hub or a writer sets
// a moment after the client saw the frame), failing after frameWait.
func settle(t *testing.T, gw *gatewaytest.Gateway, what string, cond func(gatewaytest.Scrape) bool) gatewaytest.Scrape {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := gatewaytest.ScrapeMetrics(t, gw.HTTP, "")
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics never showed %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMetricsAfterTraffic scrapes /metrics from a real gateway over HTTP
// after real traffic (a handshake, a failed authentication, a request, an
// agent turn against a fake provider) and checks each number moved as the
// traffic implies.
func TestMetricsAfterTraffic(t *testing.T) {
	const deltas = 4
	fp := fakeprovider.New(t, fakeprovider.Text("one two three four", deltas))
	gw := agentGateway(t, fp, nil)

	s := gatewaytest.ScrapeMetrics(t, gw.HTTP, "")
	for _, name := range []string{"openclaw_frames_received_total", "openclaw_sent_bytes_total", "openclaw_backlog_bytes",
		"openclaw_restarts_total", "go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := s[name]; !ok {
			t.Errorf("no %s in a fresh gateway's metrics", name)
		}
	}
	if v := s.Value(t, "openclaw_frames_received_total"); v != 0 {
		t.Fatalf("frames received before any client = %v", v)
	}

	// A failed authentication: one handshake failure, its reason counted.
	bad, res := gatewaytest.Connect(t, gw.URL, gatewaytest.Client{Token: "wrong"})
	if res.OK {
		t.Fatalf("connect with a wrong token: %s", res.Raw)
	}
	bad.Closed()
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())

	s = settle(t, gw, "one operator, nobody mid-handshake", func(s gatewaytest.Scrape) bool {
		return s.Value(t, "openclaw_connections", "role", "operator") == 1 &&
			s.Value(t, "openclaw_connections", "role", "unauthenticated") == 0
	})
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"openclaw_handshakes_total", []string{"result", "ok"}, 1},
		{"openclaw_handshakes_total", []string{"result", "auth_failed"}, 1},
		{"openclaw_auth_failures_total", []string{"reason", "token_mismatch"}, 1},
		{"openclaw_connections", []string{"role", "node"}, 0},
		// The two connect frames, nothing else yet.
		{"openclaw_frames_received_total", nil, 2},
	} {
		if got := s.Value(t, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}

	// Only the connects so far: no request timed (a method's series
	// appears with its first request).
	if _, ok := s["openclaw_request_duration_seconds"]; ok {
		t.Errorf("a request timed before any was sent")
	}

	// One request: one frame in, its latency observed, its response's
	// bytes among those sent.
	before := s
	health := adm.Call("h1", "health", nil)
	if !health.OK {
		t.Fatalf("health: %s", health.Raw)
	}
	// The writer counts a frame's bytes after its write returns, which may
	// be after the client has read it: wait for the counters too.
	s = settle(t, gw, "the health request observed", func(s gatewaytest.Scrape) bool {
		return s.Value(t, "openclaw_request_duration_seconds", "method", "health") == 1 &&
			s.Value(t, "openclaw_sent_bytes_total")-before.Value(t, "openclaw_sent_bytes_total") >= float64(len(health.Raw)) &&
			s.Value(t, "openclaw_frames_sent_total")-before.Value(t, "openclaw_frames_sent_total") >= 1
	})
	if d := s.Value(t, "openclaw_frames_received_total") - before.Value(t, "openclaw_frames_received_total"); d != 1 {
		t.Errorf("frames received for one request: %v", d)
	}
	if d := s.Value(t, "openclaw_sent_bytes_total") - before.Value(t, "openclaw_sent_bytes_total"); d < float64(len(health.Raw)) {
		t.Errorf("bytes sent grew by %v for a %d-byte response", d, len(health.Raw))
	}
	if d := s.Value(t, "openclaw_frames_sent_total") - before.Value(t, "openclaw_frames_sent_total"); d < 1 {
		t.Errorf("frames sent grew by %v for a response", d)
	}
	if d := s.Value(t, "openclaw_received_bytes_total") - before.Value(t, "openclaw_received_bytes_total"); d < float64(len(`{"type":"req","id":"h1","method":"health"}`)) {
		t.Errorf("bytes received grew by %v for a request", d)
	}

	// An agent turn against the fake provider.
	adm.SendJSON(map[string]any{"type": "req", "id": "a1", "method": "agent", "params": map[string]any{"message": "hi", "idempotencyKey": "m1"}})
	if acc := adm.Res("a1"); !acc.OK {
		t.Fatalf("agent accepted: %s", acc.Raw)
	}
	if fin := adm.Res("a1"); !fin.OK {
		t.Fatalf("agent final: %s", fin.Raw)
	}
	// The run's own counters move as its actor finishes, which may trail
	// the final response: wait for them before the exact checks below.
	s = settle(t, gw, "the agent request observed", func(s gatewaytest.Scrape) bool {
		return s.Value(t, "openclaw_request_duration_seconds", "method", "agent") == 1 &&
			s.Value(t, "openclaw_runs_finished_total", "status", "ok")+s.Value(t, "openclaw_runs_finished_total", "status", "error") >= 1 &&
			s.Value(t, "openclaw_runs_active") == 0 &&
			s.Value(t, "openclaw_store_commit_duration_seconds") >= 2
	})
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"openclaw_runs_started_total", nil, 1},
		{"openclaw_runs_active", nil, 0},
		{"openclaw_runs_finished_total", []string{"status", "ok"}, 1},
		{"openclaw_runs_finished_total", []string{"status", "error"}, 0},
		{"openclaw_provider_first_token_seconds", []string{"provider", "fake"}, 1},
		{"openclaw_provider_request_duration_seconds", []string{"provider", "fake", "outcome", "ok"}, 1},
	} {
		if got := s.Value(t, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// The user's message and the answer are committed apart (the first
	// before the provider is called).
	if n := s.Value(t, "openclaw_store_commit_duration_seconds"); n < 2 {
		t.Errorf("store commits observed: %v, want at least 2", n)
	}
	// Time to the first token is part of the whole request.
	if first, whole := s.Sum(t, "openclaw_provider_first_token_seconds", "provider", "fake"),
		s.Sum(t, "openclaw_provider_request_duration_seconds", "provider", "fake"); first <= 0 || first > whole {
		t.Errorf("first token %vs, whole request %vs", first, whole)
	}
	settle(t, gw, "an empty backlog once everything is written", func(s gatewaytest.Scrape) bool {
		return s.Value(t, "openclaw_backlog_bytes") == 0
	})

	adm.Close()
	settle(t, gw, "no connection left", func(s gatewaytest.Scrape) bool {
		return s.Value(t, "openclaw_connections", "role", "operator") == 0
	})
}

// TestMetricsAuth: a scrape from the machine itself needs nothing; one that
// is not (here: a Host that is not loopback, as a web page that rebinds
// its DNS name to 127.0.0.1 would send) needs the gateway token, and a
// gateway without auth does not serve it at all.
func TestMetricsAuth(t *testing.T) {
	const remote = "gateway.example:18789"
	gw := gatewaytest.Start(t, nil)
	for _, c := range []struct {
		name, host, token string
		want              int
	}{
		{"loopback, no token", "", "", http.StatusOK},
		{"remote, no token", remote, "", http.StatusUnauthorized},
		{"remote, wrong token", remote, "wrong-token", http.StatusUnauthorized},
		{"remote, token", remote, gatewaytest.Token, http.StatusOK},
	} {
		code, body := gatewaytest.GetMetrics(t, gw.HTTP, c.host, c.token)
		if code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, code, body, c.want)
		}
		if code == http.StatusOK && !strings.Contains(body, "openclaw_connections") {
			t.Errorf("%s: not the metrics: %s", c.name, body)
		}
	}

	open := gatewaytest.Start(t, func(o *gateway.Options) { o.Secret = auth.Secret{Mode: auth.ModeNone} })
	if code, body := gatewaytest.GetMetrics(t, open.HTTP, remote, ""); code != http.StatusForbidden {
		t.Errorf("remote scrape of a gateway without auth: %d %s, want 403", code, body)
	}
	if code, _ := gatewaytest.GetMetrics(t, open.HTTP, "", ""); code != http.StatusOK {
		t.Errorf("loopback scrape of a gateway without auth: %d, want 200", code)
	}
}

// TestMetricsRestarts: each in-process restart builds a new registry (its
// counters start again), and openclaw_restarts_total counts the restarts
// of the process across them.
func TestMetricsRestarts(t *testing.T) {
	dir := t.TempDir()
	started := make(chan *gateway.Gateway, 4)
	r := gateway.NewRunner(func() (gateway.Options, error) {
		return gateway.Options{Hosts: []string{"127.0.0.1"}, StateDir: dir, Log: gatewaytest.Logger(),
			Secret: auth.Secret{Mode: auth.ModeToken, Value: gatewaytest.Token}}, nil
	}, gatewaytest.Logger())
	r.OnStart = func(g *gateway.Gateway) { started <- g }
	done := make(chan error, 1)
	go func() { done <- r.Run(context.Background()) }()
	t.Cleanup(func() {
		r.Stop()
		<-done
	})
	next := func() *gateway.Gateway {
		select {
		case g := <-started:
			return g
		case err := <-done:
			t.Fatalf("runner ended: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("no generation started")
		}
		return nil
	}
	first := next()
	base := "http://127.0.0.1:" + strconv.Itoa(first.Port())
	if v := gatewaytest.ScrapeMetrics(t, base, "").Value(t, "openclaw_restarts_total"); v != 0 {
		t.Fatalf("restarts before any = %v", v)
	}
	gatewaytest.MustConnect(t, "ws://127.0.0.1:"+strconv.Itoa(first.Port()), gatewaytest.Admin())
	r.Restart("test")
	second := next()
	// Port 0 in the options: the restart bound a new free port.
	s := gatewaytest.ScrapeMetrics(t, "http://127.0.0.1:"+strconv.Itoa(second.Port()), "")
	if v := s.Value(t, "openclaw_restarts_total"); v != 1 {
		t.Fatalf("restarts after one = %v", v)
	}
	if second.Metrics() == first.Metrics() {
		t.Fatal("the new generation kept the old one's metrics")
	}
	if v := s.Value(t, "openclaw_handshakes_total", "result", "ok"); v != 0 {
		t.Fatalf("handshakes in the new generation = %v, want 0 (a new registry)", v)
	}
}

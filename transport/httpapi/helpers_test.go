package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"openclaw/actors/core"
	"openclaw/actors/gateway"
	"openclaw/actors/runs"
	"openclaw/config"
	"openclaw/transport/auth"
	"openclaw/transport/httpapi"
	"openclaw/transport/provider/fakeprovider"
)

const testToken = "httpapi-test-token-0123456789"

// testAPI is a real in-process gateway (actor tree, runs, store) whose
// agents talk to a fake provider over HTTP, with the HTTP API mounted on its
// own test server.
type testAPI struct {
	gw   *gateway.Gateway
	env  *core.Env
	fp   *fakeprovider.Server
	url  string // http://127.0.0.1:<port>
	base string // url + "/v1"
}

// apiConfig enables both endpoints, declares two agents (main, the
// default, and research) and denies session_status over HTTP.
func apiConfig(t *testing.T, fp *fakeprovider.Server, gatewayExtra string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("test.json5", []byte(fmt.Sprintf(`{
		gateway: {
			http: {endpoints: {chatCompletions: {enabled: true}, responses: {enabled: true}}},
			tools: {deny: ["session_status"]},
			%s
		},
		models: {providers: {fake: {baseUrl: %q, apiKey: "sk-test", api: "openai-completions", models: [{id: "mock-1", name: "Mock"}]}}},
		agents: {defaults: {model: {primary: "fake/mock-1"}}, list: [{id: "main", default: true}, {id: "research"}]},
	}`, gatewayExtra, fp.URL)))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func startAPI(t *testing.T, fp *fakeprovider.Server, mutate func(*gateway.Options)) *testAPI {
	t.Helper()
	dir := t.TempDir()
	opts := gateway.Options{
		Hosts:      []string{"127.0.0.1"},
		Secret:     auth.Secret{Mode: auth.ModeToken, Value: testToken},
		RateLimit:  auth.DefaultRateLimit,
		StateDir:   dir,
		ConfigPath: dir + "/openclaw.json",
		Config:     apiConfig(t, fp, ""),
		Log:        testLogger(),
	}
	if mutate != nil {
		mutate(&opts)
	}
	gw, err := gateway.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = gw.Stop(ctx, "test done", 0)
	})

	mux := http.NewServeMux()
	for pattern, h := range httpapi.Routes(gw.Env()) {
		mux.Handle(pattern, h)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		mux.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	url := "http://" + ln.Addr().String()
	return &testAPI{gw: gw, env: gw.Env(), fp: fp, url: url, base: url + "/v1"}
}

func testLogger() *slog.Logger {
	if os.Getenv("OPENCLAW_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// client is the official OpenAI SDK pointed at the gateway.
func (a *testAPI) client(key string) *openai.Client {
	c := openai.NewClient(option.WithBaseURL(a.base+"/"), option.WithAPIKey(key), option.WithMaxRetries(0),
		option.WithRequestTimeout(10*time.Second))
	return &c
}

// rawResponse is a plain HTTP exchange.
type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

func (r rawResponse) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not JSON (%v): %s", err, r.body)
	}
	return m
}

// post sends body as JSON with the test token (key "" sends no
// Authorization header) and reads the whole answer.
func (a *testAPI) do(t *testing.T, method, path, key string, body any, header map[string]string) rawResponse {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawResponse{status: res.StatusCode, header: res.Header, body: b}
}

func (a *testAPI) post(t *testing.T, path string, body any, header map[string]string) rawResponse {
	t.Helper()
	return a.do(t, http.MethodPost, path, testToken, body, header)
}

// history is the session's transcript as chat.history returns it.
func (a *testAPI) history(t *testing.T, sessionKey string) []map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h, err := runs.History(ctx, a.env, sessionKey, 50)
	if err != nil {
		t.Fatal(err)
	}
	return h["messages"].([]map[string]any)
}

// messageText is a transcript message's text (string or parts).
func messageText(m map[string]any) string {
	raw, _ := m["content"].(json.RawMessage)
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct{ Text string }
	_ = json.Unmarshal(raw, &parts)
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

// sseEvent is one server-sent event as written on the wire.
type sseEvent struct {
	event string
	data  string
}

// parseSSE splits an event-stream body into events, failing on any line
// that is not "event:", "data:" or blank.
func parseSSE(t *testing.T, body string) []sseEvent {
	t.Helper()
	var out []sseEvent
	var cur sseEvent
	for _, line := range strings.Split(body, "\n") {
		switch {
		case line == "":
			if cur.data != "" || cur.event != "" {
				out = append(out, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			cur.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if cur.data != "" {
				t.Fatalf("two data lines in one event: %q", body)
			}
			cur.data = strings.TrimPrefix(line, "data: ")
		default:
			t.Fatalf("unexpected line %q in stream:\n%s", line, body)
		}
	}
	if cur.data != "" || cur.event != "" {
		t.Fatalf("stream does not end with a blank line:\n%s", body)
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func securityHeaders(t *testing.T, h http.Header) {
	t.Helper()
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("security headers missing: %v", h)
	}
}

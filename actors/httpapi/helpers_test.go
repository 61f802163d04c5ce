package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"openclaw/actors/gateway"
	"openclaw/actors/gateway/gatewaytest"
	"openclaw/actors/runs"
	"openclaw/config"
	"openclaw/transport/protocol"
	"openclaw/transport/provider/fakeprovider"
)

const testToken = gatewaytest.Token

// testAPI is a real in-process gateway (actor tree, runs, store) whose
// agents talk to a fake provider over HTTP; its HTTP API is served on the
// gateway's own port.
type testAPI struct {
	gw   *gatewaytest.Gateway
	fp   *fakeprovider.Server
	url  string // http://127.0.0.1:<port>
	base string // url + "/v1"
}

// apiConfig enables both endpoints, declares two agents (main, the
// default, and research) and denies session_status over HTTP.
func apiConfig(t *testing.T, fp *fakeprovider.Server, gatewayExtra string) *config.Config {
	t.Helper()
	return gatewaytest.Config(t, fmt.Sprintf(`{
		gateway: {
			http: {endpoints: {chatCompletions: {enabled: true}, responses: {enabled: true}}},
			tools: {deny: ["session_status"]},
			%s
		},
		models: {providers: {fake: {baseUrl: %q, apiKey: "sk-test", api: "openai-completions", models: [{id: "mock-1", name: "Mock"}]}}},
		agents: {defaults: {model: {primary: "fake/mock-1"}}, list: [{id: "main", default: true}, {id: "research"}]},
	}`, gatewayExtra, fp.URL))
}

func startAPI(t *testing.T, fp *fakeprovider.Server, mutate func(*gateway.Options)) *testAPI {
	t.Helper()
	gw := gatewaytest.Start(t, func(o *gateway.Options) {
		o.Config = apiConfig(t, fp, "")
		if mutate != nil {
			mutate(o)
		}
	})
	return &testAPI{gw: gw, fp: fp, url: gw.HTTP, base: gw.HTTP + "/v1"}
}

// reload applies cfg the way an operator would, through config.apply: the
// config actor writes the file and applies what changed in place.
func (a *testAPI) reload(t *testing.T, cfg *config.Config) {
	t.Helper()
	adm, _ := gatewaytest.MustConnect(t, a.gw.URL, gatewaytest.Admin())
	got := gatewaytest.Decode[struct {
		Hash string `json:"hash"`
	}](t, adm.Call("g", "config.get", nil).Payload)
	if f := adm.Call("a", "config.apply", map[string]any{"config": config.ToMap(cfg), "baseHash": got.Hash}); !f.OK {
		t.Fatalf("config.apply: %s", f.Raw)
	}
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
	h, err := runs.History(ctx, a.gw.Store(), protocol.ChatHistoryParams{SessionKey: sessionKey, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, m := range h.Messages {
		b, _ := json.Marshal(m)
		row := gatewaytest.Decode[map[string]any](t, b)
		row["content"] = m.Content
		out = append(out, row)
	}
	return out
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

package gateway_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"openclaw/actors/gateway/gatewaytest"
	"openclaw/actors/tools"
	"strings"
	"testing"
	"time"

	"openclaw/actors/gateway"
	"openclaw/config"
	"openclaw/transport/provider/fakeprovider"
)

// agentGateway is a gateway whose default agent talks to a fake provider
// speaking the OpenAI wire format over HTTP.
func agentGateway(t testing.TB, fp *fakeprovider.Server, mutate func(*gateway.Options)) *gatewaytest.Gateway {
	t.Helper()
	cfg := agentConfig(t, fp)
	return gatewaytest.Start(t, func(o *gateway.Options) {
		o.Config = cfg
		if mutate != nil {
			mutate(o)
		}
	})
}

// agentConfig makes fp's model the default agent's.
func agentConfig(t testing.TB, fp *fakeprovider.Server) *config.Config {
	t.Helper()
	cfg, err := config.Parse("test.json5", []byte(fmt.Sprintf(`{
		models: {providers: {fake: {baseUrl: %q, apiKey: "sk-test", api: "openai-completions", models: [{id: "mock-1", name: "Mock"}]}}},
		agents: {defaults: {model: {primary: "fake/mock-1"}}},
	}`, fp.URL)))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

type agentEvent struct {
	RunID      string         `json:"runId"`
	Seq        int64          `json:"seq"`
	FromSeq    int64          `json:"fromSeq"` // set on a merged event
	Stream     string         `json:"stream"`
	SessionKey string         `json:"sessionKey"`
	Data       map[string]any `json:"data"`
}

// collectRun reads agent events for runID until its lifecycle end.
func collectRun(t *testing.T, w *gatewaytest.Conn, runID string) []agentEvent {
	t.Helper()
	var out []agentEvent
	for {
		f := w.Event("agent")
		ev := gatewaytest.Decode[agentEvent](t, f.Payload)
		if ev.RunID != runID {
			continue
		}
		out = append(out, ev)
		if ev.Stream == "lifecycle" && ev.Data["phase"] == "end" {
			return out
		}
	}
}

func TestAgentRun(t *testing.T) {
	fp := fakeprovider.New(t, fakeprovider.Text("Hello from the mock model.", 5))
	gw := agentGateway(t, fp, nil)
	watcher, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())

	adm.SendJSON(map[string]any{"type": "req", "id": "a1", "method": "agent", "params": map[string]any{"message": "hi", "idempotencyKey": "k1"}})
	accepted := adm.Res("a1")
	acc := gatewaytest.Decode[map[string]any](t, accepted.Payload)
	if !accepted.OK || acc["status"] != "accepted" || acc["runId"] != "k1" || acc["sessionKey"] != "agent:main:main" || acc["agentId"] != "main" {
		t.Fatalf("first response: %s", accepted.Raw)
	}
	final := adm.Res("a1")
	var fin struct {
		RunID, Status, Summary string
		Result                 struct {
			Payloads []struct{ Text string }
			Meta     struct {
				DurationMs int64
				AgentMeta  struct {
					SessionID, Provider, Model string
					Usage                      struct{ Input, Output, Total int }
				}
			}
		}
	}
	if err := json.Unmarshal(final.Payload, &fin); err != nil || !final.OK {
		t.Fatalf("final: %s", final.Raw)
	}
	if fin.Status != "ok" || fin.Summary != "completed" || len(fin.Result.Payloads) != 1 || fin.Result.Payloads[0].Text != "Hello from the mock model." ||
		fin.Result.Meta.AgentMeta.Provider != "fake" || fin.Result.Meta.AgentMeta.Model != "mock-1" || fin.Result.Meta.AgentMeta.SessionID == "" ||
		fin.Result.Meta.AgentMeta.Usage.Total == 0 {
		t.Fatalf("final: %s", final.Raw)
	}

	// The watcher saw the whole run, in order: every run seq once (a
	// merged event covers fromSeq..seq).
	evs := collectRun(t, watcher, "k1")
	var text strings.Builder
	next := int64(1)
	for i, ev := range evs {
		if from := cmp.Or(ev.FromSeq, ev.Seq); from != next || ev.Seq < from {
			t.Fatalf("event %d covers seqs %d..%d, want it to start at %d", i, from, ev.Seq, next)
		}
		next = ev.Seq + 1
		if ev.Stream == "assistant" {
			text.WriteString(ev.Data["delta"].(string))
			if ev.Data["text"] != text.String() {
				t.Fatalf("cumulative text %q, deltas so far %q", ev.Data["text"], text.String())
			}
		}
	}
	if evs[0].Stream != "lifecycle" || evs[0].Data["phase"] != "start" || text.String() != "Hello from the mock model." ||
		evs[len(evs)-1].Data["aborted"] != false {
		t.Fatalf("events: %+v", evs)
	}

	// What the provider was sent.
	reqs := fp.Requests()
	if len(reqs) != 1 || reqs[0].Model != "mock-1" || reqs[0].Messages[len(reqs[0].Messages)-1].Content != "hi" {
		t.Fatalf("provider requests: %+v", reqs)
	}

	// Same key again: the cached final in one response, no new provider call.
	again := adm.Call("a2", "agent", map[string]any{"message": "hi", "idempotencyKey": "k1"})
	if !again.OK || gatewaytest.Decode[map[string]any](t, again.Payload)["status"] != "ok" || len(fp.Requests()) != 1 {
		t.Fatalf("repeat: %s", again.Raw)
	}
	if w := gatewaytest.Decode[map[string]any](t, adm.Call("w1", "agent.wait", map[string]any{"runId": "k1"}).Payload); w["status"] != "ok" {
		t.Fatalf("agent.wait: %v", w)
	}
	if w := gatewaytest.Decode[map[string]any](t, adm.Call("w2", "agent.wait", map[string]any{"runId": "nope", "timeoutMs": 10}).Payload); w["status"] != "timeout" {
		t.Fatalf("agent.wait unknown: %v", w)
	}

	// The transcript, as the reference returns it.
	h := gatewaytest.Decode[map[string]any](t, adm.Call("h", "chat.history", map[string]any{"sessionKey": "agent:main:main"}).Payload)
	msgs := h["messages"].([]any)
	if len(msgs) != 2 || h["totalMessages"] != 2.0 || h["hasMore"] != false {
		t.Fatalf("history: %v", h)
	}
	user, asst := msgs[0].(map[string]any), msgs[1].(map[string]any)
	parts, _ := asst["content"].([]any)
	if user["role"] != "user" || user["content"] != "hi" || asst["role"] != "assistant" || len(parts) != 1 ||
		parts[0].(map[string]any)["text"] != "Hello from the mock model." || asst["provider"] != "fake" || asst["model"] != "mock-1" {
		t.Fatalf("history messages: %v", msgs)
	}

	// The second turn sends the first as context.
	fp.Script(fakeprovider.Text("Second answer.", 2))
	adm.Call("a3", "agent", map[string]any{"message": "again", "idempotencyKey": "k2"})
	adm.Res("a3")
	if r := fp.Requests()[1]; len(r.Messages) != 3 || r.Messages[0].Content != "hi" || r.Messages[1].Content != "Hello from the mock model." {
		t.Fatalf("context of the second turn: %+v", r.Messages)
	}
}

func TestAgentFailures(t *testing.T) {
	t.Run("no provider", func(t *testing.T) {
		t.Setenv("OPENAI_API_KEY", "")
		gw := gatewaytest.Start(t, nil)
		adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
		f := adm.Call("a", "agent", map[string]any{"message": "hi", "idempotencyKey": "k"})
		if f.OK || f.Error.Code != "UNAVAILABLE" || !strings.Contains(f.Error.Message, "models.providers") {
			t.Fatalf("%s", f.Raw)
		}
	})
	t.Run("429", func(t *testing.T) {
		fp := fakeprovider.New(t, fakeprovider.Reply{Status: 429, ErrorMessage: "slow down", Header: fakeprovider.RetryAfter(7 * time.Second)})
		gw := agentGateway(t, fp, nil)
		adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
		adm.Call("a", "agent", map[string]any{"message": "hi", "idempotencyKey": "k"})
		f := adm.Res("a")
		p := gatewaytest.Decode[map[string]any](t, f.Payload)
		if f.OK || f.Error.Code != "UNAVAILABLE" || f.Error.Retryable == nil || !*f.Error.Retryable || f.Error.RetryAfterMs == nil ||
			*f.Error.RetryAfterMs != 7000 || p["status"] != "error" || p["runId"] != "k" {
			t.Fatalf("%s", f.Raw)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		fp := fakeprovider.New(t, fakeprovider.Reply{Text: "never finished", Fault: fakeprovider.Stall, FaultAfter: 2})
		gw := agentGateway(t, fp, nil)
		adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
		adm.Call("a", "agent", map[string]any{"message": "hi", "idempotencyKey": "k", "timeout": 0.5})
		f := adm.Res("a")
		if f.OK || f.Error.Code != "AGENT_TIMEOUT" || gatewaytest.Decode[map[string]any](t, f.Payload)["status"] != "timeout" {
			t.Fatalf("%s", f.Raw)
		}
		// The provider request was cancelled, not left hanging.
		deadline := time.Now().Add(3 * time.Second)
		for fp.Disconnects() == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if fp.Disconnects() == 0 {
			t.Fatal("the stalled provider request was never cancelled")
		}
	})
}

func TestChatAbort(t *testing.T) {
	fp := fakeprovider.New(t, fakeprovider.Reply{Text: "a long answer that stalls", Fault: fakeprovider.Stall, FaultAfter: 2})
	gw := agentGateway(t, fp, nil)
	watcher, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	ack := adm.Call("s", "chat.send", map[string]any{"sessionKey": "agent:main:chat1", "message": "hi", "idempotencyKey": "c1"})
	if p := gatewaytest.Decode[map[string]any](t, ack.Payload); !ack.OK || p["runId"] != "c1" || p["status"] != "started" {
		t.Fatalf("chat.send: %s", ack.Raw)
	}
	watcher.Event("chat") // the first delta: the run is streaming
	res := gatewaytest.Decode[map[string]any](t, adm.Call("x", "chat.abort", map[string]any{"sessionKey": "agent:main:chat1"}).Payload)
	if res["aborted"] != true || fmt.Sprint(res["runIds"]) != "[c1]" {
		t.Fatalf("chat.abort: %v", res)
	}
	for {
		f := watcher.Event("chat")
		if gatewaytest.Decode[map[string]any](t, f.Payload)["state"] == "aborted" {
			break
		}
	}
	evs := collectRun(t, watcher, "c1")
	if end := evs[len(evs)-1]; end.Data["aborted"] != true {
		t.Fatalf("lifecycle end: %+v", end)
	}
	// The provider stream was cancelled, not left to run out.
	deadline := time.Now().Add(2 * time.Second)
	for fp.Disconnects() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if fp.Disconnects() == 0 {
		t.Fatal("chat.abort did not cancel the provider request")
	}
	// The user message was kept.
	h := gatewaytest.Decode[map[string]any](t, adm.Call("h", "chat.history", map[string]any{"sessionKey": "agent:main:chat1"}).Payload)
	if msgs := h["messages"].([]any); len(msgs) != 1 || msgs[0].(map[string]any)["content"] != "hi" {
		t.Fatalf("history after abort: %v", h)
	}
}

// TestAgentTools: the model calls a gateway tool, sees its result, answers.
func TestAgentTools(t *testing.T) {
	fp := fakeprovider.New(t,
		fakeprovider.ToolCalls(fakeprovider.ToolCall{ID: "call_1", Name: "sessions_list", Arguments: `{"limit":5}`}),
		fakeprovider.Text("You have sessions.", 2))
	gw := agentGateway(t, fp, nil)
	watcher, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	adm.Call("a", "agent", map[string]any{"message": "list my sessions", "idempotencyKey": "t1"})
	if f := adm.Res("a"); !f.OK || !strings.Contains(string(f.Payload), "You have sessions.") {
		t.Fatalf("final: %s", f.Raw)
	}
	var phases []string
	for _, ev := range collectRun(t, watcher, "t1") {
		if ev.Stream == "tool" {
			phases = append(phases, ev.Data["phase"].(string)+":"+ev.Data["name"].(string))
		}
	}
	if fmt.Sprint(phases) != "[start:sessions_list result:sessions_list]" {
		t.Fatalf("tool events: %v", phases)
	}
	reqs := fp.Requests()
	if len(reqs) != 2 || len(reqs[0].Tools) < 4 {
		t.Fatalf("provider saw %d requests, tools %d", len(reqs), len(reqs[0].Tools))
	}
	last := reqs[1].Messages[len(reqs[1].Messages)-1]
	if last.Role != "tool" || last.ToolCallID != "call_1" || !strings.Contains(last.Content, `"sessions"`) {
		t.Fatalf("tool result sent back: %+v", last)
	}
}

// TestRunPanicIsolation: a tool that panics ends its run with an error; the
// gateway, other runs and other sockets carry on.
func TestRunPanicIsolation(t *testing.T) {
	fp := fakeprovider.New(t, fakeprovider.ToolCalls(fakeprovider.ToolCall{Name: "boom", Arguments: `{}`}))
	fp.SetDefault(fakeprovider.Text("fine", 1))
	gw := agentGateway(t, fp, func(o *gateway.Options) {
		o.Extra.Tools = tools.Set{"boom": {Name: "boom", Description: "panics",
			Invoke: func(context.Context, json.RawMessage) (string, error) { panic("tool exploded") }}}
	})
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	adm.Call("a", "agent", map[string]any{"message": "x", "idempotencyKey": "p1"})
	if f := adm.Res("a"); f.OK || f.Error.Code != "UNAVAILABLE" || !strings.Contains(f.Error.Message, "tool exploded") {
		t.Fatalf("panicking run: %s", f.Raw)
	}
	adm.Call("b", "agent", map[string]any{"message": "y", "idempotencyKey": "p2"})
	if f := adm.Res("b"); !f.OK {
		t.Fatalf("next run: %s", f.Raw)
	}
	if f := adm.Call("h", "health", nil); !f.OK {
		t.Fatal("gateway unhealthy after a run panicked")
	}
	_ = http.StatusOK
}

// TestAgentFanout200: 200 watching sockets each see the whole run, in order:
// agent events covering seqs 1..n once each (merged ones cover several),
// deltas concatenating to the final text.
func TestAgentFanout200(t *testing.T) {
	const watchers = 200
	text := strings.Repeat("word ", 40)
	fp := fakeprovider.New(t, fakeprovider.Text(text, 0))
	gw := agentGateway(t, fp, nil)
	ws := make([]*gatewaytest.Conn, watchers)
	for i := range ws {
		ws[i], _ = gatewaytest.MustConnect(t, gw.URL, gatewaytest.Client{ID: "cli", Mode: "cli", Token: gatewaytest.Token, Scopes: []string{"operator.read"}})
	}
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	adm.Call("a", "agent", map[string]any{"message": "go", "idempotencyKey": "fan"})
	final := gatewaytest.Decode[map[string]any](t, adm.Res("a").Payload)
	want := final["result"].(map[string]any)["payloads"].([]any)[0].(map[string]any)["text"].(string)
	if want != text {
		t.Fatalf("final text %q", want)
	}
	errs := make(chan error, watchers)
	for _, w := range ws {
		go func(w *gatewaytest.Conn) {
			var got strings.Builder
			var n int64
			for {
				select {
				case f := <-w.Frames():
					if f.Event != "agent" {
						continue
					}
					var ev agentEvent
					_ = json.Unmarshal(f.Payload, &ev)
					if ev.RunID != "fan" {
						continue
					}
					if from := cmp.Or(ev.FromSeq, ev.Seq); from != n+1 || ev.Seq < from {
						errs <- fmt.Errorf("event covering seqs %d..%d after %d", from, ev.Seq, n)
						return
					}
					n = ev.Seq
					if ev.Stream == "assistant" {
						got.WriteString(ev.Data["delta"].(string))
					}
					if ev.Stream == "lifecycle" && ev.Data["phase"] == "end" {
						if got.String() != want {
							errs <- fmt.Errorf("deltas %q != final %q", got.String(), want)
						} else {
							errs <- nil
						}
						return
					}
				case <-time.After(10 * time.Second):
					errs <- fmt.Errorf("run incomplete after %d events", n)
					return
				}
			}
		}(w)
	}
	for range ws {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkAgentTurn is one agent turn end to end over a WebSocket against a
// provider that answers at once: what the gateway adds to a turn (the
// provider's own HTTP round trip included). Reported: ns/op and the
// gateway's own durationMs from the final.
func BenchmarkAgentTurn(b *testing.B) {
	fp := fakeprovider.New(b)
	fp.SetDefault(fakeprovider.Text("ok", 1))
	gw := agentGateway(b, fp, nil)
	adm, _ := gatewaytest.MustConnect(b, gw.URL, gatewaytest.Admin())
	var dur int64
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("b%d", i)
		adm.SendJSON(map[string]any{"type": "req", "id": id, "method": "agent", "params": map[string]any{"message": "x", "idempotencyKey": id}})
		adm.Res(id)
		f := adm.Res(id)
		var fin struct {
			Result struct {
				Meta struct{ DurationMs int64 }
			}
		}
		_ = json.Unmarshal(f.Payload, &fin)
		dur += fin.Result.Meta.DurationMs
	}
	b.ReportMetric(float64(dur)/float64(b.N), "durationMs/turn")
}

// TestContextBudget: only the newest messages that fit the configured budget
// are sent as context.
func TestContextBudget(t *testing.T) {
	fp := fakeprovider.New(t)
	fp.SetDefault(fakeprovider.Text(strings.Repeat("a", 100), 1))
	gw := agentGateway(t, fp, func(o *gateway.Options) { o.Config.Agents.Defaults.ContextMaxChars = 150 })
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	for i := 0; i < 3; i++ {
		id := fmt.Sprintf("c%d", i)
		adm.Call(id, "agent", map[string]any{"message": fmt.Sprintf("m%d", i), "idempotencyKey": id})
		adm.Res(id)
	}
	// Third turn: the budget 150 - 2 (the new message) holds the newest two
	// stored messages, "m1" and its 100-character answer, not three.
	last := fp.Requests()[2].Messages
	if len(last) != 3 || last[0].Content != "m1" || last[2].Content != "m2" {
		var got []string
		for _, m := range last {
			got = append(got, m.Role+":"+m.Content[:min(len(m.Content), 5)])
		}
		t.Fatalf("context of the third turn: %v", got)
	}
}

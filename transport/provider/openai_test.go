package provider_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"openclaw/transport/provider"
	"openclaw/transport/provider/fakeprovider"
)

// The tests are not parallel: each checks that the goroutine count returns
// to where it started.

// checkGoroutines fails the test if, once the test's cleanups have run (the
// fake server closed, the client's idle connections closed), more goroutines
// remain than when it started. Call it first so its cleanup runs last.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutine leak: %d before, %d after\n%s", before, n, buf)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// env is one test's fake provider and the client pointed at it.
type env struct {
	fake *fakeprovider.Server
	hc   *http.Client
	p    provider.Provider
}

// newEnv starts a fake and a provider with a dedicated HTTP client (so idle
// connections can be closed and counted out), API key sk-test, and cfg's
// other fields when set.
func newEnv(t *testing.T, cfg provider.Config, replies ...fakeprovider.Reply) *env {
	t.Helper()
	checkGoroutines(t)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	e := &env{fake: fakeprovider.New(t, replies...), hc: &http.Client{Transport: tr}}
	if cfg.ID == "" {
		cfg.ID = "fake"
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = e.fake.URL
	}
	if cfg.APIKey == "" {
		cfg.APIKey = "sk-test"
	}
	cfg.HTTPClient = e.hc
	e.p = provider.NewOpenAICompatible(cfg)
	return e
}

func userRequest(text string) provider.Request {
	return provider.Request{Model: "gpt-test", Messages: []provider.Message{
		{Role: "system", Content: "You are terse."},
		{Role: "user", Content: text},
	}}
}

// run streams req and returns the deltas seen.
func (e *env) run(ctx context.Context, req provider.Request) (*provider.Result, []string, error) {
	var deltas []string
	res, err := e.p.Stream(ctx, req, func(d string) { deltas = append(deltas, d) })
	return res, deltas, err
}

func TestStreamText(t *testing.T) {
	tests := []struct {
		name   string
		reply  fakeprovider.Reply
		want   []string
		finish string
	}{
		{"one delta", fakeprovider.Text("Hello.", 1), []string{"Hello."}, "stop"},
		{"four deltas", fakeprovider.Text("Hello there, world!", 4), []string{"Hell", "o the", "re, w", "orld!"}, "stop"},
		{"per word", fakeprovider.Text("a bb  ccc", 0), []string{"a", " bb", "  ccc"}, "stop"},
		{"utf-8 split by runes", fakeprovider.Text("héllo wörld ✓", 3), []string{"héll", "o wö", "rld ✓"}, "stop"},
		{"length", fakeprovider.Reply{Text: "cut sh", Deltas: 2, FinishReason: "length"}, []string{"cut", " sh"}, "length"},
		{"empty reply", fakeprovider.Text("", 0), nil, "stop"},
		{"slow chunks", fakeprovider.Reply{Text: "x y z", ChunkDelay: 5 * time.Millisecond}, []string{"x", " y", " z"}, "stop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, provider.Config{}, tt.reply)
			res, deltas, err := e.run(context.Background(), userRequest("hi there"))
			if err != nil {
				t.Fatalf("Stream: %v", err)
			}
			if !reflect.DeepEqual(deltas, tt.want) {
				t.Errorf("deltas = %q, want %q", deltas, tt.want)
			}
			if res.Text != strings.Join(tt.want, "") {
				t.Errorf("Text = %q, want %q", res.Text, strings.Join(tt.want, ""))
			}
			if res.FinishReason != tt.finish || res.Model != "gpt-test" || len(res.ToolCalls) != 0 {
				t.Errorf("result = %+v", res)
			}
			// The fake's default usage: prompt = words in the messages (3 +
			// 2), completion = content chunks.
			want := provider.Usage{Input: 5, Output: len(tt.want), Total: 5 + len(tt.want)}
			if res.Usage != want {
				t.Errorf("Usage = %+v, want %+v", res.Usage, want)
			}
		})
	}
}

// TestStreamEndsWithDoneWithoutFinishReason: a server that never sends a
// finish_reason but ends the stream with data: [DONE] has finished its reply
// (the reason is the one a full server would have sent); without [DONE]
// either, the stream was cut short (TestErrors).
func TestStreamEndsWithDoneWithoutFinishReason(t *testing.T) {
	chunk := func(content string) string {
		return `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"` + content + `"},"finish_reason":null}]}` + "\n\n"
	}
	tests := []struct {
		name   string
		reply  fakeprovider.Reply
		text   string
		calls  int
		finish string
	}{
		{"text", fakeprovider.Reply{Text: "all of it", Deltas: 3, NoFinish: true}, "all of it", 0, "stop"},
		{"text and usage", fakeprovider.Reply{Text: "a b", NoFinish: true, Usage: &fakeprovider.Usage{Prompt: 3, Completion: 2}}, "a b", 0, "stop"},
		{"tool calls", fakeprovider.Reply{NoFinish: true, ToolCalls: []fakeprovider.ToolCall{{Name: "ls", Arguments: `{"dir":"/"}`}}}, "", 1, "tool_calls"},
		{"[DONE] without the space", fakeprovider.Reply{Raw: []string{chunk("Hi"), chunk("!"), "data:[DONE]\n\n"}}, "Hi!", 0, "stop"},
		{"[DONE] as the last line, no blank line after it", fakeprovider.Reply{Raw: []string{chunk("Hi"), "data: [DONE]"}}, "Hi", 0, "stop"},
		{"CRLF lines", fakeprovider.Reply{Raw: []string{strings.ReplaceAll(chunk("Hi"), "\n", "\r\n"), "data: [DONE]\r\n\r\n"}}, "Hi", 0, "stop"},
		{"[DONE] split across writes", fakeprovider.Reply{Raw: []string{chunk("Hi"), "data: [DO", "NE]\n\n"}}, "Hi", 0, "stop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, provider.Config{}, tt.reply)
			res, deltas, err := e.run(context.Background(), userRequest("x"))
			if err != nil {
				t.Fatalf("Stream: %v", err)
			}
			if res.Text != tt.text || strings.Join(deltas, "") != tt.text || len(res.ToolCalls) != tt.calls || res.FinishReason != tt.finish {
				t.Errorf("result = %+v (deltas %q), want text %q, %d tool calls, finish %q", res, deltas, tt.text, tt.calls, tt.finish)
			}
		})
	}
}

// TestStreamDeltasArriveLive checks onDelta is called as chunks arrive, not
// after the stream ends.
func TestStreamDeltasArriveLive(t *testing.T) {
	const gap = 40 * time.Millisecond
	e := newEnv(t, provider.Config{}, fakeprovider.Reply{Text: "a b c", ChunkDelay: gap})
	start := time.Now()
	var at []time.Duration
	_, err := e.p.Stream(context.Background(), userRequest("x"), func(string) { at = append(at, time.Since(start)) })
	if err != nil {
		t.Fatal(err)
	}
	total := time.Since(start)
	if len(at) != 3 || at[0] > total-gap {
		t.Errorf("deltas at %v, stream took %v: the first delta came with the end", at, total)
	}
}

func TestRequestOnTheWire(t *testing.T) {
	schema := `{"type":"object","properties":{"city":{"type":"string","description":"City name"},"days":{"type":"integer","maximum":14}},"required":["city"]}`
	req := provider.Request{
		Model:     "llama3.2:3b",
		MaxTokens: 256,
		Messages: []provider.Message{
			{Role: "system", Content: "You are a weather bot."},
			{Role: "user", Content: "Weather in Paris?"},
			{Role: "assistant", ToolCalls: []provider.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
			{Role: "tool", ToolCallID: "call_1", Content: `{"temp":21}`},
			{Role: "assistant", Content: "21 °C."},
			{Role: "user", Content: "Thanks"},
		},
		Tools: []provider.Tool{
			{Name: "get_weather", Description: "Current weather", Parameters: json.RawMessage(schema)},
			{Name: "now"}, // no parameters
		},
	}
	tests := []struct {
		name          string
		cfg           provider.Config
		wantMaxTokens int // max_tokens
		wantMaxCompl  int // max_completion_tokens
	}{
		{"default field for non-OpenAI hosts", provider.Config{}, 256, 0},
		{"max_completion_tokens", provider.Config{MaxTokensField: "max_completion_tokens"}, 0, 256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("OPENAI_ORG_ID", "org-from-env")
			t.Setenv("OPENAI_CUSTOM_HEADERS", "X-Leak: yes")
			e := newEnv(t, tt.cfg, fakeprovider.Text("ok", 1))
			if _, _, err := e.run(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			reqs := e.fake.Requests()
			if len(reqs) != 1 {
				t.Fatalf("fake got %d requests, want 1", len(reqs))
			}
			got := reqs[0]
			if got.Method != "POST" || got.Path != "/v1/chat/completions" {
				t.Errorf("%s %s", got.Method, got.Path)
			}
			if a := got.Header.Get("Authorization"); a != "Bearer sk-test" {
				t.Errorf("Authorization = %q", a)
			}
			if h := got.Header.Get("OpenAI-Organization") + got.Header.Get("X-Leak"); h != "" {
				t.Errorf("OPENAI_* environment leaked into the request: %q", h)
			}
			if got.Model != "llama3.2:3b" || !got.Stream || !got.IncludeUsage {
				t.Errorf("model %q stream %v include_usage %v", got.Model, got.Stream, got.IncludeUsage)
			}
			if got.MaxTokens != tt.wantMaxTokens || got.MaxCompletionTokens != tt.wantMaxCompl {
				t.Errorf("max_tokens %d max_completion_tokens %d", got.MaxTokens, got.MaxCompletionTokens)
			}
			wantMsgs := []fakeprovider.Message{
				{Role: "system", Content: "You are a weather bot."},
				{Role: "user", Content: "Weather in Paris?"},
				{Role: "assistant", ToolCalls: []fakeprovider.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
				{Role: "tool", ToolCallID: "call_1", Content: `{"temp":21}`},
				{Role: "assistant", Content: "21 °C."},
				{Role: "user", Content: "Thanks"},
			}
			if !reflect.DeepEqual(got.Messages, wantMsgs) {
				t.Errorf("messages =\n%+v\nwant\n%+v", got.Messages, wantMsgs)
			}
			if len(got.Tools) != 2 {
				t.Fatalf("tools = %+v", got.Tools)
			}
			// The schema goes out byte for byte (key order kept).
			if tl := got.Tools[0]; tl.Type != "function" || tl.Name != "get_weather" || tl.Description != "Current weather" || string(tl.Parameters) != schema {
				t.Errorf("tool 0 = %+v params %s", tl, tl.Parameters)
			}
			if tl := got.Tools[1]; tl.Name != "now" || string(tl.Parameters) != `{"type":"object","properties":{}}` {
				t.Errorf("tool 1 = %+v params %s", tl, tl.Parameters)
			}
			// Exact JSON shapes the structs above cannot show.
			var raw struct {
				Messages []map[string]json.RawMessage `json:"messages"`
				Stream   json.RawMessage              `json:"stream"`
				Options  json.RawMessage              `json:"stream_options"`
				N        json.RawMessage              `json:"n"`
			}
			if err := json.Unmarshal(got.Body, &raw); err != nil {
				t.Fatal(err)
			}
			if _, ok := raw.Messages[2]["content"]; ok {
				t.Errorf("tool-call-only assistant message has content: %s", got.Body)
			}
			if string(raw.Stream) != "true" || string(raw.Options) != `{"include_usage":true}` || raw.N != nil {
				t.Errorf("stream %s stream_options %s n %s", raw.Stream, raw.Options, raw.N)
			}
		})
	}
}

// TestNoAPIKeyNoEnvironment: without an APIKey no Authorization is sent,
// even when OPENAI_API_KEY is set (it belongs to OpenAI, not to a local
// server).
func TestNoAPIKeyNoEnvironment(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-from-env")
	t.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
	checkGoroutines(t)
	fake := fakeprovider.New(t)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	p := provider.NewOpenAICompatible(provider.Config{BaseURL: fake.URL, HTTPClient: &http.Client{Transport: tr}})
	res, err := p.Stream(context.Background(), userRequest("ping"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != "echo: ping" {
		t.Errorf("Text = %q", res.Text)
	}
	if a := fake.Requests()[0].Header.Get("Authorization"); a != "" {
		t.Errorf("Authorization = %q, want none", a)
	}
}

func TestToolCallsThenText(t *testing.T) {
	calls := []fakeprovider.ToolCall{
		{ID: "call_w", Name: "get_weather", Arguments: `{"city":"Paris","unit":"celsius"}`},
		{ID: "call_t", Name: "get_time", Arguments: `{"tz":"Europe/Paris"}`},
	}
	e := newEnv(t, provider.Config{},
		fakeprovider.Reply{ToolCalls: calls, ArgFragments: 5},
		fakeprovider.Text("It is 21 °C and 14:00.", 0),
	)
	req := userRequest("Weather and time in Paris?")
	req.Tools = []provider.Tool{
		{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object"}`)},
		{Name: "get_time", Parameters: json.RawMessage(`{"type":"object"}`)},
	}

	res, deltas, err := e.run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := []provider.ToolCall{
		{ID: "call_w", Name: "get_weather", Arguments: `{"city":"Paris","unit":"celsius"}`},
		{ID: "call_t", Name: "get_time", Arguments: `{"tz":"Europe/Paris"}`},
	}
	if !reflect.DeepEqual(res.ToolCalls, want) || res.FinishReason != "tool_calls" || res.Text != "" || len(deltas) != 0 {
		t.Fatalf("turn 1: %+v deltas %q", res, deltas)
	}

	req.Messages = append(req.Messages,
		provider.Message{Role: "assistant", ToolCalls: res.ToolCalls},
		provider.Message{Role: "tool", ToolCallID: "call_w", Content: "21C"},
		provider.Message{Role: "tool", ToolCallID: "call_t", Content: "14:00"},
	)
	res, deltas, err = e.run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != "It is 21 °C and 14:00." || strings.Join(deltas, "") != res.Text || res.FinishReason != "stop" || res.ToolCalls != nil {
		t.Fatalf("turn 2: %+v", res)
	}
	got := e.fake.Requests()[1].Messages
	if len(got) != 5 || len(got[2].ToolCalls) != 2 || got[2].ToolCalls[1].Arguments != `{"tz":"Europe/Paris"}` ||
		got[3].ToolCallID != "call_w" || got[4].Content != "14:00" {
		t.Errorf("turn 2 messages = %+v", got)
	}
}

// TestStreamTranscripts replays testdata streams in other servers' dialects.
func TestStreamTranscripts(t *testing.T) {
	tests := []struct {
		file   string
		deltas []string
		want   provider.Result
	}{
		{"openai_tool_calls.sse", nil, provider.Result{
			ToolCalls: []provider.ToolCall{
				{ID: "call_Ab12", Name: "get_weather", Arguments: `{"city":"Paris"}`},
				{ID: "call_Cd34", Name: "get_time", Arguments: `{"tz":"CET"}`},
			},
			FinishReason: "tool_calls", Usage: provider.Usage{Input: 82, Output: 41, Total: 123}, Model: "gpt-4.1-mini-2025-04-14",
		}},
		{"openrouter_comments.sse", []string{"Bonjour", " à tous"}, provider.Result{
			Text: "Bonjour à tous", FinishReason: "stop", Usage: provider.Usage{Input: 12, Output: 4, Total: 16}, Model: "openai/gpt-4o-mini",
		}},
		{"ollama_tool_call.sse", []string{"Let me check."}, provider.Result{
			Text:         "Let me check.",
			ToolCalls:    []provider.ToolCall{{ID: "call_x1y2z3", Name: "read_file", Arguments: `{"path":"README.md"}`}},
			FinishReason: "tool_calls", Usage: provider.Usage{Input: 230, Output: 25, Total: 255}, Model: "qwen3:8b",
		}},
		{"same_index_tool_calls.sse", nil, provider.Result{
			ToolCalls: []provider.ToolCall{
				{ID: "call_a", Name: "ls", Arguments: `{"dir":"/tmp"}`},
				{ID: "call_b", Name: "date", Arguments: `{}`},
			},
			FinishReason: "tool_calls", Model: "local",
		}},
		{"llamacpp_no_done.sse", []string{"Hi", "!"}, provider.Result{
			Text: "Hi!", FinishReason: "stop", Usage: provider.Usage{Input: 9, Output: 2, Total: 11}, Model: "gpt-3.5-turbo",
		}},
		{"cumulative_usage.sse", []string{"One", " two"}, provider.Result{
			Text: "One two", FinishReason: "length", Usage: provider.Usage{Input: 20, Output: 2, Total: 22}, Model: "meta-llama/Llama-3.1-8B-Instruct",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			e := newEnv(t, provider.Config{}, fakeprovider.Reply{Raw: strings.SplitAfter(string(data), "\n\n")})
			res, deltas, err := e.run(context.Background(), userRequest("x"))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(deltas, tt.deltas) {
				t.Errorf("deltas = %q, want %q", deltas, tt.deltas)
			}
			if !reflect.DeepEqual(*res, tt.want) {
				t.Errorf("result =\n%+v\nwant\n%+v", *res, tt.want)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name  string
		reply fakeprovider.Reply
		want  provider.Usage
	}{
		{"reported", fakeprovider.Reply{Text: "hi", Usage: &fakeprovider.Usage{Prompt: 100, Completion: 7}}, provider.Usage{Input: 100, Output: 7, Total: 107}},
		{"not sent", fakeprovider.Reply{Text: "hi", NoUsage: true}, provider.Usage{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, provider.Config{}, tt.reply)
			res, _, err := e.run(context.Background(), userRequest("x"))
			if err != nil {
				t.Fatal(err)
			}
			if res.Usage != tt.want {
				t.Errorf("Usage = %+v, want %+v", res.Usage, tt.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	chunk := func(content string) string {
		return `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"` + content + `"},"finish_reason":null}]}` + "\n\n"
	}
	httpDate := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name       string
		cfg        provider.Config
		reply      fakeprovider.Reply
		status     int
		retryable  bool
		msg        string // Message contains
		code       string
		retryAfter time.Duration // want about this (±2 s); 0: exactly 0
		deltas     []string
	}{
		{name: "401 bad key", reply: fakeprovider.Error(401, "Incorrect API key provided: sk-test."),
			status: 401, msg: "Incorrect API key provided: sk-test.", code: "invalid_api_key"},
		{name: "403 forbidden", reply: fakeprovider.Reply{Status: 403, ErrorMessage: "Country, region, or territory not supported", ErrorCode: "unsupported_country_region_territory"},
			status: 403, msg: "Country, region, or territory not supported", code: "unsupported_country_region_territory"},
		{name: "400 bad request", reply: fakeprovider.Reply{Status: 400, ErrorMessage: "Invalid 'messages[1].role'", ErrorCode: "invalid_value"},
			status: 400, msg: "Invalid 'messages[1].role'", code: "invalid_value"},
		{name: "429 Retry-After seconds", reply: fakeprovider.Reply{Status: 429, ErrorMessage: "Rate limit reached for requests", Header: fakeprovider.RetryAfter(7 * time.Second)},
			status: 429, retryable: true, msg: "Rate limit reached", code: "rate_limit_exceeded", retryAfter: 7 * time.Second},
		{name: "429 Retry-After HTTP date", reply: fakeprovider.Reply{Status: 429, Header: http.Header{"Retry-After": {httpDate}}},
			status: 429, retryable: true, msg: "Too Many Requests", code: "rate_limit_exceeded", retryAfter: 30 * time.Second},
		{name: "429 no Retry-After", reply: fakeprovider.Error(429, "slow down"),
			status: 429, retryable: true, msg: "slow down", code: "rate_limit_exceeded"},
		{name: "500 server error", reply: fakeprovider.Error(500, "The server had an error while processing your request."),
			status: 500, retryable: true, msg: "The server had an error"},
		{name: "502 HTML from a proxy", reply: fakeprovider.Reply{Status: 502, Body: "<html><body>502 Bad Gateway</body></html>", Header: http.Header{"Content-Type": {"text/html"}}},
			status: 502, retryable: true, msg: "Bad Gateway"},
		{name: "503 Ollama-style string error", reply: fakeprovider.Reply{Status: 503, Body: `{"error":"server busy, please try again.  maximum pending requests exceeded"}`},
			status: 503, retryable: true, msg: "server busy"},
		{name: "404 vLLM-style top-level message", reply: fakeprovider.Reply{Status: 404, Body: `{"object":"error","message":"The model ` + "`nope`" + ` does not exist.","type":"NotFoundError","param":null,"code":404}`},
			status: 404, msg: "does not exist", code: "404"},
		{name: "500 x-should-retry false", reply: fakeprovider.Reply{Status: 500, Header: http.Header{"X-Should-Retry": {"false"}}},
			status: 500, msg: "Internal Server Error"},
		{name: "error event mid-stream", reply: fakeprovider.Reply{Raw: []string{chunk("Hel"),
			`data: {"error":{"message":"Provider returned error","code":502,"metadata":{"provider_name":"X"}}}` + "\n\n"}},
			status: 502, retryable: true, msg: "Provider returned error", code: "502", deltas: []string{"Hel"}},
		{name: "malformed JSON chunk", reply: fakeprovider.Reply{Raw: []string{chunk("Hel"), "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":\"lo\"}\n\n"}},
			msg: "malformed stream", deltas: []string{"Hel"}},
		{name: "connection breaks mid-stream", reply: fakeprovider.Reply{Text: "a b c d", Fault: fakeprovider.Break, FaultAfter: 3},
			retryable: true, msg: "provider stream broken", deltas: []string{"a", " b"}},
		{name: "stream ends without finish", reply: fakeprovider.Reply{Text: "a b c d", Fault: fakeprovider.Truncate, FaultAfter: 3},
			retryable: true, msg: "ended before the reply finished", deltas: []string{"a", " b"}},
		{name: "stream ends without [DONE] or finish", reply: fakeprovider.Reply{Raw: []string{chunk("x")}},
			retryable: true, msg: "ended before the reply finished", deltas: []string{"x"}},
		{name: "connection breaks after finish, before [DONE]", reply: fakeprovider.Reply{Text: "a b", Fault: fakeprovider.Break, FaultAfter: 4},
			retryable: true, msg: "provider stream broken", deltas: []string{"a", " b"}},
		{name: "stall mid-stream", cfg: provider.Config{StallTimeout: 100 * time.Millisecond},
			reply:     fakeprovider.Reply{Text: "a b c d", Fault: fakeprovider.Stall, FaultAfter: 2},
			retryable: true, msg: "provider stream stalled", deltas: []string{"a"}},
		{name: "stall right after headers", cfg: provider.Config{StallTimeout: 100 * time.Millisecond},
			reply:     fakeprovider.Reply{Text: "a", Fault: fakeprovider.Stall, FaultAfter: 0},
			retryable: true, msg: "provider stream stalled"},
		{name: "JSON instead of a stream", reply: fakeprovider.Reply{Text: "whole", NoStream: true},
			msg: "not an event stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg, tt.reply)
			req := userRequest("x")
			start := time.Now()
			res, deltas, err := e.run(context.Background(), req)
			if time.Since(start) > 2*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			var pe *provider.Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v (%T), result %+v; want *provider.Error", err, err, res)
			}
			t.Logf("%v (in %v)", err, time.Since(start).Round(time.Millisecond))
			if res != nil {
				t.Errorf("result %+v with error", res)
			}
			if pe.Status != tt.status || pe.Retryable != tt.retryable || !strings.Contains(pe.Message, tt.msg) || pe.Code != tt.code || pe.Provider != "fake" {
				t.Errorf("error = %+v\nwant status %d retryable %v message ~%q code %q", *pe, tt.status, tt.retryable, tt.msg, tt.code)
			}
			if strings.Contains(pe.Message, "<html>") {
				t.Errorf("Message is an HTML page: %q", pe.Message)
			}
			if d := pe.RetryAfter - tt.retryAfter; d < -2*time.Second || d > 2*time.Second || (tt.retryAfter == 0) != (pe.RetryAfter == 0) {
				t.Errorf("RetryAfter = %v, want %v", pe.RetryAfter, tt.retryAfter)
			}
			if !reflect.DeepEqual(deltas, tt.deltas) {
				t.Errorf("deltas = %q, want %q", deltas, tt.deltas)
			}
			if !strings.Contains(err.Error(), pe.Message) || !strings.HasPrefix(err.Error(), "provider fake: ") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	checkGoroutines(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	p := provider.NewOpenAICompatible(provider.Config{ID: "local", BaseURL: "http://" + addr + "/v1", HTTPClient: &http.Client{Transport: tr}})
	start := time.Now()
	res, err := p.Stream(context.Background(), userRequest("x"), nil)
	var pe *provider.Error
	if !errors.As(err, &pe) || res != nil {
		t.Fatalf("err = %v (%T)", err, err)
	}
	if pe.Status != 0 || !pe.Retryable || !strings.Contains(pe.Message, "connection refused") {
		t.Errorf("error = %+v", *pe)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v: the SDK retried?", d)
	}
}

// TestUntrustedCertificate: a TLS server whose certificate the client does
// not trust fails without retry advice.
func TestUntrustedCertificate(t *testing.T) {
	checkGoroutines(t)
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake error is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	p := provider.NewOpenAICompatible(provider.Config{BaseURL: srv.URL + "/v1", HTTPClient: &http.Client{Transport: tr}})
	_, err := p.Stream(context.Background(), userRequest("x"), nil)
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Status != 0 || pe.Retryable || !strings.Contains(pe.Message, "certificate") {
		t.Fatalf("err = %#v", err)
	}
}

// TestSingleAttempt: the SDK's own retries are off; one request per Stream.
func TestSingleAttempt(t *testing.T) {
	e := newEnv(t, provider.Config{}, fakeprovider.Error(500, "boom"), fakeprovider.Error(429, "slow"))
	for range 2 {
		if _, _, err := e.run(context.Background(), userRequest("x")); err == nil {
			t.Fatal("no error")
		}
	}
	if n := len(e.fake.Requests()); n != 2 {
		t.Errorf("fake got %d requests for 2 Streams", n)
	}
}

func TestCancel(t *testing.T) {
	const (
		fromDelta = iota // cancel() from onDelta, after the first delta
		byTimer          // cancel() 50 ms after the start
		deadline         // the context's 50 ms deadline passes
	)
	tests := []struct {
		name   string
		reply  fakeprovider.Reply
		how    int
		want   error
		deltas int
	}{
		{"cancel mid-stream", fakeprovider.Reply{Text: "a b c", Fault: fakeprovider.Stall, FaultAfter: 2}, fromDelta, context.Canceled, 1},
		{"cancel between slow chunks", fakeprovider.Reply{Text: "a b c", ChunkDelay: time.Hour}, byTimer, context.Canceled, 0},
		{"cancel before headers", fakeprovider.Reply{Text: "a", Delay: time.Hour}, byTimer, context.Canceled, 0},
		{"deadline before headers", fakeprovider.Reply{Text: "a", Delay: time.Hour}, deadline, context.DeadlineExceeded, 0},
		{"deadline mid-stream", fakeprovider.Reply{Text: "a b c", Fault: fakeprovider.Stall, FaultAfter: 2}, deadline, context.DeadlineExceeded, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A long stall timeout: only the context may end these streams.
			e := newEnv(t, provider.Config{StallTimeout: time.Hour}, tt.reply)
			start := time.Now()
			ctx, cancel := context.WithCancel(context.Background())
			ended := start.Add(50 * time.Millisecond)
			switch tt.how {
			case byTimer:
				time.AfterFunc(50*time.Millisecond, cancel)
			case deadline:
				ctx, cancel = context.WithDeadline(context.Background(), ended)
			}
			defer cancel()
			var deltas int
			res, err := e.p.Stream(ctx, userRequest("x"), func(string) {
				deltas++
				if tt.how == fromDelta {
					ended = time.Now()
					cancel()
				}
			})
			if err != tt.want || err != ctx.Err() || res != nil {
				t.Fatalf("Stream = %+v, %v; want nil, %v", res, err, tt.want)
			}
			if d := time.Since(ended); d > 500*time.Millisecond {
				t.Errorf("returned %v after the context ended", d)
			}
			if deltas != tt.deltas {
				t.Errorf("%d deltas, want %d", deltas, tt.deltas)
			}
			// The HTTP request was aborted: the fake saw the client leave.
			deadline := time.Now().Add(time.Second)
			for e.fake.Disconnects() != 1 {
				if time.Now().After(deadline) {
					t.Fatalf("fake saw %d disconnects, want 1", e.fake.Disconnects())
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

func TestCancelledBeforeStart(t *testing.T) {
	e := newEnv(t, provider.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := e.run(ctx, userRequest("x")); err != context.Canceled {
		t.Fatalf("err = %v", err)
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestBadInput(t *testing.T) {
	tests := []struct {
		name string
		cfg  provider.Config
		req  provider.Request
		msg  string
		perr bool // a config problem is a *provider.Error
	}{
		{"no model", provider.Config{}, provider.Request{Messages: []provider.Message{{Role: "user", Content: "x"}}}, "no model", false},
		{"bad role", provider.Config{}, provider.Request{Model: "m", Messages: []provider.Message{{Role: "robot"}}}, `unknown role "robot"`, false},
		{"tool message without id", provider.Config{}, provider.Request{Model: "m", Messages: []provider.Message{{Role: "tool", Content: "x"}}}, "ToolCallID", false},
		{"bad schema", provider.Config{}, provider.Request{Model: "m", Tools: []provider.Tool{{Name: "t", Parameters: json.RawMessage(`{`)}}}, "not valid JSON", false},
		{"bad base URL", provider.Config{BaseURL: "localhost:8080"}, userRequest("x"), "invalid base URL", true},
		{"bad max tokens field", provider.Config{MaxTokensField: "max"}, userRequest("x"), "MaxTokensField", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg)
			_, _, err := e.run(context.Background(), tt.req)
			var pe *provider.Error
			if err == nil || !strings.Contains(err.Error(), tt.msg) || errors.As(err, &pe) != tt.perr {
				t.Fatalf("err = %v (%T)", err, err)
			}
			if pe != nil && pe.Retryable {
				t.Errorf("config error is retryable")
			}
			if n := len(e.fake.Requests()); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}

// TestConcurrentStreams runs streams in parallel on one Provider (go test
// -race checks the Provider shares no mutable state between them).
func TestConcurrentStreams(t *testing.T) {
	e := newEnv(t, provider.Config{})
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			text := strings.Repeat("w ", i+1)
			res, err := e.p.Stream(context.Background(), userRequest(text), func(string) {})
			if err == nil && res.Text != "echo: "+text {
				err = errors.New("wrong text " + res.Text)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestDefaultHTTPClient: a nil Config.HTTPClient works (the package's own
// client; not leak-checked, its idle connections outlive the test).
func TestDefaultHTTPClient(t *testing.T) {
	fake := fakeprovider.New(t)
	p := provider.NewOpenAICompatible(provider.Config{BaseURL: fake.URL})
	res, err := p.Stream(context.Background(), userRequest("hi"), nil)
	if err != nil || res.Text != "echo: hi" {
		t.Fatalf("%+v %v", res, err)
	}
}

package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"openclaw/transport/provider/fakeprovider"
)

var uuidRE = `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`

func TestChatCompletions(t *testing.T) {
	fp := fakeprovider.New(t)
	a := startAPI(t, fp, nil)
	client := a.client(testToken)
	ctx := context.Background()

	t.Run("non-streaming", func(t *testing.T) {
		fp.Script(fakeprovider.Reply{Text: "Hello from the mock model.", Deltas: 5, Usage: &fakeprovider.Usage{Prompt: 10, Completion: 5}})
		res, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "openclaw",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("earlier"), openai.AssistantMessage("ok"), openai.UserMessage("hi")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^chatcmpl_`+uuidRE+`$`).MatchString(res.ID) || res.Object != "chat.completion" || res.Model != "openclaw" ||
			res.Created == 0 || len(res.Choices) != 1 || res.Choices[0].Message.Content != "Hello from the mock model." ||
			res.Choices[0].Message.Role != "assistant" || res.Choices[0].FinishReason != "stop" || res.Choices[0].Index != 0 {
			t.Fatalf("completion: %s", res.RawJSON())
		}
		if u := res.Usage; u.PromptTokens != 10 || u.CompletionTokens != 5 || u.TotalTokens != 15 {
			t.Fatalf("usage: %s", res.RawJSON())
		}
		// The run's message is the last user message; system messages are
		// the extra system prompt.
		req := fp.Requests()[len(fp.Requests())-1]
		if req.Messages[0].Role != "system" || req.Messages[0].Content != "Be brief." || req.Messages[len(req.Messages)-1].Content != "hi" {
			t.Fatalf("provider request: %+v", req.Messages)
		}
	})

	t.Run("streaming", func(t *testing.T) {
		fp.Script(fakeprovider.Reply{Text: "one two three four five", Usage: &fakeprovider.Usage{Prompt: 7, Completion: 5}})
		stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model:         "openclaw/default",
			Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("count")},
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		})
		var acc openai.ChatCompletionAccumulator
		var deltas []string
		var chunks []openai.ChatCompletionChunk
		for stream.Next() {
			c := stream.Current()
			acc.AddChunk(c)
			chunks = append(chunks, c)
			if len(c.Choices) > 0 && c.Choices[0].Delta.Content != "" {
				deltas = append(deltas, c.Choices[0].Delta.Content)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if len(deltas) < 2 || strings.Join(deltas, "") != "one two three four five" || acc.Choices[0].Message.Content != "one two three four five" {
			t.Fatalf("deltas %q, accumulated %q", deltas, acc.Choices[0].Message.Content)
		}
		first, last := chunks[0], chunks[len(chunks)-1]
		if first.Choices[0].Delta.Role != "assistant" || first.Object != "chat.completion.chunk" || first.Model != "openclaw/default" ||
			!strings.HasPrefix(first.ID, "chatcmpl_") {
			t.Fatalf("first chunk: %s", first.RawJSON())
		}
		if len(last.Choices) != 0 || last.Usage.PromptTokens != 7 || last.Usage.CompletionTokens != 5 || last.Usage.TotalTokens != 12 {
			t.Fatalf("usage chunk: %s", last.RawJSON())
		}
		if fin := chunks[len(chunks)-2]; fin.Choices[0].FinishReason != "stop" || fin.Choices[0].Delta.Content != "" {
			t.Fatalf("finish chunk: %s", fin.RawJSON())
		}
		for _, c := range chunks {
			if c.ID != first.ID || c.Created != first.Created {
				t.Fatalf("chunk ids differ: %s vs %s", c.RawJSON(), first.RawJSON())
			}
		}
	})

	t.Run("streaming wire", func(t *testing.T) {
		fp.Script(fakeprovider.Text("alpha beta", 0))
		res := a.post(t, "/v1/chat/completions", map[string]any{"model": "openclaw", "stream": true,
			"messages": []any{map[string]any{"role": "user", "content": []any{map[string]any{"type": "text", "text": "parts"}}}}}, nil)
		if res.status != 200 || !strings.HasPrefix(res.header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("%d %v %s", res.status, res.header, res.body)
		}
		securityHeaders(t, res.header)
		evs := parseSSE(t, string(res.body))
		var kinds []string
		for _, ev := range evs {
			if ev.event != "" {
				t.Fatalf("chat stream has an event line: %+v", ev)
			}
			if ev.data == "[DONE]" {
				kinds = append(kinds, "done")
				continue
			}
			var c struct {
				Choices []struct {
					Delta        map[string]any `json:"delta"`
					FinishReason *string        `json:"finish_reason"`
				} `json:"choices"`
				Usage any `json:"usage"`
			}
			if err := json.Unmarshal([]byte(ev.data), &c); err != nil {
				t.Fatal(err)
			}
			switch {
			case c.Choices[0].Delta["role"] == "assistant":
				kinds = append(kinds, "role")
			case c.Choices[0].FinishReason != nil:
				kinds = append(kinds, "finish:"+*c.Choices[0].FinishReason)
			default:
				kinds = append(kinds, "content:"+c.Choices[0].Delta["content"].(string))
			}
		}
		// No usage chunk without stream_options.include_usage.
		if got := strings.Join(kinds, "|"); got != "role|content:alpha|content: beta|finish:stop|done" {
			t.Fatalf("stream: %s\n%s", got, res.body)
		}
		if req := fp.Requests()[len(fp.Requests())-1]; req.Messages[len(req.Messages)-1].Content != "parts" {
			t.Fatalf("text parts: %+v", req.Messages)
		}
	})

	t.Run("sessions", func(t *testing.T) {
		// user gives a stable session per agent.
		for _, model := range []string{"openclaw", "openclaw/research", "openclaw:research", "agent:research"} {
			fp.Script(fakeprovider.Text("answer for "+model, 0))
			if _, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: model, User: openai.String("alice"),
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("q " + model)}}); err != nil {
				t.Fatal(model, err)
			}
		}
		if h := a.history(t, "agent:main:openai-user:alice"); len(h) != 2 || messageText(h[0]) != "q openclaw" || messageText(h[1]) != "answer for openclaw" {
			t.Fatalf("main history: %v", h)
		}
		if h := a.history(t, "agent:research:openai-user:alice"); len(h) != 6 || messageText(h[5]) != "answer for agent:research" {
			t.Fatalf("research history: %v", h)
		}
		// The header picks the session.
		fp.Script(fakeprovider.Text("in my session", 0))
		res := a.post(t, "/v1/chat/completions", map[string]any{"model": "openclaw", "user": "ignored",
			"messages": []any{map[string]any{"role": "user", "content": "hello there"}}},
			map[string]string{"x-openclaw-session-key": "custom:http-session"})
		if res.status != 200 {
			t.Fatalf("%d %s", res.status, res.body)
		}
		h := a.history(t, "custom:http-session")
		if len(h) != 2 || messageText(h[0]) != "hello there" || messageText(h[1]) != "in my session" || h[1]["runId"] != res.json(t)["id"] {
			t.Fatalf("header session history: %v", h)
		}
		// Without either: a fresh session each time.
		fp.Script(fakeprovider.Text("fresh", 0))
		if res := a.post(t, "/v1/chat/completions", map[string]any{"model": "openclaw",
			"messages": []any{map[string]any{"role": "user", "content": "anon"}}}, nil); res.status != 200 {
			t.Fatalf("%d %s", res.status, res.body)
		}
		ss, err := a.gw.Store().Sessions(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		fresh := regexp.MustCompile(`^agent:main:openai:` + uuidRE + `$`)
		n := 0
		for _, s := range ss {
			if fresh.MatchString(s.Key) {
				n++
			}
		}
		if n < 1 {
			t.Fatalf("no fresh openai session among %+v", ss)
		}
	})

	t.Run("invalid requests", func(t *testing.T) {
		user := []any{map[string]any{"role": "user", "content": "x"}}
		cases := []struct {
			body   map[string]any
			header map[string]string
			msg    string
		}{
			{map[string]any{"model": "gpt-4o", "messages": user}, nil, "Invalid `model`. Use `openclaw` or `openclaw/<agentId>`."},
			{map[string]any{"model": "openclaw/nope", "messages": user}, nil, "Unknown agent 'nope'."},
			{map[string]any{"model": "openclaw", "messages": []any{map[string]any{"role": "system", "content": "s"}}}, nil, "Missing user message in `messages`."},
			{map[string]any{"model": "openclaw", "messages": user}, map[string]string{"x-openclaw-session-key": "cron:job"}, "`x-openclaw-session-key` cannot use reserved internal session namespaces."},
		}
		for _, c := range cases {
			res := a.post(t, "/v1/chat/completions", c.body, c.header)
			e, _ := res.json(t)["error"].(map[string]any)
			if res.status != 400 || e["type"] != "invalid_request_error" || e["message"] != c.msg {
				t.Fatalf("%v: %d %s", c.body, res.status, res.body)
			}
		}
		// The SDK sees the same as an *openai.Error.
		_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Type != "invalid_request_error" {
			t.Fatalf("SDK error: %v", err)
		}
	})
}

func TestChatFailures(t *testing.T) {
	fp := fakeprovider.New(t)
	a := startAPI(t, fp, nil)
	user := []any{map[string]any{"role": "user", "content": "x"}}

	// A provider failure after streaming began: an error object, then [DONE].
	fp.Script(fakeprovider.Reply{Text: "partial answer that breaks", Fault: fakeprovider.Break, FaultAfter: 3})
	res := a.post(t, "/v1/chat/completions", map[string]any{"model": "openclaw", "stream": true, "messages": user}, nil)
	evs := parseSSE(t, string(res.body))
	if res.status != 200 || len(evs) < 3 || evs[len(evs)-1].data != "[DONE]" {
		t.Fatalf("%d %s", res.status, res.body)
	}
	var e struct {
		Error struct{ Message, Type string }
	}
	if err := json.Unmarshal([]byte(evs[len(evs)-2].data), &e); err != nil || e.Error.Type != "api_error" || e.Error.Message == "" {
		t.Fatalf("error event: %s", evs[len(evs)-2].data)
	}
	// The SDK reports it as a stream error.
	fp.Script(fakeprovider.Reply{Text: "partial answer that breaks", Fault: fakeprovider.Break, FaultAfter: 3})
	stream := a.client(testToken).Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "openclaw",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}})
	for stream.Next() {
	}
	if stream.Err() == nil || !strings.Contains(stream.Err().Error(), "api_error") {
		t.Fatalf("stream error: %v", stream.Err())
	}

	// A provider error before any output, non-streaming: a 429 stays a 429.
	fp.Script(fakeprovider.Reply{Status: 429, ErrorMessage: "slow down", Header: fakeprovider.RetryAfter(7 * time.Second)})
	res = a.post(t, "/v1/chat/completions", map[string]any{"model": "openclaw", "messages": user}, nil)
	if m := res.json(t)["error"].(map[string]any); res.status != 429 || m["type"] != "rate_limit_error" || res.header.Get("Retry-After") != "7" {
		t.Fatalf("%d %v %s", res.status, res.header, res.body)
	}
	fp.Script(fakeprovider.Error(500, "boom"))
	res = a.post(t, "/v1/chat/completions", map[string]any{"model": "openclaw", "messages": user}, nil)
	if m := res.json(t)["error"].(map[string]any); res.status != 502 || m["type"] != "api_error" {
		t.Fatalf("%d %s", res.status, res.body)
	}

	// No provider at all (a hot reload took it away): an HTTP error, not a
	// stream, even when streaming was asked for.
	t.Setenv("OPENAI_API_KEY", "")
	cfg := apiConfig(t, fp, "")
	cfg.Models.Providers = nil
	a.reload(t, cfg)
	for _, stream := range []bool{false, true} {
		res := a.post(t, "/v1/chat/completions", map[string]any{"model": "openclaw", "stream": stream, "messages": user}, nil)
		m, _ := res.json(t)["error"].(map[string]any)
		if res.status != http.StatusServiceUnavailable || m["type"] != "api_error" || !strings.Contains(m["message"].(string), "models.providers") {
			t.Fatalf("stream=%v: %d %s", stream, res.status, res.body)
		}
	}
}

func TestModels(t *testing.T) {
	fp := fakeprovider.New(t)
	a := startAPI(t, fp, nil)
	client := a.client(testToken)
	page, err := client.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		if m.Object != "model" || m.OwnedBy != "openclaw" || m.Created != 0 {
			t.Fatalf("model entry: %s", m.RawJSON())
		}
		ids = append(ids, m.ID)
	}
	if got := strings.Join(ids, ","); got != "openclaw,openclaw/default,openclaw/main,openclaw/research" {
		t.Fatalf("models: %s", got)
	}
	if page.Object != "list" {
		t.Fatalf("object %q", page.Object)
	}
	m, err := client.Models.Get(context.Background(), "openclaw/research")
	if err != nil || m.ID != "openclaw/research" {
		t.Fatalf("get: %v %v", m, err)
	}
	_, err = client.Models.Get(context.Background(), "gpt-4o")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Fatalf("unknown model: %v", err)
	}
}

// A client that goes away mid-stream aborts its run: the provider request
// is cancelled and no answer is recorded.
func TestDisconnectCancelsRun(t *testing.T) {
	fp := fakeprovider.New(t)
	a := startAPI(t, fp, nil)
	long := strings.Repeat("word ", 60)

	t.Run("chat completions", func(t *testing.T) {
		fp.Script(fakeprovider.Reply{Text: long, ChunkDelay: 20 * time.Millisecond})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		stream := a.client(testToken).Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "openclaw",
			User: openai.String("leaver"), Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("talk")}})
		for n := 0; n < 3 && stream.Next(); n++ {
		}
		cancel()
		_ = stream.Close()
		waitFor(t, "the provider request to be cancelled", func() bool { return fp.Disconnects() >= 1 })
		waitFor(t, "the run to end without an answer", func() bool {
			h := a.history(t, "agent:main:openai-user:leaver")
			return len(h) == 1 && h[0]["role"] == "user"
		})
	})

	t.Run("responses", func(t *testing.T) {
		fp.Script(fakeprovider.Reply{Text: long, ChunkDelay: 20 * time.Millisecond})
		before := fp.Disconnects()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		stream := a.client(testToken).Responses.NewStreaming(ctx, responsesParams("talk", "leaver2"))
		for n := 0; n < 6 && stream.Next(); n++ {
		}
		cancel()
		_ = stream.Close()
		waitFor(t, "the provider request to be cancelled", func() bool { return fp.Disconnects() > before })
	})

	t.Run("non-streaming", func(t *testing.T) {
		fp.Script(fakeprovider.Reply{Text: long, ChunkDelay: 20 * time.Millisecond})
		before := fp.Disconnects()
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		_, err := a.client(testToken).Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "openclaw",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("talk")}})
		if err == nil {
			t.Fatal("the request should have timed out")
		}
		waitFor(t, "the provider request to be cancelled", func() bool { return fp.Disconnects() > before })
	})
}

// A gateway that stops under a stream ends the request (with an error event)
// instead of leaving it hanging.
func TestGatewayStopEndsStream(t *testing.T) {
	fp := fakeprovider.New(t)
	a := startAPI(t, fp, nil)
	fp.Script(fakeprovider.Reply{Text: strings.Repeat("word ", 200), ChunkDelay: 50 * time.Millisecond})
	stream := a.client(testToken).Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "openclaw",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("talk")}})
	if !stream.Next() {
		t.Fatal(stream.Err())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = a.gw.Stop(ctx, "test stop", 0)
	done := make(chan error, 1)
	go func() {
		for stream.Next() {
		}
		done <- stream.Err()
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the stream ended without an error")
		}
		t.Logf("stream ended: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("the stream did not end after the gateway stopped")
	}
}

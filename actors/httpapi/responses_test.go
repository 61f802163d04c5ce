package httpapi_test

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"

	"openclaw/actors/httpapi"
	"openclaw/transport/provider/fakeprovider"
)

func responsesParams(input, user string) responses.ResponseNewParams {
	p := responses.ResponseNewParams{Model: "openclaw", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String(input)}}
	if user != "" {
		p.User = openai.String(user)
	}
	return p
}

func outputText(r *responses.Response) string {
	var b strings.Builder
	for _, item := range r.Output {
		for _, c := range item.Content {
			if c.Type == "output_text" {
				b.WriteString(c.Text)
			}
		}
	}
	return b.String()
}

func TestResponses(t *testing.T) {
	fp := fakeprovider.New(t)
	a := startAPI(t, fp, nil)
	client := a.client(testToken)
	ctx := context.Background()

	t.Run("non-streaming", func(t *testing.T) {
		fp.Script(fakeprovider.Reply{Text: "Hello from the mock model.", Usage: &fakeprovider.Usage{Prompt: 10, Completion: 5}})
		p := responsesParams("hi", "")
		p.Instructions = openai.String("Answer in English.")
		res, err := client.Responses.New(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^resp_`+uuidRE+`$`).MatchString(res.ID) || res.Status != "completed" || string(res.Object) != "response" ||
			res.Model != "openclaw" || res.CreatedAt == 0 || outputText(res) != "Hello from the mock model." || len(res.Output) != 1 {
			t.Fatalf("response: %s", res.RawJSON())
		}
		item := res.Output[0]
		if item.Type != "message" || item.Role != "assistant" || item.Status != "completed" || !regexp.MustCompile(`^msg_`+uuidRE+`$`).MatchString(item.ID) {
			t.Fatalf("output item: %s", res.RawJSON())
		}
		if u := res.Usage; u.InputTokens != 10 || u.OutputTokens != 5 || u.TotalTokens != 15 {
			t.Fatalf("usage: %s", res.RawJSON())
		}
		var raw map[string]any
		_ = json.Unmarshal([]byte(res.RawJSON()), &raw)
		usage := raw["usage"].(map[string]any)
		if _, ok := usage["input_tokens_details"].(map[string]any)["cache_write_tokens"]; !ok {
			t.Fatalf("usage details: %v", usage)
		}
		req := fp.Requests()[len(fp.Requests())-1]
		if req.Messages[0].Role != "system" || req.Messages[0].Content != "Answer in English." || req.Messages[len(req.Messages)-1].Content != "hi" {
			t.Fatalf("provider request: %+v", req.Messages)
		}
	})

	t.Run("input items", func(t *testing.T) {
		fp.Script(fakeprovider.Text("items ok", 0))
		res := a.post(t, "/v1/responses", map[string]any{"model": "openclaw/research", "instructions": "Rule one.", "input": []any{
			map[string]any{"type": "message", "role": "developer", "content": "Rule two."},
			map[string]any{"type": "message", "role": "user", "content": "older"},
			map[string]any{"role": "assistant", "content": []any{map[string]any{"type": "output_text", "text": "reply"}}},
			map[string]any{"type": "message", "role": "user", "content": []any{map[string]any{"type": "input_text", "text": "newest"}}},
		}}, nil)
		if res.status != 200 || res.json(t)["model"] != "openclaw/research" {
			t.Fatalf("%d %s", res.status, res.body)
		}
		req := fp.Requests()[len(fp.Requests())-1]
		if req.Messages[0].Content != "Rule one.\n\nRule two." || req.Messages[len(req.Messages)-1].Content != "newest" {
			t.Fatalf("provider request: %+v", req.Messages)
		}
		res = a.post(t, "/v1/responses", map[string]any{"model": "openclaw", "input": []any{
			map[string]any{"type": "message", "role": "system", "content": "only a system message"}}}, nil)
		if e := res.json(t)["error"].(map[string]any); res.status != 400 || e["message"] != "Missing user message in `input`." {
			t.Fatalf("%d %s", res.status, res.body)
		}
		res = a.post(t, "/v1/responses", map[string]any{"model": "claude", "input": "x"}, nil)
		if e := res.json(t)["error"].(map[string]any); res.status != 400 || e["type"] != "invalid_request_error" {
			t.Fatalf("%d %s", res.status, res.body)
		}
	})

	t.Run("previous_response_id", func(t *testing.T) {
		fp.Script(fakeprovider.Text("Nice to meet you, Ada.", 0), fakeprovider.Text("Your name is Ada.", 0), fakeprovider.Text("Who?", 0))
		first, err := client.Responses.New(ctx, responsesParams("My name is Ada.", ""))
		if err != nil {
			t.Fatal(err)
		}
		p := responsesParams("What is my name?", "")
		p.PreviousResponseID = openai.String(first.ID)
		second, err := client.Responses.New(ctx, p)
		if err != nil || outputText(second) != "Your name is Ada." {
			t.Fatalf("%v %v", second, err)
		}
		reqs := fp.Requests()
		msgs := reqs[len(reqs)-1].Messages
		if len(msgs) != 3 || msgs[0].Content != "My name is Ada." || msgs[1].Content != "Nice to meet you, Ada." || msgs[2].Content != "What is my name?" {
			t.Fatalf("second turn's context: %+v", msgs)
		}
		// The mapping is in the store.
		b, ok, err := a.gw.Store().Get(ctx, httpapi.SessionNamespace, second.ID)
		if err != nil || !ok || !strings.Contains(string(b), "agent:main:openresponses:") {
			t.Fatalf("stored: %s %v %v", b, ok, err)
		}
		// A different x-openclaw-session-key scope does not continue it.
		fp.Script(fakeprovider.Text("scoped", 0))
		res := a.post(t, "/v1/responses", map[string]any{"model": "openclaw", "input": "scoped?", "previous_response_id": second.ID},
			map[string]string{"x-openclaw-session-key": "custom:other"})
		reqs = fp.Requests()
		if msgs := reqs[len(reqs)-1].Messages; res.status != 200 || len(msgs) != 1 || len(a.history(t, "custom:other")) != 2 {
			t.Fatalf("scoped continuation: %d %+v", res.status, msgs)
		}
		// Another agent does not continue main's session.
		p = responsesParams("And now?", "")
		p.Model = "openclaw/research"
		p.PreviousResponseID = openai.String(second.ID)
		if _, err := client.Responses.New(ctx, p); err != nil {
			t.Fatal(err)
		}
		reqs = fp.Requests()
		if msgs := reqs[len(reqs)-1].Messages; len(msgs) != 1 {
			t.Fatalf("cross-agent continuation: %+v", msgs)
		}
	})

	t.Run("streaming sdk", func(t *testing.T) {
		fp.Script(fakeprovider.Reply{Text: "Streaming through the SDK works.", Usage: &fakeprovider.Usage{Prompt: 4, Completion: 5}})
		stream := client.Responses.NewStreaming(ctx, responsesParams("stream please", "bob"))
		var types, deltas []string
		var final responses.Response
		for stream.Next() {
			ev := stream.Current()
			types = append(types, ev.Type)
			switch ev.Type {
			case "response.output_text.delta":
				deltas = append(deltas, ev.Delta)
			case "response.completed":
				final = ev.Response
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if strings.Join(deltas, "") != "Streaming through the SDK works." || len(deltas) != 5 {
			t.Fatalf("deltas %q", deltas)
		}
		if outputText(&final) != "Streaming through the SDK works." || final.Status != "completed" || final.Usage.TotalTokens != 9 {
			t.Fatalf("final: %s", final.RawJSON())
		}
		if types[0] != "response.created" || types[len(types)-1] != "response.completed" {
			t.Fatalf("types: %v", types)
		}
		if h := a.history(t, "agent:main:openresponses-user:bob"); len(h) != 2 {
			t.Fatalf("user session: %v", h)
		}
	})

	t.Run("streaming wire matches the sample", func(t *testing.T) {
		sample, err := os.ReadFile("testdata/sample_responses_stream.txt")
		if err != nil {
			t.Fatal(err)
		}
		head, body, ok := strings.Cut(string(sample), "\r\n\r\n")
		if !ok {
			t.Fatal("sample: no header")
		}
		want := parseSSE(t, body)

		fp.Script(fakeprovider.Reply{Text: "Hello from the mock model.", Usage: &fakeprovider.Usage{Prompt: 10, Completion: 5}})
		res := a.post(t, "/v1/responses", map[string]any{"model": "openclaw/main", "input": "hi", "stream": true}, nil)
		if res.status != 200 {
			t.Fatalf("%d %s", res.status, res.body)
		}
		for _, h := range []string{"Content-Type", "Cache-Control"} {
			if !strings.Contains(head, h+": "+res.header.Get(h)) {
				t.Fatalf("header %s = %q; sample:\n%s", h, res.header.Get(h), head)
			}
		}
		securityHeaders(t, res.header)
		got := parseSSE(t, string(res.body))

		// Ids and timestamps differ; everything else is byte for byte.
		normalize := func(s string) string {
			s = regexp.MustCompile(`resp_`+uuidRE).ReplaceAllString(s, "resp_ID")
			s = regexp.MustCompile(`msg_`+uuidRE).ReplaceAllString(s, "msg_ID")
			s = regexp.MustCompile(`"created_at":\d+`).ReplaceAllString(s, `"created_at":0`)
			return s
		}
		if len(got) != len(want) {
			t.Fatalf("%d events, sample has %d:\n%s", len(got), len(want), res.body)
		}
		var respID, itemID string
		for i := range want {
			if got[i].event != want[i].event || normalize(got[i].data) != normalize(want[i].data) {
				t.Fatalf("event %d:\n got %s %s\nwant %s %s", i, got[i].event, got[i].data, want[i].event, want[i].data)
			}
			// One response id and one item id throughout.
			if m := regexp.MustCompile(`resp_` + uuidRE).FindString(got[i].data); m != "" {
				if respID == "" {
					respID = m
				} else if m != respID {
					t.Fatalf("response id changed: %s vs %s", m, respID)
				}
			}
			if m := regexp.MustCompile(`msg_` + uuidRE).FindString(got[i].data); m != "" {
				if itemID == "" {
					itemID = m
				} else if m != itemID {
					t.Fatalf("item id changed: %s vs %s", m, itemID)
				}
			}
		}
	})

	t.Run("failure", func(t *testing.T) {
		fp.Script(fakeprovider.Error(500, "boom"))
		res := a.post(t, "/v1/responses", map[string]any{"model": "openclaw", "input": "x"}, nil)
		m := res.json(t)
		if res.status != 502 || m["status"] != "failed" || m["error"].(map[string]any)["code"] != "api_error" || !strings.HasPrefix(m["id"].(string), "resp_") {
			t.Fatalf("%d %s", res.status, res.body)
		}
		fp.Script(fakeprovider.Reply{Text: "partial answer that breaks", Fault: fakeprovider.Break, FaultAfter: 3})
		res = a.post(t, "/v1/responses", map[string]any{"model": "openclaw", "input": "x", "stream": true}, nil)
		evs := parseSSE(t, string(res.body))
		n := len(evs)
		if n < 3 || evs[n-1].data != "[DONE]" || evs[n-2].event != "response.failed" || evs[n-3].event != "response.output_text.delta" {
			t.Fatalf("%s", res.body)
		}
		var failed struct {
			Type     string
			Response struct {
				Status string
				Error  struct{ Code, Message string }
			}
		}
		if err := json.Unmarshal([]byte(evs[n-2].data), &failed); err != nil || failed.Type != "response.failed" ||
			failed.Response.Status != "failed" || failed.Response.Error.Message == "" {
			t.Fatalf("failed event: %s", evs[n-2].data)
		}
	})
}

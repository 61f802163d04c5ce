package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"openclaw/actors/gateway"
	"openclaw/transport/auth"
	"openclaw/transport/provider/fakeprovider"
)

func TestToolsInvoke(t *testing.T) {
	fp := fakeprovider.New(t)
	a := startAPI(t, fp, nil)

	// A session to list.
	fp.Script(fakeprovider.Text("noted", 0))
	if res := a.post(t, "/v1/chat/completions", map[string]any{"model": "openclaw", "user": "tools",
		"messages": []any{map[string]any{"role": "user", "content": "remember"}}}, nil); res.status != 200 {
		t.Fatalf("%d %s", res.status, res.body)
	}

	for _, field := range []string{"tool", "name"} {
		res := a.post(t, "/tools/invoke", map[string]any{field: "sessions_list", "args": map[string]any{"limit": 5}}, nil)
		securityHeaders(t, res.header)
		var body struct {
			OK     bool `json:"ok"`
			Result struct {
				Content []struct{ Type, Text string }
				Details map[string]any
			}
		}
		if err := json.Unmarshal(res.body, &body); err != nil || res.status != 200 || !body.OK || len(body.Result.Content) != 1 ||
			body.Result.Content[0].Type != "text" {
			t.Fatalf("%s: %d %s", field, res.status, res.body)
		}
		var list struct{ Sessions []struct{ Key string } }
		if err := json.Unmarshal([]byte(body.Result.Content[0].Text), &list); err != nil || len(list.Sessions) != 1 ||
			list.Sessions[0].Key != "agent:main:openai-user:tools" || body.Result.Details["sessions"] == nil {
			t.Fatalf("sessions_list: %s", res.body)
		}
	}

	cases := []struct {
		body   any
		status int
		want   string
	}{
		{map[string]any{"args": map[string]any{}}, 400, `{"ok":false,"error":{"type":"invalid_request","message":"tools.invoke requires name"}}`},
		{nil, 400, `{"ok":false,"error":{"type":"invalid_request","message":"tools.invoke requires name"}}`},
		{map[string]any{"tool": "no_such_tool"}, 404, `{"ok":false,"error":{"type":"not_found","message":"Tool not available: no_such_tool"}}`},
		// gateway.tools.deny
		{map[string]any{"tool": "session_status", "args": map[string]any{"sessionKey": "x"}}, 404, `{"ok":false,"error":{"type":"not_found","message":"Tool not available: session_status"}}`},
		// A tool that fails.
		{map[string]any{"tool": "message_send", "args": map[string]any{"to": "x", "message": "y"}}, 500, `{"ok":false,"error":{"type":"tool_error","message":"no channel configured: this gateway runs no messaging channel"}}`},
		{map[string]any{"tool": "sessions_list", "agentId": "ghost"}, 400, `{"ok":false,"error":{"type":"invalid_request","message":"Unknown agent 'ghost'."}}`},
	}
	for _, c := range cases {
		res := a.post(t, "/tools/invoke", c.body, nil)
		if res.status != c.status || strings.TrimSpace(string(res.body)) != c.want {
			t.Fatalf("%v: %d %s", c.body, res.status, res.body)
		}
	}

	// The policy follows a hot reload: allow nothing extra, deny sessions_list.
	cfg := apiConfig(t, fp, "")
	cfg.Gateway.Tools.Deny = []string{"sessions_list"}
	a.reload(t, cfg)
	if res := a.post(t, "/tools/invoke", map[string]any{"tool": "sessions_list"}, nil); res.status != 404 {
		t.Fatalf("after reload: %d %s", res.status, res.body)
	}
	if res := a.post(t, "/tools/invoke", map[string]any{"tool": "session_status", "args": map[string]any{"sessionKey": "agent:main:openai-user:tools"}}, nil); res.status != 200 ||
		!strings.Contains(string(res.body), `\"exists\":true`) {
		t.Fatalf("session_status after reload: %d %s", res.status, res.body)
	}
	// A call without the argument a tool needs is the caller's mistake: 400.
	if res := a.post(t, "/tools/invoke", map[string]any{"tool": "session_status"}, nil); res.status != 400 ||
		strings.TrimSpace(string(res.body)) != `{"ok":false,"error":{"type":"invalid_request","message":"sessionKey is required"}}` {
		t.Fatalf("session_status without sessionKey: %d %s", res.status, res.body)
	}
	// Auth applies.
	if res := a.do(t, http.MethodPost, "/tools/invoke", "", map[string]any{"tool": "sessions_list"}, nil); res.status != 401 {
		t.Fatalf("no auth: %d %s", res.status, res.body)
	}
}

func TestAuth(t *testing.T) {
	fp := fakeprovider.New(t)
	a := startAPI(t, fp, nil)
	ctx := context.Background()

	// The SDK with a wrong key: 401.
	_, err := a.client("wrong-key").Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "openclaw",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Type != "unauthorized" || apiErr.Message != "Unauthorized" {
		t.Fatalf("wrong key: %v", err)
	}
	if _, err := a.client("wrong-key").Models.List(ctx); !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Fatalf("models, wrong key: %v", err)
	}
	want := `{"error":{"message":"Unauthorized","type":"unauthorized"}}`
	for _, hdr := range []map[string]string{nil, {"Authorization": "Basic " + testToken}, {"Authorization": "Bearer"}} {
		res := a.do(t, http.MethodPost, "/v1/responses", "", map[string]any{"model": "openclaw", "input": "x"}, hdr)
		if res.status != 401 || strings.TrimSpace(string(res.body)) != want {
			t.Fatalf("%v: %d %s", hdr, res.status, res.body)
		}
		securityHeaders(t, res.header)
	}
	if len(fp.Requests()) != 0 {
		t.Fatal("an unauthorized request reached the provider")
	}

	// Endpoints off (a hot reload): 404 for the OpenAI surfaces, tools stay.
	a.reload(t, apiConfig(t, fp, ""))
	off := apiConfig(t, fp, "")
	off.Gateway.HTTP.Endpoints.ChatCompletions.Enabled = false
	off.Gateway.HTTP.Endpoints.Responses.Enabled = false
	a.reload(t, off)
	_, err = a.client(testToken).Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "openclaw",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Fatalf("disabled chat completions: %v", err)
	}
	if _, err := a.client(testToken).Responses.New(ctx, responsesParams("x", "")); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Fatalf("disabled responses: %v", err)
	}
	if res := a.do(t, http.MethodGet, "/v1/models", testToken, nil, nil); res.status != 404 {
		t.Fatalf("disabled models: %d", res.status)
	}
	if res := a.post(t, "/tools/invoke", map[string]any{"tool": "sessions_list"}, nil); res.status != 200 {
		t.Fatalf("tools with endpoints off: %d %s", res.status, res.body)
	}
	// Only responses on: chat completions stays 404, models answers.
	on := apiConfig(t, fp, "")
	on.Gateway.HTTP.Endpoints.ChatCompletions.Enabled = false
	a.reload(t, on)
	if res := a.post(t, "/v1/chat/completions", map[string]any{"model": "openclaw"}, nil); res.status != 404 {
		t.Fatalf("chat with only responses on: %d", res.status)
	}
	if res := a.do(t, http.MethodGet, "/v1/models", testToken, nil, nil); res.status != 200 {
		t.Fatalf("models with responses on: %d", res.status)
	}
	// A rotated token applies at once.
	rotated := apiConfig(t, fp, `auth: {token: "rotated-token-0123456789"},`)
	rotated.Gateway.HTTP.Endpoints.ChatCompletions.Enabled = false
	a.reload(t, rotated)
	if res := a.do(t, http.MethodGet, "/v1/models", testToken, nil, nil); res.status != 401 {
		t.Fatalf("old token after rotation: %d", res.status)
	}
	if res := a.do(t, http.MethodGet, "/v1/models", "rotated-token-0123456789", nil, nil); res.status != 200 {
		t.Fatalf("rotated token: %d", res.status)
	}
}

// TestAuthModes: a password works as the bearer like a token does; with
// auth none no bearer is needed.
func TestAuthModes(t *testing.T) {
	fp := fakeprovider.New(t)
	pw := startAPI(t, fp, func(o *gateway.Options) { o.Secret = auth.Secret{Mode: auth.ModePassword, Value: "a-password-123"} })
	if res := pw.do(t, http.MethodGet, "/v1/models", "a-password-123", nil, nil); res.status != 200 {
		t.Fatalf("password: %d", res.status)
	}
	if res := pw.do(t, http.MethodGet, "/v1/models", testToken, nil, nil); res.status != 401 {
		t.Fatalf("wrong bearer with a password: %d", res.status)
	}
	none := startAPI(t, fp, func(o *gateway.Options) { o.Secret = auth.Secret{Mode: auth.ModeNone} })
	if res := none.do(t, http.MethodGet, "/v1/models", "", nil, nil); res.status != 200 {
		t.Fatalf("mode none: %d", res.status)
	}
}

func TestAuthRateLimit(t *testing.T) {
	fp := fakeprovider.New(t)
	a := startAPI(t, fp, func(o *gateway.Options) {
		o.RateLimit = auth.RateLimit{MaxAttempts: 3, Window: time.Minute, Lockout: 90 * time.Second}
	})
	for i := 1; i <= 3; i++ {
		res := a.do(t, http.MethodGet, "/v1/models", "bad", nil, nil)
		want := 401
		if i == 3 {
			want = 429
		}
		if res.status != want {
			t.Fatalf("attempt %d: %d %s", i, res.status, res.body)
		}
	}
	// Locked out, even with the right token.
	res := a.do(t, http.MethodGet, "/v1/models", testToken, nil, nil)
	e, _ := res.json(t)["error"].(map[string]any)
	if res.status != 429 || res.header.Get("Retry-After") != "90" || e["type"] != "rate_limited" {
		t.Fatalf("locked: %d %v %s", res.status, res.header, res.body)
	}
}

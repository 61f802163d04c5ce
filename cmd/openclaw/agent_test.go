package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"openclaw/transport/provider/fakeprovider"
)

func agentGatewayProc(t *testing.T, fp *fakeprovider.Server) *gatewayProc {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`{
		gateway: {auth: {token: "agent-cli-token-123456"}, http: {endpoints: {chatCompletions: {enabled: true}}}},
		models: {providers: {mock: {baseUrl: %q, apiKey: "sk-mock", api: "openai-completions", models: [{id: "m", name: "M"}]}}},
		agents: {defaults: {model: {primary: "mock/m"}}},
	}`, fp.URL)
	if err := os.WriteFile(filepath.Join(dir, "openclaw.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, gwOptions{StateDir: dir, NoAllowUnconfigured: true, Env: []string{"OPENCLAW_SKIP_CANVAS_HOST=1"}})
	g.Token = "agent-cli-token-123456"
	return g
}

func TestAgentCLI(t *testing.T) {
	fp := fakeprovider.New(t, fakeprovider.Text("Hello from the mock model.", 4), fakeprovider.Text("Second.", 1))
	g := agentGatewayProc(t, fp)
	target := []string{"--url", g.URL, "--token", g.Token}
	env := cleanEnv("HOME=" + t.TempDir())

	r := runCmd(t, 30*time.Second, env, "", testBinary, append([]string{"agent", "--message", "hi"}, target...)...)
	if r.Code != 0 || r.Stdout != "Hello from the mock model.\n" {
		t.Fatalf("openclaw agent:\n%s", r)
	}
	r = runCmd(t, 30*time.Second, env, "", testBinary, append([]string{"agent", "-m", "again", "--json"}, target...)...)
	v := decodeJSON(t, r.Stdout)
	if s, _ := jsonPath(v, "status"); r.Code != 0 || s != "ok" {
		t.Fatalf("openclaw agent --json:\n%s", r)
	}
	r = runCmd(t, 30*time.Second, env, "", testBinary,
		append([]string{"gateway", "call", "agent", "--params", `{"message":"x","idempotencyKey":"k9"}`, "--expect-final"}, target...)...)
	if s, _ := jsonPath(decodeJSON(t, r.Stdout), "status"); r.Code != 0 || s != "ok" {
		t.Fatalf("gateway call agent --expect-final:\n%s", r)
	}

	// A server that never sends finish_reason but ends with [DONE] (some
	// llama.cpp builds) has answered: the turn completes.
	fp.Script(fakeprovider.Reply{Text: "No reason given.", Deltas: 3, NoFinish: true})
	r = runCmd(t, 30*time.Second, env, "", testBinary, append([]string{"agent", "--message", "no finish"}, target...)...)
	if r.Code != 0 || r.Stdout != "No reason given.\n" {
		t.Fatalf("a stream without finish_reason: want exit 0 and the reply:\n%s", r)
	}

	fp.Script(fakeprovider.Reply{Status: 500, ErrorMessage: "model exploded"})
	r = runCmd(t, 30*time.Second, env, "", testBinary, append([]string{"agent", "--message", "fail"}, target...)...)
	if r.Code != 1 || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 || !strings.Contains(r.Stderr, "model exploded") {
		t.Fatalf("failing turn: want exit 1 and one line naming the error:\n%s", r)
	}
}

// TestOpenAIEndpointOnGatewayPort: the official OpenAI SDK talks to the real
// binary's port: /v1/chat/completions runs a turn of the default agent.
func TestOpenAIEndpointOnGatewayPort(t *testing.T) {
	fp := fakeprovider.New(t, fakeprovider.Text("Hello over HTTP.", 3))
	g := agentGatewayProc(t, fp)
	cl := openai.NewClient(option.WithBaseURL(g.HTTP+"/v1"), option.WithAPIKey(g.Token), option.WithMaxRetries(0))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := cl.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "openclaw",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Choices) != 1 || res.Choices[0].Message.Content != "Hello over HTTP." || res.Model != "openclaw" {
		t.Fatalf("completion: %+v", res)
	}
	bad := openai.NewClient(option.WithBaseURL(g.HTTP+"/v1"), option.WithAPIKey("wrong"), option.WithMaxRetries(0))
	_, err = bad.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "openclaw",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Fatalf("wrong key: %v", err)
	}
}

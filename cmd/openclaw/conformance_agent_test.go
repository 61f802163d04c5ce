package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"openclaw/transport/provider/fakeprovider"
)

// TestConformanceAgent: the reference CLI runs an agent turn through our
// gateway, waiting for the final the way it does against the reference
// (--expect-final skips the "accepted" response), then reads the turn back
// with chat.history. The model is a fake OpenAI-wire server.
func TestConformanceAgent(t *testing.T) {
	ref := newReferenceCLI(t)
	fp := fakeprovider.New(t, fakeprovider.Text("Hello from the mock model.", 5))
	dir := t.TempDir()
	cfg := fmt.Sprintf(`{
		models: {providers: {mock: {baseUrl: %q, apiKey: "sk-mock", api: "openai-completions", models: [{id: "mock-1", name: "Mock"}]}}},
		agents: {defaults: {model: {primary: "mock/mock-1"}}},
	}`, fp.URL)
	if err := os.WriteFile(filepath.Join(dir, "openclaw.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, gwOptions{Token: conformanceToken, StateDir: dir, Env: []string{"OPENCLAW_SKIP_CANVAS_HOST=1"}})
	target := []string{"--url", g.URL, "--token", conformanceToken, "--json"}

	r := ref.run(t, nil, append([]string{"gateway", "call", "agent", "--params", `{"message":"hi","idempotencyKey":"k1"}`, "--expect-final"}, target...)...)
	if r.Code != 0 {
		t.Fatalf("agent --expect-final:\n%s", r)
	}
	v := decodeJSON(t, r.Stdout)
	if s, _ := jsonPath(v, "status"); s != "ok" {
		t.Fatalf("final status = %v:\n%s", s, r.Stdout)
	}
	payloads, _ := jsonPath(v, "result", "payloads")
	list, _ := payloads.([]any)
	if len(list) != 1 || list[0].(map[string]any)["text"] != "Hello from the mock model." {
		t.Fatalf("result.payloads = %v", payloads)
	}

	h := ref.run(t, nil, append([]string{"gateway", "call", "chat.history", "--params", `{"sessionKey":"agent:main:main"}`}, target...)...)
	if h.Code != 0 {
		t.Fatalf("chat.history:\n%s", h)
	}
	msgs, _ := jsonPath(decodeJSON(t, h.Stdout), "messages")
	ml, _ := msgs.([]any)
	if len(ml) != 2 || ml[0].(map[string]any)["content"] != "hi" || ml[1].(map[string]any)["role"] != "assistant" {
		t.Fatalf("chat.history messages = %v", msgs)
	}
	if n := len(fp.Requests()); n != 1 {
		t.Fatalf("the provider was called %d times, want 1", n)
	}
}

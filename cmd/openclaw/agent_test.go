package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"openclaw/transport/provider/fakeprovider"
)

func agentGatewayProc(t *testing.T, fp *fakeprovider.Server) *gatewayProc {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`{
		gateway: {auth: {token: "agent-cli-token-123456"}},
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

	fp.Script(fakeprovider.Reply{Status: 500, ErrorMessage: "model exploded"})
	r = runCmd(t, 30*time.Second, env, "", testBinary, append([]string{"agent", "--message", "fail"}, target...)...)
	if r.Code != 1 || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 || !strings.Contains(r.Stderr, "model exploded") {
		t.Fatalf("failing turn: want exit 1 and one line naming the error:\n%s", r)
	}
}

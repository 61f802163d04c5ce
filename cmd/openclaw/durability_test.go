package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"openclaw/transport/client"
	"openclaw/transport/provider/fakeprovider"
)

// TestTranscriptSurvivesKill9: kill -9 in the middle of a streamed turn, then
// a restart on the same state: every completed turn is in chat.history, in
// order, the interrupted turn's user message is kept and the turn is run
// again once (agent.wait reports it done), and the session goes on.
func TestTranscriptSurvivesKill9(t *testing.T) {
	fp := fakeprovider.New(t, fakeprovider.Text("First answer.", 3))
	dir := t.TempDir()
	cfg := fmt.Sprintf(`{
		gateway: {auth: {token: "durable-token-123456"}},
		models: {providers: {mock: {baseUrl: %q, apiKey: "sk-mock", api: "openai-completions", models: [{id: "m", name: "M"}]}}},
		agents: {defaults: {model: {primary: "mock/m"}}},
	}`, fp.URL)
	if err := os.WriteFile(filepath.Join(dir, "openclaw.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := gwOptions{StateDir: dir, NoAllowUnconfigured: true, Env: []string{"OPENCLAW_SKIP_CANVAS_HOST=1"}}
	g := startGateway(t, opts)
	g.Token = "durable-token-123456"
	c := dialTest(t, g, "cli")
	agentTurn(t, c, "one", "t1")

	// Turn two streams slowly; kill the gateway once it is under way.
	fp.Script(fakeprovider.Reply{Text: "an answer that never arrives in full", Deltas: 20, ChunkDelay: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go c.Call(ctx, "agent", map[string]any{"message": "two", "idempotencyKey": "t2"})
	if !waitFor(func() bool { return len(fp.Requests()) == 2 }, 5*time.Second) {
		t.Fatal("turn two never reached the provider")
	}
	time.Sleep(300 * time.Millisecond)
	g.signal(t, syscall.SIGKILL)
	g.wait(t, 5*time.Second)

	// Same state directory, same port: the interrupted turn runs again from
	// its committed user message, once, and the session goes on.
	fp.Script(fakeprovider.Text("Second answer, resumed.", 2))
	opts.Port = g.Port
	g2 := startGateway(t, opts)
	g2.Token = g.Token
	c2 := dialTest(t, g2, "cli")
	wctx, wcancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer wcancel()
	raw, err := c2.Call(wctx, "agent.wait", map[string]any{"runId": "t2", "timeoutMs": 10000})
	if err != nil || !strings.Contains(string(raw), `"status":"ok"`) {
		t.Fatalf("agent.wait for the interrupted turn after the restart: %s %v", raw, err)
	}
	msgs := history(t, c2)
	want := []string{"user:one", "assistant:First answer.", "user:two", "assistant:Second answer, resumed."}
	if fmt.Sprint(msgs) != fmt.Sprint(want) {
		t.Fatalf("history after kill -9 = %q, want %q", msgs, want)
	}
	fp.Script(fakeprovider.Text("Third answer.", 2))
	agentTurn(t, c2, "three", "t3")
	if msgs := history(t, c2); fmt.Sprint(msgs) != fmt.Sprint(append(want, "user:three", "assistant:Third answer.")) {
		t.Fatalf("history after the next turn = %q", msgs)
	}
}

func agentTurn(t *testing.T, c *client.Client, msg, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	raw, err := c.Call(ctx, "agent", map[string]any{"message": msg, "idempotencyKey": key})
	if err != nil {
		t.Fatalf("agent %s: %v", key, err)
	}
	// The client returns the first response (accepted); wait for the end.
	if _, err := c.Call(ctx, "agent.wait", map[string]any{"runId": key, "timeoutMs": 8000}); err != nil {
		t.Fatalf("agent.wait %s: %v (%s)", key, err, raw)
	}
}

// history is chat.history of the main session as "role:text" strings.
func history(t *testing.T, c *client.Client) []string {
	t.Helper()
	out, err := sessionHistory(c, "agent:main:main")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

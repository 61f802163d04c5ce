package nodes_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"openclaw/actors/gateway"
	"openclaw/actors/gateway/gatewaytest"
	"openclaw/transport/client"
	"openclaw/transport/provider/fakeprovider"
)

// agentConfig points the default agent at fp and adds gatewayExtra.
func agentConfig(t *testing.T, fp *fakeprovider.Server, gatewayExtra string) func(*gateway.Options) {
	cfg := gatewaytest.Config(t, fmt.Sprintf(`{
		gateway: {%s},
		models: {providers: {fake: {baseUrl: %q, apiKey: "sk-test", api: "openai-completions", models: [{id: "mock-1", name: "Mock"}]}}},
		agents: {defaults: {model: {primary: "fake/mock-1"}}},
	}`, gatewayExtra, fp.URL))
	return func(o *gateway.Options) { o.Config = cfg }
}

// runAgent runs one agent turn to its end.
func runAgent(t *testing.T, c *client.Client, message, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.CallFinal(ctx, "agent", map[string]any{"message": message, "idempotencyKey": key})
	if err != nil || !strings.Contains(string(res), `"status":"ok"`) {
		t.Fatalf("agent: %v %s", err, res)
	}
}

// TestAgentInvokesNode: the model lists nodes and runs an approved command
// through the gateway's tools.
func TestAgentInvokesNode(t *testing.T) {
	fp := fakeprovider.New(t)
	gw := start(t, agentConfig(t, fp, ""))
	adm := admin(t, gw)
	n := approved(t, gw, adm, "agent's box", "system.which")
	n.serve()
	fp.Script(
		fakeprovider.ToolCalls(fakeprovider.ToolCall{ID: "c1", Name: "nodes_list", Arguments: `{}`}),
		fakeprovider.ToolCalls(fakeprovider.ToolCall{ID: "c2", Name: "node_invoke",
			Arguments: fmt.Sprintf(`{"nodeId":%q,"command":"system.which","params":{"bins":["sh"]}}`, n.ID.ID)}),
		fakeprovider.Text("done", 1))
	runAgent(t, adm, "which sh?", "a1")
	reqs := fp.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d provider requests, want 3", len(reqs))
	}
	offered := []string{}
	for _, tool := range reqs[0].Tools {
		offered = append(offered, tool.Name)
	}
	if !slices.Contains(offered, "node_invoke") || !slices.Contains(offered, "nodes_list") {
		t.Fatalf("tools offered: %v", offered)
	}
	toolResult := func(r fakeprovider.Request, id string) string {
		for _, m := range r.Messages {
			if m.Role == "tool" && m.ToolCallID == id {
				return m.Content
			}
		}
		t.Fatalf("no tool result for %s in %+v", id, r.Messages)
		return ""
	}
	if got := toolResult(reqs[1], "c1"); !strings.Contains(got, n.ID.ID) || !strings.Contains(got, `"system.which"`) {
		t.Fatalf("nodes_list result: %s", got)
	}
	if got := toolResult(reqs[2], "c2"); !strings.Contains(got, `"payload":{"ran":"system.which"}`) {
		t.Fatalf("node_invoke result: %s", got)
	}
}

// TestNodeToolsPolicy: gateway.tools.deny keeps node_invoke from the agent;
// over HTTP it is refused unless gateway.tools.allow names it.
func TestNodeToolsPolicy(t *testing.T) {
	fp := fakeprovider.New(t)
	fp.SetDefault(fakeprovider.Text("ok", 1))
	gw := start(t, agentConfig(t, fp, `tools: {deny: ["node_invoke"]}`))
	adm := admin(t, gw)
	runAgent(t, adm, "hi", "a1")
	for _, tool := range fp.Requests()[0].Tools {
		if tool.Name == "node_invoke" {
			t.Fatal("node_invoke offered though denied")
		}
	}

	post := func(gw *gatewaytest.Gateway, body string) (int, string) {
		req, _ := http.NewRequest("POST", gw.HTTP+"/tools/invoke", bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+gatewaytest.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	plain := start(t, nil)
	n := approved(t, plain, admin(t, plain), "http", "system.which")
	n.serve()
	invoke := fmt.Sprintf(`{"tool":"node_invoke","args":{"nodeId":%q,"command":"system.which"}}`, n.ID.ID)
	if code, body := post(plain, invoke); code != 404 || !strings.Contains(body, "Tool not available: node_invoke") {
		t.Fatalf("node_invoke over HTTP by default: %d %s", code, body)
	}
	if code, body := post(plain, `{"tool":"nodes_list"}`); code != 200 || !strings.Contains(body, n.ID.ID) {
		t.Fatalf("nodes_list over HTTP: %d %s", code, body)
	}

	allowed := start(t, func(o *gateway.Options) {
		o.Config = gatewaytest.Config(t, `{gateway: {tools: {allow: ["node_invoke"]}}}`)
	})
	n2 := approved(t, allowed, admin(t, allowed), "http2", "system.which")
	n2.serve()
	code, body := post(allowed, fmt.Sprintf(`{"tool":"node_invoke","args":{"nodeId":%q,"command":"system.which"}}`, n2.ID.ID))
	var out struct {
		OK     bool
		Result struct{ Content []struct{ Text string } }
	}
	_ = json.Unmarshal([]byte(body), &out)
	if code != 200 || !out.OK || len(out.Result.Content) != 1 || !strings.Contains(out.Result.Content[0].Text, `"ran":"system.which"`) {
		t.Fatalf("allowed node_invoke over HTTP: %d %s", code, body)
	}
	// A refusal is the tool's error, with the gateway's message.
	code, body = post(allowed, fmt.Sprintf(`{"tool":"node_invoke","args":{"nodeId":%q,"command":"camera.snap"}}`, n2.ID.ID))
	if code != 500 || !strings.Contains(body, "requires explicit gateway.nodes.commands.allow opt-in") {
		t.Fatalf("refused command over HTTP: %d %s", code, body)
	}
}

package main

// Tests of `openclaw nodes …` and `openclaw devices …`: the real binary
// against a real gateway process, with nodes and devices played by the
// project's Go client.

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"openclaw/transport/auth"
	"openclaw/transport/client"
	"openclaw/transport/protocol"
)

const nodesCLIToken = "nodes-cli-token-0123456789"

// cliNode connects a linux node host declaring commands and answers every
// invoke with {"ran": <command>}.
func cliNode(t *testing.T, g *gatewayProc, name string, commands ...string) *client.Client {
	t.Helper()
	id := auth.NewIdentity()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{URL: g.URL, Token: g.Token, Identity: &id, Role: "node", ClientID: "node-host",
		Mode: "node", Platform: "linux", DeviceFamily: "Linux", DisplayName: name, Caps: []string{"system"}, Commands: commands})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	go func() {
		for e := range c.Events() {
			if e.Event != "node.invoke.request" {
				continue
			}
			var r protocol.NodeInvokeRequest
			_ = json.Unmarshal(e.Payload, &r)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, _ = c.Call(ctx, "node.invoke.result", map[string]any{"id": r.ID, "nodeId": r.NodeID, "ok": true,
				"payloadJSON": fmt.Sprintf(`{"ran":%q}`, r.Command)})
			cancel()
		}
	}()
	return c
}

func decodeInto[T any](t *testing.T, r cmdResult) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil {
		t.Fatalf("stdout is not the JSON expected: %v\n%s", err, r)
	}
	return v
}

func requireOK(t *testing.T, r cmdResult) {
	t.Helper()
	if r.Code != 0 {
		t.Fatalf("exit %d:\n%s", r.Code, r)
	}
}

func TestNodesCLI(t *testing.T) {
	g := startGateway(t, gwOptions{Token: nodesCLIToken, Env: []string{"OPENCLAW_SKIP_CANVAS_HOST=1"}})
	cliNode(t, g, "cli box", "system.which", "system.run")
	cli := func(args ...string) cmdResult { return clientCLI(t, g, args...) }

	r := cli("nodes", "pending", "--json")
	requireOK(t, r)
	pending := decodeInto[[]protocol.NodePairRequest](t, r)
	if len(pending) != 1 || pending[0].DisplayName != "cli box" {
		t.Fatalf("pending: %s", r.Stdout)
	}
	rid, nodeID := pending[0].RequestID, pending[0].NodeID
	r = cli("nodes", "pending")
	requireOK(t, r)
	if !strings.HasPrefix(r.Stdout, "Pending\n") || !strings.Contains(r.Stdout, rid) || !strings.Contains(r.Stdout, "cli box") {
		t.Fatalf("pending table:\n%s", r.Stdout)
	}
	r = cli("nodes", "status")
	requireOK(t, r)
	if !strings.HasPrefix(r.Stdout, "Known: 1 · Paired: 1 · Connected: 1\n") || !strings.Contains(r.Stdout, "approval pending") ||
		!strings.Contains(r.Stdout, "openclaw nodes approve "+rid) {
		t.Fatalf("status before approval:\n%s", r.Stdout)
	}

	r = cli("nodes", "approve", rid)
	requireOK(t, r)
	if a := decodeInto[protocol.NodePairApproved](t, r); a.RequestID != rid || a.Node.NodeID != nodeID {
		t.Fatalf("approve: %s", r.Stdout)
	}
	r = cli("nodes", "status", "--json")
	requireOK(t, r)
	if l := decodeInto[protocol.NodeList](t, r); len(l.Nodes) != 1 || l.Nodes[0].ApprovalState != "approved" || !l.Nodes[0].Connected {
		t.Fatalf("status --json: %s", r.Stdout)
	}
	r = cli("nodes", "list")
	requireOK(t, r)
	if !strings.HasPrefix(r.Stdout, "Pending: 0 · Paired: 1\n") || !strings.Contains(r.Stdout, nodeID) {
		t.Fatalf("list:\n%s", r.Stdout)
	}

	// Describe by name, invoke by id prefix.
	r = cli("nodes", "describe", "--node", "CLI BOX")
	requireOK(t, r)
	if !strings.Contains(r.Stdout, "│ ID ") || !strings.Contains(r.Stdout, "Commands\n- system.which\n- system.run\n") {
		t.Fatalf("describe:\n%s", r.Stdout)
	}
	r = cli("nodes", "invoke", "--node", nodeID[:12], "--command", "system.which", "--params", `{"bins":["sh"]}`, "--json")
	requireOK(t, r)
	if res := decodeInto[protocol.NodeInvokeResult](t, r); !res.OK || compactJSON(res.Payload) != `{"ran":"system.which"}` {
		t.Fatalf("invoke: %s", r.Stdout)
	}
	r = cli("nodes", "rename", "--node", nodeID, "--name", "renamed box")
	requireOK(t, r)
	if r.Stdout != "node rename ok: "+nodeID+" -> renamed box\n" {
		t.Fatalf("rename: %q", r.Stdout)
	}

	// Failures: one line, exit 1 (or 2 for usage).
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"nodes", "approve", "no-such-request"}, "unknown requestId"},
		{[]string{"nodes", "invoke", "--node", "nowhere", "--command", "system.which"}, `unknown node "nowhere"`},
		{[]string{"nodes", "invoke", "--node", nodeID, "--command", "camera.snap"}, "requires explicit gateway.nodes.commands.allow opt-in"},
		{[]string{"nodes", "describe", "--node", "nowhere"}, `unknown node "nowhere"`},
	} {
		r := cli(c.args...)
		line, _ := requireCallFailure(t, r, false)
		if !strings.Contains(line, c.want) {
			t.Errorf("%v: stderr %q lacks %q", c.args, line, c.want)
		}
	}
	r = cli("nodes", "approve", "no-such-request", "--json")
	if _, obj := requireCallFailure(t, r, true); obj["message"] != "unknown requestId" || obj["code"] != "INVALID_REQUEST" {
		t.Errorf("approve --json failure: %v", obj)
	}

	r = cli("nodes", "remove", "--node", nodeID)
	requireOK(t, r)
	if r = cli("nodes", "status", "--json"); len(decodeInto[protocol.NodeList](t, r).Nodes) != 0 {
		t.Fatalf("after remove: %s", r.Stdout)
	}
}

// TestNodesUsage: flag mistakes are refused with one line, before any
// connection.
func TestNodesUsage(t *testing.T) {
	runUsageCases(t, nil, []usageCase{
		{"invoke without --node", []string{"nodes", "invoke", "--command", "x"}, []string{"--node"}},
		{"invoke without --command", []string{"nodes", "invoke", "--node", "x"}, []string{"--command"}},
		{"invoke params not an object", []string{"nodes", "invoke", "--node", "x", "--command", "y", "--params", "[1]"}, []string{"--params"}},
		{"invoke bad timeout", []string{"nodes", "invoke", "--node", "x", "--command", "y", "--invoke-timeout", "0"}, []string{"--invoke-timeout"}},
		{"approve without id", []string{"nodes", "approve"}, []string{"requestId"}},
		{"rename empty name", []string{"nodes", "rename", "--node", "x", "--name", " "}, []string{"--name"}},
		{"devices approve without id", []string{"devices", "approve"}, []string{"request id"}},
		{"devices revoke bad role", []string{"devices", "revoke", "--device", "d", "--role", "king"}, []string{"--role"}},
		{"devices rotate scope and no-scopes", []string{"devices", "rotate", "--device", "d", "--role", "operator", "--scope", "operator.read", "--no-scopes"}, []string{"--no-scopes"}},
	})
}

func TestDevicesCLI(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "openclaw.json"),
		fmt.Sprintf("{gateway: {auth: {token: %q}, nodes: {pairing: {autoApproveLocal: false}}}}", nodesCLIToken))
	g := startGateway(t, gwOptions{StateDir: dir, NoAllowUnconfigured: true, Env: []string{"OPENCLAW_SKIP_CANVAS_HOST=1"}})
	g.Token = nodesCLIToken
	cli := func(args ...string) cmdResult { return clientCLI(t, g, args...) }
	dev := func(id *auth.Identity) (*client.Client, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return client.Dial(ctx, client.Options{URL: g.URL, Token: g.Token, Identity: id, ClientID: "openclaw-control-ui",
			Mode: "ui", Scopes: []string{"operator.read"}})
	}
	keep, drop := auth.NewIdentity(), auth.NewIdentity()
	for _, id := range []*auth.Identity{&keep, &drop} {
		if _, err := dev(id); err == nil || !strings.Contains(err.Error(), "pairing required") {
			t.Fatalf("unpaired device connected: %v", err)
		}
	}
	r := cli("devices", "list", "--json")
	requireOK(t, r)
	l := decodeInto[protocol.DevicePairList](t, r)
	if len(l.Pending) != 2 || len(l.Paired) != 0 {
		t.Fatalf("list: %s", r.Stdout)
	}
	reqOf := map[string]string{}
	for _, p := range l.Pending {
		reqOf[p.DeviceID] = p.RequestID
	}
	r = cli("devices", "list")
	requireOK(t, r)
	if !strings.HasPrefix(r.Stdout, "Pending (2)\n") || !strings.Contains(r.Stdout, reqOf[keep.ID]) {
		t.Fatalf("list table:\n%s", r.Stdout)
	}

	r = cli("devices", "approve", reqOf[keep.ID])
	requireOK(t, r)
	if r.Stdout != fmt.Sprintf("Approved %s (%s)\n", keep.ID, reqOf[keep.ID]) {
		t.Fatalf("approve: %q", r.Stdout)
	}
	r = cli("devices", "reject", reqOf[drop.ID], "--json")
	requireOK(t, r)
	if rej := decodeInto[protocol.DevicePairRejected](t, r); rej.DeviceID != drop.ID {
		t.Fatalf("reject: %s", r.Stdout)
	}
	c, err := dev(&keep)
	if err != nil {
		t.Fatalf("approved device: %v", err)
	}
	defer c.Close()
	r = cli("devices", "list")
	requireOK(t, r)
	if !strings.HasPrefix(r.Stdout, "Paired (1)\n") || !strings.Contains(r.Stdout, keep.ID) {
		t.Fatalf("list after approve:\n%s", r.Stdout)
	}

	// Revoke: the device's socket closes at once.
	r = cli("devices", "revoke", "--device", keep.ID, "--role", "operator")
	requireOK(t, r)
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("revoked device still connected")
	}
	if ce, ok := c.Err().(*client.CloseError); !ok || ce.Code != 4001 {
		t.Fatalf("close: %v", c.Err())
	}
	r = cli("devices", "revoke", "--device", keep.ID, "--role", "operator")
	if line, _ := requireCallFailure(t, r, false); !strings.Contains(line, "device token revocation denied") {
		t.Errorf("revoke twice: %q", line)
	}
	r = cli("devices", "approve", "no-such-request")
	if line, _ := requireCallFailure(t, r, false); !strings.Contains(line, "unknown requestId") {
		t.Errorf("approve unknown: %q", line)
	}
}

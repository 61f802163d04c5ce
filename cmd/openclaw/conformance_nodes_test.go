package main

// Conformance of nodes and devices: the reference node host (`openclaw node
// run`) against our gateway, driven by the reference CLI exactly as against
// the reference gateway (pending → approve → status → describe → invoke
// system.which → node.invoke system.run), with no error line in the node
// host's output; and the reference CLI's devices list/approve/revoke.

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"openclaw/transport/auth"
	"openclaw/transport/client"
	"openclaw/transport/protocol"
)

// nodeHostBoot bounds how long the reference node host takes to start and
// connect (it loads its plugins first: 20-40 s on a busy 2-core machine).
const nodeHostBoot = 3 * time.Minute

// errorLine is what counts as an error in the node host's output.
var errorLine = regexp.MustCompile(`(?i)\b(error|errors|failed|fail|failure|denied|unauthorized|refused|rejected|exception)\b`)

// startNodeHost runs the reference node host against g until the test ends;
// its output (stdout and stderr together) is returned.
func (r *referenceCLI) startNodeHost(t *testing.T, g *gatewayProc, name string) *lockedBuffer {
	t.Helper()
	home := t.TempDir()
	out := &lockedBuffer{}
	cmd := exec.Command(r.entry, "node", "run", "--host", "127.0.0.1", "--port", strconv.Itoa(g.Port), "--display-name", name)
	cmd.Env = r.env(home, []string{"OPENCLAW_GATEWAY_TOKEN=" + g.Token})
	cmd.Dir, cmd.Stdout, cmd.Stderr = home, out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the reference node host: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("reference node host output:\n%s", out)
		}
	})
	return out
}

// watchGateway connects an admin to g (to wait for the node host without
// running the reference CLI in a loop).
func watchGateway(t *testing.T, g *gatewayProc) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{URL: g.URL, Token: g.Token,
		Scopes: []string{"operator.admin", "operator.read", "operator.pairing"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestConformanceNodeHost(t *testing.T) {
	ref := newReferenceCLI(t)
	g := startGateway(t, gwOptions{Token: conformanceToken, Env: []string{"OPENCLAW_SKIP_CANVAS_HOST=1"}})
	target := []string{"--url", g.URL, "--token", conformanceToken}
	out := ref.startNodeHost(t, g, "conformance-node")
	watch := watchGateway(t, g)

	// Wait for the node host to connect and declare its commands.
	deadline := time.Now().Add(nodeHostBoot)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := watch.Call(ctx, "node.pair.list", map[string]any{})
		cancel()
		var pl protocol.NodePairList
		if err == nil && json.Unmarshal(res, &pl) == nil && len(pl.Pending) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reference node host did not connect within %v", nodeHostBoot)
		}
		time.Sleep(500 * time.Millisecond)
	}

	step := func(name string, args ...string) cmdResult {
		t.Helper()
		r := ref.run(t, nil, append(args, target...)...)
		if r.Code != 0 {
			t.Fatalf("%s: exit %d\n%s", name, r.Code, r)
		}
		t.Logf("step %q: ok (%v)", name, r.Duration.Round(time.Millisecond))
		return r
	}

	// 1. nodes pending: the node host's surface, within linux's allowlist.
	r := step("nodes pending --json", "nodes", "pending", "--json")
	var pending []protocol.NodePairRequest
	if err := json.Unmarshal([]byte(r.Stdout), &pending); err != nil || len(pending) != 1 {
		t.Fatalf("nodes pending: %v\n%s", err, r)
	}
	p := pending[0]
	for _, want := range []string{"system.which", "system.run"} {
		if !slices.Contains(p.Commands, want) {
			t.Errorf("pending commands %v lack %s", p.Commands, want)
		}
	}
	for _, never := range []string{"dir.list", "workspace.memory"} {
		if slices.Contains(p.Commands, never) {
			t.Errorf("pending commands %v have %s, which linux's allowlist lacks", p.Commands, never)
		}
	}
	if p.DisplayName != "conformance-node" || p.ClientID != "node-host" || !slices.Equal(p.RequiredApproveScopes, []string{"operator.pairing", "operator.admin"}) {
		t.Errorf("pending request %+v", p)
	}
	r = step("nodes pending", "nodes", "pending")
	if !strings.Contains(r.Stdout, p.RequestID) {
		t.Errorf("nodes pending table lacks the request:\n%s", r.Stdout)
	}

	// 2. nodes approve.
	r = step("nodes approve", "nodes", "approve", p.RequestID)
	var approved protocol.NodePairApproved
	if err := json.Unmarshal([]byte(r.Stdout), &approved); err != nil || approved.RequestID != p.RequestID || approved.Node.NodeID != p.NodeID {
		t.Fatalf("nodes approve: %v\n%s", err, r)
	}

	// 3. nodes status --json: connected, paired, approved.
	r = step("nodes status --json", "nodes", "status", "--json")
	var nl protocol.NodeList
	if err := json.Unmarshal([]byte(r.Stdout), &nl); err != nil || len(nl.Nodes) != 1 {
		t.Fatalf("nodes status: %v\n%s", err, r)
	}
	if n := nl.Nodes[0]; !n.Connected || !n.Paired || n.ApprovalState != "approved" || !slices.Contains(n.Commands, "system.which") {
		t.Fatalf("nodes status: %+v", n)
	}
	step("nodes status", "nodes", "status")
	step("nodes list", "nodes", "list")

	// 4. nodes describe.
	r = step("nodes describe --json", "nodes", "describe", "--node", p.NodeID, "--json")
	var d protocol.NodeDescription
	if err := json.Unmarshal([]byte(r.Stdout), &d); err != nil || d.NodeID != p.NodeID || !slices.Contains(d.Commands, "system.run") {
		t.Fatalf("nodes describe: %v\n%s", err, r)
	}
	if r = step("nodes describe", "nodes", "describe", "--node", "conformance-node"); !strings.Contains(r.Stdout, "system.which") {
		t.Errorf("nodes describe table:\n%s", r.Stdout)
	}

	// 5. nodes invoke system.which.
	r = step("nodes invoke system.which", "nodes", "invoke", "--node", p.NodeID, "--command", "system.which",
		"--params", `{"bins":["sh"]}`, "--json")
	var which struct {
		OK      bool
		Payload struct{ Bins map[string]string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &which); err != nil || !which.OK || !strings.HasSuffix(which.Payload.Bins["sh"], "/sh") {
		t.Fatalf("system.which: %v\n%s", err, r)
	}

	// 6. gateway call node.invoke system.run.
	r = step("gateway call node.invoke system.run", "gateway", "call", "node.invoke", "--params",
		fmt.Sprintf(`{"nodeId":%q,"command":"system.run","params":{"command":["echo","hi"]},"idempotencyKey":"k"}`, p.NodeID), "--json")
	var run struct {
		OK      bool
		Payload struct {
			Stdout   string
			ExitCode int
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &run); err != nil || !run.OK || run.Payload.Stdout != "hi\n" || run.Payload.ExitCode != 0 {
		t.Fatalf("system.run: %v\n%s", err, r)
	}

	// devices list: the node host's device, paired silently.
	r = step("devices list --json", "devices", "list", "--json")
	var dl protocol.DevicePairList
	if err := json.Unmarshal([]byte(r.Stdout), &dl); err != nil || len(dl.Paired) != 1 || dl.Paired[0].DeviceID != p.NodeID ||
		!slices.Equal(dl.Paired[0].Roles, []string{"node"}) {
		t.Fatalf("devices list: %v\n%s", err, r)
	}

	// The node host logged no error line, from its start to here.
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for _, line := range lines {
		if errorLine.MatchString(line) {
			t.Errorf("node host error line: %s", line)
		}
	}
	t.Logf("node host output, %d lines, none an error:\n%s", len(lines), out)
	if g.exited() {
		t.Fatalf("our gateway died during the run (%v)", g.err)
	}
}

// TestConformanceDevices: the reference CLI's devices list, approve and
// revoke against our gateway; a device (our client) waits for approval,
// connects, and is cut off by the revocation.
func TestConformanceDevices(t *testing.T) {
	ref := newReferenceCLI(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "openclaw.json"),
		fmt.Sprintf("{gateway: {auth: {token: %q}, nodes: {pairing: {autoApproveLocal: false}}}}", conformanceToken))
	g := startGateway(t, gwOptions{StateDir: dir, NoAllowUnconfigured: true, Env: []string{"OPENCLAW_SKIP_CANVAS_HOST=1"}})
	g.Token = conformanceToken
	target := []string{"--url", g.URL, "--token", conformanceToken}
	id := auth.NewIdentity()
	connect := func() (*client.Client, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return client.Dial(ctx, client.Options{URL: g.URL, Token: conformanceToken, Identity: &id, ClientID: "openclaw-control-ui",
			Mode: "ui", Scopes: []string{"operator.read"}})
	}
	if _, err := connect(); err == nil || !strings.Contains(err.Error(), "pairing required") {
		t.Fatalf("an unpaired device connected: %v", err)
	}
	step := func(name string, args ...string) cmdResult {
		t.Helper()
		r := ref.run(t, nil, append(args, target...)...)
		if r.Code != 0 {
			t.Fatalf("%s: exit %d\n%s", name, r.Code, r)
		}
		t.Logf("step %q: ok (%v)", name, r.Duration.Round(time.Millisecond))
		return r
	}

	r := step("devices list --json", "devices", "list", "--json")
	var dl protocol.DevicePairList
	if err := json.Unmarshal([]byte(r.Stdout), &dl); err != nil || len(dl.Pending) != 1 || dl.Pending[0].DeviceID != id.ID {
		t.Fatalf("devices list: %v\n%s", err, r)
	}
	rid := dl.Pending[0].RequestID
	if r = step("devices list", "devices", "list"); !strings.Contains(r.Stdout, rid) {
		t.Errorf("devices list table lacks the request:\n%s", r.Stdout)
	}

	r = step("devices approve", "devices", "approve", rid)
	if !strings.Contains(r.Stdout, "Approved") || !strings.Contains(r.Stdout, id.ID) {
		t.Errorf("devices approve:\n%s", r)
	}
	c, err := connect()
	if err != nil {
		t.Fatalf("the approved device: %v", err)
	}
	defer c.Close()

	r = step("devices revoke", "devices", "revoke", "--device", id.ID, "--role", "operator", "--json")
	var rv protocol.DeviceTokenRevoked
	if err := json.Unmarshal([]byte(r.Stdout), &rv); err != nil || rv.DeviceID != id.ID || rv.Role != "operator" || rv.RevokedAtMs == 0 {
		t.Fatalf("devices revoke: %v\n%s", err, r)
	}
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the revoked device's socket is still open")
	}
	if ce, ok := c.Err().(*client.CloseError); !ok || ce.Code != 4001 || ce.Reason != "device removed" {
		t.Fatalf("close: %v", c.Err())
	}
}

package main

// The README's "Nodes and devices" block. The node host is played by the
// project's Go client (a phone or a desktop is outside this machine; the
// reference node host is covered by TestConformanceNodeHost): it connects
// with a device identity, declares system.which and system.run, runs them
// for real on this machine and answers in the reference node host's payload
// shape (testdata/reference/cli/nodes-invoke-system-which.json,
// nodes-gateway-call-node-invoke-system-run.json).

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"openclaw/transport/auth"
	"openclaw/transport/client"
	"openclaw/transport/protocol"
)

// readmeNodeName is the display name of the README's node host.
const readmeNodeName = "readme box"

// readmeNodeSteps are the steps of the README's node/devices block (merged
// into readmeSteps).
var readmeNodeSteps = map[string]readmeStep{
	"openclaw nodes pending": func(t *testing.T, e *readmeEnv, cmd string) {
		e.connectNode(t)
		r := e.mustRun(t, time.Minute, cmd)
		if !strings.HasPrefix(r.Stdout, "Pending\n") || !strings.Contains(r.Stdout, e.nodeRequest) || !strings.Contains(r.Stdout, readmeNodeName) {
			t.Fatalf("nodes pending does not show request %s of %q:\n%s", e.nodeRequest, readmeNodeName, r.Stdout)
		}
	},
	"openclaw nodes approve <requestId>": func(t *testing.T, e *readmeEnv, cmd string) {
		r := e.mustRun(t, time.Minute, strings.Replace(cmd, "<requestId>", e.nodeRequest, 1))
		var a protocol.NodePairApproved
		if err := json.Unmarshal([]byte(r.Stdout), &a); err != nil || a.RequestID != e.nodeRequest || a.Node.NodeID != e.nodeID {
			t.Fatalf("nodes approve: %v\n%s", err, r)
		}
	},
	"openclaw nodes status": func(t *testing.T, e *readmeEnv, cmd string) {
		r := e.mustRun(t, time.Minute, cmd)
		if !strings.HasPrefix(r.Stdout, "Known: 1 · Paired: 1 · Connected: 1\n") || !strings.Contains(r.Stdout, "approved") ||
			strings.Contains(r.Stdout, "approval pending") {
			t.Fatalf("nodes status does not show the node connected and approved:\n%s", r.Stdout)
		}
	},
	"openclaw nodes describe --node <id|name>": func(t *testing.T, e *readmeEnv, cmd string) {
		// By name here; by id in the invoke steps.
		r := e.mustRun(t, time.Minute, strings.Replace(cmd, "<id|name>", "'"+readmeNodeName+"'", 1))
		for _, want := range []string{e.nodeID, "\nCommands\n", "- system.which\n", "- system.run\n"} {
			if !strings.Contains(r.Stdout, want) {
				t.Fatalf("nodes describe lacks %q:\n%s", want, r.Stdout)
			}
		}
	},
	`openclaw nodes invoke --node <id|name> --command system.which --params '{"bins":["sh"]}'`: func(t *testing.T, e *readmeEnv, cmd string) {
		r := e.mustRun(t, time.Minute, strings.Replace(cmd, "<id|name>", e.nodeID, 1))
		sh, _ := exec.LookPath("sh")
		var res struct {
			OK      bool
			Command string
			Payload struct{ Bins map[string]string }
		}
		if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil || !res.OK || res.Command != "system.which" || res.Payload.Bins["sh"] != sh {
			t.Fatalf("nodes invoke system.which (want bins.sh %q): %v\n%s", sh, err, r)
		}
	},
	`openclaw gateway call node.invoke --params '{"nodeId":"<id>","command":"system.run","params":{"command":["echo","hi"]},"idempotencyKey":"k"}'`: func(t *testing.T, e *readmeEnv, cmd string) {
		r := e.mustRun(t, time.Minute, strings.Replace(cmd, "<id>", e.nodeID, 1))
		var res struct {
			OK      bool
			Payload struct {
				ExitCode int
				Success  bool
				Stdout   string
			}
		}
		if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil || !res.OK || !res.Payload.Success || res.Payload.Stdout != "hi\n" {
			t.Fatalf("node.invoke system.run: %v\n%s", err, r)
		}
	},
	"openclaw devices revoke --device <id> --role operator": func(t *testing.T, e *readmeEnv, cmd string) {
		// An operator app with a device identity (paired at once on
		// loopback): revoking its operator token closes its socket.
		id := auth.NewIdentity()
		app := e.dialDevice(t, client.Options{Identity: &id, ClientID: "openclaw-control-ui", Mode: "ui",
			Scopes: []string{"operator.read"}})
		e.mustRun(t, time.Minute, strings.Replace(cmd, "<id>", id.ID, 1))
		select {
		case <-app.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("the revoked device's socket is still open")
		}
		if ce, ok := app.Err().(*client.CloseError); !ok || ce.Code != 4001 {
			t.Fatalf("the revoked device's socket closed with %v, want 4001", app.Err())
		}
		// The node's socket (another device) stays.
		select {
		case <-e.node.Done():
			t.Fatalf("the node's socket closed too: %v", e.node.Err())
		default:
		}
	},
}

// dialDevice connects to the first gateway with its token and o.
func (e *readmeEnv) dialDevice(t *testing.T, o client.Options) *client.Client {
	t.Helper()
	o.URL, o.Token = e.first.URL, readTokenFile(filepath.Join(e.home, ".openclaw"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, o)
	if err != nil {
		t.Fatalf("connect %s/%s: %v", o.ClientID, o.Role, err)
	}
	t.Cleanup(c.Close)
	return c
}

// connectNode connects the README's node host to the first gateway, checks
// what the README says happens on loopback (its device paired at once, its
// commands waiting for an operator), and notes its node and request ids.
func (e *readmeEnv) connectNode(t *testing.T) {
	t.Helper()
	id := auth.NewIdentity()
	e.node = e.dialDevice(t, client.Options{Identity: &id, Role: "node", ClientID: "node-host", Mode: "node",
		Platform: "linux", DeviceFamily: "Linux", DisplayName: readmeNodeName, Caps: []string{"system"},
		Commands: []string{"system.which", "system.run"}})
	e.nodeID = id.ID
	go serveNodeCommands(e.node)

	adm := dialTest(t, e.first, "cli")
	defer adm.Close()
	call := func(method string, out any) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		raw, err := adm.Call(ctx, method, map[string]any{})
		if err == nil {
			err = json.Unmarshal(raw, out)
		}
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
	}
	var pl protocol.NodePairList
	if !waitFor(func() bool { call("node.pair.list", &pl); return len(pl.Pending) == 1 }, 10*time.Second) {
		t.Fatalf("the node's commands are not waiting for approval: %+v", pl)
	}
	if p := pl.Pending[0]; p.NodeID != e.nodeID || !slices.Equal(p.Commands, []string{"system.which", "system.run"}) {
		t.Fatalf("pending request %+v, want node %s with its two commands", p, e.nodeID)
	}
	e.nodeRequest = pl.Pending[0].RequestID
	var dl protocol.DevicePairList
	call("device.pair.list", &dl)
	if !slices.ContainsFunc(dl.Paired, func(d protocol.PairedDevice) bool { return d.DeviceID == e.nodeID }) {
		t.Fatalf("the node's device is not paired at once on loopback: %+v", dl)
	}
}

// serveNodeCommands answers the node's invokes until its socket closes:
// system.which looks the binaries up, system.run runs the command, both on
// this machine.
func serveNodeCommands(c *client.Client) {
	for ev := range c.Events() {
		if ev.Event != "node.invoke.request" {
			continue
		}
		var r protocol.NodeInvokeRequest
		if json.Unmarshal(ev.Payload, &r) != nil {
			continue
		}
		var params struct {
			Bins    []string `json:"bins"`
			Command []string `json:"command"`
		}
		if r.ParamsJSON != nil {
			_ = json.Unmarshal([]byte(*r.ParamsJSON), &params)
		}
		var payload any
		switch r.Command {
		case "system.which":
			bins := map[string]string{}
			for _, b := range params.Bins {
				if p, err := exec.LookPath(b); err == nil {
					bins[b] = p
				}
			}
			payload = map[string]any{"bins": bins}
		case "system.run":
			payload = runNodeCommand(params.Command)
		}
		body, _ := json.Marshal(payload)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, _ = c.Call(ctx, "node.invoke.result", map[string]any{"id": r.ID, "nodeId": r.NodeID, "ok": true, "payloadJSON": string(body)})
		cancel()
	}
}

// runNodeCommand runs argv as the reference node host's system.run does and
// reports it in that command's payload shape.
func runNodeCommand(argv []string) map[string]any {
	if len(argv) == 0 {
		return map[string]any{"exitCode": -1, "timedOut": false, "success": false, "stdout": "", "stderr": "", "error": "empty command"}
	}
	var stdout, stderr strings.Builder
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var errText any
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode() // -1 when a signal ended it
		}
		errText = err.Error()
	}
	return map[string]any{"exitCode": code, "timedOut": false, "success": err == nil, "stdout": stdout.String(),
		"stderr": stderr.String(), "error": errText}
}

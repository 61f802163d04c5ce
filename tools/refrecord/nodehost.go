package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"openclaw/transport/auth"
	"openclaw/transport/client"
)

// Node host bounds.
const (
	// nodeConnectTimeout bounds the wait for the node host's first connect
	// (it is a Node process: a few seconds to start).
	nodeConnectTimeout = 90 * time.Second
	// nodeIdle is how long the recorder watches the paired node host for
	// the requests it makes on its own (updates, pulls, events).
	nodeIdle = 40 * time.Second
	// nodeDisplayName is the node host's display name.
	nodeDisplayName = "refrecord-node"
)

// nodeHost is the reference headless node host process.
type nodeHost struct {
	marker string
	cmd    *exec.Cmd
	home   string
	exited chan struct{}
	mu     sync.Mutex
	out    []string
}

func (r *recorder) startNodeHost(home string) (*nodeHost, error) {
	_, port, _ := strings.Cut(r.tap.Addr, ":")
	n := &nodeHost{home: home, exited: make(chan struct{})}
	n.cmd = exec.Command(r.ref.cli, "node", "run", "--host", "127.0.0.1", "--port", port, "--display-name", nodeDisplayName)
	n.cmd.Dir = home
	n.marker = newMarker()
	n.cmd.Env = r.ref.env(home, "OPENCLAW_STATE_DIR="+filepath.Join(home, ".openclaw"), "OPENCLAW_GATEWAY_TOKEN="+recordToken, n.marker)
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	n.cmd.Stdout, n.cmd.Stderr = pw, pw
	if err := n.cmd.Start(); err != nil {
		_ = pr.Close()
		_ = pw.Close()
		return nil, err
	}
	_ = pw.Close()
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			n.mu.Lock()
			n.out = append(n.out, sc.Text())
			n.mu.Unlock()
		}
		_ = pr.Close()
	}()
	go func() { _ = n.cmd.Wait(); close(n.exited) }()
	logf("node host: pid %d, home %s", n.cmd.Process.Pid, home)
	return n, nil
}

func (n *nodeHost) output() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return strings.Join(n.out, "\n") + "\n"
}

func (n *nodeHost) stop() {
	pid := n.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	<-n.exited
	killMarked(n.marker)
}

// phaseNodeHost runs the reference node host against the reference gateway
// through the tap and drives pairing and invokes with the reference CLI.
func (r *recorder) phaseNodeHost(ctx context.Context) error {
	if err := r.up(ctx, nil); err != nil {
		return err
	}
	defer r.down()
	start := r.tap.Log.Len()

	// An admin watching the pairing events (it has operator.pairing).
	watch, err := r.dial(ctx, "watcher", client.Options{Token: recordToken, Scopes: cliScopes})
	if err != nil {
		return fmt.Errorf("watcher connect: %w", err)
	}
	if _, err := r.call(ctx, watch, "sessions.subscribe", map[string]any{}, 0); err != nil {
		logf("watcher sessions.subscribe: %v", err)
	}

	nodeHome := filepath.Join(r.gw.dir, "node-home")
	if err := os.MkdirAll(nodeHome, 0o700); err != nil {
		return err
	}
	r.sc.add(nodeHome, "<nodeHome>")
	node, err := r.startNodeHost(nodeHome)
	if err != nil {
		return err
	}
	defer func() {
		node.stop()
		_ = r.writeText(filepath.Join("nodehost", "node-host.log"), node.output())
	}()

	// The node host's first connect and the gateway's answer.
	cctx, cancel := context.WithTimeout(ctx, nodeConnectTimeout)
	connect, err := r.tap.Log.Wait(cctx, start, func(e Entry) bool {
		if e.Dir != "c2s" || e.Frame == nil {
			return false
		}
		f := mustJSON(e.Frame)
		return f.get("method").strValue() == "connect" && f.path("params", "role").strValue() == "node"
	})
	cancel()
	if err != nil {
		return fmt.Errorf("the node host did not connect within %s; its output:\n%s", nodeConnectTimeout, node.output())
	}
	cp := mustJSON(connect.Frame).get("params")
	nodeID := cp.path("device", "id").strValue()
	r.sc.add(nodeID, "<nodeId>")
	r.sc.add(cp.path("device", "publicKey").strValue(), "<publicKey:node>")
	r.sc.add(cp.path("client", "instanceId").strValue(), "<nodeInstanceId>")
	logf("node host connected as %s (tap conn %d)", nodeID, connect.Conn)
	r.settle(ctx, 5*time.Second)

	cliHome, err := r.newCLIHome("nodes")
	if err != nil {
		return err
	}
	cli := func(name string, args ...string) cliResult {
		res := r.runCLI(ctx, cliHome, nil, args...)
		logf("  cli %-28s exit %d", name, res.code)
		if err := r.write(filepath.Join("cli", name+".json"), r.cliDoc(name, res)); err != nil {
			logf("write %s: %v", name, err)
		}
		return res
	}

	cli("nodes-status-before-approve", "nodes", "status", "--json")
	cli("nodes-pending", "nodes", "pending")
	pend := cli("nodes-pending-json", "nodes", "pending", "--json")
	reqID := findRequestID(pend.stdout, nodeID)
	if reqID == "" {
		// Fall back to the gateway's own list.
		if ex, err := r.call(ctx, watch, "node.pair.list", map[string]any{}, 0); err == nil && ex.ok {
			for _, p := range ex.res.path("payload", "pending").vals {
				if p.get("nodeId").strValue() == nodeID {
					reqID = p.get("requestId").strValue()
				}
			}
		}
	}
	if reqID != "" {
		r.sc.add(reqID, "<nodeRequestId>")
		cli("nodes-approve", "nodes", "approve", reqID)
	} else {
		logf("  no pending node request for %s", nodeID)
	}
	r.settle(ctx, 5*time.Second)
	cli("nodes-status", "nodes", "status")
	cli("nodes-status-json", "nodes", "status", "--json")
	cli("nodes-list", "nodes", "list")
	cli("nodes-list-json", "nodes", "list", "--json")
	cli("nodes-describe", "nodes", "describe", "--node", nodeID)
	cli("nodes-describe-json", "nodes", "describe", "--node", nodeID, "--json")
	cli("nodes-invoke-system-which", "nodes", "invoke", "--node", nodeID, "--command", "system.which", "--params", `{"bins":["sh"]}`, "--json")
	cli("nodes-gateway-call-node-invoke-system-run", "gateway", "call", "node.invoke", "--json", "--params",
		fmt.Sprintf(`{"nodeId":%q,"command":"system.run","params":{"command":["echo","hi"]},"idempotencyKey":"k"}`, nodeID))
	cli("nodes-gateway-call-node-invoke-same-key", "gateway", "call", "node.invoke", "--json", "--params",
		fmt.Sprintf(`{"nodeId":%q,"command":"system.run","params":{"command":["echo","hi"]},"idempotencyKey":"k"}`, nodeID))
	cli("nodes-invoke-undeclared", "nodes", "invoke", "--node", nodeID, "--command", "camera.snap", "--params", `{}`, "--json")
	cli("nodes-invoke-unknown-node", "nodes", "invoke", "--node", "no-such-node", "--command", "system.which", "--params", `{"bins":["sh"]}`, "--json")
	cli("nodes-rename", "nodes", "rename", "--node", nodeID, "--name", "refrecord-renamed")
	cli("nodes-describe-after-rename-json", "nodes", "describe", "--node", nodeID, "--json")

	// What the paired node does on its own for a while.
	logf("watching the node host for %s", nodeIdle)
	r.settle(ctx, nodeIdle)

	// The node goes away: what operators see, and an invoke to it.
	node.stop()
	r.settle(ctx, 3*time.Second)
	cli("nodes-status-after-disconnect-json", "nodes", "status", "--json")
	cli("nodes-invoke-disconnected", "nodes", "invoke", "--node", nodeID, "--command", "system.which", "--params", `{"bins":["sh"]}`, "--json")
	if reqID != "" {
		cli("nodes-remove", "nodes", "remove", "--node", nodeID)
		cli("nodes-list-after-remove-json", "nodes", "list", "--json")
	}

	r.recordDevices(ctx, watch, cli)

	all := r.tap.Log.Since(start)
	// Every frame of the node host's connections, both ways.
	nodeConns := map[int]bool{}
	for _, e := range all {
		if strings.HasSuffix(r.tap.Log.Label(e.Conn), "/node") {
			nodeConns[e.Conn] = true
		}
	}
	if err := r.writeFrames(filepath.Join("nodehost", "node-frames.json"), all, func(e Entry) bool { return nodeConns[e.Conn] }); err != nil {
		return err
	}
	// Every event the watching operator received (pairing, presence, ...).
	if err := r.writeFrames(filepath.Join("nodehost", "operator-events.json"), all, func(e Entry) bool {
		if e.Conn != watch.tapConn || e.Dir != "s2c" || e.Frame == nil {
			return false
		}
		f := mustJSON(e.Frame)
		return f.get("type").strValue() == "event" && !quietEvents[f.get("event").strValue()]
	}); err != nil {
		return err
	}
	return r.write(filepath.Join("nodehost", "summary.json"), nodeSummary(all, nodeConns, r.tap.Log))
}

// findRequestID picks the pending request of nodeID from "nodes pending
// --json" output.
func findRequestID(out, nodeID string) string {
	var v any
	if json.Unmarshal([]byte(strings.TrimSpace(out)), &v) != nil {
		return ""
	}
	var found string
	var walk func(x any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			if id, ok := x["requestId"].(string); ok && (x["nodeId"] == nodeID || x["deviceId"] == nodeID) && found == "" {
				found = id
			}
			for _, y := range x {
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	walk(v)
	return found
}

// nodeSummary lists, per node connection, the requests the node made (with
// how many times and whether they succeeded) and the events it received.
func nodeSummary(all []Entry, nodeConns map[int]bool, log *FrameLog) *jv {
	type stat struct {
		calls, ok int
		errors    map[string]int
	}
	var out []*jv
	var conns []int
	seen := map[int]bool{}
	for _, e := range all {
		if nodeConns[e.Conn] && !seen[e.Conn] {
			seen[e.Conn] = true
			conns = append(conns, e.Conn)
		}
	}
	for _, n := range conns {
		reqs := map[string]*stat{}
		var order []string
		ids := map[string]string{}
		events := map[string]int{}
		var evOrder []string
		for _, e := range all {
			if e.Conn != n || e.Frame == nil {
				continue
			}
			f := mustJSON(e.Frame)
			switch f.get("type").strValue() {
			case "req":
				m := f.get("method").strValue()
				ids[f.get("id").strValue()] = m
				if reqs[m] == nil {
					reqs[m] = &stat{}
					order = append(order, m)
				}
				reqs[m].calls++
			case "res":
				m := ids[f.get("id").strValue()]
				if s := reqs[m]; s != nil {
					if f.get("ok").b {
						s.ok++
					} else {
						if s.errors == nil {
							s.errors = map[string]int{}
						}
						s.errors[f.path("error", "code").strValue()+" "+f.path("error", "message").strValue()]++
					}
				}
			case "event":
				ev := f.get("event").strValue()
				if events[ev] == 0 {
					evOrder = append(evOrder, ev)
				}
				events[ev]++
			}
		}
		rq := jobj()
		for _, m := range order {
			s := reqs[m]
			x := jobj("calls", s.calls, "ok", s.ok)
			if len(s.errors) > 0 {
				x.set("errors", toJV(s.errors))
			}
			rq.set(m, x)
		}
		ev := jobj()
		for _, name := range evOrder {
			ev.set(name, toJV(events[name]))
		}
		out = append(out, jobj("conn", n, "client", log.Label(n), "requests", rq, "eventsReceived", ev))
	}
	return jarr(out...)
}

// recordDevices drives the device pairing commands. Loopback devices are
// approved silently by default, so it first turns that off
// (gateway.nodes.pairing.autoApproveLocal=false, a hot config change) to get
// pending requests to approve and reject.
func (r *recorder) recordDevices(ctx context.Context, watch *conn, cli func(string, ...string) cliResult) {
	cli("devices-list", "devices", "list")
	cli("devices-list-json", "devices", "list", "--json")

	ex, err := r.call(ctx, watch, "config.get", map[string]any{}, 0)
	if err != nil || !ex.ok {
		logf("  config.get: %v", err)
		return
	}
	hash := ex.res.path("payload", "hash").strValue()
	ex, err = r.call(ctx, watch, "config.patch", map[string]any{"baseHash": hash,
		"raw": `{"gateway":{"nodes":{"pairing":{"autoApproveLocal":false}}}}`}, 0)
	if err != nil || !ex.ok {
		logf("  config.patch autoApproveLocal=false: %v %s", err, trunc(string(ex.res.encode()), 300))
		return
	}
	r.settle(ctx, 5*time.Second)

	dial := func(name string, id *auth.Identity, opts client.Options) *conn {
		opts.Identity, opts.DeviceFamily = id, "Linux"
		if opts.Token == "" && opts.DeviceToken == "" {
			opts.Token = recordToken
		}
		if opts.Scopes == nil {
			opts.Scopes = cliScopes
		}
		c, err := r.dial(ctx, name, opts)
		if c != nil {
			_ = r.write(filepath.Join("nodehost", "hello."+name+".json"), jobj("connect", c.connect, "response", c.hello))
		}
		if err != nil {
			logf("  %s: %v", name, err)
		}
		return c
	}
	approveID := r.identity("approved")
	first := dial("device-unpaired", approveID, client.Options{})
	reqID := first.hello.path("error", "details", "requestId").strValue()
	if reqID == "" {
		logf("  no pending device request after autoApproveLocal=false")
		return
	}
	r.sc.add(reqID, "<deviceRequestId:approved>")
	cli("devices-list-pending", "devices", "list")
	cli("devices-list-pending-json", "devices", "list", "--json")
	cli("devices-approve", "devices", "approve", reqID)
	paired := dial("device-after-approve", approveID, client.Options{})
	if tok := paired.hello.path("payload", "auth", "deviceToken").strValue(); tok != "" && paired.c != nil {
		r.sc.add(tok, "<deviceToken:approved>")
		cli("devices-revoke", "devices", "revoke", "--device", approveID.ID, "--role", "operator")
		r.settle(ctx, 2*time.Second)
		// Was the socket using the revoked token closed?
		closed := "no"
		select {
		case <-paired.c.Done():
			closed = fmt.Sprint(paired.c.Err())
		default:
		}
		_ = r.write(filepath.Join("nodehost", "device-revoke-effect.json"), jobj("socketClosedAfterRevoke", closed))
		dial("device-token-after-revoke", approveID, client.Options{DeviceToken: tok})
	}
	rejectID := r.identity("rejected")
	second := dial("device-to-reject", rejectID, client.Options{})
	if id := second.hello.path("error", "details", "requestId").strValue(); id != "" {
		r.sc.add(id, "<deviceRequestId:rejected>")
		cli("devices-reject", "devices", "reject", id)
	}
	cli("devices-list-after-json", "devices", "list", "--json")
	cli("devices-remove", "devices", "remove", approveID.ID)
	cli("devices-list-after-remove-json", "devices", "list", "--json")
}

package nodes_test

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"openclaw/actors/gateway"
	"openclaw/actors/gateway/gatewaytest"
	"openclaw/transport/client"
	"openclaw/transport/protocol"
	"openclaw/transport/server"
)

// reply is one call's outcome, from a goroutine.
type reply struct {
	payload json.RawMessage
	err     *protocol.ErrorShape
}

// goCall calls method on c in the background.
func goCall(t *testing.T, c *client.Client, method string, params any) <-chan reply {
	ch := make(chan reply, 1)
	go func() {
		p, e := call(t, c, method, params)
		ch <- reply{p, e}
	}()
	return ch
}

func wait(t *testing.T, ch <-chan reply) reply {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(waitFor):
		t.Fatalf("no answer within %v", waitFor)
	}
	return reply{}
}

// TestNodeLifecycle is the reference's sequence: a node connects and is
// paired automatically (loopback) but its commands wait for an operator;
// approved, it is listed, described and invoked.
func TestNodeLifecycle(t *testing.T) {
	gw := start(t, nil)
	adm := admin(t, gw)
	n := dialNode(t, gw, "build box", linuxCommands...)
	nodeID := n.ID.ID

	// The operators hear of the surface waiting for approval.
	var req protocol.NodePairRequest
	if err := json.Unmarshal(event(t, adm, "node.pair.requested").Payload, &req); err != nil {
		t.Fatal(err)
	}
	want := protocol.NodePairRequest{RequestID: req.RequestID, NodeID: nodeID, ClientID: "node-host", ClientMode: "node",
		DisplayName: "build box", Platform: "linux", Version: "2026.9.6", DeviceFamily: "Linux", Caps: []string{"system"},
		Commands:              []string{"system.which", "system.run"}, // dir.list is not in linux's allowlist
		RequiredApproveScopes: []string{"operator.pairing", "operator.admin"}, Silent: true, TS: req.TS}
	if !reflect.DeepEqual(req, want) {
		t.Fatalf("node.pair.requested\n got %+v\nwant %+v", req, want)
	}
	if p := pendingFor(t, adm, nodeID); !reflect.DeepEqual(p, want) {
		t.Fatalf("node.pair.list pending %+v", p)
	}

	// Listed as paired (the device) but pending approval, with no commands.
	l := must[protocol.NodeList](t, adm, "node.list", nil)
	if len(l.Nodes) != 1 {
		t.Fatalf("node.list: %+v", l)
	}
	got := l.Nodes[0]
	if got.NodeID != nodeID || got.ApprovalState != "pending-approval" || got.PendingRequestID != req.RequestID ||
		!got.Paired || !got.Connected || len(got.Commands) != 0 || !slices.Equal(got.PendingDeclaredCommands, want.Commands) ||
		got.PathEnv != "/usr/bin:/bin" || got.ClientMode != "node" || got.ConnectedAtMs == 0 {
		t.Fatalf("node.list before approval: %+v", got)
	}
	// A reader without operator.pairing does not see what is pending.
	rd := operator(t, gw, "operator.read")
	if got := must[protocol.NodeList](t, rd, "node.list", nil).Nodes[0]; got.PendingRequestID != "" || got.PendingDeclaredCommands != nil {
		t.Fatalf("reader sees the pending surface: %+v", got)
	}

	// Not invocable yet: the hint says how to approve.
	_, e := call(t, adm, "node.invoke", invokeParams(nodeID, "system.which", "k0", nil))
	if e == nil || e.Code != "INVALID_REQUEST" || !strings.Contains(e.Message, "pending approval") ||
		!strings.Contains(e.Message, req.RequestID) {
		t.Fatalf("invoke before approval: %+v", e)
	}

	// Approving a surface that runs commands needs operator.admin.
	pairer := operator(t, gw, "operator.pairing")
	_, e = call(t, pairer, "node.pair.approve", map[string]any{"requestId": req.RequestID})
	if e == nil || e.Code != "FORBIDDEN" || e.Message != "missing scope: operator.admin" {
		t.Fatalf("approve without admin: %+v", e)
	}
	ok := must[protocol.NodePairApproved](t, adm, "node.pair.approve", map[string]any{"requestId": req.RequestID})
	if ok.RequestID != req.RequestID || ok.Node.NodeID != nodeID || !slices.Equal(ok.Node.Commands, want.Commands) ||
		ok.Node.ApprovedAtMs == 0 {
		t.Fatalf("approve: %+v", ok)
	}
	// The node hears it on its own socket (no seq), the operators as a
	// broadcast.
	if e := event(t, n.Client, "node.pair.resolved"); e.Seq != nil {
		t.Fatalf("node.pair.resolved to the node has seq %d", *e.Seq)
	}
	var res protocol.NodePairResolved
	_ = json.Unmarshal(event(t, adm, "node.pair.resolved").Payload, &res)
	if res.RequestID != req.RequestID || res.NodeID != nodeID || res.Decision != "approved" {
		t.Fatalf("node.pair.resolved %+v", res)
	}
	if _, e := call(t, adm, "node.pair.approve", map[string]any{"requestId": req.RequestID}); e == nil || e.Message != "unknown requestId" {
		t.Fatalf("approving twice: %+v", e)
	}

	d := must[protocol.NodeDescription](t, adm, "node.describe", map[string]any{"nodeId": nodeID})
	if d.TS == 0 || d.ApprovalState != "approved" || !slices.Equal(d.Commands, want.Commands) || d.PendingRequestID != "" {
		t.Fatalf("node.describe after approval: %+v", d)
	}

	// Invoke: the request goes to the node alone; its answer comes back.
	ch := goCall(t, adm, "node.invoke", invokeParams(nodeID, "system.which", "k1",
		map[string]any{"params": map[string]any{"bins": []string{"sh"}}, "timeoutMs": 15000}))
	r := n.invokeRequest(t)
	if r.NodeID != nodeID || r.Command != "system.which" || r.ParamsJSON == nil || *r.ParamsJSON != `{"bins":["sh"]}` ||
		r.TimeoutMs != 15000 || r.IdempotencyKey != "k1" || r.ID == "" {
		t.Fatalf("node.invoke.request %+v", r)
	}
	if ack := n.answer(t, r, `{"bins":{"sh":"/usr/bin/sh"}}`); !ack.OK || ack.Ignored {
		t.Fatalf("result ack %+v", ack)
	}
	out := wait(t, ch)
	if out.err != nil {
		t.Fatalf("invoke: %+v", out.err)
	}
	var inv protocol.NodeInvokeResult
	_ = json.Unmarshal(out.payload, &inv)
	if !inv.OK || inv.NodeID != nodeID || inv.Command != "system.which" || string(inv.Payload) != `{"bins":{"sh":"/usr/bin/sh"}}` ||
		inv.PayloadJSON == nil || *inv.PayloadJSON != `{"bins":{"sh":"/usr/bin/sh"}}` {
		t.Fatalf("invoke result %s", out.payload)
	}

	// system.run gets a runId (the node host names its exec events with it).
	ch = goCall(t, adm, "node.invoke", invokeParams(nodeID, "system.run", "k2",
		map[string]any{"params": map[string]any{"command": []string{"echo", "hi"}}}))
	r = n.invokeRequest(t)
	var params map[string]any
	_ = json.Unmarshal([]byte(*r.ParamsJSON), &params)
	if params["runId"] == "" || params["runId"] == nil || r.TimeoutMs != 30000 {
		t.Fatalf("system.run request %+v", r)
	}
	must[protocol.NodeAck](t, n.Client, "node.invoke.result", map[string]any{"id": r.ID, "nodeId": nodeID, "ok": false,
		"error": map[string]any{"code": "BAD", "message": "it broke"}})
	if out := wait(t, ch); out.err == nil || out.err.Code != "UNAVAILABLE" || out.err.Message != "BAD: it broke" {
		t.Fatalf("a node's failure: %+v", out.err)
	}

	// Rename, and the registry shows it; the paired list too.
	if rn := must[protocol.NodeRenamed](t, adm, "node.rename", map[string]any{"nodeId": nodeID, "displayName": "  renamed "}); rn.DisplayName != "renamed" {
		t.Fatalf("rename %+v", rn)
	}
	pl := must[protocol.NodePairList](t, adm, "node.pair.list", nil)
	if len(pl.Pending) != 0 || len(pl.Paired) != 1 || pl.Paired[0].DisplayName != "renamed" {
		t.Fatalf("node.pair.list after approval: %+v", pl)
	}
}

// TestNodeInvokeRefused: every command the gateway will not send gets the
// protocol's error, and the node hears nothing.
func TestNodeInvokeRefused(t *testing.T) {
	gw := start(t, nil)
	adm := admin(t, gw)
	n := approved(t, gw, adm, "box", linuxCommands...)
	gone := approved(t, gw, adm, "gone", "system.which")
	gone.Close()
	<-gone.Done()
	writer := operator(t, gw, "operator.write")

	cases := []struct {
		name, node, command string
		by                  *client.Client
		code, message       string
		details             map[string]any
	}{
		{"unknown node", "no-such-node", "system.which", adm, "INVALID_REQUEST", "unknown nodeId", nil},
		{"not declared", n.ID.ID, "camera.list", adm, "INVALID_REQUEST",
			`node command not allowed: the node (platform: linux) does not support "camera.list"`,
			map[string]any{"reason": "command not declared by node", "command": "camera.list"}},
		{"declared, not allowlisted", n.ID.ID, "dir.list", adm, "INVALID_REQUEST",
			`node command not allowed: "dir.list" is not in the allowlist for platform "linux"`,
			map[string]any{"reason": "command not allowlisted", "command": "dir.list"}},
		{"dangerous", n.ID.ID, "camera.snap", adm, "INVALID_REQUEST",
			`node command not allowed: "camera.snap" requires explicit gateway.nodes.commands.allow opt-in`,
			map[string]any{"reason": "command not allowlisted", "command": "camera.snap"}},
		{"private", n.ID.ID, "worker.launch.v1", adm, "INVALID_REQUEST", "node.invoke does not allow private node controls",
			map[string]any{"command": "worker.launch.v1"}},
		{"exec approvals", n.ID.ID, "system.execApprovals.get", adm, "INVALID_REQUEST",
			"node.invoke does not allow system.execApprovals.*; use exec.approvals.node.*", map[string]any{"command": "system.execApprovals.get"}},
		{"admin-only without admin", n.ID.ID, "fs.listDir", writer, "FORBIDDEN", "missing scope: operator.admin",
			map[string]any{"code": "MISSING_SCOPE", "missingScope": "operator.admin", "requiredScopes": []any{"operator.admin"}}},
		{"not connected", gone.ID.ID, "system.which", adm, "UNAVAILABLE", "node not connected",
			map[string]any{"code": "NOT_CONNECTED", "nodeError": map[string]any{"code": "NOT_CONNECTED", "message": "node not connected"},
				"nodeCommandDispatched": false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, e := call(t, c.by, "node.invoke", invokeParams(c.node, c.command, "k-"+c.name, nil))
			if e == nil || e.Code != c.code || e.Message != c.message {
				t.Fatalf("got %+v, want %s %q", e, c.code, c.message)
			}
			if c.details != nil && !reflect.DeepEqual(e.Details, c.details) {
				t.Fatalf("details %#v, want %#v", e.Details, c.details)
			}
		})
	}
	// A params shape the schema refuses.
	if _, e := call(t, adm, "node.invoke", map[string]any{"nodeId": n.ID.ID, "command": "system.which"}); e == nil ||
		e.Code != "INVALID_REQUEST" || !strings.HasPrefix(e.Message, "invalid node.invoke params") {
		t.Fatalf("no idempotencyKey: %+v", e)
	}
	noEvent(t, n.Client, "node.invoke.request", 100*time.Millisecond)

	// gateway.nodes.commands.deny blocks an approved command, in place.
	cfg := gatewaytest.Config(t, `{gateway: {nodes: {commands: {deny: ["system.which"]}}}}`)
	gw2 := start(t, func(o *gateway.Options) { o.Config = cfg })
	adm2 := admin(t, gw2)
	n2 := approved(t, gw2, adm2, "box", "system.which", "system.run")
	if _, e := call(t, adm2, "node.invoke", invokeParams(n2.ID.ID, "system.which", "k", nil)); e == nil ||
		e.Message != `node command not allowed: "system.which" is blocked by gateway.nodes.commands.deny` {
		t.Fatalf("denied command: %+v", e)
	}
}

// TestNodeNeverAnswers: the deadline fails the call with the node's
// TIMEOUT error, the node is told to stop, and its late answer is ignored.
func TestNodeNeverAnswers(t *testing.T) {
	gw := start(t, nil)
	adm := admin(t, gw)
	n := approved(t, gw, adm, "slow", "system.run")
	ch := goCall(t, adm, "node.invoke", invokeParams(n.ID.ID, "system.run", "k", map[string]any{"timeoutMs": 200,
		"params": map[string]any{"command": []string{"sleep", "9"}}}))
	r := n.invokeRequest(t)
	out := wait(t, ch)
	want := map[string]any{"nodeError": map[string]any{"code": "TIMEOUT", "message": "node invoke timed out"}, "nodeCommandDispatched": true}
	if out.err == nil || out.err.Code != "UNAVAILABLE" || out.err.Message != "TIMEOUT: node invoke timed out" ||
		!reflect.DeepEqual(out.err.Details, want) {
		t.Fatalf("timeout: %+v", out.err)
	}
	var cancel protocol.NodeInvokeCancel
	_ = json.Unmarshal(event(t, n.Client, "node.invoke.cancel").Payload, &cancel)
	if cancel.InvokeID != r.ID || cancel.NodeID != n.ID.ID {
		t.Fatalf("node.invoke.cancel %+v", cancel)
	}
	if ack := n.answer(t, r, `{}`); !ack.OK || !ack.Ignored {
		t.Fatalf("late result: %+v", ack)
	}
	// A timeout is not cached: the same key runs again.
	ch = goCall(t, adm, "node.invoke", invokeParams(n.ID.ID, "system.run", "k", map[string]any{"timeoutMs": 10000}))
	n.answer(t, n.invokeRequest(t), `{"ok":1}`)
	if out := wait(t, ch); out.err != nil {
		t.Fatalf("retry: %+v", out.err)
	}
}

// TestNodeDisconnectsDuringInvoke: the call fails at once (well before its
// 60 s deadline) with details.code NOT_CONNECTED.
func TestNodeDisconnectsDuringInvoke(t *testing.T) {
	gw := start(t, nil)
	adm := admin(t, gw)
	n := approved(t, gw, adm, "flaky", "system.run")
	ch := goCall(t, adm, "node.invoke", invokeParams(n.ID.ID, "system.run", "k", map[string]any{"timeoutMs": 60000}))
	n.invokeRequest(t)
	n.Close()
	out := wait(t, ch)
	if out.err == nil || out.err.Code != "UNAVAILABLE" || out.err.Message != "DISCONNECTED: node disconnected (system.run)" {
		t.Fatalf("disconnect: %+v", out.err)
	}
	d, _ := out.err.Details.(map[string]any)
	if d["code"] != "NOT_CONNECTED" || d["nodeCommandDispatched"] != true ||
		!reflect.DeepEqual(d["nodeError"], map[string]any{"code": "DISCONNECTED", "message": "node disconnected (system.run)"}) {
		t.Fatalf("details %#v", out.err.Details)
	}
	// Listed as paired, not connected.
	l := must[protocol.NodeList](t, adm, "node.list", nil)
	if len(l.Nodes) != 1 || l.Nodes[0].Connected || !l.Nodes[0].Paired || l.Nodes[0].ApprovalState != "approved" {
		t.Fatalf("after disconnect: %+v", l.Nodes)
	}
}

// TestResultForAnotherInvoke: a node cannot complete another node's invoke,
// nor claim to be another node.
func TestResultForAnotherInvoke(t *testing.T) {
	gw := start(t, nil)
	adm := admin(t, gw)
	a := approved(t, gw, adm, "a", "system.which")
	b := approved(t, gw, adm, "b", "system.which")
	ch := goCall(t, adm, "node.invoke", invokeParams(a.ID.ID, "system.which", "k", nil))
	r := a.invokeRequest(t)

	// b names a's node id: refused.
	if _, e := call(t, b.Client, "node.invoke.result", map[string]any{"id": r.ID, "nodeId": a.ID.ID, "ok": true, "payloadJSON": `"evil"`}); e == nil ||
		e.Code != "INVALID_REQUEST" || e.Message != "nodeId mismatch" {
		t.Fatalf("claiming another node: %+v", e)
	}
	// b answers a's invoke id as itself: ignored.
	if ack := must[protocol.NodeAck](t, b.Client, "node.invoke.result", map[string]any{"id": r.ID, "nodeId": b.ID.ID, "ok": true,
		"payloadJSON": `"evil"`}); !ack.Ignored {
		t.Fatalf("someone else's invoke id: %+v", ack)
	}
	// Progress for someone else's invoke: ignored too.
	if ack := must[protocol.NodeAck](t, b.Client, "node.invoke.progress", map[string]any{"invokeId": r.ID, "nodeId": b.ID.ID,
		"seq": 0, "chunk": "x"}); !ack.Ignored {
		t.Fatalf("progress for someone else's invoke: %+v", ack)
	}
	if ack := must[protocol.NodeAck](t, a.Client, "node.invoke.progress", map[string]any{"invokeId": r.ID, "nodeId": a.ID.ID,
		"seq": 0, "chunk": "working"}); ack.Ignored {
		t.Fatalf("own progress ignored: %+v", ack)
	}
	a.answer(t, r, `"good"`)
	if out := wait(t, ch); out.err != nil || !strings.Contains(string(out.payload), `"payload":"good"`) {
		t.Fatalf("a's invoke: %s %+v", out.payload, out.err)
	}
}

// TestResultTooLarge: a 20 MB answer (over half the 25 MiB frame limit: the
// operator's answer would carry it twice) fails the call and the node's
// result, and both sockets stay usable.
func TestResultTooLarge(t *testing.T) {
	size, limits := 20<<20, server.Limits{}
	if raceEnabled {
		// The same path, scaled down: the race detector makes 20 MB of JSON
		// take half a minute.
		size, limits = 3<<20, server.Limits{MaxPayload: 5 << 20}
	}
	gw := start(t, func(o *gateway.Options) { o.Limits = limits })
	adm := admin(t, gw)
	n := approved(t, gw, adm, "big", "system.run")
	ch := goCall(t, adm, "node.invoke", invokeParams(n.ID.ID, "system.run", "k", nil))
	r := n.invokeRequest(t)
	big := `"` + strings.Repeat("x", size) + `"`
	_, e := call(t, n.Client, "node.invoke.result", map[string]any{"id": r.ID, "nodeId": n.ID.ID, "ok": true, "payloadJSON": big})
	if e == nil || e.Code != "INVALID_REQUEST" || !strings.HasPrefix(e.Message, "node.invoke.result too large") {
		t.Fatalf("node's result: %+v", e)
	}
	out := wait(t, ch)
	if out.err == nil || out.err.Code != "UNAVAILABLE" || !strings.HasPrefix(out.err.Message, "PAYLOAD_TOO_LARGE: node result of") {
		t.Fatalf("operator: %+v", out.err)
	}
	ch = goCall(t, adm, "node.invoke", invokeParams(n.ID.ID, "system.run", "k2", nil))
	n.answer(t, n.invokeRequest(t), `{"small":true}`)
	if out := wait(t, ch); out.err != nil {
		t.Fatalf("after the big one: %+v", out.err)
	}
}

// TestNodeFloodsResults: thousands of results for no invoke are each
// acknowledged as ignored, and another node's invoke and an operator's call
// go on meanwhile.
func TestNodeFloodsResults(t *testing.T) {
	gw := start(t, nil)
	adm := admin(t, gw)
	flood := approved(t, gw, adm, "flood", "system.which")
	good := approved(t, gw, adm, "good", "system.which")
	good.serve()

	const n = 2000
	done := make(chan int, 1)
	go func() {
		ignored := 0
		for i := 0; i < n; i++ {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			res, err := flood.Call(ctx, "node.invoke.result", map[string]any{"id": "bogus-" + strings.Repeat("x", i%7),
				"nodeId": flood.ID.ID, "ok": true, "payloadJSON": `{}`})
			cancel()
			var ack protocol.NodeAck
			if err == nil && json.Unmarshal(res, &ack) == nil && ack.Ignored {
				ignored++
			}
		}
		done <- ignored
	}()
	for i := 0; i < 20; i++ {
		inv := must[protocol.NodeInvokeResult](t, adm, "node.invoke", invokeParams(good.ID.ID, "system.which", "g"+strings.Repeat("i", i), nil))
		if string(inv.Payload) != `{"ran":"system.which"}` {
			t.Fatalf("good node's answer: %+v", inv)
		}
		must[protocol.Health](t, adm, "health", nil)
	}
	if got := <-done; got != n {
		t.Fatalf("%d of %d bogus results acknowledged as ignored", got, n)
	}
}

// TestIdempotency: calls with one key share one invoke while it runs and
// get the node's answer from the cache after.
func TestIdempotency(t *testing.T) {
	gw := start(t, nil)
	adm := admin(t, gw)
	n := approved(t, gw, adm, "idem", "system.which")
	p := invokeParams(n.ID.ID, "system.which", "same", nil)
	first, second := goCall(t, adm, "node.invoke", p), goCall(t, adm, "node.invoke", p)
	r := n.invokeRequest(t)
	noEvent(t, n.Client, "node.invoke.request", 100*time.Millisecond)
	n.answer(t, r, `{"n":1}`)
	for _, ch := range []<-chan reply{first, second} {
		if out := wait(t, ch); out.err != nil || !strings.Contains(string(out.payload), `"payload":{"n":1}`) {
			t.Fatalf("shared invoke: %s %+v", out.payload, out.err)
		}
	}
	if again := must[protocol.NodeInvokeResult](t, adm, "node.invoke", p); string(again.Payload) != `{"n":1}` {
		t.Fatalf("cached: %+v", again)
	}
	noEvent(t, n.Client, "node.invoke.request", 100*time.Millisecond)
}

// TestNodeRoleMethods: what the reference node host calls, answered as the
// reference answers; and each role kept to its own methods.
func TestNodeRoleMethods(t *testing.T) {
	gw := start(t, nil)
	adm := admin(t, gw)
	n := dialNode(t, gw, "host", linuxCommands...)
	id := n.ID.ID
	handled := func(b bool) *bool { return &b }
	cases := []struct {
		method string
		params any
		want   any
	}{
		{"node.event", map[string]any{"event": "node.host.stats", "payloadJSON": `{"cpuCount":2,"loadAverage":[1,2,3],"memoryTotalBytes":100,"memoryFreeBytes":10}`},
			protocol.NodeEventResult{OK: true, Event: "node.host.stats", Handled: handled(true), Reason: "updated"}},
		{"node.event", map[string]any{"event": "node.host.stats", "payloadJSON": `{"cpuCount":0}`},
			protocol.NodeEventResult{OK: true, Event: "node.host.stats", Handled: handled(false), Reason: "invalid_payload"}},
		{"node.event", map[string]any{"event": "exec.finished", "payloadJSON": `{"runId":"r"}`}, protocol.NodeEventResult{OK: true}},
		{"node.event", map[string]any{"event": "something.else", "payload": map[string]any{"a": 1}},
			protocol.NodeEventResult{OK: true, Event: "something.else", Handled: handled(false), Reason: "unsupported_event"}},
		{"node.runnerInventory.update", map[string]any{"protocolFeatures": []string{"node-worker-supervisor-v6"}, "workerHost": map[string]any{"enabled": false}},
			protocol.NodeRef{NodeID: id}},
		{"node.skills.update", map[string]any{"skills": []any{}}, protocol.NodeSkills{NodeID: id, Skills: []protocol.NodeSkill{}}},
		{"node.pluginTools.update", map[string]any{"tools": []any{}}, protocol.NodePluginTools{NodeID: id, Tools: []protocol.NodePluginTool{}}},
		{"node.pending.pull", nil, protocol.NodePendingPull{NodeID: id, Actions: []protocol.NodePendingAction{}}},
		{"node.pending.ack", map[string]any{"ids": []string{"a", "a", "b"}}, protocol.NodePendingAck{NodeID: id, AckedIDs: []string{"a", "b"}}},
	}
	for _, c := range cases {
		res, e := call(t, n.Client, c.method, c.params)
		if e != nil {
			t.Fatalf("%s: %+v", c.method, e)
		}
		got := reflect.New(reflect.TypeOf(c.want))
		if err := json.Unmarshal(res, got.Interface()); err != nil || !reflect.DeepEqual(got.Elem().Interface(), c.want) {
			t.Fatalf("%s %v: got %s", c.method, c.params, res)
		}
	}
	// node.pair.request: the surface is already pending.
	pr := must[protocol.NodePairRequested](t, n.Client, "node.pair.request", nil)
	if pr.Status != "pending" || pr.Created || pr.RequestID != pendingFor(t, adm, id).RequestID {
		t.Fatalf("node.pair.request %+v", pr)
	}
	// The host stats are in the registry once approved.
	must[protocol.NodePairApproved](t, adm, "node.pair.approve", map[string]any{"requestId": pr.RequestID})
	pl := must[protocol.NodePairList](t, adm, "node.pair.list", nil)
	if len(pl.Paired) != 1 || pl.Paired[0].LastHostStats == nil || pl.Paired[0].LastHostStats.CPUCount != 2 {
		t.Fatalf("host stats: %+v", pl.Paired)
	}
	if pr := must[protocol.NodePairRequested](t, n.Client, "node.pair.request", nil); pr.Status != "approved" {
		t.Fatalf("node.pair.request after approval: %+v", pr)
	}
	// Bad input.
	if _, e := call(t, n.Client, "node.skills.update", map[string]any{"skills": []any{map[string]any{"name": "a--b", "description": "d", "content": "c"}}}); e == nil ||
		!strings.Contains(e.Message, "must not contain") {
		t.Fatalf("skill name with --: %+v", e)
	}
	if _, e := call(t, n.Client, "node.invoke.progress", map[string]any{"invokeId": "x", "nodeId": "other", "seq": 0, "chunk": ""}); e == nil ||
		e.Message != "nodeId mismatch" {
		t.Fatalf("progress for another node: %+v", e)
	}
	// Roles: a node may not call operator methods, nor an operator node ones.
	if _, e := call(t, n.Client, "node.list", nil); e == nil || e.Message != "unauthorized role: node" {
		t.Fatalf("node calling node.list: %+v", e)
	}
	if _, e := call(t, adm, "node.event", map[string]any{"event": "x"}); e == nil || e.Message != "unauthorized role: operator" {
		t.Fatalf("operator calling node.event: %+v", e)
	}
}

// TestNodePresenceAndCounts: a node's presence row says what it declared;
// health and status count nodes.
func TestNodePresenceAndCounts(t *testing.T) {
	gw := start(t, nil)
	adm := admin(t, gw)
	n := dialNode(t, gw, "counted", linuxCommands...)
	var rows []protocol.PresenceEntry
	deadline := time.Now().Add(waitFor)
	for {
		rows = must[[]protocol.PresenceEntry](t, adm, "system-presence", nil)
		if i := slices.IndexFunc(rows, func(r protocol.PresenceEntry) bool { return r.DeviceID == n.ID.ID }); i >= 0 {
			r := rows[i]
			if r.Mode != "node" || r.Reason != "connect" || r.Platform != "linux" || !slices.Equal(r.Caps, []string{"system"}) ||
				!slices.Equal(r.Commands, linuxCommands) {
				t.Fatalf("node presence row %+v", r)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no presence row for the node: %+v", rows)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The presence row and the nodes actor's count move apart (the row
	// may come first): poll the counts too.
	for deadline := time.Now().Add(waitFor); ; time.Sleep(10 * time.Millisecond) {
		h := must[protocol.Health](t, adm, "health", map[string]any{"probe": true})
		if h.Nodes == (protocol.NodesCount{Connected: 1, Paired: 0, Pending: 1}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health nodes %+v", h.Nodes)
		}
	}
	must[protocol.NodePairApproved](t, adm, "node.pair.approve", map[string]any{"requestId": pendingFor(t, adm, n.ID.ID).RequestID})
	for deadline := time.Now().Add(waitFor); ; time.Sleep(10 * time.Millisecond) {
		s := must[protocol.Status](t, adm, "status", nil)
		if s.Nodes == (protocol.NodesCount{Connected: 1, Paired: 1, Pending: 0}) && s.Connections.Nodes == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status nodes %+v, connections %+v", s.Nodes, s.Connections)
		}
	}
}

// TestRejectAndRemove: a rejected surface stays unapproved; a removed node
// is disconnected and forgotten, and pairs again from scratch.
func TestRejectAndRemove(t *testing.T) {
	gw := start(t, nil)
	adm := admin(t, gw)
	n := dialNode(t, gw, "doomed", "system.which")
	p := pendingFor(t, adm, n.ID.ID)
	rej := must[protocol.NodePairRejected](t, adm, "node.pair.reject", map[string]any{"requestId": p.RequestID})
	if rej != (protocol.NodePairRejected{RequestID: p.RequestID, NodeID: n.ID.ID}) {
		t.Fatalf("reject %+v", rej)
	}
	var res protocol.NodePairResolved
	_ = json.Unmarshal(event(t, adm, "node.pair.resolved").Payload, &res)
	if res.Decision != "rejected" {
		t.Fatalf("resolved %+v", res)
	}
	if _, e := call(t, adm, "node.invoke", invokeParams(n.ID.ID, "system.which", "k", nil)); e == nil || e.Code != "INVALID_REQUEST" {
		t.Fatalf("invoke after reject: %+v", e)
	}
	// node.pair.request asks again.
	pr := must[protocol.NodePairRequested](t, n.Client, "node.pair.request", nil)
	if pr.Status != "pending" || !pr.Created {
		t.Fatalf("node.pair.request %+v", pr)
	}
	must[protocol.NodePairApproved](t, adm, "node.pair.approve", map[string]any{"requestId": pr.RequestID})

	// Remove: the node's socket closes and it is forgotten.
	if r := must[protocol.NodeRef](t, adm, "node.pair.remove", map[string]any{"nodeId": n.ID.ID}); r.NodeID != n.ID.ID {
		t.Fatalf("remove %+v", r)
	}
	select {
	case <-n.Done():
	case <-time.After(waitFor):
		t.Fatal("removed node still connected")
	}
	if ce, ok := n.Err().(*client.CloseError); !ok || ce.Code != 4001 || ce.Reason != "device removed" {
		t.Fatalf("close %v", n.Err())
	}
	if _, e := call(t, adm, "node.describe", map[string]any{"nodeId": n.ID.ID}); e == nil || e.Message != "unknown nodeId" {
		t.Fatalf("describe after remove: %+v", e)
	}
	if _, e := call(t, adm, "node.pair.remove", map[string]any{"nodeId": n.ID.ID}); e == nil || e.Message != "unknown nodeId" {
		t.Fatalf("remove twice: %+v", e)
	}
	// Back again: paired anew (loopback), its commands pending again.
	again := redialNode(t, gw, n.ID, "doomed", "system.which")
	if p2 := pendingFor(t, adm, again.ID.ID); p2.RequestID == p.RequestID {
		t.Fatalf("old request reused")
	}
}

// TestApprovalSurvivesRestart: the registry is in the state database; a
// node that reconnects with the same surface needs no new approval, one
// that declares more asks again, and keeps what was approved meanwhile.
func TestApprovalSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	gw := start(t, func(o *gateway.Options) { o.StateDir = dir })
	adm := admin(t, gw)
	n := approved(t, gw, adm, "steady", "system.which")
	id := n.ID
	if err := gw.Stop(context.Background(), "test", 0); err != nil {
		t.Fatal(err)
	}
	gw2 := start(t, func(o *gateway.Options) { o.StateDir = dir })
	adm2 := admin(t, gw2)
	n2 := redialNode(t, gw2, id, "steady", "system.which")
	n2.serve()
	if l := must[protocol.NodePairList](t, adm2, "node.pair.list", nil); len(l.Pending) != 0 || len(l.Paired) != 1 {
		t.Fatalf("after restart: %+v", l)
	}
	must[protocol.NodeInvokeResult](t, adm2, "node.invoke", invokeParams(id.ID, "system.which", "k", nil))
	n2.Close()
	<-n2.Done()

	n3 := redialNode(t, gw2, id, "steady", "system.which", "system.run")
	n3.serve()
	p := pendingFor(t, adm2, id.ID)
	if !slices.Equal(p.Commands, []string{"system.which", "system.run"}) {
		t.Fatalf("wider surface request %+v", p)
	}
	must[protocol.NodeInvokeResult](t, adm2, "node.invoke", invokeParams(id.ID, "system.which", "k2", nil))
	if _, e := call(t, adm2, "node.invoke", invokeParams(id.ID, "system.run", "k3", nil)); e == nil ||
		!strings.Contains(e.Message, "pending approval") || !strings.Contains(e.Message, p.RequestID) {
		t.Fatalf("system.run before approval: %+v", e)
	}
}

// TestAutoApproveCommands: with gateway.nodes.pairing.autoApproveCommands
// a node's surface needs no operator.
func TestAutoApproveCommands(t *testing.T) {
	cfg := gatewaytest.Config(t, `{gateway: {nodes: {pairing: {autoApproveCommands: true}}}}`)
	gw := start(t, func(o *gateway.Options) { o.Config = cfg })
	adm := admin(t, gw)
	n := dialNode(t, gw, "auto", "system.which")
	n.serve()
	must[protocol.NodeInvokeResult](t, adm, "node.invoke", invokeParams(n.ID.ID, "system.which", "k", nil))
	if l := must[protocol.NodePairList](t, adm, "node.pair.list", nil); len(l.Pending) != 0 {
		t.Fatalf("pending: %+v", l.Pending)
	}
}

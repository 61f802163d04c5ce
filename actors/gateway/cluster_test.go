package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"openclaw/actors/channels"
	"openclaw/actors/cluster"
	"openclaw/actors/gateway"
	"openclaw/actors/gateway/gatewaytest"
	"openclaw/channels/telegram"
	"openclaw/transport/client"
	"openclaw/transport/protocol"
	"openclaw/transport/provider/fakeprovider"
)

// Cluster mode over real NATS: three gateways in this process, each with
// its embedded NATS server routed to the others on loopback ports.

// converge bounds how long the cluster may take to agree after a change:
// forming (routes, JetStream's meta leader, the bucket's replicas) takes a
// few seconds on a loaded machine; a lost gateway is dropped after
// cluster.PeerTimeout.
const converge = 20 * time.Second

// rosterOf asks gw's system-presence and returns who holds each row: the
// gateway name of every self row, and of the row of every instance id.
func rosterOf(t *testing.T, c *client.Client) []protocol.PresenceEntry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	raw, err := c.Call(ctx, "system-presence", nil)
	if err != nil {
		t.Fatalf("system-presence: %v", err)
	}
	var rows []protocol.PresenceEntry
	if err := json.Unmarshal(raw, &rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

// holders maps each gateway self row and each row with an instance id to
// the gateway that holds it.
func holders(rows []protocol.PresenceEntry) map[string]string {
	out := map[string]string{}
	for _, r := range rows {
		key := r.InstanceID
		if r.Mode == "gateway" {
			key = "self"
		}
		if key == "self" {
			out["self@"+r.Gateway] = r.Gateway
			continue
		}
		out[key] = r.Gateway
	}
	return out
}

// eventually polls check until it returns "" or converge passes.
func eventually(t testing.TB, what string, check func() string) {
	t.Helper()
	within(t, converge, what, check)
}

// within polls check until it returns "" or d passes.
func within(t testing.TB, d time.Duration, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %s", what, d, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestClusterPresenceConverges: every gateway lists every gateway's self
// row and every socket of every gateway, each saying which gateway holds
// it; presence events carry the same, with a stateVersion that only grows.
// Killing one gateway (no goodbye) drops its rows everywhere within the
// documented bound while the others keep serving.
func TestClusterPresenceConverges(t *testing.T) {
	gws := gatewaytest.StartCluster(t, 3, nil)
	ops := make([]*client.Client, 3)
	for i, gw := range gws {
		ops[i] = gw.Operator(t)
	}
	// A UI client on each gateway: tracked in presence.
	readers := make([]*gatewaytest.Conn, 3)
	for i, gw := range gws {
		readers[i], _ = gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	}
	want := func(alive ...int) string {
		var b strings.Builder
		for _, i := range alive {
			fmt.Fprintf(&b, "self@gw-%d ", i)
		}
		return b.String()
	}
	check := func(alive ...int) func() string {
		return func() string {
			for _, i := range alive {
				h := holders(rosterOf(t, ops[i]))
				for _, j := range alive {
					if h[fmt.Sprintf("self@gw-%d", j)] != fmt.Sprintf("gw-%d", j) {
						return fmt.Sprintf("gw-%d sees %v, want %s", i, h, want(alive...))
					}
				}
				if len(alive) < 3 {
					for j := range 3 {
						if !slices.Contains(alive, j) && h[fmt.Sprintf("self@gw-%d", j)] != "" {
							return fmt.Sprintf("gw-%d still lists gw-%d: %v", i, j, h)
						}
					}
				}
			}
			return ""
		}
	}
	eventually(t, "presence converges", check(0, 1, 2))

	// Each gateway's sockets are on every gateway, held by their gateway.
	// A socket's row travels separately from its gateway's self row, so
	// it may arrive a little later: wait for it too.
	eventually(t, "every UI socket listed everywhere", func() string {
		for i := range 3 {
			rows := rosterOf(t, ops[i])
			perGateway := map[string]int{}
			for _, r := range rows {
				if r.Mode == "ui" {
					perGateway[r.Gateway]++
				}
			}
			for j := range 3 {
				if perGateway[fmt.Sprintf("gw-%d", j)] == 0 {
					return fmt.Sprintf("gw-%d lists no UI socket of gw-%d: %+v", i, j, rows)
				}
			}
		}
		return ""
	})

	// A presence event on gw-1 carries gw-2's new socket, with a larger
	// stateVersion than before.
	before := lastPresenceVersion(t, readers[1])
	extra := gatewaytest.Reader(t)
	extra.Extra = map[string]any{"client": map[string]any{"id": "openclaw-control-ui", "version": "1.0.0", "platform": "linux",
		"mode": "ui", "instanceId": "inst-late-ui-ui"}}
	gatewaytest.MustConnect(t, gws[2].URL, extra)
	for {
		f := readers[1].Event("presence")
		var ev protocol.PresenceEvent
		if err := json.Unmarshal(f.Payload, &ev); err != nil {
			t.Fatal(err)
		}
		if f.StateVersion == nil || f.StateVersion.Presence < before {
			t.Fatalf("presence stateVersion went from %d to %+v", before, f.StateVersion)
		}
		before = f.StateVersion.Presence
		if holders(ev.Presence)["inst-late-ui-ui"] == "gw-2" {
			break
		}
	}

	// gw-0 dies: its rows go within the bound; gw-1 and gw-2 serve on.
	killed := time.Now()
	gws[0].Kill()
	eventually(t, "gw-0's rows dropped", check(1, 2))
	if took := time.Since(killed); took > cluster.PeerTimeout+5*time.Second {
		t.Fatalf("gw-0's rows took %s to go (bound %s)", took, cluster.PeerTimeout+5*time.Second)
	}
	// Listed, for the operator, as gone for want of heartbeats (here or at
	// the gateway that deleted its rows first) by both survivors (each
	// listed its rows), alive by none.
	eventually(t, "gw-0 listed gone", func() string {
		for _, i := range []int{1, 2} {
			var h protocol.Status
			raw, err := callCtx(ops[i], "status", nil)
			if err != nil || json.Unmarshal(raw, &h) != nil || h.Cluster == nil {
				t.Fatalf("gw-%d status after the loss: %v %s", i, err, raw)
			}
			listed := false
			for _, m := range h.Cluster.Members {
				if m.Node != "gw-0" {
					continue
				}
				if m.Alive || m.Gone != "timeout" && m.Gone != "dropped" {
					t.Fatalf("gw-%d still has gw-0 as a live member: %+v", i, h.Cluster.Members)
				}
				listed = true
			}
			if !listed {
				return fmt.Sprintf("gw-%d does not list gw-0: %+v", i, h.Cluster.Members)
			}
		}
		return ""
	})
}

func callCtx(c *client.Client, method string, params any) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Call(ctx, method, params)
}

// lastPresenceVersion is the presence stateVersion w saw last (from the
// events queued so far; hello-ok's when none).
func lastPresenceVersion(t *testing.T, w *gatewaytest.Conn) int64 {
	var v int64
	for {
		select {
		case f := <-w.Frames():
			if f.StateVersion != nil {
				v = f.StateVersion.Presence
			}
		default:
			return v
		}
	}
}

// TestClusterRunWatchedEverywhere: a run on gw-0 streams to watchers on
// gw-1 and gw-2 with the complete text, every run seq once and in order,
// each socket's seq unbroken.
func TestClusterRunWatchedEverywhere(t *testing.T) {
	fp := fakeprovider.New(t, fakeprovider.Text("The cluster streams this reply to every gateway, in order.", 12))
	gws := agentCluster(t, fp)
	w1, _ := gatewaytest.MustConnect(t, gws[1].URL, gatewaytest.Reader(t))
	w2, _ := gatewaytest.MustConnect(t, gws[2].URL, gatewaytest.Reader(t))
	op1, op2 := gws[1].Operator(t), gws[2].Operator(t)
	formed(t, op1, op2)

	adm, _ := gatewaytest.MustConnect(t, gws[0].URL, gatewaytest.Admin())
	adm.SendJSON(map[string]any{"type": "req", "id": "a1", "method": "agent", "params": map[string]any{"message": "hi", "idempotencyKey": "run-x"}})
	if acc := adm.Res("a1"); !acc.OK {
		t.Fatalf("agent: %s", acc.Raw)
	}
	const text = "The cluster streams this reply to every gateway, in order."
	for i, w := range []*gatewaytest.Conn{w1, w2} {
		v := follow(t, w, "run-x", converge)
		if v.agentText != text || v.chatText != text || !v.ended {
			t.Fatalf("watcher on gw-%d: agent %q chat %q ended %v", i+1, v.agentText, v.chatText, v.ended)
		}
	}

	// agent.wait on gw-2 for the run on gw-0 is answered by gw-0.
	raw, err := callCtx(op2, "agent.wait", map[string]any{"runId": "run-x", "timeoutMs": 5000})
	var wait protocol.AgentWait
	if err != nil || json.Unmarshal(raw, &wait) != nil || wait.Status != "ok" || wait.EndedAt == 0 {
		t.Fatalf("agent.wait on gw-2 for gw-0's run: %v %s", err, raw)
	}
	// The transcript is the cluster's: gw-2 reads the turn gw-0 ran, and
	// lists its session.
	raw, err = callCtx(op2, "chat.history", map[string]any{"sessionKey": "agent:main:main"})
	var h protocol.ChatHistory
	if err != nil || json.Unmarshal(raw, &h) != nil || len(h.Messages) != 2 || h.Messages[0].Role != "user" ||
		h.Messages[1].Role != "assistant" || !strings.Contains(string(h.Messages[1].Content), "every gateway") {
		t.Fatalf("chat.history on gw-2 of gw-0's turn: %v %s", err, raw)
	}
	raw, err = callCtx(op1, "sessions.list", nil)
	var sl protocol.SessionsList
	if err != nil || json.Unmarshal(raw, &sl) != nil || sl.Count != 1 || sl.Sessions[0].Key != "agent:main:main" {
		t.Fatalf("sessions.list on gw-1: %v %s", err, raw)
	}
	// A run no gateway has: the single gateway's answers.
	raw, err = callCtx(op2, "agent.wait", map[string]any{"runId": "nowhere", "timeoutMs": 100})
	if err != nil || json.Unmarshal(raw, &wait) != nil || wait.Status != "timeout" {
		t.Fatalf("agent.wait for no run: %v %s", err, raw)
	}
	raw, err = callCtx(op1, "chat.abort", map[string]any{"sessionKey": "agent:main:main", "runId": "nowhere"})
	var ab protocol.ChatAbort
	if err != nil || json.Unmarshal(raw, &ab) != nil || !ab.OK || ab.Aborted {
		t.Fatalf("chat.abort of no run: %v %s", err, raw)
	}
}

// agentCluster is three gateways whose agent talks to fp.
func agentCluster(t testing.TB, fp *fakeprovider.Server) []*gatewaytest.Gateway {
	t.Helper()
	cfg := agentConfig(t, fp)
	return gatewaytest.StartCluster(t, 3, func(i int, o *gateway.Options) {
		c := *cfg
		c.Gateway.Cluster = o.Config.Gateway.Cluster
		o.Config = &c
	})
}

// formed waits until each of ops' gateways hears all three: from then on
// the events subject (core NATS) carries every gateway's broadcasts to it.
func formed(t testing.TB, ops ...*client.Client) {
	t.Helper()
	eventually(t, "cluster formed", func() string {
		for _, c := range ops {
			var s protocol.Status
			raw, err := callCtx(c, "status", nil)
			if err != nil || json.Unmarshal(raw, &s) != nil || s.Cluster == nil || len(s.Cluster.Members) < 3 {
				return fmt.Sprintf("status: %v %s", err, raw)
			}
		}
		return ""
	})
}

// TestClusterChatAbort: chat.abort on gw-1 stops a run streaming on gw-0,
// and gw-1's watcher sees it end aborted.
func TestClusterChatAbort(t *testing.T) {
	fp := fakeprovider.New(t, fakeprovider.Reply{Text: "a long answer that stalls", Fault: fakeprovider.Stall, FaultAfter: 2})
	gws := agentCluster(t, fp)
	watcher, _ := gatewaytest.MustConnect(t, gws[1].URL, gatewaytest.Reader(t))
	op1 := gws[1].Operator(t)
	formed(t, op1)
	adm, _ := gatewaytest.MustConnect(t, gws[0].URL, gatewaytest.Admin())
	if ack := adm.Call("s", "chat.send", map[string]any{"sessionKey": "agent:main:chat1", "message": "hi", "idempotencyKey": "c1"}); !ack.OK {
		t.Fatalf("chat.send: %s", ack.Raw)
	}
	watcher.Event("chat") // the first delta, through the cluster: the run is streaming
	raw, err := callCtx(op1, "chat.abort", map[string]any{"sessionKey": "agent:main:chat1"})
	var ab protocol.ChatAbort
	if err != nil || json.Unmarshal(raw, &ab) != nil || !ab.Aborted || len(ab.RunIDs) != 1 || ab.RunIDs[0] != "c1" {
		t.Fatalf("chat.abort on gw-1: %v %s", err, raw)
	}
	for {
		f := watcher.Event("chat")
		if gatewaytest.Decode[map[string]any](t, f.Payload)["state"] == "aborted" {
			break
		}
	}
}

// TestClusterNodeInvoke: an operator on gw-0 invokes a node connected to
// gw-2; the answer comes back through NATS. A node connected nowhere gets
// the single gateway's error.
func TestClusterNodeInvoke(t *testing.T) {
	gws := gatewaytest.StartCluster(t, 3, func(_ int, o *gateway.Options) {
		o.Config.Gateway.Nodes.Pairing.AutoApproveCommands = true
		o.Channels = []channels.Driver{telegram.Driver{}}
	})
	id := whichNode(t, gws[2].URL)
	op := gws[0].Operator(t)
	// Routes form in the background: until gw-2's NATS is routed to
	// gw-0's, gw-0 finds no gateway holding the node.
	var res protocol.NodeInvokeResult
	eventually(t, "node.invoke through the cluster", func() string {
		raw, err := callCtx(op, "node.invoke", map[string]any{"nodeId": id.ID, "command": "system.which",
			"params": map[string]any{"bins": []string{"sh"}}, "idempotencyKey": "k-" + fmt.Sprint(time.Now().UnixNano())})
		if err != nil {
			return err.Error()
		}
		if err := json.Unmarshal(raw, &res); err != nil {
			return err.Error()
		}
		return ""
	})
	if !res.OK || res.NodeID != id.ID || res.PayloadJSON == nil || !strings.Contains(*res.PayloadJSON, `"on":"n1"`) {
		t.Fatalf("node.invoke result: %+v", res)
	}

	// A node connected nowhere: the same error as a single gateway's.
	_, err := callCtx(op, "node.invoke", map[string]any{"nodeId": "no-such-node", "command": "system.which", "idempotencyKey": "k2"})
	var e *protocol.ErrorShape
	if !errors.As(err, &e) || e.Code != protocol.CodeInvalidRequest && e.Code != protocol.CodeUnavailable {
		t.Fatalf("invoke of a node connected nowhere: %v", err)
	}
	single := gatewaytest.Start(t, nil).Operator(t)
	_, serr := callCtx(single, "node.invoke", map[string]any{"nodeId": "no-such-node", "command": "system.which", "idempotencyKey": "k2"})
	var se *protocol.ErrorShape
	if !errors.As(serr, &se) || se.Code != e.Code || se.Message != e.Message {
		t.Fatalf("cluster error %+v, single gateway's %+v", e, se)
	}

	// send for a Telegram account no gateway runs: NOT_CONNECTED.
	_, err = callCtx(op, "send", map[string]any{"to": "123", "message": "hi", "channel": "telegram", "idempotencyKey": "s1"})
	if !errors.As(err, &e) || e.Code != protocol.CodeUnavailable || fmt.Sprint(e.Details.(map[string]any)["code"]) != "NOT_CONNECTED" {
		t.Fatalf("send to an account run nowhere: %v", err)
	}
}

// TestSingleGatewayHasNoCluster: without gateway.cluster nothing of it
// shows: no cluster section in status or health, no gateway on presence
// rows, no NATS (no cluster node name).
func TestSingleGatewayHasNoCluster(t *testing.T) {
	gw := gatewaytest.Start(t, nil)
	if n := gw.ClusterNode(); n != "" {
		t.Fatalf("a single gateway joined cluster node %q", n)
	}
	gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	op := gw.Operator(t)
	for _, method := range []string{"status", "health", "system-presence"} {
		raw, err := callCtx(op, method, nil)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		if strings.Contains(string(raw), `"cluster"`) || strings.Contains(string(raw), `"gateway":`) {
			t.Fatalf("%s of a single gateway mentions the cluster: %s", method, raw)
		}
	}
}

package nodes_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"openclaw/actors/gateway"
	"openclaw/actors/gateway/gatewaytest"
	"openclaw/transport/auth"
	"openclaw/transport/client"
	"openclaw/transport/protocol"
)

// Shared helpers: a gateway, operators with the scopes a test names, and
// node hosts played by the project's Go client over real sockets.

const waitFor = 5 * time.Second

// linuxCommands is what the test node declares: two system commands the
// linux allowlist has, and one it does not (dir.list).
var linuxCommands = []string{"system.which", "system.run", "dir.list"}

func start(t *testing.T, mutate func(*gateway.Options)) *gatewaytest.Gateway {
	t.Helper()
	return gatewaytest.Start(t, mutate)
}

// operator connects a local CLI with the shared secret and these scopes.
func operator(t *testing.T, gw *gatewaytest.Gateway, scopes ...string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{URL: gw.URL, Token: gatewaytest.Token, Scopes: scopes, EventBuffer: 4096})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func admin(t *testing.T, gw *gatewaytest.Gateway) *client.Client {
	return operator(t, gw, "operator.admin", "operator.read", "operator.write", "operator.pairing")
}

// testNode is a node host: a device identity and its socket.
type testNode struct {
	*client.Client
	ID auth.Identity
}

// dialNode connects a linux node host declaring commands.
func dialNode(t *testing.T, gw *gatewaytest.Gateway, name string, commands ...string) *testNode {
	t.Helper()
	id := auth.NewIdentity()
	return redialNode(t, gw, id, name, commands...)
}

func redialNode(t *testing.T, gw *gatewaytest.Gateway, id auth.Identity, name string, commands ...string) *testNode {
	t.Helper()
	c, err := dialNodeErr(gw, id, name, commands...)
	if err != nil {
		t.Fatalf("node connect: %v", err)
	}
	t.Cleanup(c.Close)
	return &testNode{Client: c, ID: id}
}

func dialNodeErr(gw *gatewaytest.Gateway, id auth.Identity, name string, commands ...string) (*client.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	return client.Dial(ctx, client.Options{URL: gw.URL, Token: gatewaytest.Token, Identity: &id, Role: "node",
		ClientID: "node-host", Mode: "node", Platform: "linux", DeviceFamily: "Linux", DisplayName: name,
		Version: "2026.9.6", Caps: []string{"system"}, Commands: commands, PathEnv: "/usr/bin:/bin", EventBuffer: 65536})
}

// call calls method and returns its payload or the gateway's error.
func call(t *testing.T, c *client.Client, method string, params any) (json.RawMessage, *protocol.ErrorShape) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.Call(ctx, method, params)
	if err == nil {
		return res, nil
	}
	var e *protocol.ErrorShape
	if !errors.As(err, &e) {
		t.Fatalf("%s: %v", method, err)
	}
	return res, e
}

// must calls method and decodes its payload, failing the test on an error.
func must[T any](t *testing.T, c *client.Client, method string, params any) T {
	t.Helper()
	res, e := call(t, c, method, params)
	if e != nil {
		t.Fatalf("%s: %s: %s", method, e.Code, e.Message)
	}
	var v T
	if err := json.Unmarshal(res, &v); err != nil {
		t.Fatalf("%s: %v in %s", method, err, res)
	}
	return v
}

// event waits for the next event named name on c.
func event(t *testing.T, c *client.Client, name string) *client.Event {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case e := <-c.Events():
			if e.Event == name {
				return e
			}
		case <-c.Done():
			t.Fatalf("socket closed waiting for %s: %v", name, c.Err())
		case <-deadline:
			t.Fatalf("no %s event within %v", name, waitFor)
		}
	}
}

// noEvent checks that no event named name arrives on c for a moment (used
// after something that would have sent it at once).
func noEvent(t *testing.T, c *client.Client, name string, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case e := <-c.Events():
			if e.Event == name {
				t.Fatalf("unexpected %s event: %s", name, e.Payload)
			}
		case <-deadline:
			return
		}
	}
}

// invokeRequest waits for the node's next node.invoke.request and checks
// it came to this socket alone (no seq).
func (n *testNode) invokeRequest(t *testing.T) protocol.NodeInvokeRequest {
	t.Helper()
	e := event(t, n.Client, "node.invoke.request")
	if e.Seq != nil {
		t.Fatalf("node.invoke.request carries seq %d; it goes to one socket without one", *e.Seq)
	}
	var r protocol.NodeInvokeRequest
	if err := json.Unmarshal(e.Payload, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// answer sends the node's result for request r.
func (n *testNode) answer(t *testing.T, r protocol.NodeInvokeRequest, payloadJSON string) protocol.NodeAck {
	t.Helper()
	return must[protocol.NodeAck](t, n.Client, "node.invoke.result",
		map[string]any{"id": r.ID, "nodeId": r.NodeID, "ok": true, "payloadJSON": payloadJSON})
}

// serve answers every invoke with the command's name until the node closes.
func (n *testNode) serve() {
	go func() {
		for e := range n.Events() {
			if e.Event != "node.invoke.request" {
				continue
			}
			var r protocol.NodeInvokeRequest
			_ = json.Unmarshal(e.Payload, &r)
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			b, _ := json.Marshal(map[string]string{"ran": r.Command})
			_, _ = n.Call(ctx, "node.invoke.result", map[string]any{"id": r.ID, "nodeId": r.NodeID, "ok": true, "payloadJSON": string(b)})
			cancel()
		}
	}()
}

// pendingFor finds the node's surface request.
func pendingFor(t *testing.T, op *client.Client, nodeID string) protocol.NodePairRequest {
	t.Helper()
	l := must[protocol.NodePairList](t, op, "node.pair.list", nil)
	for _, p := range l.Pending {
		if p.NodeID == nodeID {
			return p
		}
	}
	t.Fatalf("no pending request for %s in %+v", nodeID, l)
	return protocol.NodePairRequest{}
}

// approved connects a node and approves its surface.
func approved(t *testing.T, gw *gatewaytest.Gateway, adm *client.Client, name string, commands ...string) *testNode {
	t.Helper()
	n := dialNode(t, gw, name, commands...)
	p := pendingFor(t, adm, n.ID.ID)
	must[protocol.NodePairApproved](t, adm, "node.pair.approve", map[string]any{"requestId": p.RequestID})
	event(t, n.Client, "node.pair.resolved")
	return n
}

func invokeParams(nodeID, command, key string, extra map[string]any) map[string]any {
	p := map[string]any{"nodeId": nodeID, "command": command, "idempotencyKey": key}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

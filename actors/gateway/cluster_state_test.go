package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"openclaw/actors/gateway"
	"openclaw/actors/gateway/gatewaytest"
	"openclaw/transport/auth"
	"openclaw/transport/client"
	"openclaw/transport/protocol"
)

// Devices and nodes are shared state in cluster mode: a change made on one
// gateway holds on the others without a restart (each gateway's devices
// and nodes actors watch their namespace of the JetStream KV).

// dialAt connects o to gw; the client closes when the test ends.
func dialAt(t *testing.T, gw *gatewaytest.Gateway, o client.Options) (*client.Client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), converge)
	defer cancel()
	o.URL, o.EventBuffer = gw.URL, 1024
	c, err := client.Dial(ctx, o)
	if err == nil {
		t.Cleanup(c.Close)
	}
	return c, err
}

// errCode is the details.code of a refused connect or call ("" if none).
func errCode(err error) string {
	var e *protocol.ErrorShape
	if !errors.As(err, &e) {
		return ""
	}
	if d, ok := e.Details.(map[string]any); ok {
		return fmt.Sprint(d["code"])
	}
	return e.Code
}

// pairedDevices is device.pair.list's paired devices by id.
func pairedDevices(t *testing.T, c *client.Client) map[string]protocol.PairedDevice {
	l := callAs[protocol.DevicePairList](t, c, "device.pair.list")
	out := map[string]protocol.PairedDevice{}
	for _, d := range l.Paired {
		out[d.DeviceID] = d
	}
	return out
}

// callAs calls method without params and decodes its result.
func callAs[T any](t *testing.T, c *client.Client, method string) T {
	t.Helper()
	var v T
	raw, err := callCtx(c, method, nil)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// refused is a check for eventually: connecting o to gw is refused for a
// device token mismatch.
func refused(t *testing.T, gw *gatewaytest.Gateway, o client.Options) func() string {
	return func() string {
		c, err := dialAt(t, gw, o)
		if err == nil {
			c.Close()
			return "accepted"
		}
		if code := errCode(err); code != "AUTH_DEVICE_TOKEN_MISMATCH" {
			return "refused with " + err.Error()
		}
		return ""
	}
}

// waitClosed waits for the gateway to close c and returns the close frame.
func waitClosed(t *testing.T, c *client.Client) *client.CloseError {
	t.Helper()
	eventually(t, "socket closed", func() string {
		select {
		case <-c.Done():
			return ""
		default:
			return "still open"
		}
	})
	ce, ok := c.Err().(*client.CloseError)
	if !ok {
		t.Fatalf("closed without a close frame: %v", c.Err())
	}
	return ce
}

// TestClusterDevicesLive: a device approved on gw-0 connects to gw-2 with
// its device token; a token rotated on gw-2 is refused on gw-0 and the new
// one accepted on gw-1; a token revoked on gw-1 closes the device's
// sockets on every gateway and is refused everywhere; a device removed on
// gw-0 is gone from every gateway's list.
func TestClusterDevicesLive(t *testing.T) {
	gws := gatewaytest.StartCluster(t, 3, func(_ int, o *gateway.Options) { o.AutoApproveLocal = false })
	ops := make([]*client.Client, 3)
	for i, gw := range gws {
		ops[i] = gw.Operator(t)
	}
	id := auth.NewIdentity()
	scopes := []string{"operator.read", "operator.pairing"}
	withSecret := client.Options{Token: gatewaytest.Token, Identity: &id, ClientID: "openclaw-control-ui", Mode: "ui", Scopes: scopes}
	withToken := func(tok string) client.Options {
		return client.Options{DeviceToken: tok, Identity: &id, ClientID: "openclaw-control-ui", Mode: "ui", Scopes: scopes}
	}

	// Pairing requested and approved on gw-0.
	_, err := dialAt(t, gws[0], withSecret)
	if errCode(err) != "PAIRING_REQUIRED" {
		t.Fatalf("first connect: %v, want PAIRING_REQUIRED", err)
	}
	var e *protocol.ErrorShape
	errors.As(err, &e)
	rid := e.Details.(map[string]any)["requestId"]
	if _, err := callCtx(ops[0], "device.pair.approve", map[string]any{"requestId": rid}); err != nil {
		t.Fatalf("approve: %v", err)
	}
	first, err := dialAt(t, gws[0], withSecret)
	if err != nil {
		t.Fatalf("connect after approval: %v", err)
	}
	var hello struct{ Auth protocol.HelloAuth }
	_ = json.Unmarshal(first.Hello, &hello)
	tok := hello.Auth.DeviceToken
	if tok == "" {
		t.Fatal("no device token after approval")
	}

	// Its token works on gw-2, without a restart.
	var onC *client.Client
	eventually(t, "device token accepted on gw-2", func() string {
		c, err := dialAt(t, gws[2], withToken(tok))
		if err != nil {
			return err.Error()
		}
		onC = c
		return ""
	})
	eventually(t, "gw-1 lists the device as paired", func() string {
		if d, ok := pairedDevices(t, ops[1])[id.ID]; !ok || len(d.Roles) != 1 {
			return fmt.Sprintf("paired: %v %+v", ok, d)
		}
		return ""
	})

	// Rotated by the device itself on gw-2: its old token is refused on
	// gw-0, the new one accepted on gw-1.
	raw, err := callCtx(onC, "device.token.rotate", map[string]any{"deviceId": id.ID, "role": "operator"})
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	var rot protocol.DeviceTokenRotated
	_ = json.Unmarshal(raw, &rot)
	if rot.Token == "" || rot.Token == tok {
		t.Fatalf("rotated: %+v", rot)
	}
	if ce := waitClosed(t, first); ce.Code != 4001 {
		t.Fatalf("gw-0 socket of the rotated device closed with %+v", ce)
	}
	eventually(t, "old token refused on gw-0", refused(t, gws[0], withToken(tok)))
	var onA, onB *client.Client
	eventually(t, "new token accepted on gw-1", func() string {
		c, err := dialAt(t, gws[1], withToken(rot.Token))
		if err != nil {
			return err.Error()
		}
		onB = c
		return ""
	})
	if onA, err = dialAt(t, gws[0], withToken(rot.Token)); err != nil {
		t.Fatalf("new token on gw-0: %v", err)
	}

	// Revoked by an admin on gw-1: its sockets on gw-0 and gw-1 close, and
	// the token is refused on every gateway.
	if _, err := callCtx(ops[1], "device.token.revoke", map[string]any{"deviceId": id.ID, "role": "operator"}); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	for i, c := range []*client.Client{onA, onB} {
		if ce := waitClosed(t, c); ce.Code != 4001 || ce.Reason != "device removed" {
			t.Fatalf("socket %d of the revoked device closed with %+v", i, ce)
		}
	}
	for i, gw := range gws {
		eventually(t, fmt.Sprintf("revoked token refused on gw-%d", i), refused(t, gw, withToken(rot.Token)))
	}

	// Removed on gw-0: listed nowhere.
	if _, err := callCtx(ops[0], "device.pair.remove", map[string]any{"deviceId": id.ID}); err != nil {
		t.Fatalf("remove: %v", err)
	}
	for i := range gws {
		eventually(t, fmt.Sprintf("gw-%d forgets the device", i), func() string {
			if m := pairedDevices(t, ops[i]); len(m) != 0 {
				return fmt.Sprintf("still paired: %v", m)
			}
			return ""
		})
	}
}

// pairedNodes is node.pair.list's paired nodes by id, and its pending
// requests.
func pairedNodes(t *testing.T, c *client.Client) (map[string]protocol.PairedNode, []protocol.NodePairRequest) {
	l := callAs[protocol.NodePairList](t, c, "node.pair.list")
	out := map[string]protocol.PairedNode{}
	for _, n := range l.Paired {
		out[n.NodeID] = n
	}
	return out, l.Pending
}

// TestClusterNodesLive: a node's surface approved on the gateway it is
// connected to is paired on the others; a rename on gw-0 shows on the
// node's gateway; a node removed on gw-1 closes its socket on gw-2 and is
// gone from every gateway's list.
func TestClusterNodesLive(t *testing.T) {
	gws := gatewaytest.StartCluster(t, 3, nil)
	ops := make([]*client.Client, 3)
	for i, gw := range gws {
		ops[i] = gw.Operator(t)
	}
	id := auth.NewIdentity()
	node, err := dialAt(t, gws[2], client.Options{Token: gatewaytest.Token, Identity: &id, Role: "node",
		ClientID: "node-host", Mode: "node", Platform: "linux", DeviceFamily: "Linux", DisplayName: "n1",
		Version: "2026.9.6", Caps: []string{"system"}, Commands: []string{"system.which"}})
	if err != nil {
		t.Fatalf("node connect: %v", err)
	}
	var rid string
	eventually(t, "the node's surface request on gw-2", func() string {
		if _, pending := pairedNodes(t, ops[2]); len(pending) == 1 {
			rid = pending[0].RequestID
			return ""
		}
		return "no request"
	})
	if _, err := callCtx(ops[2], "node.pair.approve", map[string]any{"requestId": rid}); err != nil {
		t.Fatalf("node.pair.approve: %v", err)
	}
	for _, i := range []int{0, 1} {
		eventually(t, fmt.Sprintf("gw-%d lists the node as paired", i), func() string {
			paired, _ := pairedNodes(t, ops[i])
			if n, ok := paired[id.ID]; !ok || len(n.Commands) != 1 || n.Commands[0] != "system.which" {
				return fmt.Sprintf("paired: %+v", paired)
			}
			return ""
		})
	}

	if _, err := callCtx(ops[0], "node.rename", map[string]any{"nodeId": id.ID, "displayName": "renamed"}); err != nil {
		t.Fatalf("node.rename: %v", err)
	}
	for _, i := range []int{1, 2} {
		eventually(t, fmt.Sprintf("gw-%d shows the new name", i), func() string {
			raw, err := callCtx(ops[i], "node.describe", map[string]any{"nodeId": id.ID})
			if err != nil {
				return err.Error()
			}
			var n protocol.NodeInfo
			_ = json.Unmarshal(raw, &n)
			if n.DisplayName != "renamed" {
				return "displayName " + n.DisplayName
			}
			return ""
		})
	}

	if _, err := callCtx(ops[1], "node.pair.remove", map[string]any{"nodeId": id.ID}); err != nil {
		t.Fatalf("node.pair.remove: %v", err)
	}
	if ce := waitClosed(t, node); ce.Code != 4001 {
		t.Fatalf("node socket closed with %+v", ce)
	}
	for i := range gws {
		eventually(t, fmt.Sprintf("gw-%d forgets the node", i), func() string {
			if m, _ := pairedNodes(t, ops[i]); len(m) != 0 {
				return fmt.Sprintf("still paired: %v", m)
			}
			return ""
		})
	}
}

package devices_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"openclaw/actors/gateway"
	"openclaw/actors/gateway/gatewaytest"
	"openclaw/transport/auth"
	"openclaw/transport/client"
	"openclaw/transport/protocol"
)

const waitFor = 5 * time.Second

// dial connects with o (URL and a short deadline filled in).
func dial(gw *gatewaytest.Gateway, o client.Options) (*client.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	o.URL, o.EventBuffer = gw.URL, 1024
	return client.Dial(ctx, o)
}

func mustDial(t *testing.T, gw *gatewaytest.Gateway, o client.Options) *client.Client {
	t.Helper()
	c, err := dial(gw, o)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// op is a local CLI with the shared secret and these scopes (no device).
func op(t *testing.T, gw *gatewaytest.Gateway, scopes ...string) *client.Client {
	return mustDial(t, gw, client.Options{Token: gatewaytest.Token, Scopes: scopes})
}

func admin(t *testing.T, gw *gatewaytest.Gateway) *client.Client {
	return op(t, gw, "operator.admin", "operator.pairing", "operator.read", "operator.write")
}

// device is an operator device's connect options.
func device(id *auth.Identity, scopes ...string) client.Options {
	return client.Options{Token: gatewaytest.Token, Identity: id, ClientID: "openclaw-control-ui", Mode: "ui", Scopes: scopes}
}

func call(t *testing.T, c *client.Client, method string, params any) (json.RawMessage, *protocol.ErrorShape) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
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

func must[T any](t *testing.T, c *client.Client, method string, params any) T {
	t.Helper()
	res, e := call(t, c, method, params)
	if e != nil {
		t.Fatalf("%s: %s %s", method, e.Code, e.Message)
	}
	var v T
	if err := json.Unmarshal(res, &v); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return v
}

func event(t *testing.T, c *client.Client, name string) json.RawMessage {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case e := <-c.Events():
			if e.Event == name {
				return e.Payload
			}
		case <-deadline:
			t.Fatalf("no %s event", name)
		}
	}
}

// pairingError is a connect refused for pairing.
func pairingError(t *testing.T, err error) *protocol.ErrorShape {
	t.Helper()
	var e *protocol.ErrorShape
	if !errors.As(err, &e) || e.Code != "NOT_PAIRED" {
		t.Fatalf("connect: %v, want NOT_PAIRED", err)
	}
	return e
}

func closed(t *testing.T, c *client.Client) *client.CloseError {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(waitFor):
		t.Fatal("socket still open")
	}
	ce, ok := c.Err().(*client.CloseError)
	if !ok {
		t.Fatalf("closed without a close frame: %v", c.Err())
	}
	return ce
}

// TestDevicePairing: a device that is not paired automatically waits for an
// operator: the request is listed and announced, approved by someone
// holding what it asks for, and the device then connects with its token.
func TestDevicePairing(t *testing.T) {
	gw := gatewaytest.Start(t, func(o *gateway.Options) { o.AutoApproveLocal = false })
	adm := admin(t, gw)
	id := auth.NewIdentity()
	_, err := dial(gw, device(&id, "operator.read", "operator.write"))
	e := pairingError(t, err)
	d := e.Details.(map[string]any)
	if e.Message != "pairing required: device is not approved yet" || d["code"] != "PAIRING_REQUIRED" || d["deviceId"] != id.ID ||
		d["reason"] != "not-paired" || d["requestedRole"] != "operator" ||
		!reflect.DeepEqual(d["requestedScopes"], []any{"operator.read", "operator.write"}) {
		t.Fatalf("refusal %+v", e)
	}
	var req protocol.DevicePairRequest
	_ = json.Unmarshal(event(t, adm, "device.pair.requested"), &req)
	if req.RequestID != d["requestId"] || req.DeviceID != id.ID || req.Role != "operator" || req.ClientID != "openclaw-control-ui" {
		t.Fatalf("device.pair.requested %+v", req)
	}
	// Asking again reuses the request.
	_, err = dial(gw, device(&id, "operator.read", "operator.write"))
	if pairingError(t, err).Details.(map[string]any)["requestId"] != req.RequestID {
		t.Fatal("a second connect made a second request")
	}
	l := must[protocol.DevicePairList](t, adm, "device.pair.list", nil)
	if len(l.Pending) != 1 || l.Pending[0].RequestID != req.RequestID || len(l.Paired) != 0 {
		t.Fatalf("device.pair.list %+v", l)
	}

	// A pairer without write may not hand write out.
	pairer := op(t, gw, "operator.pairing", "operator.read")
	if _, e := call(t, pairer, "device.pair.approve", map[string]any{"requestId": req.RequestID}); e == nil ||
		e.Message != "device pairing approval denied: missing scope operator.write" {
		t.Fatalf("approve without write: %+v", e)
	}
	ok := must[protocol.DevicePairApproved](t, op(t, gw, "operator.pairing", "operator.read", "operator.write"),
		"device.pair.approve", map[string]any{"requestId": req.RequestID})
	if ok.Device.DeviceID != id.ID || ok.Device.ApprovedVia != "owner" || len(ok.Device.Tokens) != 1 ||
		ok.Device.Tokens[0].Role != "operator" {
		t.Fatalf("approved %+v", ok)
	}
	var res protocol.DevicePairResolved
	_ = json.Unmarshal(event(t, adm, "device.pair.resolved"), &res)
	if res.Decision != "approved" || res.DeviceID != id.ID {
		t.Fatalf("resolved %+v", res)
	}
	c := mustDial(t, gw, device(&id, "operator.read"))
	var hello struct{ Auth protocol.HelloAuth }
	_ = json.Unmarshal(c.Hello, &hello)
	if hello.Auth.DeviceToken == "" {
		t.Fatal("no device token after approval")
	}
	l = must[protocol.DevicePairList](t, adm, "device.pair.list", nil)
	if len(l.Pending) != 0 || len(l.Paired) != 1 || l.Paired[0].Connected == nil || !*l.Paired[0].Connected {
		t.Fatalf("after approval %+v", l)
	}

	// Reject: the next one.
	other := auth.NewIdentity()
	_, err = dial(gw, device(&other))
	rid := pairingError(t, err).Details.(map[string]any)["requestId"].(string)
	rej := must[protocol.DevicePairRejected](t, adm, "device.pair.reject", map[string]any{"requestId": rid})
	if rej.DeviceID != other.ID {
		t.Fatalf("reject %+v", rej)
	}
	for _, m := range []string{"device.pair.approve", "device.pair.reject"} {
		if _, e := call(t, adm, m, map[string]any{"requestId": rid}); e == nil || e.Message != "unknown requestId" {
			t.Fatalf("%s of a rejected request: %+v", m, e)
		}
	}
}

// TestNodeDevicePairingNeedsAdmin: pairing a device for the node role is
// an admin's decision.
func TestNodeDevicePairingNeedsAdmin(t *testing.T) {
	gw := gatewaytest.Start(t, func(o *gateway.Options) { o.AutoApproveLocal = false })
	id := auth.NewIdentity()
	node := client.Options{Token: gatewaytest.Token, Identity: &id, Role: "node", ClientID: "node-host", Mode: "node"}
	_, err := dial(gw, node)
	d := pairingError(t, err).Details.(map[string]any)
	if d["requestedRole"] != "node" || d["requestedScopes"] != nil {
		t.Fatalf("details %+v", d)
	}
	rid := d["requestId"]
	if _, e := call(t, op(t, gw, "operator.pairing"), "device.pair.approve", map[string]any{"requestId": rid}); e == nil ||
		e.Message != "device pairing approval denied" {
		t.Fatalf("approve a node without admin: %+v", e)
	}
	must[protocol.DevicePairApproved](t, admin(t, gw), "device.pair.approve", map[string]any{"requestId": rid})
	mustDial(t, gw, node)
}

// TestRevokeClosesSockets: revoking a role's token closes every socket of
// that device and role, at once; the token no longer works, and the device
// is not paired again without an operator, even on loopback.
func TestRevokeClosesSockets(t *testing.T) {
	gw := gatewaytest.Start(t, nil)
	adm := admin(t, gw)
	id := auth.NewIdentity()
	first := mustDial(t, gw, device(&id, "operator.read"))
	var hello struct{ Auth protocol.HelloAuth }
	_ = json.Unmarshal(first.Hello, &hello)
	tok := hello.Auth.DeviceToken
	byToken := mustDial(t, gw, client.Options{DeviceToken: tok, Identity: &id, ClientID: "openclaw-control-ui", Mode: "ui",
		Scopes: []string{"operator.read"}})
	bystander := mustDial(t, gw, device(new(auth.NewIdentity()), "operator.read"))

	r := must[protocol.DeviceTokenRevoked](t, op(t, gw, "operator.pairing", "operator.read"), "device.token.revoke",
		map[string]any{"deviceId": id.ID, "role": "operator"})
	if r.DeviceID != id.ID || r.Role != "operator" || r.RevokedAtMs == 0 {
		t.Fatalf("revoke %+v", r)
	}
	for _, c := range []*client.Client{first, byToken} {
		if ce := closed(t, c); ce.Code != 4001 || ce.Reason != "device removed" {
			t.Fatalf("close %+v", ce)
		}
	}
	if _, e := call(t, bystander, "health", nil); e != nil {
		t.Fatalf("another device's socket: %+v", e)
	}
	_, err := dial(gw, client.Options{DeviceToken: tok, Identity: &id, ClientID: "openclaw-control-ui", Mode: "ui"})
	var e *protocol.ErrorShape
	if !errors.As(err, &e) || e.Details.(map[string]any)["code"] != "AUTH_DEVICE_TOKEN_MISMATCH" {
		t.Fatalf("revoked token: %v", err)
	}
	_, err = dial(gw, device(&id, "operator.read"))
	d := pairingError(t, err).Details.(map[string]any)
	if d["reason"] != "role-upgrade" {
		t.Fatalf("after revoke: %+v", d)
	}
	l := must[protocol.DevicePairList](t, adm, "device.pair.list", nil)
	if len(l.Pending) != 1 || !l.Pending[0].IsRepair {
		t.Fatalf("pending after revoke %+v", l.Pending)
	}
	for _, p := range l.Paired {
		if p.DeviceID == id.ID && (len(p.Roles) != 0 || p.Tokens[0].RevokedAtMs == 0) {
			t.Fatalf("revoked device listed as %+v", p)
		}
	}
	must[protocol.DevicePairApproved](t, adm, "device.pair.approve", map[string]any{"requestId": d["requestId"]})
	mustDial(t, gw, device(&id, "operator.read"))
}

// TestRotate: a new token, the old one void and its sockets closed; the
// token is returned only to the device itself.
func TestRotate(t *testing.T) {
	gw := gatewaytest.Start(t, nil)
	adm := admin(t, gw)
	id := auth.NewIdentity()
	self := mustDial(t, gw, device(&id, "operator.pairing", "operator.read"))
	var hello struct{ Auth protocol.HelloAuth }
	_ = json.Unmarshal(self.Hello, &hello)
	old := hello.Auth.DeviceToken

	cross := must[protocol.DeviceTokenRotated](t, adm, "device.token.rotate", map[string]any{"deviceId": id.ID, "role": "operator"})
	if cross.Token != "" || cross.TokenDelivery != "withheld-cross-device" || cross.RotatedAtMs == 0 {
		t.Fatalf("cross-device rotate %+v", cross)
	}
	closed(t, self)
	if _, err := dial(gw, client.Options{DeviceToken: old, Identity: &id, ClientID: "openclaw-control-ui", Mode: "ui"}); err == nil {
		t.Fatal("the old token still works")
	}
	// The device learns its token again with the shared secret, then
	// rotates its own: it gets it in-band.
	self = mustDial(t, gw, device(&id, "operator.pairing", "operator.read"))
	_ = json.Unmarshal(self.Hello, &hello)
	byToken := mustDial(t, gw, client.Options{DeviceToken: hello.Auth.DeviceToken, Identity: &id, ClientID: "openclaw-control-ui",
		Mode: "ui", Scopes: []string{"operator.pairing", "operator.read"}})
	own := must[protocol.DeviceTokenRotated](t, byToken, "device.token.rotate", map[string]any{"deviceId": id.ID, "role": "operator"})
	if own.Token == "" || own.TokenDelivery != "in-band" {
		t.Fatalf("own rotate %+v", own)
	}
	mustDial(t, gw, client.Options{DeviceToken: own.Token, Identity: &id, ClientID: "openclaw-control-ui", Mode: "ui"})

	// A device-token caller may not touch another device, nor a node token
	// without admin.
	other := auth.NewIdentity()
	mustDial(t, gw, device(&other))
	byToken2 := mustDial(t, gw, client.Options{DeviceToken: own.Token, Identity: &id, ClientID: "openclaw-control-ui",
		Mode: "ui", Scopes: []string{"operator.pairing"}})
	for _, m := range []string{"device.token.rotate", "device.token.revoke"} {
		if _, e := call(t, byToken2, m, map[string]any{"deviceId": other.ID, "role": "operator"}); e == nil ||
			!strings.HasSuffix(e.Message, "denied") {
			t.Fatalf("%s of another device: %+v", m, e)
		}
		if _, e := call(t, adm, m, map[string]any{"deviceId": "no-such-device", "role": "operator"}); e == nil ||
			!strings.HasSuffix(e.Message, "denied") {
			t.Fatalf("%s of an unknown device: %+v", m, e)
		}
	}
	if _, e := call(t, byToken2, "device.pair.remove", map[string]any{"deviceId": other.ID}); e == nil ||
		e.Message != "device pairing removal denied" {
		t.Fatalf("remove another device: %+v", e)
	}
}

// TestRemove: a removed device's sockets close and it must pair again.
func TestRemove(t *testing.T) {
	gw := gatewaytest.Start(t, nil)
	adm := admin(t, gw)
	id := auth.NewIdentity()
	c := mustDial(t, gw, device(&id, "operator.read"))
	if r := must[protocol.DeviceRef](t, adm, "device.pair.remove", map[string]any{"deviceId": id.ID}); r.DeviceID != id.ID {
		t.Fatalf("remove %+v", r)
	}
	if ce := closed(t, c); ce.Code != 4001 {
		t.Fatalf("close %+v", ce)
	}
	if _, e := call(t, adm, "device.pair.remove", map[string]any{"deviceId": id.ID}); e == nil || e.Message != "unknown deviceId" {
		t.Fatalf("remove twice: %+v", e)
	}
	if l := must[protocol.DevicePairList](t, adm, "device.pair.list", nil); len(l.Paired) != 0 {
		t.Fatalf("still listed %+v", l)
	}
	recs, err := gw.Store().Scan(context.Background(), "devices")
	if err != nil || len(recs) != 0 {
		t.Fatalf("still in the state database: %v %v", recs, err)
	}
}

// TestNodePairVerify: the runbook's token check for a paired node.
func TestNodePairVerify(t *testing.T) {
	gw := gatewaytest.Start(t, nil)
	adm := admin(t, gw)
	id := auth.NewIdentity()
	n := mustDial(t, gw, client.Options{Token: gatewaytest.Token, Identity: &id, Role: "node", ClientID: "node-host", Mode: "node"})
	var hello struct{ Auth protocol.HelloAuth }
	_ = json.Unmarshal(n.Hello, &hello)
	cases := []struct {
		node, token string
		want        protocol.NodePairVerified
	}{
		{id.ID, hello.Auth.DeviceToken, protocol.NodePairVerified{OK: true, NodeID: id.ID, Paired: true}},
		{id.ID, "wrong", protocol.NodePairVerified{OK: false, NodeID: id.ID, Paired: true}},
		{"nobody", "x", protocol.NodePairVerified{OK: false, NodeID: "nobody", Paired: false}},
	}
	for _, c := range cases {
		if got := must[protocol.NodePairVerified](t, adm, "node.pair.verify", map[string]any{"nodeId": c.node, "token": c.token}); got != c.want {
			t.Fatalf("verify %s/%s = %+v, want %+v", c.node, c.token, got, c.want)
		}
	}
}

// TestLegacyRecord: a device paired by an older version (one token for all
// its roles) keeps working with that token.
func TestLegacyRecord(t *testing.T) {
	dir := t.TempDir()
	id := auth.NewIdentity()
	gw := gatewaytest.Start(t, func(o *gateway.Options) { o.StateDir = dir })
	legacy, _ := json.Marshal(map[string]any{"deviceId": id.ID, "publicKey": id.Sign(auth.SignedFields{}).PublicKey,
		"roles": []string{"operator"}, "scopes": []string{"operator.read"}, "token": "legacy-token-legacy-token-legacy-token-abcd",
		"tokenIssuedAtMs": 1, "createdAtMs": 1, "approvedAtMs": 1})
	if err := gw.Store().Put(context.Background(), "devices", id.ID, legacy); err != nil {
		t.Fatal(err)
	}
	if err := gw.Stop(context.Background(), "test", 0); err != nil {
		t.Fatal(err)
	}
	gw = gatewaytest.Start(t, func(o *gateway.Options) { o.StateDir = dir })
	mustDial(t, gw, client.Options{DeviceToken: "legacy-token-legacy-token-legacy-token-abcd", Identity: &id,
		ClientID: "openclaw-control-ui", Mode: "ui", Scopes: []string{"operator.read"}})
}

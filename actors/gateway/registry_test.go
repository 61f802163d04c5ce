package gateway_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"openclaw/actors/gateway"
	"openclaw/actors/gateway/gatewaytest"
	"openclaw/actors/methods"
	"openclaw/transport/protocol"
)

// minimalParams are valid params for every registered method: each call
// reaches the method's owner, which must answer. A method added to the
// registry without a row here fails TestEveryMethodAnswers.
var minimalParams = map[string]map[string]any{
	"health":                        {},
	"status":                        {},
	"system-presence":               {},
	"system-event":                  {"text": "registry test"},
	"logs.tail":                     {"limit": 1},
	"gateway.identity.get":          {},
	"config.get":                    {},
	"config.apply":                  {"config": map[string]any{}, "baseHash": "stale"},
	"config.patch":                  {"patch": map[string]any{}, "baseHash": "stale"},
	"agent":                         {"message": "hi", "idempotencyKey": "registry-agent"},
	"agent.wait":                    {"runId": "no-such-run", "timeoutMs": 1},
	"chat.send":                     {"sessionKey": "agent:main:main", "message": "hi", "idempotencyKey": "registry-chat"},
	"chat.abort":                    {"sessionKey": "agent:main:main"},
	"chat.history":                  {"sessionKey": "agent:main:main"},
	"chat.startup":                  {"sessionKey": "agent:main:main"},
	"chat.metadata":                 {},
	"agent.identity.get":            {},
	"sessions.messages.subscribe":   {"key": "agent:main:main"},
	"sessions.messages.unsubscribe": {"key": "agent:main:main"},
	"diagnostics.lanes":             {},
	"update.status":                 {},
	"send":                          {"to": "42", "message": "hi", "idempotencyKey": "registry-send"},
	"channels.pairing.list":         {},
	"channels.pairing.approve":      {"channel": "nope", "code": "ABCD2345"},

	"node.list":           {},
	"node.describe":       {"nodeId": "nope"},
	"node.rename":         {"nodeId": "nope", "displayName": "x"},
	"node.invoke":         {"nodeId": "nope", "command": "system.which", "idempotencyKey": "registry-invoke"},
	"node.pair.list":      {},
	"node.pair.approve":   {"requestId": "nope"},
	"node.pair.reject":    {"requestId": "nope"},
	"node.pair.remove":    {"nodeId": "nope"},
	"node.pair.verify":    {"nodeId": "nope", "token": "t"},
	"device.pair.list":    {},
	"device.pair.approve": {"requestId": "nope"},
	"device.pair.reject":  {"requestId": "nope"},
	"device.pair.remove":  {"deviceId": "nope"},
	"device.token.rotate": {"deviceId": "nope", "role": "operator"},
	"device.token.revoke": {"deviceId": "nope", "role": "operator"},
	// Node-role methods: an operator gets "unauthorized role", which still
	// proves the method is registered (actors/nodes TestNodeRoleMethods calls them
	// as a node).
	"node.invoke.result":          {"id": "x", "nodeId": "x", "ok": true},
	"node.invoke.progress":        {"invokeId": "x", "nodeId": "x", "seq": 0, "chunk": ""},
	"node.event":                  {"event": "x"},
	"node.skills.update":          {"skills": []any{}},
	"node.pluginTools.update":     {"tools": []any{}},
	"node.runnerInventory.update": {"protocolFeatures": []any{}},
	"node.pending.pull":           {},
	"node.pending.ack":            {"ids": []any{"x"}},
	"node.pair.request":           {},
	"sessions.list":               {},
	"sessions.preview":            {"keys": []string{"agent:main:main"}},
	"sessions.describe":           {"key": "agent:main:main"},
	"sessions.groups.list":        {},
	"sessions.groups.defaults":    {},
	"sessions.catalog.list":       {"agentId": "main", "limitPerHost": 40},
	"sessions.patch":              {"key": "agent:main:registry", "label": "registry"},
	"sessions.reset":              {"key": "agent:main:registry"},
	"sessions.delete":             {"key": "agent:main:registry"},
	"sessions.compact":            {"key": "agent:main:registry"},
	"sessions.subscribe":          {},
	"chat.inject":                 {"sessionKey": "agent:main:main", "message": "hi"},
	"usage.status":                {},
	"usage.cost":                  {"days": 1},
	"config.set":                  {"raw": "{", "baseHash": "stale"},
	"config.schema":               {},
	"config.schema.lookup":        {"path": "gateway.port"},
	"models.list":                 {},
	"models.authStatus":           {},
	"agents.list":                 {},
	"tools.catalog":               {},
	"exec.approval.list":          {},
	"plugin.approval.list":        {},
	"openclaw.approval.list":      {},
	"system.info":                 {},
	"channels.status":             {},
	"channels.start":              {"channel": "telegram"},
	"channels.stop":               {"channel": "telegram"},
	"channels.logout":             {"channel": "telegram"},
	"channels.pairing.dismiss":    {"channel": "telegram", "accountId": "default", "requestId": "r"},
	"cron.list":                   {},
	"cron.status":                 {},
	"cron.add": {"name": "registry", "schedule": map[string]any{"kind": "every", "everyMs": 3600000}, "sessionTarget": "isolated",
		"wakeMode": "now", "payload": map[string]any{"kind": "agentTurn", "message": "hi"}},
	"cron.update":    {"id": "nope", "patch": map[string]any{"enabled": false}},
	"cron.remove":    {"id": "nope"},
	"cron.run":       {"id": "nope"},
	"cron.runs":      {},
	"wake":           {"mode": "next-heartbeat", "text": "registry"},
	"last-heartbeat": {},
	"set-heartbeats": {"enabled": true},
	"message.action": {"channel": "telegram", "action": "send", "params": map[string]any{"target": "1", "message": "x"}, "idempotencyKey": "k"},
}

// TestEveryMethodAnswers calls every method the registry declares with
// valid params, as an admin: each is routed to an owner that answers (ok or
// a protocol error), and hello-ok lists exactly the registry's methods.
func TestEveryMethodAnswers(t *testing.T) {
	gw := gatewaytest.Start(t, nil)
	adm, hello := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	listed := hello["features"].(map[string]any)["methods"].([]any)
	if len(listed) != len(methods.Registry.Names()) {
		t.Fatalf("hello-ok lists %d methods, the registry %d", len(listed), len(methods.Registry.Names()))
	}
	for i, name := range methods.Registry.Names() {
		if listed[i] != name {
			t.Fatalf("hello-ok method %d = %v, registry %s", i, listed[i], name)
		}
		params, ok := minimalParams[name]
		if !ok {
			t.Errorf("%s: no row in minimalParams (add one with valid params)", name)
			continue
		}
		f := adm.Call("m-"+name, name, params)
		if !f.OK && (strings.HasPrefix(f.Error.Message, "unknown method") || strings.HasPrefix(f.Error.Message, "invalid "+name+" params")) {
			t.Errorf("%s: %s", name, f.Raw)
		}
	}
}

// TestGatewayIdentity: gateway.identity.get answers the gateway's own
// Ed25519 identity (the device id is the hex SHA-256 of the raw public key),
// the same after a restart on the same state directory.
func TestGatewayIdentity(t *testing.T) {
	dir := t.TempDir()
	get := func() protocol.GatewayIdentity {
		gw := gatewaytest.Start(t, func(o *gateway.Options) { o.StateDir = dir })
		rd, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
		f := rd.Call("i", "gateway.identity.get", nil)
		if !f.OK {
			t.Fatalf("gateway.identity.get: %s", f.Raw)
		}
		if err := gw.Stop(context.Background(), "test", 0); err != nil {
			t.Fatal(err)
		}
		return gatewaytest.Decode[protocol.GatewayIdentity](t, f.Payload)
	}
	first := get()
	pub, err := base64.RawURLEncoding.DecodeString(first.PublicKey)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		t.Fatalf("publicKey %q is not a raw Ed25519 key in base64url", first.PublicKey)
	}
	if sum := sha256.Sum256(pub); first.DeviceID != hex.EncodeToString(sum[:]) {
		t.Fatalf("deviceId %s is not the SHA-256 of the key", first.DeviceID)
	}
	if again := get(); again != first {
		t.Fatalf("identity changed across a restart: %+v then %+v", first, again)
	}
}

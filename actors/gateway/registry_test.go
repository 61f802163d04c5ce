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
	"sessions.messages.subscribe":   {"key": "agent:main:main"},
	"sessions.messages.unsubscribe": {"key": "agent:main:main"},
	"send":                          {"to": "42", "message": "hi", "idempotencyKey": "registry-send"},
	"channels.pairing.list":         {},
	"channels.pairing.approve":      {"channel": "nope", "code": "ABCD2345"},
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

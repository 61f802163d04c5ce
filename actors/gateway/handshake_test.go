package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"openclaw/actors/gateway/gatewaytest"
	"openclaw/actors/methods"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"openclaw/actors/gateway"
	"openclaw/transport/auth"
)

// TestFirstFrameRules covers every row of docs/PROTOCOL.md §3.2: what the server
// answers and the exact close code and reason.
func TestFirstFrameRules(t *testing.T) {
	gw := gatewaytest.Start(t, nil)
	validClient := map[string]any{"id": "cli", "version": "1", "platform": "linux", "mode": "cli"}
	tests := []struct {
		name       string
		frame      string
		wantErr    string // "" = no response expected
		wantDetail map[string]any
		wantCode   uint16
		wantReason string
	}{
		{name: "malformed JSON", frame: `{"type":"req",`, wantCode: 1000, wantReason: ""},
		{name: "not a request frame", frame: `{"hello":"world"}`, wantCode: 1008, wantReason: "invalid request frame"},
		{name: "numeric id", frame: `{"type":"req","id":1,"method":"connect","params":{}}`, wantCode: 1008, wantReason: "invalid request frame"},
		{name: "not connect", frame: `{"type":"req","id":"a1","method":"health"}`,
			wantErr: "invalid handshake: first request must be connect", wantCode: 1008, wantReason: "invalid handshake: first request must be connect"},
		{name: "connect schema: extra property", frame: mustJSON(map[string]any{"type": "req", "id": "a1", "method": "connect",
			"params": map[string]any{"minProtocol": 4, "maxProtocol": 4, "client": validClient, "bogus": true}}),
			wantErr: "invalid connect params: at root: unexpected property 'bogus'", wantCode: 1008, wantReason: "invalid connect params: at root: unexpected property 'bogus'"},
		{name: "connect schema: client.id enum", frame: mustJSON(map[string]any{"type": "req", "id": "a1", "method": "connect",
			"params": map[string]any{"minProtocol": 4, "maxProtocol": 4, "client": map[string]any{"id": "nope", "version": "1", "platform": "linux", "mode": "cli"}}}),
			wantErr: "invalid connect params: at /client/id: must be equal to one of the allowed values", wantCode: 1008,
			wantReason: "invalid connect params: at /client/id: must be equal to one of the allowed values"},
		{name: "connect schema: client.mode enum", frame: mustJSON(map[string]any{"type": "req", "id": "a1", "method": "connect",
			"params": map[string]any{"minProtocol": 4, "maxProtocol": 4, "client": map[string]any{"id": "cli", "version": "1", "platform": "linux", "mode": "robot"}}}),
			wantErr: "invalid connect params: at /client/mode: must be equal to one of the allowed values", wantCode: 1008,
			wantReason: "invalid connect params: at /client/mode: must be equal to one of the allowed values"},
		{name: "protocol mismatch", frame: mustJSON(map[string]any{"type": "req", "id": "a1", "method": "connect",
			"params": map[string]any{"minProtocol": 1, "maxProtocol": 2, "client": validClient, "auth": map[string]any{"token": gatewaytest.Token}}}),
			wantErr: "protocol mismatch", wantDetail: map[string]any{"code": "PROTOCOL_MISMATCH", "clientMinProtocol": 1.0, "clientMaxProtocol": 2.0, "expectedProtocol": 4.0},
			wantCode: 1002, wantReason: "protocol mismatch"},
		{name: "invalid role", frame: mustJSON(map[string]any{"type": "req", "id": "a1", "method": "connect",
			"params": map[string]any{"minProtocol": 4, "maxProtocol": 4, "client": validClient, "role": "root", "auth": map[string]any{"token": gatewaytest.Token}}}),
			wantErr: "invalid role", wantCode: 1008, wantReason: "invalid role"},
		{name: "auth failure", frame: mustJSON(map[string]any{"type": "req", "id": "a1", "method": "connect",
			"params": map[string]any{"minProtocol": 4, "maxProtocol": 4, "client": validClient, "auth": map[string]any{"token": "wrong"}}}),
			wantErr:    "unauthorized: gateway token mismatch (use this gateway's gateway.auth.token or pair the device)",
			wantDetail: map[string]any{"code": "AUTH_TOKEN_MISMATCH"}, wantCode: 1008,
			wantReason: "unauthorized: gateway token mismatch (use this gateway's gateway.auth.token or pair the device)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := gatewaytest.Dial(t, gw.URL)
			w.Send(tt.frame)
			if tt.wantErr != "" {
				f := w.Next()
				if f.Type != "res" || f.OK || f.Error == nil || f.Error.Code != "INVALID_REQUEST" || f.Error.Message != tt.wantErr {
					t.Fatalf("response = %s, want INVALID_REQUEST %q", f.Raw, tt.wantErr)
				}
				for k, v := range tt.wantDetail {
					if got := f.Error.Details[k]; !reflect.DeepEqual(got, v) {
						t.Errorf("details[%s] = %v, want %v", k, got, v)
					}
				}
			}
			code, reason := w.Closed()
			if code != tt.wantCode || reason != tt.wantReason {
				t.Fatalf("closed %d %q, want %d %q", code, reason, tt.wantCode, tt.wantReason)
			}
			select {
			case f := <-w.Frames():
				t.Fatalf("unexpected frame: %s", f.Raw)
			default:
			}
		})
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestLegacyProtocol: probes and v3 nodes may offer protocol 3 only; an
// operator may not.
func TestLegacyProtocol(t *testing.T) {
	gw := gatewaytest.Start(t, nil)
	node := auth.NewIdentity()
	tests := []struct {
		name string
		c    gatewaytest.Client
		ok   bool
	}{
		{"probe 3..3", gatewaytest.Client{ID: "cli", Mode: "probe", Token: gatewaytest.Token, Min: 3, Max: 3}, true},
		{"node 3..3", gatewaytest.Client{ID: "node-host", Mode: "node", Role: "node", Token: gatewaytest.Token, Identity: &node, Min: 3, Max: 3}, true},
		{"operator 3..3", gatewaytest.Client{ID: "cli", Mode: "cli", Token: gatewaytest.Token, Min: 3, Max: 3}, false},
		{"operator 4..9", gatewaytest.Client{ID: "cli", Mode: "cli", Token: gatewaytest.Token, Min: 4, Max: 9}, true},
		{"operator 5..6", gatewaytest.Client{ID: "cli", Mode: "cli", Token: gatewaytest.Token, Min: 5, Max: 6}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, res := gatewaytest.Connect(t, gw.URL, tt.c)
			if res.OK != tt.ok {
				t.Fatalf("ok = %v, want %v: %s", res.OK, tt.ok, res.Raw)
			}
			if res.OK && gatewaytest.Decode[map[string]any](t, res.Payload)["protocol"] != 4.0 {
				t.Fatalf("hello-ok.protocol is not 4: %s", res.Payload)
			}
		})
	}
}

func TestHandshakeTimeout(t *testing.T) {
	gw := gatewaytest.Start(t, func(o *gateway.Options) { o.Limits.HandshakeTimeout = 200 * time.Millisecond })
	w := gatewaytest.Dial(t, gw.URL)
	if code, _ := w.Closed(); code != 1000 {
		t.Fatalf("close code %d, want 1000", code)
	}
}

func TestPreAuthFrameTooLarge(t *testing.T) {
	gw := gatewaytest.Start(t, func(o *gateway.Options) { o.Limits.PreAuthMaxFrame = 1024 })
	w := gatewaytest.Dial(t, gw.URL)
	w.Send(`{"type":"req","id":"x","method":"connect","params":{"pad":"` + strings.Repeat("x", 2000) + `"}}`)
	if code, _ := w.Closed(); code != 1009 {
		t.Fatalf("close code %d, want 1009", code)
	}
	// After auth the larger limit applies.
	a, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	f := a.Call("big", "health", map[string]any{"probe": false, "pad": strings.Repeat("x", 2000)})
	if f.OK || !strings.HasPrefix(f.Error.Message, "invalid health params") {
		t.Fatalf("a 2 KB frame after auth should reach params validation, got %s", f.Raw)
	}
}

func TestPreAuthSocketsPerIP(t *testing.T) {
	gw := gatewaytest.Start(t, func(o *gateway.Options) { o.Limits.MaxPreAuthPerIP = 3 })
	for i := 0; i < 3; i++ {
		gatewaytest.Dial(t, gw.URL)
	}
	req, _ := http.NewRequest("GET", "http://127.0.0.1:"+itoa(gw.Port())+"/", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("4th pre-auth upgrade: HTTP %d, want 503", resp.StatusCode)
	}
	// An authenticated socket no longer counts.
	gw2 := gatewaytest.Start(t, func(o *gateway.Options) { o.Limits.MaxPreAuthPerIP = 1 })
	gatewaytest.MustConnect(t, gw2.URL, gatewaytest.Admin())
	gatewaytest.MustConnect(t, gw2.URL, gatewaytest.Admin())
}

func TestTooManyPendingHandshakeFrames(t *testing.T) {
	// Frames are held only while the handshake waits on the device store:
	// a new pairing is committed (an fsync) before hello-ok, and the frames
	// after connect are read meanwhile. A limit of 2 keeps the test far from
	// the race between the two.
	gw := gatewaytest.Start(t, func(o *gateway.Options) { o.Limits.MaxPendingFrames = 2 })
	c := gatewaytest.Reader(t)
	w := gatewaytest.Dial(t, gw.URL)
	var batch strings.Builder
	batch.WriteString(mustJSON(map[string]any{"type": "req", "id": "c1", "method": "connect", "params": c.Params(w.Nonce)}))
	for i := 0; i < 40; i++ {
		batch.WriteString(`{"type":"req","id":"p` + itoa(i) + `","method":"health"}`)
	}
	// Each request is its own WebSocket message; all of them go out in one
	// TCP write, so they are all read while the pairing commits.
	if _, err := w.NetConn().Write(maskedFrames(splitFrames(batch.String()))); err != nil {
		t.Fatal(err)
	}
	code, reason := w.Closed()
	if code != 1008 || reason != "too many pending handshake frames" {
		t.Fatalf("closed %d %q, want 1008 too many pending handshake frames", code, reason)
	}
}

// Devices an older version kept in devices/paired.json move into the state
// database at start, once.
func TestPairedDevicesMigrate(t *testing.T) {
	dir := t.TempDir()
	prefillDevices(t, dir, 3)
	gw := gatewaytest.Start(t, func(o *gateway.Options) { o.StateDir = dir })
	// The device actor migrates as it starts, alongside the listener: the
	// rows first, then the file is renamed.
	var recs map[string][]byte
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if recs, err = gw.Store().Scan(context.Background(), "devices"); err != nil {
			break
		}
		if _, serr := os.Stat(filepath.Join(dir, "devices", "paired.json.migrated")); len(recs) == 3 && serr == nil {
			break
		}
	}
	if err != nil || len(recs) != 3 {
		t.Fatalf("migrated %d devices, %v", len(recs), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "devices", "paired.json")); !os.IsNotExist(err) {
		t.Fatalf("paired.json still in place: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "devices", "paired.json.migrated")); err != nil {
		t.Fatal(err)
	}
}

// prefillDevices writes a legacy paired-device file with n unrelated devices.
func prefillDevices(t *testing.T, stateDir string, n int) {
	t.Helper()
	devs := make(map[string]any, n)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%064d", i)
		devs[id] = map[string]any{"deviceId": id, "publicKey": strings.Repeat("k", 43), "roles": []string{"operator"},
			"scopes": []string{"operator.read"}, "token": strings.Repeat("t", 43), "tokenIssuedAtMs": 1, "createdAtMs": 1, "approvedAtMs": 1}
	}
	b, err := json.Marshal(map[string]any{"version": 1, "devices": devs})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(stateDir, "devices"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stateDir, "devices", "paired.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// maskedFrames encodes gatewaytest.Client text frames (masked, with a zero key) back to
// back.
func maskedFrames(msgs []string) []byte {
	var b []byte
	for _, m := range msgs {
		b = append(b, 0x81)
		if n := len(m); n < 126 {
			b = append(b, 0x80|byte(n))
		} else {
			b = append(b, 0x80|126, byte(n>>8), byte(n))
		}
		b = append(b, 0, 0, 0, 0)
		b = append(b, m...)
	}
	return b
}

// splitFrames splits concatenated JSON objects.
func splitFrames(s string) []string {
	var out []string
	dec := json.NewDecoder(strings.NewReader(s))
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return out
		}
		out = append(out, string(raw))
	}
}

// TestPipelinedFramesAfterConnect: frames sent right behind connect are
// answered after hello-ok, in order.
func TestPipelinedFramesAfterConnect(t *testing.T) {
	gw := gatewaytest.Start(t, nil)
	for _, c := range []gatewaytest.Client{gatewaytest.Admin(), gatewaytest.Reader(t)} {
		w := gatewaytest.Dial(t, gw.URL)
		w.SendJSON(map[string]any{"type": "req", "id": "c1", "method": "connect", "params": c.Params(w.Nonce)})
		for i := 0; i < 5; i++ {
			w.Send(`{"type":"req","id":"p` + itoa(i) + `","method":"health"}`)
		}
		if f := w.Res("c1"); !f.OK {
			t.Fatalf("connect: %s", f.Raw)
		}
		for i := 0; i < 5; i++ {
			f := w.Next()
			for f.Type == "event" {
				f = w.Next()
			}
			if f.ID != "p"+itoa(i) || !f.OK {
				t.Fatalf("response %d = %s, want p%d ok", i, f.Raw, i)
			}
		}
	}
}

func TestHelloOK(t *testing.T) {
	gw := gatewaytest.Start(t, nil)
	_, hello := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	if hello["type"] != "hello-ok" || hello["protocol"] != 4.0 {
		t.Fatalf("type/protocol: %v %v", hello["type"], hello["protocol"])
	}
	server := hello["server"].(map[string]any)
	if server["version"] != gateway.Version || server["connId"] == "" || server["bootId"] == "" {
		t.Errorf("server = %v", server)
	}
	// The version is the reference release we speak for, bare (the
	// reference CLI flags any other string as a mismatch); the build is ours.
	if v, _ := server["version"].(string); strings.ContainsAny(v, "-+ ") {
		t.Errorf("server.version %q carries a suffix", v)
	}
	if b, _ := server["buildId"].(string); !strings.HasPrefix(b, "openclaw-go") {
		t.Errorf("server.buildId %q does not name this build", b)
	}
	features := hello["features"].(map[string]any)
	var wantMethods []any
	for _, n := range methods.Registry.Names() {
		wantMethods = append(wantMethods, n)
	}
	if !reflect.DeepEqual(features["methods"], wantMethods) {
		t.Errorf("features.methods = %v, want %v", features["methods"], wantMethods)
	}
	events := features["events"].([]any)
	for _, e := range []string{"connect.challenge", "tick", "presence", "health", "shutdown", "agent", "chat"} {
		if !contains(events, e) {
			t.Errorf("features.events lacks %s", e)
		}
	}
	snap := hello["snapshot"].(map[string]any)
	for _, k := range []string{"presence", "health", "stateVersion", "uptimeMs", "sessionDefaults", "configPath", "stateDir", "authMode"} {
		if _, ok := snap[k]; !ok {
			t.Errorf("snapshot lacks %s", k)
		}
	}
	policy := hello["policy"].(map[string]any)
	if policy["maxPayload"] != 26214400.0 || policy["maxBufferedBytes"] != 52428800.0 || policy["tickIntervalMs"] != 30000.0 {
		t.Errorf("policy = %v", policy)
	}
	a := hello["auth"].(map[string]any)
	if a["role"] != "operator" || a["method"] != "token" || !reflect.DeepEqual(a["scopes"], []any{"operator.admin"}) {
		t.Errorf("auth = %v", a)
	}
	if _, ok := a["deviceToken"]; ok {
		t.Errorf("deviceToken without a device: %v", a)
	}

	// A connection without operator.read sees no roster and no admin fields.
	_, h2 := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Client{Token: gatewaytest.Token})
	s2 := h2["snapshot"].(map[string]any)
	if len(s2["presence"].([]any)) != 0 {
		t.Errorf("presence shown without operator.read: %v", s2["presence"])
	}
	if _, ok := s2["configPath"]; ok {
		t.Errorf("configPath shown to a non-admin")
	}
}

func contains(list []any, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestAuthFailures(t *testing.T) {
	id := auth.NewIdentity()
	tests := []struct {
		name     string
		mode     auth.Mode
		c        gatewaytest.Client
		wantCode string // error.code
		wantDet  string // error.details.code
		wantMsg  string
	}{
		{"no secret, no device", auth.ModeToken, gatewaytest.Client{}, "NOT_PAIRED", "DEVICE_IDENTITY_REQUIRED", "device identity required"},
		{"device, no token", auth.ModeToken, gatewaytest.Client{Identity: &id}, "INVALID_REQUEST", "AUTH_TOKEN_MISSING",
			"unauthorized: gateway token missing (provide gateway auth token)"},
		{"wrong token", auth.ModeToken, gatewaytest.Client{Token: "nope"}, "INVALID_REQUEST", "AUTH_TOKEN_MISMATCH",
			"unauthorized: gateway token mismatch (provide gateway auth token)"},
		{"wrong password", auth.ModePassword, gatewaytest.Client{Password: "nope"}, "INVALID_REQUEST", "AUTH_PASSWORD_MISMATCH",
			"unauthorized: gateway password mismatch (provide gateway auth password)"},
		{"device, no password", auth.ModePassword, gatewaytest.Client{Identity: &id}, "INVALID_REQUEST", "AUTH_PASSWORD_MISSING",
			"unauthorized: gateway password missing (provide gateway auth password)"},
		{"node without device", auth.ModeToken, gatewaytest.Client{Role: "node", Mode: "node", ID: "node-host", Token: gatewaytest.Token}, "NOT_PAIRED", "DEVICE_IDENTITY_REQUIRED", "device identity required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gw := gatewaytest.Start(t, func(o *gateway.Options) { o.Secret = auth.Secret{Mode: tt.mode, Value: gatewaytest.Token} })
			w, res := gatewaytest.Connect(t, gw.URL, tt.c)
			if res.OK || res.Error.Code != tt.wantCode || res.Error.Details["code"] != tt.wantDet || res.Error.Message != tt.wantMsg {
				t.Fatalf("got %s, want %s/%s %q", res.Raw, tt.wantCode, tt.wantDet, tt.wantMsg)
			}
			if code, reason := w.Closed(); code != 1008 || reason != tt.wantMsg {
				t.Fatalf("closed %d %q", code, reason)
			}
		})
	}
}

func TestAuthSuccessModes(t *testing.T) {
	tests := []struct {
		name       string
		secret     auth.Secret
		c          gatewaytest.Client
		wantMethod string
	}{
		{"token", auth.Secret{Mode: auth.ModeToken, Value: gatewaytest.Token}, gatewaytest.Client{Token: gatewaytest.Token}, "token"},
		{"token sent as password", auth.Secret{Mode: auth.ModeToken, Value: gatewaytest.Token}, gatewaytest.Client{Password: gatewaytest.Token}, "token"},
		{"password", auth.Secret{Mode: auth.ModePassword, Value: "pw-123456"}, gatewaytest.Client{Password: "pw-123456"}, "password"},
		{"none", auth.Secret{Mode: auth.ModeNone}, gatewaytest.Client{}, "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gw := gatewaytest.Start(t, func(o *gateway.Options) { o.Secret = tt.secret })
			_, hello := gatewaytest.MustConnect(t, gw.URL, tt.c)
			if m := hello["auth"].(map[string]any)["method"]; m != tt.wantMethod {
				t.Fatalf("auth.method = %v, want %s", m, tt.wantMethod)
			}
		})
	}
}

func TestAuthRateLimit(t *testing.T) {
	gw := gatewaytest.Start(t, func(o *gateway.Options) {
		o.RateLimit = auth.RateLimit{MaxAttempts: 3, Window: time.Minute, Lockout: time.Minute, ExemptLoopback: false}
	})
	for i := 1; i <= 3; i++ {
		_, res := gatewaytest.Connect(t, gw.URL, gatewaytest.Client{Token: "wrong"})
		want := "AUTH_TOKEN_MISMATCH"
		if i == 3 {
			want = "AUTH_RATE_LIMITED"
		}
		if res.OK || res.Error.Details["code"] != want {
			t.Fatalf("attempt %d: %s, want %s", i, res.Raw, want)
		}
	}
	// Locked out: even the right token is refused, with a retry hint.
	_, res := gatewaytest.Connect(t, gw.URL, gatewaytest.Client{Token: gatewaytest.Token})
	if res.OK || res.Error.Details["code"] != "AUTH_RATE_LIMITED" || res.Error.Retryable == nil || !*res.Error.Retryable ||
		res.Error.RetryAfterMs == nil || *res.Error.RetryAfterMs <= 0 {
		t.Fatalf("locked out: %s", res.Raw)
	}
	if res.Error.Message != "unauthorized: too many failed authentication attempts (retry later)" {
		t.Fatalf("message %q", res.Error.Message)
	}

	// Loopback is exempt by default.
	gw2 := gatewaytest.Start(t, func(o *gateway.Options) {
		o.RateLimit = auth.RateLimit{MaxAttempts: 2, Window: time.Minute, Lockout: time.Minute, ExemptLoopback: true}
	})
	for i := 0; i < 4; i++ {
		gatewaytest.Connect(t, gw2.URL, gatewaytest.Client{Token: "wrong"})
	}
	gatewaytest.MustConnect(t, gw2.URL, gatewaytest.Client{Token: gatewaytest.Token})
}

func TestDeviceIdentity(t *testing.T) {
	gw := gatewaytest.Start(t, nil)
	id := auth.NewIdentity()
	good := gatewaytest.Client{ID: "openclaw-control-ui", Mode: "ui", Token: gatewaytest.Token, Identity: &id, Scopes: []string{"operator.read"}}

	t.Run("v3 pairs locally and returns a device token", func(t *testing.T) {
		_, hello := gatewaytest.MustConnect(t, gw.URL, good)
		a := hello["auth"].(map[string]any)
		tok, _ := a["deviceToken"].(string)
		if len(tok) != 43 || a["issuedAtMs"] == nil || a["method"] != "token" {
			t.Fatalf("auth = %v", a)
		}
		recs, err := gw.Store().Scan(context.Background(), "devices")
		if err != nil || len(recs) != 1 || !strings.Contains(string(recs[id.ID]), tok) {
			t.Fatalf("paired device not in the state database: %q %v", recs, err)
		}
		// The device token alone now authenticates this device.
		dt := good
		dt.Token, dt.DeviceToken = "", tok
		_, h2 := gatewaytest.MustConnect(t, gw.URL, dt)
		if m := h2["auth"].(map[string]any)["method"]; m != "device-token" {
			t.Fatalf("method = %v, want device-token", m)
		}
		// A wrong device token does not.
		dt.DeviceToken = strings.Repeat("A", 43)
		_, res := gatewaytest.Connect(t, gw.URL, dt)
		if res.OK || res.Error.Details["code"] != "AUTH_DEVICE_TOKEN_MISMATCH" {
			t.Fatalf("wrong device token: %s", res.Raw)
		}
	})
	t.Run("v2 payload", func(t *testing.T) {
		id2 := auth.NewIdentity()
		c := good
		c.Identity, c.V2 = &id2, true
		gatewaytest.MustConnect(t, gw.URL, c)
	})

	bad := []struct {
		name   string
		tamper func(*auth.DeviceProof)
		want   string
	}{
		{"stale", func(p *auth.DeviceProof) { p.SignedAt -= 10 * 60 * 1000 }, "DEVICE_AUTH_SIGNATURE_EXPIRED"},
		{"wrong nonce", func(p *auth.DeviceProof) { p.Nonce = "not-the-challenge" }, "DEVICE_AUTH_NONCE_MISMATCH"},
		{"empty nonce", func(p *auth.DeviceProof) { p.Nonce = "" }, "DEVICE_AUTH_NONCE_REQUIRED"},
		{"wrong id", func(p *auth.DeviceProof) { p.ID = strings.Repeat("ab", 32) }, "DEVICE_AUTH_DEVICE_ID_MISMATCH"},
		{"bad signature", func(p *auth.DeviceProof) { p.Signature = p.Signature[:10] + "AAAA" + p.Signature[14:] }, "DEVICE_AUTH_SIGNATURE_INVALID"},
		{"bad key", func(p *auth.DeviceProof) { p.PublicKey = "not-a-key" }, "DEVICE_AUTH_PUBLIC_KEY_INVALID"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			c.Tamper = tt.tamper
			w, res := gatewaytest.Connect(t, gw.URL, c)
			if res.OK || res.Error.Code != "INVALID_REQUEST" || res.Error.Details["code"] != tt.want {
				t.Fatalf("got %s, want %s", res.Raw, tt.want)
			}
			if code, _ := w.Closed(); code != 1008 {
				t.Fatalf("close %d, want 1008", code)
			}
		})
	}

	t.Run("pairing required when not auto-approved", func(t *testing.T) {
		gw := gatewaytest.Start(t, func(o *gateway.Options) { o.AutoApproveLocal = false })
		id := auth.NewIdentity()
		_, res := gatewaytest.Connect(t, gw.URL, gatewaytest.Client{Token: gatewaytest.Token, Identity: &id, Scopes: []string{"operator.read"}})
		if res.OK || res.Error.Code != "NOT_PAIRED" || res.Error.Message != "pairing required: device is not approved yet" ||
			res.Error.Details["code"] != "PAIRING_REQUIRED" || res.Error.Details["requestId"] == "" ||
			res.Error.Details["deviceId"] != id.ID || res.Error.Details["requestedRole"] != "operator" {
			t.Fatalf("got %s", res.Raw)
		}
	})
}

func itoa(i int) string { return strings.TrimSpace(strings.Replace(jsonNum(i), "\n", "", -1)) }

func jsonNum(i int) string { b, _ := json.Marshal(i); return string(b) }

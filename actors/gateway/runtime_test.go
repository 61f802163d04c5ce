package gateway_test

import (
	"context"
	"encoding/json"
	"openclaw/actors/gateway/gatewaytest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"openclaw/actors/core"
	"openclaw/actors/gateway"
	"openclaw/transport/auth"
	"openclaw/transport/protocol"

	"github.com/asynkron/protoactor-go/actor"
)

func TestScopes(t *testing.T) {
	gw := gatewaytest.Start(t, nil)
	noScopes, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Client{Token: gatewaytest.Token, Scopes: []string{"operator.admin"}}) // test/test, no device: cleared
	read, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	nodeID := auth.NewIdentity()
	node, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Client{ID: "node-host", Mode: "node", Role: "node", Token: gatewaytest.Token, Identity: &nodeID})

	tests := []struct {
		name    string
		w       *gatewaytest.Conn
		method  string
		params  any
		wantOK  bool
		code    string
		message string
	}{
		{"health needs no scope", noScopes, "health", nil, true, "", ""},
		{"status needs read", noScopes, "status", nil, false, "FORBIDDEN", "missing scope: operator.read"},
		{"reader gets status", read, "status", nil, true, "", ""},
		{"reader gets presence", read, "system-presence", nil, true, "", ""},
		{"system-event needs admin", read, "system-event", map[string]any{"text": "x"}, false, "FORBIDDEN", "missing scope: operator.admin"},
		{"admin posts system-event", adm, "system-event", map[string]any{"text": "x"}, true, "", ""},
		{"unknown method, admin", adm, "no.such", nil, false, "INVALID_REQUEST", "unknown method: no.such"},
		{"unknown method, reader", read, "no.such", nil, false, "INVALID_REQUEST", "unknown method: no.such"},
		// A method the reference serves and we do not: said so, whatever
		// the caller's scopes (tts.* needs admin at the reference).
		{"known method not served, no scopes", noScopes, "tts.status", nil, false, "UNAVAILABLE", "tts.status is not supported by this gateway"},
		{"known method not served, admin", adm, "tts.status", map[string]any{"x": 1}, false, "UNAVAILABLE", "tts.status is not supported by this gateway"},
		{"node calls an operator method", node, "status", nil, false, "INVALID_REQUEST", "unauthorized role: node"},
		{"node calls health", node, "health", nil, true, "", ""},
		{"second connect, admin", adm, "connect", map[string]any{}, false, "INVALID_REQUEST", "connect is only valid as the first request"},
		{"second connect, reader", read, "connect", map[string]any{}, false, "FORBIDDEN", "missing scope: operator.admin"},
		{"bad params", adm, "health", map[string]any{"probe": "yes"}, false, "INVALID_REQUEST", "invalid health params: at /probe: must be boolean"},
		{"closed params", adm, "status", map[string]any{"x": 1}, false, "INVALID_REQUEST", "invalid status params: at root: unexpected property 'x'"},
		{"blank system-event", adm, "system-event", map[string]any{"text": "  "}, false, "INVALID_REQUEST", "invalid system-event params: at /text: must not be blank"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.w.Call("r"+itoa(i), tt.method, tt.params)
			if f.OK != tt.wantOK {
				t.Fatalf("ok = %v: %s", f.OK, f.Raw)
			}
			if !tt.wantOK && (f.Error.Code != tt.code || f.Error.Message != tt.message) {
				t.Fatalf("error = %s, want %s %q", f.Raw, tt.code, tt.message)
			}
			if tt.code == "FORBIDDEN" && f.Error.Details["code"] != "MISSING_SCOPE" {
				t.Fatalf("FORBIDDEN without MISSING_SCOPE details: %s", f.Raw)
			}
			if tt.code == "UNAVAILABLE" && (f.Error.Details["code"] != "NOT_SUPPORTED" || f.Error.Details["method"] != tt.method) {
				t.Fatalf("UNAVAILABLE without NOT_SUPPORTED details: %s", f.Raw)
			}
		})
	}
}

func TestPostHelloInvalidFrames(t *testing.T) {
	gw := gatewaytest.Start(t, nil)
	w, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	w.Send(`{"type":"req",`) // malformed: ignored, socket stays
	w.Send(`{"type":"req","id":5,"method":"health"}`)
	f := w.Next()
	for f.Type == "event" {
		f = w.Next()
	}
	if f.OK || f.ID != 5.0 || f.Error.Message != "invalid request frame: at /id: must be string" {
		t.Fatalf("numeric id: %s", f.Raw)
	}
	w.Send(`{"hello":1}`)
	if f := w.Res("invalid"); f.OK || !strings.HasPrefix(f.Error.Message, "invalid request frame: ") {
		t.Fatalf("no id: %s", f.Raw)
	}
	if f := w.Call("after", "health", nil); !f.OK {
		t.Fatalf("socket unusable after bad frames: %s", f.Raw)
	}
}

func TestSystemPresenceAndEvents(t *testing.T) {
	gw := gatewaytest.Start(t, func(o *gateway.Options) { o.PresenceTTL = 400 * time.Millisecond })
	watcher, hello := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	snap := hello["snapshot"].(map[string]any)
	if !hasSelfRow(snap["presence"].([]any)) {
		t.Fatalf("hello-ok roster lacks the gateway's own row: %v", snap["presence"])
	}
	startVersion := snap["stateVersion"].(map[string]any)["presence"].(float64)

	// A tracked gatewaytest.Client connects: every reader gets the roster with its row.
	ui := gatewaytest.Reader(t)
	ui.ID = "webchat-ui"
	uiConn, _ := gatewaytest.MustConnect(t, gw.URL, ui)
	ev := waitPresence(t, watcher, func(rows []protocol.PresenceEntry) bool { return findClient(rows, "webchat-ui", "connect") })
	if ev.StateVersion == nil || float64(ev.StateVersion.Presence) <= startVersion {
		t.Fatalf("presence stateVersion did not advance: %s", ev.Raw)
	}
	// The CLI is not tracked.
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	rows := gatewaytest.Decode[[]protocol.PresenceEntry](t, adm.Call("p1", "system-presence", nil).Payload)
	for _, r := range rows {
		if r.ClientID == "cli" {
			t.Fatalf("a cli-mode socket is in the roster: %+v", r)
		}
	}
	// Disconnect: the row stays with reason disconnect, then expires.
	uiConn.NetConn().Close()
	waitPresence(t, watcher, func(rows []protocol.PresenceEntry) bool { return findClient(rows, "webchat-ui", "disconnect") })
	waitPresence(t, watcher, func(rows []protocol.PresenceEntry) bool {
		return !findClient(rows, "webchat-ui", "disconnect") && hasSelfRowTyped(rows)
	})

	// system-event upserts one row per key, newest first.
	adm.Call("e1", "system-event", map[string]any{"text": "first", "host": "box-a"})
	adm.Call("e2", "system-event", map[string]any{"text": "second", "host": "box-a"})
	adm.Call("e3", "system-event", map[string]any{"text": "other", "host": "box-b"})
	rows = gatewaytest.Decode[[]protocol.PresenceEntry](t, adm.Call("p2", "system-presence", nil).Payload)
	if rows[0].Text != "other" || countHost(rows, "box-a") != 1 || rows[1].Text != "second" {
		t.Fatalf("roster after system-events: %+v", rows)
	}
	for i := 1; i < len(rows); i++ {
		if rows[i-1].TS < rows[i].TS {
			t.Fatalf("roster not newest first: %+v", rows)
		}
	}
}

func TestPresenceCap(t *testing.T) {
	gw := gatewaytest.Start(t, nil)
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	for i := 0; i < 230; i++ {
		if f := adm.Call("e"+itoa(i), "system-event", map[string]any{"text": "t", "host": "h" + itoa(i)}); !f.OK {
			t.Fatal(string(f.Raw))
		}
	}
	rows := gatewaytest.Decode[[]protocol.PresenceEntry](t, adm.Call("p", "system-presence", nil).Payload)
	if len(rows) != 200 || !hasSelfRowTyped(rows) || countHost(rows, "h229") != 1 || countHost(rows, "h0") != 0 {
		t.Fatalf("cap: %d rows, self=%v, newest kept=%v, oldest dropped=%v", len(rows), hasSelfRowTyped(rows), countHost(rows, "h229"), countHost(rows, "h0") == 0)
	}
}

func TestTickAndSeq(t *testing.T) {
	gw := gatewaytest.Start(t, func(o *gateway.Options) { o.Limits.TickInterval = 50 * time.Millisecond })
	w, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	var last int64
	ticks, presences := 0, 0
	for ticks < 5 || presences < 2 {
		if presences < 2 && ticks == 2 {
			adm.Call("e"+itoa(presences), "system-event", map[string]any{"text": "x" + itoa(presences)})
		}
		f := w.Next()
		if f.Type != "event" {
			continue
		}
		if f.Seq == nil {
			t.Fatalf("broadcast without seq: %s", f.Raw)
		}
		if *f.Seq != last+1 {
			t.Fatalf("seq %d after %d: per-socket seq must count every broadcast", *f.Seq, last)
		}
		last = *f.Seq
		switch f.Event {
		case "tick":
			ticks++
			if gatewaytest.Decode[map[string]any](t, f.Payload)["ts"] == nil {
				t.Fatalf("tick without ts: %s", f.Raw)
			}
		case "presence":
			presences++
		}
	}
}

// TestSlowConsumer: a reader that stops reading loses droppable broadcasts
// (its seq jumps) and never delays the others.
func TestSlowConsumer(t *testing.T) {
	gw := gatewaytest.Start(t, func(o *gateway.Options) { o.Limits.MaxBufferedBytes = 1 << 20 })
	stuck, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	fast, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	resume := stuck.Stall()

	// A roster of 150 rows with a full-length text each (about 200 KB a
	// broadcast), then enough broadcasts to fill the stuck socket's kernel
	// buffers and then its 1 MB backlog.
	big := strings.Repeat("x", 1000)
	for i := 0; i < 150; i++ {
		adm.Call("r"+itoa(i), "system-event", map[string]any{"text": big, "host": "row" + itoa(i)})
	}
	const n = 70
	for i := 0; i < n; i++ {
		adm.Call("e"+itoa(i), "system-event", map[string]any{"text": itoa(i) + big, "host": "h"})
		time.Sleep(55 * time.Millisecond) // past the coalescing window: one broadcast each
	}
	// The fast reader has everything up to the last event, in order.
	waitPresence(t, fast, func(rows []protocol.PresenceEntry) bool {
		for _, r := range rows {
			if strings.HasPrefix(r.Text, itoa(n-1)+"x") {
				return true
			}
		}
		return false
	})
	// The stuck one, once it reads again, sees a gap in seq (or was closed):
	// the gap shows on the first broadcast it gets after the dropped ones.
	resume()
	// A broadcast after the stall shows the gap. One sent while the stuck
	// socket's backlog is still over the limit is dropped too (under load
	// the backlog takes a while to drain), so one goes every 300 ms until
	// the reader sees the gap.
	var last int64
	gap := false
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for i := 0; !gap; i++ {
		select {
		case f := <-stuck.Frames():
			if f.Seq != nil {
				if last != 0 && *f.Seq != last+1 {
					gap = true
				}
				last = *f.Seq
			}
		case <-stuck.Done():
			gap = true // closed as a slow consumer: also per policy
		case <-tick.C:
			adm.Call("after"+itoa(i), "system-event", map[string]any{"text": "after the stall " + itoa(i), "host": "h-after"})
		case <-deadline:
			t.Fatalf("stuck reader saw no dropped broadcast (last seq %d)", last)
		}
	}
}

func TestShutdownEvent(t *testing.T) {
	gw := gatewaytest.Start(t, nil)
	w, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	pre := gatewaytest.Dial(t, gw.URL) // still handshaking
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go gw.Stop(ctx, "gateway stopping", 0)
	ev := w.Event("shutdown")
	if p := gatewaytest.Decode[map[string]any](t, ev.Payload); p["reason"] != "gateway stopping" || ev.Seq == nil {
		t.Fatalf("shutdown event: %s", ev.Raw)
	}
	if code, reason := w.Closed(); code != 1012 || reason != "service restart" {
		t.Fatalf("closed %d %q, want 1012 service restart", code, reason)
	}
	if code, _ := pre.Closed(); code != 1012 && code != 1013 {
		t.Fatalf("handshaking socket closed with %d", code)
	}
}

func TestConnectWhileDraining(t *testing.T) {
	gw := gatewaytest.Start(t, nil)
	gw.SetDraining(true)
	w, res := gatewaytest.Connect(t, gw.URL, gatewaytest.Admin())
	if res.OK || res.Error.Code != "UNAVAILABLE" || res.Error.Retryable == nil || !*res.Error.Retryable || res.Error.RetryAfterMs == nil {
		t.Fatalf("got %s", res.Raw)
	}
	if code, _ := w.Closed(); code != 1013 {
		t.Fatalf("close %d, want 1013", code)
	}
	gw.SetDraining(false)
}

// testReq is the request of the test-only methods below.
type testReq = core.Request[protocol.Empty, map[string]any]

// testOwner serves test.panic (it panics) and test.slow (it answers after
// 300 ms), as one of the gateway's actors would.
func testOwner(calls *atomic.Int64) *actor.Props {
	return actor.PropsFromFunc(func(ctx actor.Context) {
		if m, ok := ctx.Message().(*testReq); ok {
			calls.Add(1)
			if m.ID == "p" {
				panic("boom")
			}
			go func() { time.Sleep(300 * time.Millisecond); m.Reply(map[string]any{"done": true}) }()
		}
	})
}

func withTestMethods(calls *atomic.Int64) func(*gateway.Options) {
	return func(o *gateway.Options) {
		o.Extra.Methods = []core.Method{
			core.Serve[testReq]("test.panic", core.RoleAny, core.NoScope, "test"),
			core.Serve[testReq]("test.slow", core.RoleAny, core.NoScope, "test"),
		}
		o.Extra.Owners = map[core.Owner]*actor.Props{"test": testOwner(calls)}
	}
}

// TestPanicIsolation: a method whose owner panics answers its caller with an
// error; the owner is restarted and serves the next call, and the caller's
// socket and every other socket carry on.
func TestPanicIsolation(t *testing.T) {
	var calls atomic.Int64
	gw := gatewaytest.Start(t, withTestMethods(&calls))
	victim, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	bystander, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	if f := victim.Call("p", "test.panic", nil); f.OK || f.Error.Code != "UNAVAILABLE" || f.Error.Message != "internal error" {
		t.Fatalf("panicking method answered %s, want UNAVAILABLE internal error", f.Raw)
	}
	if f := victim.Call("s", "test.slow", nil); !f.OK || calls.Load() != 2 {
		t.Fatalf("the restarted owner did not serve the next call (%d calls): %s", calls.Load(), f.Raw)
	}
	if f := bystander.Call("h", "health", nil); !f.OK {
		t.Fatalf("bystander broken: %s", f.Raw)
	}
	fresh, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	if f := fresh.Call("s", "status", nil); !f.OK {
		t.Fatalf("new connection broken: %s", f.Raw)
	}
}

func TestLogsTail(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "gw.log")
	if err := os.WriteFile(logFile, []byte("{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gw := gatewaytest.Start(t, func(o *gateway.Options) { o.LogFile = func() string { return logFile } })
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	f := adm.Call("l", "logs.tail", map[string]any{"limit": 2})
	var res struct {
		File   string   `json:"file"`
		Cursor int64    `json:"cursor"`
		Lines  []string `json:"lines"`
	}
	res = gatewaytest.Decode[struct {
		File   string   `json:"file"`
		Cursor int64    `json:"cursor"`
		Lines  []string `json:"lines"`
	}](t, f.Payload)
	if !reflect.DeepEqual(res.Lines, []string{`{"a":2}`, `{"a":3}`}) || res.File != logFile || res.Cursor != 24 {
		t.Fatalf("logs.tail = %s", f.Payload)
	}
	os.WriteFile(logFile, []byte("{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n{\"a\":4}\n"), 0o600)
	f = adm.Call("l2", "logs.tail", map[string]any{"cursor": res.Cursor})
	if got := gatewaytest.Decode[map[string]any](t, f.Payload)["lines"]; !reflect.DeepEqual(got, []any{`{"a":4}`}) {
		t.Fatalf("logs.tail from cursor = %s", f.Payload)
	}
}

func TestStatusAndHealth(t *testing.T) {
	gw := gatewaytest.Start(t, nil)
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	st := gatewaytest.Decode[map[string]any](t, adm.Call("s", "status", nil).Payload)
	conns := st["connections"].(map[string]any)
	if st["version"] != gateway.Version || conns["total"] != 2.0 || conns["operators"] != 2.0 || st["pid"] != float64(os.Getpid()) {
		t.Fatalf("status = %v", st)
	}
	h := gatewaytest.Decode[map[string]any](t, adm.Call("h", "health", map[string]any{"probe": true}).Payload)
	if h["ok"] != true || h["defaultAgentId"] != "main" || h["channels"] == nil {
		t.Fatalf("health = %v", h)
	}
	for _, p := range []string{"/health", "/healthz"} {
		resp := gatewaytest.HTTPGet(t, "http://127.0.0.1:"+itoa(gw.Port())+p)
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		if resp.StatusCode != 200 || body["ok"] != true || body["status"] != "live" ||
			resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Fatalf("%s: %d %v %v", p, resp.StatusCode, body, resp.Header)
		}
	}
	gw.SetDraining(true)
	resp := gatewaytest.HTTPGet(t, "http://127.0.0.1:"+itoa(gw.Port())+"/readyz")
	if resp.StatusCode != 503 {
		t.Fatalf("/readyz while draining: %d", resp.StatusCode)
	}
	gw.SetDraining(false)
}

func waitPresence(t *testing.T, w *gatewaytest.Conn, ok func([]protocol.PresenceEntry) bool) *gatewaytest.Frame {
	t.Helper()
	for {
		f := w.Event("presence")
		var p struct {
			Presence []protocol.PresenceEntry `json:"presence"`
		}
		if err := json.Unmarshal(f.Payload, &p); err != nil {
			t.Fatal(err)
		}
		if ok(p.Presence) {
			return f
		}
	}
}

func findClient(rows []protocol.PresenceEntry, clientID, reason string) bool {
	for _, r := range rows {
		if r.ClientID == clientID && r.Reason == reason {
			return true
		}
	}
	return false
}

func countHost(rows []protocol.PresenceEntry, host string) int {
	n := 0
	for _, r := range rows {
		if r.Host == host {
			n++
		}
	}
	return n
}

func hasSelfRow(rows []any) bool {
	for _, r := range rows {
		m := r.(map[string]any)
		if m["mode"] == "gateway" && m["reason"] == "self" {
			return true
		}
	}
	return false
}

func hasSelfRowTyped(rows []protocol.PresenceEntry) bool {
	for _, r := range rows {
		if r.Mode == "gateway" && r.Reason == "self" {
			return true
		}
	}
	return false
}

// TestPingTimeout: a socket that stops answering pings is dropped; one that
// answers stays.
func TestPingTimeout(t *testing.T) {
	gw := gatewaytest.Start(t, func(o *gateway.Options) { o.Limits.PingInterval = 100 * time.Millisecond })
	alive, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	dead, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	dead.NoPong.Store(true)
	select {
	case <-dead.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("a socket that never pongs was not dropped")
	}
	if f := alive.Call("h", "health", nil); !f.OK {
		t.Fatalf("live socket dropped: %s", f.Raw)
	}
}

// TestNodePresenceKey: a node's roster row is keyed by its device id, so a
// reconnect replaces its row instead of adding one.
func TestNodePresenceKey(t *testing.T) {
	gw := gatewaytest.Start(t, nil)
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	id := auth.NewIdentity()
	node := gatewaytest.Client{ID: "node-host", Mode: "node", Role: "node", Token: gatewaytest.Token, Identity: &id}
	first, _ := gatewaytest.MustConnect(t, gw.URL, node)
	// Reconnect before the old socket is closed: its late disconnect must
	// not mark the new connection's row.
	gatewaytest.MustConnect(t, gw.URL, node)
	first.NetConn().Close()
	time.Sleep(100 * time.Millisecond)
	deadline := time.Now().Add(3 * time.Second)
	for {
		rows := gatewaytest.Decode[[]protocol.PresenceEntry](t, adm.Call("p"+itoa(int(time.Now().UnixNano()%1e6)), "system-presence", nil).Payload)
		n, connected := 0, false
		for _, r := range rows {
			if r.DeviceID == id.ID {
				n++
				connected = r.Reason == "connect" && r.Mode == "node" && r.InstanceID == "inst-node-host-node" &&
					reflect.DeepEqual(r.Roles, []string{"node"})
			}
		}
		if n == 1 && connected {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node rows = %d (want 1, connected): %+v", n, rows)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDrainInFlight: on stop, a request already being handled is answered
// before the socket closes 1012; one sent after the shutdown event is refused
// with UNAVAILABLE.
func TestDrainInFlight(t *testing.T) {
	var calls atomic.Int64
	gw := gatewaytest.Start(t, withTestMethods(&calls))
	w, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	w.SendJSON(map[string]any{"type": "req", "id": "slow", "method": "test.slow"})
	time.Sleep(50 * time.Millisecond)
	go gw.Stop(context.Background(), "gateway stopping", 0)
	w.Event("shutdown")
	w.SendJSON(map[string]any{"type": "req", "id": "late", "method": "health"})
	got := map[string]*gatewaytest.Frame{}
	for len(got) < 2 {
		f := w.Next()
		if f.Type == "res" {
			got[f.ID.(string)] = f
		}
	}
	if f := got["slow"]; !f.OK || !strings.Contains(string(f.Payload), `"done":true`) {
		t.Fatalf("in-flight request: %s", f.Raw)
	}
	if f := got["late"]; f.OK || f.Error.Code != "UNAVAILABLE" {
		t.Fatalf("request after shutdown: %s", f.Raw)
	}
	if code, reason := w.Closed(); code != 1012 || reason != "service restart" {
		t.Fatalf("closed %d %q", code, reason)
	}
}

package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lxzan/gws"

	"openclaw/actors/gateway"
	"openclaw/transport/auth"
)

const testToken = "test-token-0123456789"

// testGateway is a gateway on a free loopback port with its own state dir.
type testGateway struct {
	*gateway.Gateway
	url  string
	port int
	dir  string
}

func startGateway(t testing.TB, mutate func(*gateway.Options)) *testGateway {
	t.Helper()
	dir := t.TempDir()
	opts := gateway.Options{
		Hosts:            []string{"127.0.0.1"},
		Secret:           auth.Secret{Mode: auth.ModeToken, Value: testToken},
		RateLimit:        auth.DefaultRateLimit,
		AutoApproveLocal: true,
		StateDir:         dir,
		ConfigPath:       dir + "/openclaw.json",
		Log:              testLogger(t),
	}
	if mutate != nil {
		mutate(&opts)
	}
	gw, err := gateway.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = gw.Stop(ctx, "gateway stopping", 0)
	})
	return &testGateway{Gateway: gw, url: "ws://127.0.0.1:" + strconv.Itoa(gw.Port()), port: gw.Port(), dir: dir}
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("OPENCLAW_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// frame is any server frame, decoded loosely.
type frame struct {
	Type         string          `json:"type"`
	ID           any             `json:"id"`
	OK           bool            `json:"ok"`
	Payload      json.RawMessage `json:"payload"`
	Error        *errShape       `json:"error"`
	Event        string          `json:"event"`
	Seq          *int64          `json:"seq"`
	StateVersion *struct {
		Presence int64 `json:"presence"`
		Health   int64 `json:"health"`
	} `json:"stateVersion"`
	raw []byte
}

type errShape struct {
	Code         string         `json:"code"`
	Message      string         `json:"message"`
	Details      map[string]any `json:"details"`
	Retryable    *bool          `json:"retryable"`
	RetryAfterMs *int64         `json:"retryAfterMs"`
}

// wsConn is a raw test client: it records every frame and how the socket
// closed, and can stop reading (to play a stuck consumer).
type wsConn struct {
	t      testing.TB
	c      *gws.Conn
	frames chan *frame
	done   chan struct{}
	nonce  string
	ts     int64

	closeOnce sync.Once
	code      uint16
	reason    string
	closeErr  error

	block   chan struct{} // while non-nil and open, OnMessage blocks
	blockMu sync.Mutex
	pongs   atomic.Int64
	noPong  atomic.Bool // play a peer whose WebSocket layer is dead
}

func dialRaw(t testing.TB, url string) *wsConn {
	t.Helper()
	w := &wsConn{t: t, frames: make(chan *frame, 4096), done: make(chan struct{})}
	c, resp, err := gws.NewClient(w, &gws.ClientOption{Addr: url, PermessageDeflate: gws.PermessageDeflate{Enabled: false}, ReadMaxPayloadSize: 64 << 20})
	if err != nil {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (HTTP %d)", url, err, code)
	}
	w.c = c
	go c.ReadLoop()
	t.Cleanup(func() { _ = c.NetConn().Close() })
	ch := w.next()
	if ch.Type != "event" || ch.Event != "connect.challenge" || ch.Seq != nil {
		t.Fatalf("first frame is not a seq-less connect.challenge: %s", ch.raw)
	}
	var p struct {
		Nonce string `json:"nonce"`
		TS    int64  `json:"ts"`
	}
	if err := json.Unmarshal(ch.Payload, &p); err != nil || p.Nonce == "" || p.TS == 0 {
		t.Fatalf("bad challenge payload: %s", ch.Payload)
	}
	w.nonce, w.ts = p.Nonce, p.TS
	return w
}

func (w *wsConn) OnOpen(*gws.Conn) {}
func (w *wsConn) OnClose(_ *gws.Conn, err error) {
	w.closeOnce.Do(func() {
		var ce *gws.CloseError
		if errors.As(err, &ce) {
			w.code, w.reason = uint16(ce.Code), string(ce.Reason)
		}
		w.closeErr = err
		close(w.done)
	})
}
func (w *wsConn) OnPing(c *gws.Conn, p []byte) {
	if !w.noPong.Load() {
		_ = c.WritePong(p)
	}
}
func (w *wsConn) OnPong(*gws.Conn, []byte) { w.pongs.Add(1) }
func (w *wsConn) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	w.blockMu.Lock()
	b := w.block
	w.blockMu.Unlock()
	if b != nil {
		<-b
	}
	raw := append([]byte(nil), m.Bytes()...)
	f := &frame{raw: raw}
	if err := json.Unmarshal(raw, f); err != nil {
		w.t.Errorf("server sent invalid JSON: %q", raw)
		return
	}
	w.frames <- f
}

// stall makes the client stop reading; the returned func resumes it.
func (w *wsConn) stall() func() {
	ch := make(chan struct{})
	w.blockMu.Lock()
	w.block = ch
	w.blockMu.Unlock()
	return func() {
		w.blockMu.Lock()
		w.block = nil
		w.blockMu.Unlock()
		close(ch)
	}
}

func (w *wsConn) send(s string) {
	w.t.Helper()
	if err := w.c.WriteString(s); err != nil {
		w.t.Fatalf("send: %v", err)
	}
}

func (w *wsConn) sendJSON(v any) {
	w.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		w.t.Fatal(err)
	}
	w.send(string(b))
}

func (w *wsConn) next() *frame {
	w.t.Helper()
	select {
	case f := <-w.frames:
		return f
	case <-w.done:
		select {
		case f := <-w.frames:
			return f
		default:
		}
		w.t.Fatalf("socket closed (%d %q) while waiting for a frame", w.code, w.reason)
	case <-time.After(5 * time.Second):
		w.t.Fatal("no frame within 5s")
	}
	return nil
}

// res waits for the response with the given id, skipping events.
func (w *wsConn) res(id string) *frame {
	w.t.Helper()
	for {
		f := w.next()
		if f.Type == "res" && fmt.Sprint(f.ID) == id {
			return f
		}
	}
}

// event waits for the next event with the given name, skipping others.
func (w *wsConn) event(name string) *frame {
	w.t.Helper()
	for {
		f := w.next()
		if f.Type == "event" && f.Event == name {
			return f
		}
	}
}

// call sends a request and waits for its response.
func (w *wsConn) call(id, method string, params any) *frame {
	w.t.Helper()
	req := map[string]any{"type": "req", "id": id, "method": method}
	if params != nil {
		req["params"] = params
	}
	w.sendJSON(req)
	return w.res(id)
}

// closed waits for the server to close the socket and returns the code and
// reason it sent.
func (w *wsConn) closed() (uint16, string) {
	w.t.Helper()
	select {
	case <-w.done:
		return w.code, w.reason
	case <-time.After(5 * time.Second):
		w.t.Fatal("socket not closed within 5s")
	}
	return 0, ""
}

// client describes a connect frame.
type client struct {
	id, mode, role string
	scopes         []string
	token          string
	password       string
	deviceToken    string
	identity       *auth.Identity
	v2             bool
	// tamper changes the device proof after signing.
	tamper   func(*auth.DeviceProof)
	min, max int
	extra    map[string]any
}

func (c client) params(nonce string) map[string]any {
	id, mode, role := c.id, c.mode, c.role
	if id == "" {
		id = "test"
	}
	if mode == "" {
		mode = "test"
	}
	if role == "" {
		role = "operator"
	}
	min, max := c.min, c.max
	if min == 0 {
		min = 4
	}
	if max == 0 {
		max = 4
	}
	scopes := c.scopes
	if scopes == nil {
		scopes = []string{}
	}
	p := map[string]any{
		"minProtocol": min, "maxProtocol": max, "role": role, "scopes": scopes,
		"client": map[string]any{"id": id, "version": "1.0.0", "platform": "linux", "mode": mode, "instanceId": "inst-" + id + "-" + mode},
	}
	a := map[string]any{}
	if c.token != "" {
		a["token"] = c.token
	}
	if c.password != "" {
		a["password"] = c.password
	}
	if c.deviceToken != "" {
		a["deviceToken"] = c.deviceToken
	}
	if len(a) > 0 {
		p["auth"] = a
	}
	if c.identity != nil {
		tok := c.token
		if tok == "" {
			tok = c.deviceToken
		}
		f := auth.SignedFields{ClientID: id, ClientMode: mode, Role: role, Scopes: scopes,
			SignedAtMs: time.Now().UnixMilli(), Token: tok, Nonce: nonce, Platform: "linux"}
		proof := c.identity.Sign(f)
		if c.v2 {
			proof = c.identity.SignV2(f)
		}
		if c.tamper != nil {
			c.tamper(&proof)
		}
		p["device"] = proof
	}
	for k, v := range c.extra {
		p[k] = v
	}
	return p
}

// connect dials and sends connect; it returns the socket and the connect
// response (which may be a failure).
func connect(t testing.TB, url string, c client) (*wsConn, *frame) {
	t.Helper()
	w := dialRaw(t, url)
	w.sendJSON(map[string]any{"type": "req", "id": "c1", "method": "connect", "params": c.params(w.nonce)})
	return w, w.res("c1")
}

// mustConnect is connect that fails the test unless hello-ok came back.
func mustConnect(t testing.TB, url string, c client) (*wsConn, map[string]any) {
	t.Helper()
	w, res := connect(t, url, c)
	if !res.OK {
		t.Fatalf("connect refused: %s", res.raw)
	}
	var hello map[string]any
	if err := json.Unmarshal(res.Payload, &hello); err != nil {
		t.Fatal(err)
	}
	return w, hello
}

// admin is a local CLI with the shared secret: it keeps every scope.
func admin() client {
	return client{id: "cli", mode: "cli", token: testToken, scopes: []string{"operator.admin"}}
}

// reader is a UI client with a device identity and read scope; it is
// tracked in presence.
func reader(t testing.TB) client {
	id := auth.NewIdentity()
	return client{id: "openclaw-control-ui", mode: "ui", token: testToken, identity: &id, scopes: []string{"operator.read"}}
}

func httpGet(t testing.TB, url string) *http.Response {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func decode[T any](t testing.TB, raw json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

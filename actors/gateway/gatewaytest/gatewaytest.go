// Package gatewaytest runs whole gateways for tests, the way net/http/httptest
// runs servers: an in-process gateway on a free loopback port with its own
// state directory (Start), and a raw WebSocket client that records every
// frame and how the socket closed (Dial, Connect), for black-box tests over
// real sockets. Every whole-gateway test in the repository uses it.
package gatewaytest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lxzan/gws"

	"openclaw/actors/gateway"
	"openclaw/config"
	"openclaw/transport/auth"
	"openclaw/transport/client"
	"openclaw/transport/loopback"
)

// frameWait bounds a test's wait for a frame or a close: generous, since a
// test under -race on a loaded machine is slow, and only a hang should
// reach it.
const frameWait = 20 * time.Second

// Token is the shared secret of a gateway Start runs.
const Token = "test-token-0123456789"

// Gateway is a running test gateway.
type Gateway struct {
	*gateway.Gateway
	URL  string // ws://127.0.0.1:<port>
	HTTP string // http://127.0.0.1:<port>
	Dir  string // its state directory
	// ConfigPath is where its config file would be (written by the test
	// when it wants one).
	ConfigPath string
}

// Start runs a gateway on a free loopback port with its own state dir, the
// Token as its secret and local auto-pairing on; mutate adjusts the options.
// It stops when the test ends.
func Start(t testing.TB, mutate func(*gateway.Options)) *Gateway {
	t.Helper()
	g, err := start(t, mutate)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// start is Start without the t.Fatal, so gateways can start concurrently.
func start(t testing.TB, mutate func(*gateway.Options)) (*Gateway, error) {
	dir := t.TempDir()
	opts := gateway.Options{
		Hosts:            []string{"127.0.0.1"},
		Secret:           auth.Secret{Mode: auth.ModeToken, Value: Token},
		RateLimit:        auth.DefaultRateLimit,
		AutoApproveLocal: true,
		StateDir:         dir,
		ConfigPath:       dir + "/openclaw.json",
		Log:              Logger(),
	}
	if mutate != nil {
		mutate(&opts)
	}
	gw, err := gateway.New(opts)
	if err != nil {
		return nil, err
	}
	if err := gw.Start(context.Background()); err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = gw.Stop(ctx, "gateway stopping", 0)
	})
	port := strconv.Itoa(gw.Port())
	return &Gateway{Gateway: gw, URL: "ws://127.0.0.1:" + port, HTTP: "http://127.0.0.1:" + port, Dir: opts.StateDir,
		ConfigPath: opts.ConfigPath}, nil
}

// StartCluster runs n gateways as one cluster named "test", each with its
// embedded NATS routed to the others on free loopback ports, nodes named
// gw-0 … gw-<n-1>; mutate adjusts each one's options (i is its index).
func StartCluster(t testing.TB, n int, mutate func(i int, o *gateway.Options)) []*Gateway {
	t.Helper()
	routes := make([]string, n)
	listens := make([]string, n)
	for i := range n {
		listens[i] = "127.0.0.1:" + strconv.Itoa(FreePort(t))
		routes[i] = "nats-route://" + listens[i]
	}
	// Together: each gateway's start waits for the JetStream quorum,
	// which needs a majority of them up.
	gws := make([]*Gateway, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gws[i], errs[i] = start(t, func(o *gateway.Options) {
				o.Config = ClusterConfig(fmt.Sprintf("gw-%d", i), listens[i], routes)
				if mutate != nil {
					mutate(i, o)
				}
			})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return gws
}

// ClusterConfig is the config of one gateway of a test cluster: node name,
// its route listener, and every route (its own is ignored by NATS).
func ClusterConfig(node, listen string, routes []string) *config.Config {
	cfg := &config.Config{}
	cfg.Gateway.Cluster = &config.Cluster{Enabled: true, Name: "test", NodeName: node,
		NATS: config.ClusterNATS{Embedded: config.ClusterEmbedded{ClusterListen: listen, Routes: routes}}}
	return cfg
}

// FreePort is a loopback TCP port free a moment ago, one the kernel does not
// hand to listeners on port 0 (loopback.FreePort): for the servers a test
// must name the port of before they start.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := loopback.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Logger discards records unless OPENCLAW_TEST_LOG is set, then writes every
// record, debug included, to stderr.
func Logger() *slog.Logger {
	if os.Getenv("OPENCLAW_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Config parses a JSON5 config or fails the test.
func Config(t testing.TB, json5 string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("test.json5", []byte(json5))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Operator connects the project's Go client as a local admin operator.
func (g *Gateway) Operator(t testing.TB) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{URL: g.URL, Token: Token, Role: "operator",
		Scopes: []string{"operator.admin", "operator.read", "operator.write", "operator.pairing"}, EventBuffer: 4096})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// Frame is any server frame, decoded loosely.
type Frame struct {
	Type         string          `json:"type"`
	ID           any             `json:"id"`
	OK           bool            `json:"ok"`
	Payload      json.RawMessage `json:"payload"`
	Error        *ErrorShape     `json:"error"`
	Event        string          `json:"event"`
	Seq          *int64          `json:"seq"`
	StateVersion *struct {
		Presence int64 `json:"presence"`
		Health   int64 `json:"health"`
	} `json:"stateVersion"`
	Raw []byte `json:"-"`
}

type ErrorShape struct {
	Code         string         `json:"code"`
	Message      string         `json:"message"`
	Details      map[string]any `json:"details"`
	Retryable    *bool          `json:"retryable"`
	RetryAfterMs *int64         `json:"retryAfterMs"`
}

// Conn is a raw test client: it records every frame and how the socket
// closed, and can stop reading (to play a stuck consumer).
type Conn struct {
	t      testing.TB
	c      *gws.Conn
	frames chan *Frame
	done   chan struct{}
	Nonce  string // the challenge's nonce
	TS     int64  // and its ts

	closeOnce sync.Once
	code      uint16
	reason    string
	closeErr  error

	block   chan struct{} // while non-nil and open, OnMessage blocks
	blockMu sync.Mutex
	Pongs   atomic.Int64
	NoPong  atomic.Bool // play a peer whose WebSocket layer is dead
}

// Dial opens a socket and reads the challenge.
func Dial(t testing.TB, url string) *Conn { t.Helper(); return dial(t, url, 0) }

// dial opens a socket whose kernel receive buffer is rcvbuf bytes (0: the
// system's default) and reads the challenge.
func dial(t testing.TB, url string, rcvbuf int) *Conn {
	t.Helper()
	w := &Conn{t: t, frames: make(chan *Frame, 4096), done: make(chan struct{})}
	opt := &gws.ClientOption{Addr: url, PermessageDeflate: gws.PermessageDeflate{Enabled: false}, ReadMaxPayloadSize: 64 << 20}
	if rcvbuf > 0 {
		// Set before connecting: the window is small from the first byte.
		opt.NewDialer = func() (gws.Dialer, error) {
			return &net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
				var serr error
				if err := rc.Control(func(fd uintptr) {
					serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
				}); err != nil {
					return err
				}
				return serr
			}}, nil
		}
	}
	c, resp, err := gws.NewClient(w, opt)
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
	ch := w.Next()
	if ch.Type != "event" || ch.Event != "connect.challenge" || ch.Seq != nil {
		t.Fatalf("first frame is not a seq-less connect.challenge: %s", ch.Raw)
	}
	var p struct {
		Nonce string `json:"nonce"`
		TS    int64  `json:"ts"`
	}
	if err := json.Unmarshal(ch.Payload, &p); err != nil || p.Nonce == "" || p.TS == 0 {
		t.Fatalf("bad challenge payload: %s", ch.Payload)
	}
	w.Nonce, w.TS = p.Nonce, p.TS
	return w
}

func (w *Conn) OnOpen(*gws.Conn) {}
func (w *Conn) OnClose(_ *gws.Conn, err error) {
	w.closeOnce.Do(func() {
		var ce *gws.CloseError
		if errors.As(err, &ce) {
			w.code, w.reason = uint16(ce.Code), string(ce.Reason)
		}
		w.closeErr = err
		close(w.done)
	})
}
func (w *Conn) OnPing(c *gws.Conn, p []byte) {
	if !w.NoPong.Load() {
		_ = c.WritePong(p)
	}
}
func (w *Conn) OnPong(*gws.Conn, []byte) { w.Pongs.Add(1) }
func (w *Conn) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	w.blockMu.Lock()
	b := w.block
	w.blockMu.Unlock()
	if b != nil {
		<-b
	}
	raw := append([]byte(nil), m.Bytes()...)
	f := &Frame{Raw: raw}
	if err := json.Unmarshal(raw, f); err != nil {
		w.t.Errorf("server sent invalid JSON: %q", raw)
		return
	}
	w.frames <- f
}

// Stall makes the client stop reading; the returned func resumes it.
func (w *Conn) Stall() func() {
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

// Send writes a text frame.
func (w *Conn) Send(s string) {
	w.t.Helper()
	if err := w.c.WriteString(s); err != nil {
		w.t.Fatalf("send: %v", err)
	}
}

// SendJSON writes v as a text frame.
func (w *Conn) SendJSON(v any) {
	w.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		w.t.Fatal(err)
	}
	w.Send(string(b))
}

// Next waits for the next frame.
func (w *Conn) Next() *Frame {
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
	case <-time.After(frameWait):
		w.t.Fatalf("no frame within %s", frameWait)
	}
	return nil
}

// Res waits for the response with the given id, skipping events.
func (w *Conn) Res(id string) *Frame {
	w.t.Helper()
	for {
		f := w.Next()
		if f.Type == "res" && fmt.Sprint(f.ID) == id {
			return f
		}
	}
}

// Event waits for the next event with the given name, skipping others.
func (w *Conn) Event(name string) *Frame {
	w.t.Helper()
	for {
		f := w.Next()
		if f.Type == "event" && f.Event == name {
			return f
		}
	}
}

// Call sends a request and waits for its response.
func (w *Conn) Call(id, method string, params any) *Frame {
	w.t.Helper()
	req := map[string]any{"type": "req", "id": id, "method": method}
	if params != nil {
		req["params"] = params
	}
	w.SendJSON(req)
	return w.Res(id)
}

// Close closes the connection from the client's side (no close frame: a
// client that went away).
func (w *Conn) Close() { _ = w.c.NetConn().Close() }

// Closed waits for the server to close the socket and returns the code and
// reason it sent.
func (w *Conn) Closed() (uint16, string) {
	w.t.Helper()
	select {
	case <-w.done:
		return w.code, w.reason
	case <-time.After(frameWait):
		w.t.Fatalf("socket not closed within %s", frameWait)
	}
	return 0, ""
}

// Client describes a connect frame.
type Client struct {
	ID, Mode, Role string
	Scopes         []string
	Token          string
	Password       string
	DeviceToken    string
	Identity       *auth.Identity
	V2             bool
	// Tamper changes the device proof after signing.
	Tamper   func(*auth.DeviceProof)
	Min, Max int
	Extra    map[string]any
	// ReceiveBuffer, when set, is the socket's kernel receive buffer in
	// bytes: a reader that stops reading then holds little in the kernel,
	// so the gateway's own queue for it fills soon.
	ReceiveBuffer int
}

// Params are the connect params, signed for nonce when the client has an identity.
func (c Client) Params(nonce string) map[string]any {
	id, mode, role := c.ID, c.Mode, c.Role
	if id == "" {
		id = "test"
	}
	if mode == "" {
		mode = "test"
	}
	if role == "" {
		role = "operator"
	}
	min, max := c.Min, c.Max
	if min == 0 {
		min = 4
	}
	if max == 0 {
		max = 4
	}
	scopes := c.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	p := map[string]any{
		"minProtocol": min, "maxProtocol": max, "role": role, "scopes": scopes,
		"client": map[string]any{"id": id, "version": "1.0.0", "platform": "linux", "mode": mode, "instanceId": "inst-" + id + "-" + mode},
	}
	a := map[string]any{}
	if c.Token != "" {
		a["token"] = c.Token
	}
	if c.Password != "" {
		a["password"] = c.Password
	}
	if c.DeviceToken != "" {
		a["deviceToken"] = c.DeviceToken
	}
	if len(a) > 0 {
		p["auth"] = a
	}
	if c.Identity != nil {
		tok := c.Token
		if tok == "" {
			tok = c.DeviceToken
		}
		f := auth.SignedFields{ClientID: id, ClientMode: mode, Role: role, Scopes: scopes,
			SignedAtMs: time.Now().UnixMilli(), Token: tok, Nonce: nonce, Platform: "linux"}
		proof := c.Identity.Sign(f)
		if c.V2 {
			proof = c.Identity.SignV2(f)
		}
		if c.Tamper != nil {
			c.Tamper(&proof)
		}
		p["device"] = proof
	}
	for k, v := range c.Extra {
		p[k] = v
	}
	return p
}

// Connect dials and sends connect; it returns the socket and the connect
// response (which may be a failure).
func Connect(t testing.TB, url string, c Client) (*Conn, *Frame) {
	t.Helper()
	w := dial(t, url, c.ReceiveBuffer)
	w.SendJSON(map[string]any{"type": "req", "id": "c1", "method": "connect", "params": c.Params(w.Nonce)})
	return w, w.Res("c1")
}

// MustConnect is Connect that fails the test unless hello-ok came back.
func MustConnect(t testing.TB, url string, c Client) (*Conn, map[string]any) {
	t.Helper()
	w, res := Connect(t, url, c)
	if !res.OK {
		t.Fatalf("connect refused: %s", res.Raw)
	}
	var hello map[string]any
	if err := json.Unmarshal(res.Payload, &hello); err != nil {
		t.Fatal(err)
	}
	return w, hello
}

// Admin is a local CLI with the shared secret: it keeps every scope.
func Admin() Client {
	return Client{ID: "cli", Mode: "cli", Token: Token, Scopes: []string{"operator.admin"}}
}

// Reader is a UI client with a device identity and read scope; it is
// tracked in presence.
func Reader(t testing.TB) Client {
	id := auth.NewIdentity()
	return Client{ID: "openclaw-control-ui", Mode: "ui", Token: Token, Identity: &id, Scopes: []string{"operator.read"}}
}

// HTTPGet gets url; the body is closed when the test ends.
func HTTPGet(t testing.TB, url string) *http.Response {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// Decode decodes raw into a T or fails the test.
func Decode[T any](t testing.TB, raw json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

// Frames is the channel of frames received and not yet read.
func (w *Conn) Frames() <-chan *Frame { return w.frames }

// Done is closed when the socket closes.
func (w *Conn) Done() <-chan struct{} { return w.done }

// NetConn is the underlying TCP connection (to cut it, or write raw bytes).
func (w *Conn) NetConn() net.Conn { return w.c.NetConn() }

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"openclaw/channels/telegram/fakebotapi"
	"openclaw/transport/auth"
	"openclaw/transport/client"
	"openclaw/transport/protocol"
	"openclaw/transport/provider/fakeprovider"
)

// Recorder bounds.
const (
	// callTimeout bounds one recorded request.
	callTimeout = 30 * time.Second
	// eventSettle is how long after a response the recorder keeps
	// collecting the events that call caused.
	eventSettle = 300 * time.Millisecond
	// recordToken is the shared gateway token of every recording.
	recordToken = "refrecord-token-0123456789abcdef"
	// mockReply is what the fake model answers every turn.
	mockReply = "Hello from the mock model."
)

// cliScopes are the scopes the reference CLI requests when it does not know
// a narrower set (its CLI_DEFAULT_OPERATOR_SCOPES): the admin operator.
var cliScopes = []string{"operator.admin", "operator.read", "operator.write", "operator.approvals",
	"operator.questions", "operator.pairing", "operator.talk.secrets"}

// quietEvents are periodic broadcasts left out of a call's events.
var quietEvents = map[string]bool{"tick": true, "health": true, "heartbeat": true}

// recorder holds what one phase runs against: a reference gateway with a
// tap in front of it, and a fake model provider it is configured to use.
type recorder struct {
	ref   *reference
	out   string // testdata/reference
	sc    *scrubber
	keep  bool
	gw    *refGateway
	tap   *Tap
	fake  *fakeprovider.Server
	conns []*conn
	wrote int
	// botAPI is the fake Telegram Bot API of the methods phase, if started.
	botAPI *fakebotapi.Server
}

// conn is one operator connection through the tap.
type conn struct {
	name    string
	c       *client.Client
	tapConn int
	scopes  []string
	hello   *jv
	connect *jv
}

func newRecorder(ref *reference, out string, keep bool) *recorder {
	sc := newScrubber()
	sc.add(recordToken, "<token>")
	addHost(sc)
	sc.add(ref.dir, "<refDir>")
	if v, err := nodeVersion(ref); err == nil {
		sc.add("v"+v, "<nodeVersion>")
		sc.add(v, "<nodeVersion>")
	}
	for _, ip := range hostIPs() {
		sc.add(ip, "<hostIP>")
	}
	if rel := osRelease(); rel != "" {
		sc.add(rel, "<osRelease>")
	}
	return &recorder{ref: ref, out: out, sc: sc, keep: keep}
}

// up starts the fake provider, the reference gateway configured to use it
// (plus extra config) and the tap.
func (r *recorder) up(ctx context.Context, extra map[string]any) error {
	fake, err := fakeprovider.Start("127.0.0.1:0")
	if err != nil {
		return err
	}
	fake.KeepRequests(0)
	fake.SetDefault(fakeprovider.Text(mockReply, 3))
	r.fake = fake
	cfg := map[string]any{
		"models": map[string]any{"providers": map[string]any{"mock": map[string]any{
			"baseUrl": fake.URL, "apiKey": "sk-mock", "api": "openai-completions",
			"models": []any{map[string]any{"id": "mock-1", "name": "Mock One"}},
		}}},
		"agents": map[string]any{"defaults": map[string]any{"model": map[string]any{"primary": "mock/mock-1"}}},
	}
	for k, v := range extra {
		cfg[k] = mergeJSON(cfg[k], v)
	}
	gw, err := startGateway(ctx, r.ref, recordToken, cfg)
	if err != nil {
		fake.Close()
		return err
	}
	r.gw = gw
	tap, err := startTap(gw.addr())
	if err != nil {
		r.down()
		return err
	}
	r.tap = tap
	r.sc.add(gw.dir, "<gwDir>")
	r.sc.add(gw.state, "<stateDir>")
	r.sc.add(gw.home, "<home>")
	r.sc.add(fake.URL, "<providerURL>")
	r.sc.add(tap.Addr, "<gatewayAddr>")
	r.sc.add(gw.addr(), "<gatewayAddr>")
	r.sc.addNumber(gw.port, "port")
	_, tapPort, _ := strings.Cut(tap.Addr, ":")
	if p, err := strconv.Atoi(tapPort); err == nil {
		r.sc.addNumber(p, "port")
	}
	return nil
}

func (r *recorder) down() {
	for _, c := range r.conns {
		c.c.Close()
	}
	r.conns = nil
	if r.tap != nil {
		r.tap.Close()
		r.tap = nil
	}
	if r.gw != nil {
		r.gw.stop()
		r.gw.cleanup(r.keep)
		r.gw = nil
	}
	if r.fake != nil {
		r.fake.Close()
		r.fake = nil
	}
	if r.botAPI != nil {
		r.botAPI.Close()
		r.botAPI = nil
	}
}

// dial opens an operator connection through the tap. opts.URL, Token and
// InstanceID are filled in when empty.
func (r *recorder) dial(ctx context.Context, name string, opts client.Options) (*conn, error) {
	if opts.URL == "" {
		opts.URL = r.tap.URL()
	}
	if opts.InstanceID == "" {
		opts.InstanceID = "refrecord-" + name
	}
	if opts.Version == "" {
		opts.Version = "2026.9.6"
	}
	if opts.Platform == "" {
		opts.Platform = "linux"
	}
	mark := r.tap.Log.Len()
	dctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	c, err := client.Dial(dctx, opts)
	cn := &conn{name: name, c: c, scopes: opts.Scopes}
	// Find this connection in the tap by its connect frame.
	e, werr := r.tap.Log.Wait(dctx, mark, func(e Entry) bool {
		if e.Dir != "c2s" || e.Frame == nil {
			return false
		}
		f := mustJSON(e.Frame)
		return f.get("method").strValue() == "connect" &&
			f.path("params", "client", "instanceId").strValue() == opts.InstanceID
	})
	if werr == nil {
		cn.tapConn = e.Conn
		cn.connect = mustJSON(e.Frame).get("params")
		id := mustJSON(e.Frame).get("id").strValue()
		if res, err := r.tap.Log.Wait(dctx, e.N, func(x Entry) bool {
			return x.Conn == e.Conn && x.Dir == "s2c" && x.Frame != nil && mustJSON(x.Frame).get("id").strValue() == id
		}); err == nil {
			cn.hello = mustJSON(res.Frame)
		}
	}
	if err != nil {
		return cn, err
	}
	r.conns = append(r.conns, cn)
	return cn, nil
}

// exchange is one recorded request with its answer.
type exchange struct {
	ok        bool
	res       *jv   // the response frame
	responses []*jv // every response frame with the request's id (agent sends two)
	events    []*jv // events on the caller's socket during the call
}

// call sends method with params on cn and returns the response frame as the
// tap saw it, with the events that arrived on that socket meanwhile.
func (r *recorder) call(ctx context.Context, cn *conn, method string, params any, timeout time.Duration) (*exchange, error) {
	return r.callSettle(ctx, cn, method, params, timeout, eventSettle)
}

// callSettle is call with the time to keep collecting events after the
// response (0: none).
func (r *recorder) callSettle(ctx context.Context, cn *conn, method string, params any, timeout, settle time.Duration) (*exchange, error) {
	if timeout == 0 {
		timeout = callTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	mark := r.tap.Log.Len()
	_, err := cn.c.Call(cctx, method, params)
	var se *protocol.ErrorShape
	if err != nil && !errors.As(err, &se) {
		return nil, err
	}
	req, werr := r.tap.Log.Wait(cctx, mark, func(e Entry) bool {
		if e.Conn != cn.tapConn || e.Dir != "c2s" || e.Frame == nil {
			return false
		}
		f := mustJSON(e.Frame)
		return f.get("type").strValue() == "req" && f.get("method").strValue() == method
	})
	if werr != nil {
		return nil, fmt.Errorf("%s: request not seen by the tap: %v (call error: %v)", method, werr, err)
	}
	id := mustJSON(req.Frame).get("id").strValue()
	res, werr := r.tap.Log.Wait(cctx, req.N, func(e Entry) bool {
		return e.Conn == cn.tapConn && e.Dir == "s2c" && e.Frame != nil &&
			mustJSON(e.Frame).get("type").strValue() == "res" && mustJSON(e.Frame).get("id").strValue() == id
	})
	if werr != nil {
		return nil, fmt.Errorf("%s: no response within %s (call error: %v)", method, timeout, err)
	}
	if settle > 0 {
		r.settle(ctx, settle)
	}
	ex := &exchange{res: mustJSON(res.Frame)}
	ex.ok = ex.res.get("ok") != nil && ex.res.get("ok").b
	for _, e := range r.tap.Log.Since(req.N) {
		if e.Conn != cn.tapConn || e.Dir != "s2c" || e.Frame == nil {
			continue
		}
		f := mustJSON(e.Frame)
		switch f.get("type").strValue() {
		case "res":
			if f.get("id").strValue() == id {
				ex.responses = append(ex.responses, f)
			}
		case "event":
			if !quietEvents[f.get("event").strValue()] {
				ex.events = append(ex.events, f)
			}
		}
	}
	return ex, nil
}

// record calls method and writes testdata/reference/methods/<file>.json.
func (r *recorder) record(ctx context.Context, cn *conn, file, method string, params any) (*exchange, error) {
	if params == nil {
		params = map[string]any{}
	}
	ex, err := r.call(ctx, cn, method, params, 0)
	if err != nil {
		logf("  %s: %v", file, err)
		doc := jobj("method", method, "caller", cn.name, "params", params, "recorderError", err.Error())
		return nil, r.write(filepath.Join("methods", file+".json"), doc)
	}
	doc := jobj("method", method, "caller", cn.name, "params", params)
	doc.set("ok", &jv{kind: 'b', b: ex.ok})
	if p := ex.res.get("payload"); p != nil {
		doc.set("payload", p)
	}
	if e := ex.res.get("error"); e != nil {
		doc.set("error", e)
	}
	if len(ex.responses) > 1 {
		doc.set("responses", jarr(ex.responses...))
	}
	if len(ex.events) > 0 {
		doc.set("events", jarr(ex.events...))
	}
	status := "ok"
	if !ex.ok {
		status = ex.res.path("error", "code").strValue() + " " + ex.res.path("error", "message").strValue()
	}
	logf("  %-40s %s", file, trunc(status, 100))
	return ex, r.write(filepath.Join("methods", file+".json"), doc)
}

// write scrubs doc and writes it under the output dir.
func (r *recorder) write(rel string, doc *jv) error {
	p := filepath.Join(r.out, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	r.wrote++
	return os.WriteFile(p, r.sc.doc(doc).encode(), 0o644)
}

// writeText scrubs free text and writes it.
func (r *recorder) writeText(rel, text string) error {
	p := filepath.Join(r.out, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	r.wrote++
	return os.WriteFile(p, []byte(r.sc.text(text)), 0o644)
}

// writeFrames writes the tap entries of a run, scrubbed, as one JSON array.
func (r *recorder) writeFrames(rel string, entries []Entry, keep func(Entry) bool) error {
	var items []*jv
	for _, e := range entries {
		if keep != nil && !keep(e) {
			continue
		}
		items = append(items, entryJV(e, r.tap.Log.Label(e.Conn)))
	}
	return r.write(rel, jarr(items...))
}

func entryJV(e Entry, label string) *jv {
	v := jobj("conn", e.Conn, "client", label, "dir", e.Dir)
	switch {
	case e.HTTP != nil:
		b, _ := json.Marshal(e.HTTP)
		v.set("http", mustJSON(b))
	case e.Close != nil:
		v.set("close", jobj("code", e.Close.Code, "reason", e.Close.Reason))
	default:
		v.set("frame", mustJSON(e.Frame))
	}
	return v
}

// identity makes a device identity and registers its id and key with the
// scrubber under name.
func (r *recorder) identity(name string) *auth.Identity {
	id := auth.NewIdentity()
	r.sc.add(id.ID, "<deviceId:"+name+">")
	r.sc.add(encodeKey(&id), "<publicKey:"+name+">")
	return &id
}

func trunc(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

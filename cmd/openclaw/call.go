package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	neturl "net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"openclaw/actors/gateway"
	"openclaw/config"
	"openclaw/transport/auth"
	"openclaw/transport/client"
	"openclaw/transport/protocol"
)

// Target says which gateway a client command talks to.
type Target struct {
	URL      string `help:"Gateway WebSocket URL (default: OPENCLAW_GATEWAY_URL, else ws://127.0.0.1:<port>)." placeholder:"ws://HOST:PORT"`
	Token    string `help:"Gateway token (default: OPENCLAW_GATEWAY_TOKEN, else gateway.auth.token)."`
	Password string `help:"Gateway password (default: OPENCLAW_GATEWAY_PASSWORD, else gateway.auth.password)."`
	Timeout  int    `help:"Seconds to wait for the gateway." default:"10"`
}

// CallCmd calls one method.
type CallCmd struct {
	Target
	Method      string `arg:"" help:"Method name, e.g. health."`
	Params      string `help:"Params as a JSON object." default:"{}"`
	JSON        bool   `name:"json" help:"Print the result as JSON (the default output is JSON too)."`
	ExpectFinal bool   `help:"For two-stage methods (agent): wait for the final response, not the \"accepted\" one."`
}

func (c *CallCmd) Run(g *Globals) error {
	var params any
	if err := json.Unmarshal([]byte(c.Params), &params); err != nil {
		return fail(exitUsage, "--params is not valid JSON: %v", err)
	}
	if _, ok := params.(map[string]any); !ok {
		return fail(exitUsage, "--params must be a JSON object")
	}
	if c.ExpectFinal {
		return callFinalAndPrint(g, c.Target, c.Method, params, c.JSON)
	}
	return callAndPrint(g, c.Target, c.Method, params, c.JSON)
}

func callFinalAndPrint(g *Globals, t Target, method string, params any, asJSON bool) error {
	cl, err := dial(g, t)
	if err != nil {
		return reportError(err, asJSON)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(t.Timeout)*time.Second)
	defer cancel()
	res, err := cl.CallFinal(ctx, method, params)
	if err != nil {
		ce := &callError{stage: method, err: err}
		errors.As(err, &ce.shape)
		return reportError(ce, asJSON)
	}
	return printJSON(res)
}

// HealthCmd fetches health.
type HealthCmd struct {
	Target
	JSON bool `name:"json" help:"Print the raw JSON summary."`
}

func (c *HealthCmd) Run(g *Globals) error {
	res, err := call(g, c.Target, "health", map[string]any{})
	if err != nil {
		return reportError(err, c.JSON)
	}
	if c.JSON {
		return printJSON(res)
	}
	var h struct {
		OK         bool  `json:"ok"`
		DurationMs int64 `json:"durationMs"`
		Channels   map[string]struct {
			Linked bool `json:"linked"`
		} `json:"channels"`
	}
	_ = json.Unmarshal(res, &h)
	state := "ok"
	if !h.OK {
		state = "not ok"
	}
	fmt.Printf("Gateway health: %s (%d ms)\n", state, h.DurationMs)
	if len(h.Channels) == 0 {
		fmt.Println("Channels: none configured")
	}
	for name, ch := range h.Channels {
		fmt.Printf("Channel %s: linked=%v\n", name, ch.Linked)
	}
	if !h.OK {
		return fail(exitFailure, "")
	}
	return nil
}

// StatusCmd fetches the status summary.
type StatusCmd struct {
	Target
	JSON bool `name:"json" help:"Print the raw JSON summary."`
}

func (c *StatusCmd) Run(g *Globals) error {
	return callRender(g, c.Target, "status", map[string]any{}, c.JSON, func(res json.RawMessage) error {
		if c.JSON {
			return printJSON(res)
		}
		return writeStatus(os.Stdout, res)
	})
}

// writeStatus prints the status summary as a few lines of text, like
// health does; fields the gateway did not send are left out.
func writeStatus(w io.Writer, res json.RawMessage) error {
	var s struct {
		OK          *bool  `json:"ok"`
		Version     string `json:"version"`
		PID         int    `json:"pid"`
		UptimeMs    int64  `json:"uptimeMs"`
		Connections *struct {
			Total, Operators, Nodes, Handshaking int
		} `json:"connections"`
		Sessions *struct {
			Count int `json:"count"`
		} `json:"sessions"`
		ActiveRuns *int `json:"activeRuns"`
		Memory     *struct {
			RSSBytes       int64 `json:"rssBytes"`
			HeapAllocBytes int64 `json:"heapAllocBytes"`
			Goroutines     int   `json:"goroutines"`
		} `json:"memory"`
	}
	if err := json.Unmarshal(res, &s); err != nil {
		return fail(exitFailure, "status: unexpected result: %v", err)
	}
	state := "ok"
	if s.OK != nil && !*s.OK {
		state = "not ok"
	}
	line := "Gateway status: " + state
	var about []string
	if s.Version != "" {
		about = append(about, "version "+s.Version)
	}
	if s.PID != 0 {
		about = append(about, "pid "+strconv.Itoa(s.PID))
	}
	if s.UptimeMs > 0 {
		about = append(about, "up "+(time.Duration(s.UptimeMs)*time.Millisecond).Round(time.Second).String())
	}
	if len(about) > 0 {
		line += " (" + strings.Join(about, ", ") + ")"
	}
	lines := []string{line}
	if c := s.Connections; c != nil {
		lines = append(lines, fmt.Sprintf("Connections: %d (operators %d, nodes %d, handshaking %d)", c.Total, c.Operators, c.Nodes, c.Handshaking))
	}
	if s.Sessions != nil || s.ActiveRuns != nil {
		var parts []string
		if s.Sessions != nil {
			parts = append(parts, fmt.Sprintf("Sessions: %d", s.Sessions.Count))
		}
		if s.ActiveRuns != nil {
			parts = append(parts, fmt.Sprintf("Active runs: %d", *s.ActiveRuns))
		}
		lines = append(lines, strings.Join(parts, "  "))
	}
	if m := s.Memory; m != nil {
		lines = append(lines, fmt.Sprintf("Memory: %.1f MiB resident, %.1f MiB heap, %d goroutines",
			float64(m.RSSBytes)/(1<<20), float64(m.HeapAllocBytes)/(1<<20), m.Goroutines))
	}
	_, err := fmt.Fprintln(w, strings.Join(lines, "\n"))
	return err
}

func callAndPrint(g *Globals, t Target, method string, params any, asJSON bool) error {
	res, err := call(g, t, method, params)
	if err != nil {
		return reportError(err, asJSON)
	}
	return printJSON(res)
}

// callError is a failed call: the gateway's error when it sent one.
type callError struct {
	stage    string // "connect" or the method
	shape    *protocol.ErrorShape
	err      error
	noSecret bool // the command had no token or password to offer
}

func (e *callError) Error() string {
	msg := fmt.Sprintf("%s failed: %v", e.stage, e.err)
	if e.shape != nil {
		msg = fmt.Sprintf("%s failed: %s (%s)", e.stage, e.shape.Message, e.shape.Code)
	}
	if e.noSecret && e.shape != nil && e.shape.Code == protocol.CodeInvalidRequest {
		msg += "; pass --token (the gateway prints it at start) or set OPENCLAW_GATEWAY_TOKEN"
	}
	return msg
}

// reportError prints a failed call the way the reference CLI does with
// --json (an {"ok":false,"error":{...}} object on stdout), always with one
// readable line on stderr, and exits 1.
func reportError(err error, asJSON bool) error {
	var ce *callError
	if !errors.As(err, &ce) {
		return err
	}
	if asJSON {
		e := map[string]any{"type": "gateway_transport_error", "message": fmt.Sprint(ce.err)}
		if ce.shape != nil {
			e = map[string]any{"type": "gateway_request_error", "code": ce.shape.Code, "message": ce.shape.Message,
				"retryable": ce.shape.Retryable != nil && *ce.shape.Retryable}
			if ce.shape.Details != nil {
				e["details"] = ce.shape.Details
			}
		}
		_ = printJSON(mustJSON(map[string]any{"ok": false, "error": e}))
	}
	return fail(exitFailure, "%s", ce.Error())
}

// call connects, calls one method and returns its payload.
func call(g *Globals, t Target, method string, params any) (json.RawMessage, error) {
	cl, err := dial(g, t)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(t.Timeout)*time.Second)
	defer cancel()
	res, err := cl.Call(ctx, method, params)
	if err != nil {
		ce := &callError{stage: method, err: err}
		errors.As(err, &ce.shape)
		return nil, ce
	}
	return res, nil
}

// target is where and how a client command connects, resolved once.
type target struct {
	url, token, password string
	identityPath         string // the CLI's device key
}

// resolveTarget works out the gateway URL and secret: flags, then
// OPENCLAW_GATEWAY_URL / _TOKEN / _PASSWORD, then the config file, then (for
// a token on a loopback URL) the token file of a gateway of this profile
// that generated its token. A config file that does not load is not fatal
// here: the running gateway is what answers, and it may be running on the
// previous good config; the command says so in one line on stderr and
// carries on with the flags, the environment and the defaults.
func resolveTarget(g *Globals, t Target) (target, error) {
	prof, paths, err := g.paths()
	if err != nil {
		return target{}, err
	}
	cfg, err := config.Load(paths.ConfigPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "openclaw: warning: ignoring the config file: %s\n", oneLine(err.Error()))
		cfg = nil
	}
	rt := target{
		url:          firstSet(t.URL, os.Getenv("OPENCLAW_GATEWAY_URL")),
		token:        firstSet(t.Token, os.Getenv("OPENCLAW_GATEWAY_TOKEN")),
		password:     firstSet(t.Password, os.Getenv("OPENCLAW_GATEWAY_PASSWORD")),
		identityPath: filepath.Join(paths.StateDir, "identity", "device.json"),
	}
	if rt.url == "" {
		port, _, err := config.ResolvePort(0, cfg, prof)
		if err != nil {
			return target{}, fail(exitConfig, "%v", err)
		}
		rt.url = "ws://127.0.0.1:" + strconv.Itoa(port)
	}
	if cfg != nil && rt.token == "" && cfg.Gateway.Auth.Token != nil {
		rt.token = *cfg.Gateway.Auth.Token
	}
	if cfg != nil && rt.password == "" && cfg.Gateway.Auth.Password != nil {
		rt.password = *cfg.Gateway.Auth.Password
	}
	if rt.token == "" && rt.password == "" && isLoopbackURL(rt.url) {
		// Only ever sent to this machine: the file is this user's secret.
		rt.token = firstSet(readTokenFile(paths.StateDir), serviceToken(paths.StateDir))
	}
	return rt, nil
}

func dial(g *Globals, t Target) (*client.Client, error) {
	rt, err := resolveTarget(g, t)
	if err != nil {
		return nil, err
	}
	return dialTarget(rt, t.Timeout)
}

func dialTarget(rt target, timeoutSec int) (*client.Client, error) {
	// Like the reference CLI: a shared secret over loopback needs no device
	// identity; anywhere else the device key proves who is calling.
	var id *auth.Identity
	if !(isLoopbackURL(rt.url) && (rt.token != "" || rt.password != "")) {
		var err error
		if id, err = loadIdentity(rt.identityPath); err != nil {
			return nil, fail(exitFailure, "device identity: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(timeoutSec)*time.Second)
	defer cancel()
	cl, err := client.Dial(ctx, client.Options{
		URL: rt.url, Token: rt.token, Password: rt.password, Identity: id,
		ClientID: "cli", Mode: "cli", Version: gateway.Version, DisplayName: "openclaw-go cli",
		Scopes: []string{"operator.admin", "operator.read", "operator.write", "operator.approvals", "operator.pairing"},
	})
	if err != nil {
		ce := &callError{stage: "connect", err: err, noSecret: rt.token == "" && rt.password == ""}
		errors.As(err, &ce.shape)
		return nil, ce
	}
	return cl, nil
}

func isLoopbackURL(raw string) bool {
	u, err := neturl.Parse(raw)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.IsLoopback()
}

// identityFile is the CLI's stored device key.
type identityFile struct {
	Version    int    `json:"version"`
	DeviceID   string `json:"deviceId"`
	PrivateKey []byte `json:"privateKey"` // ed25519 seed+public, 64 bytes
}

// loadIdentity reads the CLI's device key, creating it (0600) on first use.
func loadIdentity(path string) (*auth.Identity, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		var f identityFile
		if err := json.Unmarshal(data, &f); err != nil || len(f.PrivateKey) != 64 {
			return nil, fmt.Errorf("%s is unreadable (remove it to create a new identity)", path)
		}
		id := auth.IdentityFromPrivate(f.PrivateKey)
		return &id, nil
	}
	if !os.IsNotExist(err) {
		return nil, err
	}
	id := auth.NewIdentity()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	b, _ := json.MarshalIndent(identityFile{Version: 1, DeviceID: id.ID, PrivateKey: id.Private}, "", "  ")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	return &id, nil
}

func printJSON(raw json.RawMessage) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		os.Stdout.Write(raw)
		fmt.Println()
		return nil
	}
	buf.WriteByte('\n')
	_, err := os.Stdout.Write(buf.Bytes())
	return err
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func firstSet(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

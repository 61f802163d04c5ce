package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"openclaw/actors/gateway/gatewaytest"
	"openclaw/transport/client"
	"openclaw/transport/protocol"
)

// writeConfig replaces the config file the way editors do: a new file
// renamed over the old one.
func writeConfig(t *testing.T, dir, body string) {
	t.Helper()
	tmp := filepath.Join(dir, ".openclaw.json.tmp")
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "openclaw.json")); err != nil {
		t.Fatal(err)
	}
}

func dialToken(g *gatewayProc, token string) (*client.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return client.Dial(ctx, client.Options{URL: g.URL, Token: token, ClientID: "cli", Mode: "cli",
		Scopes: []string{"operator.admin"}, EventBuffer: 64})
}

func mustDial(t *testing.T, g *gatewayProc, token string) *client.Client {
	t.Helper()
	c, err := dialToken(g, token)
	if err != nil {
		t.Fatalf("dial with %q: %v", token, err)
	}
	t.Cleanup(c.Close)
	return c
}

func callJSON(t *testing.T, c *client.Client, method string, params any) (map[string]any, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	raw, err := c.Call(ctx, method, params)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %s", method, raw)
	}
	return m, nil
}

func closedWith(t *testing.T, c *client.Client, code uint16, within time.Duration) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(within):
		t.Fatalf("socket still open after %v, want close %d", within, code)
	}
	var ce *client.CloseError
	if !errors.As(c.Err(), &ce) || ce.Code != code {
		t.Fatalf("closed with %v, want %d", c.Err(), code)
	}
}

func configGateway(t *testing.T, body string) *gatewayProc {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "openclaw.json"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return startGateway(t, gwOptions{StateDir: dir, NoAllowUnconfigured: true, Env: []string{"OPENCLAW_SKIP_CANVAS_HOST=1"}})
}

// TestHotReloadSecretRotation: a new token in the file applies in place:
// sockets that used the old one are closed 4001, the process does not
// restart, and only the new token is accepted.
func TestHotReloadSecretRotation(t *testing.T) {
	g := configGateway(t, `{gateway: {auth: {token: "old-token-123456"}}}`)
	old := mustDial(t, g, "old-token-123456")
	h, err := callJSON(t, old, "health", map[string]any{"probe": true})
	if err != nil || h["configReload"].(map[string]any)["hotReloadStatus"] != "active" {
		t.Fatalf("health: %v %v", h, err)
	}
	writeConfig(t, g.StateDir, `{
		// rotated
		gateway: {auth: {token: "new-token-123456"}},
	}`)
	closedWith(t, old, 4001, 5*time.Second)
	if g.exited() {
		t.Fatal("gateway exited")
	}
	mustDial(t, g, "new-token-123456")
	if _, err := dialToken(g, "old-token-123456"); err == nil {
		t.Fatal("the old token still works")
	}
	if strings.Contains(g.Stdout.String(), "in-process restart") {
		t.Fatal("a token rotation restarted the gateway")
	}
}

// TestHotReloadBadFile: an invalid file is logged and the running config
// stays.
func TestHotReloadBadFile(t *testing.T) {
	g := configGateway(t, `{gateway: {auth: {token: "keep-token-123456"}}}`)
	c := mustDial(t, g, "keep-token-123456")
	writeConfig(t, g.StateDir, `{gateway: {auth: {tokn: "typo-token-123456"}}}`)
	if !waitFor(func() bool { return strings.Contains(g.Stdout.String(), "unknown config key gateway.auth.tokn") }, 5*time.Second) {
		t.Fatalf("no log line naming the bad key:\n%s", g.Stdout)
	}
	if _, err := callJSON(t, c, "health", nil); err != nil {
		t.Fatalf("client dropped after a bad config: %v", err)
	}
	mustDial(t, g, "keep-token-123456")
}

// TestReloadRestartClass: a change the running gateway cannot take in place
// (here the tick interval, a transport limit) restarts it in-process; the
// new generation runs the new value.
func TestReloadRestartClass(t *testing.T) {
	g := configGateway(t, `{gateway: {auth: {token: "rs-token-123456"}}}`)
	c := mustDial(t, g, "rs-token-123456")
	pid := g.cmd.Process.Pid
	writeConfig(t, g.StateDir, `{gateway: {auth: {token: "rs-token-123456"}, limits: {tickIntervalMs: 12345}}}`)
	closedWith(t, c, 1012, 5*time.Second)
	var hello struct {
		Policy struct {
			TickIntervalMs int `json:"tickIntervalMs"`
		} `json:"policy"`
	}
	var c2 *client.Client
	if !waitFor(func() bool { var err error; c2, err = dialToken(g, "rs-token-123456"); return err == nil }, 5*time.Second) {
		t.Fatal("no reconnect after the restart")
	}
	defer c2.Close()
	_ = json.Unmarshal(c2.Hello, &hello)
	if hello.Policy.TickIntervalMs != 12345 || g.cmd.Process.Pid != pid || g.exited() {
		t.Fatalf("after restart: tick %d, pid %d (was %d), exited %v", hello.Policy.TickIntervalMs, g.cmd.Process.Pid, pid, g.exited())
	}
}

// TestReloadOff: with gateway.reload.mode "off" edits are ignored.
func TestReloadOff(t *testing.T) {
	g := configGateway(t, `{gateway: {reload: {mode: "off"}, auth: {token: "off-token-123456"}}}`)
	c := mustDial(t, g, "off-token-123456")
	h, _ := callJSON(t, c, "health", map[string]any{"probe": true})
	if h["configReload"].(map[string]any)["hotReloadStatus"] != "disabled" {
		t.Fatalf("hotReloadStatus = %v", h["configReload"])
	}
	writeConfig(t, g.StateDir, `{gateway: {reload: {mode: "off"}, auth: {token: "other-token-123456"}}}`)
	time.Sleep(800 * time.Millisecond) // past the debounce a watcher would use
	if _, err := callJSON(t, c, "health", nil); err != nil {
		t.Fatalf("client dropped with reload off: %v", err)
	}
	mustDial(t, g, "off-token-123456")
}

// TestConfigRPCs: config.get redacts secrets and returns the file's hash;
// config.patch and config.apply need that hash, write atomically keeping a
// .bak, and keep redacted secrets as they were.
func TestConfigRPCs(t *testing.T) {
	body := `{gateway: {auth: {token: "rpc-token-123456"}}}`
	g := configGateway(t, body)
	c := mustDial(t, g, "rpc-token-123456")
	got, err := callJSON(t, c, "config.get", nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(body))
	if got["hash"] != hex.EncodeToString(sum[:]) || got["path"] != filepath.Join(g.StateDir, "openclaw.json") {
		t.Fatalf("config.get: %v", got)
	}
	cfgJSON, _ := json.Marshal(got["config"])
	if strings.Contains(string(cfgJSON), "rpc-token-123456") || !strings.Contains(string(cfgJSON), "__OPENCLAW_REDACTED__") {
		t.Fatalf("config.get leaks or drops the token: %s", cfgJSON)
	}

	_, err = callJSON(t, c, "config.patch", map[string]any{"baseHash": "stale", "patch": map[string]any{}})
	var es *protocol.ErrorShape
	if !errors.As(err, &es) || es.Code != "INVALID_REQUEST" || es.Message != "config changed since last load" {
		t.Fatalf("stale baseHash: %v", err)
	}

	patch := map[string]any{"gateway": map[string]any{"auth": map[string]any{"rateLimit": map[string]any{"maxAttempts": 20}}}}
	res, err := callJSON(t, c, "config.patch", map[string]any{"baseHash": got["hash"], "patch": patch})
	if err != nil || res["ok"] != true || res["restart"] != false {
		t.Fatalf("config.patch: %v %v", res, err)
	}
	bak, _ := os.ReadFile(filepath.Join(g.StateDir, "openclaw.json.bak"))
	if string(bak) != body {
		t.Fatalf(".bak = %q, want the previous file", bak)
	}
	after, _ := callJSON(t, c, "config.get", nil)
	rl := after["config"].(map[string]any)["gateway"].(map[string]any)["auth"].(map[string]any)["rateLimit"].(map[string]any)
	if rl["maxAttempts"] != 20.0 || after["hash"] != res["hash"] {
		t.Fatalf("after patch: %v", after)
	}
	// The token came back from the redacted form unchanged: it still works.
	mustDial(t, g, "rpc-token-123456")

	// config.apply with an invalid config is refused and writes nothing.
	bad := after["config"].(map[string]any)
	bad["gateway"].(map[string]any)["bind"] = "everywhere"
	_, err = callJSON(t, c, "config.apply", map[string]any{"baseHash": after["hash"], "config": bad})
	if !errors.As(err, &es) || !strings.HasPrefix(es.Message, "invalid config") {
		t.Fatalf("invalid apply: %v", err)
	}
	now, _ := callJSON(t, c, "config.get", nil)
	if now["hash"] != after["hash"] {
		t.Fatal("a refused apply changed the file")
	}
}

// TestForce: --force stops whatever listens on the port, logs it, and starts.
func TestForce(t *testing.T) {
	squatter := startGateway(t, gwOptions{Token: "force-token-123456", Env: []string{"OPENCLAW_SKIP_CANVAS_HOST=1"}})
	g := startGateway(t, gwOptions{Token: "force-token-123456", Port: squatter.Port, Args: []string{"--force"},
		Env: []string{"OPENCLAW_SKIP_CANVAS_HOST=1"}})
	if code := squatter.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("the process on the port exited %d, want a clean SIGTERM stop (0)", code)
	}
	if !strings.Contains(g.Stdout.String(), "pid="+strconv.Itoa(squatter.cmd.Process.Pid)) {
		t.Fatalf("--force did not log the PID it stopped:\n%s", g.Stdout)
	}
	mustDial(t, g, "force-token-123456")
}

// TestCanvasHost: the canvas is served on the gateway port and on its own
// port, with no way out of its root; OPENCLAW_SKIP_CANVAS_HOST turns it off.
func TestCanvasHost(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "workspace", "canvas")
	if err := os.MkdirAll(root, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "index.html"), []byte("<h1>canvas</h1>"), 0o600)
	os.WriteFile(filepath.Join(dir, "workspace", "secret.txt"), []byte("secret"), 0o600)
	cport := gatewaytest.FreePort(t)
	g := startGateway(t, gwOptions{Token: "canvas-token-123456", StateDir: dir, Env: []string{"OPENCLAW_CANVAS_HOST_PORT=" + strconv.Itoa(cport)}})
	if !waitFor(func() bool { return strings.Contains(g.Stdout.String(), "canvas host listening") }, 5*time.Second) {
		t.Fatalf("canvas host did not start:\n%s", g.Stdout)
	}
	for _, base := range []string{g.HTTP, "http://127.0.0.1:" + strconv.Itoa(cport)} {
		code, body := get(t, base+"/__openclaw__/canvas/")
		if code != 200 || body != "<h1>canvas</h1>" {
			t.Fatalf("%s: %d %q", base, code, body)
		}
		for _, p := range []string{"/__openclaw__/canvas/%2e%2e/secret.txt", "/__openclaw__/canvas/..%2fsecret.txt"} {
			if code, body := get(t, base+p); code == 200 || strings.Contains(body, "secret") {
				t.Fatalf("%s%s: %d %q", base, p, code, body)
			}
		}
	}
	off := startGateway(t, gwOptions{Token: "canvas-token-123456", StateDir: t.TempDir(), Env: []string{"OPENCLAW_SKIP_CANVAS_HOST=1"}})
	if code, _ := get(t, off.HTTP+"/__openclaw__/canvas/"); code != 404 {
		t.Fatalf("canvas served with OPENCLAW_SKIP_CANVAS_HOST=1: %d", code)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	resp, err := http.DefaultTransport.RoundTrip(req) // no redirects, no path cleaning
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

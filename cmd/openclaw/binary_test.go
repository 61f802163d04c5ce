package main

// Black-box tests of the openclaw binary as a real process: signals, exit
// codes, what it prints, and what it serves on its port. They need nothing
// but the binary TestMain builds.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"openclaw/actors/gateway/gatewaytest"
	"openclaw/transport/client"
)

const testToken = "binary-test-token-0123456789"

func dialGateway(t *testing.T, url, token string) (*client.Client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return client.Dial(ctx, client.Options{
		URL: url, Token: token, ClientID: "test", Mode: "test", Scopes: []string{"operator.read"},
	})
}

// TestBinarySIGTERMShutdown: on SIGTERM a connected client gets the shutdown
// event, then close 1012 "service restart", and the process exits 0.
func TestBinarySIGTERMShutdown(t *testing.T) {
	g := startGateway(t, gwOptions{Token: testToken})
	c, err := dialGateway(t, g.URL, testToken)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()

	g.signal(t, syscall.SIGTERM)

	var shutdown *client.Event
	var seen []string
	timeout := time.After(10 * time.Second)
wait:
	for shutdown == nil {
		select {
		case e := <-c.Events():
			seen = append(seen, e.Event)
			if e.Event == "shutdown" {
				shutdown = e
			}
		case <-c.Done():
			// Events that arrived before the close are still buffered.
			for {
				select {
				case e := <-c.Events():
					seen = append(seen, e.Event)
					if e.Event == "shutdown" {
						shutdown = e
						break wait
					}
				default:
					break wait
				}
			}
		case <-timeout:
			break wait
		}
	}
	if shutdown == nil {
		t.Fatalf("no shutdown event after SIGTERM; events seen: %v; connection err: %v", seen, c.Err())
	}
	var p struct {
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(shutdown.Payload, &p); err != nil || p.Reason != "gateway stopping" {
		t.Errorf("shutdown payload = %s, want reason %q", shutdown.Payload, "gateway stopping")
	}

	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("connection still open 10 s after the shutdown event")
	}
	var ce *client.CloseError
	if err := c.Err(); !errors.As(err, &ce) {
		t.Errorf("connection ended with %v (%T), want a *client.CloseError", err, err)
	} else if ce.Code != 1012 || ce.Reason != "service restart" {
		t.Errorf("close = %d %q, want 1012 %q", ce.Code, ce.Reason, "service restart")
	}

	if code := g.wait(t, 15*time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
}

// requireOneLine fails unless s is exactly one non-empty line; it returns it.
func requireOneLine(t *testing.T, what, s string) string {
	t.Helper()
	line := strings.TrimSuffix(s, "\n")
	if line == "" || strings.Contains(line, "\n") || !strings.HasSuffix(s, "\n") {
		t.Errorf("%s should be exactly one line, got %q", what, s)
	}
	return line
}

// TestBinaryStartupFailures: configurations the gateway refuses exit 78
// (EX_CONFIG) with one line on stderr that says what is wrong.
func TestBinaryStartupFailures(t *testing.T) {
	cases := []struct {
		name string
		// setup prepares the state dir and returns options and the
		// strings the stderr line must contain.
		setup func(t *testing.T, stateDir string) (gwOptions, []string)
	}{
		{
			name: "unknown top-level config key",
			setup: func(t *testing.T, dir string) (gwOptions, []string) {
				writeFile(t, filepath.Join(dir, "openclaw.json"), `{"gateway":{"mode":"local"},"bogusKey":true}`)
				return gwOptions{Token: testToken}, []string{"bogusKey", "openclaw.json"}
			},
		},
		{
			name: "unknown nested config key",
			setup: func(t *testing.T, dir string) (gwOptions, []string) {
				writeFile(t, filepath.Join(dir, "openclaw.json"), "// json5\n{gateway: {auth: {tokn: 'x'}}}\n")
				return gwOptions{Token: testToken}, []string{"tokn"}
			},
		},
		{
			name: "no config without --allow-unconfigured",
			setup: func(t *testing.T, dir string) (gwOptions, []string) {
				return gwOptions{Token: testToken, NoAllowUnconfigured: true}, []string{"--allow-unconfigured"}
			},
		},
		{
			name: "port busy",
			setup: func(t *testing.T, dir string) (gwOptions, []string) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ln.Close() })
				port := ln.Addr().(*net.TCPAddr).Port
				return gwOptions{Token: testToken, Port: port}, []string{strconv.Itoa(port)}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts, want := tc.setup(t, dir)
			opts.StateDir = dir
			g := launchGateway(t, opts)
			code := g.wait(t, 15*time.Second)
			if code != exitConfig {
				t.Errorf("exit code %d, want %d (EX_CONFIG: restarting will not help)", code, exitConfig)
			}
			line := requireOneLine(t, "stderr", g.Stderr.String())
			for _, w := range want {
				if !strings.Contains(line, w) {
					t.Errorf("stderr %q does not mention %q", line, w)
				}
			}
			if t.Failed() {
				t.Logf("exit %d\n--- stdout:\n%s--- stderr:\n%s", code, g.Stdout, g.Stderr)
			}
		})
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestBinaryGeneratedToken: with no token anywhere the gateway prints the one
// it generated exactly once, on stdout, and never in its log file; that token
// lets a client in; client commands of the same user and profile find it in
// the state directory's token file (0600) without being given it; the file
// goes when the gateway stops, and a second gateway refused by the lock
// leaves it alone.
func TestBinaryGeneratedToken(t *testing.T) {
	g := startGateway(t, gwOptions{})
	var m []string
	if !waitFor(func() bool {
		m = regexp.MustCompile(`(?m)^gateway token for this run: ([0-9a-f]{48})$`).FindStringSubmatch(g.Stdout.String())
		return m != nil
	}, 10*time.Second) {
		t.Fatalf("stdout does not print a 48-hex generated token:\n%s", g.Stdout)
	}
	token := m[1]
	if n := strings.Count(g.Stdout.String(), token); n != 1 {
		t.Errorf("the token appears %d times on stdout, want once", n)
	}
	if strings.Contains(g.Stderr.String(), token) {
		t.Errorf("the token is on stderr too")
	}
	logs, _ := filepath.Glob(filepath.Join(g.StateDir, "logs", "*.log"))
	if len(logs) == 0 {
		t.Fatal("no log file")
	}
	for _, l := range logs {
		if b, _ := os.ReadFile(l); strings.Contains(string(b), token) {
			t.Errorf("the token is in the log file %s", l)
		}
	}
	c, err := dialGateway(t, g.URL, token)
	if err != nil {
		t.Fatalf("dial with the generated token %s: %v", token, err)
	}
	c.Close()
	if c, err := dialGateway(t, g.URL, strings.Repeat("0", 48)); err == nil {
		c.Close()
		t.Errorf("a different token was accepted too")
	}

	file := filepath.Join(g.StateDir, tokenFileName)
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, mode %v; want 0600", err, st)
	}
	if b, _ := os.ReadFile(file); strings.TrimSpace(string(b)) != token {
		t.Fatalf("token file holds %q, want the printed token", b)
	}
	// A client command with no token finds the gateway's (same state dir;
	// the port from the environment, as a profile would give it).
	env := cleanEnv("HOME="+g.Home, "OPENCLAW_STATE_DIR="+g.StateDir, "OPENCLAW_GATEWAY_PORT="+strconv.Itoa(g.Port))
	r := runCmd(t, 30*time.Second, env, "", testBinary, "health")
	if r.Code != 0 || !strings.Contains(r.Stdout, "Gateway health: ok") {
		t.Fatalf("openclaw health without --token:\n%s", r)
	}
	// Without the file, the same command says how to pass a token.
	other := cleanEnv("HOME="+g.Home, "OPENCLAW_STATE_DIR="+t.TempDir(), "OPENCLAW_GATEWAY_PORT="+strconv.Itoa(g.Port))
	r = runCmd(t, 30*time.Second, other, "", testBinary, "health")
	if line := requireOneLine(t, "stderr", r.Stderr); r.Code != 1 || !strings.Contains(line, "--token") {
		t.Errorf("health with no token at all: want exit 1 and a line that says how to pass one:\n%s", r)
	}

	second := launchGateway(t, gwOptions{StateDir: g.StateDir, Port: gatewaytest.FreePort(t)})
	if code := second.wait(t, 15*time.Second); code != exitConfig {
		t.Errorf("second gateway on the same state dir: exit %d, want %d", code, exitConfig)
	}
	if b, _ := os.ReadFile(file); strings.TrimSpace(string(b)) != token {
		t.Fatalf("after a refused second gateway the token file holds %q", b)
	}
	g.stop(t)
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("token file still there after the gateway stopped: %v", err)
	}
}

// TestBinaryCLICall: our own `openclaw gateway call` against our gateway.
func TestBinaryCLICall(t *testing.T) {
	g := startGateway(t, gwOptions{Token: testToken})
	ourCLI := func(t *testing.T, args ...string) cmdResult {
		env := cleanEnv("HOME="+t.TempDir(), "OPENCLAW_STATE_DIR="+t.TempDir())
		return runCmd(t, 30*time.Second, env, "", testBinary, args...)
	}
	t.Run("health", func(t *testing.T) {
		r := ourCLI(t, "gateway", "call", "health", "--url", g.URL, "--token", testToken)
		defer logOnFailure(t, r)
		if r.Code != 0 {
			t.Fatalf("exit %d, want 0", r.Code)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil {
			t.Fatalf("stdout is not a JSON object: %v", err)
		}
		if v["ok"] != true {
			t.Errorf("ok = %v, want true", v["ok"])
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		r := ourCLI(t, "gateway", "call", "health", "--url", g.URL, "--token", "WRONG")
		defer logOnFailure(t, r)
		if r.Code != 1 {
			t.Errorf("exit %d, want 1", r.Code)
		}
		line := requireOneLine(t, "stderr", r.Stderr)
		if !strings.Contains(line, "token mismatch") {
			t.Errorf("stderr %q does not say the token is wrong", line)
		}
	})
	g.stop(t)
}

func logOnFailure(t *testing.T, r cmdResult) {
	if t.Failed() {
		t.Logf("%s", r)
	}
}

// TestBinaryHTTPProbes: the liveness and readiness probes share the port.
func TestBinaryHTTPProbes(t *testing.T) {
	g := startGateway(t, gwOptions{Token: testToken})
	hc := &http.Client{Timeout: 5 * time.Second}
	cases := []struct {
		path  string
		check func(t *testing.T, body map[string]any)
	}{
		{"/health", wantLive},
		{"/healthz", wantLive},
		{"/ready", wantReady},
		{"/readyz", wantReady},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			res, err := hc.Get(g.HTTP + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			raw, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusOK {
				t.Errorf("status %d, want 200; body %s", res.StatusCode, raw)
			}
			for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
				if got := res.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			var body map[string]any
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("body %q is not a JSON object: %v", raw, err)
			}
			tc.check(t, body)
		})
	}
	g.stop(t)
}

func wantLive(t *testing.T, body map[string]any) {
	t.Helper()
	if body["ok"] != true || body["status"] != "live" {
		t.Errorf("body = %v, want {\"ok\":true,\"status\":\"live\"}", body)
	}
}

func wantReady(t *testing.T, body map[string]any) {
	t.Helper()
	if body["ready"] != true {
		t.Errorf("body = %v, want ready:true", body)
	}
}

package main

// Tests of `openclaw message send`. The helpers here (configuredGateway,
// clientCLI, requireCallFailure) serve pairing_test.go too, and the
// success-path tests to come: start configuredGateway with a channels
// section pointing at a fake Telegram Bot API, then run clientCLI.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

const channelCLIToken = "channel-cli-token-0123456789"

// configuredGateway starts a gateway whose openclaw.json is
// {gateway: {auth: {token}}, <extra>}; extra is more top-level JSON5 keys
// ("" for none), e.g. `channels: {telegram: {...}}`.
func configuredGateway(t *testing.T, extra string) *gatewayProc {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "openclaw.json"),
		fmt.Sprintf("{gateway: {auth: {token: %q}}, %s}", channelCLIToken, extra))
	g := startGateway(t, gwOptions{StateDir: dir, NoAllowUnconfigured: true, Env: []string{"OPENCLAW_SKIP_CANVAS_HOST=1"}})
	g.Token = channelCLIToken
	return g
}

// clientCLI runs the CLI against g (--url, --token) with a fresh HOME and
// state dir.
func clientCLI(t *testing.T, g *gatewayProc, args ...string) cmdResult {
	t.Helper()
	env := cleanEnv("HOME="+t.TempDir(), "OPENCLAW_STATE_DIR="+t.TempDir())
	return runCmd(t, 30*time.Second, env, "", testBinary, append(args, "--url", g.URL, "--token", g.Token)...)
}

// requireCallFailure checks a command whose gateway call failed: exit 1, one
// readable line on stderr and, with asJSON, the reference's
// {"ok":false,"error":{"type","message",...}} on stdout. It returns the
// stderr line and the decoded error object (nil without asJSON).
func requireCallFailure(t *testing.T, r cmdResult, asJSON bool) (string, map[string]any) {
	t.Helper()
	defer logOnFailure(t, r)
	if r.Code != 1 {
		t.Errorf("exit %d, want 1", r.Code)
	}
	line := requireOneLine(t, "stderr", r.Stderr)
	if !strings.HasPrefix(line, "openclaw: ") || len(line) < len("openclaw: ")+5 {
		t.Errorf("stderr %q is not an `openclaw: <what failed>` line", line)
	}
	if !asJSON {
		if r.Stdout != "" {
			t.Errorf("stdout should be empty, got %q", r.Stdout)
		}
		return line, nil
	}
	v, ok := decodeJSON(t, r.Stdout).(map[string]any)
	if !ok || v["ok"] != false || len(v) != 2 {
		t.Fatalf("stdout is not {\"ok\":false,\"error\":{...}}: %s", r.Stdout)
	}
	e, _ := v["error"].(map[string]any)
	if typ, _ := e["type"].(string); typ != "gateway_request_error" && typ != "gateway_transport_error" {
		t.Errorf("error.type = %v, want gateway_request_error or gateway_transport_error", e["type"])
	}
	if msg, _ := e["message"].(string); msg == "" {
		t.Errorf("error.message is empty: %v", e)
	}
	if e["type"] == "gateway_request_error" {
		if code, _ := e["code"].(string); code == "" {
			t.Errorf("error.code is empty: %v", e)
		}
		if _, ok := e["retryable"].(bool); !ok {
			t.Errorf("error.retryable is not a bool: %v", e)
		}
	}
	return line, e
}

// requireUsageError checks a command the CLI refused before calling
// anything: a non-zero exit, nothing on stdout and one stderr line that
// mentions each of want.
func requireUsageError(t *testing.T, r cmdResult, want ...string) {
	t.Helper()
	defer logOnFailure(t, r)
	if r.Code == 0 || r.Code == 1 {
		t.Errorf("exit %d, want a usage error (2)", r.Code)
	}
	if r.Stdout != "" {
		t.Errorf("stdout should be empty, got %q", r.Stdout)
	}
	line := requireOneLine(t, "stderr", r.Stderr)
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("stderr %q does not mention %q", line, w)
		}
	}
}

// TestMessageSendUsage: required and malformed flags are refused with one
// line, before any connection (the --url points nowhere).
func TestMessageSendUsage(t *testing.T) {
	runUsageCases(t, []string{"message", "send"}, []usageCase{
		{"missing --target", []string{"--message", "hi"}, []string{"--target"}},
		{"missing --message", []string{"--target", "123"}, []string{"--message"}},
		{"empty --target", []string{"--target", " ", "--message", "hi"}, []string{"--target"}},
		{"empty --message", []string{"-t", "123", "-m", ""}, []string{"--message"}},
		{"bad channel", []string{"--channel", "Tele gram!", "-t", "1", "-m", "hi"}, []string{"channel"}},
	})
}

// usageCase is a command line the CLI must refuse, and what its one
// stderr line must mention.
type usageCase struct {
	name string
	args []string
	want []string
}

// runUsageCases runs prefix+args of each case against a --url that points
// nowhere and checks it is refused (requireUsageError).
func runUsageCases(t *testing.T, prefix []string, cases []usageCase) {
	t.Helper()
	env := cleanEnv("HOME="+t.TempDir(), "OPENCLAW_STATE_DIR="+t.TempDir())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append(append([]string{}, prefix...), tc.args...), "--url", "ws://127.0.0.1:1", "--token", "x")
			requireUsageError(t, runCmd(t, 30*time.Second, env, "", testBinary, args...), tc.want...)
		})
	}
}

func TestSendParams(t *testing.T) {
	p, err := sendParams("telegram", " @alice ", "hi there", "", "", false)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := p["idempotencyKey"].(string)
	if _, err := uuid.Parse(key); err != nil {
		t.Errorf("idempotencyKey %q is not a uuid", key)
	}
	delete(p, "idempotencyKey")
	want := map[string]any{"to": "@alice", "message": "hi there", "channel": "telegram"}
	if fmt.Sprint(p) != fmt.Sprint(want) {
		t.Errorf("params = %v, want %v", p, want)
	}

	p, err = sendParams("telegram", "-100123", "x", "work", "42", true)
	if err != nil {
		t.Fatal(err)
	}
	if p["accountId"] != "work" || p["replyToId"] != "42" || p["silent"] != true {
		t.Errorf("params = %v, want accountId work, replyToId 42, silent true", p)
	}
	if q, _ := sendParams("telegram", "1", "x", "", "", false); q["idempotencyKey"] == p["idempotencyKey"] {
		t.Errorf("two sends share the idempotency key %v", p["idempotencyKey"])
	}
}

func TestWriteSent(t *testing.T) {
	cases := []struct{ res, want string }{
		{`{"runId":"r","messageId":"42","channel":"telegram","chatId":"123"}`, "✅ Sent via gateway (telegram). Message ID: 42\n"},
		{`{"runId":"r","messageId":7,"channel":"telegram"}`, "✅ Sent via gateway (telegram). Message ID: 7\n"},
		{`{"runId":"r"}`, "✅ Sent via gateway (telegram). Message ID: unknown\n"},
	}
	for _, tc := range cases {
		var b bytes.Buffer
		if err := writeSent(&b, "telegram", json.RawMessage(tc.res)); err != nil || b.String() != tc.want {
			t.Errorf("writeSent(%s) = %q, %v; want %q", tc.res, b.String(), err, tc.want)
		}
	}
}

// TestMessageSendWithoutChannel: against a gateway with no channel the send
// fails cleanly: exit 1, one stderr line naming the method, and with --json
// the error object. (The exact error is the gateway's to choose.)
func TestMessageSendWithoutChannel(t *testing.T) {
	g := configuredGateway(t, "")
	send := []string{"message", "send", "--target", "123456", "--message", "hello"}

	line, _ := requireCallFailure(t, clientCLI(t, g, send...), false)
	if !strings.Contains(line, "send") {
		t.Errorf("stderr %q does not name the send", line)
	}
	requireCallFailure(t, clientCLI(t, g, append(send, "--json", "--channel", "telegram", "--silent", "--reply-to", "9")...), true)

	// Not reachable: a transport error, same shape.
	r := runCmd(t, 30*time.Second, cleanEnv("HOME="+t.TempDir(), "OPENCLAW_STATE_DIR="+t.TempDir()), "", testBinary,
		append(send, "--json", "--url", "ws://127.0.0.1:1", "--token", "x", "--timeout", "2")...)
	if _, e := requireCallFailure(t, r, true); e["type"] != "gateway_transport_error" {
		t.Errorf("unreachable gateway: error.type = %v, want gateway_transport_error", e["type"])
	}
	g.stop(t)
}

package main

// The operator surface (sessions, models and agents, channels, config,
// heartbeats and cron, approvals, logs) through the reference CLI,
// against one gateway with a model and a Telegram bot (both fakes). Each
// command runs with a fresh HOME and finds the gateway through
// OPENCLAW_GATEWAY_URL/TOKEN, as a user's shell would; the checks are the
// exit code and the shape of the output, as the same commands print it
// against the reference gateway (testdata/reference/cli, methods).
//
// Every reference CLI command starts Node (2 s of CPU, 3-8 s on a busy
// 2-core machine), so `gateway call` goes through the reference CLI only for
// the methods in callViaCLI (one per kind of scope the CLI asks for); the
// other methods are called by our Go client connecting as the reference CLI
// does (client cli/cli, the least scope the reference's method table gives),
// and their payload shapes are table-tested against the recordings in
// actors/gateway/reference_shapes_test.go. The groups that do not depend on
// each other run at the same time. The version the CLI compares with its own
// (status.runtimeVersion, server.version) is checked by
// TestConformanceReferenceCLI; `openclaw doctor`, which reports a mismatch,
// takes more than a minute of local checks on a busy machine and is left out.

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"openclaw/channels/telegram/fakebotapi"
	"openclaw/transport/client"
	"openclaw/transport/provider/fakeprovider"
)

// callViaCLI are the methods `gateway call` sends through the reference CLI
// itself: a read, the dynamic-scope ones (the CLI derives their scope from
// the params), and an admin one.
var callViaCLI = map[string]bool{"sessions.list": true, "sessions.patch": true, "sessions.delete": true, "channels.stop": true}

// operatorCallTimeout bounds each call the test makes itself.
const operatorCallTimeout = 30 * time.Second

func TestConformanceOperatorCLI(t *testing.T) {
	ref := newReferenceCLI(t)
	start := time.Now()
	defer func() { t.Logf("operator conformance run took %v", time.Since(start).Round(time.Millisecond)) }()
	scopes := referenceScopes(t)

	api := startBotAPI(t)
	fp := fakeprovider.New(t)
	fp.SetDefault(fakeprovider.Text("Hello from the mock model.", 3))
	dir := t.TempDir()
	cfgText := telegramConfig(api, fp, conformanceToken, "")
	writeFile(t, filepath.Join(dir, "openclaw.json"), cfgText)
	g := startGateway(t, gwOptions{StateDir: dir, NoAllowUnconfigured: true, Env: []string{"OPENCLAW_SKIP_CANVAS_HOST=1"}})
	if !api.WaitFor(10*time.Second, func() bool { return len(api.Calls(tgToken, "getUpdates")) > 0 }) {
		t.Fatal("the channel never linked")
	}
	adm := dialAdmin(t, g.URL)
	for _, key := range []string{"agent:main:main", "agent:main:other"} {
		ctx, cancel := context.WithTimeout(context.Background(), operatorCallTimeout)
		_, err := adm.CallFinal(ctx, "agent", map[string]any{"message": "hi", "idempotencyKey": "turn-" + key, "sessionKey": key})
		cancel()
		if err != nil {
			t.Fatalf("a turn in %s: %v", key, err)
		}
	}

	env := []string{"OPENCLAW_GATEWAY_URL=" + g.URL, "OPENCLAW_GATEWAY_TOKEN=" + conformanceToken}
	run := func(t *testing.T, wantCode int, args ...string) cmdResult {
		t.Helper()
		r := ref.run(t, env, args...)
		if r.Code != wantCode {
			t.Fatalf("exit %d, want %d:\n%s", r.Code, wantCode, r)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s", r)
			}
		})
		return r
	}
	// call is `gateway call METHOD --json --params PARAMS`: the reference
	// CLI's for the methods in callViaCLI, else the same call from our
	// client connected as the reference CLI connects for it.
	call := func(t *testing.T, method, params string) any {
		t.Helper()
		if callViaCLI[method] {
			args := []string{"gateway", "call", method, "--json"}
			if params != "" {
				args = append(args, "--params", params)
			}
			return decodeJSON(t, run(t, 0, args...).Stdout)
		}
		scope, ok := scopes[method]
		if !ok {
			t.Fatalf("%s is not in the reference's method table", method)
		}
		var p any = map[string]any{}
		if params != "" {
			if err := json.Unmarshal([]byte(params), &p); err != nil {
				t.Fatalf("params %s: %v", params, err)
			}
		}
		c := dialAs(t, g.URL, scope)
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), operatorCallTimeout)
		defer cancel()
		raw, err := c.Call(ctx, method, p)
		if err != nil {
			t.Fatalf("%s %s (scope %s): %v", method, params, scope, err)
		}
		return decodeJSON(t, string(raw))
	}
	// want checks that path (dot-separated object keys) holds a value for
	// which ok is true.
	want := func(t *testing.T, v any, path string, ok func(any) bool) {
		t.Helper()
		got, found := jsonPath(v, strings.Split(path, ".")...)
		if !found || !ok(got) {
			t.Errorf("%s = %s in %.2000s", path, compactJSON(got), compactJSON(v))
		}
	}
	eq := func(want any) func(any) bool {
		return func(v any) bool { return compactJSON(v) == compactJSON(want) }
	}
	nonEmpty := func(v any) bool {
		switch v := v.(type) {
		case string:
			return v != ""
		case []any:
			return len(v) > 0
		case map[string]any:
			return len(v) > 0
		}
		return v != nil
	}
	isArray := func(v any) bool { _, ok := v.([]any); return ok }
	// with is the element of the array v whose key field is value.
	with := func(v any, key string, value any) map[string]any {
		list, _ := v.([]any)
		for _, e := range list {
			if m, ok := e.(map[string]any); ok && m[key] == value {
				return m
			}
		}
		return nil
	}

	// First, alone: the counts of sessions are exact only while nothing
	// else runs turns.
	t.Run("sessions", func(t *testing.T) {
		v := call(t, "sessions.list", "")
		want(t, v, "count", eq(2))
		want(t, v, "defaults.model", eq("m"))
		row := with(mustPath(t, v, "sessions"), "key", "agent:main:main")
		if row == nil || !isNumber(row["updatedAt"]) || !isNumber(row["totalTokens"]) || row["status"] != "done" {
			t.Errorf("agent:main:main's row: %s", compactJSON(row))
		}
		v = call(t, "sessions.preview", `{"keys":["agent:main:main"]}`)
		p := with(mustPath(t, v, "previews"), "key", "agent:main:main")
		if p == nil || p["status"] != "ok" || !nonEmpty(p["items"]) {
			t.Errorf("preview: %s", compactJSON(v))
		}
		v = call(t, "sessions.describe", `{"key":"agent:main:main"}`)
		want(t, v, "session.key", eq("agent:main:main"))
		v = call(t, "sessions.patch", `{"key":"agent:main:main","label":"conformance","thinkingLevel":"low"}`)
		want(t, v, "ok", eq(true))
		want(t, v, "entry.label", eq("conformance"))
		want(t, v, "entry.thinkingLevel", eq("low"))
		v = call(t, "chat.inject", `{"sessionKey":"agent:main:main","message":"a note","label":"note"}`)
		want(t, v, "messageId", nonEmpty)
		v = call(t, "sessions.subscribe", "")
		want(t, v, "subscribed", eq(true))
		v = call(t, "sessions.compact", `{"key":"agent:main:main","maxLines":2}`)
		want(t, v, "ok", eq(true))
		want(t, v, "compacted", eq(true))
		v = call(t, "sessions.reset", `{"key":"agent:main:other"}`)
		want(t, v, "ok", eq(true))
		want(t, v, "entry.sessionId", nonEmpty)
		v = call(t, "sessions.delete", `{"key":"agent:main:other"}`)
		want(t, v, "deleted", eq(true))
	})

	// The groups that do not depend on each other, all at once. Not
	// t.Parallel: -parallel (GOMAXPROCS by default) would hold all but two
	// back, while they mostly wait for Node.
	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		defer wg.Wait()
		group := func(name string, fn func(t *testing.T)) { wg.Go(func() { t.Run(name, fn) }) }
		group("sessions CLI", func(t *testing.T) {
			r := run(t, 0, "sessions", "compact", "agent:main:main")
			if !strings.Contains(r.Stdout, "agent:main:main") {
				t.Errorf("sessions compact does not name the session")
			}
			// `openclaw sessions` reads the CLI's own local store (empty
			// with a fresh HOME), at the reference too
			// (cli/sweep-21-sessions-json.json).
			v := decodeJSON(t, run(t, 0, "sessions", "--json").Stdout)
			want(t, v, "sessions", isArray)
		})

		group("models and agents", func(t *testing.T) {
			v := call(t, "models.list", "")
			if m := with(mustPath(t, v, "models"), "id", "m"); m == nil || m["provider"] != "mock" {
				t.Errorf("models: %s", compactJSON(v))
			}
			v = call(t, "models.authStatus", "")
			if p := with(mustPath(t, v, "providers"), "provider", "mock"); p == nil {
				t.Errorf("providers: %s", compactJSON(v))
			}
			v = call(t, "agents.list", "")
			want(t, v, "defaultId", eq("main"))
			if a := with(mustPath(t, v, "agents"), "id", "main"); a == nil || !isObject(a["model"]) {
				t.Errorf("agents: %s", compactJSON(v))
			}
			v = call(t, "tools.catalog", "")
			want(t, v, "agentId", eq("main"))
			want(t, v, "groups", isArray)
			v = call(t, "usage.status", "")
			want(t, v, "updatedAt", isNumber)
			want(t, v, "providers", isArray)
			v = call(t, "system.info", "")
			for _, k := range []string{"hostname", "platform", "arch", "uptimeMs"} {
				want(t, v, k, nonEmpty)
			}
			v = call(t, "gateway.identity.get", "")
			want(t, v, "deviceId", nonEmpty)
			v = decodeJSON(t, run(t, 0, "models", "list", "--json").Stdout)
			if m := with(mustPath(t, v, "models"), "key", "mock/m"); m == nil {
				t.Errorf("models list: %s", compactJSON(v))
			}
			v = decodeJSON(t, run(t, 0, "gateway", "usage-cost", "--json").Stdout)
			want(t, v, "totals", isObject)
			if r := run(t, 0, "gateway", "usage-cost"); !strings.Contains(r.Stdout, "Usage cost") {
				t.Errorf("usage-cost prints no summary")
			}
		})

		group("config", func(t *testing.T) {
			r := run(t, 0, "gateway", "call", "config.get", "--json")
			for _, secret := range []string{tgToken, "sk-mock", conformanceToken} {
				if strings.Contains(r.Stdout, secret) {
					t.Errorf("config.get shows a secret (%.6s…)", secret)
				}
			}
			v := decodeJSON(t, r.Stdout)
			want(t, v, "hash", nonEmpty)
			want(t, v, "valid", eq(true))
			want(t, v, "config.agents.defaults.model.primary", eq("mock/m"))
			v = call(t, "config.schema", "")
			want(t, v, "schema.type", eq("object"))
			want(t, v, "schema.properties.gateway", isObject)
			v = call(t, "config.schema.lookup", `{"path":"gateway.port"}`)
			want(t, v, "path", eq("gateway.port"))
			want(t, v, "schema.type", eq("integer"))
			raw, _ := json.Marshal(map[string]string{"raw": "// set through the reference CLI\n" + cfgText})
			v = call(t, "config.set", string(raw))
			want(t, v, "ok", eq(true))
			want(t, v, "hash", nonEmpty)
		})

		group("channels", func(t *testing.T) {
			v := call(t, "channels.status", "")
			want(t, v, "channels.telegram", isObject)
			acct := with(mustPath(t, v, "channelAccounts", "telegram"), "accountId", "default")
			if acct == nil || acct["running"] != true {
				t.Errorf("telegram's account: %s", compactJSON(v))
			}
			v = decodeJSON(t, run(t, 0, "channels", "status", "--json").Stdout)
			want(t, v, "channelAccounts.telegram", isArray)
			if r := run(t, 0, "channels", "status"); !strings.Contains(r.Stdout, "Telegram") {
				t.Errorf("channels status does not list Telegram")
			}
			run(t, 0, "channels", "list")
			// The reference's answer to the same command (its
			// methods/message.action.telegram-send.json).
			v = decodeJSON(t, run(t, 0, "message", "send", "--channel", "telegram", "--target", "42", "--message", "from the reference CLI", "--json").Stdout)
			want(t, v, "action", eq("send"))
			want(t, v, "channel", eq("telegram"))
			want(t, v, "handledBy", eq("plugin"))
			want(t, v, "payload.ok", eq(true))
			want(t, v, "payload.chatId", eq("42"))
			if !slices.ContainsFunc(api.Messages(tgToken, 42), func(m fakebotapi.Message) bool { return m.Text == "from the reference CLI" }) {
				t.Errorf("chat 42 did not get the message: %+v", api.Messages(tgToken, 42))
			}
			// channels.stop / .start answer as the reference's
			// methods/channels.{stop,start}.telegram.json.
			v = call(t, "channels.stop", `{"channel":"telegram"}`)
			want(t, v, "stopped", eq(true))
			want(t, v, "accountId", eq("default"))
			v = call(t, "channels.status", "")
			if acct := with(mustPath(t, v, "channelAccounts", "telegram"), "accountId", "default"); acct == nil || acct["running"] != false {
				t.Errorf("after channels.stop: %s", compactJSON(v))
			}
			v = call(t, "channels.start", `{"channel":"telegram"}`)
			want(t, v, "started", eq(true))
			want(t, v, "outcome", eq(map[string]any{"status": "handed-off"}))
		})

		group("heartbeats", func(t *testing.T) {
			want(t, decodeJSON(t, run(t, 0, "system", "event", "--text", "hello", "--json").Stdout), "ok", eq(true))
			if r := run(t, 0, "system", "event", "--text", "hello"); strings.TrimSpace(r.Stdout) != "ok" {
				t.Errorf("system event prints %q", r.Stdout)
			}
			run(t, 0, "system", "heartbeat", "last", "--json")
			v := decodeJSON(t, run(t, 0, "system", "heartbeat", "enable").Stdout)
			want(t, v, "enabled", eq(true))
			v = decodeJSON(t, run(t, 0, "system", "heartbeat", "disable").Stdout)
			want(t, v, "enabled", eq(false))
			want(t, call(t, "wake", `{"mode":"now","text":"a heartbeat"}`), "ok", eq(true))
			call(t, "last-heartbeat", "")
			want(t, call(t, "set-heartbeats", `{"enabled":true}`), "enabled", eq(true))
		})

		group("cron", func(t *testing.T) {
			v := decodeJSON(t, run(t, 0, "cron", "status", "--json").Stdout)
			want(t, v, "enabled", eq(true))
			want(t, v, "storage", eq("sqlite"))
			v = decodeJSON(t, run(t, 0, "cron", "add", "--name", "conformance", "--every", "1h", "--message", "hi", "--json").Stdout)
			id, _ := v.(map[string]any)["id"].(string)
			if id == "" {
				t.Fatalf("cron add: %s", compactJSON(v))
			}
			want(t, v, "schedule.kind", eq("every"))
			want(t, v, "state.nextRunAtMs", isNumber)
			v = decodeJSON(t, run(t, 0, "cron", "list", "--json").Stdout)
			if with(mustPath(t, v, "jobs"), "id", id) == nil {
				t.Errorf("cron list --json: %s", compactJSON(v))
			}
			if r := run(t, 0, "cron", "list"); !strings.Contains(r.Stdout, "conformance") {
				t.Errorf("cron list does not show the job")
			}
			want(t, decodeJSON(t, run(t, 0, "cron", "run", id).Stdout), "ok", eq(true))
			waitUntil(t, "the cron run to finish", func() bool {
				ctx, cancel := context.WithTimeout(context.Background(), operatorCallTimeout)
				defer cancel()
				raw, err := adm.Call(ctx, "cron.runs", map[string]any{"id": id})
				var runs struct{ Total int }
				return err == nil && json.Unmarshal(raw, &runs) == nil && runs.Total > 0
			})
			v = decodeJSON(t, run(t, 0, "cron", "runs", "--id", id).Stdout)
			if e := with(mustPath(t, v, "entries"), "jobId", id); e == nil || e["status"] != "ok" || e["summary"] != "Hello from the mock model." {
				t.Errorf("cron runs: %s", compactJSON(v))
			}
			want(t, call(t, "cron.update", `{"id":"`+id+`","patch":{"enabled":false}}`), "enabled", eq(false))
			v = call(t, "cron.list", `{"includeDisabled":true}`)
			if j := with(mustPath(t, v, "jobs"), "id", id); j == nil || j["enabled"] != false {
				t.Errorf("cron.list includeDisabled: %s", compactJSON(v))
			}
			want(t, call(t, "cron.status", ""), "jobs", func(n any) bool { f, _ := n.(float64); return f >= 1 })
			want(t, call(t, "cron.remove", `{"id":"`+id+`"}`), "removed", eq(true))
		})

		group("approvals", func(t *testing.T) {
			want(t, decodeJSON(t, run(t, 0, "approvals", "pending", "--json").Stdout), "approvals", eq([]any{}))
			if r := run(t, 0, "approvals", "pending"); !strings.Contains(r.Stdout, "No pending approvals") {
				t.Errorf("approvals pending prints %q", r.Stdout)
			}
			if v := call(t, "exec.approval.list", ""); compactJSON(v) != "[]" {
				t.Errorf("exec.approval.list = %s", compactJSON(v))
			}
		})

		group("logs", func(t *testing.T) {
			r := run(t, 0, "logs", "--plain", "--limit", "100")
			lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
			if len(lines) < 2 || !strings.HasPrefix(lines[0], "Log file:") {
				t.Fatalf("logs --plain: no log file line and records")
			}
			for _, l := range lines[1:] {
				if strings.HasPrefix(l, "{") || strings.Contains(l, `"level":`) {
					t.Errorf("a raw JSON record: %s", l)
				}
			}
			r = run(t, 0, "logs", "--json", "--limit", "100")
			n := 0
			for _, l := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
				var rec struct{ Type, Message string }
				if err := json.Unmarshal([]byte(l), &rec); err != nil {
					t.Fatalf("logs --json: not a JSON line: %s", l)
				}
				if rec.Type == "log" {
					n++
					if rec.Message == "" {
						t.Errorf("a record without message: %s", l)
					}
				}
			}
			if n == 0 {
				t.Errorf("logs --json has no records")
			}
			follow := followLogs(t, ref, env, adm)
			if n := strings.Count(strings.ToLower(follow), "truncated"); n > 1 {
				t.Errorf("logs --follow said truncated %d times:\n%s", n, follow)
			}
		})

	})

	// Last: it takes the bot token out of the config.
	// After the groups: the heartbeats group's wake has run the main agent's
	// heartbeat, so its job is listed (disabled: no heartbeat period in the
	// config), as at the reference (cron.list.after-add.json: declarationKey
	// heartbeat:main). Checked inside the cron group it raced that wake.
	t.Run("heartbeat job", func(t *testing.T) {
		v := call(t, "cron.list", `{"includeDisabled":true}`)
		if with(mustPath(t, v, "jobs"), "declarationKey", "heartbeat:main") == nil {
			t.Errorf("cron.list includeDisabled: %s", compactJSON(v))
		}
		want(t, call(t, "cron.status", ""), "jobs", func(n any) bool { f, _ := n.(float64); return f >= 1 })
	})

	t.Run("channels.logout", func(t *testing.T) {
		v := call(t, "channels.logout", `{"channel":"telegram"}`)
		want(t, v, "cleared", eq(true))
		v = call(t, "config.get", "")
		if tg, _ := jsonPath(v, "config", "channels", "telegram"); isObject(tg) {
			if _, has := tg.(map[string]any)["botToken"]; has {
				t.Errorf("the bot token is still configured: %s", compactJSON(tg))
			}
		}
	})

	if g.exited() {
		t.Fatalf("our gateway died during the run (%v)", g.err)
	}
}

// referenceScopes is the scope the reference's method table gives each
// method (testdata/reference/protocol/methods.json): what the reference CLI
// asks for when it calls it.
func referenceScopes(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "reference", "protocol", "methods.json"))
	if err != nil {
		t.Fatal(err)
	}
	var table []struct{ Name, Scope string }
	if err := json.Unmarshal(data, &table); err != nil {
		t.Fatalf("methods.json: %v", err)
	}
	scopes := map[string]string{}
	for _, m := range table {
		if strings.HasPrefix(m.Scope, "operator.") {
			scopes[m.Name] = m.Scope
		}
	}
	return scopes
}

// dialAs connects as the reference CLI does (client cli, mode cli, the
// shared token, no device) with one scope.
func dialAs(t *testing.T, url, scope string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{URL: url, Token: conformanceToken, ClientID: "cli", Mode: "cli",
		Version: referenceVersion, Scopes: []string{scope}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// dialAdmin connects to the gateway with operator.admin, for the test's own
// setup steps (the commands under test are the reference CLI's).
func dialAdmin(t *testing.T, url string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{URL: url, Token: conformanceToken, ClientID: "gateway-client", Mode: "backend",
		Scopes: []string{"operator.admin"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// mustPath is jsonPath that fails the test when the path is missing.
func mustPath(t *testing.T, v any, keys ...string) any {
	t.Helper()
	got, ok := jsonPath(v, keys...)
	if !ok {
		t.Fatalf("no %s in %s", strings.Join(keys, "."), compactJSON(v))
	}
	return got
}

// waitUntil polls cond (every 100ms, at most a minute).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// followLogs runs `openclaw logs --follow` until it has printed a record
// logged after its first page (a cron job added with a name only this call
// uses), so that it has polled at least once past its first page, and
// returns what it printed. It stops the command however the test ends.
func followLogs(t *testing.T, ref *referenceCLI, env []string, adm *client.Client) string {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(ref.entry, "logs", "--follow", "--plain", "--interval", "200")
	cmd.Env, cmd.Dir = ref.env(home, env), home
	// Node leaves a child that is not in the group holding the pipes: Wait
	// gives up on them after WaitDelay instead of hanging the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("logs --follow printed:\n%s", out)
		}
	}()
	waitUntil(t, "logs --follow to print its first page", func() bool { return strings.Count(out.String(), "\n") >= 2 })
	marker := "follow-marker-" + time.Now().Format("150405.000")
	ctx, cancel := context.WithTimeout(context.Background(), operatorCallTimeout)
	defer cancel()
	raw, err := adm.Call(ctx, "cron.add", map[string]any{"name": marker, "enabled": false, "sessionTarget": "isolated", "wakeMode": "now",
		"schedule": map[string]any{"kind": "every", "everyMs": 3600000}, "payload": map[string]any{"kind": "agentTurn", "message": "x"}})
	if err != nil {
		t.Fatalf("cron.add: %v", err)
	}
	var job struct{ ID string }
	_ = json.Unmarshal(raw, &job)
	waitUntil(t, "logs --follow to print a new record", func() bool { return strings.Contains(out.String(), marker) })
	if _, err := adm.Call(ctx, "cron.remove", map[string]any{"id": job.ID}); err != nil {
		t.Fatalf("cron.remove: %v", err)
	}
	return out.String()
}

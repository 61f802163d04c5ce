package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"openclaw/transport/client"
)

// mainSession is the default agent's main session key.
const mainSession = "agent:main:main"

// turnTimeout bounds an agent turn against the fake provider (seconds on
// an idle machine; minutes when the machine is loaded).
const turnTimeout = 3 * time.Minute

// phaseMethods records hello-ok variants and the operator methods the next
// issues need, as an admin, a read-only and a scope-less caller, then probes
// the scope of every advertised method.
func (r *recorder) phaseMethods(ctx context.Context) error {
	if err := r.up(ctx, nil); err != nil {
		return err
	}
	defer r.down()

	admin, err := r.dial(ctx, "admin", client.Options{Token: recordToken, Scopes: cliScopes})
	if err != nil {
		return fmt.Errorf("admin connect: %w", err)
	}
	read, err := r.dial(ctx, "read", client.Options{Token: recordToken, Scopes: []string{"operator.read"}})
	if err != nil {
		return fmt.Errorf("read connect: %w", err)
	}
	none, err := r.dial(ctx, "none", client.Options{Token: recordToken, Scopes: []string{}})
	if err != nil {
		return fmt.Errorf("scope-less connect: %w", err)
	}
	devID := r.identity("device")
	dev, err := r.dial(ctx, "device", client.Options{Token: recordToken, Scopes: cliScopes, Identity: devID, DeviceFamily: "Linux"})
	if err != nil {
		return fmt.Errorf("device connect: %w", err)
	}
	devToken := dev.hello.path("payload", "auth", "deviceToken").strValue()
	r.sc.add(devToken, "<deviceToken:device>")
	var devTok *conn
	if devToken != "" {
		devTok, err = r.dial(ctx, "device-token", client.Options{DeviceToken: devToken, Scopes: cliScopes, Identity: devID, DeviceFamily: "Linux"})
		if err != nil {
			logf("device-token reconnect: %v", err)
		}
	}
	uiID := r.identity("ui")
	ui, err := r.dial(ctx, "control-ui", client.Options{Token: recordToken, ClientID: "openclaw-control-ui", Mode: "webchat",
		Scopes: cliScopes, Identity: uiID, Header: map[string][]string{"Origin": {"http://" + r.gw.addr()}}})
	if err != nil {
		logf("control-ui connect: %v", err)
	}
	uiNoDev, err := r.dial(ctx, "control-ui-nodevice", client.Options{Token: recordToken, ClientID: "openclaw-control-ui", Mode: "webchat",
		Scopes: cliScopes, Header: map[string][]string{"Origin": {"http://" + r.gw.addr()}}})
	if err != nil {
		logf("control-ui without device: %v", err)
	}
	for _, c := range []*conn{admin, read, none, dev, devTok, ui, uiNoDev} {
		if c == nil {
			continue
		}
		if err := r.writeHello(c); err != nil {
			return err
		}
	}

	rec := func(c *conn, file, method string, params any) *exchange {
		ex, err := r.record(ctx, c, file, method, params)
		if err != nil {
			logf("write %s: %v", file, err)
		}
		return ex
	}

	// System.
	rec(admin, "health", "health", nil)
	rec(admin, "health.probe", "health", map[string]any{"probe": true})
	rec(none, "health.no-scope", "health", nil)
	rec(admin, "status", "status", nil)
	rec(admin, "system-presence", "system-presence", nil)
	rec(admin, "system-event", "system-event", map[string]any{"text": "recorded system event", "host": "refrecord"})
	rec(admin, "system.info", "system.info", nil)
	rec(admin, "gateway.identity.get", "gateway.identity.get", nil)
	rec(admin, "diagnostics.lanes", "diagnostics.lanes", nil)
	rec(admin, "diagnostics.stability", "diagnostics.stability", nil)
	rec(admin, "update.status", "update.status", nil)
	rec(admin, "last-heartbeat", "last-heartbeat", nil)
	rec(admin, "set-heartbeats", "set-heartbeats", map[string]any{"enabled": true})
	rec(admin, "set-heartbeats.empty", "set-heartbeats", nil)
	rec(admin, "wake", "wake", map[string]any{"mode": "next-heartbeat", "text": "recorded wake"})
	rec(admin, "wake.invalid", "wake", map[string]any{"mode": "sometime"})
	rec(admin, "commands.list", "commands.list", nil)

	// Models, agents, tools, usage.
	rec(admin, "models.list", "models.list", nil)
	rec(admin, "models.list.configured", "models.list", map[string]any{"view": "configured"})
	rec(admin, "models.authStatus", "models.authStatus", nil)
	rec(admin, "agents.list", "agents.list", nil)
	rec(admin, "agent.identity.get", "agent.identity.get", nil)
	rec(admin, "agent.identity.get.session", "agent.identity.get", map[string]any{"sessionKey": mainSession})
	rec(admin, "tools.catalog", "tools.catalog", nil)
	rec(admin, "tools.effective", "tools.effective", map[string]any{"sessionKey": mainSession})
	rec(admin, "usage.status", "usage.status", nil)
	rec(admin, "usage.cost", "usage.cost", nil)

	// Sessions and chat, before any turn.
	rec(admin, "sessions.list.empty", "sessions.list", nil)
	rec(admin, "chat.history.empty", "chat.history", map[string]any{"sessionKey": mainSession})
	rec(admin, "chat.startup.empty", "chat.startup", map[string]any{"sessionKey": mainSession})
	rec(admin, "sessions.subscribe", "sessions.subscribe", nil)
	rec(admin, "sessions.messages.subscribe", "sessions.messages.subscribe", map[string]any{"key": mainSession})

	// One chat turn against the fake provider: chat.send and its stream.
	if err := r.recordTurn(ctx, admin, "chat.send", "chat.send", map[string]any{
		"sessionKey": mainSession, "message": "hello from the recorder", "idempotencyKey": "refrecord-chat-1", "deliver": false,
	}); err != nil {
		logf("chat.send turn: %v", err)
	}
	// The agent method: two responses with one id.
	if err := r.recordTurn(ctx, admin, "agent", "agent", map[string]any{
		"message": "second turn via agent", "idempotencyKey": "refrecord-agent-1", "sessionKey": mainSession,
	}); err != nil {
		logf("agent turn: %v", err)
	}

	rec(admin, "sessions.list", "sessions.list", nil)
	rec(admin, "sessions.list.filtered", "sessions.list", map[string]any{"limit": 1, "offset": 0, "includeDerivedTitles": true, "includeLastMessage": true})
	rec(admin, "sessions.list.page2", "sessions.list", map[string]any{"limit": 1, "offset": 1})
	rec(admin, "sessions.list.search", "sessions.list", map[string]any{"search": "main", "activeMinutes": 60})
	rec(admin, "sessions.list.unknown-field", "sessions.list", map[string]any{"bogus": 1})
	rec(admin, "sessions.preview", "sessions.preview", map[string]any{"keys": []string{mainSession, "agent:main:nope"}, "limit": 5})
	rec(admin, "sessions.describe", "sessions.describe", map[string]any{"key": mainSession, "includeLastMessage": true})
	rec(admin, "sessions.describe.unknown", "sessions.describe", map[string]any{"key": "agent:main:nope"})
	rec(admin, "chat.history", "chat.history", map[string]any{"sessionKey": mainSession})
	rec(admin, "chat.history.limit", "chat.history", map[string]any{"sessionKey": mainSession, "limit": 1, "maxBytes": 100000})
	rec(admin, "chat.startup", "chat.startup", map[string]any{"sessionKey": mainSession})
	rec(admin, "chat.metadata", "chat.metadata", map[string]any{"sessionKey": mainSession})
	rec(admin, "chat.metadata.empty", "chat.metadata", nil)
	rec(admin, "chat.inject", "chat.inject", map[string]any{"sessionKey": mainSession, "message": "an injected note", "label": "recorder"})
	rec(admin, "sessions.patch.label", "sessions.patch", map[string]any{"key": mainSession, "label": "Recorded session"})
	rec(admin, "sessions.patch.thinking", "sessions.patch", map[string]any{"key": mainSession, "thinkingLevel": "low"})
	rec(admin, "sessions.patch.model", "sessions.patch", map[string]any{"key": mainSession, "model": "mock/mock-1"})
	rec(admin, "sessions.patch.unknown-field", "sessions.patch", map[string]any{"key": mainSession, "bogus": true})
	rec(read, "sessions.patch.read-caller", "sessions.patch", map[string]any{"key": mainSession, "label": "nope"})
	rec(admin, "sessions.compact", "sessions.compact", map[string]any{"key": mainSession})
	rec(admin, "sessions.create", "sessions.create", map[string]any{"key": "agent:main:scratch", "label": "Scratch"})
	rec(admin, "sessions.list.after-create", "sessions.list", nil)
	rec(admin, "sessions.reset", "sessions.reset", map[string]any{"key": "agent:main:scratch", "reason": "reset"})
	rec(admin, "sessions.delete", "sessions.delete", map[string]any{"key": "agent:main:scratch"})
	rec(admin, "sessions.delete.unknown", "sessions.delete", map[string]any{"key": "agent:main:nope"})
	rec(admin, "sessions.reset.main", "sessions.reset", map[string]any{"key": mainSession, "reason": "new"})
	rec(admin, "chat.history.after-reset", "chat.history", map[string]any{"sessionKey": mainSession})

	// Channels (none configured) and messaging.
	rec(admin, "channels.status", "channels.status", nil)
	rec(admin, "channels.status.probe", "channels.status", map[string]any{"probe": true, "timeoutMs": 2000})
	rec(admin, "channels.start", "channels.start", map[string]any{"channel": "telegram"})
	rec(admin, "channels.stop", "channels.stop", map[string]any{"channel": "telegram"})
	rec(admin, "channels.logout", "channels.logout", map[string]any{"channel": "telegram"})
	rec(admin, "channels.start.unknown", "channels.start", map[string]any{"channel": "nochannel"})
	rec(admin, "channels.pairing.list", "channels.pairing.list", nil)
	rec(admin, "channels.pairing.list.telegram", "channels.pairing.list", map[string]any{"channel": "telegram"})
	rec(admin, "send.no-channel", "send", map[string]any{"to": "12345", "message": "hi", "idempotencyKey": "refrecord-send-1"})
	rec(admin, "send.telegram", "send", map[string]any{"to": "12345", "message": "hi", "channel": "telegram", "idempotencyKey": "refrecord-send-2"})
	rec(admin, "message.action.no-channel", "message.action", map[string]any{"channel": "telegram", "action": "send",
		"params": map[string]any{"to": "12345", "message": "hi"}, "idempotencyKey": "refrecord-action-1"})

	// Config.
	cfgEx := rec(admin, "config.get", "config.get", nil)
	rec(read, "config.get.read-caller", "config.get", nil)
	rec(none, "config.get.no-scope", "config.get", nil)
	if ex, err := r.call(ctx, admin, "config.schema", map[string]any{}, 0); err == nil {
		doc := jobj("method", "config.schema", "caller", admin.name, "params", jobj(), "ok", ex.res.get("ok"))
		doc.set("note", jstr("trimmed by the recorder: schema.properties and uiHints keep only "+strings.Join(configSchemaKeep, ", ")+
			" (and channels.telegram); other sections show their size"))
		doc.set("payload", trimConfigSchema(ex.res.get("payload")))
		_ = r.write(filepath.Join("methods", "config.schema.json"), doc)
		logf("  %-40s ok (trimmed)", "config.schema")
	}
	rec(admin, "config.schema.lookup", "config.schema.lookup", map[string]any{"path": "gateway.port"})
	rec(admin, "config.schema.lookup.object", "config.schema.lookup", map[string]any{"path": "gateway.controlUi"})
	rec(admin, "config.schema.lookup.unknown", "config.schema.lookup", map[string]any{"path": "nope.nothing"})
	if cfgEx != nil && cfgEx.ok {
		p := cfgEx.res.get("payload")
		raw, hash := p.get("raw").strValue(), p.get("hash").strValue()
		r.sc.add(hash, "<configHash:1>")
		var cfg map[string]any
		if json.Unmarshal([]byte(raw), &cfg) == nil {
			cfg["agents"] = mergeJSON(cfg["agents"], map[string]any{"defaults": map[string]any{"timeoutSeconds": 600}})
			b, _ := json.MarshalIndent(cfg, "", "  ")
			rec(admin, "config.set.stale-hash", "config.set", map[string]any{"raw": string(b), "baseHash": "0000"})
			if ex := rec(admin, "config.set", "config.set", map[string]any{"raw": string(b), "baseHash": hash}); ex != nil && ex.ok {
				r.settle(ctx, 2*time.Second)
			}
		}
		if ex := rec(admin, "config.get.after-set", "config.get", nil); ex != nil && ex.ok {
			h2 := ex.res.path("payload", "hash").strValue()
			r.sc.add(h2, "<configHash:2>")
			rec(admin, "config.patch", "config.patch", map[string]any{"raw": `{"agents":{"defaults":{"timeoutSeconds":300}}}`, "baseHash": h2})
			r.settle(ctx, 2*time.Second)
		}
		rec(read, "config.set.read-caller", "config.set", map[string]any{"raw": "{}"})
	}

	// A configured Telegram channel (fake Bot API): the channel methods again.
	r.recordTelegram(ctx, admin, rec)

	// Cron.
	rec(admin, "cron.status", "cron.status", nil)
	rec(admin, "cron.list", "cron.list", nil)
	addEx := rec(admin, "cron.add", "cron.add", map[string]any{"name": "recorded-event", "schedule": map[string]any{"kind": "every", "everyMs": 3600000},
		"sessionTarget": "main", "wakeMode": "next-heartbeat", "payload": map[string]any{"kind": "systemEvent", "text": "recorded cron event"}})
	turnEx := rec(admin, "cron.add.agent-turn", "cron.add", map[string]any{"name": "recorded-turn", "schedule": map[string]any{"kind": "cron", "expr": "0 3 * * *", "tz": "UTC"},
		"sessionTarget": "isolated", "wakeMode": "now", "payload": map[string]any{"kind": "agentTurn", "message": "cron turn"}, "delivery": map[string]any{"mode": "none"}})
	rec(admin, "cron.add.invalid", "cron.add", map[string]any{"name": "bad", "schedule": map[string]any{"kind": "every"}})
	rec(admin, "cron.list.after-add", "cron.list", map[string]any{"includeDisabled": true, "limit": 10})
	if id := jobID(addEx); id != "" {
		r.sc.add(id, "<cronJobId:event>")
		rec(admin, "cron.update", "cron.update", map[string]any{"id": id, "patch": map[string]any{"enabled": false}})
		rec(admin, "cron.get", "cron.get", map[string]any{"id": id})
		rec(admin, "cron.remove", "cron.remove", map[string]any{"id": id})
	}
	if id := jobID(turnEx); id != "" {
		r.sc.add(id, "<cronJobId:turn>")
		rec(admin, "cron.run", "cron.run", map[string]any{"id": id, "mode": "force"})
		r.waitCronRun(ctx, admin, id)
		rec(admin, "cron.runs", "cron.runs", map[string]any{"id": id, "limit": 5})
		rec(admin, "cron.runs.all", "cron.runs", map[string]any{"scope": "all", "limit": 5})
	}
	rec(admin, "cron.remove.unknown", "cron.remove", map[string]any{"id": "nope"})
	rec(admin, "cron.run.unknown", "cron.run", map[string]any{"id": "nope"})

	// Approvals.
	rec(admin, "exec.approval.list", "exec.approval.list", nil)
	rec(admin, "exec.approval.get.unknown", "exec.approval.get", map[string]any{"id": "nope"})
	rec(admin, "exec.approval.resolve.unknown", "exec.approval.resolve", map[string]any{"id": "nope", "decision": "deny"})
	rec(admin, "exec.approval.grants.list", "exec.approval.grants.list", nil)
	rec(admin, "exec.approvals.get", "exec.approvals.get", nil)
	rec(admin, "plugin.approval.list", "plugin.approval.list", nil)
	rec(admin, "approval.history", "approval.history", nil)

	// Logs.
	if ex := rec(admin, "logs.tail", "logs.tail", map[string]any{"limit": 3}); ex != nil && ex.ok {
		if cur := ex.res.path("payload", "cursor"); cur != nil && cur.kind == 'n' {
			var c int64
			_ = json.Unmarshal([]byte(cur.num.String()), &c)
			rec(admin, "logs.tail.cursor", "logs.tail", map[string]any{"cursor": c, "limit": 50})
		}
	}
	rec(admin, "logs.tail.maxBytes", "logs.tail", map[string]any{"maxBytes": 400})
	rec(admin, "logs.tail.cursor-past-end", "logs.tail", map[string]any{"cursor": 1 << 40})

	// Nodes and devices (no node connected here; see the nodehost phase).
	rec(admin, "node.list", "node.list", nil)
	rec(admin, "node.describe.unknown", "node.describe", map[string]any{"nodeId": "nope"})
	rec(admin, "node.invoke.unknown-node", "node.invoke", map[string]any{"nodeId": "nope", "command": "system.which",
		"params": map[string]any{"bins": []string{"sh"}}, "idempotencyKey": "refrecord-invoke-1"})
	rec(admin, "node.pair.list", "node.pair.list", nil)
	rec(admin, "node.pair.approve.unknown", "node.pair.approve", map[string]any{"requestId": "nope"})
	rec(admin, "device.pair.list", "device.pair.list", nil)
	rec(admin, "device.pair.approve.unknown", "device.pair.approve", map[string]any{"requestId": "nope"})
	rec(read, "node.pair.list.read-caller", "node.pair.list", nil)
	rec(admin, "node.event.operator", "node.event", map[string]any{"event": "x"})

	// Unknown methods and missing scopes.
	rec(admin, "unknown.admin", "no.such.method", nil)
	rec(read, "unknown.read-caller", "no.such.method", nil)
	rec(none, "unknown.no-scope", "no.such.method", nil)
	rec(read, "cron.add.read-caller", "cron.add", map[string]any{"name": "x"})
	rec(none, "status.no-scope", "status", nil)
	rec(none, "sessions.list.no-scope", "sessions.list", nil)

	if err := r.probeScopes(ctx, none); err != nil {
		return err
	}
	return nil
}

// recordTurn records a method that starts an agent turn: the response(s)
// and every event on the caller's socket until the run's chat "final" (or
// lifecycle end).
func (r *recorder) recordTurn(ctx context.Context, cn *conn, file, method string, params map[string]any) error {
	mark := r.tap.Log.Len()
	tctx, cancel := context.WithTimeout(ctx, turnTimeout)
	defer cancel()
	type result struct {
		payload json.RawMessage
		err     error
	}
	done := make(chan result, 1)
	go func() {
		var p json.RawMessage
		var err error
		if method == "agent" {
			p, err = cn.c.CallFinal(tctx, method, params)
		} else {
			p, err = cn.c.Call(tctx, method, params)
		}
		done <- result{p, err}
	}()
	res := <-done
	// Wait for the end of the run on this socket.
	_, werr := r.tap.Log.Wait(tctx, mark, func(e Entry) bool {
		if e.Conn != cn.tapConn || e.Frame == nil {
			return false
		}
		f := mustJSON(e.Frame)
		if f.get("event").strValue() == "chat" {
			st := f.path("payload", "state").strValue()
			return st == "final" || st == "error" || st == "aborted"
		}
		return false
	})
	r.settle(ctx, time.Second)
	var reqID string
	var frames []*jv
	var responses []*jv
	for _, e := range r.tap.Log.Since(mark) {
		if e.Conn != cn.tapConn || e.Frame == nil {
			continue
		}
		f := mustJSON(e.Frame)
		switch f.get("type").strValue() {
		case "req":
			if reqID == "" && f.get("method").strValue() == method {
				reqID = f.get("id").strValue()
			}
		case "res":
			if f.get("id").strValue() == reqID {
				responses = append(responses, f)
			}
		case "event":
			if !quietEvents[f.get("event").strValue()] {
				frames = append(frames, f)
			}
		}
	}
	doc := jobj("method", method, "caller", cn.name, "params", params)
	if len(responses) > 0 {
		doc.set("ok", responses[0].get("ok"))
		if p := responses[0].get("payload"); p != nil {
			doc.set("payload", p)
		}
		if e := responses[0].get("error"); e != nil {
			doc.set("error", e)
		}
	}
	doc.set("responses", jarr(responses...))
	doc.set("events", jarr(frames...))
	if werr != nil {
		doc.set("note", jstr("no chat final event within "+turnTimeout.String()))
	}
	logf("  %-40s %d response(s), %d events (call error: %v)", file, len(responses), len(frames), res.err)
	return r.write(filepath.Join("methods", file+".json"), doc)
}

// settle waits d (or until ctx ends).
func (r *recorder) settle(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// waitCronRun polls cron.runs until the job has a finished run (bounded).
func (r *recorder) waitCronRun(ctx context.Context, cn *conn, id string) {
	deadline := time.Now().Add(turnTimeout)
	for time.Now().Before(deadline) {
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		p, err := cn.c.Call(cctx, "cron.runs", map[string]any{"id": id, "limit": 5})
		cancel()
		if err == nil {
			var v struct {
				Entries []struct {
					Status string `json:"status"`
				} `json:"entries"`
				Runs []struct {
					Status string `json:"status"`
				} `json:"runs"`
			}
			_ = json.Unmarshal(p, &v)
			if len(v.Entries)+len(v.Runs) > 0 {
				return
			}
		}
		r.settle(ctx, time.Second)
	}
	logf("  cron run of %s did not finish within %s", id, turnTimeout)
}

func jobID(ex *exchange) string {
	if ex == nil || !ex.ok {
		return ""
	}
	p := ex.res.get("payload")
	for _, k := range [][]string{{"id"}, {"job", "id"}, {"jobId"}} {
		if s := p.path(k...).strValue(); s != "" {
			return s
		}
	}
	return ""
}

// writeHello writes hello/<name>.json: what the connection sent in connect
// and the whole hello-ok (or the refusal).
func (r *recorder) writeHello(c *conn) error {
	doc := jobj("caller", c.name, "connect", c.connect, "response", c.hello)
	if err := r.write(filepath.Join("hello", c.name+".json"), doc); err != nil {
		return err
	}
	if c.name != "admin" {
		return nil
	}
	// The method and event lists once more as plain text, for grep and diff.
	feats := c.hello.path("payload", "features")
	for _, k := range []string{"methods", "events", "capabilities"} {
		var lines []string
		if l := feats.get(k); l != nil {
			for _, x := range l.vals {
				lines = append(lines, x.strValue())
			}
		}
		if err := r.writeText(filepath.Join("hello", "features."+k+".txt"), strings.Join(lines, "\n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// methodSpec is one row of the reference's core method table.
type methodSpec struct {
	Name              string `json:"name"`
	Family            string `json:"family,omitempty"`
	Scope             string `json:"scope"`
	Since             string `json:"since,omitempty"`
	Advertise         *bool  `json:"advertise,omitempty"`
	Startup           bool   `json:"startup,omitempty"`
	ControlPlaneWrite bool   `json:"controlPlaneWrite,omitempty"`
	Description       string `json:"description,omitempty"`
}

// probeScopes calls every advertised and every core method with empty
// params from a connection without scopes (the reference checks the role
// and the scope before it validates params or runs the handler, so nothing
// runs), and writes protocol/methods.json: the declared table from the
// package joined with the advertised list and each probe's answer.
func (r *recorder) probeScopes(ctx context.Context, none *conn) error {
	static, err := r.staticProtocol(ctx)
	if err != nil {
		return err
	}
	specs := map[string]methodSpec{}
	for _, s := range static.Specs {
		specs[s.Name] = s
	}
	advertised := map[string]bool{}
	var names []string
	for _, c := range r.conns {
		if c.name != "admin" {
			continue
		}
		for _, m := range c.hello.path("payload", "features", "methods").vals {
			advertised[m.strValue()] = true
			names = append(names, m.strValue())
		}
	}
	for _, s := range static.Specs {
		if !advertised[s.Name] {
			names = append(names, s.Name)
		}
	}
	logf("probing %d methods without scopes", len(names))
	var rows []*jv
	counts := map[string]int{}
	for _, m := range names {
		row := jobj("name", m)
		if s, ok := specs[m]; ok {
			b, _ := json.Marshal(s)
			sv := mustJSON(b)
			for i, k := range sv.keys {
				if k != "name" {
					row.set(k, sv.vals[i])
				}
			}
		} else {
			row.set("family", jstr("(plugin)"))
		}
		row.set("advertised", &jv{kind: 'b', b: advertised[m]})
		ex, err := r.callSettle(ctx, none, m, map[string]any{}, 10*time.Second, 0)
		switch {
		case err != nil:
			row.set("probe", jobj("recorderError", err.Error()))
		case ex.ok:
			row.set("probe", jobj("ok", true))
			counts["ok"]++
		default:
			e := ex.res.get("error")
			pr := jobj("code", e.get("code"), "message", e.get("message"))
			if ms := e.path("details", "missingScope"); ms != nil {
				pr.set("missingScope", ms)
			}
			row.set("probe", pr)
			counts[e.get("code").strValue()]++
		}
		rows = append(rows, row)
	}
	logf("probe answers: %v", counts)
	if err := r.write(filepath.Join("protocol", "methods.json"), jarr(rows...)); err != nil {
		return err
	}
	// Params schemas, one file per validator.
	keys := make([]string, 0, len(static.Validators))
	for k := range static.Validators {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := r.write(filepath.Join("protocol", "params", k+".json"), mustJSON(static.Validators[k])); err != nil {
			return err
		}
	}
	logf("wrote %d params schemas", len(keys))
	return nil
}

type staticProtocol struct {
	Specs      []methodSpec               `json:"specs"`
	Validators map[string]json.RawMessage `json:"validators"`
}

// staticProtocol runs protocol.mjs with the reference's Node against the
// package's method table and protocol module.
func (r *recorder) staticProtocol(ctx context.Context) (*staticProtocol, error) {
	dist := filepath.Join(r.ref.pkg, "dist")
	specFile, err := findDist(dist, "method-scopes-*.mjs", "const CORE_GATEWAY_METHOD_SPECS = [")
	if err != nil {
		return nil, err
	}
	protoFile, err := findDist(dist, "src-*.mjs", "validateConnectParams as ")
	if err != nil {
		return nil, err
	}
	script, err := os.CreateTemp("", "refrecord-protocol-*.mjs")
	if err != nil {
		return nil, err
	}
	defer os.Remove(script.Name())
	if _, err := script.Write(protocolScript); err != nil {
		return nil, err
	}
	_ = script.Close()
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, filepath.Join(r.ref.nodeBin, "node"), script.Name(), specFile, protoFile)
	cmd.Env = r.ref.env(os.TempDir())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("protocol.mjs: %v: %s", err, trunc(stderr.String(), 500))
	}
	var sp staticProtocol
	if err := json.Unmarshal(out, &sp); err != nil {
		return nil, fmt.Errorf("protocol.mjs output: %v", err)
	}
	logf("reference package declares %d core methods and %d params validators", len(sp.Specs), len(sp.Validators))
	return &sp, nil
}

// findDist returns the first file in dist matching glob that contains marker.
func findDist(dist, glob, marker string) (string, error) {
	files, _ := filepath.Glob(filepath.Join(dist, glob))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && strings.Contains(string(b), marker) {
			return f, nil
		}
	}
	return "", fmt.Errorf("no %s in %s contains %q", glob, dist, marker)
}

// configSchemaKeep are the config sections whose schema the recording keeps
// whole: the ones this project's configuration uses. The whole schema is
// about 2 MB.
var configSchemaKeep = []string{"gateway", "logging", "models", "agents", "session", "cron", "commands", "channels"}

// trimConfigSchema cuts config.schema's payload to configSchemaKeep.
func trimConfigSchema(p *jv) *jv {
	p = p.clone()
	keep := func(path string) bool {
		for _, k := range configSchemaKeep {
			if path == k || strings.HasPrefix(path, k+".") {
				return !strings.HasPrefix(path, "channels.") || path == "channels.telegram" || strings.HasPrefix(path, "channels.telegram.")
			}
		}
		return false
	}
	omitted := func(v *jv) *jv { return jstr(fmt.Sprintf("<omitted: %d bytes>", len(v.encode()))) }
	if props := p.path("schema", "properties"); props != nil {
		for i, k := range props.keys {
			switch {
			case k == "channels":
				if cp := props.vals[i].get("properties"); cp != nil {
					for j, ck := range cp.keys {
						if ck != "telegram" {
							cp.vals[j] = omitted(cp.vals[j])
						}
					}
				}
			case !keep(k):
				props.vals[i] = omitted(props.vals[i])
			}
		}
	}
	if hints := p.get("uiHints"); hints != nil && hints.kind == 'o' {
		var keys []string
		var vals []*jv
		dropped := 0
		for i, k := range hints.keys {
			if keep(k) {
				keys = append(keys, k)
				vals = append(vals, hints.vals[i])
			} else {
				dropped++
			}
		}
		hints.keys, hints.vals = keys, vals
		hints.set("<omitted>", jstr(fmt.Sprintf("%d hints of other sections", dropped)))
	}
	return p
}

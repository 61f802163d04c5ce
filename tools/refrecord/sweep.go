package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// sweepCase is one reference CLI command of the sweep.
type sweepCase struct {
	name string
	args []string
	// follow commands never end by themselves: they are stopped after this.
	follow time.Duration
}

// sweepCases are the reference CLI commands an operator runs against a
// gateway (issue 13's sweep), in an order that builds state: a system
// event, an agent turn and a cron job come before the commands that list
// them. The recording says which of them really reached the gateway.
func sweepCases() []sweepCase {
	c := func(name string, args ...string) sweepCase { return sweepCase{name: name, args: args} }
	return []sweepCase{
		c("health", "health"),
		c("health-json", "health", "--json"),
		c("status", "status"),
		c("status-json", "status", "--json"),
		c("status-all", "status", "--all"),
		c("gateway-status-json", "gateway", "status", "--json"),
		c("gateway-health-json", "gateway", "health", "--json"),
		c("gateway-probe-json", "gateway", "probe", "--json"),
		c("gateway-call-health", "gateway", "call", "health", "--json"),
		c("gateway-call-status", "gateway", "call", "status", "--json"),
		c("gateway-usage-cost-json", "gateway", "usage-cost", "--json"),
		c("gateway-stability-json", "gateway", "stability", "--json"),
		c("system-event", "system", "event", "--text", "sweep event", "--json"),
		c("system-presence-json", "system", "presence", "--json"),
		c("system-heartbeat-last", "system", "heartbeat", "last", "--json"),
		c("system-heartbeat-disable", "system", "heartbeat", "disable", "--json"),
		c("system-heartbeat-enable", "system", "heartbeat", "enable", "--json"),
		c("agent-json", "agent", "--message", "hi from the sweep", "--json"),
		c("agent", "agent", "--message", "hi again"),
		c("sessions", "sessions"),
		c("sessions-json", "sessions", "--json"),
		c("sessions-list-json", "sessions", "list", "--json"),
		c("sessions-compact", "sessions", "compact", "agent:main:main"),
		c("models-list-json", "models", "list", "--json"),
		c("models-status-json", "models", "status", "--json"),
		c("agents-list-json", "agents", "list", "--json"),
		c("channels-status", "channels", "status"),
		c("channels-status-json", "channels", "status", "--json"),
		c("channels-list-json", "channels", "list", "--json"),
		c("message-send", "message", "send", "--channel", "telegram", "--target", "12345", "--message", "hi", "--json"),
		c("pairing-list-telegram", "pairing", "list", "telegram", "--json"),
		c("cron-status", "cron", "status"),
		c("cron-status-json", "cron", "status", "--json"),
		c("cron-list", "cron", "list"),
		c("cron-add", "cron", "add", "sweep-job", "--every", "1h", "--system-event", "sweep cron event", "--json"),
		c("cron-list-json", "cron", "list", "--json"),
		// cron run / runs / rm get the id of the job just added (below).
		c("cron-run", "cron", "run", "{cronId}", "--json"),
		c("cron-runs", "cron", "runs", "--id", "{cronId}", "--json"),
		c("cron-rm", "cron", "rm", "{cronId}", "--json"),
		c("approvals-pending", "approvals", "pending", "--json"),
		c("approvals-get", "approvals", "get", "--json"),
		c("approvals-grants", "approvals", "grants", "list"),
		c("nodes-status-json", "nodes", "status", "--json"),
		c("nodes-list", "nodes", "list"),
		c("nodes-pending", "nodes", "pending"),
		c("devices-list-json", "devices", "list", "--json"),
		c("logs-plain", "logs", "--plain", "--limit", "20"),
		c("logs-json", "logs", "--json", "--limit", "20"),
		{name: "logs-follow-json", args: []string{"logs", "--follow", "--json", "--limit", "5", "--interval", "1000"}, follow: 8 * time.Second},
		c("skills-list-json", "skills", "list", "--json"),
		c("tasks-list-json", "tasks", "list", "--json"),
		c("update-status-json", "update", "status", "--json"),
		c("plugins-list-json", "plugins", "list", "--json"),
		c("memory-status-json", "memory", "status", "--json"),
		c("secrets-reload", "secrets", "reload", "--json"),
		c("hooks-list-json", "hooks", "list", "--json"),
		c("transcripts-list-json", "transcripts", "list", "--json"),
		c("config-get-gateway-port", "config", "get", "gateway.port"),
	}
}

// phaseCLI runs the sweep against a fresh reference gateway, each command
// with a clean HOME, and writes cli/sweep-*.json plus cli/sweep.json (one
// line per command: exit code, whether it reached the gateway, the methods
// it called).
func (r *recorder) phaseCLI(ctx context.Context) error {
	if err := r.up(ctx, nil); err != nil {
		return err
	}
	defer r.down()
	var rows []*jv
	cronID := ""
	for i, sc := range sweepCases() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		args := make([]string, len(sc.args))
		skip := false
		for j, a := range sc.args {
			if a == "{cronId}" {
				if cronID == "" {
					skip = true
				}
				a = cronID
			}
			args[j] = a
		}
		if skip {
			logf("  sweep %-28s skipped (no cron job id)", sc.name)
			continue
		}
		home, err := r.newCLIHome(fmt.Sprintf("sweep-%02d", i+1))
		if err != nil {
			return err
		}
		var res cliResult
		if sc.follow > 0 {
			fctx, cancel := context.WithTimeout(ctx, sc.follow)
			res = r.runCLI(fctx, home, nil, args...)
			cancel()
		} else {
			res = r.runCLI(ctx, home, nil, args...)
			// The reference CLI gives up after 10 s; on a loaded machine the
			// reference gateway is sometimes slower. One more try.
			if res.code != 0 && strings.Contains(res.stdout+res.stderr, "gateway timeout after") {
				logf("  sweep %-28s timed out; once more", sc.name)
				res = r.runCLI(ctx, home, nil, args...)
				res.retried = true
			}
		}
		if sc.name == "cron-add" {
			cronID = findCronID(res.stdout)
			if cronID != "" {
				r.sc.add(cronID, "<cronJobId:sweep>")
			}
		}
		doc := r.cliDoc(sc.name, res)
		if sc.follow > 0 {
			doc.set("note", jstr("a follow command: stopped by the recorder after "+sc.follow.String()))
		}
		if res.retried {
			doc.set("note", jstr("the first run timed out waiting for the gateway (10 s, the CLI's default); this is the second"))
		}
		file := fmt.Sprintf("sweep-%02d-%s", i+1, sc.name)
		if err := r.write(filepath.Join("cli", file+".json"), doc); err != nil {
			return err
		}
		row := jobj("name", sc.name, "args", args, "exitCode", res.code)
		var methods []string
		reached := false
		for _, c := range doc.get("gateway").vals {
			reached = true
			if c.path("hello", "type").strValue() != "hello-ok" {
				methods = append(methods, "connect:"+c.path("hello", "error", "code").strValue())
			}
			for _, q := range c.get("requests").vals {
				m := q.get("method").strValue()
				if ok := q.get("ok"); ok == nil || !ok.b {
					m += ":" + q.path("error", "code").strValue()
				}
				methods = append(methods, m)
			}
		}
		row.set("reachedGateway", &jv{kind: 'b', b: reached})
		row.set("methods", toJV(nonNil(methods)))
		if res.code != 0 {
			row.set("stderr", jstr(trunc(lastLines(res.stderr+res.stdout, 3), 300)))
		}
		rows = append(rows, row)
		logf("  sweep %-28s exit %d gateway=%v %s", sc.name, res.code, reached, trunc(strings.Join(methods, ","), 90))
	}
	return r.write(filepath.Join("cli", "sweep.json"), jarr(rows...))
}

func findCronID(out string) string {
	var v struct {
		ID  string `json:"id"`
		Job struct {
			ID string `json:"id"`
		} `json:"job"`
	}
	if json.Unmarshal([]byte(strings.TrimSpace(out)), &v) != nil {
		return ""
	}
	if v.ID != "" {
		return v.ID
	}
	return v.Job.ID
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

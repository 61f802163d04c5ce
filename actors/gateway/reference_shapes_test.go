package gateway_test

import (
	"encoding/json"
	"fmt"
	"os"

	"openclaw/actors/gateway"
	"openclaw/config"
	"openclaw/transport/protocol"
	"openclaw/transport/provider/fakeprovider"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"openclaw/actors/gateway/gatewaytest"
)

// referenceDir holds answers recorded from the reference gateway
// (openclaw@2026.9.6): one file per call, {method, params, ok, payload |
// error}.
const referenceDir = "../../testdata/reference/operator"

// screensDir holds what the reference's Control UI called on each screen,
// with the answers (tools/refrecord's controlui phase).
const screensDir = "../../testdata/reference/controlui/screens"

// referenceShape is one method call compared with the reference's recorded
// answer to the same call. Our answer must have every key the reference's
// has, with the same JSON type, all the way down (arrays: each of our
// elements against the reference's first), except under the paths in
// differs, each with the reason we answer differently there.
type referenceShape struct {
	file string // <referenceDir>/<file>.json
	// screen, when set, takes the answer from the reference Control UI's
	// recording of that screen (<screensDir>/<screen>.json) instead: its
	// first call of the method named file.
	screen string
	reader bool // call as an operator.read UI client instead of an admin CLI
	// differs maps a path ("sessions.defaults.model", "jobs[].state") to
	// why our answer does not match the reference's there.
	differs map[string]string
	// captureID: the answer's id names a new object (a cron job); later
	// rows' params naming the reference's id name ours instead.
	captureID bool
	// before brings the gateway to the state the reference was in (a run
	// finished, a heartbeat happened).
	before func(t *testing.T, adm *gatewaytest.Conn)
}

// nodeOnly are the parts of the reference's answers that describe the Node
// process itself; a Go process has nothing to put there.
var nodeOnly = map[string]string{
	"eventLoop":                       "the Node event loop's health; a Go process has no event loop to report",
	"workerPools":                     "the reference's Node worker threads",
	"shutdownBudget":                  "the reference's drain budget and in-flight write custody; ours drains for 5 s (docs/PROTOCOL.md)",
	"hostDesktop":                     "the reference's VNC host desktop, which we do not have",
	"processMemory.externalBytes":     "V8 memory outside the heap",
	"processMemory.arrayBuffersBytes": "V8 ArrayBuffer memory",
}

// heartbeatOff: the reference's heartbeat runs every 30 m by default; ours is
// off until configured, and a disabled heartbeat has no period (null).
var heartbeatOff = map[string]string{"heartbeat.agents[].everyMs": "null while the heartbeat is off (ours is off by default)"}

func with(m map[string]string, more map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

// rowOnly are the parts of the reference's session rows that describe what
// we do not have: per-session runtimes and placement, sharing between
// several people, the Control UI's read state, and the timing of the last
// run (we keep the transcript, not run records).
var rowOnly = map[string]string{
	"abortedLastRun":          "the outcome of the last run is not kept (status says running/done/failed)",
	"agentRuntime":            "one runtime here: the gateway's own agent loop",
	"classification":          "the reference's main/explicit/... classes (kind and isMain say what we know)",
	"contextBudgetStatus":     "the reference's prompt-budget estimate",
	"createdVia":              "how a session was created is not kept",
	"effectiveFastMode":       "no fast mode",
	"effectiveFastModeSource": "no fast mode",
	"effectiveQueueMode":      "no queue modes: turns of a session run as they come",
	"effectiveResponseUsage":  "no per-reply usage footers",
	"endedAt":                 "run timing is not kept per session",
	"expandedParticipants":    "one operator: no participants",
	"fastAutoOnSeconds":       "no fast mode",
	"hasAutomation":           "automations are not linked to sessions",
	"lastActivityAt":          "updatedAt is the last activity",
	"lastInteractionAt":       "updatedAt is the last activity",
	"modelOverrideSource":     "modelOverride is the only source",
	"participantCount":        "one operator: no participants",
	"participants":            "one operator: no participants",
	"permissionModePending":   "no permission modes",
	"placement":               "sessions run here, never on cloud workers",
	"runtimeMs":               "run timing is not kept per session",
	"runtimeSelectionLocked":  "one runtime",
	"sharingRole":             "one operator: no sharing",
	"snapshotAt":              "rows are read when asked; no snapshots",
	"startedAt":               "run timing is not kept per session",
	"unread":                  "no read tracking",
	"visibility":              "one operator: every session is the operator's",
}

func rows(prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range rowOnly {
		out[prefix+k] = v
	}
	return out
}

// configContent: config.get's maps are the config itself; two different
// configs have different keys.
var configContent = map[string]string{
	"config": "the config itself", "parsed": "the config itself", "resolved": "the config itself",
	"runtimeConfig": "the config itself", "sourceConfig": "the config itself",
	"agentRosterIncludeOwned": "no config includes", "bindingsIncludeOwned": "no config includes",
	"includeProvenance": "no config includes",
	"appliedConfigHash": "hash is the one hash of the file", "configRevisionHash": "hash is the one hash of the file",
}

var hintOnly = map[string]string{"hint.docsUrl": "no docs site links", "hint.group": "keys are not grouped",
	"hint.order": "keys are not ordered for a UI", "children[].hint.placeholder": "no input placeholders"}

var referenceShapes = []referenceShape{
	{file: "status.admin", differs: with(nodeOnly, heartbeatOff)},
	{file: "status.read", reader: true, differs: with(nodeOnly, heartbeatOff)},
	{file: "status.cli-projection", differs: with(with(nodeOnly, heartbeatOff), map[string]string{
		"cliProjection.memoryPlugin": "the reference's memory plugin, which we do not have",
	})},
	{file: "sessions.list", differs: with(rows("sessions[]."), map[string]string{"defaults.agentRuntime": "one runtime"})},
	{file: "sessions.list.paged", differs: with(rows("sessions[]."), map[string]string{"defaults.agentRuntime": "one runtime"})},
	{file: "sessions.preview"},
	{file: "sessions.describe", differs: with(rows("session."), map[string]string{"session.activitySummary": "the reference's activity recaps"})},
	{file: "sessions.describe.missing"},
	{file: "sessions.patch.new", differs: map[string]string{
		"entry.createdVia": "how a session was created is not kept", "entry.lifecycleRevision": "sessionId is the lifecycle's token",
		"resolved.agentRuntime": "one runtime", "resolved.runtimeSelectionLocked": "one runtime",
	}},
	{file: "chat.inject"},
	{file: "chat.history.after-inject", differs: map[string]string{
		"defaults": "chat.history is the transcript only (sessions.describe has the rest)", "deltaCursor": "no delta reads",
		"pendingInputs": "no queued inputs", "sessionInfo": "sessions.describe has it",
		"messages[].__openclaw": "the reference's transcript metadata", "messages[].idempotencyKey": "runId names the turn",
		"messages[].api": "one provider API", "messages[].responseId": "the provider's response id is not kept",
		"messages[].usage": "usage is {input, output, total}; an injected message has none",
	}},
	{file: "usage.status"},
	{file: "usage.cost", differs: map[string]string{"cacheStatus": "computed on each call from the transcripts: no cache"}},
	{file: "sessions.subscribe"},
	{file: "sessions.unsubscribe.unknown"},
	{file: "sessions.compact.maxlines"},
	{file: "sessions.compact.missing"},
	{file: "sessions.reset", differs: map[string]string{
		"entry.abortedLastRun": "the outcome of the last run is not kept", "entry.delivery": "no per-session delivery route",
		"entry.lifecycleRevision": "sessionId is the lifecycle's token", "entry.systemSent": "no system prompt bookkeeping",
		"entry.totalTokensVersion": "one way of counting tokens",
	}},
	{file: "sessions.delete"},
	{file: "sessions.delete.missing"},
	// The Control UI sidebar's calls at its first screen. We keep no
	// session groups and no external session catalog (the reference lists
	// its Claude Code catalog there), so ours are empty lists.
	{file: "sessions.groups.list", screen: "00-boot", reader: true},
	{file: "sessions.groups.defaults", screen: "00-boot"},
	{file: "sessions.catalog.list", screen: "00-boot", reader: true},
	{file: "sessions.list.after", differs: with(rows("sessions[]."), map[string]string{"defaults.agentRuntime": "one runtime"})},
	{file: "models.list"},
	{file: "models.list.details"},
	{file: "models.list.all"},
	{file: "agents.list", differs: map[string]string{
		"agents[].agentRuntime": "one runtime", "agents[].defaultPermissionMode": "no permission modes",
	}},
	{file: "models.authStatus"},
	{file: "tools.catalog"},
	{file: "config.schema", differs: map[string]string{
		"uiHints": "hints are keyed by our config's paths and carry label, help and advanced (no groups, order or docs links)",
	}},
	{file: "config.schema.lookup", differs: hintOnly},
	{file: "config.schema.lookup.missing"},
	{file: "config.get.after-set", differs: configContent},
	{file: "system.info", differs: map[string]string{
		"nodeVersion":                     "goVersion: a Go process",
		"defaultAgentUtilityModel":        "no utility model: every turn uses the agent's model",
		"eventLoop":                       nodeOnly["eventLoop"],
		"processMemory.externalBytes":     nodeOnly["processMemory.externalBytes"],
		"processMemory.arrayBuffersBytes": nodeOnly["processMemory.arrayBuffersBytes"],
	}},
	{file: "exec.approval.list"},
	{file: "plugin.approval.list"},
	{file: "openclaw.approval.list"},
	{file: "channels.status.none", differs: map[string]string{
		"eventLoop": nodeOnly["eventLoop"], "channelSystemImages": "no channel icons",
	}},
	{file: "channels.start.unknown"},
	{file: "channels.logout.unknown"},
	{file: "message.action.no-channel"},
	{file: "cron.add", captureID: true, differs: cronJob("", "scheduledToolPolicy", "payload.toolsAllow")},
	{file: "cron.run"},
	{file: "cron.list", before: ranOnce, differs: with(cronJob("jobs[].", "scheduledToolPolicy", "payload.toolsAllow",
		"state.lastDelivered", "state.consecutiveSkipped", "state.lastFailureNotificationDeliveryStatus"), map[string]string{
		"deliveryPreviews":       "cron.add answers the preview",
		"jobs[].state.lastError": "set when the last run failed", "jobs[].lastRunError": "set when the last run failed",
		"jobs[].lastDelivered": "state.lastDeliveryStatus says it", "jobs[].lastDeliveryStatus": "state.lastDeliveryStatus says it",
		"jobs[].lastFailureNotificationDeliveryStatus": "no failure notifications",
	})},
	{file: "cron.status"},
	{file: "cron.runs", differs: map[string]string{
		"entries[].completionStatus": "status says it", "entries[].delivery": "deliveryStatus and deliveryError say it",
		"entries[].nextRunAtMs": "cron.list has the next run", "entries[].sessionId": "sessionKey names the session",
	}},
	{file: "cron.update", differs: with(cronJob("", "scheduledToolPolicy", "payload.toolsAllow", "state.lastDelivered",
		"state.consecutiveSkipped", "state.scheduleActivatedAtMs", "state.lastFailureNotificationDeliveryStatus"), map[string]string{
		"lastDelivered": "state.lastDeliveryStatus says it", "lastDeliveryStatus": "state.lastDeliveryStatus says it",
		"lastFailureNotificationDeliveryStatus": "no failure notifications",
	})},
	{file: "cron.remove"},
	{file: "cron.remove.missing"},
	{file: "wake"},
	{file: "set-heartbeats"},
	{file: "last-heartbeat", before: heartbeatOnce, differs: map[string]string{
		"reason":  "set for a skipped heartbeat; this one ran",
		"message": "the reference's words for a skip reason (reason says it)",
	}},
}

// ranOnce waits until the cron job of the rows has run (cron.run), and runs
// a heartbeat: every job listed has a last run, as at the reference.
func ranOnce(t *testing.T, adm *gatewaytest.Conn) {
	waitFor(t, "the cron run", func() bool {
		r := call[protocol.CronRuns](t, adm, "cron.runs", map[string]any{"scope": "all", "status": "ok"})
		return r.Total > 0
	})
	heartbeatOnce(t, adm)
}

// heartbeatOnce runs a heartbeat and waits until its run is recorded.
func heartbeatOnce(t *testing.T, adm *gatewaytest.Conn) {
	n := call[protocol.CronRuns](t, adm, "cron.runs", map[string]any{"id": "heartbeat:main", "status": "ok"}).Total
	call[protocol.OKResult](t, adm, "wake", map[string]any{"mode": "now", "text": "a heartbeat"})
	waitFor(t, "the heartbeat", func() bool {
		return call[protocol.CronRuns](t, adm, "cron.runs", map[string]any{"id": "heartbeat:main", "status": "ok"}).Total > n
	})
}

// jobOnly are the parts of the reference's cron jobs we do not have.
var jobOnly = map[string]string{
	"scheduledToolPolicy":                         "scheduled turns are offered the gateway's tools like any turn; no separate policy",
	"payload.toolsAllow":                          "scheduled turns are offered the gateway's tools like any turn",
	"state.lastDelivered":                         "state.lastDeliveryStatus says it",
	"state.consecutiveSkipped":                    "a slot skipped while the previous run goes is not counted",
	"state.scheduleActivatedAtMs":                 "a schedule starts with its job",
	"state.lastFailureNotificationDeliveryStatus": "no failure notifications",
}

// cronJob is jobOnly under prefix, for the keys the reference's answer has.
func cronJob(prefix string, keys ...string) map[string]string {
	out := map[string]string{}
	for _, k := range keys {
		out[prefix+k] = jobOnly[k]
	}
	return out
}

// recorded is one reference recording.
type recorded struct {
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
	OK      bool            `json:"ok"`
	Payload json.RawMessage `json:"payload"`
	Error   json.RawMessage `json:"error"`
}

// TestReferenceShapes calls each method of referenceShapes, in order, on a
// gateway set up as the reference was when it answered: a model "mock/mock-1"
// (contextWindow 128000) and one turn in agent:main:main.
func TestReferenceShapes(t *testing.T) {
	fp := fakeprovider.New(t)
	fp.SetDefault(fakeprovider.Text("hello", 1))
	text := fmt.Sprintf(`{
		models: {providers: {mock: {baseUrl: %q, apiKey: "sk-mock", models: [{id: "mock-1", name: "Mock", contextWindow: 128000}]}}},
		agents: {defaults: {model: {primary: "mock/mock-1"}, heartbeat: {every: "30m"}}},
	}`, fp.URL)
	cfg, err := config.Parse("test.json5", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	gw := gatewaytest.Start(t, func(o *gateway.Options) { o.Config = cfg })
	// The file holds the same config: config.get and config.set read and
	// write it, and the reload actor, which watches it, finds nothing new.
	if err := os.WriteFile(gw.ConfigPath, []byte(text+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	rd, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	for i, key := range []string{"agent:main:explicit:rk2", "agent:main:other", "agent:main:main"} {
		id := fmt.Sprint("turn", i)
		adm.SendJSON(map[string]any{"type": "req", "id": id, "method": "agent",
			"params": map[string]any{"message": "hi", "idempotencyKey": id, "sessionKey": key}})
		adm.Res(id)
		if f := adm.Res(id); !f.OK {
			t.Fatalf("the turn: %s", f.Raw)
		}
	}
	ids := map[string]string{} // reference id → ours (captureID)
	for _, row := range referenceShapes {
		t.Run(row.file, func(t *testing.T) {
			rec := loadRecorded(t, row)
			if row.before != nil {
				row.before(t, adm)
			}
			c := adm
			if row.reader {
				c = rd
			}
			raw := string(rec.Params)
			for ref, ours := range ids {
				raw = strings.ReplaceAll(raw, ref, ours)
			}
			var params any
			_ = json.Unmarshal([]byte(raw), &params)
			f := c.Call("shape-"+row.file, rec.Method, params)
			if f.OK != rec.OK {
				t.Fatalf("%s: ok=%v, the reference's ok=%v:\n%s", rec.Method, f.OK, rec.OK, f.Raw)
			}
			want, got := rec.Payload, f.Payload
			if !rec.OK {
				want, got = rec.Error, json.RawMessage(mustJSON(f.Error))
			}
			var w, g any
			_ = json.Unmarshal(want, &w)
			_ = json.Unmarshal(got, &g)
			if row.captureID {
				var refID, ourID struct{ ID string }
				_ = json.Unmarshal(want, &refID)
				_ = json.Unmarshal(got, &ourID)
				ids[refID.ID] = ourID.ID
			}
			for _, p := range shapeDiff(w, g, "", row.differs) {
				t.Errorf("%s: %s (ours: %.300s)", rec.Method, p, got)
			}
			for path := range row.differs {
				if _, ok := lookupPath(w, path); !ok {
					t.Errorf("differs[%q]: the reference's answer has no such path (stale row?)", path)
				}
			}
		})
	}
}

// loadRecorded reads the reference's answer a row names.
func loadRecorded(t *testing.T, row referenceShape) recorded {
	t.Helper()
	name := filepath.Join(referenceDir, row.file+".json")
	if row.screen != "" {
		name = filepath.Join(screensDir, row.screen+".json")
	}
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if row.screen == "" {
		var rec recorded
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return rec
	}
	var screen struct{ Requests []recorded }
	if err := json.Unmarshal(b, &screen); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for _, rec := range screen.Requests {
		if rec.Method == row.file {
			return rec
		}
	}
	t.Fatalf("%s: the reference's UI did not call %s there", name, row.file)
	return recorded{}
}

// shapeDiff lists where ours does not have the shape of ref.
func shapeDiff(ref, ours any, path string, differs map[string]string) []string {
	if _, skip := differs[path]; skip && path != "" {
		return nil
	}
	if ref == nil {
		return nil // the reference's null says nothing about the type
	}
	at := path
	if at == "" {
		at = "(top)"
	}
	switch r := ref.(type) {
	case map[string]any:
		o, ok := ours.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %s, the reference has an object", at, kind(ours))}
		}
		var out []string
		keys := make([]string, 0, len(r))
		for k := range r {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sub := k
			if path != "" {
				sub = path + "." + k
			}
			if _, skip := differs[sub]; skip {
				continue
			}
			v, has := o[k]
			if !has {
				out = append(out, fmt.Sprintf("%s: missing (the reference has %s)", sub, kind(r[k])))
				continue
			}
			out = append(out, shapeDiff(r[k], v, sub, differs)...)
		}
		return out
	case []any:
		o, ok := ours.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %s, the reference has an array", at, kind(ours))}
		}
		if len(r) == 0 {
			return nil
		}
		// Element by element where both have one (a transcript's user and
		// assistant messages differ), else against the reference's last.
		var out []string
		for i := range o {
			out = append(out, shapeDiff(r[min(i, len(r)-1)], o[i], path+"[]", differs)...)
		}
		slices.Sort(out)
		return slices.Compact(out)
	default:
		if kind(ref) != kind(ours) {
			return []string{fmt.Sprintf("%s: %s, the reference has %s", at, kind(ours), kind(ref))}
		}
		return nil
	}
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// lookupPath reports whether a differs path ("a.b", "a[].b") is in a
// reference answer (in any element of an array).
func lookupPath(v any, path string) (any, bool) {
	seg, rest, more := strings.Cut(path, ".")
	arr := strings.HasSuffix(seg, "[]")
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	child, ok := m[strings.TrimSuffix(seg, "[]")]
	if !ok {
		return nil, false
	}
	if !arr {
		if !more {
			return child, true
		}
		return lookupPath(child, rest)
	}
	list, _ := child.([]any)
	if !more {
		return child, true
	}
	for _, el := range list {
		if got, ok := lookupPath(el, rest); ok {
			return got, true
		}
	}
	return nil, len(list) == 0 // an empty array: nothing below to check
}

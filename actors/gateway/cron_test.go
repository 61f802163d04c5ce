package gateway_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"openclaw/actors/gateway"
	"openclaw/actors/gateway/gatewaytest"
	"openclaw/config"
	"openclaw/transport/protocol"
	"openclaw/transport/provider/fakeprovider"
)

// cronConfig is an agent on fp, with heartbeat settings heartbeat (JSON5,
// "" for none).
func cronConfig(t *testing.T, fp *fakeprovider.Server, heartbeat string) *config.Config {
	t.Helper()
	hb := ""
	if heartbeat != "" {
		hb = ", heartbeat: " + heartbeat
	}
	cfg, err := config.Parse("test.json5", []byte(fmt.Sprintf(`{
		models: {providers: {fake: {baseUrl: %q, apiKey: "sk-test", models: [{id: "mock-1", name: "Mock"}]}}},
		agents: {defaults: {model: {primary: "fake/mock-1"}%s}},
	}`, fp.URL, hb)))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A job added with cron.add runs on its schedule as an agent turn in its
// own session, streams like any run, and is logged; disabled it stops;
// removed it is gone.
func TestCronJobRuns(t *testing.T) {
	fp := fakeprovider.New(t)
	fp.SetDefault(fakeprovider.Text("scheduled answer", 1))
	gw := gatewaytest.Start(t, func(o *gateway.Options) { o.Config = cronConfig(t, fp, "") })
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	watcher, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))

	added := call[protocol.CronAdded](t, adm, "cron.add", map[string]any{"name": "tick", "schedule": map[string]any{"kind": "every", "everyMs": 300},
		"sessionTarget": "isolated", "wakeMode": "now", "payload": map[string]any{"kind": "agentTurn", "message": "report"}})
	if added.ID == "" || !added.Enabled || added.NextRunAtMs == nil || added.State.NextRunAtMs == nil || added.EffectiveAgentID != "main" {
		t.Fatalf("cron.add = %+v", added)
	}
	// The run streams to readers as any run does.
	var runID string
	for runID == "" {
		ev := gatewaytest.Decode[agentEvent](t, watcher.Event("agent").Payload)
		if strings.HasPrefix(ev.RunID, "cron:"+added.ID+":") {
			runID = ev.RunID
			if ev.SessionKey != "agent:main:cron:"+added.ID {
				t.Fatalf("the run's session is %s", ev.SessionKey)
			}
		}
	}
	waitFor(t, "a finished run in the log", func() bool {
		r := call[protocol.CronRuns](t, adm, "cron.runs", map[string]any{"id": added.ID})
		return len(r.Entries) > 0 && r.Entries[len(r.Entries)-1].Status == "ok"
	})
	runs := call[protocol.CronRuns](t, adm, "cron.runs", map[string]any{"id": added.ID, "sortDir": "asc"})
	first := runs.Entries[0]
	if first.Summary != "scheduled answer" || first.SessionKey != "agent:main:cron:"+added.ID || first.Trigger != "schedule" ||
		first.Usage == nil || first.JobName != "tick" || first.DeliveryStatus != "not-requested" {
		t.Fatalf("first run = %+v", first)
	}
	if h := call[protocol.ChatHistory](t, adm, "chat.history", map[string]any{"sessionKey": "agent:main:cron:" + added.ID}); len(h.Messages) < 2 ||
		string(h.Messages[0].Content) != `"report"` {
		t.Fatalf("the job's session = %+v", h.Messages)
	}
	list := call[protocol.CronList](t, adm, "cron.list", nil)
	if list.Total != 1 || list.Jobs[0].LastRunStatus != "ok" || list.Jobs[0].State.LastDurationMs == nil {
		t.Fatalf("cron.list = %+v", list)
	}

	upd := call[protocol.CronJob](t, adm, "cron.update", map[string]any{"id": added.ID, "patch": map[string]any{"enabled": false}})
	if upd.Enabled || upd.NextRunAtMs != nil {
		t.Fatalf("disabled job = %+v", upd)
	}
	time.Sleep(400 * time.Millisecond) // a run in flight when it was disabled ends
	n := call[protocol.CronRuns](t, adm, "cron.runs", map[string]any{"id": added.ID}).Total
	time.Sleep(900 * time.Millisecond)
	if m := call[protocol.CronRuns](t, adm, "cron.runs", map[string]any{"id": added.ID}).Total; m != n {
		t.Fatalf("a disabled job ran: %d runs, then %d", n, m)
	}
	// cron.run runs it anyway, once.
	r := call[protocol.CronRunStarted](t, adm, "cron.run", map[string]any{"id": added.ID})
	if !r.OK || !r.Enqueued || !strings.HasPrefix(r.RunID, "manual:") {
		t.Fatalf("cron.run = %+v", r)
	}
	waitFor(t, "the manual run", func() bool {
		return call[protocol.CronRuns](t, adm, "cron.runs", map[string]any{"id": added.ID}).Total == n+1
	})
	if r := call[protocol.CronRunStarted](t, adm, "cron.run", map[string]any{"id": added.ID, "mode": "if-enabled"}); r.Ran == nil || *r.Ran {
		t.Fatalf("cron.run if-enabled on a disabled job = %+v", r)
	}

	if rm := call[protocol.CronRemoved](t, adm, "cron.remove", map[string]any{"id": added.ID}); !rm.Removed {
		t.Fatalf("cron.remove = %+v", rm)
	}
	if l := call[protocol.CronList](t, adm, "cron.list", nil); l.Total != 0 {
		t.Fatalf("after remove: %+v", l)
	}
	if f := adm.Call("rm2", "cron.remove", map[string]any{"id": added.ID}); f.OK || f.Error.Details["code"] != "CRON_JOB_NOT_FOUND" {
		t.Fatalf("removing twice: %s", f.Raw)
	}
}

func TestCronAddValidation(t *testing.T) {
	fp := fakeprovider.New(t)
	gw := gatewaytest.Start(t, func(o *gateway.Options) { o.Config = cronConfig(t, fp, "") })
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	base := func(mut func(map[string]any)) map[string]any {
		p := map[string]any{"name": "x", "schedule": map[string]any{"kind": "cron", "expr": "0 3 * * *"}, "sessionTarget": "isolated",
			"wakeMode": "now", "payload": map[string]any{"kind": "agentTurn", "message": "m"}}
		mut(p)
		return p
	}
	tests := []struct {
		name string
		p    map[string]any
		want string
	}{
		{"bad expression", base(func(p map[string]any) { p["schedule"] = map[string]any{"kind": "cron", "expr": "61 * * * *"} }), "schedule.expr"},
		{"bad zone", base(func(p map[string]any) {
			p["schedule"] = map[string]any{"kind": "cron", "expr": "0 3 * * *", "tz": "Mars/Base"}
		}), "schedule.tz"},
		{"unknown agent", base(func(p map[string]any) { p["agentId"] = "ghost" }), "unknown agent"},
		{"bad target", base(func(p map[string]any) { p["sessionTarget"] = "elsewhere" }), "sessionTarget"},
		{"command payload", base(func(p map[string]any) { p["payload"] = map[string]any{"kind": "command"} }), "payload"},
		{"announce without to", base(func(p map[string]any) { p["delivery"] = map[string]any{"mode": "announce", "channel": "telegram"} }), "delivery.to"},
	}
	for _, tt := range tests {
		if f := adm.Call(tt.name, "cron.add", tt.p); f.OK || f.Error.Code != "INVALID_REQUEST" || !strings.Contains(f.Error.Message, tt.want) {
			t.Errorf("%s: %s", tt.name, f.Raw)
		}
	}
	// A cron expression with a zone: the next run is computed in it.
	ok := call[protocol.CronAdded](t, adm, "cron.add", base(func(p map[string]any) {
		p["schedule"] = map[string]any{"kind": "cron", "expr": "30 4 * * *", "tz": "Asia/Tokyo"}
	}))
	next := time.UnixMilli(*ok.NextRunAtMs).In(mustZone(t, "Asia/Tokyo"))
	if next.Hour() != 4 || next.Minute() != 30 || !next.After(time.Now()) || next.After(time.Now().Add(24*time.Hour)) {
		t.Fatalf("next run %v", next)
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// A slot is claimed in the database before it runs: a run the gateway
// stopped in the middle of is closed as an error at the next start and its
// slot does not run again; a slot missed while the gateway was down runs
// once at the start; a one-shot "at" job goes once it succeeded.
func TestCronSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	fp := fakeprovider.New(t)
	start := func() (*gatewaytest.Gateway, *gatewaytest.Conn) {
		gw := gatewaytest.Start(t, func(o *gateway.Options) {
			o.StateDir, o.ConfigPath, o.Config = dir, dir+"/openclaw.json", cronConfig(t, fp, "")
		})
		adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
		return gw, adm
	}
	stop := func(gw *gatewaytest.Gateway) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := gw.Stop(ctx, "test", 0); err != nil {
			t.Fatal(err)
		}
	}
	gw, adm := start()
	// The first slot in 300 ms, then hourly; the provider stalls it.
	fp.Script(fakeprovider.Reply{Text: "never", Fault: fakeprovider.Stall})
	anchor := time.Now().Add(300 * time.Millisecond).UnixMilli()
	job := call[protocol.CronAdded](t, adm, "cron.add", map[string]any{"name": "hourly", "sessionTarget": "isolated", "wakeMode": "now",
		"schedule": map[string]any{"kind": "every", "everyMs": 3600000, "anchorMs": anchor},
		"payload":  map[string]any{"kind": "agentTurn", "message": "hourly report"}})
	waitFor(t, "the first slot to start", func() bool { return len(fp.Requests()) == 1 })
	stop(gw)

	// Restarted: the cut-off run is an error, and its slot is not run again.
	gw, adm = start()
	runs := call[protocol.CronRuns](t, adm, "cron.runs", map[string]any{"id": job.ID})
	if runs.Total != 1 || runs.Entries[0].Status != "error" || runs.Entries[0].Error != "the gateway stopped during the run" {
		t.Fatalf("after the restart: %+v", runs)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(fp.Requests()); n != 1 {
		t.Fatalf("the interrupted slot ran again (%d provider requests)", n)
	}
	if j := call[protocol.CronList](t, adm, "cron.list", nil).Jobs[0]; j.State.ConsecutiveErrors == nil || *j.State.ConsecutiveErrors != 1 ||
		*j.NextRunAtMs != anchor+3600000 {
		t.Fatalf("the job after the restart = %+v", j)
	}

	// A one-shot job due while the gateway is down runs once when it is
	// back, then is gone.
	at := time.Now().Add(400 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	fp.SetDefault(fakeprovider.Text("once", 1))
	once := call[protocol.CronAdded](t, adm, "cron.add", map[string]any{"name": "once", "sessionTarget": "main", "wakeMode": "now",
		"schedule": map[string]any{"kind": "at", "at": at}, "payload": map[string]any{"kind": "agentTurn", "message": "once only"}})
	if !once.DeleteAfterRun {
		t.Fatalf("a one-shot job keeps itself: %+v", once)
	}
	stop(gw)
	time.Sleep(600 * time.Millisecond)
	gw, adm = start()
	waitFor(t, "the missed one-shot to run and go", func() bool {
		return call[protocol.CronList](t, adm, "cron.list", nil).Total == 1
	})
	var onceRuns int
	for _, r := range fp.Requests() {
		if len(r.Messages) > 0 && r.Messages[len(r.Messages)-1].Content == "once only" {
			onceRuns++
		}
	}
	if onceRuns != 1 {
		t.Fatalf("the one-shot ran %d times", onceRuns)
	}
	_ = gw
}

// Heartbeats: an agent's turn in its main session with the system events
// queued for it; HEARTBEAT_OK is an ack; set-heartbeats turns them off.
func TestHeartbeats(t *testing.T) {
	fp := fakeprovider.New(t)
	gw := gatewaytest.Start(t, func(o *gateway.Options) { o.Config = cronConfig(t, fp, `{every: "30m"}`) })
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	watcher, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))

	if hb := adm.Call("lh", "last-heartbeat", nil); !hb.OK || string(hb.Payload) != "null" {
		t.Fatalf("last-heartbeat before any: %s", hb.Raw)
	}
	st := call[protocol.Status](t, adm, "status", nil)
	if h := st.Heartbeat.Agents[0]; !h.Enabled || h.Every != "30m" || h.EveryMs == nil || *h.EveryMs != 1800000 {
		t.Fatalf("status heartbeat = %+v", h)
	}
	list := call[protocol.CronList](t, adm, "cron.list", nil)
	if list.Total != 1 || list.Jobs[0].DeclarationKey != "heartbeat:main" || list.Jobs[0].Payload.Kind != "heartbeat" {
		t.Fatalf("the heartbeat job = %+v", list)
	}
	if f := adm.Call("rmhb", "cron.remove", map[string]any{"id": "heartbeat:main"}); f.OK {
		t.Fatal("the config's heartbeat was removed over RPC")
	}

	// A system event waits for the next heartbeat (status shows it) ...
	call[protocol.OKResult](t, adm, "wake", map[string]any{"mode": "next-heartbeat", "text": "disk at 91%"})
	if q := call[protocol.Status](t, adm, "status", nil).QueuedSystemEvents; len(q) != 1 || q[0] != "disk at 91%" {
		t.Fatalf("queued events = %v", q)
	}
	// ... and a wake now runs it, with both events.
	fp.Script(fakeprovider.Text("HEARTBEAT_OK", 1))
	call[protocol.OKResult](t, adm, "wake", map[string]any{"mode": "now", "text": "backup finished"})
	ev := gatewaytest.Decode[protocol.HeartbeatEvent](t, watcher.Event("heartbeat").Payload)
	if ev.Status != "ok-token" || ev.AgentID != "main" || ev.SessionKey != "agent:main:main" {
		t.Fatalf("heartbeat event = %+v", ev)
	}
	reqs := fp.Requests()
	if msg := reqs[len(reqs)-1].Messages[len(reqs[len(reqs)-1].Messages)-1].Content; !strings.Contains(msg, config.HeartbeatAckToken) ||
		!strings.Contains(msg, "- disk at 91%\n- backup finished") {
		t.Fatalf("the heartbeat turn said %q", msg)
	}
	if last := call[protocol.HeartbeatEvent](t, adm, "last-heartbeat", nil); last.Status != "ok-token" {
		t.Fatalf("last-heartbeat = %+v", last)
	}
	if q := call[protocol.Status](t, adm, "status", nil).QueuedSystemEvents; len(q) != 0 {
		t.Fatalf("events still queued after the heartbeat: %v", q)
	}

	// A reply that is not the ack: the agent said something (no target
	// configured, so it stays in the session).
	fp.Script(fakeprovider.Text("The disk is almost full.", 1))
	call[protocol.OKResult](t, adm, "wake", map[string]any{"mode": "now", "text": "disk at 99%"})
	ev = gatewaytest.Decode[protocol.HeartbeatEvent](t, watcher.Event("heartbeat").Payload)
	if ev.Status != "ran" || ev.Preview != "The disk is almost full." {
		t.Fatalf("heartbeat event = %+v", ev)
	}

	if s := call[protocol.HeartbeatsSet](t, adm, "set-heartbeats", map[string]any{"enabled": false}); s.Enabled {
		t.Fatalf("set-heartbeats = %+v", s)
	}
	if h := call[protocol.Status](t, adm, "status", nil).Heartbeat.Agents[0]; h.Enabled || h.Every != "disabled" {
		t.Fatalf("status heartbeat after set-heartbeats false = %+v", h)
	}
	if f := adm.Call("w", "wake", map[string]any{"mode": "now", "text": "x", "agentId": "ghost"}); f.OK {
		t.Fatalf("wake for an unknown agent: %s", f.Raw)
	}
}

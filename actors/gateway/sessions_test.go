package gateway_test

import (
	"encoding/json"
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

// sessionsGateway is a gateway whose default agent talks to fp, with a
// second model and prices so that overrides and usage.cost can be checked.
func sessionsGateway(t *testing.T, fp *fakeprovider.Server) *gatewaytest.Gateway {
	t.Helper()
	cfg, err := config.Parse("test.json5", []byte(fmt.Sprintf(`{
		models: {providers: {fake: {baseUrl: %q, apiKey: "sk-test", models: [
			{id: "mock-1", name: "Mock", contextWindow: 128000, cost: {input: 2, output: 10}},
			{id: "mock-2", name: "Other"}]}}},
		agents: {defaults: {model: {primary: "fake/mock-1"}}},
	}`, fp.URL)))
	if err != nil {
		t.Fatal(err)
	}
	return gatewaytest.Start(t, func(o *gateway.Options) { o.Config = cfg })
}

// turn runs one agent turn on a session and waits for its final.
func turn(t *testing.T, w *gatewaytest.Conn, key, msg string) {
	t.Helper()
	id := fmt.Sprintf("t-%d", time.Now().UnixNano())
	w.SendJSON(map[string]any{"type": "req", "id": id, "method": "agent",
		"params": map[string]any{"message": msg, "idempotencyKey": id, "sessionKey": key}})
	if f := w.Res(id); !f.OK {
		t.Fatalf("agent accepted: %s", f.Raw)
	}
	if f := w.Res(id); !f.OK {
		t.Fatalf("agent final: %s", f.Raw)
	}
}

func call[T any](t *testing.T, w *gatewaytest.Conn, method string, params any) T {
	t.Helper()
	f := w.Call(method+fmt.Sprint(time.Now().UnixNano()), method, params)
	if !f.OK {
		t.Fatalf("%s: %s", method, f.Raw)
	}
	return gatewaytest.Decode[T](t, f.Payload)
}

func TestSessionsListAndUsage(t *testing.T) {
	fp := fakeprovider.New(t)
	fp.SetDefault(fakeprovider.Reply{Text: "ok", Usage: &fakeprovider.Usage{Prompt: 100, Completion: 20}})
	gw := sessionsGateway(t, fp)
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	turn(t, adm, "agent:main:main", "first question")
	turn(t, adm, "agent:main:main", "second")
	turn(t, adm, "agent:main:telegram:dm:42", "hello from telegram")

	list := call[protocol.SessionsList](t, adm, "sessions.list", map[string]any{"includeDerivedTitles": true, "includeLastMessage": true})
	if list.Count != 2 || list.TotalCount != 2 || list.HasMore || list.NextOffset != nil || list.LimitApplied != 100 {
		t.Fatalf("list = %+v", list)
	}
	var main protocol.SessionRow
	for _, r := range list.Sessions {
		if r.Key == "agent:main:main" {
			main = r
		}
	}
	if main.MessageCount != 4 || main.InputTokens != 200 || main.OutputTokens != 40 || main.TotalTokens == nil || *main.TotalTokens != 120 ||
		!main.TotalTokensFresh || main.Model == nil || *main.Model != "mock-1" || main.ContextTokens == nil || *main.ContextTokens != 128000 ||
		!main.IsMain || main.Kind != "direct" || main.DerivedTitle != "first question" || main.LastMessagePreview != "ok" {
		t.Fatalf("main row = %+v", main)
	}
	if d := list.Defaults; d.Model == nil || *d.Model != "mock-1" || d.ModelProvider == nil || *d.ModelProvider != "fake" {
		t.Fatalf("defaults = %+v", d)
	}
	page := call[protocol.SessionsList](t, adm, "sessions.list", map[string]any{"limit": 1})
	if page.Count != 1 || !page.HasMore || page.NextOffset == nil || *page.NextOffset != 1 || page.TotalCount != 2 {
		t.Fatalf("page = %+v", page)
	}
	if f := call[protocol.SessionsList](t, adm, "sessions.list", map[string]any{"search": "telegram"}); f.Count != 1 ||
		f.Sessions[0].Key != "agent:main:telegram:dm:42" {
		t.Fatalf("search = %+v", f)
	}
	pv := call[protocol.SessionsPreview](t, adm, "sessions.preview", map[string]any{"keys": []string{"agent:main:main", "agent:main:none"}, "limit": 2})
	if len(pv.Previews) != 2 || pv.Previews[0].Status != "ok" || len(pv.Previews[0].Items) != 2 ||
		pv.Previews[0].Items[0] != (protocol.PreviewItem{Role: "user", Text: "second"}) || pv.Previews[1].Status != "missing" {
		t.Fatalf("preview = %+v", pv)
	}
	if d := call[protocol.SessionsDescribe](t, adm, "sessions.describe", map[string]any{"key": "agent:main:none"}); d.Session != nil {
		t.Fatalf("describe of a missing session = %+v", d.Session)
	}

	// Usage: three turns of 100 in / 20 out, priced 2 and 10 USD per million.
	us := call[protocol.UsageStatus](t, adm, "usage.status", nil)
	if len(us.Providers) != 1 || us.Providers[0].Provider != "fake" || us.Providers[0].Turns != 3 ||
		us.Providers[0].InputTokens != 300 || us.Providers[0].OutputTokens != 60 || us.Providers[0].Models[0].Model != "mock-1" {
		t.Fatalf("usage.status = %+v", us)
	}
	uc := call[protocol.UsageCost](t, adm, "usage.cost", map[string]any{"days": 7})
	wantCost := 300*2/1e6 + 60*10/1e6
	if uc.Days != 7 || len(uc.Daily) != 7 || uc.Totals.Input != 300 || uc.Totals.Output != 60 ||
		fmt.Sprintf("%.6f", uc.Totals.TotalCost) != fmt.Sprintf("%.6f", wantCost) || uc.Daily[6].Input != 300 ||
		uc.Daily[6].Date != time.Now().UTC().Format(time.DateOnly) {
		t.Fatalf("usage.cost = %+v", uc)
	}
	if f := adm.Call("uc", "usage.cost", map[string]any{"agentId": "nope"}); f.OK {
		t.Fatalf("usage.cost for an unknown agent: %s", f.Raw)
	}

	// The reference's other filters (the Control UI sends them): one on
	// something this gateway does not have matches no session; the others
	// are accepted.
	turn(t, adm, "agent:gone:main", "an agent no longer configured")
	for _, c := range []struct {
		params map[string]any
		want   int
	}{
		{map[string]any{"configuredAgentsOnly": true}, 2},
		{map[string]any{"configuredAgentsOnly": false}, 3},
		{map[string]any{"spawnedBy": "agent:main:main"}, 0},
		{map[string]any{"pinned": true}, 0},
		{map[string]any{"pinned": false, "sortBy": "activity", "excludeSystem": true, "includeActivitySummary": true}, 3},
		{map[string]any{"projectId": "p"}, 0},
	} {
		if l := call[protocol.SessionsList](t, adm, "sessions.list", c.params); l.Count != c.want {
			t.Errorf("sessions.list %v: %d sessions, want %d", c.params, l.Count, c.want)
		}
	}
	if f := adm.Call("bad", "sessions.list", map[string]any{"sortBy": "size"}); f.OK || f.Error.Code != "INVALID_REQUEST" {
		t.Errorf("sessions.list sortBy size: %s", f.Raw)
	}
	if f := adm.Call("ml", "models.list", map[string]any{"sessionKey": "agent:main:main"}); !f.OK {
		t.Errorf("models.list with a sessionKey: %s", f.Raw)
	}
}

// sessions.patch changes what the next turn sends the model; the
// subscribers of sessions.subscribe hear of each change.
func TestSessionsPatchAndEvents(t *testing.T) {
	fp := fakeprovider.New(t)
	gw := sessionsGateway(t, fp)
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	watcher, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	other, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	if s := call[protocol.SessionsSubscribed](t, watcher, "sessions.subscribe", nil); !s.Subscribed {
		t.Fatal("not subscribed")
	}

	p := call[protocol.SessionsPatched](t, adm, "sessions.patch", map[string]any{"key": "agent:main:main", "label": "Planning",
		"model": "fake/mock-2", "thinkingLevel": "high"})
	if !p.OK || p.Entry.Label != "Planning" || p.Entry.ModelOverride != "fake/mock-2" || p.Resolved.Model == nil || *p.Resolved.Model != "mock-2" {
		t.Fatalf("patch = %+v", p)
	}
	ev := watcher.Event("sessions.changed")
	ch := gatewaytest.Decode[protocol.SessionsChanged](t, ev.Payload)
	if ch.SessionKey != "agent:main:main" || ch.Reason != "patch" || ch.Session == nil || ch.Session.Label != "Planning" ||
		ch.Session.DisplayName != "Planning" {
		t.Fatalf("sessions.changed = %s", ev.Payload)
	}

	turn(t, adm, "agent:main:main", "hi")
	reqs := fp.Requests()
	last := reqs[len(reqs)-1]
	var body struct {
		ReasoningEffort string `json:"reasoning_effort"`
	}
	_ = json.Unmarshal(last.Body, &body)
	if last.Model != "mock-2" || body.ReasoningEffort != "high" {
		t.Fatalf("the turn used model %q, reasoning_effort %q; want the session's mock-2, high", last.Model, body.ReasoningEffort)
	}
	// The run's changes reach the subscriber as "update" events.
	for {
		ch = gatewaytest.Decode[protocol.SessionsChanged](t, watcher.Event("sessions.changed").Payload)
		if ch.Reason == "update" && ch.Session != nil && ch.Session.MessageCount == 2 && !ch.Session.HasActiveRun {
			break
		}
	}
	// A request's own model wins over the session's.
	adm.SendJSON(map[string]any{"type": "req", "id": "explicit", "method": "agent",
		"params": map[string]any{"message": "x", "idempotencyKey": "explicit", "sessionKey": "agent:main:main", "model": "fake/mock-1"}})
	adm.Res("explicit")
	if f := adm.Res("explicit"); !f.OK {
		t.Fatalf("agent with a model: %s", f.Raw)
	}
	if reqs := fp.Requests(); reqs[len(reqs)-1].Model != "mock-1" {
		t.Fatalf("the request's model lost to the session's: %q", reqs[len(reqs)-1].Model)
	}
	// null clears the override; off sends no reasoning effort.
	call[protocol.SessionsPatched](t, adm, "sessions.patch", map[string]any{"key": "agent:main:main", "model": nil, "thinkingLevel": "off"})
	turn(t, adm, "agent:main:main", "again")
	reqs = fp.Requests()
	last = reqs[len(reqs)-1]
	body.ReasoningEffort = ""
	_ = json.Unmarshal(last.Body, &body)
	if last.Model != "mock-1" || body.ReasoningEffort != "" {
		t.Fatalf("after clearing: model %q, reasoning_effort %q", last.Model, body.ReasoningEffort)
	}

	for _, bad := range []map[string]any{
		{"key": "agent:main:main", "model": "nope/x"},
		{"key": "agent:main:main", "model": "no-slash"},
		{"key": "agent:main:main", "thinkingLevel": "extreme"},
		{"key": "agent:main:main", "label": "x", "expectedSessionId": "not-this-one"},
	} {
		if f := adm.Call("bad", "sessions.patch", bad); f.OK || f.Error.Code != "INVALID_REQUEST" {
			t.Errorf("patch %v: %s", bad, f.Raw)
		}
	}
	// A connection that did not subscribe got none of it.
	select {
	case f := <-other.Frames():
		if f.Event == "sessions.changed" {
			t.Fatalf("an unsubscribed connection got %s", f.Raw)
		}
	case <-time.After(300 * time.Millisecond):
	}
}

func TestSessionsResetDeleteInject(t *testing.T) {
	fp := fakeprovider.New(t)
	gw := sessionsGateway(t, fp)
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	reader, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	turn(t, adm, "agent:main:main", "hi")
	before := call[protocol.SessionsDescribe](t, adm, "sessions.describe", map[string]any{"key": "agent:main:main"}).Session

	// chat.inject: an assistant message in the transcript, a chat final to
	// readers; none for a session that does not exist.
	inj := call[protocol.ChatInjected](t, adm, "chat.inject", map[string]any{"sessionKey": "agent:main:main", "message": "note this", "label": "ops"})
	if !inj.OK || !strings.HasPrefix(inj.MessageID, before.SessionID+":") {
		t.Fatalf("inject = %+v", inj)
	}
	ev := gatewaytest.Decode[protocol.ChatEvent](t, reader.Event("chat").Payload)
	for ev.State != "final" || !strings.HasPrefix(ev.RunID, "inject-") {
		ev = gatewaytest.Decode[protocol.ChatEvent](t, reader.Event("chat").Payload)
	}
	h := call[protocol.ChatHistory](t, adm, "chat.history", map[string]any{"sessionKey": "agent:main:main"})
	if n := len(h.Messages); n != 3 || !strings.Contains(string(h.Messages[2].Content), "[ops]\\n\\nnote this") || h.Messages[2].Role != "assistant" {
		t.Fatalf("history after inject = %+v", h.Messages)
	}
	if f := adm.Call("i2", "chat.inject", map[string]any{"sessionKey": "agent:main:nope", "message": "x"}); f.OK ||
		f.Error.Message != "session not found" {
		t.Fatalf("inject into a missing session: %s", f.Raw)
	}

	// reset: a new session id, an empty transcript, the label kept.
	call[protocol.SessionsPatched](t, adm, "sessions.patch", map[string]any{"key": "agent:main:main", "label": "Keep me"})
	r := call[protocol.SessionsPatched](t, adm, "sessions.reset", map[string]any{"key": "agent:main:main"})
	if r.Entry.SessionID == before.SessionID || r.Entry.Label != "Keep me" || r.Entry.InputTokens != 0 {
		t.Fatalf("reset = %+v", r)
	}
	if h := call[protocol.ChatHistory](t, adm, "chat.history", map[string]any{"sessionKey": "agent:main:main"}); len(h.Messages) != 0 ||
		h.SessionID != r.Entry.SessionID {
		t.Fatalf("history after reset = %+v", h)
	}
	// The model's context starts over too.
	turn(t, adm, "agent:main:main", "fresh start")
	reqs := fp.Requests()
	if msgs := reqs[len(reqs)-1].Messages; len(msgs) != 1 || msgs[0].Content != "fresh start" {
		t.Fatalf("the first turn after a reset sent %+v", msgs)
	}

	d := call[protocol.SessionsDeleted](t, adm, "sessions.delete", map[string]any{"key": "agent:main:main"})
	if !d.OK || !d.Deleted || d.Archived == nil {
		t.Fatalf("delete = %+v", d)
	}
	if d := call[protocol.SessionsDeleted](t, adm, "sessions.delete", map[string]any{"key": "agent:main:main"}); d.Deleted {
		t.Fatalf("second delete = %+v", d)
	}
	if l := call[protocol.SessionsList](t, adm, "sessions.list", nil); l.Count != 0 {
		t.Fatalf("list after delete = %+v", l.Sessions)
	}
	// Deleting is admin-only, as at the reference.
	if f := reader.Call("d", "sessions.delete", map[string]any{"key": "agent:main:x"}); f.OK || f.Error.Code != "FORBIDDEN" {
		t.Fatalf("delete as a reader: %s", f.Raw)
	}
}

// sessions.compact summarises the older turns through the model into one
// message the next turns get as context; maxLines only trims.
func TestSessionsCompact(t *testing.T) {
	fp := fakeprovider.New(t)
	gw := sessionsGateway(t, fp)
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	for i := range 4 {
		fp.Script(fakeprovider.Text(fmt.Sprintf("answer %d", i), 1))
		turn(t, adm, "agent:main:main", fmt.Sprintf("question %d", i))
	}
	if c := call[protocol.SessionsCompacted](t, adm, "sessions.compact", map[string]any{"key": "agent:main:none"}); c.Compacted ||
		c.Reason != "no sessionId" {
		t.Fatalf("compact of a missing session = %+v", c)
	}
	fp.Script(fakeprovider.Text("The user asked questions 0 and 1.", 1))
	c := call[protocol.SessionsCompacted](t, adm, "sessions.compact", map[string]any{"key": "agent:main:main"})
	if !c.OK || !c.Compacted || c.Result == nil || c.Result.Summarized != 4 || c.Result.Kept != 4 {
		t.Fatalf("compact = %+v", c)
	}
	// The model was asked to summarise the older turns only.
	reqs := fp.Requests()
	sum := reqs[len(reqs)-1]
	if len(sum.Messages) != 2 || !strings.Contains(sum.Messages[1].Content, "User: question 1") ||
		strings.Contains(sum.Messages[1].Content, "question 2") {
		t.Fatalf("the summary request: %+v", sum.Messages)
	}
	h := call[protocol.ChatHistory](t, adm, "chat.history", map[string]any{"sessionKey": "agent:main:main"})
	if len(h.Messages) != 5 || h.Messages[0].Role != "system" || !strings.Contains(string(h.Messages[0].Content), "questions 0 and 1") {
		t.Fatalf("history after compaction = %+v", h.Messages)
	}
	row := call[protocol.SessionsDescribe](t, adm, "sessions.describe", map[string]any{"key": "agent:main:main"}).Session
	if row.CompactionCount != 1 || row.MessageCount != 5 {
		t.Fatalf("row after compaction = %+v", row)
	}
	// The next turn gets the summary as system context, then the kept turns.
	turn(t, adm, "agent:main:main", "question 4")
	reqs = fp.Requests()
	msgs := reqs[len(reqs)-1].Messages
	if msgs[0].Role != "system" || !strings.Contains(msgs[0].Content, "questions 0 and 1") || msgs[1].Content != "question 2" ||
		msgs[len(msgs)-1].Content != "question 4" {
		t.Fatalf("the turn after compaction sent %+v", msgs)
	}

	k := call[protocol.SessionsCompacted](t, adm, "sessions.compact", map[string]any{"key": "agent:main:main", "maxLines": 2})
	if !k.Compacted || k.Kept == nil || *k.Kept != 2 {
		t.Fatalf("compact maxLines = %+v", k)
	}
	if h := call[protocol.ChatHistory](t, adm, "chat.history", map[string]any{"sessionKey": "agent:main:main"}); len(h.Messages) != 2 {
		t.Fatalf("history after trimming = %d messages", len(h.Messages))
	}

	// While a turn runs, compaction waits for it.
	fp.Script(fakeprovider.Reply{Text: "slow", Fault: fakeprovider.Stall, FaultAfter: 1})
	adm.SendJSON(map[string]any{"type": "req", "id": "slow", "method": "agent",
		"params": map[string]any{"message": "slow one", "idempotencyKey": "slow", "sessionKey": "agent:main:main"}})
	adm.Res("slow")
	if f := adm.Call("busy", "sessions.compact", map[string]any{"key": "agent:main:main"}); f.OK ||
		!strings.Contains(f.Error.Message, "has an active run") {
		t.Fatalf("compact during a run: %s", f.Raw)
	}
	adm.Call("ab", "chat.abort", map[string]any{"sessionKey": "agent:main:main"})
}

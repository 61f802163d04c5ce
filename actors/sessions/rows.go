package sessions

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"openclaw/actors/core"
	"openclaw/actors/methods"
	"openclaw/actors/store"
	"openclaw/config"
	"openclaw/transport/protocol"
)

// Preview bounds.
const (
	// defaultPreviewItems is how many of a session's newest messages
	// sessions.preview shows when the request gives no limit.
	defaultPreviewItems = 12
	// maxPreviewItems bounds a preview whatever the request asks.
	maxPreviewItems = 200
	// defaultPreviewChars bounds one preview item's text.
	defaultPreviewChars = 240
	// titleChars bounds a derived title.
	titleChars = 80
)

// thinkingLevels are the values sessions.patch accepts for thinkingLevel;
// all but off are sent to the model as its reasoning effort.
var thinkingLevels = protocol.ThinkingLevels

// modelOf is the model a session's next turn uses: its override, else its
// agent's, as provider and model id (nil when the config names none).
func modelOf(cfg *config.Config, si store.SessionInfo) (ref string, provider, model *string) {
	ref = si.ModelOverride
	if ref == "" {
		ref = config.AgentModelRef(cfg, core.SessionAgent(si.Key))
	}
	if ref == "" {
		return "", nil, nil
	}
	p, m, ok := strings.Cut(ref, "/")
	if !ok {
		return ref, nil, &ref
	}
	return ref, &p, &m
}

// sessionRow is a session as sessions.list shows it.
func sessionRow(cfg *config.Config, si store.SessionInfo, runIDs []string) protocol.SessionRow {
	rest := core.SessionRest(si.Key)
	row := protocol.SessionRow{Key: si.Key, Kind: core.SessionKind(si.Key), AgentID: core.SessionAgent(si.Key),
		IsMain: rest == "main", DisplayName: rest, Label: si.Label, CreatedAt: si.CreatedAt, UpdatedAt: si.UpdatedAt,
		SessionID: si.SessionID, ThinkingLevel: si.ThinkingLevel, InputTokens: si.InputTokens, OutputTokens: si.OutputTokens,
		ModelOverride: si.ModelOverride, HasActiveRun: len(runIDs) > 0, ActiveRunIDs: runIDs, LastRunID: si.LastRunID,
		MessageCount: si.MessageCount, CompactionCount: si.Compactions, IsBackground: core.SessionKind(si.Key) == "cron",
		ThinkingLevels: protocol.ThinkingItems(), ThinkingOptions: protocol.ThinkingLevels, ThinkingDefault: "off"}
	switch {
	case len(runIDs) > 0:
		row.Status = "running"
	case si.LastRunID == "":
	case si.LastRole == "user":
		row.Status = "failed" // the turn's reply was never recorded
	default:
		row.Status = "done"
	}
	if si.Label != "" {
		row.DisplayName = si.Label
	}
	if row.ActiveRunIDs == nil {
		row.ActiveRunIDs = []string{}
	}
	if si.LastTotalTokens > 0 {
		total := si.LastTotalTokens
		row.TotalTokens, row.TotalTokensFresh = &total, true
	}
	var ref string
	ref, row.ModelProvider, row.Model = modelOf(cfg, si)
	if m, ok := config.ModelInfo(cfg, ref); ok && m.ContextWindow > 0 {
		cw := m.ContextWindow
		row.ContextTokens = &cw
	}
	return row
}

// entry is the stored session as patch and reset report it.
func entry(cfg *config.Config, si store.SessionInfo) protocol.SessionEntry {
	_, provider, model := modelOf(cfg, si)
	return protocol.SessionEntry{SessionID: si.SessionID, CreatedAt: si.CreatedAt, SessionStartedAt: si.CreatedAt,
		UpdatedAt: si.UpdatedAt, ModelProvider: provider, Model: model, Label: si.Label,
		ModelOverride: si.ModelOverride, ThinkingLevel: si.ThinkingLevel, InputTokens: si.InputTokens,
		OutputTokens: si.OutputTokens, TotalTokens: si.LastTotalTokens, TotalTokensFresh: si.LastTotalTokens > 0,
		CompactionCount: si.Compactions}
}

// defaults is sessions.list's defaults: the default agent's model.
func defaults(cfg *config.Config) protocol.SessionsDefaults {
	out := protocol.SessionsDefaults{ModelSelectionTarget: "session", ThinkingLevels: protocol.ThinkingItems(),
		ThinkingOptions: protocol.ThinkingLevels, ThinkingDefault: "off"}
	ref := config.AgentModelRef(cfg, config.DefaultAgent(cfg))
	if p, m, ok := strings.Cut(ref, "/"); ok {
		out.ModelProvider, out.Model = &p, &m
		if mi, ok := config.ModelInfo(cfg, ref); ok && mi.ContextWindow > 0 {
			cw := mi.ContextWindow
			out.ContextTokens = &cw
		}
	}
	return out
}

func (w *worker) list(m *methods.SessionsList) {
	p := m.Params
	ctx, cancel := w.ctx()
	defer cancel()
	cfg := w.d.Config.Get()
	limit := p.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	res := protocol.SessionsList{TS: time.Now().UnixMilli(), Path: w.d.Store.Path(), LimitApplied: limit,
		Owners: []struct{}{}, Defaults: defaults(cfg), Sessions: []protocol.SessionRow{}}
	if string(p.Archived) == "true" || p.MatchesNothing() {
		// Sessions are never archived here, nor spawned, pinned, owned, …
		m.Reply(res)
		return
	}
	q := store.SessionQuery{Label: p.Label, Search: p.Search, Limit: limit, Offset: p.Offset}
	if p.AgentID != "" {
		q.Prefix = "agent:" + p.AgentID + ":"
	}
	if p.ActiveMinutes > 0 {
		q.UpdatedSince = time.Now().Add(-time.Duration(p.ActiveMinutes) * time.Minute).UnixMilli()
	}
	if p.ExcludeCron {
		q.ExcludeKind = "cron:"
	}
	list, total, err := w.d.Store.ListSessions(ctx, q)
	if err != nil {
		m.Fail(storeError(err))
		return
	}
	active := w.activeRuns()
	agents := config.AgentIDs(cfg)
	for _, si := range list {
		if p.ConfiguredAgentsOnly && !slices.Contains(agents, core.SessionAgent(si.Key)) {
			continue
		}
		row := sessionRow(cfg, si, active[si.Key])
		w.decorate(ctx, &row, p.IncludeDerivedTitles, p.IncludeLastMessage)
		res.Sessions = append(res.Sessions, row)
	}
	res.Count, res.TotalCount = len(res.Sessions), total
	if next := p.Offset + len(list); next < total {
		res.NextOffset, res.HasMore = &next, true
	}
	m.Reply(res)
}

// decorate adds a derived title (the first user message) and the newest
// message's text to a row, when asked.
func (w *worker) decorate(ctx context.Context, row *protocol.SessionRow, title, last bool) {
	if title {
		if first, err := w.d.Store.FirstMessages(ctx, row.Key, 10); err == nil {
			for _, msg := range first {
				if msg.Role == "user" {
					row.DerivedTitle = clip(oneLine(messageText(msg.Content)), titleChars)
					break
				}
			}
		}
	}
	if last {
		if msgs, _, err := w.d.Store.History(ctx, row.Key, 1); err == nil && len(msgs) == 1 {
			row.LastMessagePreview = clip(oneLine(messageText(msgs[0].Content)), defaultPreviewChars)
		}
	}
}

func (w *worker) preview(m *methods.SessionsPreview) {
	ctx, cancel := w.ctx()
	defer cancel()
	limit := min(max(m.Params.Limit, 0), maxPreviewItems)
	if limit == 0 {
		limit = defaultPreviewItems
	}
	maxChars := m.Params.MaxChars
	if maxChars == 0 {
		maxChars = defaultPreviewChars
	}
	res := protocol.SessionsPreview{TS: time.Now().UnixMilli(), Previews: []protocol.SessionPreview{}}
	for _, key := range m.Params.Keys {
		pv := protocol.SessionPreview{Key: key, Status: "ok", Items: []protocol.PreviewItem{}}
		msgs, total, err := w.d.Store.History(ctx, key, limit)
		switch {
		case err != nil:
			m.Fail(storeError(err))
			return
		case total == 0:
			pv.Status = "missing"
			if _, ok, _ := w.d.Store.Session(ctx, key); ok {
				pv.Status = "empty"
			}
		}
		for _, msg := range msgs {
			pv.Items = append(pv.Items, protocol.PreviewItem{Role: msg.Role, Text: clip(messageText(msg.Content), maxChars)})
		}
		res.Previews = append(res.Previews, pv)
	}
	m.Reply(res)
}

func (w *worker) describe(m *methods.SessionsDescribe) {
	ctx, cancel := w.ctx()
	defer cancel()
	si, ok, err := w.d.Store.Session(ctx, m.Params.Key)
	if err != nil {
		m.Fail(storeError(err))
		return
	}
	if !ok {
		m.Reply(protocol.SessionsDescribe{})
		return
	}
	row := sessionRow(w.d.Config.Get(), si, w.activeRuns()[si.Key])
	w.decorate(ctx, &row, m.Params.IncludeDerivedTitles, m.Params.IncludeLastMessage)
	m.Reply(protocol.SessionsDescribe{Session: &row})
}

// nullableString reads a "string or null" param: set is false when absent;
// a null clears (value "").
func nullableString(raw json.RawMessage) (value string, set bool) {
	if len(raw) == 0 {
		return "", false
	}
	_ = json.Unmarshal(raw, &value) // null leaves it ""
	return value, true
}

func (w *worker) patch(m *methods.SessionsPatch) {
	p := m.Params
	cfg := w.d.Config.Get()
	var patch store.SessionPatch
	if v, set := nullableString(p.Label); set {
		patch.Label = &v
	}
	if v, set := nullableString(p.Model); set {
		if v != "" {
			if problem := checkModel(cfg, v); problem != "" {
				m.Fail(protocol.NewError(protocol.CodeInvalidRequest, problem, nil))
				return
			}
		}
		patch.ModelOverride = &v
	}
	if v, set := nullableString(p.ThinkingLevel); set {
		if v != "" && !contains(thinkingLevels, v) {
			m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "thinkingLevel \""+v+"\" is not supported (use "+
				strings.Join(thinkingLevels, ", ")+")", nil))
			return
		}
		patch.ThinkingLevel = &v
	}
	ctx, cancel := w.ctx()
	defer cancel()
	if !w.expected(ctx, m, p.Key, p.ExpectedSessionID) {
		return
	}
	si, err := w.d.Store.PatchSession(ctx, p.Key, patch)
	if err != nil {
		m.Fail(storeError(err))
		return
	}
	w.report(p.Key, "patch")
	m.Reply(patched(cfg, w.d.Store.Path(), si))
}

// expected checks expectedSessionId: the change applies only to the
// session the caller saw (not one reset since).
func (w *worker) expected(ctx context.Context, m interface{ Fail(*protocol.ErrorShape) }, key, want string) bool {
	if want == "" {
		return true
	}
	si, ok, err := w.d.Store.Session(ctx, key)
	if err != nil {
		m.Fail(storeError(err))
		return false
	}
	if !ok || si.SessionID != want {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "Session "+key+" changed (expected session "+want+"). Retry.",
			map[string]any{"reason": "session_lifecycle_changed"}))
		return false
	}
	return true
}

func patched(cfg *config.Config, path string, si store.SessionInfo) protocol.SessionsPatched {
	_, provider, model := modelOf(cfg, si)
	return protocol.SessionsPatched{OK: true, Path: path, Key: si.Key, Entry: entry(cfg, si),
		Resolved: protocol.SessionsModel{ModelProvider: provider, Model: model}}
}

// checkModel says what is wrong with a model reference ("" when it names a
// configured provider's model).
func checkModel(cfg *config.Config, ref string) string {
	providerID, id, ok := strings.Cut(ref, "/")
	if !ok || providerID == "" || id == "" {
		return "model must be \"<provider>/<model id>\", got \"" + ref + "\""
	}
	if _, ok := cfg.Models.Providers[providerID]; !ok {
		return "unknown model provider " + providerID + " (models.providers." + providerID + " is not configured)"
	}
	return ""
}

func (w *worker) reset(m *methods.SessionsReset) {
	ctx, cancel := w.ctx()
	defer cancel()
	if !w.expected(ctx, m, m.Params.Key, m.Params.ExpectedSessionID) {
		return
	}
	si, err := w.d.Store.ResetSession(ctx, m.Params.Key)
	if err != nil {
		m.Fail(storeError(err))
		return
	}
	w.report(m.Params.Key, "reset")
	res := patched(w.d.Config.Get(), w.d.Store.Path(), si)
	res.Path = ""
	m.Reply(res)
}

func (w *worker) delete(m *methods.SessionsDelete) {
	ctx, cancel := w.ctx()
	defer cancel()
	if !w.expected(ctx, m, m.Params.Key, m.Params.ExpectedSessionID) {
		return
	}
	deleted, err := w.d.Store.DeleteSession(ctx, m.Params.Key)
	if err != nil {
		m.Fail(storeError(err))
		return
	}
	if deleted {
		w.report(m.Params.Key, "delete")
	}
	m.Reply(protocol.SessionsDeleted{OK: true, Key: m.Params.Key, Deleted: deleted, Archived: []string{}})
}

// inject appends a message the operator wrote to a session's transcript as
// the assistant's (the reference's chat.inject), and shows it to chat
// readers as a final chat event.
func (w *worker) inject(m *methods.ChatInject) {
	p := m.Params
	ctx, cancel := w.ctx()
	defer cancel()
	si, ok, err := w.d.Store.Session(ctx, p.SessionKey)
	if err != nil {
		m.Fail(storeError(err))
		return
	}
	if !ok {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "session not found", nil))
		return
	}
	text := p.Message
	if p.Label != "" {
		text = "[" + p.Label + "]\n\n" + p.Message
	}
	content, _ := json.Marshal(protocol.TextParts(text))
	msg, err := w.d.Store.Append(ctx, store.Message{SessionKey: p.SessionKey, Role: "assistant", Content: content,
		Provider: "openclaw", Model: "gateway-injected", StopReason: "stop"})
	if err != nil {
		m.Fail(storeError(err))
		return
	}
	id := si.SessionID + ":" + strconv.FormatInt(msg.Seq, 10)
	w.root.Send(w.d.Hub, &core.Publish{B: methods.ChatEvent.Broadcast(protocol.ChatEvent{RunID: "inject-" + id,
		SessionKey: p.SessionKey, State: "final", StopReason: "stop",
		Message: &protocol.ChatMessage{Role: "assistant", Content: content, Timestamp: msg.Timestamp}}, nil)})
	w.report(p.SessionKey, "inject")
	m.Reply(protocol.ChatInjected{OK: true, MessageID: id})
}

// messageText reads both stored content forms: a string (user, summaries)
// or a list of parts (assistant).
func messageText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct{ Text string }
	_ = json.Unmarshal(raw, &parts)
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// clip cuts s to at most n characters, marking the cut with an ellipsis.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

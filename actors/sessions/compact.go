package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"openclaw/actors/methods"
	"openclaw/actors/store"
	"openclaw/config"
	"openclaw/transport/protocol"
	"openclaw/transport/provider"
)

// Compaction bounds.
const (
	// keepRecent is how many of the newest messages a compaction keeps as
	// they are (the last two turns), so the next turn still has them word
	// for word.
	keepRecent = 4
	// compactWindow is how many of the newest messages are read; older
	// ones are replaced by the summary without being read (a transcript
	// that long was summarised before, or its oldest turns are past any
	// model's context anyway).
	compactWindow = 1000
	// compactInputChars bounds the transcript text sent to the model to
	// summarise: the newest of the older turns that fit, after the earlier
	// summary if there is one.
	compactInputChars = 100_000
	// compactMaxTokens bounds the summary's length.
	compactMaxTokens = 2048
	// compactTimeout bounds a compaction, the model's answer included.
	compactTimeout = 3 * time.Minute
)

// summaryPrompt asks the model for the summary.
const summaryPrompt = "You are compacting a conversation so that it can continue with less context. " +
	"Summarise the conversation below for your own later use: keep the facts, names, numbers, decisions, " +
	"the user's preferences and every open task or question; drop pleasantries. " +
	"Write plain prose or short bullet points. Reply with the summary only."

// summaryHeader starts the summary message in the transcript.
const summaryHeader = "Summary of the earlier conversation:\n\n"

func (w *worker) compact(m *methods.SessionsCompact) {
	p := m.Params
	key := p.Key
	ctx, cancel := context.WithTimeout(context.Background(), compactTimeout)
	defer cancel()
	si, ok, err := w.d.Store.Session(ctx, key)
	if err != nil {
		m.Fail(storeError(err))
		return
	}
	if !ok {
		m.Reply(protocol.SessionsCompacted{OK: true, Key: key, Reason: "no sessionId"})
		return
	}
	if len(w.activeRuns()[key]) > 0 {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "Session "+key+" has an active run; retry after it finishes.", nil))
		return
	}
	if p.MaxLines > 0 {
		deleted, err := w.d.Store.TrimSession(ctx, key, p.MaxLines)
		if err != nil {
			m.Fail(storeError(err))
			return
		}
		kept := min(si.MessageCount, p.MaxLines)
		if deleted > 0 {
			w.report(key, "compact")
		}
		m.Reply(protocol.SessionsCompacted{OK: true, Key: key, Compacted: deleted > 0, Kept: &kept})
		return
	}
	msgs, _, err := w.d.Store.History(ctx, key, compactWindow)
	if err != nil {
		m.Fail(storeError(err))
		return
	}
	if len(msgs) <= keepRecent+1 {
		m.Reply(protocol.SessionsCompacted{OK: true, Key: key, Reason: "nothing to compact"})
		return
	}
	older, recent := msgs[:len(msgs)-keepRecent], msgs[len(msgs)-keepRecent:]
	transcript := transcriptText(older, compactInputChars)

	cfg := w.d.Config.Get()
	ref := si.ModelOverride
	if ref == "" {
		ref = config.AgentModelRef(cfg, sessionAgentOrDefault(cfg, key))
	}
	prov, providerID, model, err := provider.FromConfig(cfg, ref)
	if err != nil {
		m.Fail(protocol.NewError(protocol.CodeUnavailable, "cannot compact: "+err.Error(), map[string]any{"code": "NO_PROVIDER"}))
		return
	}
	res, err := prov.Stream(ctx, provider.Request{Model: model, MaxTokens: compactMaxTokens, Messages: []provider.Message{
		{Role: "system", Content: summaryPrompt}, {Role: "user", Content: transcript}}}, func(string) {})
	if err != nil {
		m.Fail(protocol.NewError(protocol.CodeUnavailable, "cannot compact: the model failed: "+err.Error(), nil))
		return
	}
	summary := strings.TrimSpace(res.Text)
	if summary == "" {
		m.Fail(protocol.NewError(protocol.CodeUnavailable, "cannot compact: the model returned an empty summary", nil))
		return
	}
	if res.Model != "" {
		model = res.Model
	}
	content, _ := json.Marshal(summaryHeader + summary)
	usage, _ := json.Marshal(map[string]int{"input": res.Usage.Input, "output": res.Usage.Output, "total": res.Usage.Total})
	extra, _ := json.Marshal(map[string]any{"compaction": map[string]int{"summarized": len(older)}})
	through := older[len(older)-1].Seq
	_, replaced, err := w.d.Store.CompactSession(ctx, key, si.SessionID, through, store.Message{Role: "system",
		Content: content, Provider: providerID, Model: model, StopReason: res.FinishReason, Usage: usage, Extra: extra})
	switch {
	case errors.Is(err, store.ErrSessionChanged), errors.Is(err, store.ErrNoSession):
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "Session "+key+" changed before compaction completed. Retry.",
			map[string]any{"reason": "session_lifecycle_changed"}))
		return
	case err != nil:
		m.Fail(storeError(err))
		return
	}
	after := len(summaryHeader) + len(summary) + textSize(recent)
	w.report(key, "compact")
	m.Reply(protocol.SessionsCompacted{OK: true, Key: key, Compacted: true, Result: &protocol.CompactionStats{
		Summarized: replaced, Kept: len(recent), CharsBefore: textSize(msgs), CharsAfter: after}})
}

// transcriptText is the older turns as the model reads them ("User: …",
// "Assistant: …"), the newest that fit in budget characters, after an
// earlier summary when the transcript starts with one.
func transcriptText(msgs []store.Message, budget int) string {
	var head string
	if len(msgs) > 0 && msgs[0].Role == "system" {
		head = "Earlier summary: " + messageText(msgs[0].Content) + "\n\n"
		msgs = msgs[1:]
		budget -= len(head)
	}
	var lines []string
	for i := len(msgs) - 1; i >= 0; i-- {
		line := roleLabel(msgs[i].Role) + ": " + messageText(msgs[i].Content)
		if budget -= len(line) + 2; budget < 0 {
			break
		}
		lines = append(lines, line)
	}
	var b strings.Builder
	b.WriteString(head)
	for i := len(lines) - 1; i >= 0; i-- {
		b.WriteString(lines[i])
		b.WriteString("\n\n")
	}
	return b.String()
}

func roleLabel(role string) string {
	switch role {
	case "user":
		return "User"
	case "assistant":
		return "Assistant"
	}
	return strings.ToUpper(role[:1]) + role[1:]
}

func textSize(msgs []store.Message) int {
	n := 0
	for _, m := range msgs {
		n += len(messageText(m.Content))
	}
	return n
}

// sessionAgentOrDefault is the session key's agent, else the default agent.
func sessionAgentOrDefault(cfg *config.Config, key string) string {
	if id := sessionAgent(key); id != "" {
		return id
	}
	return config.DefaultAgent(cfg)
}

package runs

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"

	"openclaw/actors/store"
	"openclaw/transport/protocol"
)

// MaxHistoryBytes bounds one chat.history answer (see
// protocol.ChatHistoryParams.MaxBytes): the frame must fit what every
// client reads (the write limit, and a browser's patience).
const MaxHistoryBytes = 8 << 20

// historyRowOverhead is a message's JSON beyond its content, near enough.
const historyRowOverhead = 160

// History is chat.history's result: a user message's content is a string
// (with the idempotency key it was sent with), an assistant message's a
// list of parts with provider, model, stopReason and usage (as the
// reference returns them).
func History(ctx context.Context, st *store.Store, p protocol.ChatHistoryParams) (protocol.ChatHistory, *protocol.ErrorShape) {
	return history(ctx, st, p, nil)
}

// history is History with the session's turn in progress, when there is
// one (read before the transcript): its text so far comes with the answer
// as inFlightRun unless the transcript already holds its reply, and counts
// first against the size budget.
func history(ctx context.Context, st *store.Store, p protocol.ChatHistoryParams, inFlight *protocol.InFlightRun) (protocol.ChatHistory, *protocol.ErrorShape) {
	limit := p.Limit
	if limit <= 0 {
		limit = DefaultHistoryLimit
	}
	unavailable := func(err error) *protocol.ErrorShape {
		return protocol.NewError(protocol.CodeUnavailable, "history unavailable: "+err.Error(), nil)
	}
	msgs, total, err := st.History(ctx, p.SessionKey, limit+p.Offset)
	if err != nil {
		return protocol.ChatHistory{}, unavailable(err)
	}
	sessionID := ""
	s, ok, err := st.Session(ctx, p.SessionKey)
	if err != nil {
		return protocol.ChatHistory{}, unavailable(err)
	}
	if ok {
		sessionID = s.SessionID
	}
	if p.SessionID != "" && p.SessionID != sessionID {
		return protocol.ChatHistory{}, protocol.NewError(protocol.CodeInvalidRequest,
			"session "+p.SessionKey+" is no longer session "+p.SessionID+": reload its history",
			map[string]any{"code": "SESSION_CHANGED", "sessionId": sessionID})
	}
	receipts := inputReceipts(msgs, p.InputRunIDs)
	msgs = msgs[:max(len(msgs)-p.Offset, 0)]
	budget := p.MaxBytes
	if budget <= 0 || budget > MaxHistoryBytes {
		budget = MaxHistoryBytes
	}
	if p.Offset > 0 {
		inFlight = nil // an older page: the turn in progress is on the first
	}
	if inFlight != nil {
		for _, m := range msgs {
			if m.Role == "assistant" && m.RunID == inFlight.RunID {
				inFlight = nil // finished since: its reply is in the transcript
				break
			}
		}
	}
	if inFlight != nil {
		budget -= len(inFlight.Text) + historyRowOverhead
	}
	// Newest first until the budget is spent, then back into order.
	out := make([]protocol.ChatMessage, 0, len(msgs))
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		size := len(m.Content) + len(m.Usage) + len(m.Provider) + len(m.Model) + historyRowOverhead
		if budget -= size; budget < 0 && len(out) > 0 {
			break
		}
		out = append(out, chatMessage(m, p.MaxChars))
	}
	slices.Reverse(out)
	return protocol.ChatHistory{SessionKey: p.SessionKey, SessionID: sessionID, Messages: out,
		HasMore: total > len(out)+p.Offset, TotalMessages: total, InputReceipts: receipts,
		InFlightRun: inFlight}, nil
}

// chatMessage is a transcript row as clients see it; maxChars > 0
// truncates its text.
func chatMessage(m store.Message, maxChars int) protocol.ChatMessage {
	row := protocol.ChatMessage{Role: m.Role, Content: m.Content, Timestamp: m.Timestamp, RunID: m.RunID,
		Meta: &protocol.MessageMeta{ID: messageID(m.Seq), Seq: m.Seq}}
	switch m.Role {
	case "user":
		if m.RunID != "" {
			row.IdempotencyKey = m.RunID + userKeySuffix
			row.Meta.IdempotencyKey = row.IdempotencyKey
		}
	case "assistant":
		row.Meta.RunID = m.RunID
		row.Provider, row.Model, row.StopReason = m.Provider, m.Model, m.StopReason
		if len(m.Usage) > 0 {
			row.Usage = m.Usage
		}
	}
	if maxChars > 0 {
		row.Content = truncateContent(m.Content, maxChars)
	}
	return row
}

// userKeySuffix marks a user message's idempotency key: the message sent
// with key K is "K:user" (the run it started is K), as in the reference.
const userKeySuffix = ":user"

// inputReceipts says, for each idempotency key a client asks about, whether
// its message is among msgs (consumed) or not yet (pending).
func inputReceipts(msgs []store.Message, runIDs []string) []protocol.InputReceipt {
	if len(runIDs) == 0 {
		return nil
	}
	seq := map[string]int64{}
	for _, m := range msgs {
		if m.Role == "user" && m.RunID != "" {
			seq[m.RunID] = m.Seq
		}
	}
	out := make([]protocol.InputReceipt, 0, len(runIDs))
	for _, id := range runIDs {
		if n, ok := seq[id]; ok {
			out = append(out, protocol.InputReceipt{RunID: id, State: "consumed", ConsumedByEventID: messageID(n)})
		} else {
			out = append(out, protocol.InputReceipt{RunID: id, State: "pending"})
		}
	}
	return out
}

// messageID names a transcript message by its position in its session
// (unique within the session, stable for its life).
func messageID(seq int64) string { return "msg-" + strconv.FormatInt(seq, 10) }

// truncateContent cuts a message's text to maxChars characters: a string,
// or each text part of a list of parts.
func truncateContent(raw json.RawMessage, maxChars int) json.RawMessage {
	cut := func(s string) string {
		if utf8.RuneCountInString(s) <= maxChars {
			return s
		}
		return string([]rune(s)[:maxChars])
	}
	var text string
	if json.Unmarshal(raw, &text) == nil {
		b, _ := json.Marshal(cut(text))
		return b
	}
	var parts []map[string]any
	if json.Unmarshal(raw, &parts) != nil {
		return raw
	}
	for _, p := range parts {
		if t, ok := p["text"].(string); ok {
			p["text"] = cut(t)
		}
	}
	b, _ := json.Marshal(parts)
	return b
}

package runs

import (
	"context"

	"openclaw/actors/store"
	"openclaw/transport/protocol"
)

// History is chat.history's result: a user message's content is a string,
// an assistant message's a list of parts with provider, model, stopReason
// and usage (as the reference returns them).
func History(ctx context.Context, st *store.Store, p protocol.ChatHistoryParams) (protocol.ChatHistory, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = DefaultHistoryLimit
	}
	msgs, total, err := st.History(ctx, p.SessionKey, limit)
	if err != nil {
		return protocol.ChatHistory{}, err
	}
	sessionID := ""
	if s, ok, err := st.Session(ctx, p.SessionKey); err == nil && ok {
		sessionID = s.SessionID
	}
	out := make([]protocol.ChatMessage, 0, len(msgs))
	for _, m := range msgs {
		row := protocol.ChatMessage{Role: m.Role, Content: m.Content, Timestamp: m.Timestamp, RunID: m.RunID}
		if m.Role == "assistant" {
			row.Provider, row.Model, row.StopReason = m.Provider, m.Model, m.StopReason
			if len(m.Usage) > 0 {
				row.Usage = m.Usage
			}
		}
		out = append(out, row)
	}
	return protocol.ChatHistory{SessionKey: p.SessionKey, SessionID: sessionID, Messages: out,
		HasMore: total > len(msgs), TotalMessages: total}, nil
}

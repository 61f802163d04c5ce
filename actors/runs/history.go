package runs

import (
	"context"
	"slices"

	"openclaw/actors/store"
	"openclaw/transport/protocol"
)

// MaxHistoryBytes bounds one chat.history answer (see
// protocol.ChatHistoryParams.MaxBytes): the frame must fit what every
// client reads (the write limit, and a browser's patience).
const MaxHistoryBytes = 8 << 20

// historyRowOverhead is a message's JSON beyond its content, near enough.
const historyRowOverhead = 160

// History is chat.history's result: a user message's content is a string,
// an assistant message's a list of parts with provider, model, stopReason
// and usage (as the reference returns them).
func History(ctx context.Context, st store.Store, p protocol.ChatHistoryParams) (protocol.ChatHistory, error) {
	return history(ctx, st, p, nil)
}

// history is History with the session's turn in progress, when there is
// one (read before the transcript): its text so far comes with the answer
// as inFlightRun unless the transcript already holds its reply, and counts
// first against the size budget.
func history(ctx context.Context, st store.Store, p protocol.ChatHistoryParams, inFlight *protocol.InFlightRun) (protocol.ChatHistory, error) {
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
	budget := p.MaxBytes
	if budget <= 0 || budget > MaxHistoryBytes {
		budget = MaxHistoryBytes
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
		row := protocol.ChatMessage{Role: m.Role, Content: m.Content, Timestamp: m.Timestamp, RunID: m.RunID}
		if m.Role == "assistant" {
			row.Provider, row.Model, row.StopReason = m.Provider, m.Model, m.StopReason
			if len(m.Usage) > 0 {
				row.Usage = m.Usage
			}
		}
		out = append(out, row)
	}
	slices.Reverse(out)
	return protocol.ChatHistory{SessionKey: p.SessionKey, SessionID: sessionID, Messages: out,
		HasMore: total > len(out), TotalMessages: total, InFlightRun: inFlight}, nil
}

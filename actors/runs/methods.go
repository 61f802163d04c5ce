package runs

import (
	"context"
	"encoding/json"
	"time"

	"openclaw/actors/core"
	"openclaw/transport/protocol"
)

// Methods are the agent-run methods (PROTOCOL.md §5.3).
func Methods() map[string]*core.Method {
	return map[string]*core.Method{
		"agent": {Scope: core.ScopeWrite, Role: core.RoleOperator, Handle: func(c core.Call) {
			var p struct {
				Message           string  `json:"message"`
				IdempotencyKey    string  `json:"idempotencyKey"`
				AgentID           string  `json:"agentId"`
				SessionKey        string  `json:"sessionKey"`
				Timeout           float64 `json:"timeout"`
				Model             string  `json:"model"`
				ExtraSystemPrompt string  `json:"extraSystemPrompt"`
				Deliver           bool    `json:"deliver"`
				Channel           string  `json:"channel"`
				To                string  `json:"to"`
			}
			_ = c.Request().Bind(&p)
			var peer, d *Delivery
			if p.To != "" {
				if p.Channel == "" {
					p.Channel = "telegram"
				}
				peer = &Delivery{Channel: p.Channel, To: p.To}
			}
			if p.Deliver {
				if peer == nil {
					c.Fail(protocol.NewError(protocol.CodeInvalidRequest, "deliver needs a target: set to (and channel)", nil))
					return
				}
				d = peer
			}
			c.Ask(c.Env().Runs, &Start{TwoStage: true, Params: Params{Message: p.Message, IdempotencyKey: p.IdempotencyKey,
				AgentID: p.AgentID, SessionKey: p.SessionKey, Timeout: seconds(p.Timeout), Model: p.Model,
				ExtraSystemPrompt: p.ExtraSystemPrompt, Peer: peer, Deliver: d}})
		}},
		"agent.wait": {Scope: core.ScopeWrite, Role: core.RoleOperator, Handle: func(c core.Call) {
			var p struct {
				RunID     string `json:"runId"`
				TimeoutMs int    `json:"timeoutMs"`
			}
			_ = c.Request().Bind(&p)
			if p.TimeoutMs <= 0 {
				p.TimeoutMs = 30000
			}
			c.Ask(c.Env().Runs, &Wait{RunID: p.RunID, Timeout: time.Duration(p.TimeoutMs) * time.Millisecond})
		}},
		"chat.send": {Scope: core.ScopeWrite, Role: core.RoleOperator, Handle: func(c core.Call) {
			var p struct {
				SessionKey     string  `json:"sessionKey"`
				Message        string  `json:"message"`
				IdempotencyKey string  `json:"idempotencyKey"`
				AgentID        string  `json:"agentId"`
				TimeoutMs      float64 `json:"timeoutMs"`
			}
			_ = c.Request().Bind(&p)
			c.Ask(c.Env().Runs, &Start{Params: Params{Message: p.Message, IdempotencyKey: p.IdempotencyKey,
				AgentID: p.AgentID, SessionKey: p.SessionKey, Timeout: time.Duration(p.TimeoutMs) * time.Millisecond}})
		}},
		"chat.abort": {Scope: core.ScopeWrite, Role: core.RoleOperator, Handle: func(c core.Call) {
			var p struct {
				SessionKey string `json:"sessionKey"`
				RunID      string `json:"runId"`
			}
			_ = c.Request().Bind(&p)
			c.Ask(c.Env().Runs, &Abort{SessionKey: p.SessionKey, RunID: p.RunID})
		}},
		"chat.history": {Scope: core.ScopeRead, Role: core.RoleOperator, Handle: func(c core.Call) {
			var p struct {
				SessionKey string `json:"sessionKey"`
				Limit      int    `json:"limit"`
			}
			_ = c.Request().Bind(&p)
			if p.Limit <= 0 {
				p.Limit = 200
			}
			env := c.Env()
			// Reads go straight to the store's read pool, off the actor.
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				res, err := History(ctx, env, p.SessionKey, p.Limit)
				if err != nil {
					c.Fail(protocol.NewError(protocol.CodeUnavailable, "history unavailable: "+err.Error(), nil))
					return
				}
				c.Reply(res)
			}()
		}},
	}
}

// Events the runs emit.
var Events = []string{"agent", "chat"}

// History is chat.history's payload: a user message's content is a string,
// an assistant message's a list of parts with provider, model, stopReason
// and usage (as the reference returns them).
func History(ctx context.Context, env *core.Env, sessionKey string, limit int) (map[string]any, error) {
	msgs, total, err := env.Store.History(ctx, sessionKey, limit)
	if err != nil {
		return nil, err
	}
	sessionID := ""
	if s, ok, err := env.Store.Session(ctx, sessionKey); err == nil && ok {
		sessionID = s.SessionID
	}
	out := make([]map[string]any, 0, len(msgs))
	for _, m := range msgs {
		row := map[string]any{"role": m.Role, "content": json.RawMessage(m.Content), "timestamp": m.Timestamp}
		if m.RunID != "" {
			row["runId"] = m.RunID
		}
		if m.Role == "assistant" {
			row["provider"], row["model"], row["stopReason"] = m.Provider, m.Model, m.StopReason
			if len(m.Usage) > 0 {
				row["usage"] = json.RawMessage(m.Usage)
			}
		}
		out = append(out, row)
	}
	return map[string]any{"sessionKey": sessionKey, "sessionId": sessionID, "messages": out,
		"hasMore": total > len(msgs), "totalMessages": total}, nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

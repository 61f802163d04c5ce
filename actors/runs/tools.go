package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"

	"openclaw/actors/core"
	"openclaw/transport/provider"
)

// Tool is one of the gateway's own tools, offered to the model and served by
// POST /tools/invoke.
type Tool struct {
	Name        string
	Description string
	Parameters  json.RawMessage
	// Invoke runs the tool. It is called on the run's worker goroutine (or an
	// HTTP handler's), never inside an actor, so it may block.
	Invoke func(ctx context.Context, env *core.Env, args json.RawMessage) (string, error)
}

// MaxToolRounds bounds how many times a run hands tool results back to the
// model before it must answer.
const MaxToolRounds = 8

// Tools returns the gateway's tool registry.
func Tools() map[string]*Tool {
	obj := func(props string, required ...string) json.RawMessage {
		req, _ := json.Marshal(required)
		if required == nil {
			req = []byte("[]")
		}
		return json.RawMessage(`{"type":"object","properties":{` + props + `},"required":` + string(req) + `,"additionalProperties":false}`)
	}
	return map[string]*Tool{
		"sessions_list": {
			Name: "sessions_list", Description: "List the gateway's conversation sessions, newest first.",
			Parameters: obj(`"limit":{"type":"integer","minimum":1,"maximum":200}`),
			Invoke: func(ctx context.Context, env *core.Env, args json.RawMessage) (string, error) {
				var a struct {
					Limit int `json:"limit"`
				}
				_ = json.Unmarshal(args, &a)
				if a.Limit <= 0 {
					a.Limit = 20
				}
				ss, err := env.Store.Sessions(ctx, a.Limit)
				if err != nil {
					return "", err
				}
				out := make([]map[string]any, 0, len(ss))
				for _, s := range ss {
					out = append(out, map[string]any{"key": s.Key, "sessionId": s.SessionID, "messages": s.MessageCount, "updatedAt": s.UpdatedAt})
				}
				return jsonText(map[string]any{"sessions": out})
			},
		},
		"session_status": {
			Name: "session_status", Description: "Describe one session: its id, message count and last update.",
			Parameters: obj(`"sessionKey":{"type":"string"}`, "sessionKey"),
			Invoke: func(ctx context.Context, env *core.Env, args json.RawMessage) (string, error) {
				var a struct {
					SessionKey string `json:"sessionKey"`
				}
				if err := json.Unmarshal(args, &a); err != nil || a.SessionKey == "" {
					return "", fmt.Errorf("sessionKey is required")
				}
				s, ok, err := env.Store.Session(ctx, a.SessionKey)
				if err != nil {
					return "", err
				}
				if !ok {
					return jsonText(map[string]any{"sessionKey": a.SessionKey, "exists": false})
				}
				return jsonText(map[string]any{"sessionKey": s.Key, "exists": true, "sessionId": s.SessionID,
					"messages": s.MessageCount, "updatedAt": s.UpdatedAt})
			},
		},
		"message_send": {
			Name: "message_send", Description: "Send a message through a messaging channel (for example Telegram).",
			Parameters: obj(`"to":{"type":"string"},"message":{"type":"string"},"channel":{"type":"string"}`, "to", "message"),
			Invoke: func(ctx context.Context, env *core.Env, args json.RawMessage) (string, error) {
				var p struct{ To, Message, Channel string }
				if err := json.Unmarshal(args, &p); err != nil {
					return "", fmt.Errorf("invalid arguments: %w", err)
				}
				// Sends fail fast when no channel is linked (the runbook: no
				// silent queueing).
				d := deliver(ctx, env, "tool:"+uuid.NewString(), &Delivery{Channel: p.Channel, To: p.To}, p.Message)
				if e, ok := d["error"].(string); ok {
					return "", errors.New(e)
				}
				return jsonText(d)
			},
		},
		"nodes_list": {
			Name: "nodes_list", Description: "List the node devices (phones, desktops, headless hosts) connected to the gateway.",
			Parameters: obj(``),
			Invoke: func(ctx context.Context, env *core.Env, args json.RawMessage) (string, error) {
				res, err := env.System.Root.RequestFuture(env.Hub, &core.NodesGet{}, 5*time.Second).Result()
				if err != nil {
					return "", err
				}
				return jsonText(map[string]any{"nodes": res.(*core.Reply).Payload})
			},
		},
	}
}

// providerTools is the registry as the model sees it, in a stable order.
func providerTools(reg map[string]*Tool) []provider.Tool {
	names := make([]string, 0, len(reg))
	for n := range reg {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]provider.Tool, 0, len(names))
	for _, n := range names {
		t := reg[n]
		out = append(out, provider.Tool{Name: t.Name, Description: t.Description, Parameters: t.Parameters})
	}
	return out
}

func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

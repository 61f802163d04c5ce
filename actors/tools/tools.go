// Package tools is the gateway's own tools: what the model may call during a
// run (offered through function calling) and what POST /tools/invoke serves.
// Each tool reaches the rest of the gateway through the Deps it is built
// with; gateway.tools.allow and deny decide which are offered.
package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"

	"openclaw/actors/core"
	"openclaw/actors/store"
	"openclaw/config"
	"openclaw/transport/protocol"
)

// Tool is one of the gateway's own tools.
type Tool struct {
	Name        string
	Description string
	// Group is the catalog group it is listed in (tools.catalog).
	Group      string
	Parameters json.RawMessage // a JSON Schema object
	// Invoke runs the tool. It is called on a run's worker goroutine or an
	// HTTP handler's, never inside an actor, so it may block.
	Invoke func(ctx context.Context, args json.RawMessage) (string, error)
}

// Deps is what the tools reach.
type Deps struct {
	Root     *actor.RootContext
	Store    store.Store
	Nodes    *actor.PID // nodes_list, node_invoke
	Channels *actor.PID // message_send
}

// askTimeout bounds a tool's question to an actor; sendTimeout a message
// send (a channel may wait out flood control); node_invoke waits for the
// node as long as its timeout (default and cap below) plus askTimeout.
const (
	askTimeout          = 5 * time.Second
	sendTimeout         = 2 * time.Minute
	defaultNodeInvokeMs = 30_000
	maxNodeInvokeMs     = 600_000
)

// HTTPDeny are the tools POST /tools/invoke refuses unless
// gateway.tools.allow names them (the reference's hard HTTP deny list:
// command execution, file mutation, session orchestration, control planes;
// node_invoke runs commands on nodes, as the reference's nodes tool does).
var HTTPDeny = []string{"exec", "spawn", "shell", "fs_write", "fs_delete", "fs_move", "apply_patch",
	"sessions_spawn", "sessions_send", "cron", "gateway", "nodes", "node_invoke"}

// Set is a tool registry.
type Set map[string]*Tool

// Allowed reports whether the config lets the agent (http false) or POST
// /tools/invoke (http true) use tool name: gateway.tools.deny always wins;
// over HTTP the HTTPDeny list applies unless gateway.tools.allow names it.
func Allowed(c *config.Config, name string, http bool) bool {
	t := c.Gateway.Tools
	if slices.Contains(t.Deny, name) {
		return false
	}
	return !http || !slices.Contains(HTTPDeny, name) || slices.Contains(t.Allow, name)
}

// Offered lists the tools the agent may use under c, sorted by name.
func (s Set) Offered(c *config.Config) []*Tool {
	out := make([]*Tool, 0, len(s))
	for name, t := range s {
		if Allowed(c, name, false) {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// New builds the gateway's tools.
func New(d Deps) Set {
	obj := func(props string, required ...string) json.RawMessage {
		req, _ := json.Marshal(required)
		if required == nil {
			req = []byte("[]")
		}
		return json.RawMessage(`{"type":"object","properties":{` + props + `},"required":` + string(req) + `,"additionalProperties":false}`)
	}
	return Set{
		"sessions_list": {
			Name: "sessions_list", Group: "sessions", Description: "List the gateway's conversation sessions, newest first.",
			Parameters: obj(`"limit":{"type":"integer","minimum":1,"maximum":200}`),
			Invoke: func(ctx context.Context, args json.RawMessage) (string, error) {
				var a struct {
					Limit int `json:"limit"`
				}
				_ = json.Unmarshal(args, &a)
				if a.Limit <= 0 {
					a.Limit = 20
				}
				ss, err := d.Store.Sessions(ctx, a.Limit)
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
			Name: "session_status", Group: "sessions", Description: "Describe one session: its id, message count and last update.",
			Parameters: obj(`"sessionKey":{"type":"string"}`, "sessionKey"),
			Invoke: func(ctx context.Context, args json.RawMessage) (string, error) {
				var a struct {
					SessionKey string `json:"sessionKey"`
				}
				if err := json.Unmarshal(args, &a); err != nil || a.SessionKey == "" {
					return "", &ArgumentError{Msg: "sessionKey is required"}
				}
				s, ok, err := d.Store.Session(ctx, a.SessionKey)
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
			Name: "message_send", Group: "messaging", Description: "Send a message through a messaging channel (for example Telegram).",
			Parameters: obj(`"to":{"type":"string"},"message":{"type":"string"},"channel":{"type":"string"}`, "to", "message"),
			Invoke: func(ctx context.Context, args json.RawMessage) (string, error) {
				var p struct{ To, Message, Channel string }
				if err := json.Unmarshal(args, &p); err != nil {
					return "", &ArgumentError{Msg: "invalid arguments: " + err.Error()}
				}
				// Sends fail fast when no channel is linked (the runbook: no
				// silent queueing).
				res, errShape := Send(d.Root, d.Channels, protocol.SendParams{To: p.To, Channel: p.Channel, Message: p.Message,
					IdempotencyKey: "tool:" + uuid.NewString()})
				if errShape != nil {
					return "", errors.New(errShape.Message)
				}
				return jsonText(res)
			},
		},
		"nodes_list": {
			Name: "nodes_list", Group: "nodes", Description: "List the node devices (phones, desktops, headless hosts) paired with or connected to the gateway, with the commands each serves.",
			Parameters: obj(``),
			Invoke: func(ctx context.Context, args json.RawMessage) (string, error) {
				list, errShape := core.Ask[protocol.Empty, protocol.NodeList](d.Root, d.Nodes, protocol.Empty{}, askTimeout)
				if errShape != nil {
					return "", errors.New(errShape.Message)
				}
				return jsonText(map[string]any{"nodes": list.Nodes})
			},
		},
		"node_invoke": {
			Name: "node_invoke", Group: "nodes", Description: "Run one approved command on a connected node (for example system.which or system.run) and return what it answered.",
			Parameters: obj(`"nodeId":{"type":"string"},"command":{"type":"string"},"params":{"type":"object"},`+
				`"timeoutMs":{"type":"integer","minimum":1,"maximum":600000}`, "nodeId", "command"),
			Invoke: func(ctx context.Context, args json.RawMessage) (string, error) {
				var a struct {
					NodeID    string          `json:"nodeId"`
					Command   string          `json:"command"`
					Params    json.RawMessage `json:"params"`
					TimeoutMs int64           `json:"timeoutMs"`
				}
				if err := json.Unmarshal(args, &a); err != nil || a.NodeID == "" || a.Command == "" {
					return "", &ArgumentError{Msg: "nodeId and command are required"}
				}
				if a.TimeoutMs <= 0 || a.TimeoutMs > maxNodeInvokeMs {
					a.TimeoutMs = defaultNodeInvokeMs
				}
				res, errShape := core.Ask[protocol.NodeInvokeParams, protocol.NodeInvokeResult](d.Root, d.Nodes,
					protocol.NodeInvokeParams{NodeID: a.NodeID, Command: a.Command, Params: a.Params, TimeoutMs: a.TimeoutMs,
						IdempotencyKey: "tool:" + uuid.NewString()},
					time.Duration(a.TimeoutMs)*time.Millisecond+askTimeout)
				if errShape != nil {
					return "", errors.New(errShape.Message)
				}
				return jsonText(res)
			},
		},
	}
}

// Send sends a message through the channels actor and waits for the result.
func Send(root *actor.RootContext, channels *actor.PID, p protocol.SendParams) (protocol.SendResult, *protocol.ErrorShape) {
	return core.Ask[protocol.SendParams, protocol.SendResult](root, channels, p, sendTimeout)
}

// ArgumentError is a tool call with arguments it cannot use: the caller's
// mistake (HTTP 400), not the tool's failure.
type ArgumentError struct{ Msg string }

func (e *ArgumentError) Error() string { return e.Msg }

func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encoding the tool's result: %w", err)
	}
	return string(b), nil
}

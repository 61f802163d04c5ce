package nodes

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"

	"openclaw/actors/core"
	"openclaw/actors/methods"
	"openclaw/transport/protocol"
)

// An invoke: the operator's node.invoke is checked (private and admin-only
// commands, the node, the command policy), then sent to the node's socket
// alone as node.invoke.request; the node's node.invoke.result completes it.
// The deadline, the node leaving or its pairing going fail it first. Calls
// with the same node, command and idempotency key share one invoke while it
// runs, and get the node's answer from a cache for ResultCacheTTL after.

// invocation is one node.invoke sent to a node and not answered yet.
type invocation struct {
	id, nodeID, connID, command string
	key                         string // idempotency: node, command, key
	waiters                     []*methods.NodeInvoke
	timer                       *time.Timer
}

// cachedResult is a node's answer kept for a repeated idempotency key.
type cachedResult struct {
	res     protocol.NodeInvokeResult
	err     *protocol.ErrorShape
	expires time.Time
}

// invocations are the actor's invokes in flight and its answer cache.
type invocations struct {
	byID  map[string]*invocation
	byKey map[string]*invocation
	done  map[string]*cachedResult
	order []string // done's keys, oldest first
}

func newInvocations() invocations {
	return invocations{byID: map[string]*invocation{}, byKey: map[string]*invocation{}, done: map[string]*cachedResult{}}
}

// invokeTimeout is an invocation's deadline firing.
type invokeTimeout struct{ id string }

// stop cancels every deadline (the actor is stopping; its callers get no
// answer from it, as with any stopped owner).
func (iv *invocations) stop() {
	for _, in := range iv.byID {
		in.timer.Stop()
	}
}

func (iv *invocations) sweep(now time.Time) {
	keep := iv.order[:0]
	for _, k := range iv.order {
		if c := iv.done[k]; c != nil && now.After(c.expires) {
			delete(iv.done, k)
			continue
		}
		if iv.done[k] != nil {
			keep = append(keep, k)
		}
	}
	iv.order = keep
}

func (iv *invocations) remember(key string, c *cachedResult) {
	if _, ok := iv.done[key]; !ok {
		iv.order = append(iv.order, key)
	}
	iv.done[key] = c
	for len(iv.order) > maxCachedResults {
		delete(iv.done, iv.order[0])
		iv.order = iv.order[1:]
	}
}

// NodeKey is the cluster key of a connected node (core.Claim).
func NodeKey(nodeID string) string { return "node." + nodeID }

// routeSlack is what an invoke routed to another gateway gets past the
// invoke's own timeout, which that gateway enforces: its answer (the
// timeout error included) has time to come back.
const routeSlack = 2 * time.Second

func (n *nodesActor) invoke(ctx actor.Context, m *methods.NodeInvoke) {
	p := m.Params
	nodeID, command := strings.TrimSpace(p.NodeID), strings.TrimSpace(p.Command)
	switch {
	case nodeID == "" || command == "":
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "nodeId and command required", nil))
		return
	case slices.Contains(privateCommands, command):
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "node.invoke does not allow private node controls",
			map[string]any{"command": command}))
		return
	case slices.Contains(execApprovalsCommands, command):
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest,
			"node.invoke does not allow system.execApprovals.*; use exec.approvals.node.*", map[string]any{"command": command}))
		return
	case slices.Contains(adminOnlyCommands, command) && (m.Caller == nil || !m.Caller.Scopes.Has(core.ScopeAdmin)):
		// In-process callers (the agent's tool) never cross this boundary.
		m.Fail(protocol.NewError(protocol.CodeForbidden, "missing scope: "+core.ScopeAdmin, map[string]any{
			"code": "MISSING_SCOPE", "missingScope": core.ScopeAdmin, "requiredScopes": []string{core.ScopeAdmin}}))
		return
	}
	rec, s := n.records[nodeID], n.current[nodeID]
	if s == nil && n.d.Cluster != nil && !m.Routed {
		// Maybe connected to another gateway: the cluster asks it, or
		// hands the request back Routed when none has the node.
		timeout := time.Duration(p.TimeoutMs) * time.Millisecond
		if p.TimeoutMs <= 0 {
			timeout = DefaultInvokeTimeout
		}
		ctx.Send(n.d.Cluster, &core.Elsewhere{Key: NodeKey(nodeID), Method: "node.invoke", Req: m, Back: ctx.Self(),
			Timeout: min(timeout, MaxInvokeTimeout) + routeSlack})
		return
	}
	if rec == nil && s == nil {
		m.Fail(unknownNodeID())
		return
	}
	if s == nil {
		m.Fail(protocol.NewError(protocol.CodeUnavailable, "node not connected", map[string]any{
			"code": "NOT_CONNECTED", "nodeError": map[string]any{"code": "NOT_CONNECTED", "message": "node not connected"},
			"nodeCommandDispatched": false}))
		return
	}
	cfg := n.d.Config.Get()
	eff := n.effective(s, rec).Commands
	if reason := refusal(command, eff, runtimeAllowlist(cfg, s.platform, eff)); reason != "" {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, refusalHint(reason, command, s.client.Platform, n.pendingFor(nodeID), cfg),
			map[string]any{"reason": reason, "command": command}))
		return
	}

	key := nodeID + "\x00" + command + "\x00" + p.IdempotencyKey
	if c := n.inv.done[key]; c != nil && time.Now().Before(c.expires) {
		answer(m, c.res, c.err)
		return
	}
	if in := n.inv.byKey[key]; in != nil {
		in.waiters = append(in.waiters, m)
		return
	}
	params, err := forwardParams(command, p.Params)
	if err != nil {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, err.Error(), map[string]any{"command": command}))
		return
	}
	timeout := time.Duration(p.TimeoutMs) * time.Millisecond
	if p.TimeoutMs <= 0 {
		timeout = DefaultInvokeTimeout
	}
	timeout = min(timeout, MaxInvokeTimeout)
	in := &invocation{id: uuid.NewString(), nodeID: nodeID, connID: s.connID, command: command, key: key,
		waiters: []*methods.NodeInvoke{m}}
	self, root := ctx.Self(), ctx.ActorSystem().Root
	in.timer = time.AfterFunc(timeout, func() { root.Send(self, &invokeTimeout{id: in.id}) })
	n.inv.byID[in.id], n.inv.byKey[key] = in, in
	ctx.Send(s.pid, &core.SendFrame{Frame: methods.NodeInvokeRequest.Encode(protocol.NodeInvokeRequest{
		ID: in.id, NodeID: nodeID, Command: command, ParamsJSON: params, TimeoutMs: timeout.Milliseconds(),
		IdempotencyKey: p.IdempotencyKey})})
}

// forwardParams is the params a node gets, as JSON text (nil when the call
// had none). system.run gets a runId when it has none: the node host names
// its exec events with it.
func forwardParams(command string, raw json.RawMessage) (*string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if command == "system.run" && raw[0] == '{' {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, fmt.Errorf("system.run params: %v", err)
		}
		if _, ok := obj["runId"]; !ok {
			obj["runId"], _ = json.Marshal(uuid.NewString())
			b, err := json.Marshal(obj)
			if err != nil {
				return nil, err
			}
			raw = b
		}
	}
	s := string(raw)
	return &s, nil
}

// result answers node.invoke.result: the node's answer completes its
// invoke. One that matches no invoke of this socket (late, unknown, another
// node's) is acknowledged as ignored and changes nothing.
func (n *nodesActor) result(m *methods.NodeInvokeResult) {
	p := m.Params
	if m.Caller == nil || p.NodeID != m.Caller.DeviceID {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "nodeId mismatch", nil))
		return
	}
	var text *string
	if len(p.PayloadJSON) > 0 && string(p.PayloadJSON) != "null" {
		var s string
		if err := json.Unmarshal(p.PayloadJSON, &s); err != nil {
			m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "invalid node.invoke.result params: at /payloadJSON: "+err.Error(), nil))
			return
		}
		text = &s
	}
	in := n.inv.byID[p.ID]
	if in == nil || in.nodeID != p.NodeID || in.connID != m.Caller.ConnID {
		n.d.Log.Debug("late invoke result ignored", "id", p.ID, "nodeId", p.NodeID)
		m.Reply(protocol.NodeAck{OK: true, Ignored: true})
		return
	}
	size := len(p.Payload)
	if text != nil {
		size += len(*text)
	}
	if limit := n.d.MaxResultBytes; limit > 0 && size > limit {
		msg := fmt.Sprintf("node result of %d bytes exceeds the gateway's limit of %d", size, limit)
		n.finish(in, protocol.NodeInvokeResult{}, nodeFailure(map[string]any{"code": "PAYLOAD_TOO_LARGE", "message": msg}, true), false)
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "node.invoke.result too large: "+msg, nil))
		return
	}
	m.Reply(protocol.NodeAck{OK: true})
	if !p.OK {
		e := map[string]any{}
		if p.Error != nil {
			if p.Error.Code != "" {
				e["code"] = p.Error.Code
			}
			if p.Error.Message != "" {
				e["message"] = p.Error.Message
			}
		}
		n.finish(in, protocol.NodeInvokeResult{}, nodeFailure(e, true), true)
		return
	}
	res := protocol.NodeInvokeResult{OK: true, NodeID: in.nodeID, Command: in.command, Payload: p.Payload, PayloadJSON: text}
	if text != nil {
		res.Payload = parsedPayload(*text)
	}
	n.finish(in, res, nil, true)
}

// parsedPayload is a node's payloadJSON as a value: the text itself when it
// is JSON, else wrapped as {"payloadJSON": text} (the reference's rule).
func parsedPayload(text string) json.RawMessage {
	t := strings.TrimSpace(text)
	if t == "" {
		return nil
	}
	if json.Valid([]byte(t)) {
		return json.RawMessage(t)
	}
	b, _ := json.Marshal(map[string]string{"payloadJSON": text})
	return b
}

// progress answers node.invoke.progress: accepted while the invoke runs
// (the gateway has no streaming caller to pass it to yet).
func (n *nodesActor) progress(m *methods.NodeInvokeProgress) {
	p := m.Params
	if m.Caller == nil || p.NodeID != m.Caller.DeviceID {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "nodeId mismatch", nil))
		return
	}
	if len(p.Chunk) > maxProgressChunkBytes || !utf8.ValidString(p.Chunk) {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "progress chunk too large", nil))
		return
	}
	in := n.inv.byID[p.InvokeID]
	m.Reply(protocol.NodeAck{OK: true, Ignored: in == nil || in.nodeID != p.NodeID || in.connID != m.Caller.ConnID})
}

// timedOut fails an invoke whose deadline passed and tells the node to
// stop.
func (n *nodesActor) timedOut(ctx actor.Context, id string) {
	in := n.inv.byID[id]
	if in == nil {
		return
	}
	n.finish(in, protocol.NodeInvokeResult{},
		nodeFailure(map[string]any{"code": "TIMEOUT", "message": "node invoke timed out"}, true), false)
	if s := n.sessions[in.connID]; s != nil {
		ctx.Send(s.pid, &core.SendFrame{Frame: methods.NodeInvokeCancel.Encode(protocol.NodeInvokeCancel{
			InvokeID: in.id, NodeID: in.nodeID})})
	}
}

// failConn fails the invokes sent to a socket that closed.
func (n *nodesActor) failConn(connID string) {
	for _, in := range n.inv.byID {
		if in.connID == connID {
			n.disconnectedInvoke(in)
		}
	}
}

// failNode fails every invoke of a node (its pairing went).
func (n *nodesActor) failNode(nodeID string) {
	for _, in := range n.inv.byID {
		if in.nodeID == nodeID {
			n.disconnectedInvoke(in)
		}
	}
}

func (n *nodesActor) disconnectedInvoke(in *invocation) {
	msg := "node disconnected (" + in.command + ")"
	e := nodeFailure(map[string]any{"code": "DISCONNECTED", "message": msg}, true)
	e.Details.(map[string]any)["code"] = "NOT_CONNECTED"
	n.finish(in, protocol.NodeInvokeResult{}, e, false)
}

// finish completes an invoke for all its callers; the node's own answers
// (cache true) are kept for the idempotency key.
func (n *nodesActor) finish(in *invocation, res protocol.NodeInvokeResult, e *protocol.ErrorShape, cache bool) {
	in.timer.Stop()
	delete(n.inv.byID, in.id)
	if n.inv.byKey[in.key] == in {
		delete(n.inv.byKey, in.key)
	}
	if cache && len(res.Payload) <= maxCachedResult && (res.PayloadJSON == nil || len(*res.PayloadJSON) <= maxCachedResult) {
		n.inv.remember(in.key, &cachedResult{res: res, err: e, expires: time.Now().Add(ResultCacheTTL)})
	}
	for _, w := range in.waiters {
		answer(w, res, e)
	}
}

func answer(m *methods.NodeInvoke, res protocol.NodeInvokeResult, e *protocol.ErrorShape) {
	if e != nil {
		m.Fail(e)
		return
	}
	m.Reply(res)
}

// nodeFailure is the operator's error for an invoke the node failed or the
// gateway gave up on: UNAVAILABLE "<code>: <message>" with the node's error
// in details (the reference's shape).
func nodeFailure(nodeErr map[string]any, dispatched bool) *protocol.ErrorShape {
	code, _ := nodeErr["code"].(string)
	msg, _ := nodeErr["message"].(string)
	if msg == "" {
		msg = "node invoke failed"
	}
	if code != "" {
		msg = code + ": " + msg
	}
	var ne any = nodeErr
	if len(nodeErr) == 0 {
		ne = nil
	}
	return protocol.NewError(protocol.CodeUnavailable, msg, map[string]any{"nodeError": ne, "nodeCommandDispatched": dispatched})
}

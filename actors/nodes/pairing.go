package nodes

import (
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"

	"openclaw/actors/core"
	"openclaw/actors/methods"
	"openclaw/transport/protocol"
)

// A node's command surface is approved apart from its device: a device
// paired automatically on loopback still waits for an operator to approve
// the commands it declares (node.pair.approve), as the reference does.

// pendingFor is a node's open surface request.
func (n *nodesActor) pendingFor(nodeID string) *pendingRequest {
	for _, p := range n.pending {
		if p.NodeID == nodeID {
			return p
		}
	}
	return nil
}

// request opens (or keeps) the surface request of a session whose declared
// surface is not approved, and tells the operators about a new one.
func (n *nodesActor) request(ctx actor.Context, s *session, now int64) (p *pendingRequest, created bool) {
	if old := n.pendingFor(s.nodeID); old != nil {
		if slices.Equal(old.Commands, s.declared.Commands) && slices.Equal(old.Caps, s.declared.Caps) &&
			maps.Equal(old.Permissions, s.declared.Permissions) {
			old.expires = time.Time{}
			return old, false
		}
		delete(n.pending, old.RequestID)
	}
	c := s.client
	p = &pendingRequest{NodePairRequest: protocol.NodePairRequest{
		RequestID: uuid.NewString(), NodeID: s.nodeID, ClientID: c.ID, ClientMode: c.Mode, DisplayName: c.DisplayName,
		Platform: c.Platform, Version: c.Version, DeviceFamily: c.DeviceFamily, ModelIdentifier: c.ModelIdentifier,
		RemoteIP: s.remoteIP, Caps: slices.Clone(s.declared.Caps), Commands: slices.Clone(s.declared.Commands),
		RequiredApproveScopes: requiredApproveScopes(s.declared.Commands), Permissions: maps.Clone(s.declared.Permissions),
		Silent: s.local, TS: now}}
	n.pending[p.RequestID] = p
	ctx.Send(n.d.Hub, &core.Publish{B: methods.NodePairRequested.Broadcast(p.NodePairRequest, nil)})
	n.d.Log.Info("node commands await approval", "nodeId", s.nodeID, "requestId", p.RequestID, "commands", len(p.Commands))
	return p, true
}

func (n *nodesActor) pairList(m *methods.NodePairList) {
	n.sweep(time.Now())
	out := protocol.NodePairList{Pending: []protocol.NodePairRequest{}, Paired: []protocol.PairedNode{}}
	for _, p := range n.pending {
		out.Pending = append(out.Pending, p.NodePairRequest)
	}
	sort.Slice(out.Pending, func(i, j int) bool { return out.Pending[i].TS > out.Pending[j].TS })
	for _, r := range n.records {
		if r.Approved {
			out.Paired = append(out.Paired, r.paired())
		}
	}
	sort.Slice(out.Paired, func(i, j int) bool { return out.Paired[i].ApprovedAtMs > out.Paired[j].ApprovedAtMs })
	m.Reply(out)
}

// approve answers node.pair.approve: the request's surface becomes the
// node's approved one. The caller needs the scopes the request names
// (operator.admin for a surface that executes commands).
func (n *nodesActor) approve(ctx actor.Context, m *methods.NodePairApprove) {
	p := n.pending[m.Params.RequestID]
	rec := (*record)(nil)
	if p != nil {
		rec = n.records[p.NodeID]
	}
	if rec == nil {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "unknown requestId", nil))
		return
	}
	if c := m.Caller; c != nil {
		for _, s := range p.RequiredApproveScopes {
			if !c.Scopes.Has(s) {
				required := []string{core.ScopePairing}
				if s != core.ScopePairing {
					required = append(required, s)
				}
				m.Fail(protocol.NewError(protocol.CodeForbidden, "missing scope: "+s, map[string]any{
					"code": "MISSING_SCOPE", "missingScope": s, "requiredScopes": required}))
				return
			}
		}
	}
	delete(n.pending, p.RequestID)
	now := time.Now().UnixMilli()
	rec.approve(core.NodeSurface{Caps: p.Caps, Commands: p.Commands, Permissions: p.Permissions}, now)
	n.save(rec)
	resolved := protocol.NodePairResolved{RequestID: p.RequestID, NodeID: p.NodeID, Decision: "approved", TS: now}
	if s := n.current[p.NodeID]; s != nil {
		// The node hears it on its own socket.
		ctx.Send(s.pid, &core.SendFrame{Frame: methods.NodePairResolved.Encode(resolved)})
	}
	ctx.Send(n.d.Hub, &core.Publish{B: methods.NodePairResolved.Broadcast(resolved, nil)})
	n.d.Log.Info("node commands approved", "nodeId", p.NodeID, "requestId", p.RequestID, "commands", len(p.Commands))
	m.Reply(protocol.NodePairApproved{RequestID: p.RequestID, Node: rec.paired()})
}

func (n *nodesActor) reject(ctx actor.Context, m *methods.NodePairReject) {
	p := n.pending[m.Params.RequestID]
	if p == nil {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "unknown requestId", nil))
		return
	}
	delete(n.pending, p.RequestID)
	ctx.Send(n.d.Hub, &core.Publish{B: methods.NodePairResolved.Broadcast(protocol.NodePairResolved{
		RequestID: p.RequestID, NodeID: p.NodeID, Decision: "rejected", TS: time.Now().UnixMilli()}, nil)})
	n.d.Log.Info("node commands rejected", "nodeId", p.NodeID, "requestId", p.RequestID)
	m.Reply(protocol.NodePairRejected{RequestID: p.RequestID, NodeID: p.NodeID})
}

// pairRequest answers node.pair.request (the runbook's, for older nodes):
// the calling node asks for its declared surface to be approved.
func (n *nodesActor) pairRequest(ctx actor.Context, m *methods.NodePairRequest) {
	s := n.caller(m.Caller)
	if s == nil {
		m.Fail(unknownNode())
		return
	}
	if rec := n.records[s.nodeID]; rec != nil && rec.covers(s.declared) {
		m.Reply(protocol.NodePairRequested{Status: "approved"})
		return
	}
	p, created := n.request(ctx, s, time.Now().UnixMilli())
	m.Reply(protocol.NodePairRequested{Status: "pending", RequestID: p.RequestID, Created: created})
}

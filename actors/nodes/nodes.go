// Package nodes is the nodes actor (docs/PROTOCOL.md §5.4): the registry of
// nodes (devices paired for the node role) with the command surface an
// operator approved for each, kept in the state database; the node sockets
// connected now with what each declared; the surfaces waiting for approval
// (node.pair.*); and the node.invoke calls waiting for their node, with
// their deadlines and idempotency keys.
//
// It does not own device pairing or tokens (the devices actor does, and
// tells this actor when a node's pairing goes: core.NodeForget), nor the
// sockets (a node's connection actor reports it with core.NodeConnected and
// core.NodeDisconnected, and writes what this actor hands it with
// core.SendFrame).
package nodes

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/core"
	"openclaw/actors/methods"
	"openclaw/actors/store"
	"openclaw/config"
	"openclaw/transport/protocol"
)

// Tunables.
const (
	// DefaultInvokeTimeout bounds a node.invoke that names no timeout (the
	// reference's default).
	DefaultInvokeTimeout = 30 * time.Second
	// MaxInvokeTimeout caps the timeout a caller may ask for, so a deadline
	// always exists.
	MaxInvokeTimeout = 24 * time.Hour
	// ResultCacheTTL is how long a node's answer is kept for a repeated
	// idempotency key; results larger than maxCachedResult are not kept.
	ResultCacheTTL  = 5 * time.Minute
	maxCachedResult = 64 << 10
	// maxCachedResults bounds the cache (the oldest go first).
	maxCachedResults = 10000
	// sweepEvery is how often expired cache entries and stale pairing
	// requests are dropped.
	sweepEvery = time.Minute
	// PendingTTL is how long the surface request of a node that went away
	// waits for an operator (a connected node's request stays).
	PendingTTL = 5 * time.Minute
	// maxProgressChunkBytes bounds one node.invoke.progress chunk.
	maxProgressChunkBytes = 16384
	// loadTimeout bounds reading the registry at start.
	loadTimeout = 30 * time.Second
)

// Deps is what the nodes actor is built with.
type Deps struct {
	Hub    *actor.PID // node.pair.* events
	Store  store.Store
	Config *core.Live[*config.Config] // gateway.nodes.*
	// MaxResultBytes bounds a node's answer to one invoke. The operator's
	// answer carries it twice (payload and payloadJSON), so the gateway
	// uses half its frame limit.
	MaxResultBytes int
	Log            *slog.Logger
	// Cluster, in cluster mode, is told which nodes are connected here
	// (core.Claim) and gets the invokes of nodes that are not
	// (core.Elsewhere). Nil for a single gateway.
	Cluster *actor.PID
}

// session is one connected node socket.
type session struct {
	connID, nodeID string
	pid            *actor.PID
	client         protocol.ClientInfo
	// declared is what the node declared, its commands limited to the
	// platform's pairing allowlist.
	declared    core.NodeSurface
	platform    string // the policy's platform id
	pathEnv     string
	remoteIP    string
	local       bool
	connectedAt int64
	skills      []protocol.NodeSkill
	tools       []protocol.NodePluginTool
}

// pendingRequest is a declared surface waiting for an operator.
type pendingRequest struct {
	protocol.NodePairRequest
	// expires is set once the node is gone; a connected node's request
	// waits for as long as it stays.
	expires time.Time
}

type nodesActor struct {
	d        Deps
	records  map[string]*record         // by node id
	sessions map[string]*session        // by connection id
	current  map[string]*session        // by node id: its newest socket
	pending  map[string]*pendingRequest // by request id
	inv      invocations
	timers   core.Timers
	// own writes the node registry; in cluster mode it also tells the
	// other gateways' changes, which the watch hands in as *peerChange.
	own       *store.Echoes
	stopWatch context.CancelFunc
}

type sweep struct{}

// Props builds the nodes actor.
func Props(d Deps) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &nodesActor{d: d, records: map[string]*record{}, sessions: map[string]*session{},
			current: map[string]*session{}, pending: map[string]*pendingRequest{}, inv: newInvocations()}
	})
}

func (n *nodesActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		n.watch(ctx)
		recs, err := loadRecords(n.d.Store)
		if err != nil {
			n.d.Log.Error("node registry: not all nodes could be read", "err", err)
		}
		if recs != nil {
			n.records = recs
		}
		n.timers.After(ctx, sweepEvery, &sweep{})
	case *actor.Stopping:
		n.timers.Stop()
		n.stopWatch()
		n.inv.stop()
	case *actor.Restarting:
		n.stopWatch() // the next incarnation watches anew
	case *peerChange:
		n.peerChanged(m)
	case *sweep:
		n.sweep(time.Now())
		n.timers.After(ctx, sweepEvery, &sweep{})

	case *core.NodeConnected:
		n.connected(ctx, m)
	case *core.NodeDisconnected:
		n.disconnected(ctx, m)
	case *core.NodeForget:
		n.forget(m.NodeID)
	case *core.CountNodes:
		c := protocol.NodesCount{Connected: len(n.current), Pending: len(n.pending)}
		for _, r := range n.records {
			if r.Approved {
				c.Paired++
			}
		}
		m.Reply(c)

	// Operators.
	case *methods.NodeList:
		n.list(m)
	case *methods.NodeDescribe:
		n.describe(m)
	case *methods.NodeRename:
		n.rename(m)
	case *methods.NodeInvoke:
		n.invoke(ctx, m)
	case *methods.NodePairList:
		n.pairList(m)
	case *methods.NodePairApprove:
		n.approve(ctx, m)
	case *methods.NodePairReject:
		n.reject(ctx, m)

	// The node role.
	case *methods.NodeInvokeResult:
		n.result(m)
	case *methods.NodeInvokeProgress:
		n.progress(m)
	case *methods.NodeEvent:
		n.event(m)
	case *methods.NodeSkillsUpdate:
		if s := n.caller(m.Caller); s == nil {
			m.Fail(unknownNode())
		} else if i := slices.IndexFunc(m.Params.Skills, func(k protocol.NodeSkill) bool { return strings.Contains(k.Name, "--") }); i >= 0 {
			m.Fail(protocol.NewError(protocol.CodeInvalidRequest, fmt.Sprintf(
				"invalid node.skills.update params: at /skills/%d/name: must not contain \"--\"", i), nil))
		} else {
			s.skills = nonNil(m.Params.Skills)
			m.Reply(protocol.NodeSkills{NodeID: s.nodeID, Skills: s.skills})
		}
	case *methods.NodePluginToolsUpdate:
		if s := n.caller(m.Caller); s == nil {
			m.Fail(unknownNode())
		} else {
			s.tools = nonNil(m.Params.Tools)
			m.Reply(protocol.NodePluginTools{NodeID: s.nodeID, Tools: s.tools})
		}
	case *methods.NodeRunnerInventory:
		n.runnerInventory(m)
	case *methods.NodePendingPull:
		if s := n.caller(m.Caller); s == nil {
			m.Fail(unknownNode())
		} else {
			m.Reply(protocol.NodePendingPull{NodeID: s.nodeID, Actions: []protocol.NodePendingAction{}})
		}
	case *methods.NodePendingAck:
		if s := n.caller(m.Caller); s == nil {
			m.Fail(unknownNode())
		} else {
			ids := []string{}
			for _, id := range m.Params.IDs {
				if id = strings.TrimSpace(id); id != "" && !slices.Contains(ids, id) {
					ids = append(ids, id)
				}
			}
			m.Reply(protocol.NodePendingAck{NodeID: s.nodeID, AckedIDs: ids, RemainingCount: 0})
		}
	case *methods.NodePairRequest:
		n.pairRequest(ctx, m)

	case *invokeTimeout:
		n.timedOut(ctx, m.id)
	}
}

// connected registers a node socket: its record is refreshed (or made) and
// its declared surface is checked against the approved one; a surface that
// needs approval becomes a pairing request.
func (n *nodesActor) connected(ctx actor.Context, m *core.NodeConnected) {
	now := time.Now().UnixMilli()
	cfg := n.d.Config.Get()
	platform := platformID(m.Client.Platform, m.Client.DeviceFamily)
	s := &session{connID: m.ConnID, nodeID: m.NodeID, pid: m.PID, client: m.Client, platform: platform,
		pathEnv: m.PathEnv, remoteIP: m.RemoteIP, local: m.Local, connectedAt: now,
		skills: []protocol.NodeSkill{}, tools: []protocol.NodePluginTool{},
		declared: core.NodeSurface{Caps: uniq(m.Declared.Caps),
			Commands:    declaredCommands(m.Declared.Commands, pairingAllowlist(cfg, platform)),
			Permissions: maps.Clone(m.Declared.Permissions)}}
	n.sessions[s.connID] = s
	n.current[s.nodeID] = s
	if n.d.Cluster != nil {
		ctx.Send(n.d.Cluster, &core.Claim{Key: NodeKey(s.nodeID)})
	}

	rec := n.records[s.nodeID]
	if rec == nil {
		rec = &record{NodeID: s.nodeID, CreatedAtMs: now}
		n.records[s.nodeID] = rec
	}
	rec.seen(s, now)
	if !rec.covers(s.declared) {
		if cfg != nil && cfg.Gateway.Nodes.Pairing.AutoApproveCommands {
			rec.approve(s.declared, now)
			n.d.Log.Info("node commands approved (autoApproveCommands)", "nodeId", s.nodeID, "commands", len(s.declared.Commands))
		} else {
			n.request(ctx, s, now)
		}
	}
	n.save(rec)
	n.d.Log.Info("node connected", "nodeId", s.nodeID, "conn", s.connID, "platform", s.client.Platform,
		"approved", rec.Approved && n.pendingFor(s.nodeID) == nil)
}

// disconnected forgets a node socket and fails its pending invokes.
func (n *nodesActor) disconnected(ctx actor.Context, m *core.NodeDisconnected) {
	s := n.sessions[m.ConnID]
	if s == nil {
		return
	}
	delete(n.sessions, m.ConnID)
	if n.current[s.nodeID] == s {
		delete(n.current, s.nodeID)
		if n.d.Cluster != nil {
			ctx.Send(n.d.Cluster, &core.Release{Key: NodeKey(s.nodeID)})
		}
		if rec := n.records[s.nodeID]; rec != nil {
			rec.LastSeenAtMs, rec.LastSeenReason = time.Now().UnixMilli(), "disconnect"
		}
		if p := n.pendingFor(s.nodeID); p != nil {
			p.expires = time.Now().Add(PendingTTL)
		}
	}
	n.failConn(m.ConnID)
}

// forget drops a node whose pairing went: its record, its request, its
// pending invokes. Its sockets are being closed by the hub.
func (n *nodesActor) forget(nodeID string) {
	if _, ok := n.records[nodeID]; ok {
		delete(n.records, nodeID)
		n.own.Delete(nodeID, n.logFailure("removing a node", nodeID))
	}
	n.drop(nodeID)
}

// drop forgets what this gateway holds of a node whose record is gone.
func (n *nodesActor) drop(nodeID string) {
	for id, p := range n.pending {
		if p.NodeID == nodeID {
			delete(n.pending, id)
		}
	}
	n.failNode(nodeID)
	n.d.Log.Info("node forgotten", "nodeId", nodeID)
}

// caller is the session a node-role request came from.
func (n *nodesActor) caller(p *core.Peer) *session {
	if p == nil {
		return nil
	}
	return n.sessions[p.ConnID]
}

// effective is what node.invoke may send a session: the approved commands
// it still declares.
func (n *nodesActor) effective(s *session, rec *record) core.NodeSurface {
	out := core.NodeSurface{Caps: []string{}, Commands: []string{}}
	if rec == nil || !rec.Approved {
		return out
	}
	if s == nil {
		return core.NodeSurface{Caps: slices.Clone(rec.Caps), Commands: slices.Clone(rec.Commands),
			Permissions: maps.Clone(rec.Permissions)}
	}
	for _, c := range rec.Commands {
		if slices.Contains(s.declared.Commands, c) {
			out.Commands = append(out.Commands, c)
		}
	}
	for _, c := range rec.Caps {
		if slices.Contains(s.declared.Caps, c) {
			out.Caps = append(out.Caps, c)
		}
	}
	if rec.Permissions != nil {
		out.Permissions = map[string]bool{}
		for k, v := range rec.Permissions {
			if d, ok := s.declared.Permissions[k]; ok {
				out.Permissions[k] = v && d
			}
		}
	}
	return out
}

// info is one node as node.list shows it; withPending adds the surface
// waiting for approval.
func (n *nodesActor) info(nodeID string, withPending bool) (protocol.NodeInfo, bool) {
	rec, s := n.records[nodeID], n.current[nodeID]
	if rec == nil && s == nil {
		return protocol.NodeInfo{}, false
	}
	eff := n.effective(s, rec)
	out := protocol.NodeInfo{NodeID: nodeID, Caps: eff.Caps, Commands: eff.Commands, Permissions: eff.Permissions,
		NodePluginTools: []protocol.NodePluginTool{}, ApprovalState: "pending-approval", Paired: rec != nil, Connected: s != nil}
	if rec != nil {
		out.DisplayName, out.Platform, out.Version, out.ClientID, out.ClientMode = rec.name(), rec.Platform, rec.Version, rec.ClientID, rec.ClientMode
		out.DeviceFamily, out.ModelIdentifier, out.RemoteIP, out.PathEnv = rec.DeviceFamily, rec.ModelIdentifier, rec.RemoteIP, rec.PathEnv
		out.SessionHost, out.LastConnectedAtMs, out.LastSeenAtMs, out.LastSeenReason = rec.SessionHost, rec.LastConnectedAtMs, rec.LastSeenAtMs, rec.LastSeenReason
		if rec.Approved {
			out.ApprovedAtMs = rec.ApprovedAtMs
		}
	}
	if s != nil {
		if rec == nil {
			out.DisplayName, out.Platform, out.Version = s.client.DisplayName, s.client.Platform, s.client.Version
			out.ClientID, out.ClientMode, out.DeviceFamily = s.client.ID, s.client.Mode, s.client.DeviceFamily
			out.ModelIdentifier, out.RemoteIP, out.PathEnv = s.client.ModelIdentifier, s.remoteIP, s.pathEnv
		}
		out.ConnectedAtMs, out.NodePluginTools = s.connectedAt, s.tools
	}
	p := n.pendingFor(nodeID)
	if rec != nil && rec.Approved && p == nil {
		out.ApprovalState = "approved"
	}
	if p != nil && withPending {
		out.PendingRequestID = p.RequestID
		out.PendingDeclaredCaps, out.PendingDeclaredCommands = p.Caps, p.Commands
		out.PendingDeclaredPermissions = p.Permissions
	}
	return out, true
}

// seesPending reports whether a caller may see pending surfaces (the
// reference shows them to callers that may approve them).
func seesPending(p *core.Peer) bool { return p == nil || p.Scopes.Has(core.ScopePairing) }

func (n *nodesActor) list(m *methods.NodeList) {
	ids := map[string]bool{}
	for id := range n.records {
		ids[id] = true
	}
	for id := range n.current {
		ids[id] = true
	}
	out := protocol.NodeList{TS: time.Now().UnixMilli(), Nodes: []protocol.NodeInfo{}}
	for id := range ids {
		if info, ok := n.info(id, seesPending(m.Caller)); ok {
			out.Nodes = append(out.Nodes, info)
		}
	}
	sort.Slice(out.Nodes, func(i, j int) bool {
		a, b := out.Nodes[i], out.Nodes[j]
		if a.Connected != b.Connected {
			return a.Connected
		}
		if a.DisplayName != b.DisplayName {
			return a.DisplayName < b.DisplayName
		}
		return a.NodeID < b.NodeID
	})
	m.Reply(out)
}

func (n *nodesActor) describe(m *methods.NodeDescribe) {
	info, ok := n.info(strings.TrimSpace(m.Params.NodeID), seesPending(m.Caller))
	if !ok {
		m.Fail(unknownNodeID())
		return
	}
	m.Reply(protocol.NodeDescription{TS: time.Now().UnixMilli(), NodeInfo: info})
}

func (n *nodesActor) rename(m *methods.NodeRename) {
	name := strings.TrimSpace(m.Params.DisplayName)
	if name == "" {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "displayName required", nil))
		return
	}
	rec := n.records[m.Params.NodeID]
	if rec == nil {
		m.Fail(unknownNodeID())
		return
	}
	rec.Rename = name
	n.save(rec)
	m.Reply(protocol.NodeRenamed{NodeID: rec.NodeID, DisplayName: name})
}

// event answers node.event: host stats and presence pings are recorded;
// exec notifications are acknowledged; anything else is accepted and said
// to be unsupported, as the reference does.
func (n *nodesActor) event(m *methods.NodeEvent) {
	s := n.caller(m.Caller)
	if s == nil {
		m.Fail(unknownNode())
		return
	}
	p := m.Params
	payload := json.RawMessage(p.PayloadJSON)
	if p.PayloadJSON == "" {
		payload = p.Payload
	}
	res := protocol.NodeEventResult{OK: true, Event: p.Event}
	handled := func(ok bool, reason string) { res.Handled, res.Reason = &ok, reason }
	rec := n.records[s.nodeID]
	switch p.Event {
	case "node.host.stats":
		var st protocol.NodeHostStats
		if json.Unmarshal(payload, &st) != nil || st.CPUCount < 1 || st.MemoryFreeBytes > st.MemoryTotalBytes ||
			(st.LoadAverage != nil && len(st.LoadAverage) != 3) {
			handled(false, "invalid_payload")
			break
		}
		st.UpdatedAtMs = time.Now().UnixMilli()
		if rec != nil {
			rec.LastHostStats = &st
		}
		handled(true, "updated")
	case "node.presence.alive":
		if rec != nil {
			rec.LastSeenAtMs, rec.LastSeenReason = time.Now().UnixMilli(), "background"
		}
		handled(true, "persisted")
	case "exec.started", "exec.finished", "exec.denied":
		res = protocol.NodeEventResult{OK: true}
	default:
		handled(false, "unsupported_event")
	}
	m.Reply(res)
}

func (n *nodesActor) runnerInventory(m *methods.NodeRunnerInventory) {
	s := n.caller(m.Caller)
	if s == nil {
		m.Fail(unknownNode())
		return
	}
	p := m.Params
	if len(p.ProtocolFeatures) == 1 && p.ProtocolFeatures[0] == "node-worker-supervisor-v6" &&
		(p.WorkerHost == nil || (p.WorkerHost.Enabled && p.WorkerHost.Capacity == nil)) {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "invalid node runner inventory", nil))
		return
	}
	if rec := n.records[s.nodeID]; rec != nil {
		host := p.WorkerHost != nil && p.WorkerHost.Enabled
		if rec.SessionHost != host {
			rec.SessionHost = host
			n.save(rec)
		}
	}
	m.Reply(protocol.NodeRef{NodeID: s.nodeID})
}

// sweep drops expired cache entries and the requests of nodes long gone.
func (n *nodesActor) sweep(now time.Time) {
	n.inv.sweep(now)
	for id, p := range n.pending {
		if !p.expires.IsZero() && now.After(p.expires) {
			delete(n.pending, id)
		}
	}
}

func (n *nodesActor) logFailure(what, id string) func(error) {
	log := n.d.Log
	return func(err error) {
		if err != nil {
			log.Error(what+" failed", "nodeId", id, "err", err)
		}
	}
}

func unknownNodeID() *protocol.ErrorShape {
	return protocol.NewError(protocol.CodeInvalidRequest, "unknown nodeId", nil)
}

// unknownNode answers a node-role request from a socket the actor does not
// know (its pairing was removed while it was connected).
func unknownNode() *protocol.ErrorShape { return unknownNodeID() }

func uniq(in []string) []string {
	out := []string{}
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ctxTimeout is a context for a bounded store read.
func ctxTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), loadTimeout)
}

package nodes

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/core"
	"openclaw/actors/store"
	"openclaw/transport/protocol"
)

// recordsNS is the state-database namespace of the node registry: one row
// per node, keyed by its id (its device id).
const recordsNS = "nodes"

// record is a node the gateway knows: who it said it was when it last
// connected, and the command surface an operator approved.
type record struct {
	NodeID string `json:"nodeId"`
	// DisplayName is what the node calls itself; Rename an operator's
	// override (node.rename).
	DisplayName     string `json:"displayName,omitempty"`
	Rename          string `json:"rename,omitempty"`
	ClientID        string `json:"clientId,omitempty"`
	ClientMode      string `json:"clientMode,omitempty"`
	Platform        string `json:"platform,omitempty"`
	Version         string `json:"version,omitempty"`
	DeviceFamily    string `json:"deviceFamily,omitempty"`
	ModelIdentifier string `json:"modelIdentifier,omitempty"`
	RemoteIP        string `json:"remoteIp,omitempty"`
	PathEnv         string `json:"pathEnv,omitempty"`

	// Approved is set once an operator approved a surface; Caps, Commands
	// and Permissions are that surface.
	Approved     bool            `json:"approved"`
	Caps         []string        `json:"caps"`
	Commands     []string        `json:"commands"`
	Permissions  map[string]bool `json:"permissions,omitempty"`
	ApprovedAtMs int64           `json:"approvedAtMs,omitempty"`

	CreatedAtMs       int64                   `json:"createdAtMs"`
	LastConnectedAtMs int64                   `json:"lastConnectedAtMs,omitempty"`
	LastSeenAtMs      int64                   `json:"lastSeenAtMs,omitempty"`
	LastSeenReason    string                  `json:"lastSeenReason,omitempty"`
	LastHostStats     *protocol.NodeHostStats `json:"lastHostStats,omitempty"`
	SessionHost       bool                    `json:"sessionHost,omitempty"`
}

// name is the node's display name, an operator's rename first.
func (r *record) name() string {
	if r.Rename != "" {
		return r.Rename
	}
	return r.DisplayName
}

// seen records what a connecting session says about the node.
func (r *record) seen(s *session, now int64) {
	c := s.client
	r.DisplayName, r.ClientID, r.ClientMode, r.Platform, r.Version = c.DisplayName, c.ID, c.Mode, c.Platform, c.Version
	r.DeviceFamily, r.ModelIdentifier, r.RemoteIP, r.PathEnv = c.DeviceFamily, c.ModelIdentifier, s.remoteIP, s.pathEnv
	r.LastConnectedAtMs, r.LastSeenAtMs, r.LastSeenReason = now, now, "connect"
}

// covers reports whether the approved surface includes all of declared.
func (r *record) covers(declared core.NodeSurface) bool {
	if !r.Approved {
		return false
	}
	for _, c := range declared.Commands {
		if !slices.Contains(r.Commands, c) {
			return false
		}
	}
	for _, c := range declared.Caps {
		if !slices.Contains(r.Caps, c) {
			return false
		}
	}
	for k, v := range declared.Permissions {
		if v && !r.Permissions[k] {
			return false
		}
	}
	return true
}

// approve makes surface the approved one.
func (r *record) approve(surface core.NodeSurface, now int64) {
	r.Approved = true
	r.Caps, r.Commands = slices.Clone(surface.Caps), slices.Clone(surface.Commands)
	r.Permissions = maps.Clone(surface.Permissions)
	r.ApprovedAtMs = now
}

// paired is the record as node.pair.* show an approved node.
func (r *record) paired() protocol.PairedNode {
	return protocol.PairedNode{NodeID: r.NodeID, ClientID: r.ClientID, ClientMode: r.ClientMode, DisplayName: r.name(),
		Platform: r.Platform, Version: r.Version, DeviceFamily: r.DeviceFamily, ModelIdentifier: r.ModelIdentifier,
		RemoteIP: r.RemoteIP, Caps: nonNil(slices.Clone(r.Caps)), Commands: nonNil(slices.Clone(r.Commands)),
		Permissions: maps.Clone(r.Permissions), CreatedAtMs: r.CreatedAtMs, ApprovedAtMs: r.ApprovedAtMs,
		LastConnectedAtMs: r.LastConnectedAtMs, LastHostStats: r.LastHostStats, LastSeenAtMs: r.LastSeenAtMs,
		LastSeenReason: r.LastSeenReason}
}

// save writes the record (a snapshot taken now), in order with the actor's
// other writes, without waiting.
func (n *nodesActor) save(r *record) {
	b, err := json.Marshal(r)
	if err != nil {
		n.d.Log.Error("encoding a node failed", "nodeId", r.NodeID, "err", err)
		return
	}
	n.own.Put(r.NodeID, b, n.logFailure("saving a node", r.NodeID))
}

// peerChange is another gateway's change of one node's record (value nil:
// removed), from the store's watch in cluster mode.
type peerChange struct {
	id    string
	value []byte
}

// watch follows the other gateways' changes of the node registry when the
// store is shared (cluster mode): a surface approved, a rename, a node
// removed on any gateway holds here within the store's delivery delay.
// Started before the registry is read, so a change made meanwhile is
// applied after it, not lost.
func (n *nodesActor) watch(ctx actor.Context) {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	var err error
	n.own, n.stopWatch, err = store.Follow(n.d.Store, recordsNS, func(id string, value []byte) {
		root.Send(self, &peerChange{id: id, value: value})
	})
	if err != nil {
		n.d.Log.Error("node registry: not watching the other gateways' changes", "err", err)
	}
}

// peerChanged applies another gateway's change of a node's record.
func (n *nodesActor) peerChanged(m *peerChange) {
	if m.value == nil {
		if _, ok := n.records[m.id]; ok {
			delete(n.records, m.id)
			n.drop(m.id)
		}
		return
	}
	var r record
	if err := json.Unmarshal(m.value, &r); err != nil {
		n.d.Log.Error("node registry: unreadable record from another gateway", "nodeId", m.id, "err", err)
		return
	}
	if s := n.current[m.id]; s != nil {
		// Connected here: this gateway's view of the socket stays.
		if old := n.records[m.id]; old != nil {
			r.LastConnectedAtMs, r.LastSeenAtMs, r.LastSeenReason = old.LastConnectedAtMs, old.LastSeenAtMs, old.LastSeenReason
		}
		// A request here that the new surface answers was approved
		// elsewhere.
		if p := n.pendingFor(m.id); p != nil && r.covers(core.NodeSurface{Caps: p.Caps, Commands: p.Commands, Permissions: p.Permissions}) {
			delete(n.pending, p.RequestID)
		}
	}
	n.records[m.id] = &r
}

// loadRecords reads the node registry.
func loadRecords(st store.Store) (map[string]*record, error) {
	ctx, cancel := ctxTimeout()
	defer cancel()
	rows, err := st.Scan(ctx, recordsNS)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*record, len(rows))
	var bad error
	for id, raw := range rows {
		var r record
		if err := json.Unmarshal(raw, &r); err != nil {
			bad = fmt.Errorf("node %s: %v (its commands must be approved again)", id, err)
			continue
		}
		out[id] = &r
	}
	return out, bad
}

package protocol

import "encoding/json"

// Nodes: devices connected with role "node" that serve commands
// (docs/PROTOCOL.md §5.4). The shapes are the reference gateway's, recorded
// with its own node host and CLI.

// NodeInfo is one node as node.list and node.describe show it: its identity,
// its approved command surface, and whether it is connected. The pending*
// fields are shown to callers with operator.pairing while the node's
// declared surface awaits approval.
type NodeInfo struct {
	NodeID          string           `json:"nodeId"`
	DisplayName     string           `json:"displayName,omitempty"`
	Platform        string           `json:"platform,omitempty"`
	Version         string           `json:"version,omitempty"`
	ClientID        string           `json:"clientId,omitempty"`
	ClientMode      string           `json:"clientMode,omitempty"`
	DeviceFamily    string           `json:"deviceFamily,omitempty"`
	ModelIdentifier string           `json:"modelIdentifier,omitempty"`
	RemoteIP        string           `json:"remoteIp,omitempty"`
	Caps            []string         `json:"caps"`
	Commands        []string         `json:"commands"`
	Permissions     map[string]bool  `json:"permissions,omitempty"`
	SessionHost     bool             `json:"sessionHost"`
	NodePluginTools []NodePluginTool `json:"nodePluginTools"`
	PathEnv         string           `json:"pathEnv,omitempty"`
	// ApprovalState is "approved" or "pending-approval".
	ApprovalState              string          `json:"approvalState"`
	PendingRequestID           string          `json:"pendingRequestId,omitempty"`
	PendingDeclaredCaps        []string        `json:"pendingDeclaredCaps,omitempty"`
	PendingDeclaredCommands    []string        `json:"pendingDeclaredCommands,omitempty"`
	PendingDeclaredPermissions map[string]bool `json:"pendingDeclaredPermissions,omitempty"`
	ConnectedAtMs              int64           `json:"connectedAtMs,omitempty"`
	LastConnectedAtMs          int64           `json:"lastConnectedAtMs,omitempty"`
	LastSeenAtMs               int64           `json:"lastSeenAtMs,omitempty"`
	LastSeenReason             string          `json:"lastSeenReason,omitempty"`
	ApprovedAtMs               int64           `json:"approvedAtMs,omitempty"`
	Paired                     bool            `json:"paired"`
	Connected                  bool            `json:"connected"`
}

// NodeList is node.list's result.
type NodeList struct {
	TS    int64      `json:"ts"`
	Nodes []NodeInfo `json:"nodes"`
}

// NodeDescription is node.describe's result: the node with a timestamp.
type NodeDescription struct {
	TS int64 `json:"ts"`
	NodeInfo
}

// NodeIDParams are the params of node.describe and node.pair.remove.
type NodeIDParams struct {
	NodeID string `json:"nodeId" minLength:"1"`
}

// NodeRenameParams are node.rename's params.
type NodeRenameParams struct {
	NodeID      string `json:"nodeId" minLength:"1"`
	DisplayName string `json:"displayName" minLength:"1" maxLength:"256"`
}

// NodeRenamed is node.rename's result.
type NodeRenamed struct {
	NodeID      string `json:"nodeId"`
	DisplayName string `json:"displayName"`
}

// NodeInvokeParams are node.invoke's params.
type NodeInvokeParams struct {
	NodeID  string          `json:"nodeId" minLength:"1"`
	Command string          `json:"command" minLength:"1"`
	Params  json.RawMessage `json:"params,omitempty"`
	// TimeoutMs bounds the call (0 or absent: 30 s).
	TimeoutMs      int64  `json:"timeoutMs,omitempty" minimum:"0"`
	IdempotencyKey string `json:"idempotencyKey" minLength:"1" maxLength:"256"`
	SessionKey     string `json:"sessionKey,omitempty" minLength:"1"`
	// Where the turn that asked came from (accepted for the reference's
	// clients; not used).
	TurnSourceChannel   string          `json:"turnSourceChannel,omitempty"`
	TurnSourceTo        string          `json:"turnSourceTo,omitempty"`
	TurnSourceAccountID string          `json:"turnSourceAccountId,omitempty"`
	TurnSourceThreadID  json.RawMessage `json:"turnSourceThreadId,omitempty" type:"string|number"`
}

// NodeInvokeResult is node.invoke's result: what the node answered, as a
// value and as the JSON text it sent (null when it sent a value).
type NodeInvokeResult struct {
	OK          bool            `json:"ok"`
	NodeID      string          `json:"nodeId"`
	Command     string          `json:"command"`
	Payload     json.RawMessage `json:"payload,omitempty"`
	PayloadJSON *string         `json:"payloadJSON"`
}

// NodeInvokeRequest is the node.invoke.request event's payload, sent to the
// target node alone (without seq).
type NodeInvokeRequest struct {
	ID             string  `json:"id"`
	NodeID         string  `json:"nodeId"`
	Command        string  `json:"command"`
	ParamsJSON     *string `json:"paramsJSON"`
	TimeoutMs      int64   `json:"timeoutMs"`
	IdempotencyKey string  `json:"idempotencyKey,omitempty"`
}

// NodeInvokeCancel is the node.invoke.cancel event's payload: the gateway
// stopped waiting for an invoke (its deadline passed).
type NodeInvokeCancel struct {
	InvokeID string `json:"invokeId"`
	NodeID   string `json:"nodeId"`
}

// NodeInvokeResultParams are node.invoke.result's params: a node's answer
// to one node.invoke.request.
type NodeInvokeResultParams struct {
	ID      string          `json:"id" minLength:"1"`
	NodeID  string          `json:"nodeId" minLength:"1"`
	OK      bool            `json:"ok"`
	Payload json.RawMessage `json:"payload,omitempty"`
	// PayloadJSON is the payload as JSON text; null is the same as absent.
	PayloadJSON json.RawMessage  `json:"payloadJSON,omitempty" type:"string|null"`
	Error       *NodeInvokeError `json:"error,omitempty"`
}

// ExtendSchema lets error be null (the reference's node host may send it).
func (NodeInvokeResultParams) ExtendSchema(s map[string]any) {
	props := s["properties"].(map[string]any)
	props["error"] = map[string]any{"anyOf": []any{props["error"], map[string]any{"type": "null"}}}
}

// NodeInvokeError is a node's reason for a failed invoke.
type NodeInvokeError struct {
	Code    string `json:"code,omitempty" minLength:"1"`
	Message string `json:"message,omitempty" minLength:"1"`
}

// NodeInvokeProgressParams are node.invoke.progress's params: a chunk of
// output while an invoke runs.
type NodeInvokeProgressParams struct {
	InvokeID string `json:"invokeId" minLength:"1"`
	NodeID   string `json:"nodeId" minLength:"1"`
	Seq      int64  `json:"seq" minimum:"0"`
	Chunk    string `json:"chunk" maxLength:"16384"`
}

// NodeAck answers node.invoke.result and node.invoke.progress; Ignored is
// set when no pending invoke matched (late, unknown or someone else's).
type NodeAck struct {
	OK      bool `json:"ok"`
	Ignored bool `json:"ignored,omitempty"`
}

// NodeEventParams are node.event's params: something a node reports.
type NodeEventParams struct {
	Event       string          `json:"event" minLength:"1"`
	Payload     json.RawMessage `json:"payload,omitempty"`
	PayloadJSON string          `json:"payloadJSON,omitempty"`
}

// NodeEventResult is node.event's result.
type NodeEventResult struct {
	OK      bool   `json:"ok"`
	Event   string `json:"event,omitempty"`
	Handled *bool  `json:"handled,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// NodeHostStats is what a node host reports every minute (node.event
// node.host.stats).
type NodeHostStats struct {
	CPUCount           int       `json:"cpuCount"`
	LoadAverage        []float64 `json:"loadAverage,omitempty"`
	MemoryTotalBytes   int64     `json:"memoryTotalBytes"`
	MemoryFreeBytes    int64     `json:"memoryFreeBytes"`
	DiskTotalBytes     *int64    `json:"diskTotalBytes,omitempty"`
	DiskAvailableBytes *int64    `json:"diskAvailableBytes,omitempty"`
	UpdatedAtMs        int64     `json:"updatedAtMs"`
}

// NodeSkill is a skill a node publishes to the agent. Its name may not
// contain "--" either (checked by the nodes actor: the schema's regular
// expressions have no lookahead).
type NodeSkill struct {
	Name        string `json:"name" minLength:"1" maxLength:"64" pattern:"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"`
	Description string `json:"description" minLength:"1" maxLength:"1024"`
	Content     string `json:"content" minLength:"1" maxLength:"65536"`
}

// NodeSkillsUpdateParams are node.skills.update's params: the node's whole
// skill catalog.
type NodeSkillsUpdateParams struct {
	Skills []NodeSkill `json:"skills" maxItems:"64"`
}

// NodeSkills is node.skills.update's result.
type NodeSkills struct {
	NodeID string      `json:"nodeId"`
	Skills []NodeSkill `json:"skills"`
}

// NodePluginTool is a tool a node publishes to the agent.
type NodePluginTool struct {
	PluginID    string         `json:"pluginId" minLength:"1"`
	Name        string         `json:"name" minLength:"1" maxLength:"64" pattern:"^[A-Za-z][A-Za-z0-9_-]{0,63}$"`
	Description string         `json:"description" minLength:"1"`
	Parameters  map[string]any `json:"parameters,omitempty"`
	Command     string         `json:"command,omitempty" minLength:"1"`
	MCP         *NodePluginMCP `json:"mcp,omitempty"`
}

// NodePluginMCP names the MCP server and tool behind a node plugin tool.
type NodePluginMCP struct {
	Server string `json:"server" minLength:"1"`
	Tool   string `json:"tool" minLength:"1"`
}

// NodePluginToolsUpdateParams are node.pluginTools.update's params: the
// node's whole tool catalog.
type NodePluginToolsUpdateParams struct {
	Tools []NodePluginTool `json:"tools" maxItems:"256"`
}

// NodePluginTools is node.pluginTools.update's result.
type NodePluginTools struct {
	NodeID string           `json:"nodeId"`
	Tools  []NodePluginTool `json:"tools"`
}

// NodeRunnerInventoryParams are node.runnerInventory.update's params: what
// the node host can run (the reference's worker-supervisor declaration).
type NodeRunnerInventoryParams struct {
	ProtocolFeatures []string        `json:"protocolFeatures" maxItems:"1"`
	WorkerHost       *NodeWorkerHost `json:"workerHost,omitempty"`
	WorkerRuns       json.RawMessage `json:"workerRuns,omitempty"`
}

// NodeWorkerHost says whether a node host runs agent sessions, and how many.
type NodeWorkerHost struct {
	Enabled            bool                `json:"enabled"`
	Capacity           *NodeWorkerCapacity `json:"capacity,omitempty"`
	BundlePrewarm      int                 `json:"bundlePrewarm,omitempty" minimum:"1" maximum:"1"`
	BundleRetention    int                 `json:"bundleRetention,omitempty" minimum:"1" maximum:"1"`
	BundleStatus       int                 `json:"bundleStatus,omitempty" minimum:"1" maximum:"1"`
	PortalStream       int                 `json:"portalStream,omitempty" minimum:"1" maximum:"1"`
	EnvironmentSession int                 `json:"environmentSession,omitempty" minimum:"1" maximum:"1"`
	PreparedWorkspace  int                 `json:"preparedWorkspace,omitempty" minimum:"1" maximum:"1"`
	CapturedExecPolicy bool                `json:"capturedExecPolicy,omitempty"`
}

// NodeWorkerCapacity is a worker host's session capacity.
type NodeWorkerCapacity struct {
	Total     int `json:"total" minimum:"1" maximum:"1024"`
	Available int `json:"available" minimum:"0" maximum:"1024"`
}

// NodeRef is a result that names only the node (node.runnerInventory.update,
// node.pair.remove).
type NodeRef struct {
	NodeID string `json:"nodeId"`
}

// NodePendingPull is node.pending.pull's result: actions queued for the
// node while it was away (the gateway queues none today).
type NodePendingPull struct {
	NodeID  string              `json:"nodeId"`
	Actions []NodePendingAction `json:"actions"`
}

// NodePendingAction is one queued action.
type NodePendingAction struct {
	ID           string  `json:"id"`
	Command      string  `json:"command"`
	ParamsJSON   *string `json:"paramsJSON"`
	EnqueuedAtMs int64   `json:"enqueuedAtMs"`
}

// NodePendingAckParams are node.pending.ack's params.
type NodePendingAckParams struct {
	IDs []string `json:"ids" minItems:"1" maxItems:"1024"`
}

// NodePendingAck is node.pending.ack's result.
type NodePendingAck struct {
	NodeID         string   `json:"nodeId"`
	AckedIDs       []string `json:"ackedIds"`
	RemainingCount int      `json:"remainingCount"`
}

// NodePairRequest is a node's declared command surface waiting for an
// operator (node.pair.list's pending entries and the node.pair.requested
// event's payload).
type NodePairRequest struct {
	RequestID       string   `json:"requestId"`
	NodeID          string   `json:"nodeId"`
	ClientID        string   `json:"clientId,omitempty"`
	ClientMode      string   `json:"clientMode,omitempty"`
	DisplayName     string   `json:"displayName,omitempty"`
	Platform        string   `json:"platform,omitempty"`
	Version         string   `json:"version,omitempty"`
	DeviceFamily    string   `json:"deviceFamily,omitempty"`
	ModelIdentifier string   `json:"modelIdentifier,omitempty"`
	RemoteIP        string   `json:"remoteIp,omitempty"`
	Caps            []string `json:"caps"`
	Commands        []string `json:"commands"`
	// RequiredApproveScopes are what an operator needs to approve it
	// (operator.admin when it includes command execution).
	RequiredApproveScopes []string        `json:"requiredApproveScopes"`
	Permissions           map[string]bool `json:"permissions,omitempty"`
	// Silent is set for a node on this host (loopback).
	Silent bool  `json:"silent,omitempty"`
	TS     int64 `json:"ts"`
}

// PairedNode is a node whose command surface an operator approved.
type PairedNode struct {
	NodeID            string          `json:"nodeId"`
	ClientID          string          `json:"clientId,omitempty"`
	ClientMode        string          `json:"clientMode,omitempty"`
	DisplayName       string          `json:"displayName,omitempty"`
	Platform          string          `json:"platform,omitempty"`
	Version           string          `json:"version,omitempty"`
	DeviceFamily      string          `json:"deviceFamily,omitempty"`
	ModelIdentifier   string          `json:"modelIdentifier,omitempty"`
	RemoteIP          string          `json:"remoteIp,omitempty"`
	Caps              []string        `json:"caps"`
	Commands          []string        `json:"commands"`
	Permissions       map[string]bool `json:"permissions,omitempty"`
	CreatedAtMs       int64           `json:"createdAtMs"`
	ApprovedAtMs      int64           `json:"approvedAtMs"`
	LastConnectedAtMs int64           `json:"lastConnectedAtMs,omitempty"`
	LastHostStats     *NodeHostStats  `json:"lastHostStats,omitempty"`
	LastSeenAtMs      int64           `json:"lastSeenAtMs,omitempty"`
	LastSeenReason    string          `json:"lastSeenReason,omitempty"`
}

// NodePairList is node.pair.list's result.
type NodePairList struct {
	Pending []NodePairRequest `json:"pending"`
	Paired  []PairedNode      `json:"paired"`
}

// RequestIDParams are the params of the *.pair.approve and *.pair.reject
// methods.
type RequestIDParams struct {
	RequestID string `json:"requestId" minLength:"1"`
}

// NodePairApproved is node.pair.approve's result.
type NodePairApproved struct {
	RequestID string     `json:"requestId"`
	Node      PairedNode `json:"node"`
}

// NodePairRejected is node.pair.reject's result.
type NodePairRejected struct {
	RequestID string `json:"requestId"`
	NodeID    string `json:"nodeId"`
}

// NodePairResolved is the node.pair.resolved event's payload.
type NodePairResolved struct {
	RequestID string `json:"requestId"`
	NodeID    string `json:"nodeId"`
	// Decision is approved, rejected or removed.
	Decision string `json:"decision"`
	TS       int64  `json:"ts"`
}

// NodePairRequestParams are node.pair.request's params (the runbook's, for
// older node clients: a connected node asks for its declared surface to be
// approved again).
type NodePairRequestParams struct {
	Silent bool `json:"silent,omitempty"`
}

// NodePairRequested is node.pair.request's result.
type NodePairRequested struct {
	// Status is "pending" (RequestID waits for an operator) or "approved"
	// (nothing to approve).
	Status    string `json:"status"`
	RequestID string `json:"requestId,omitempty"`
	Created   bool   `json:"created"`
}

// NodePairVerifyParams are node.pair.verify's params (the runbook's): does
// this token belong to this paired node?
type NodePairVerifyParams struct {
	NodeID string `json:"nodeId" minLength:"1"`
	Token  string `json:"token" minLength:"1"`
}

// NodePairVerified is node.pair.verify's result.
type NodePairVerified struct {
	OK     bool   `json:"ok"`
	NodeID string `json:"nodeId"`
	Paired bool   `json:"paired"`
}

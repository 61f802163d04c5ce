package protocol

import "encoding/json"

// System methods and events: health, status, presence, system-event,
// logs.tail, tick and shutdown.

// Empty is the params of a method that takes none, and the result of one
// that says nothing.
type Empty struct{}

// ExecApprovalListParams, PluginApprovalListParams and
// OpenclawApprovalListParams are the (empty) params of the three approval
// lists: distinct types, so their owner tells the methods apart.
type (
	ExecApprovalListParams     struct{}
	PluginApprovalListParams   struct{}
	OpenclawApprovalListParams struct{}
)

// OKResult is {"ok":true}.
type OKResult struct {
	OK bool `json:"ok"`
}

// HealthParams are health's params.
type HealthParams struct {
	// Probe skips the cached summary.
	Probe bool `json:"probe,omitempty"`
}

// Health is the health summary: the health method's result, the health
// event's payload and `openclaw health --json`.
type Health struct {
	OK           bool                     `json:"ok"`
	TS           int64                    `json:"ts"`
	DurationMs   int64                    `json:"durationMs"`
	ConfigReload ConfigReload             `json:"configReload"`
	Channels     map[string]ChannelHealth `json:"channels"`
	ChannelOrder []string                 `json:"channelOrder"`
	// ChannelLabels maps a channel id to its display name.
	ChannelLabels map[string]string `json:"channelLabels"`
	// LinkChannel is the first linked channel (the runbook's readiness
	// check), absent when none is linked.
	LinkChannel    *LinkChannel  `json:"linkChannel,omitempty"`
	DefaultAgentID string        `json:"defaultAgentId"`
	Agents         []AgentHealth `json:"agents"`
	Sessions       SessionsCount `json:"sessions"`
	Nodes          NodesCount    `json:"nodes"`
	// Cluster is set in cluster mode only (an openclaw-go extension).
	Cluster *ClusterStatus `json:"cluster,omitempty"`
}

// ClusterStatus is the cluster as one gateway sees it (health and status
// in cluster mode).
type ClusterStatus struct {
	Name string `json:"name"` // gateway.cluster.name
	Node string `json:"node"` // this gateway's name
	// Members are the gateways heard from within the liveness bound,
	// this one included, by name.
	Members []ClusterMember `json:"members"`
	NATS    ClusterNATS     `json:"nats"`
	// Presence is the presence bucket's JetStream state (absent until it
	// is created: the cluster is still forming).
	Presence *ClusterBucket `json:"presence,omitempty"`
	// Buckets are all the cluster's JetStream buckets (the presence bucket
	// and the durable state's), by name, as last read (every few seconds).
	Buckets []ClusterBucket `json:"buckets,omitempty"`
}

// ClusterMember is one gateway of the cluster.
type ClusterMember struct {
	Node string `json:"node"`
	Self bool   `json:"self,omitempty"`
	// StartedMs is when the gateway started.
	StartedMs int64 `json:"startedMs"`
	// Alive: heard from within the liveness bound. A gateway that left or
	// timed out stays listed, not alive, for a while (with its last
	// heartbeat and why it went) so an operator sees what was lost.
	Alive bool `json:"alive"`
	// LastHeartbeatMs is when its last heartbeat arrived (this gateway:
	// now).
	LastHeartbeatMs int64 `json:"lastHeartbeatMs,omitempty"`
	// Gone says why a gateway is no longer alive: "left" (it said so),
	// "timeout" (no heartbeat within the bound) or "dropped" (another
	// gateway found it gone first and deleted its rows).
	Gone string `json:"gone,omitempty"`
}

// ClusterNATS is this gateway's link to NATS.
type ClusterNATS struct {
	Connected bool `json:"connected"`
	Embedded  bool `json:"embedded"`
	// Routes is how many peer servers the embedded NATS is routed to.
	Routes int `json:"routes"`
	// JetStreamLeader: this gateway's NATS leads JetStream's meta group.
	JetStreamLeader bool `json:"jetStreamLeader"`
}

// ClusterBucket is a JetStream bucket's replication state.
type ClusterBucket struct {
	Bucket   string `json:"bucket"`
	Leader   string `json:"leader,omitempty"` // the NATS server that leads it
	Replicas int    `json:"replicas"`
	// Lag is the largest number of operations a replica is behind.
	Lag uint64 `json:"lag"`
	// Current is how many copies (leader included) are current.
	Current int `json:"current,omitempty"`
}

// ConfigReload says whether config hot reload is watching the file.
type ConfigReload struct {
	HotReloadStatus string `json:"hotReloadStatus"` // active | disabled
}

// LinkChannel names a linked channel.
type LinkChannel struct {
	ID     string `json:"id"`
	Label  string `json:"label"`
	Linked bool   `json:"linked"`
}

// ChannelHealth is one channel's line in the health summary: its default
// account's state, with every account under Accounts.
type ChannelHealth struct {
	Configured   bool                     `json:"configured"`
	Linked       bool                     `json:"linked"`
	Running      bool                     `json:"running"`
	Mode         string                   `json:"mode,omitempty"`
	Bot          *BotInfo                 `json:"bot,omitempty"`
	LastError    string                   `json:"lastError,omitempty"`
	Accounts     map[string]AccountStatus `json:"accounts"`
	AccountOrder []string                 `json:"accountOrder"`
}

// AccountStatus is one channel account's state.
type AccountStatus struct {
	AccountID     string   `json:"accountId"`
	Enabled       bool     `json:"enabled"`
	Configured    bool     `json:"configured"`
	Linked        bool     `json:"linked"`
	Running       bool     `json:"running"`
	Mode          string   `json:"mode"`
	Bot           *BotInfo `json:"bot,omitempty"`
	TokenSource   string   `json:"tokenSource,omitempty"`
	LastError     string   `json:"lastError,omitempty"`
	LastInboundAt int64    `json:"lastInboundAt,omitempty"`
	// Owner, in cluster mode only (an openclaw-go extension), is which
	// gateway of the cluster runs the account (docs/ARCHITECTURE.md
	// "Channel ownership").
	Owner *ChannelOwner `json:"owner,omitempty"`
}

// ChannelOwner is the lease of a channel account in a cluster.
type ChannelOwner struct {
	// Gateway is the owner's node name; empty while nobody holds the lease.
	Gateway string `json:"gateway"`
	// Self is true on the owner itself.
	Self bool `json:"self"`
	// Since is when the owner took the lease (ms since the epoch).
	Since int64 `json:"since,omitempty"`
	// Revision is the lease's revision as last seen: its fencing token,
	// moved on by every renewal and every state change the owner makes.
	Revision uint64 `json:"revision,omitempty"`
	// State is this gateway's part: "owner" (it runs the account),
	// "standby" (another gateway does, or nobody yet: it is campaigning)
	// or "lost" (it held the lease and could not keep it; it is
	// campaigning again).
	State string `json:"state"`
	// Error says why the lease was lost (e.g. NATS unreachable: not
	// renewed within the TTL).
	Error string `json:"error,omitempty"`
}

// BotInfo is a channel account's identity on its service.
type BotInfo struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

// AgentHealth is one agent's line in the health summary.
type AgentHealth struct {
	AgentID   string        `json:"agentId"`
	IsDefault bool          `json:"isDefault"`
	Sessions  SessionsCount `json:"sessions"`
}

// SessionsCount counts sessions and lists the most recent.
type SessionsCount struct {
	Path   string          `json:"path"`
	Count  int             `json:"count"`
	Recent []RecentSession `json:"recent"`
}

// RecentSession is a recently updated session.
type RecentSession struct {
	Key       string `json:"key"`
	UpdatedAt int64  `json:"updatedAt"`
	Age       int64  `json:"age"`
}

// NodesCount counts node devices: connected node sockets, nodes whose
// command surface is approved, and surfaces waiting for approval.
type NodesCount struct {
	Connected int `json:"connected"`
	Paired    int `json:"paired"`
	Pending   int `json:"pending"`
}

// StatusParams are status's params (the reference's): includeChannelSummary
// (default true) adds channelSummary's lines; includeCliProjection adds
// cliProjection, what `openclaw status` reads of the gateway's agents.
type StatusParams struct {
	IncludeChannelSummary *bool `json:"includeChannelSummary,omitempty"`
	IncludeCliProjection  bool  `json:"includeCliProjection,omitempty"`
}

// Status is the status method's result. Its first part is the reference's
// status summary (`openclaw gateway call status --json`), filled with our own
// numbers; what the reference reports and we have no equivalent of (the Node
// event loop and worker pools, the host desktop, the shutdown budget) is
// left out rather than made up. The fields after ActiveRuns are ours.
type Status struct {
	// RuntimeVersion is the OpenClaw version the gateway speaks for
	// (2026.9.6); the reference CLI compares it with its own.
	RuntimeVersion string               `json:"runtimeVersion"`
	CLIProjection  *StatusCLIProjection `json:"cliProjection,omitempty"`
	// LinkChannel is the first channel with a linked account, if any.
	LinkChannel        *LinkChannel     `json:"linkChannel,omitempty"`
	Heartbeat          StatusHeartbeats `json:"heartbeat"`
	ChannelSummary     []string         `json:"channelSummary"`
	QueuedSystemEvents []string         `json:"queuedSystemEvents"`
	// DegradedSecretOwners and DegradedPlugins are always empty: we have
	// neither secret providers nor plugins that can degrade.
	DegradedSecretOwners []struct{}      `json:"degradedSecretOwners"`
	DegradedPlugins      []struct{}      `json:"degradedPlugins"`
	Tasks                TaskCounts      `json:"tasks"`
	TaskAudit            TaskAudit       `json:"taskAudit"`
	Sessions             StatusSessions  `json:"sessions"`
	ModelRuntime         ModelRuntime    `json:"modelRuntime"`
	ProcessMemory        ProcessMemory   `json:"processMemory"`
	PID                  int             `json:"pid"`
	Version              string          `json:"version"`
	BuildID              string          `json:"buildId"`
	UptimeMs             int64           `json:"uptimeMs"`
	Connections          ConnectionCount `json:"connections"`
	Channels             []ChannelLine   `json:"channels"`
	ActiveRuns           int             `json:"activeRuns"`
	Nodes                NodesCount      `json:"nodes"`
	Goroutines           int             `json:"goroutines"`
	StateVersion         StateVersion    `json:"stateVersion"`
	// Cluster is set in cluster mode only (an openclaw-go extension).
	Cluster *ClusterStatus `json:"cluster,omitempty"`
}

// StatusCLIProjection is what `openclaw status` reads of the gateway's agents.
type StatusCLIProjection struct {
	Agents StatusAgents `json:"agents"`
	// UpdateChannel is the reference's update channel; we have none (null).
	UpdateChannel *string `json:"updateChannel"`
}

// StatusAgents lists the configured agents.
type StatusAgents struct {
	DefaultID         string           `json:"defaultId"`
	Ownership         string           `json:"ownership"` // "sole": one operator owns every agent
	SelectionRequired bool             `json:"selectionRequired"`
	Rows              []StatusAgentRow `json:"rows"`
}

// StatusAgentRow is one agent.
type StatusAgentRow struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// StatusHeartbeats is every agent's heartbeat schedule.
type StatusHeartbeats struct {
	DefaultAgentID string           `json:"defaultAgentId"`
	Agents         []AgentHeartbeat `json:"agents"`
}

// AgentHeartbeat is one agent's heartbeat schedule: every is a duration
// ("30m") or "disabled" (everyMs null then).
type AgentHeartbeat struct {
	AgentID         string `json:"agentId"`
	Enabled         bool   `json:"enabled"`
	Every           string `json:"every"`
	EveryMs         *int64 `json:"everyMs"`
	WaitingForRoute bool   `json:"waitingForRoute"`
}

// TaskCounts counts background tasks (the reference's task registry: cron
// runs, sub-agents, ...) by status and by runtime.
type TaskCounts struct {
	Total     int            `json:"total"`
	Active    int            `json:"active"`
	Terminal  int            `json:"terminal"`
	Failures  int            `json:"failures"`
	ByStatus  TasksByStatus  `json:"byStatus"`
	ByRuntime TasksByRuntime `json:"byRuntime"`
}

// TasksByStatus counts tasks by state.
type TasksByStatus struct {
	Queued    int `json:"queued"`
	Running   int `json:"running"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	TimedOut  int `json:"timed_out"`
	Cancelled int `json:"cancelled"`
	Lost      int `json:"lost"`
}

// TasksByRuntime counts tasks by what runs them.
type TasksByRuntime struct {
	Subagent int `json:"subagent"`
	ACP      int `json:"acp"`
	CLI      int `json:"cli"`
	Cron     int `json:"cron"`
}

// TaskAudit counts problems found in the task records.
type TaskAudit struct {
	Total    int             `json:"total"`
	Warnings int             `json:"warnings"`
	Errors   int             `json:"errors"`
	ByCode   TaskAuditByCode `json:"byCode"`
}

// TaskAuditByCode counts task problems by kind.
type TaskAuditByCode struct {
	StaleQueued            int `json:"stale_queued"`
	StaleRunning           int `json:"stale_running"`
	Lost                   int `json:"lost"`
	DeliveryFailed         int `json:"delivery_failed"`
	MissingCleanup         int `json:"missing_cleanup"`
	InconsistentTimestamps int `json:"inconsistent_timestamps"`
}

// StatusSessions is the sessions part of status: where they are kept, how
// many, the most recent, and the same per agent.
type StatusSessions struct {
	Paths    []string               `json:"paths"`
	Count    int                    `json:"count"`
	Defaults StatusSessionDefaults  `json:"defaults"`
	Recent   []StatusSessionRow     `json:"recent"`
	ByAgent  []StatusAgentsSessions `json:"byAgent"`
}

// StatusSessionDefaults is the default agent's model and its context window
// (null when the config does not say).
type StatusSessionDefaults struct {
	Model         *string `json:"model"`
	ContextTokens *int    `json:"contextTokens"`
}

// StatusAgentsSessions is one agent's sessions.
type StatusAgentsSessions struct {
	AgentID string             `json:"agentId"`
	Path    string             `json:"path"`
	Count   int                `json:"count"`
	Recent  []StatusSessionRow `json:"recent"`
}

// StatusSessionRow is one recent session in status. Token counts are null
// when no turn recorded usage.
type StatusSessionRow struct {
	AgentID          string   `json:"agentId"`
	Key              string   `json:"key"`
	Kind             string   `json:"kind"` // direct | group | cron | global
	SessionID        string   `json:"sessionId"`
	UpdatedAt        int64    `json:"updatedAt"`
	Age              int64    `json:"age"`
	ThinkingLevel    string   `json:"thinkingLevel,omitempty"`
	InputTokens      *int64   `json:"inputTokens,omitempty"`
	OutputTokens     *int64   `json:"outputTokens,omitempty"`
	TotalTokens      *int64   `json:"totalTokens"`
	TotalTokensFresh bool     `json:"totalTokensFresh"`
	RemainingTokens  *int64   `json:"remainingTokens"`
	PercentUsed      *int     `json:"percentUsed"`
	Model            *string  `json:"model"`
	ConfiguredModel  string   `json:"configuredModel"`
	SelectedModel    *string  `json:"selectedModel"`
	ContextTokens    *int     `json:"contextTokens"`
	Flags            []string `json:"flags"`
}

// ModelRuntime says whether model resolution is degraded; ours resolves from
// the config at each turn and never is.
type ModelRuntime struct {
	Degraded      bool     `json:"degraded"`
	PendingAgents []string `json:"pendingAgents"`
}

// ProcessMemory is the process's memory: resident set, Go heap in use and
// the heap obtained from the OS.
type ProcessMemory struct {
	RSSBytes       int64  `json:"rssBytes"`
	HeapUsedBytes  uint64 `json:"heapUsedBytes"`
	HeapTotalBytes uint64 `json:"heapTotalBytes"`
}

// ConnectionCount counts sockets by role; Handshaking ones have not
// finished connect yet.
type ConnectionCount struct {
	Total       int `json:"total"`
	Operators   int `json:"operators"`
	Nodes       int `json:"nodes"`
	Handshaking int `json:"handshaking"`
}

// ChannelLine is one channel account in status.
type ChannelLine struct {
	Channel   string `json:"channel"`
	AccountID string `json:"accountId"`
	Linked    bool   `json:"linked"`
	Running   bool   `json:"running"`
	Mode      string `json:"mode,omitempty"`
	LastError string `json:"lastError,omitempty"`
}

// PresenceEntry is one row of the presence roster. Only ts is always set.
type PresenceEntry struct {
	Host             string   `json:"host,omitempty"`
	IP               string   `json:"ip,omitempty"`
	Version          string   `json:"version,omitempty"`
	Platform         string   `json:"platform,omitempty"`
	DeviceFamily     string   `json:"deviceFamily,omitempty"`
	ModelIdentifier  string   `json:"modelIdentifier,omitempty"`
	Mode             string   `json:"mode,omitempty"`
	LastInputSeconds *float64 `json:"lastInputSeconds,omitempty"`
	Reason           string   `json:"reason,omitempty"`
	Tags             []string `json:"tags,omitempty"`
	Text             string   `json:"text,omitempty"`
	TS               int64    `json:"ts"`
	DeviceID         string   `json:"deviceId,omitempty"`
	Roles            []string `json:"roles,omitempty"`
	Scopes           []string `json:"scopes,omitempty"`
	InstanceID       string   `json:"instanceId,omitempty"`
	ClientID         string   `json:"clientId,omitempty"`
	// Gateway is the cluster node that holds the row (cluster mode only;
	// an openclaw-go extension).
	Gateway string `json:"gateway,omitempty"`
	// Caps and Commands are what a node declared at connect.
	Caps     []string `json:"caps,omitempty"`
	Commands []string `json:"commands,omitempty"`
}

// PresenceEvent is the presence event's payload: the whole roster.
type PresenceEvent struct {
	Presence []PresenceEntry `json:"presence"`
}

// SystemEventParams are system-event's params: a note, and the presence row
// it describes.
type SystemEventParams struct {
	Text             string          `json:"text" minLength:"1" maxLength:"65536" pattern:"\\S"`
	IdempotencyKey   string          `json:"idempotencyKey,omitempty"`
	SessionKey       string          `json:"sessionKey,omitempty"`
	Wake             json.RawMessage `json:"wake,omitempty" type:"string|boolean"`
	DeviceID         string          `json:"deviceId,omitempty"`
	InstanceID       string          `json:"instanceId,omitempty"`
	Host             string          `json:"host,omitempty"`
	IP               string          `json:"ip,omitempty"`
	Mode             string          `json:"mode,omitempty"`
	Version          string          `json:"version,omitempty"`
	Platform         string          `json:"platform,omitempty"`
	DeviceFamily     string          `json:"deviceFamily,omitempty"`
	ModelIdentifier  string          `json:"modelIdentifier,omitempty"`
	Reason           string          `json:"reason,omitempty"`
	LastInputSeconds *float64        `json:"lastInputSeconds,omitempty" minimum:"0"`
	Roles            []string        `json:"roles,omitempty"`
	Scopes           []string        `json:"scopes,omitempty"`
	Tags             []string        `json:"tags,omitempty"`
}

// LogsTailParams are logs.tail's params.
type LogsTailParams struct {
	// Cursor is a byte offset returned by an earlier call.
	Cursor   *int64 `json:"cursor,omitempty" minimum:"0" maximum:"9007199254740991"`
	Limit    int    `json:"limit,omitempty" minimum:"1" maximum:"5000"`
	MaxBytes int    `json:"maxBytes,omitempty" minimum:"1" maximum:"10485760"`
}

// LogsTail is logs.tail's result.
type LogsTail struct {
	File   string   `json:"file"`
	Cursor int64    `json:"cursor"`
	Size   int64    `json:"size"`
	Lines  []string `json:"lines"`
	// Truncated says lines were left out: older ones before a tail, or
	// some skipped by a reset.
	Truncated bool `json:"truncated,omitempty"`
	// Reset says the cursor could not be continued: the file rotated (read
	// from the top) or the client fell too far behind (SkippedBytes were
	// passed over).
	Reset        bool  `json:"reset,omitempty"`
	SkippedBytes int64 `json:"skippedBytes,omitempty"`
}

// Tick is the tick event's payload.
type Tick struct {
	TS int64 `json:"ts"`
}

// Shutdown is the shutdown event's payload.
type Shutdown struct {
	Reason            string `json:"reason"`
	RestartExpectedMs int64  `json:"restartExpectedMs,omitempty"`
}

// GatewayIdentity is gateway.identity.get's result: the gateway's own
// device identity (an Ed25519 key made at its first start and kept in the
// state database), with which it can prove itself to peers.
type GatewayIdentity struct {
	DeviceID  string `json:"deviceId"`
	PublicKey string `json:"publicKey"` // raw 32 bytes, base64url
}

package protocol

import "encoding/json"

// System methods and events: health, status, presence, system-event,
// logs.tail, tick and shutdown.

// Empty is the params of a method that takes none, and the result of one
// that says nothing.
type Empty struct{}

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

// Status is the status method's result: a short summary of the process.
type Status struct {
	OK             bool            `json:"ok"`
	Version        string          `json:"version"`
	BuildID        string          `json:"buildId"`
	RuntimeVersion string          `json:"runtimeVersion"`
	PID            int             `json:"pid"`
	UptimeMs       int64           `json:"uptimeMs"`
	Connections    ConnectionCount `json:"connections"`
	Channels       []ChannelLine   `json:"channels"`
	Sessions       StatusSessions  `json:"sessions"`
	ActiveRuns     int             `json:"activeRuns"`
	Nodes          NodesCount      `json:"nodes"`
	Memory         Memory          `json:"memory"`
	StateVersion   StateVersion    `json:"stateVersion"`
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

// StatusSessions counts stored sessions.
type StatusSessions struct {
	Count int `json:"count"`
}

// Memory is the process's memory use.
type Memory struct {
	RSSBytes       int64  `json:"rssBytes"`
	HeapAllocBytes uint64 `json:"heapAllocBytes"`
	Goroutines     int    `json:"goroutines"`
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
	File      string   `json:"file"`
	Cursor    int64    `json:"cursor"`
	Size      int64    `json:"size"`
	Lines     []string `json:"lines"`
	Truncated bool     `json:"truncated,omitempty"`
	Reset     bool     `json:"reset,omitempty"`
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

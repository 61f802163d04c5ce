package protocol

import "encoding/json"

// What a chat screen asks for besides the turn itself (the reference's
// Control UI calls these on load): chat.startup, chat.metadata,
// agent.identity.get, sessions.messages.subscribe and the session.message
// event, diagnostics.lanes, update.status.

// ChatStartup is chat.startup's result: chat.history's page with what the
// screen needs to render it at once (takes ChatHistoryParams).
type ChatStartup struct {
	ChatHistory
	// PendingInputs are messages accepted but not yet in the transcript;
	// a turn here records its message before it is answered, so there are
	// none.
	PendingInputs PendingInputs `json:"pendingInputs"`
	Defaults      ChatDefaults  `json:"defaults"`
}

// PendingInputs is a page of accepted inputs waiting for a turn.
type PendingInputs struct {
	Items []json.RawMessage `json:"items"`
	Total int               `json:"total"`
}

// ChatDefaults name the model a new turn of the session uses.
type ChatDefaults struct {
	ModelProvider string `json:"modelProvider,omitempty"`
	Model         string `json:"model,omitempty"`
	ContextTokens int    `json:"contextTokens,omitempty"`
}

// ChatMetadataParams are chat.metadata's params.
type ChatMetadataParams struct {
	AgentID    string `json:"agentId,omitempty" minLength:"1"`
	SessionKey string `json:"sessionKey,omitempty" minLength:"1"`
}

// ChatMetadata is chat.metadata's result: the models a chat may pick and
// the slash commands it offers (none: this gateway does not interpret
// them, a message is a message).
type ChatMetadata struct {
	Models                 []ChatModel       `json:"models"`
	Commands               []json.RawMessage `json:"commands"`
	SwarmEnabled           bool              `json:"swarmEnabled"`
	AccountSelection       AccountSelection  `json:"accountSelection"`
	RuntimeSelectionLocked bool              `json:"runtimeSelectionLocked"`
}

// ChatModel is one configured model as a chat's model picker shows it.
type ChatModel struct {
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	Provider        string          `json:"provider"`
	Reasoning       bool            `json:"reasoning"`
	Tags            []string        `json:"tags"` // "default" for the agent's primary
	ThinkingLevels  []ThinkingLevel `json:"thinkingLevels"`
	ThinkingDefault string          `json:"thinkingDefault"`
	Available       bool            `json:"available"`
}

// ThinkingLevel is a reasoning effort a model takes.
type ThinkingLevel struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// AccountSelection says how a provider account is picked for a turn.
type AccountSelection struct {
	Kind  string `json:"kind"` // automatic
	Label string `json:"label"`
}

// AgentIdentityParams are agent.identity.get's params: the agent, or the
// agent of a session, or the default agent.
type AgentIdentityParams struct {
	AgentID    string `json:"agentId,omitempty" minLength:"1"`
	SessionKey string `json:"sessionKey,omitempty" minLength:"1"`
}

// AgentIdentity is how an agent presents itself in a chat.
type AgentIdentity struct {
	AgentID    string `json:"agentId"`
	Name       string `json:"name"`
	NameSource string `json:"nameSource"` // config | default
	Avatar     string `json:"avatar"`     // a letter when no image is configured
}

// SessionMessage is the session.message event: a message that joined a
// session's transcript (the user's when a turn starts, the assistant's
// when it ends).
type SessionMessage struct {
	SessionKey string      `json:"sessionKey"`
	AgentID    string      `json:"agentId,omitempty"`
	Message    ChatMessage `json:"message"`
	MessageID  string      `json:"messageId"`
	MessageSeq int64       `json:"messageSeq"`
}

// DiagnosticsLanes is diagnostics.lanes's result: how busy the agent runs
// are. Runs of one session queue behind each other; sessions run side by
// side without a limit (maxConcurrent 0).
type DiagnosticsLanes struct {
	TS      int64           `json:"ts"`
	Lanes   []Lane          `json:"lanes"`
	Dynamic json.RawMessage `json:"dynamic"` // null
}

// Lane is one queue of agent runs.
type Lane struct {
	Lane          string          `json:"lane"`
	QueuedCount   int             `json:"queuedCount"`
	ActiveCount   int             `json:"activeCount"`
	MaxConcurrent int             `json:"maxConcurrent"`
	Draining      bool            `json:"draining"`
	Generation    int             `json:"generation"`
	BlockedBy     json.RawMessage `json:"blockedBy"` // null
}

// UpdateStatus is update.status's result: this gateway does not update
// itself, so there is never an update on offer.
type UpdateStatus struct {
	Sentinel         json.RawMessage `json:"sentinel"`        // null
	UpdateAvailable  json.RawMessage `json:"updateAvailable"` // null
	EffectiveChannel string          `json:"effectiveChannel"`
	Schedule         UpdateSchedule  `json:"schedule"`
}

// UpdateSchedule is how updates would be applied.
type UpdateSchedule struct {
	Channel     string        `json:"channel"`
	AutoEnabled bool          `json:"autoEnabled"`
	Install     UpdateInstall `json:"install"`
}

// UpdateInstall says how the gateway was installed.
type UpdateInstall struct {
	Kind string `json:"kind"`
}

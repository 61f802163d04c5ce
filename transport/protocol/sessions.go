package protocol

import "encoding/json"

// Sessions: sessions.list, .preview, .describe, .patch, .reset, .delete,
// .compact, .subscribe, chat.inject, usage.*, and the sessions.changed event.
// The shapes are the reference's, cut to what we keep about a session; what
// a row lacks next to the reference's is listed, with the reason, in the
// reference shape test (actors/gateway/reference_shapes_test.go).

// SessionsListParams are sessions.list's params.
type SessionsListParams struct {
	// Limit is the page size (default 100).
	Limit  int `json:"limit,omitempty" minimum:"1"`
	Offset int `json:"offset,omitempty" minimum:"0"`
	// ActiveMinutes keeps sessions updated within that many minutes.
	ActiveMinutes int    `json:"activeMinutes,omitempty" minimum:"1"`
	AgentID       string `json:"agentId,omitempty" minLength:"1"`
	Label         string `json:"label,omitempty" minLength:"1" maxLength:"512"`
	// Search matches a substring of the key or the label.
	Search string `json:"search,omitempty"`
	// IncludeDerivedTitles adds derivedTitle (from the first user message);
	// IncludeLastMessage adds lastMessagePreview.
	IncludeDerivedTitles bool `json:"includeDerivedTitles,omitempty"`
	IncludeLastMessage   bool `json:"includeLastMessage,omitempty"`
	// ExcludeCron leaves out the sessions of scheduled jobs.
	ExcludeCron bool `json:"excludeCron,omitempty"`
	// IncludeGlobal, IncludeUnknown and ExcludeSubagents select kinds of
	// session this gateway does not make (global, unknown, sub-agents):
	// accepted, and they change nothing.
	IncludeGlobal    bool `json:"includeGlobal,omitempty"`
	IncludeUnknown   bool `json:"includeUnknown,omitempty"`
	ExcludeSubagents bool `json:"excludeSubagents,omitempty"`
	// Archived: true lists archived sessions (there are none: sessions are
	// not archived here), false or "all" lists every session.
	Archived json.RawMessage `json:"archived,omitempty" type:"boolean|string"`

	// ConfiguredAgentsOnly leaves out sessions of agents no longer in the
	// config.
	ConfiguredAgentsOnly bool `json:"configuredAgentsOnly,omitempty"`
	// The reference's filters on things this gateway does not have
	// (sub-agent spawns, projects, workspaces, groups, pins, boards,
	// owners and people): a filter that asks for one matches no session.
	SpawnedBy          string          `json:"spawnedBy,omitempty" minLength:"1"`
	ProjectID          string          `json:"projectId,omitempty" minLength:"1"`
	WorkspaceDir       string          `json:"workspaceDir,omitempty" minLength:"1"`
	Group              string          `json:"group,omitempty"`
	Pinned             *bool           `json:"pinned,omitempty"`
	BoardFace          string          `json:"boardFace,omitempty" enum:"chat,dashboard"`
	HasBoard           *bool           `json:"hasBoard,omitempty"`
	CreatorID          string          `json:"creatorId,omitempty" minLength:"1"`
	OwnerID            string          `json:"ownerId,omitempty" minLength:"1"`
	InvolvingProfileID string          `json:"involvingProfileId,omitempty" minLength:"1"`
	ProfileRelation    json.RawMessage `json:"profileRelation,omitempty" type:"object"`
	// Accepted and change nothing: every session here is a direct
	// interaction, sorted by its last update.
	ActiveOnly             bool   `json:"activeOnly,omitempty"`
	RequireLastInteraction bool   `json:"requireLastInteraction,omitempty"`
	SortBy                 string `json:"sortBy,omitempty" enum:"updatedAt,lastInteractionAt,activity"`
	ExcludeSystem          bool   `json:"excludeSystem,omitempty"`
	IncludeActivitySummary bool   `json:"includeActivitySummary,omitempty"`
	OwnerFirst             bool   `json:"ownerFirst,omitempty"`
	InvolvingMe            bool   `json:"involvingMe,omitempty"`
	IncludePeople          bool   `json:"includePeople,omitempty"`
}

// MatchesNothing reports whether the params filter on something no session
// here has (see SpawnedBy).
func (p *SessionsListParams) MatchesNothing() bool {
	return p.SpawnedBy != "" || p.ProjectID != "" || p.WorkspaceDir != "" || p.Group != "" ||
		(p.Pinned != nil && *p.Pinned) || p.BoardFace != "" || (p.HasBoard != nil && *p.HasBoard) ||
		p.CreatorID != "" || p.OwnerID != "" || p.InvolvingProfileID != "" || len(p.ProfileRelation) > 0
}

// SessionsList is sessions.list's result.
type SessionsList struct {
	TS           int64            `json:"ts"`
	Path         string           `json:"path"`
	Count        int              `json:"count"`
	TotalCount   int              `json:"totalCount"`
	LimitApplied int              `json:"limitApplied"`
	NextOffset   *int             `json:"nextOffset"`
	HasMore      bool             `json:"hasMore"`
	Owners       []struct{}       `json:"owners"` // always empty: one operator owns every session
	Defaults     SessionsDefaults `json:"defaults"`
	Sessions     []SessionRow     `json:"sessions"`
}

// SessionsDefaults is the default agent's model.
type SessionsDefaults struct {
	ModelProvider *string `json:"modelProvider"`
	Model         *string `json:"model"`
	// ContextTokens is the model's context window when the config declares
	// it (models.providers.<id>.models[].contextWindow).
	ContextTokens        *int   `json:"contextTokens"`
	ModelSelectionTarget string `json:"modelSelectionTarget"` // "session": sessions.patch model applies per session
	// The thinking levels sessions accept.
	ThinkingLevels  []ThinkingItem `json:"thinkingLevels"`
	ThinkingOptions []string       `json:"thinkingOptions"`
	ThinkingDefault string         `json:"thinkingDefault"`
}

// SessionRow is one session as sessions.list, sessions.describe and the
// sessions.changed event show it.
type SessionRow struct {
	Key         string `json:"key"`
	Kind        string `json:"kind"` // direct | group | cron
	AgentID     string `json:"agentId"`
	IsMain      bool   `json:"isMain"` // the agent's main session (agent:<id>:main)
	DisplayName string `json:"displayName"`
	Label       string `json:"label,omitempty"`
	// DerivedTitle and LastMessagePreview are set when asked for.
	DerivedTitle       string `json:"derivedTitle,omitempty"`
	LastMessagePreview string `json:"lastMessagePreview,omitempty"`
	CreatedAt          int64  `json:"createdAt"`
	UpdatedAt          int64  `json:"updatedAt"`
	// Archived and Pinned are always false: sessions are neither here.
	Archived      bool   `json:"archived"`
	Pinned        bool   `json:"pinned"`
	SessionID     string `json:"sessionId"`
	ThinkingLevel string `json:"thinkingLevel,omitempty"`
	// Token usage the turns recorded: input and output summed over the
	// session; totalTokens is the last turn's total (the context it
	// filled), fresh when a turn recorded it.
	InputTokens      int64   `json:"inputTokens"`
	OutputTokens     int64   `json:"outputTokens"`
	TotalTokens      *int64  `json:"totalTokens,omitempty"`
	TotalTokensFresh bool    `json:"totalTokensFresh"`
	ModelProvider    *string `json:"modelProvider"`
	Model            *string `json:"model"`
	// ModelOverride is the model sessions.patch set ("<provider>/<id>").
	ModelOverride string   `json:"modelOverride,omitempty"`
	ContextTokens *int     `json:"contextTokens"`
	HasActiveRun  bool     `json:"hasActiveRun"`
	ActiveRunIDs  []string `json:"activeRunIds"`
	LastRunID     string   `json:"lastRunId,omitempty"`
	// Status is the last turn's: running, done, or failed (its reply was
	// never recorded); absent before the first turn.
	Status string `json:"status,omitempty"`
	// IsBackground marks a scheduled job's session (kind cron).
	IsBackground bool `json:"isBackground"`
	// The thinking levels the session accepts (sessions.patch).
	ThinkingLevels  []ThinkingItem `json:"thinkingLevels"`
	ThinkingOptions []string       `json:"thinkingOptions"`
	ThinkingDefault string         `json:"thinkingDefault"`
	// Ours: how many messages the transcript holds, and how often it was
	// compacted.
	MessageCount    int `json:"messageCount"`
	CompactionCount int `json:"compactionCount"`
}

// SessionsPreviewParams are sessions.preview's params.
type SessionsPreviewParams struct {
	Keys []string `json:"keys" minItems:"1"`
	// Limit is how many of the newest messages per session (default 12).
	Limit int `json:"limit,omitempty" minimum:"1"`
	// MaxChars bounds each item's text (default 240).
	MaxChars int `json:"maxChars,omitempty" minimum:"20"`
}

// SessionsPreview is sessions.preview's result.
type SessionsPreview struct {
	TS       int64            `json:"ts"`
	Previews []SessionPreview `json:"previews"`
}

// SessionPreview is one session's newest messages, as text.
type SessionPreview struct {
	Key    string        `json:"key"`
	Status string        `json:"status"` // ok | empty | missing
	Items  []PreviewItem `json:"items"`
}

// PreviewItem is one message of a preview.
type PreviewItem struct {
	Role string `json:"role"`
	Text string `json:"text"`
}

// SessionsDescribeParams are sessions.describe's params.
type SessionsDescribeParams struct {
	Key                  string `json:"key" minLength:"1"`
	AgentID              string `json:"agentId,omitempty" minLength:"1"`
	IncludeDerivedTitles bool   `json:"includeDerivedTitles,omitempty"`
	IncludeLastMessage   bool   `json:"includeLastMessage,omitempty"`
}

// SessionsDescribe is sessions.describe's result: null for no such session.
type SessionsDescribe struct {
	Session *SessionRow `json:"session"`
}

// SessionsPatchParams are sessions.patch's params. Each setting is a
// string to set or null to clear; an absent one is left alone.
type SessionsPatchParams struct {
	Key               string `json:"key" minLength:"1"`
	AgentID           string `json:"agentId,omitempty" minLength:"1"`
	ExpectedSessionID string `json:"expectedSessionId,omitempty" minLength:"1"`
	// Label is the session's name (at most 512 characters).
	Label json.RawMessage `json:"label,omitempty" type:"string|null" maxLength:"512"`
	// Model is "<provider>/<model id>" of models.providers, for this
	// session's next turns.
	Model json.RawMessage `json:"model,omitempty" type:"string|null" minLength:"1"`
	// ThinkingLevel is sent to the model as its reasoning effort: off,
	// minimal, low, medium or high.
	ThinkingLevel json.RawMessage `json:"thinkingLevel,omitempty" type:"string|null" minLength:"1"`
}

// SessionsPatched is sessions.patch's and sessions.reset's result.
type SessionsPatched struct {
	OK       bool          `json:"ok"`
	Path     string        `json:"path,omitempty"`
	Key      string        `json:"key"`
	Entry    SessionEntry  `json:"entry"`
	Resolved SessionsModel `json:"resolved"`
}

// SessionEntry is the stored session after a change.
type SessionEntry struct {
	SessionID string `json:"sessionId"`
	CreatedAt int64  `json:"createdAt"`
	// SessionStartedAt is when this session id began (its creation or the
	// last reset).
	SessionStartedAt int64   `json:"sessionStartedAt"`
	UpdatedAt        int64   `json:"updatedAt"`
	ModelProvider    *string `json:"modelProvider,omitempty"`
	Model            *string `json:"model,omitempty"`
	Label            string  `json:"label,omitempty"`
	ModelOverride    string  `json:"modelOverride,omitempty"`
	ThinkingLevel    string  `json:"thinkingLevel,omitempty"`
	InputTokens      int64   `json:"inputTokens"`
	OutputTokens     int64   `json:"outputTokens"`
	TotalTokens      int64   `json:"totalTokens"`
	TotalTokensFresh bool    `json:"totalTokensFresh"`
	CompactionCount  int     `json:"compactionCount"`
}

// SessionsModel is the model a session's next turn uses.
type SessionsModel struct {
	ModelProvider *string `json:"modelProvider"`
	Model         *string `json:"model"`
}

// SessionsResetParams are sessions.reset's params.
type SessionsResetParams struct {
	Key               string `json:"key" minLength:"1"`
	AgentID           string `json:"agentId,omitempty" minLength:"1"`
	Reason            string `json:"reason,omitempty" enum:"new,reset"`
	ExpectedSessionID string `json:"expectedSessionId,omitempty" minLength:"1"`
}

// SessionsDeleteParams are sessions.delete's params.
type SessionsDeleteParams struct {
	Key               string `json:"key" minLength:"1"`
	AgentID           string `json:"agentId,omitempty" minLength:"1"`
	DeleteTranscript  *bool  `json:"deleteTranscript,omitempty"` // the transcript is always deleted with the session
	ExpectedSessionID string `json:"expectedSessionId,omitempty" minLength:"1"`
}

// SessionsDeleted is sessions.delete's result. Archived lists kept copies
// of the transcript: none here.
type SessionsDeleted struct {
	OK       bool     `json:"ok"`
	Key      string   `json:"key"`
	Deleted  bool     `json:"deleted"`
	Archived []string `json:"archived"`
}

// SessionsCompactParams are sessions.compact's params: without maxLines the
// older turns are summarised by the model into one message; with it, only
// the newest maxLines messages are kept.
type SessionsCompactParams struct {
	Key      string `json:"key" minLength:"1"`
	AgentID  string `json:"agentId,omitempty" minLength:"1"`
	MaxLines int    `json:"maxLines,omitempty" minimum:"1"`
}

// SessionsCompacted is sessions.compact's result.
type SessionsCompacted struct {
	OK        bool             `json:"ok"`
	Key       string           `json:"key"`
	Compacted bool             `json:"compacted"`
	Reason    string           `json:"reason,omitempty"`
	Kept      *int             `json:"kept,omitempty"`
	Result    *CompactionStats `json:"result,omitempty"`
}

// CompactionStats say what a summarising compaction did.
type CompactionStats struct {
	Summarized int `json:"summarized"` // messages the summary replaced
	Kept       int `json:"kept"`       // newest messages kept as they were
	// CharsBefore and CharsAfter are the transcript's text size.
	CharsBefore int `json:"charsBefore"`
	CharsAfter  int `json:"charsAfter"`
}

// SessionsSubscribed is sessions.subscribe's result.
type SessionsSubscribed struct {
	Subscribed bool `json:"subscribed"`
}

// ChatInjectParams are chat.inject's params: a message shown in the
// transcript as the assistant's, without running the model.
type ChatInjectParams struct {
	SessionKey string `json:"sessionKey" minLength:"1"`
	AgentID    string `json:"agentId,omitempty" minLength:"1"`
	Message    string `json:"message" minLength:"1"`
	Label      string `json:"label,omitempty" maxLength:"100"`
}

// ChatInjected is chat.inject's result.
type ChatInjected struct {
	OK        bool   `json:"ok"`
	MessageID string `json:"messageId"`
}

// SessionsChanged is the sessions.changed event, sent to connections that
// called sessions.subscribe: which session changed and why, with its row
// (absent when it was deleted).
type SessionsChanged struct {
	SessionKey string      `json:"sessionKey"`
	AgentID    string      `json:"agentId,omitempty"`
	Reason     string      `json:"reason"` // create | update | patch | reset | delete | compact | inject
	TS         int64       `json:"ts"`
	SessionID  string      `json:"sessionId,omitempty"`
	UpdatedAt  int64       `json:"updatedAt,omitempty"`
	Kind       string      `json:"kind,omitempty"`
	Compacted  *bool       `json:"compacted,omitempty"`
	Session    *SessionRow `json:"session,omitempty"`
}

// UsageStatus is usage.status's result: the token usage recorded per
// provider (the reference reports provider quota windows here; we report
// what the transcripts recorded).
type UsageStatus struct {
	UpdatedAt int64           `json:"updatedAt"`
	Providers []ProviderUsage `json:"providers"`
}

// ProviderUsage is one provider's recorded usage, with its models.
type ProviderUsage struct {
	Provider     string       `json:"provider"`
	Turns        int          `json:"turns"`
	InputTokens  int64        `json:"inputTokens"`
	OutputTokens int64        `json:"outputTokens"`
	TotalTokens  int64        `json:"totalTokens"`
	Models       []ModelUsage `json:"models"`
}

// ModelUsage is one model's recorded usage.
type ModelUsage struct {
	Model        string `json:"model"`
	Turns        int    `json:"turns"`
	InputTokens  int64  `json:"inputTokens"`
	OutputTokens int64  `json:"outputTokens"`
	TotalTokens  int64  `json:"totalTokens"`
}

// UsageCostParams are usage.cost's params: a range of UTC days (the last
// Days, today included, default 30; or StartDate to EndDate) and whose
// sessions: one agent (AgentID, default the default agent) or all
// (AgentScope "all").
type UsageCostParams struct {
	Days       int    `json:"days,omitempty" minimum:"1" maximum:"3660"`
	StartDate  string `json:"startDate,omitempty" pattern:"^\\d{4}-\\d{2}-\\d{2}$"`
	EndDate    string `json:"endDate,omitempty" pattern:"^\\d{4}-\\d{2}-\\d{2}$"`
	AgentID    string `json:"agentId,omitempty" minLength:"1"`
	AgentScope string `json:"agentScope,omitempty" const:"all"`
	Mode       string `json:"mode,omitempty" enum:"utc"`
}

// UsageCost is usage.cost's result: tokens and cost per day. Cost comes from
// models.providers.<id>.models[].cost (USD per million tokens); a turn of a
// model without it counts in missingCostEntries.
type UsageCost struct {
	UpdatedAt int64          `json:"updatedAt"`
	Days      int            `json:"days"`
	Daily     []DailyUsage   `json:"daily"`
	Totals    UsageCostTotal `json:"totals"`
}

// DailyUsage is one day's usage (UTC).
type DailyUsage struct {
	Date string `json:"date"` // YYYY-MM-DD
	UsageCostTotal
}

// UsageCostTotal counts tokens and their cost.
type UsageCostTotal struct {
	Input              int64   `json:"input"`
	Output             int64   `json:"output"`
	CacheRead          int64   `json:"cacheRead"`
	CacheWrite         int64   `json:"cacheWrite"`
	TotalTokens        int64   `json:"totalTokens"`
	TotalCost          float64 `json:"totalCost"`
	InputCost          float64 `json:"inputCost"`
	OutputCost         float64 `json:"outputCost"`
	CacheReadCost      float64 `json:"cacheReadCost"`
	CacheWriteCost     float64 `json:"cacheWriteCost"`
	MissingCostEntries int     `json:"missingCostEntries"`
}

// SessionGroup is one of the sidebar's named session groups.
type SessionGroup struct {
	Name     string `json:"name"`
	Position int    `json:"position"`
}

// SessionsGroupsList is sessions.groups.list's answer: the groups in
// order and the sidebar's section order ("ungrouped", "groups", "work",
// "category:<name>", "catalog:<id>").
type SessionsGroupsList struct {
	Groups       []SessionGroup `json:"groups"`
	SectionOrder []string       `json:"sectionOrder"`
}

// SessionGroupDefaults are what a new session of a group starts with.
type SessionGroupDefaults struct {
	Name     string `json:"name"`
	Cwd      string `json:"cwd,omitempty"`
	Worktree *bool  `json:"worktree,omitempty"`
}

// SessionsGroupsDefaults is sessions.groups.defaults's answer.
type SessionsGroupsDefaults struct {
	Defaults []SessionGroupDefaults `json:"defaults"`
}

// SessionsCatalogListParams are sessions.catalog.list's params: which
// external session catalog (another agent CLI's sessions on the gateway's
// hosts), paging cursors per host, and how much to return.
type SessionsCatalogListParams struct {
	CatalogID           string            `json:"catalogId,omitempty" minLength:"1"`
	MetadataOnly        bool              `json:"metadataOnly,omitempty"`
	Cursors             map[string]string `json:"cursors,omitempty"`
	AgentID             string            `json:"agentId,omitempty" minLength:"1"`
	ProgressID          string            `json:"progressId,omitempty" minLength:"1" maxLength:"128"`
	AllowPartialResults bool              `json:"allowPartialResults,omitempty"`
	Search              string            `json:"search,omitempty"`
	LimitPerHost        int               `json:"limitPerHost,omitempty" minimum:"1"`
	HostIDs             []string          `json:"hostIds,omitempty"`
}

// SessionCatalog is one external session catalog.
type SessionCatalog struct {
	ID           string                     `json:"id"`
	Label        string                     `json:"label"`
	Capabilities SessionCatalogCapabilities `json:"capabilities"`
	Hosts        []json.RawMessage          `json:"hosts"`
}

// SessionCatalogCapabilities say what the UI may do with a catalog's
// sessions.
type SessionCatalogCapabilities struct {
	ContinueSession bool `json:"continueSession"`
	Archive         bool `json:"archive"`
	OpenTerminal    bool `json:"openTerminal"`
	StartTerminal   bool `json:"startTerminal"`
}

// SessionsCatalogList is sessions.catalog.list's answer.
type SessionsCatalogList struct {
	Catalogs []SessionCatalog `json:"catalogs"`
}

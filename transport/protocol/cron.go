package protocol

import (
	"encoding/json"
	"time"
)

// Scheduled agent turns and heartbeats: cron.*, wake, last-heartbeat,
// set-heartbeats, and the cron and heartbeat events. The shapes are the
// reference's, cut to what runs here: agent turns and system events on
// "at", "every" and "cron" schedules (no shell commands, scripts,
// triggers or streams).

// CronSchedule is when a job runs: once at a time ("at": RFC 3339, or a
// duration such as "20m" from now), every everyMs from anchorMs, or on a
// cron expression (5 fields, or 6 with seconds; tz an IANA zone).
type CronSchedule struct {
	Kind     string `json:"kind" enum:"at,every,cron"`
	At       string `json:"at,omitempty" minLength:"1"`
	EveryMs  int64  `json:"everyMs,omitempty" minimum:"1"`
	AnchorMs *int64 `json:"anchorMs,omitempty" minimum:"0"`
	Expr     string `json:"expr,omitempty" minLength:"1"`
	TZ       string `json:"tz,omitempty"`
	// StaggerMs is accepted; runs are not staggered here.
	StaggerMs int64 `json:"staggerMs,omitempty" minimum:"0"`
}

// CronPayload is what a job does: an agent turn (message, and optionally
// its model, thinking level and timeout) or a system event (text) for the
// agent's next heartbeat. A heartbeat job (kind heartbeat) is the config's
// and is only reported. ToolsAllow, Fallbacks, LightContext and
// AllowUnsafeExternalContent are accepted and change nothing: a turn is
// offered the gateway's tools as any turn is.
type CronPayload struct {
	Kind                       string   `json:"kind" enum:"agentTurn,systemEvent"`
	Message                    string   `json:"message,omitempty" minLength:"1"`
	Text                       string   `json:"text,omitempty" minLength:"1"`
	Model                      string   `json:"model,omitempty"`
	Thinking                   string   `json:"thinking,omitempty"`
	TimeoutSeconds             float64  `json:"timeoutSeconds,omitempty" minimum:"0"`
	LightContext               bool     `json:"lightContext,omitempty"`
	ToolsAllow                 []string `json:"toolsAllow,omitempty"`
	ToolsAllowIsDefault        bool     `json:"toolsAllowIsDefault,omitempty"`
	Fallbacks                  []string `json:"fallbacks,omitempty"`
	AllowUnsafeExternalContent bool     `json:"allowUnsafeExternalContent,omitempty"`
}

// CronDelivery says where a run's final text goes: nowhere (none), or
// announced on a channel to a target (announce). Channel "last" means the
// chat the agent last talked in, which this gateway does not track: such a
// delivery is not made (not-delivered).
type CronDelivery struct {
	Mode       string          `json:"mode" enum:"none,announce"`
	Channel    string          `json:"channel,omitempty" minLength:"1"`
	To         string          `json:"to,omitempty" minLength:"1"`
	AccountID  string          `json:"accountId,omitempty" minLength:"1"`
	ThreadID   json.RawMessage `json:"threadId,omitempty" type:"string|integer"`
	BestEffort bool            `json:"bestEffort,omitempty"`
}

// CronAddParams are cron.add's params.
type CronAddParams struct {
	Name           string          `json:"name" minLength:"1"`
	DisplayName    string          `json:"displayName,omitempty" maxLength:"200"`
	Description    string          `json:"description,omitempty"`
	Enabled        *bool           `json:"enabled,omitempty"`
	DeleteAfterRun *bool           `json:"deleteAfterRun,omitempty"`
	AgentID        json.RawMessage `json:"agentId,omitempty" type:"string|null"`
	SessionKey     json.RawMessage `json:"sessionKey,omitempty" type:"string|null"`
	Schedule       CronSchedule    `json:"schedule"`
	// SessionTarget is the session a run uses: main (the agent's main
	// session), isolated (the job's own, agent:<id>:cron:<job>), current
	// (sessionKey, else main) or session:<key>.
	SessionTarget string        `json:"sessionTarget" minLength:"1"`
	WakeMode      string        `json:"wakeMode" enum:"next-heartbeat,now"`
	Payload       CronPayload   `json:"payload"`
	Delivery      *CronDelivery `json:"delivery,omitempty"`
}

// CronJobState is what the scheduler knows of a job's runs.
type CronJobState struct {
	NextRunAtMs        *int64 `json:"nextRunAtMs,omitempty"`
	RunningAtMs        *int64 `json:"runningAtMs,omitempty"`
	LastRunAtMs        *int64 `json:"lastRunAtMs,omitempty"`
	LastRunStatus      string `json:"lastRunStatus,omitempty"` // ok | error | skipped
	LastStatus         string `json:"lastStatus,omitempty"`    // the reference's older name for it
	LastError          string `json:"lastError,omitempty"`
	LastDurationMs     *int64 `json:"lastDurationMs,omitempty"`
	ConsecutiveErrors  *int   `json:"consecutiveErrors,omitempty"` // set once it has run
	LastDeliveryStatus string `json:"lastDeliveryStatus,omitempty"`
	LastDeliveryError  string `json:"lastDeliveryError,omitempty"`
}

// CronJob is a scheduled job.
type CronJob struct {
	ID             string        `json:"id"`
	DeclarationKey string        `json:"declarationKey,omitempty"` // "heartbeat:<agent>" for the config's heartbeats
	DisplayName    string        `json:"displayName,omitempty"`
	AgentID        string        `json:"agentId,omitempty"`
	SessionKey     string        `json:"sessionKey,omitempty"`
	Name           string        `json:"name"`
	Description    string        `json:"description,omitempty"`
	Enabled        bool          `json:"enabled"`
	DeleteAfterRun bool          `json:"deleteAfterRun,omitempty"`
	CreatedAtMs    int64         `json:"createdAtMs"`
	UpdatedAtMs    int64         `json:"updatedAtMs"`
	ConfigRevision string        `json:"configRevision"`
	Schedule       CronSchedule  `json:"schedule"`
	SessionTarget  string        `json:"sessionTarget"`
	WakeMode       string        `json:"wakeMode"`
	Payload        CronJobAction `json:"payload"`
	Delivery       *CronDelivery `json:"delivery,omitempty"`
	State          CronJobState  `json:"state"`
	NextRunAtMs    *int64        `json:"nextRunAtMs,omitempty"`
	LastRunAtMs    *int64        `json:"lastRunAtMs,omitempty"`
	LastRunStatus  string        `json:"lastRunStatus,omitempty"`
	LastRunError   string        `json:"lastRunError,omitempty"`
	// EffectiveAgentID is the agent a run uses (agentId, else the default).
	EffectiveAgentID string `json:"effectiveAgentId"`
}

// CronJobAction is a job's payload as reported: a CronPayload, or
// {kind:"heartbeat"} for a heartbeat.
type CronJobAction = CronPayload

// CronAdded is cron.add's result: the job, and where its output goes.
type CronAdded struct {
	CronJob
	DeliveryPreview *CronDeliveryPreview `json:"deliveryPreview,omitempty"`
}

// CronDeliveryPreview says where a job's output would go.
type CronDeliveryPreview struct {
	Label  string `json:"label"`
	Detail string `json:"detail"`
}

// CronListParams are cron.list's params.
type CronListParams struct {
	IncludeDisabled *bool  `json:"includeDisabled,omitempty"`
	Limit           int    `json:"limit,omitempty" minimum:"1" maximum:"200"`
	Offset          int    `json:"offset,omitempty" minimum:"0"`
	Query           string `json:"query,omitempty"`
	Enabled         string `json:"enabled,omitempty" enum:"all,enabled,disabled"`
	ScheduleKind    string `json:"scheduleKind,omitempty" enum:"all,at,every,cron,on-exit,stream"`
	LastRunStatus   string `json:"lastRunStatus,omitempty" enum:"all,ok,error,skipped,unknown"`
	SortBy          string `json:"sortBy,omitempty" enum:"nextRunAtMs,updatedAtMs,name"`
	SortDir         string `json:"sortDir,omitempty" enum:"asc,desc"`
	AgentID         string `json:"agentId,omitempty" minLength:"1"`
	SessionKey      string `json:"sessionKey,omitempty" minLength:"1"`
	SessionAgentID  string `json:"sessionAgentId,omitempty" minLength:"1"`
	// Compact and IncludeDeliveryPreviews are accepted: jobs are always
	// listed whole, without previews.
	Compact                 bool `json:"compact,omitempty"`
	IncludeDeliveryPreviews bool `json:"includeDeliveryPreviews,omitempty"`
}

// CronList is cron.list's result. SnapshotRevision identifies the set of
// job definitions (it changes when a job is added, changed or removed): a
// client paging through the list starts over when it changes.
type CronList struct {
	Jobs             []CronJob `json:"jobs"`
	SnapshotRevision string    `json:"snapshotRevision"`
	Total            int       `json:"total"`
	Offset           int       `json:"offset"`
	Limit            int       `json:"limit"`
	HasMore          bool      `json:"hasMore"`
	NextOffset       *int      `json:"nextOffset"`
}

// CronStatus is cron.status's result.
type CronStatus struct {
	Enabled bool `json:"enabled"`
	// TriggersEnabled is false: there are no script triggers here.
	TriggersEnabled bool   `json:"triggersEnabled"`
	StorePath       string `json:"storePath"`
	Storage         string `json:"storage"` // sqlite
	SqlitePath      string `json:"sqlitePath"`
	Jobs            int    `json:"jobs"`
	NextWakeAtMs    *int64 `json:"nextWakeAtMs"`
}

// CronJobRef names a job (id, or the reference's older jobId).
type CronJobRef struct {
	ID    string `json:"id,omitempty" minLength:"1"`
	JobID string `json:"jobId,omitempty" minLength:"1"`
}

// CronUpdateParams are cron.update's params: a patch of the job.
type CronUpdateParams struct {
	ID                     string    `json:"id,omitempty" minLength:"1"`
	JobID                  string    `json:"jobId,omitempty" minLength:"1"`
	Patch                  CronPatch `json:"patch"`
	ExpectedConfigRevision string    `json:"expectedConfigRevision,omitempty" minLength:"1"`
}

// CronPatch is what cron.update changes; absent fields stay.
type CronPatch struct {
	Name           string             `json:"name,omitempty" minLength:"1"`
	DisplayName    json.RawMessage    `json:"displayName,omitempty" type:"string|null"`
	Description    *string            `json:"description,omitempty"`
	Enabled        *bool              `json:"enabled,omitempty"`
	DeleteAfterRun *bool              `json:"deleteAfterRun,omitempty"`
	AgentID        json.RawMessage    `json:"agentId,omitempty" type:"string|null"`
	SessionKey     json.RawMessage    `json:"sessionKey,omitempty" type:"string|null"`
	Schedule       *CronSchedule      `json:"schedule,omitempty"`
	SessionTarget  string             `json:"sessionTarget,omitempty" minLength:"1"`
	WakeMode       string             `json:"wakeMode,omitempty" enum:"next-heartbeat,now"`
	Payload        *CronPayloadPatch  `json:"payload,omitempty"`
	Delivery       *CronDeliveryPatch `json:"delivery,omitempty"`
}

// CronPayloadPatch changes a payload; a null clears an optional field.
type CronPayloadPatch struct {
	Kind           string          `json:"kind" enum:"agentTurn,systemEvent"`
	Message        string          `json:"message,omitempty" minLength:"1"`
	Text           string          `json:"text,omitempty" minLength:"1"`
	Model          json.RawMessage `json:"model,omitempty" type:"string|null"`
	Thinking       json.RawMessage `json:"thinking,omitempty" type:"string|null"`
	TimeoutSeconds json.RawMessage `json:"timeoutSeconds,omitempty" type:"number|null"`
}

// CronDeliveryPatch changes a delivery; a null clears a field.
type CronDeliveryPatch struct {
	Mode      string          `json:"mode,omitempty" enum:"none,announce"`
	Channel   json.RawMessage `json:"channel,omitempty" type:"string|null"`
	To        json.RawMessage `json:"to,omitempty" type:"string|null"`
	AccountID json.RawMessage `json:"accountId,omitempty" type:"string|null"`
	ThreadID  json.RawMessage `json:"threadId,omitempty" type:"string|integer|null"`
}

// CronRemoved is cron.remove's result.
type CronRemoved struct {
	OK      bool `json:"ok"`
	Removed bool `json:"removed"`
}

// CronRunParams are cron.run's params: force (the default) runs now; due
// runs only when the job is due; if-enabled only when it is enabled.
type CronRunParams struct {
	ID                        string `json:"id,omitempty" minLength:"1"`
	JobID                     string `json:"jobId,omitempty" minLength:"1"`
	Mode                      string `json:"mode,omitempty" enum:"due,force,if-enabled"`
	ExpectedProcessInstanceID string `json:"expectedProcessInstanceId,omitempty" minLength:"1"`
}

// CronRunStarted is cron.run's result: the run was started (enqueued,
// with its runId), or not (ran false, with the reason).
type CronRunStarted struct {
	OK                bool   `json:"ok"`
	Enqueued          bool   `json:"enqueued,omitempty"`
	Ran               *bool  `json:"ran,omitempty"`
	Reason            string `json:"reason,omitempty"`
	RunID             string `json:"runId,omitempty"`
	ProcessInstanceID string `json:"processInstanceId"`
}

// CronRunsParams are cron.runs's params: one job's runs (id) or every
// job's (scope all), newest first unless sortDir asc.
type CronRunsParams struct {
	AgentID  string   `json:"agentId,omitempty" minLength:"1"`
	Scope    string   `json:"scope,omitempty" enum:"job,all"`
	ID       string   `json:"id,omitempty" minLength:"1"`
	JobID    string   `json:"jobId,omitempty" minLength:"1"`
	RunID    string   `json:"runId,omitempty" minLength:"1"`
	Limit    int      `json:"limit,omitempty" minimum:"1" maximum:"200"`
	Offset   int      `json:"offset,omitempty" minimum:"0"`
	Status   string   `json:"status,omitempty" enum:"all,ok,error,skipped"`
	Statuses []string `json:"statuses,omitempty" minItems:"1" maxItems:"3"`
	Query    string   `json:"query,omitempty"`
	SortDir  string   `json:"sortDir,omitempty" enum:"asc,desc"`
}

// CronRuns is cron.runs's result.
type CronRuns struct {
	Entries    []CronRunEntry `json:"entries"`
	Total      int            `json:"total"`
	Offset     int            `json:"offset"`
	Limit      int            `json:"limit"`
	HasMore    bool           `json:"hasMore"`
	NextOffset *int           `json:"nextOffset"`
}

// CronRunEntry is one run of a job. A run cut off by the gateway stopping
// is an error ("the gateway stopped during the run"); its slot does not
// run again.
type CronRunEntry struct {
	TS             int64      `json:"ts"`
	JobID          string     `json:"jobId"`
	JobName        string     `json:"jobName,omitempty"`
	Action         string     `json:"action"` // finished (or running, ours, while it runs)
	Status         string     `json:"status,omitempty"`
	Error          string     `json:"error,omitempty"`
	Summary        string     `json:"summary,omitempty"`
	Delivered      *bool      `json:"delivered,omitempty"`
	DeliveryStatus string     `json:"deliveryStatus,omitempty"`
	DeliveryError  string     `json:"deliveryError,omitempty"`
	SessionKey     string     `json:"sessionKey,omitempty"`
	RunID          string     `json:"runId,omitempty"`
	RunAtMs        int64      `json:"runAtMs"`
	DurationMs     *int64     `json:"durationMs,omitempty"`
	Model          string     `json:"model,omitempty"`
	Provider       string     `json:"provider,omitempty"`
	Usage          *CronUsage `json:"usage,omitempty"`
	// Trigger is what started it (ours): schedule, manual or wake.
	Trigger string `json:"trigger,omitempty"`
}

// CronUsage is a run's token usage.
type CronUsage struct {
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
	TotalTokens  int64 `json:"total_tokens"`
}

// CronEvent is the cron event: a job was added, updated or removed, or a
// run started or finished.
type CronEvent struct {
	JobID       string   `json:"jobId"`
	Action      string   `json:"action"` // added | updated | removed | started | finished
	TS          int64    `json:"ts"`
	RunID       string   `json:"runId,omitempty"`
	Status      string   `json:"status,omitempty"`
	Error       string   `json:"error,omitempty"`
	Summary     string   `json:"summary,omitempty"`
	SessionKey  string   `json:"sessionKey,omitempty"`
	NextRunAtMs *int64   `json:"nextRunAtMs,omitempty"`
	Job         *CronJob `json:"job,omitempty"`
}

// WakeParams are wake's params: a system event for an agent (the one of
// sessionKey, or agentId, else the default), acted on now (a heartbeat
// runs) or at its next heartbeat. The object is open, as the reference's.
type WakeParams struct {
	Mode       string `json:"mode" enum:"now,next-heartbeat"`
	Text       string `json:"text" minLength:"1"`
	SessionKey string `json:"sessionKey,omitempty" minLength:"1"`
	AgentID    string `json:"agentId,omitempty" minLength:"1"`
}

// ExtendSchema opens the object: the reference accepts other keys.
func (WakeParams) ExtendSchema(s map[string]any) { s["additionalProperties"] = true }

// SetHeartbeatsParams are set-heartbeats's params.
type SetHeartbeatsParams struct {
	Enabled bool `json:"enabled"`
}

// HeartbeatsSet is set-heartbeats's result.
type HeartbeatsSet struct {
	OK      bool `json:"ok"`
	Enabled bool `json:"enabled"`
}

// HeartbeatEvent is the heartbeat event, and last-heartbeat's result (null
// before the first heartbeat): how a heartbeat turn went. Status is
// ok-token (the agent answered the ack token, nothing to say), ok-empty,
// sent (its reply went to the configured target), ran (it replied; no
// target is configured), skipped (Reason: disabled, busy, no-provider) or
// failed (Error).
type HeartbeatEvent struct {
	TS         int64  `json:"ts"`
	Status     string `json:"status"`
	Reason     string `json:"reason,omitempty"`
	DurationMs int64  `json:"durationMs"`
	AgentID    string `json:"agentId,omitempty"`
	SessionKey string `json:"sessionKey,omitempty"`
	RunID      string `json:"runId,omitempty"`
	Preview    string `json:"preview,omitempty"`
	Channel    string `json:"channel,omitempty"`
	To         string `json:"to,omitempty"`
	Error      string `json:"error,omitempty"`
}

// String words a schedule for a person: "every 30m0s", "cron 0 3 * * *
// (Europe/Paris)", "at 2026-12-24T18:00:00Z".
func (s CronSchedule) String() string {
	switch s.Kind {
	case "every":
		return "every " + (time.Duration(s.EveryMs) * time.Millisecond).String()
	case "cron":
		if s.TZ != "" {
			return "cron " + s.Expr + " (" + s.TZ + ")"
		}
		return "cron " + s.Expr
	}
	return "at " + s.At
}

package protocol

import "encoding/json"

// Agent runs: the agent, agent.wait and chat.* methods, and the agent and
// chat events a run streams.

// AgentParams are agent's params.
type AgentParams struct {
	Message        string `json:"message" minLength:"1" maxLength:"1048576"`
	IdempotencyKey string `json:"idempotencyKey" minLength:"1" maxLength:"256"`
	AgentID        string `json:"agentId,omitempty"`
	SessionKey     string `json:"sessionKey,omitempty"`
	Thinking       string `json:"thinking,omitempty"`
	Deliver        bool   `json:"deliver,omitempty"`
	Channel        string `json:"channel,omitempty"`
	To             string `json:"to,omitempty"`
	// Timeout is in seconds.
	Timeout           float64 `json:"timeout,omitempty" minimum:"0" maximum:"86400"`
	Model             string  `json:"model,omitempty"`
	ExtraSystemPrompt string  `json:"extraSystemPrompt,omitempty"`
	Label             string  `json:"label,omitempty"`
}

// AgentResponse is each of agent's answers: first accepted (or in_flight
// for a repeated key still running), then the final, on the same request id.
type AgentResponse struct {
	RunID      string       `json:"runId"`
	SessionKey string       `json:"sessionKey,omitempty"`
	AgentID    string       `json:"agentId,omitempty"`
	Status     string       `json:"status"` // accepted | in_flight | ok | error | timeout
	AcceptedAt int64        `json:"acceptedAt,omitempty"`
	Summary    string       `json:"summary,omitempty"`
	Result     *AgentResult `json:"result,omitempty"`
}

// AgentResult is a completed turn's output.
type AgentResult struct {
	Payloads []AgentPayload `json:"payloads"`
	Meta     AgentMeta      `json:"meta"`
}

// AgentPayload is one piece of a reply.
type AgentPayload struct {
	Text     string  `json:"text"`
	MediaURL *string `json:"mediaUrl"`
}

// AgentMeta describes how a turn ran.
type AgentMeta struct {
	DurationMs int64          `json:"durationMs"`
	AgentMeta  AgentRunMeta   `json:"agentMeta"`
	Aborted    bool           `json:"aborted"`
	StopReason string         `json:"stopReason"`
	Delivery   map[string]any `json:"delivery,omitempty"`
}

// AgentRunMeta names the session, provider and model of a turn.
type AgentRunMeta struct {
	SessionID   string `json:"sessionId"`
	SessionFile string `json:"sessionFile"`
	Provider    string `json:"provider"`
	Model       string `json:"model"`
	Usage       Usage  `json:"usage"`
}

// Usage counts a turn's tokens.
type Usage struct {
	Input  int `json:"input"`
	Output int `json:"output"`
	Total  int `json:"total"`
}

// AgentWaitParams are agent.wait's params.
type AgentWaitParams struct {
	RunID     string `json:"runId" minLength:"1"`
	TimeoutMs int    `json:"timeoutMs,omitempty" minimum:"0" maximum:"86400000"`
}

// AgentWait is agent.wait's result.
type AgentWait struct {
	RunID     string `json:"runId"`
	Status    string `json:"status"` // ok | error | timeout
	StartedAt int64  `json:"startedAt,omitempty"`
	EndedAt   int64  `json:"endedAt,omitempty"`
	Error     string `json:"error,omitempty"`
}

// ChatSendParams are chat.send's params. Besides what a turn needs, the
// fields the reference's Control UI sends with a message are accepted:
// deliver (false: the reply stays in the chat; true is refused: a reply is
// delivered to a channel with agent's deliver, channel and to),
// expectedLeafEntryId and sessionId (the app's view of the transcript, for
// the reference's branching transcripts; ours are linear and a turn always
// continues the session's current transcript, so they are not compared),
// thinking (the turn's reasoning effort, as agent's).
type ChatSendParams struct {
	SessionKey          string  `json:"sessionKey" minLength:"1"`
	Message             string  `json:"message" minLength:"1" maxLength:"1048576"`
	IdempotencyKey      string  `json:"idempotencyKey" minLength:"1" maxLength:"256"`
	AgentID             string  `json:"agentId,omitempty"`
	SessionID           string  `json:"sessionId,omitempty" minLength:"1"`
	Thinking            string  `json:"thinking,omitempty"`
	Deliver             bool    `json:"deliver,omitempty"`
	ExpectedLeafEntryID *string `json:"expectedLeafEntryId,omitempty" type:"string|null" minLength:"1"`
	TimeoutMs           int     `json:"timeoutMs,omitempty" minimum:"0" maximum:"86400000"`
}

// ChatSend is chat.send's result: the run started; its output comes as
// events.
type ChatSend struct {
	RunID  string `json:"runId"`
	Status string `json:"status"` // started | in_flight | ok | error …
}

// ChatAbortParams are chat.abort's params.
type ChatAbortParams struct {
	SessionKey string `json:"sessionKey" minLength:"1"`
	RunID      string `json:"runId,omitempty"`
}

// ChatAbort is chat.abort's result.
type ChatAbort struct {
	OK      bool     `json:"ok"`
	Aborted bool     `json:"aborted"`
	RunIDs  []string `json:"runIds"`
}

// ChatHistoryParams are chat.history's (and chat.startup's) params, the
// reference's set.
type ChatHistoryParams struct {
	SessionKey string `json:"sessionKey" minLength:"1"`
	AgentID    string `json:"agentId,omitempty" minLength:"1"`
	Limit      int    `json:"limit,omitempty" minimum:"1" maximum:"1000"`
	// MaxBytes bounds the answer's size: the newest messages that fit are
	// returned (always at least the newest one), hasMore says there are
	// more. Default and cap: 8 MiB, well inside any client's frame limit (a
	// larger value is taken as the cap).
	MaxBytes int `json:"maxBytes,omitempty" minimum:"1024"`
	// Offset skips that many of the newest messages: the page before them.
	Offset int `json:"offset,omitempty" minimum:"0"`
	// InputRunIDs asks what became of messages the caller sent (their
	// idempotency keys): inputReceipts answers each.
	InputRunIDs []string `json:"inputRunIds,omitempty" minItems:"1" maxItems:"50"`
	// SessionID, when given, must be the session's current id.
	SessionID string `json:"sessionId,omitempty" minLength:"1"`
	// MaxChars truncates each message's text to this many characters.
	MaxChars int `json:"maxChars,omitempty" minimum:"1" maximum:"500000"`
	// Cursor, PendingBefore and MessageID are the reference's incremental
	// catch-up: accepted, and answered with the newest page (this gateway
	// hands out no cursor, so a client never has one of ours to resume).
	Cursor        string `json:"cursor,omitempty"`
	PendingBefore int    `json:"pendingBefore,omitempty" minimum:"1"`
	MessageID     string `json:"messageId,omitempty" minLength:"1"`
}

// ExtendSchema bounds each of inputRunIds (an idempotency key) and makes
// them unique, as the reference does.
func (ChatHistoryParams) ExtendSchema(s map[string]any) {
	ids := s["properties"].(map[string]any)["inputRunIds"].(map[string]any)
	ids["items"] = map[string]any{"type": "string", "minLength": 1, "maxLength": 256}
	ids["uniqueItems"] = true
}

// ChatHistory is chat.history's result.
type ChatHistory struct {
	SessionKey    string        `json:"sessionKey"`
	SessionID     string        `json:"sessionId"`
	Messages      []ChatMessage `json:"messages"`
	HasMore       bool          `json:"hasMore"`
	TotalMessages int           `json:"totalMessages"`
	// InputReceipts answers inputRunIds: "consumed" when the message is in
	// the transcript (consumedByEventId names it), else "pending".
	InputReceipts []InputReceipt `json:"inputReceipts,omitempty"`
	// InFlightRun is the session's turn in progress, if any, with its
	// text so far: a reader that (re)connects mid-run starts from it and
	// continues with the run's events after it (docs/PROTOCOL.md §6.4).
	InFlightRun *InFlightRun `json:"inFlightRun,omitempty"`
}

// InFlightRun is a turn still running: the reply's text so far and the
// last agent and chat event seqs of the run that text includes.
type InFlightRun struct {
	RunID     string `json:"runId"`
	Text      string `json:"text"`
	StartedAt int64  `json:"startedAt,omitempty"`
	Seq       int64  `json:"seq"`
	ChatSeq   int64  `json:"chatSeq"`
}

// InputReceipt says whether a message the caller sent has reached the
// transcript.
type InputReceipt struct {
	RunID             string `json:"runId"`
	State             string `json:"state"` // pending | consumed
	ConsumedByEventID string `json:"consumedByEventId,omitempty"`
}

// ChatMessage is one transcript message as the reference returns it: a
// user message's content is a string, an assistant message's a list of
// TextParts with its provider, model, stop reason and usage.
type ChatMessage struct {
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	Timestamp int64           `json:"timestamp"`
	// IdempotencyKey is a user message's "<the key it was sent with>:user",
	// which a client matches against what it sent (the reference's app
	// clears its outbox with it).
	IdempotencyKey string          `json:"idempotencyKey,omitempty"`
	RunID          string          `json:"runId,omitempty"`
	Provider       string          `json:"provider,omitempty"`
	Model          string          `json:"model,omitempty"`
	StopReason     string          `json:"stopReason,omitempty"`
	Usage          json.RawMessage `json:"usage,omitempty"`
	// Meta identifies a transcript message (absent in a chat event's
	// message, which is not in the transcript yet): a client that got the
	// message as it streamed, as a session.message event and in a history
	// page shows it once.
	Meta *MessageMeta `json:"__openclaw,omitempty"`
}

// MessageMeta is a transcript message's identity, in the reference's
// "__openclaw" field.
type MessageMeta struct {
	ID             string `json:"id"`
	Seq            int64  `json:"seq"` // its position in the session, from 1
	RunID          string `json:"runId,omitempty"`
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
}

// TextPart is one part of an assistant message's content.
type TextPart struct {
	Type string `json:"type"` // "text"
	Text string `json:"text"`
}

// TextParts is the content of an assistant message holding text.
func TextParts(text string) []TextPart { return []TextPart{{Type: "text", Text: text}} }

// AgentEvent is the agent event's payload. Seq counts per run from 1; Data
// depends on Stream: *Lifecycle, *AssistantDelta, *ToolEvent or *Usage.
type AgentEvent struct {
	RunID string `json:"runId"`
	Seq   int64  `json:"seq"`
	// FromSeq is set on an assistant event that stands for several merged
	// ones (a reader that fell behind): it covers run seqs FromSeq..Seq,
	// its delta is theirs concatenated and its text the last one's
	// (docs/PROTOCOL.md §6.3).
	FromSeq    int64  `json:"fromSeq,omitempty"`
	Stream     string `json:"stream"` // lifecycle | assistant | tool | usage
	TS         int64  `json:"ts"`
	SessionKey string `json:"sessionKey,omitempty"`
	AgentID    string `json:"agentId,omitempty"`
	Data       any    `json:"data"`
}

// Agent event streams.
const (
	StreamLifecycle = "lifecycle"
	StreamAssistant = "assistant"
	StreamTool      = "tool"
	StreamUsage     = "usage"
)

// Lifecycle is a lifecycle stream's data: start, end or error.
type Lifecycle struct {
	Phase     string `json:"phase"` // start | end | error
	StartedAt int64  `json:"startedAt,omitempty"`
	EndedAt   int64  `json:"endedAt,omitempty"`
	Aborted   *bool  `json:"aborted,omitempty"`
	Error     string `json:"error,omitempty"`
}

// AssistantDelta is an assistant stream's data: the text so far and what
// this event adds.
type AssistantDelta struct {
	Text  string `json:"text"`
	Delta string `json:"delta"`
}

// ToolEvent is a tool stream's data: a call starting (with its arguments)
// or its result.
type ToolEvent struct {
	Phase      string          `json:"phase"` // start | result
	Name       string          `json:"name"`
	ToolCallID string          `json:"toolCallId"`
	Args       json.RawMessage `json:"args,omitempty"`
	Result     *string         `json:"result,omitempty"`
	IsError    *bool           `json:"isError,omitempty"`
}

// ChatEvent is the chat event's payload. Seq counts per run from 1.
type ChatEvent struct {
	RunID      string `json:"runId"`
	SessionKey string `json:"sessionKey"`
	Seq        int64  `json:"seq"`
	// FromSeq is set on a delta that stands for several merged ones: it
	// covers run seqs FromSeq..Seq and its deltaText is theirs
	// concatenated (docs/PROTOCOL.md §6.3).
	FromSeq      int64        `json:"fromSeq,omitempty"`
	State        string       `json:"state"` // delta | final | aborted | error
	DeltaText    string       `json:"deltaText,omitempty"`
	Message      *ChatMessage `json:"message,omitempty"`
	StopReason   string       `json:"stopReason,omitempty"`
	ErrorMessage string       `json:"errorMessage,omitempty"`
}

// SessionMessagesParams are sessions.messages.subscribe's params: the
// session whose agent and chat events a socket that connected with the
// "session-scoped-events" cap receives (docs/PROTOCOL.md §6).
type SessionMessagesParams struct {
	Key     string `json:"key" minLength:"1" maxLength:"512"`
	AgentID string `json:"agentId,omitempty"`
	// IncludeApprovals asks for the session's pending approvals too: there
	// are none here (tools run without exec approvals), so nothing is
	// replayed. The reference accepts only true.
	IncludeApprovals bool `json:"includeApprovals,omitempty"`
}

// ExtendSchema makes includeApprovals accept only true, as the reference.
func (SessionMessagesParams) ExtendSchema(s map[string]any) {
	s["properties"].(map[string]any)["includeApprovals"] = map[string]any{"const": true}
}

// SessionUnsubscribeParams are sessions.messages.unsubscribe's params.
type SessionUnsubscribeParams struct {
	Key     string `json:"key" minLength:"1" maxLength:"512"`
	AgentID string `json:"agentId,omitempty"`
}

// SessionSubscription is their result.
type SessionSubscription struct {
	Subscribed bool   `json:"subscribed"`
	Key        string `json:"key"`
}

// CapSessionScopedEvents is the connect cap that makes a socket receive
// agent and chat events only for the sessions it subscribed to.
const CapSessionScopedEvents = "session-scoped-events"

package protocol

import "encoding/json"

// Messaging channels: send and the channel pairing methods.

// SendParams are send's params.
type SendParams struct {
	To             string          `json:"to" minLength:"1"`
	IdempotencyKey string          `json:"idempotencyKey" minLength:"1" maxLength:"256"`
	Message        string          `json:"message,omitempty"`
	MediaURL       string          `json:"mediaUrl,omitempty"`
	Channel        string          `json:"channel,omitempty"`
	AccountID      string          `json:"accountId,omitempty"`
	ReplyToID      json.RawMessage `json:"replyToId,omitempty" type:"string|integer"`
	ThreadID       json.RawMessage `json:"threadId,omitempty" type:"string|integer"`
	Silent         bool            `json:"silent,omitempty"`
	ParseMode      string          `json:"parseMode,omitempty" enum:"HTML"`
}

// SendResult is send's result: where the message went.
type SendResult struct {
	RunID     string `json:"runId"`
	MessageID string `json:"messageId"`
	Channel   string `json:"channel"`
	ChatID    string `json:"chatId,omitempty"`
}

// PairingListParams are channels.pairing.list's params.
type PairingListParams struct {
	Channel   string `json:"channel,omitempty" minLength:"1"`
	AccountID string `json:"accountId,omitempty" minLength:"1"`
}

// PairingList is channels.pairing.list's result.
type PairingList struct {
	Accounts               []PairingAccount `json:"accounts"`
	Requests               []PairingRequest `json:"requests"`
	CommandOwnerConfigured bool             `json:"commandOwnerConfigured"`
	Limits                 PairingLimits    `json:"limits"`
}

// PairingAccount is a channel account that pairs senders.
type PairingAccount struct {
	Channel         string `json:"channel"`
	ChannelLabel    string `json:"channelLabel"`
	AccountID       string `json:"accountId"`
	NotifySupported bool   `json:"notifySupported"`
}

// PairingRequest is a sender waiting for approval.
type PairingRequest struct {
	RequestID       string            `json:"requestId"`
	Code            string            `json:"code"`
	Channel         string            `json:"channel"`
	ChannelLabel    string            `json:"channelLabel"`
	AccountID       string            `json:"accountId"`
	SenderID        string            `json:"senderId"`
	SenderLabel     string            `json:"senderLabel"`
	CreatedAt       string            `json:"createdAt"`
	LastSeenAt      string            `json:"lastSeenAt"`
	ExpiresAt       string            `json:"expiresAt"`
	NotifySupported bool              `json:"notifySupported"`
	Metadata        map[string]string `json:"metadata,omitempty"`
}

// PairingLimits are a channel's pairing limits.
type PairingLimits struct {
	PendingPerAccount int   `json:"pendingPerAccount"`
	TTLMs             int64 `json:"ttlMs"`
}

// PairingApproveParams are channels.pairing.approve's params: the request
// by code or by requestId.
type PairingApproveParams struct {
	Channel               string `json:"channel" minLength:"1"`
	AccountID             string `json:"accountId,omitempty" minLength:"1"`
	RequestID             string `json:"requestId,omitempty" minLength:"1"`
	Code                  string `json:"code,omitempty" minLength:"1" maxLength:"64"`
	Notify                bool   `json:"notify,omitempty"`
	BootstrapCommandOwner bool   `json:"bootstrapCommandOwner,omitempty"`
}

// ExtendSchema requires one of requestId and code.
func (PairingApproveParams) ExtendSchema(s map[string]any) {
	s["anyOf"] = []any{map[string]any{"required": []string{"requestId"}}, map[string]any{"required": []string{"code"}}}
}

// PairingApproved is channels.pairing.approve's result.
type PairingApproved struct {
	RequestID             string `json:"requestId"`
	SenderID              string `json:"senderId"`
	Notification          string `json:"notification"` // not-requested | sent | failed
	CommandOwnerBootstrap string `json:"commandOwnerBootstrap"`
}

// ChannelsStatusParams are channels.status's params. Probe and TimeoutMs
// are accepted: the accounts check their credentials as they run, and the
// answer is their live state.
type ChannelsStatusParams struct {
	Probe     bool   `json:"probe,omitempty"`
	TimeoutMs int    `json:"timeoutMs,omitempty" minimum:"0"`
	Channel   string `json:"channel,omitempty" minLength:"1"`
}

// ChannelsStatus is channels.status's result: per channel, a summary and
// every account's state, with the problems found.
type ChannelsStatus struct {
	TS                      int64                      `json:"ts"`
	ChannelOrder            []string                   `json:"channelOrder"`
	ChannelLabels           map[string]string          `json:"channelLabels"`
	ChannelDetailLabels     map[string]string          `json:"channelDetailLabels"`
	ChannelMeta             []ChannelMeta              `json:"channelMeta"`
	Channels                map[string]ChannelSummary  `json:"channels"`
	ChannelAccounts         map[string][]AccountStatus `json:"channelAccounts"`
	ChannelDefaultAccountID map[string]string          `json:"channelDefaultAccountId"`
	StatusIssues            []ChannelStatusIssue       `json:"statusIssues"`
}

// ChannelMeta names a channel for a UI.
type ChannelMeta struct {
	ID          string `json:"id"`
	Label       string `json:"label"`
	DetailLabel string `json:"detailLabel"`
}

// ChannelSummary is one channel's state: its default account's.
type ChannelSummary struct {
	Configured bool     `json:"configured"`
	Linked     bool     `json:"linked"`
	Running    bool     `json:"running"`
	Mode       string   `json:"mode,omitempty"`
	Bot        *BotInfo `json:"bot,omitempty"`
	LastError  string   `json:"lastError,omitempty"`
}

// ChannelStatusIssue is a problem with one account.
type ChannelStatusIssue struct {
	Channel   string `json:"channel"`
	AccountID string `json:"accountId"`
	Kind      string `json:"kind"` // auth | runtime | config
	Message   string `json:"message"`
	Fix       string `json:"fix,omitempty"`
}

// ChannelAccountParams name one channel account (channels.start, .stop,
// .logout); without accountId, the channel's default account.
type ChannelAccountParams struct {
	Channel   string `json:"channel" minLength:"1"`
	AccountID string `json:"accountId,omitempty"`
}

// ChannelStarted is channels.start's result.
type ChannelStarted struct {
	Channel   string       `json:"channel"`
	AccountID string       `json:"accountId"`
	Started   bool         `json:"started"`
	Outcome   StartOutcome `json:"outcome"`
}

// StartOutcome is what channels.start did, as the reference words it: an
// account it started is {status: "handed-off"}; one already running is
// {status: "retry", reason: "task-owned"}.
type StartOutcome struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// ChannelStopped is channels.stop's result. A stopped account stays
// stopped until channels.start or the next start of the gateway.
type ChannelStopped struct {
	Channel   string `json:"channel"`
	AccountID string `json:"accountId"`
	Stopped   bool   `json:"stopped"`
}

// ChannelLoggedOut is channels.logout's result: the account's credentials
// were removed from the config file (Cleared); one given by the
// environment stays (EnvToken), so the account is then not LoggedOut.
type ChannelLoggedOut struct {
	Channel   string `json:"channel"`
	AccountID string `json:"accountId"`
	Cleared   bool   `json:"cleared"`
	EnvToken  bool   `json:"envToken"`
	LoggedOut bool   `json:"loggedOut"`
}

// PairingDismissParams are channels.pairing.dismiss's params.
type PairingDismissParams struct {
	Channel   string `json:"channel" minLength:"1"`
	AccountID string `json:"accountId" minLength:"1"`
	RequestID string `json:"requestId" minLength:"1"`
}

// PairingDismissed is channels.pairing.dismiss's result: the request is
// gone, its sender not allowed.
type PairingDismissed struct {
	RequestID string `json:"requestId"`
	SenderID  string `json:"senderId"`
}

// MessageActionParams are message.action's params (what `openclaw message
// send` calls): an action on a channel with the action's own params. The
// send action is served: params target (or to, "<channel>:<target>"),
// message, silent, replyTo, threadId. The context fields the reference's
// agents add are accepted and not used.
type MessageActionParams struct {
	Channel                string          `json:"channel" minLength:"1"`
	Action                 string          `json:"action" minLength:"1"`
	Params                 map[string]any  `json:"params"`
	IdempotencyKey         string          `json:"idempotencyKey" minLength:"1" maxLength:"256"`
	AccountID              string          `json:"accountId,omitempty"`
	AgentID                string          `json:"agentId,omitempty"`
	SessionKey             string          `json:"sessionKey,omitempty"`
	SessionID              string          `json:"sessionId,omitempty"`
	SenderIsOwner          *bool           `json:"senderIsOwner,omitempty"`
	ConversationReadOrigin string          `json:"conversationReadOrigin,omitempty" const:"direct-operator"`
	InboundTurnKind        string          `json:"inboundTurnKind,omitempty" enum:"user_request,room_event"`
	RequesterAccountID     string          `json:"requesterAccountId,omitempty"`
	RequesterSenderID      string          `json:"requesterSenderId,omitempty"`
	Reply                  json.RawMessage `json:"reply,omitempty" type:"object"`
	ToolContext            json.RawMessage `json:"toolContext,omitempty" type:"object"`
}

// MessageActionResult is message.action's result for send.
type MessageActionResult struct {
	OK        bool   `json:"ok"`
	Action    string `json:"action"`
	Channel   string `json:"channel"`
	To        string `json:"to"`
	MessageID string `json:"messageId"`
	ChatID    string `json:"chatId,omitempty"`
	RunID     string `json:"runId"`
}

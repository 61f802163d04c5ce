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

package core

import (
	"encoding/json"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/config"
	"openclaw/transport/protocol"
	"openclaw/transport/server"
)

// Reply answers a request a connection made on behalf of a client request.
type Reply struct {
	ReqID   string
	Payload any
	Err     *protocol.ErrorShape
	// Interim marks a first response of a two-stage method (agent's
	// "accepted"): it is written, and the request stays in flight until the
	// final reply with the same id.
	Interim bool
}

// ---- hub ----

// SpawnConn asks the hub to spawn the actor for a new socket; the hub
// responds with its *actor.PID.
type SpawnConn struct{ Sock *server.Socket }

// Register tells the hub a connection finished its handshake and may receive
// broadcasts.
type Register struct {
	ConnID string
	PID    *actor.PID
	Sock   *server.Socket
	Role   string
	Scopes Scopes
	Mode   string
	// Auth is how the socket authenticated: none, token, password or
	// device-token. A rotated shared secret closes the token and password ones.
	Auth string
	// Client and DeviceID describe the socket (nodes_list, status).
	Client   ClientInfo
	DeviceID string
}

// SecretRotated tells the hub, then each socket that authenticated with the
// shared secret, that the secret changed: those sockets are closed 4001.
type SecretRotated struct{}

// Unregister tells the hub a connection is gone.
type Unregister struct{ ConnID string }

// Publish asks the hub to fan a broadcast out to every connection it
// matches.
type Publish struct{ B *protocol.Broadcast }

// Deliver is the hub handing one broadcast to one connection actor, which
// adds its own seq and writes it.
type Deliver struct{ B *protocol.Broadcast }

// Shutdown tells the hub, then each connection, that the gateway is going
// away: every socket gets the shutdown event and close 1012. The hub responds
// once every connection has been told.
type Shutdown struct {
	Reason            string
	RestartExpectedMs int64
}

// NodesGet asks the hub for the connected node sockets.
type NodesGet struct{ ReqID }

// StatusGet asks the hub for the status summary.
type StatusGet struct{ ReqID }

// ---- presence ----

// PresenceConnect adds or refreshes the row of a tracked connection.
type PresenceConnect struct {
	Key    string
	ConnID string
	Entry  PresenceEntry
}

// PresenceDisconnect marks a connection's row as disconnected; it expires
// after the TTL. It is ignored when another connection has taken the row
// over since (a node that reconnected before its old socket's close was seen).
type PresenceDisconnect struct{ Key, ConnID string }

// PresenceList asks for the roster, newest first.
type PresenceList struct{ ReqID }

// SystemEvent is the system-event method's params.
type SystemEvent struct {
	ReqID
	Params SystemEventParams
}

// SystemEventParams mirrors the system-event schema.
type SystemEventParams struct {
	Text             string   `json:"text"`
	IdempotencyKey   string   `json:"idempotencyKey,omitempty"`
	SessionKey       string   `json:"sessionKey,omitempty"`
	DeviceID         string   `json:"deviceId,omitempty"`
	InstanceID       string   `json:"instanceId,omitempty"`
	Host             string   `json:"host,omitempty"`
	IP               string   `json:"ip,omitempty"`
	Mode             string   `json:"mode,omitempty"`
	Version          string   `json:"version,omitempty"`
	Platform         string   `json:"platform,omitempty"`
	DeviceFamily     string   `json:"deviceFamily,omitempty"`
	ModelIdentifier  string   `json:"modelIdentifier,omitempty"`
	Reason           string   `json:"reason,omitempty"`
	LastInputSeconds *float64 `json:"lastInputSeconds,omitempty"`
	Roles            []string `json:"roles,omitempty"`
	Scopes           []string `json:"scopes,omitempty"`
	Tags             []string `json:"tags,omitempty"`
}

// ---- health ----

// HealthGet asks for the health summary; Probe skips the cache.
type HealthGet struct {
	ReqID
	Probe bool
}

// HealthChanged tells the health actor that something it reports changed
// (a channel linked or failed): it rebuilds the summary and broadcasts it.
type HealthChanged struct{}

// ---- config ----

// ConfigChanged tells the channels actor that a hot reload installed Next in
// place of Prev; it restarts the channel accounts whose settings changed.
type ConfigChanged struct{ Prev, Next *config.Config }

// ---- channels ----

// ChannelSend asks the channels actor to send a message (the send method,
// the message_send tool, agent's deliver); it answers with *Reply.
type ChannelSend struct {
	ReqID
	Params SendParams
}

// SendParams are the send method's params (PROTOCOL.md §5.2).
type SendParams struct {
	To             string          `json:"to"`
	Message        string          `json:"message"`
	MediaURL       string          `json:"mediaUrl"`
	Channel        string          `json:"channel"`
	AccountID      string          `json:"accountId"`
	ReplyToID      json.RawMessage `json:"replyToId"`
	ThreadID       json.RawMessage `json:"threadId"`
	Silent         bool            `json:"silent"`
	ParseMode      string          `json:"parseMode"`
	IdempotencyKey string          `json:"idempotencyKey"`
}

// ---- devices ----

// PairCheck asks the device store whether a verified device may connect, and
// with which scopes. It is answered with *PairResult.
type PairCheck struct {
	DeviceID  string
	PublicKey string
	Role      string
	Scopes    []string
	Local     bool
	// SecretOK is true when the connection also proved the shared secret;
	// otherwise DeviceToken must match the device's token.
	SecretOK    bool
	DeviceToken string
	Client      ClientInfo
}

// PairResult answers PairCheck.
type PairResult struct {
	Err         *protocol.ErrorShape
	Scopes      []string
	DeviceToken string
	IssuedAtMs  int64
}

// ClientInfo is the connect frame's client block.
type ClientInfo struct {
	ID              string `json:"id"`
	DisplayName     string `json:"displayName,omitempty"`
	Version         string `json:"version"`
	Platform        string `json:"platform"`
	DeviceFamily    string `json:"deviceFamily,omitempty"`
	ModelIdentifier string `json:"modelIdentifier,omitempty"`
	Mode            string `json:"mode"`
	InstanceID      string `json:"instanceId,omitempty"`
	BuildID         string `json:"buildId,omitempty"`
	TimeZone        string `json:"timeZone,omitempty"`
}

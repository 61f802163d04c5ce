package core

import (
	"github.com/asynkron/protoactor-go/actor"

	"openclaw/config"
	"openclaw/transport/protocol"
)

// The messages actors send each other, grouped by the actor that receives
// them. Queries one actor makes of another are Requests too (answered the
// same way as a client's), so Ask serves both.

// ---- hub ----

// SpawnConn asks the hub to spawn (and supervise) the actor of a new socket;
// the hub responds with its *actor.PID.
type SpawnConn struct{ Props *actor.Props }

// Outlet is what the hub needs of a socket: the keepalive ping (false when
// the last one went unanswered and the socket was dropped), and queuing
// broadcasts, each with the socket's own next seq, in order behind what the
// socket already queued (its connection actor's responses included). It
// never blocks (server.Socket).
type Outlet interface {
	Ping() bool
	Broadcast(bs ...*protocol.Broadcast) int
}

// Register tells the hub a connection finished its handshake and may receive
// broadcasts. The connection queues hello-ok before it registers, so no
// event can overtake it.
type Register struct {
	PID    *actor.PID
	Socket Outlet
	Peer   *Peer
	// SharedSecret is true when the socket authenticated with the gateway
	// token or password: a rotated secret closes it.
	SharedSecret bool
}

// Unregister tells the hub a connection is gone.
type Unregister struct{ ConnID string }

// Publish asks the hub to fan a broadcast out to every connection it
// matches: the hub queues it on each socket directly, without a message
// to the connection's actor. Also are more broadcasts published with B, in
// order (a run's agent and chat event for one delta): a socket that gets
// them all writes them with one system call.
type Publish struct {
	B    *protocol.Broadcast
	Also []*protocol.Broadcast
	// Remote is set on a broadcast the hub delivers without forwarding it
	// to the other gateways of the cluster: one that came from another
	// gateway, or the cluster's merged presence roster.
	Remote bool
}

// Deliver hands one broadcast to one connection actor, which queues it on
// its socket with the socket's next seq.
type Deliver struct{ B *protocol.Broadcast }

// SecretRotated tells the hub, then each socket that authenticated with the
// shared secret, that the secret changed: those sockets are closed 4001.
type SecretRotated struct{}

// Shutdown tells the hub, then each connection, that the gateway is going
// away: every socket gets the shutdown event and close 1012. The hub responds
// with the number of authenticated connections told.
type Shutdown struct {
	Reason            string
	RestartExpectedMs int64
}

// CountConns asks the hub how many sockets are open, by role.
type CountConns = Request[struct{}, protocol.ConnectionCount]

// CloseDevice asks the hub to close every socket of a device (of one role,
// or of any when Role is empty): its pairing or token was revoked. Each such
// connection actor gets a *CloseConn.
type CloseDevice struct {
	DeviceID string
	Role     Role
	Code     uint16
	Reason   string
	// Remote is set when another gateway of the cluster revoked it.
	Remote bool
}

// ConnectedDevices asks the hub which device ids have a socket open.
type ConnectedDevices = Request[struct{}, map[string]bool]

// ---- connection actors ----

// SendFrame hands a connection actor one encoded frame for its socket alone,
// written as is (no seq): a node's node.invoke.request goes out this way.
// Dropped when the socket is not open.
type SendFrame struct{ Frame []byte }

// CloseConn closes a connection's socket with a code and reason.
type CloseConn struct {
	Code   uint16
	Reason string
}

// ---- presence ----

// PresenceConnect adds or refreshes the row of a tracked connection.
type PresenceConnect struct {
	Key    string
	ConnID string
	Entry  protocol.PresenceEntry
}

// PresenceDisconnect marks a connection's row as disconnected; it expires
// after the TTL. It is ignored when another connection has taken the row
// over since (a node that reconnected before its old socket's close was seen).
type PresenceDisconnect struct{ Key, ConnID string }

// ---- health ----

// HealthChanged tells the health actor that something it reports changed
// (a channel linked or failed, config reload started): it rebuilds the
// summary and broadcasts it when it differs.
type HealthChanged struct{}

// ---- channels ----

// ConfigChanged tells the channels actor that a hot reload installed Next in
// place of Prev; it restarts the channel accounts whose settings changed.
type ConfigChanged struct{ Prev, Next *config.Config }

// ChannelsReport is the channels' part of the health summary.
type ChannelsReport struct {
	Channels map[string]protocol.ChannelHealth
	Order    []string
	Labels   map[string]string
	Link     *protocol.LinkChannel
}

// ReportChannels asks the channels actor for its report.
type ReportChannels = Request[struct{}, ChannelsReport]

// ---- nodes ----

// NodeConnected tells the nodes actor a node socket finished its handshake:
// what it declared and where to reach it. The connection actor sends it
// before any request of that socket, so the nodes actor always knows the
// session a node's request comes from.
type NodeConnected struct {
	ConnID   string
	NodeID   string
	PID      *actor.PID
	Client   protocol.ClientInfo
	Declared NodeSurface
	PathEnv  string
	RemoteIP string // "" on loopback
	Local    bool
}

// NodeSurface is a node's command surface: capability categories, commands
// and permission toggles.
type NodeSurface struct {
	Caps        []string
	Commands    []string
	Permissions map[string]bool
}

// NodeDisconnected tells the nodes actor a node socket is gone: its pending
// invokes fail at once.
type NodeDisconnected struct{ ConnID, NodeID string }

// NodeForget tells the nodes actor a node's pairing is gone (device removed,
// node role removed or its token revoked): it drops the approved surface and
// any pending request, and fails the node's pending invokes.
type NodeForget struct{ NodeID string }

// CountNodes asks the nodes actor how many nodes it knows.
type CountNodes = Request[struct{}, protocol.NodesCount]

// ---- sessions ----

// SessionTouched tells the sessions actor that a session's transcript
// changed outside it (a run appended to it): it tells the subscribers.
type SessionTouched struct {
	Key    string
	Reason string // "update"
}

// ---- runs ----

// ActiveRuns asks the runs actor for the runs in progress, by session key.
type ActiveRuns = Request[struct{}, map[string][]string]

// ---- cron ----

// CronReport is the scheduler's part of status: each agent's heartbeat,
// the system events waiting for one, and the runs recorded.
type CronReport struct {
	Heartbeats   []protocol.AgentHeartbeat
	QueuedEvents []string
	Tasks        protocol.TaskCounts
}

// ReportCron asks the cron actor for its report.
type ReportCron = Request[struct{}, CronReport]

// ---- devices ----

// PairCheck asks the device actor whether a verified device may connect,
// and with which scopes. It is answered with *PairResult.
type PairCheck struct {
	DeviceID  string
	PublicKey string
	Role      Role
	Scopes    []string
	Local     bool
	RemoteIP  string
	// SecretOK is true when the connection also proved the shared secret;
	// otherwise DeviceToken must match the device's token.
	SecretOK    bool
	DeviceToken string
	Client      protocol.ClientInfo
}

// OperatorTokenCheck asks the devices actor whether a bearer is the
// operator device token of a paired device: the reference's Control UI
// sends its own (from hello-ok) to the gateway's HTTP endpoints, and the
// reference accepts it. The answer is *OperatorTokenResult.
type OperatorTokenCheck struct{ Token string }

// OperatorTokenResult answers OperatorTokenCheck: OK, with the token's
// scopes, when the token is a paired device's current operator token.
type OperatorTokenResult struct {
	OK     bool
	Scopes Scopes
}

// PairResult answers PairCheck.
type PairResult struct {
	Err         *protocol.ErrorShape
	Scopes      []string
	DeviceToken string
	IssuedAtMs  int64
}

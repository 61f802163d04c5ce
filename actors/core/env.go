package core

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/store"
	"openclaw/config"
	"openclaw/transport/auth"
	"openclaw/transport/protocol"
	"openclaw/transport/server"
)

// Env is built once per gateway generation (a SIGUSR1 restart builds a new
// one) and read by every actor. Fields are set before the listener starts and
// never written after, except the atomics.
type Env struct {
	Version    string
	BuildID    string // version, commit and Go runtime of this binary
	BootID     string // per process
	InstanceID string // per gateway generation; the self presence row's id
	Started    time.Time
	PID        int

	Host     HostInfo
	Limits   server.Limits
	Validate *protocol.Validator
	// secret is the shared secret; a hot reload may rotate it.
	secret  atomic.Pointer[auth.Secret]
	Limiter *auth.Limiter
	// AutoApproveLocal pairs verified devices on loopback connections.
	AutoApproveLocal bool
	PresenceTTL      time.Duration
	HealthEvery      time.Duration
	// DrainTimeout bounds how long a stopping gateway waits for requests
	// in flight before it closes their sockets.
	DrainTimeout time.Duration

	StateDir   string
	ConfigPath string
	LogFile    func() string // the current log file, for logs.tail
	Log        *slog.Logger

	// Methods is the method table the connection actors dispatch on.
	Methods map[string]*Method
	// Events lists the events this gateway emits (hello-ok features.events).
	Events []string

	System   *actor.ActorSystem
	Hub      *actor.PID
	Presence *actor.PID
	Health   *actor.PID
	Devices  *actor.PID

	PresenceVersion atomic.Int64
	HealthVersion   atomic.Int64
	// PresenceSnap and HealthSnap are the latest published roster and health
	// summary, immutable once stored.
	PresenceSnap atomic.Pointer[[]PresenceEntry]
	HealthSnap   atomic.Pointer[map[string]any]
	// Store is the durable state database.
	Store *store.Store
	// Runs is the agent-runs actor.
	Runs *actor.PID
	// config is the active configuration; a hot reload swaps it.
	config atomic.Pointer[config.Config]
	// ReloadStatus is "active" while the config file is watched, else
	// "disabled" (health.configReload.hotReloadStatus).
	ReloadStatus atomic.Value
	// Reload is the config actor.
	Reload *actor.PID
	// Channels is the channels actor (one child per channel account).
	Channels *actor.PID
	// ChannelsSnap is the channels' part of the health summary (channels,
	// channelOrder, channelLabels, linkChannel), immutable once stored.
	ChannelsSnap atomic.Pointer[map[string]any]
	// Draining is set when the gateway is shutting down or restarting: new
	// handshakes get UNAVAILABLE and close 1013.
	Draining atomic.Bool
}

// Config is the configuration in force now (never nil).
func (e *Env) Config() *config.Config {
	if c := e.config.Load(); c != nil {
		return c
	}
	return &config.Config{}
}

// SetConfig installs a configuration applied in place by a hot reload.
func (e *Env) SetConfig(c *config.Config) { e.config.Store(c) }

// Secret is the shared secret in force now.
func (e *Env) Secret() auth.Secret { return *e.secret.Load() }

// SetSecret installs a (new) shared secret. Handshakes from now on check it;
// sockets that authenticated with the old one are closed by the hub.
func (e *Env) SetSecret(s auth.Secret) { e.secret.Store(&s) }

// HostInfo describes the machine, for the gateway's own presence row.
type HostInfo struct {
	Host, IP, Platform, DeviceFamily string
}

// StateVersion returns the current global counters.
func (e *Env) StateVersion() *protocol.StateVersion {
	return &protocol.StateVersion{Presence: e.PresenceVersion.Load(), Health: e.HealthVersion.Load()}
}

// Role names.
const (
	RoleOperator = "operator"
	RoleNode     = "node"
)

// Operator scopes.
const (
	ScopeRead      = "operator.read"
	ScopeWrite     = "operator.write"
	ScopeAdmin     = "operator.admin"
	ScopeApprovals = "operator.approvals"
	ScopePairing   = "operator.pairing"
)

// Scopes is a connection's effective operator scopes.
type Scopes []string

// Has reports whether the scopes grant s: admin implies every scope and write
// implies read.
func (sc Scopes) Has(s string) bool {
	if s == "" {
		return true
	}
	for _, g := range sc {
		if g == s || g == ScopeAdmin || (g == ScopeWrite && s == ScopeRead) {
			return true
		}
	}
	return false
}

// Method is one RPC the gateway serves.
type Method struct {
	// Scope is the operator scope needed ("" = none, like health).
	Scope string
	// Role is who may call it: RoleOperator, RoleNode, or "" for both.
	Role   string
	Handle func(c Call)
}

// Call is what a method handler gets: the request and a way to answer it.
// Exactly one of Reply or Fail must be called, now or later (from any
// goroutine): the connection writes the response.
type Call interface {
	Request() *protocol.Request
	Env() *Env
	Scopes() Scopes
	ConnID() string
	// Ask sends msg to pid; pid answers with ctx.Respond(*Reply) and the
	// connection writes that reply as this call's response.
	Ask(pid *actor.PID, msg ReplyTo)
	Reply(payload any)
	Fail(err *protocol.ErrorShape)
}

// ReplyTo is implemented by request messages that carry the request id the
// answer belongs to.
type ReplyTo interface{ SetReqID(id string) }

// ReqID is embedded in request messages.
type ReqID struct{ ID string }

// SetReqID implements ReplyTo.
func (r *ReqID) SetReqID(id string) { r.ID = id }

// Package methods is the gateway's method registry: every RPC method and
// every event it serves is declared here, once. A method's line names who may
// call it (role and scope), the actor that owns it, and, through its request
// type, its params and result types (in transport/protocol). The connection
// actor checks a call against this table, validates and decodes its params,
// and sends the owner a *methods.X request; the owner's Receive switches on
// those types and answers. hello-ok.features and the JSON Schemas
// (transport/protocol/schemas, go tool task protocol:gen) derive from it.
//
// Adding a method: a params struct and a result struct in transport/protocol,
// a request alias and a line below, a case in the owner's Receive, a test.
// docs/ARCHITECTURE.md walks through one.
package methods

import (
	"encoding/json"

	"openclaw/actors/core"
	"openclaw/transport/protocol"
)

// Request types, one per method: what its owner receives.
type (
	Health         = core.Request[protocol.HealthParams, protocol.Health]
	Status         = core.Request[protocol.Empty, protocol.Status]
	SystemPresence = core.Request[protocol.Empty, []protocol.PresenceEntry]
	SystemEvent    = core.Request[protocol.SystemEventParams, protocol.OKResult]
	LogsTail       = core.Request[protocol.LogsTailParams, protocol.LogsTail]
	IdentityGet    = core.Request[protocol.Empty, protocol.GatewayIdentity]

	ConfigGet   = core.Request[protocol.Empty, protocol.ConfigGet]
	ConfigApply = core.Request[protocol.ConfigApplyParams, protocol.ConfigWritten]
	ConfigPatch = core.Request[protocol.ConfigPatchParams, protocol.ConfigWritten]

	Agent       = core.Request[protocol.AgentParams, protocol.AgentResponse]
	AgentWait   = core.Request[protocol.AgentWaitParams, protocol.AgentWait]
	ChatSend    = core.Request[protocol.ChatSendParams, protocol.ChatSend]
	ChatAbort   = core.Request[protocol.ChatAbortParams, protocol.ChatAbort]
	ChatHistory = core.Request[protocol.ChatHistoryParams, protocol.ChatHistory]

	SessionsMessagesSubscribe   = core.Request[protocol.SessionMessagesParams, protocol.SessionSubscription]
	SessionsMessagesUnsubscribe = core.Request[protocol.SessionUnsubscribeParams, protocol.SessionSubscription]

	Send           = core.Request[protocol.SendParams, protocol.SendResult]
	PairingList    = core.Request[protocol.PairingListParams, protocol.PairingList]
	PairingApprove = core.Request[protocol.PairingApproveParams, protocol.PairingApproved]
)

// contentBytes is the frame limit of the methods that carry content (a
// message, a config): a message of the 1,048,576 characters the schema
// allows is up to 4 MiB of UTF-8, 6 escaped.
const contentBytes = 8 << 20

// Who may call what.
const (
	anyone   = core.RoleAny
	operator = core.RoleOperator
)

// Registry is every method the gateway serves.
var Registry = core.NewRegistry(
	// System
	core.Serve[Health]("health", anyone, core.NoScope, core.OwnerHealth),
	core.Serve[Status]("status", operator, core.ScopeRead, core.OwnerHealth),
	core.Serve[SystemPresence]("system-presence", operator, core.ScopeRead, core.OwnerPresence),
	core.Serve[SystemEvent]("system-event", operator, core.ScopeAdmin, core.OwnerPresence),
	core.Serve[LogsTail]("logs.tail", operator, core.ScopeRead, core.OwnerLogs),
	core.Serve[IdentityGet]("gateway.identity.get", operator, core.ScopeRead, core.OwnerDevices),

	// Config
	core.Serve[ConfigGet]("config.get", operator, core.ScopeAdmin, core.OwnerConfig),
	core.Serve[ConfigApply]("config.apply", operator, core.ScopeAdmin, core.OwnerConfig).WithMaxBytes(contentBytes),
	core.Serve[ConfigPatch]("config.patch", operator, core.ScopeAdmin, core.OwnerConfig).WithMaxBytes(contentBytes),

	// Agent runs
	core.Serve[Agent]("agent", operator, core.ScopeWrite, core.OwnerRuns).WithMaxBytes(contentBytes),
	core.Serve[AgentWait]("agent.wait", operator, core.ScopeWrite, core.OwnerRuns),
	core.Serve[ChatSend]("chat.send", operator, core.ScopeWrite, core.OwnerRuns).WithMaxBytes(contentBytes),
	core.Serve[ChatAbort]("chat.abort", operator, core.ScopeWrite, core.OwnerRuns),
	core.Serve[ChatHistory]("chat.history", operator, core.ScopeRead, core.OwnerRuns),
	// Which sessions' agent and chat events a socket with the
	// session-scoped-events cap gets: per socket, so the hub keeps them.
	core.Serve[SessionsMessagesSubscribe]("sessions.messages.subscribe", operator, core.ScopeRead, core.OwnerHub),
	core.Serve[SessionsMessagesUnsubscribe]("sessions.messages.unsubscribe", operator, core.ScopeRead, core.OwnerHub),

	// Channels
	core.Serve[Send]("send", operator, core.ScopeWrite, core.OwnerChannels).WithMaxBytes(contentBytes),
	core.Serve[PairingList]("channels.pairing.list", operator, core.ScopePairing, core.OwnerChannels),
	core.Serve[PairingApprove]("channels.pairing.approve", operator, core.ScopePairing, core.OwnerChannels),
)

// Events the gateway emits, with their payloads and who receives them.
var (
	Challenge         = event(core.Event[protocol.Challenge]{Name: "connect.challenge"})
	Tick              = event(core.Event[protocol.Tick]{Name: "tick", Droppable: true, NodesToo: true})
	Presence          = event(core.Event[protocol.PresenceEvent]{Name: "presence", Scope: core.ScopeRead, Droppable: true})
	HealthEvent       = event(core.Event[json.RawMessage]{Name: "health", Droppable: true, NodesToo: true})
	ShutdownEvent     = event(core.Event[protocol.Shutdown]{Name: "shutdown", NodesToo: true})
	NodePairRequested = event(core.Event[protocol.NodePairRequested]{Name: "node.pair.requested", Scope: core.ScopePairing})
	// Agent and chat events: a run marks its text deltas mergeable
	// (protocol.Delta), its run and its session.
	AgentEvent = event(core.Event[protocol.AgentEvent]{Name: "agent", Scope: core.ScopeRead})
	ChatEvent  = event(core.Event[protocol.ChatEvent]{Name: "chat", Scope: core.ScopeRead})
)

var eventNames []string

func event[T any](e core.Event[T]) core.Event[T] {
	eventNames = append(eventNames, e.Name)
	return e
}

// Events lists the events the gateway emits (hello-ok.features.events), in
// declaration order.
func Events() []string { return eventNames }

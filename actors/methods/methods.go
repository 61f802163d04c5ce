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

	// What a chat screen asks for on load (the reference's Control UI).
	ChatStartup                = core.Request[protocol.ChatHistoryParams, protocol.ChatStartup]
	ChatMetadata               = core.Request[protocol.ChatMetadataParams, protocol.ChatMetadata]
	AgentIdentityGet           = core.Request[protocol.AgentIdentityParams, protocol.AgentIdentity]
	SessionMessagesSubscribe   = core.Request[protocol.SessionMessagesParams, protocol.SessionMessagesSubscribed]
	SessionMessagesUnsubscribe = core.Request[protocol.SessionMessagesUnsubscribeParams, protocol.SessionMessagesSubscribed]
	DiagnosticsLanes           = core.Request[protocol.Empty, protocol.DiagnosticsLanes]
	UpdateStatus               = core.Request[protocol.Empty, protocol.UpdateStatus]

	Send           = core.Request[protocol.SendParams, protocol.SendResult]
	PairingList    = core.Request[protocol.PairingListParams, protocol.PairingList]
	PairingApprove = core.Request[protocol.PairingApproveParams, protocol.PairingApproved]

	NodeList              = core.Request[protocol.Empty, protocol.NodeList]
	NodeDescribe          = core.Request[protocol.NodeIDParams, protocol.NodeDescription]
	NodeRename            = core.Request[protocol.NodeRenameParams, protocol.NodeRenamed]
	NodeInvoke            = core.Request[protocol.NodeInvokeParams, protocol.NodeInvokeResult]
	NodeInvokeResult      = core.Request[protocol.NodeInvokeResultParams, protocol.NodeAck]
	NodeInvokeProgress    = core.Request[protocol.NodeInvokeProgressParams, protocol.NodeAck]
	NodeEvent             = core.Request[protocol.NodeEventParams, protocol.NodeEventResult]
	NodeSkillsUpdate      = core.Request[protocol.NodeSkillsUpdateParams, protocol.NodeSkills]
	NodePluginToolsUpdate = core.Request[protocol.NodePluginToolsUpdateParams, protocol.NodePluginTools]
	NodeRunnerInventory   = core.Request[protocol.NodeRunnerInventoryParams, protocol.NodeRef]
	NodePendingPull       = core.Request[protocol.Empty, protocol.NodePendingPull]
	NodePendingAck        = core.Request[protocol.NodePendingAckParams, protocol.NodePendingAck]
	NodePairList          = core.Request[protocol.Empty, protocol.NodePairList]
	NodePairApprove       = core.Request[protocol.RequestIDParams, protocol.NodePairApproved]
	NodePairReject        = core.Request[protocol.RequestIDParams, protocol.NodePairRejected]
	NodePairRequest       = core.Request[protocol.NodePairRequestParams, protocol.NodePairRequested]
	NodePairRemove        = core.Request[protocol.NodeIDParams, protocol.NodeRef]
	NodePairVerify        = core.Request[protocol.NodePairVerifyParams, protocol.NodePairVerified]
	DevicePairList        = core.Request[protocol.Empty, protocol.DevicePairList]
	DevicePairApprove     = core.Request[protocol.RequestIDParams, protocol.DevicePairApproved]
	DevicePairReject      = core.Request[protocol.RequestIDParams, protocol.DevicePairRejected]
	DevicePairRemove      = core.Request[protocol.DeviceIDParams, protocol.DeviceRef]
	DeviceTokenRotate     = core.Request[protocol.DeviceTokenRotateParams, protocol.DeviceTokenRotated]
	DeviceTokenRevoke     = core.Request[protocol.DeviceTokenRevokeParams, protocol.DeviceTokenRevoked]
)

// contentBytes is the frame limit of the methods that carry content (a
// message, a config): a message of the 1,048,576 characters the schema
// allows is up to 4 MiB of UTF-8, 6 escaped.
const contentBytes = 8 << 20

// frameBytes is the frame limit after auth (docs/PROTOCOL.md §1): a method
// with this limit is bounded by the transport alone.
const frameBytes = 25 << 20

// Who may call what.
const (
	anyone   = core.RoleAny
	operator = core.RoleOperator
	node     = core.RoleNode
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
	// The chat screen's other calls. Every operator.read socket gets
	// session.message (as it gets chat events), so subscribing to a
	// session's messages only acknowledges; unsubscribing changes nothing.
	core.Serve[ChatStartup]("chat.startup", operator, core.ScopeRead, core.OwnerRuns),
	core.Serve[ChatMetadata]("chat.metadata", operator, core.ScopeRead, core.OwnerRuns),
	core.Serve[AgentIdentityGet]("agent.identity.get", operator, core.ScopeRead, core.OwnerRuns),
	core.Serve[SessionMessagesSubscribe]("sessions.messages.subscribe", operator, core.ScopeRead, core.OwnerRuns),
	core.Serve[SessionMessagesUnsubscribe]("sessions.messages.unsubscribe", operator, core.ScopeRead, core.OwnerRuns),
	core.Serve[DiagnosticsLanes]("diagnostics.lanes", operator, core.ScopeRead, core.OwnerRuns),
	core.Serve[UpdateStatus]("update.status", operator, core.ScopeAdmin, core.OwnerHealth),

	// Channels
	core.Serve[Send]("send", operator, core.ScopeWrite, core.OwnerChannels).WithMaxBytes(contentBytes),
	core.Serve[PairingList]("channels.pairing.list", operator, core.ScopePairing, core.OwnerChannels),
	core.Serve[PairingApprove]("channels.pairing.approve", operator, core.ScopePairing, core.OwnerChannels),

	// Nodes: operators list, describe and invoke them and approve their
	// command surface; the node role reports results, events and catalogs.
	// node.invoke of an admin-only command (browser.proxy, fs.listDir,
	// terminal.upload) needs operator.admin, checked by the owner.
	core.Serve[NodeList]("node.list", operator, core.ScopeRead, core.OwnerNodes),
	core.Serve[NodeDescribe]("node.describe", operator, core.ScopeRead, core.OwnerNodes),
	core.Serve[NodeRename]("node.rename", operator, core.ScopePairing, core.OwnerNodes),
	core.Serve[NodeInvoke]("node.invoke", operator, core.ScopeWrite, core.OwnerNodes),
	core.Serve[NodePairList]("node.pair.list", operator, core.ScopePairing, core.OwnerNodes),
	core.Serve[NodePairApprove]("node.pair.approve", operator, core.ScopePairing, core.OwnerNodes),
	core.Serve[NodePairReject]("node.pair.reject", operator, core.ScopePairing, core.OwnerNodes),
	// A result may be as large as the frame limit allows; the nodes actor
	// answers one over half of it (the operator's answer carries it twice).
	core.Serve[NodeInvokeResult]("node.invoke.result", node, core.NoScope, core.OwnerNodes).WithMaxBytes(frameBytes),
	core.Serve[NodeInvokeProgress]("node.invoke.progress", node, core.NoScope, core.OwnerNodes),
	core.Serve[NodeEvent]("node.event", node, core.NoScope, core.OwnerNodes),
	core.Serve[NodeSkillsUpdate]("node.skills.update", node, core.NoScope, core.OwnerNodes),
	core.Serve[NodePluginToolsUpdate]("node.pluginTools.update", node, core.NoScope, core.OwnerNodes),
	core.Serve[NodeRunnerInventory]("node.runnerInventory.update", node, core.NoScope, core.OwnerNodes),
	core.Serve[NodePendingPull]("node.pending.pull", node, core.NoScope, core.OwnerNodes),
	core.Serve[NodePendingAck]("node.pending.ack", node, core.NoScope, core.OwnerNodes),
	core.Serve[NodePairRequest]("node.pair.request", node, core.NoScope, core.OwnerNodes),

	// Devices: pairing requests and device tokens, both roles. Removing a
	// node's pairing is a device change (the node role goes), so it is here.
	core.Serve[NodePairRemove]("node.pair.remove", operator, core.ScopePairing, core.OwnerDevices),
	core.Serve[NodePairVerify]("node.pair.verify", operator, core.ScopePairing, core.OwnerDevices),
	core.Serve[DevicePairList]("device.pair.list", operator, core.ScopePairing, core.OwnerDevices),
	core.Serve[DevicePairApprove]("device.pair.approve", operator, core.ScopePairing, core.OwnerDevices),
	core.Serve[DevicePairReject]("device.pair.reject", operator, core.ScopePairing, core.OwnerDevices),
	core.Serve[DevicePairRemove]("device.pair.remove", operator, core.ScopePairing, core.OwnerDevices),
	core.Serve[DeviceTokenRotate]("device.token.rotate", operator, core.ScopePairing, core.OwnerDevices),
	core.Serve[DeviceTokenRevoke]("device.token.revoke", operator, core.ScopePairing, core.OwnerDevices),
)

// Events the gateway emits, with their payloads and who receives them.
var (
	Challenge     = event(core.Event[protocol.Challenge]{Name: "connect.challenge"})
	Tick          = event(core.Event[protocol.Tick]{Name: "tick", Droppable: true, NodesToo: true})
	Presence      = event(core.Event[protocol.PresenceEvent]{Name: "presence", Scope: core.ScopeRead, Droppable: true})
	HealthEvent   = event(core.Event[json.RawMessage]{Name: "health", Droppable: true, NodesToo: true})
	ShutdownEvent = event(core.Event[protocol.Shutdown]{Name: "shutdown", NodesToo: true})
	// Pairing: a device waiting to pair, a node's command surface waiting
	// for approval, and the decisions.
	DevicePairRequested = event(core.Event[protocol.DevicePairRequest]{Name: "device.pair.requested", Scope: core.ScopePairing})
	DevicePairResolved  = event(core.Event[protocol.DevicePairResolved]{Name: "device.pair.resolved", Scope: core.ScopePairing, Droppable: true})
	NodePairRequested   = event(core.Event[protocol.NodePairRequest]{Name: "node.pair.requested", Scope: core.ScopePairing})
	NodePairResolved    = event(core.Event[protocol.NodePairResolved]{Name: "node.pair.resolved", Scope: core.ScopePairing, Droppable: true})
	// To one node socket only, without seq (Encode, core.SendFrame).
	NodeInvokeRequest = event(core.Event[protocol.NodeInvokeRequest]{Name: "node.invoke.request"})
	NodeInvokeCancel  = event(core.Event[protocol.NodeInvokeCancel]{Name: "node.invoke.cancel"})
	// Agent and chat events: a run marks its deltas droppable, the rest not.
	AgentEvent = event(core.Event[protocol.AgentEvent]{Name: "agent", Scope: core.ScopeRead})
	ChatEvent  = event(core.Event[protocol.ChatEvent]{Name: "chat", Scope: core.ScopeRead})
	// A message that joined a session's transcript.
	SessionMessage = event(core.Event[protocol.SessionMessage]{Name: "session.message", Scope: core.ScopeRead})
)

var eventNames []string

func event[T any](e core.Event[T]) core.Event[T] {
	eventNames = append(eventNames, e.Name)
	return e
}

// Events lists the events the gateway emits (hello-ok.features.events), in
// declaration order.
func Events() []string { return eventNames }

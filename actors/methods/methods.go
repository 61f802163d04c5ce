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
	_ "embed"
	"encoding/json"
	"strings"

	"openclaw/actors/core"
	"openclaw/transport/protocol"
)

// Request types, one per method: what its owner receives.
type (
	Health         = core.Request[protocol.HealthParams, protocol.Health]
	Status         = core.Request[protocol.StatusParams, protocol.Status]
	SystemPresence = core.Request[protocol.Empty, []protocol.PresenceEntry]
	SystemEvent    = core.Request[protocol.SystemEventParams, protocol.OKResult]
	LogsTail       = core.Request[protocol.LogsTailParams, protocol.LogsTail]
	IdentityGet    = core.Request[protocol.Empty, protocol.GatewayIdentity]

	ConfigGet          = core.Request[protocol.Empty, protocol.ConfigGet]
	ConfigSet          = core.Request[protocol.ConfigSetParams, protocol.ConfigSet]
	ConfigSchema       = core.Request[protocol.Empty, protocol.ConfigSchema]
	ConfigSchemaLookup = core.Request[protocol.ConfigSchemaLookupParams, protocol.ConfigSchemaLookup]
	ModelsList         = core.Request[protocol.ModelsListParams, protocol.ModelsList]
	ModelsAuthStatus   = core.Request[protocol.ModelsAuthStatusParams, protocol.ModelsAuthStatus]
	AgentsList         = core.Request[protocol.Empty, protocol.AgentsList]
	ConfigApply        = core.Request[protocol.ConfigApplyParams, protocol.ConfigWritten]
	ConfigPatch        = core.Request[protocol.ConfigPatchParams, protocol.ConfigWritten]

	Agent       = core.Request[protocol.AgentParams, protocol.AgentResponse]
	AgentWait   = core.Request[protocol.AgentWaitParams, protocol.AgentWait]
	ChatSend    = core.Request[protocol.ChatSendParams, protocol.ChatSend]
	ChatAbort   = core.Request[protocol.ChatAbortParams, protocol.ChatAbort]
	ChatHistory = core.Request[protocol.ChatHistoryParams, protocol.ChatHistory]

	ToolsCatalog         = core.Request[protocol.ToolsCatalogParams, protocol.ToolsCatalog]
	ExecApprovalList     = core.Request[protocol.ExecApprovalListParams, protocol.Approvals]
	PluginApprovalList   = core.Request[protocol.PluginApprovalListParams, protocol.Approvals]
	OpenclawApprovalList = core.Request[protocol.OpenclawApprovalListParams, protocol.Approvals]
	SystemInfo           = core.Request[protocol.Empty, protocol.SystemInfo]

	SessionsList      = core.Request[protocol.SessionsListParams, protocol.SessionsList]
	SessionsPreview   = core.Request[protocol.SessionsPreviewParams, protocol.SessionsPreview]
	SessionsDescribe  = core.Request[protocol.SessionsDescribeParams, protocol.SessionsDescribe]
	SessionsPatch     = core.Request[protocol.SessionsPatchParams, protocol.SessionsPatched]
	SessionsReset     = core.Request[protocol.SessionsResetParams, protocol.SessionsPatched]
	SessionsDelete    = core.Request[protocol.SessionsDeleteParams, protocol.SessionsDeleted]
	SessionsCompact   = core.Request[protocol.SessionsCompactParams, protocol.SessionsCompacted]
	SessionsSubscribe = core.Request[protocol.Empty, protocol.SessionsSubscribed]

	SessionsGroupsList     = core.Request[protocol.Empty, protocol.SessionsGroupsList]
	SessionsGroupsDefaults = core.Request[protocol.Empty, protocol.SessionsGroupsDefaults]
	SessionsCatalogList    = core.Request[protocol.SessionsCatalogListParams, protocol.SessionsCatalogList]
	ChatInject             = core.Request[protocol.ChatInjectParams, protocol.ChatInjected]
	UsageStatus            = core.Request[protocol.Empty, protocol.UsageStatus]
	UsageCost              = core.Request[protocol.UsageCostParams, protocol.UsageCost]

	CronList      = core.Request[protocol.CronListParams, protocol.CronList]
	CronStatus    = core.Request[protocol.Empty, protocol.CronStatus]
	CronAdd       = core.Request[protocol.CronAddParams, protocol.CronAdded]
	CronUpdate    = core.Request[protocol.CronUpdateParams, protocol.CronJob]
	CronRemove    = core.Request[protocol.CronJobRef, protocol.CronRemoved]
	CronRun       = core.Request[protocol.CronRunParams, protocol.CronRunStarted]
	CronRuns      = core.Request[protocol.CronRunsParams, protocol.CronRuns]
	Wake          = core.Request[protocol.WakeParams, protocol.OKResult]
	LastHeartbeat = core.Request[protocol.Empty, *protocol.HeartbeatEvent]
	SetHeartbeats = core.Request[protocol.SetHeartbeatsParams, protocol.HeartbeatsSet]

	SessionsMessagesSubscribe   = core.Request[protocol.SessionMessagesParams, protocol.SessionSubscription]
	SessionsMessagesUnsubscribe = core.Request[protocol.SessionUnsubscribeParams, protocol.SessionSubscription]

	// What a chat screen asks for on load (the reference's Control UI).
	ChatStartup      = core.Request[protocol.ChatHistoryParams, protocol.ChatStartup]
	ChatMetadata     = core.Request[protocol.ChatMetadataParams, protocol.ChatMetadata]
	AgentIdentityGet = core.Request[protocol.AgentIdentityParams, protocol.AgentIdentity]
	DiagnosticsLanes = core.Request[protocol.Empty, protocol.DiagnosticsLanes]
	UpdateStatus     = core.Request[protocol.Empty, protocol.UpdateStatus]

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
	PairingDismiss        = core.Request[protocol.PairingDismissParams, protocol.PairingDismissed]
	ChannelsStatus        = core.Request[protocol.ChannelsStatusParams, protocol.ChannelsStatus]
	ChannelsStart         = core.Request[protocol.ChannelAccountParams, protocol.ChannelStarted]
	ChannelsStop          = core.Request[protocol.ChannelAccountParams, protocol.ChannelStopped]
	ChannelsLogout        = core.Request[protocol.ChannelAccountParams, protocol.ChannelLoggedOut]
	MessageAction         = core.Request[protocol.MessageActionParams, protocol.MessageActionResult]
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

// referenceMethodList is the reference gateway's method list.
//
//go:embed reference-methods.txt
var referenceMethodList string

// ReferenceMethods are the methods the reference gateway serves
// (openclaw@2026.9.6's hello-ok.features.methods). Those we do not serve
// are answered UNAVAILABLE NOT_SUPPORTED, not "unknown method".
var ReferenceMethods = func() []string {
	var out []string
	for _, l := range strings.Split(referenceMethodList, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}()

// Registry is every method the gateway serves.
var Registry = core.NewRegistry(
	// System
	core.Serve[Health]("health", anyone, core.NoScope, core.OwnerHealth),
	core.Serve[Status]("status", operator, core.ScopeRead, core.OwnerHealth),
	core.Serve[SystemPresence]("system-presence", operator, core.ScopeRead, core.OwnerPresence),
	core.Serve[SystemEvent]("system-event", operator, core.ScopeAdmin, core.OwnerPresence),
	core.Serve[LogsTail]("logs.tail", operator, core.ScopeRead, core.OwnerLogs),
	core.Serve[IdentityGet]("gateway.identity.get", operator, core.ScopeRead, core.OwnerDevices),
	core.Serve[SystemInfo]("system.info", operator, core.ScopeRead, core.OwnerHealth),

	// Config, and what it declares. config.get is read scope as at the
	// reference: secrets are redacted.
	core.Serve[ConfigGet]("config.get", operator, core.ScopeRead, core.OwnerConfig),
	core.Serve[ConfigSet]("config.set", operator, core.ScopeAdmin, core.OwnerConfig),
	core.Serve[ConfigSchema]("config.schema", operator, core.ScopeRead, core.OwnerConfig),
	core.Serve[ConfigSchemaLookup]("config.schema.lookup", operator, core.ScopeRead, core.OwnerConfig),
	core.Serve[ModelsList]("models.list", operator, core.ScopeRead, core.OwnerConfig),
	core.Serve[ModelsAuthStatus]("models.authStatus", operator, core.ScopeRead, core.OwnerConfig),
	core.Serve[AgentsList]("agents.list", operator, core.ScopeRead, core.OwnerConfig),
	core.Serve[ConfigApply]("config.apply", operator, core.ScopeAdmin, core.OwnerConfig).WithMaxBytes(contentBytes),
	core.Serve[ConfigPatch]("config.patch", operator, core.ScopeAdmin, core.OwnerConfig).WithMaxBytes(contentBytes),

	// Agent runs
	core.Serve[Agent]("agent", operator, core.ScopeWrite, core.OwnerRuns).WithMaxBytes(contentBytes),
	core.Serve[AgentWait]("agent.wait", operator, core.ScopeWrite, core.OwnerRuns),
	core.Serve[ChatSend]("chat.send", operator, core.ScopeWrite, core.OwnerRuns).WithMaxBytes(contentBytes),
	core.Serve[ChatAbort]("chat.abort", operator, core.ScopeWrite, core.OwnerRuns),
	core.Serve[ChatHistory]("chat.history", operator, core.ScopeRead, core.OwnerRuns),
	core.Serve[ToolsCatalog]("tools.catalog", operator, core.ScopeRead, core.OwnerRuns),
	// Approvals of what the agent wants to run: none of our tools executes
	// anything yet, so the runs actor answers empty lists.
	core.Serve[ExecApprovalList]("exec.approval.list", operator, core.ScopeApprovals, core.OwnerRuns),
	core.Serve[PluginApprovalList]("plugin.approval.list", operator, core.ScopeApprovals, core.OwnerRuns),
	core.Serve[OpenclawApprovalList]("openclaw.approval.list", operator, core.ScopeApprovals, core.OwnerRuns),

	// Sessions. sessions.patch and sessions.delete take a scope that depends
	// on their params at the reference; here patch (label, model, thinking
	// level) is write and delete admin, the reference's scopes for them.
	core.Serve[SessionsList]("sessions.list", operator, core.ScopeRead, core.OwnerSessions),
	core.Serve[SessionsPreview]("sessions.preview", operator, core.ScopeRead, core.OwnerSessions),
	core.Serve[SessionsDescribe]("sessions.describe", operator, core.ScopeRead, core.OwnerSessions),
	core.Serve[SessionsPatch]("sessions.patch", operator, core.ScopeWrite, core.OwnerSessions),
	core.Serve[SessionsReset]("sessions.reset", operator, core.ScopeAdmin, core.OwnerSessions),
	core.Serve[SessionsDelete]("sessions.delete", operator, core.ScopeAdmin, core.OwnerSessions),
	core.Serve[SessionsCompact]("sessions.compact", operator, core.ScopeAdmin, core.OwnerSessions),
	core.Serve[SessionsSubscribe]("sessions.subscribe", operator, core.ScopeRead, core.OwnerHub),
	// The Control UI's sidebar: its named session groups (we keep none:
	// sessions.groups.put and the rest are not served, so the UI offers no
	// group editing) and the external session catalogs (other agent CLIs'
	// sessions; we have none). defaults is write at the reference.
	core.Serve[SessionsGroupsList]("sessions.groups.list", operator, core.ScopeRead, core.OwnerSessions),
	core.Serve[SessionsGroupsDefaults]("sessions.groups.defaults", operator, core.ScopeWrite, core.OwnerSessions),
	core.Serve[SessionsCatalogList]("sessions.catalog.list", operator, core.ScopeRead, core.OwnerSessions),
	core.Serve[ChatInject]("chat.inject", operator, core.ScopeAdmin, core.OwnerSessions),
	core.Serve[UsageStatus]("usage.status", operator, core.ScopeRead, core.OwnerSessions),
	core.Serve[UsageCost]("usage.cost", operator, core.ScopeRead, core.OwnerSessions),

	// Scheduled turns and heartbeats.
	core.Serve[CronList]("cron.list", operator, core.ScopeRead, core.OwnerCron),
	core.Serve[CronStatus]("cron.status", operator, core.ScopeRead, core.OwnerCron),
	core.Serve[CronAdd]("cron.add", operator, core.ScopeAdmin, core.OwnerCron),
	core.Serve[CronUpdate]("cron.update", operator, core.ScopeAdmin, core.OwnerCron),
	core.Serve[CronRemove]("cron.remove", operator, core.ScopeAdmin, core.OwnerCron),
	core.Serve[CronRun]("cron.run", operator, core.ScopeAdmin, core.OwnerCron),
	core.Serve[CronRuns]("cron.runs", operator, core.ScopeRead, core.OwnerCron),
	core.Serve[Wake]("wake", operator, core.ScopeWrite, core.OwnerCron),
	core.Serve[LastHeartbeat]("last-heartbeat", operator, core.ScopeRead, core.OwnerCron),
	core.Serve[SetHeartbeats]("set-heartbeats", operator, core.ScopeAdmin, core.OwnerCron),

	// Which sessions' agent and chat events a socket with the
	// session-scoped-events cap gets: per socket, so the hub keeps them.
	core.Serve[SessionsMessagesSubscribe]("sessions.messages.subscribe", operator, core.ScopeRead, core.OwnerHub),
	core.Serve[SessionsMessagesUnsubscribe]("sessions.messages.unsubscribe", operator, core.ScopeRead, core.OwnerHub),

	// The chat screen's other calls.
	core.Serve[ChatStartup]("chat.startup", operator, core.ScopeRead, core.OwnerRuns),
	core.Serve[ChatMetadata]("chat.metadata", operator, core.ScopeRead, core.OwnerRuns),
	core.Serve[AgentIdentityGet]("agent.identity.get", operator, core.ScopeRead, core.OwnerRuns),
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

	core.Serve[PairingDismiss]("channels.pairing.dismiss", operator, core.ScopePairing, core.OwnerChannels),
	core.Serve[ChannelsStatus]("channels.status", operator, core.ScopeRead, core.OwnerChannels),
	core.Serve[ChannelsStart]("channels.start", operator, core.ScopeAdmin, core.OwnerChannels),
	core.Serve[ChannelsStop]("channels.stop", operator, core.ScopeAdmin, core.OwnerChannels),
	// Logging out removes the account's credentials from the config file:
	// the config actor writes it, and the channel restarts without them.
	core.Serve[ChannelsLogout]("channels.logout", operator, core.ScopeAdmin, core.OwnerConfig),
	core.Serve[MessageAction]("message.action", operator, core.ScopeWrite, core.OwnerChannels),
).NotServed(ReferenceMethods)

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
	// Agent and chat events: a run marks its text deltas mergeable
	// (protocol.Delta), its run and its session.
	AgentEvent = event(core.Event[protocol.AgentEvent]{Name: "agent", Scope: core.ScopeRead})
	ChatEvent  = event(core.Event[protocol.ChatEvent]{Name: "chat", Scope: core.ScopeRead})
	// HeartbeatEventName and CronEventName: how heartbeats and scheduled
	// runs went.
	HeartbeatEventName = event(core.Event[protocol.HeartbeatEvent]{Name: "heartbeat", Scope: core.ScopeRead})
	CronEventName      = event(core.Event[protocol.CronEvent]{Name: "cron", Scope: core.ScopeRead, Droppable: true})
	// SessionsChanged goes to the connections that called sessions.subscribe.
	SessionsChanged = event(core.Event[protocol.SessionsChanged]{Name: "sessions.changed", Scope: core.ScopeRead,
		Droppable: true, Topic: core.TopicSessions})
	// A message that joined a session's transcript.
	SessionMessage = event(core.Event[protocol.SessionMessage]{Name: "session.message", Scope: core.ScopeRead})
)

// Capabilities are the hello-ok.features.capabilities this gateway has, by
// the reference's names: published-model-catalog, as models.list answers
// the catalog (the config's models, each with whether it can be called)
// that openclaw models list requires.
var Capabilities = []string{"published-model-catalog"}

var eventNames []string

func event[T any](e core.Event[T]) core.Event[T] {
	eventNames = append(eventNames, e.Name)
	return e
}

// Events lists the events the gateway emits (hello-ok.features.events), in
// declaration order.
func Events() []string { return eventNames }

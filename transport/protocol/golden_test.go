package protocol

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func ptr[T any](v T) *T { return &v }

// goldenPayloads are the outbound shapes clients see, each with
// representative values; testdata/<name>.json holds the exact bytes.
// `go test ./transport/protocol -update` rewrites them; review the diff like
// code: a changed shape is a changed wire contract.
var goldenPayloads = map[string]any{
	"hello-ok": &HelloOK{Type: "hello-ok", Protocol: Version,
		Server: HelloServer{Version: "2026.9.6", BuildID: "openclaw-go-0123456789ab-go1.26.8", ConnID: "c-1", BootID: "b-1",
			ControlUIBuildSource: "bundled"},
		Features: HelloFeature{Methods: []string{"health", "status"}, Events: []string{"connect.challenge", "tick"},
			Capabilities: []string{"published-model-catalog"}},
		Snapshot: Snapshot{Presence: []PresenceEntry{{Host: "gw", Mode: "gateway", Reason: "self", TS: 1700000000000}},
			Health: json.RawMessage(`{"ok":true}`), StateVersion: StateVersion{Presence: 2, Health: 1}, UptimeMs: 1234,
			SessionDefaults: SessionDefaults{DefaultAgentID: "main", MainKey: "main", MainSessionKey: "agent:main:main"},
			ConfigPath:      "/home/u/.openclaw/openclaw.json", StateDir: "/home/u/.openclaw", AuthMode: "token"},
		Policy: Policy{MaxPayload: 26214400, MaxBufferedBytes: 52428800, TickIntervalMs: 30000},
		Auth:   HelloAuth{Role: "operator", Scopes: []string{"operator.admin"}, Method: "device-token", DeviceToken: "tok", IssuedAtMs: 1700000000000}},
	"health": &Health{OK: true, TS: 1700000000000, DurationMs: 3, ConfigReload: ConfigReload{HotReloadStatus: "active"},
		Channels: map[string]ChannelHealth{"telegram": {Configured: true, Linked: true, Running: true, Mode: "polling",
			Bot: &BotInfo{ID: 111, Username: "alpha_bot"}, AccountOrder: []string{"default"},
			Accounts: map[string]AccountStatus{"default": {AccountID: "default", Enabled: true, Configured: true, Linked: true,
				Running: true, Mode: "polling", Bot: &BotInfo{ID: 111, Username: "alpha_bot"}, TokenSource: "config"}}}},
		ChannelOrder: []string{"telegram"}, ChannelLabels: map[string]string{"telegram": "Telegram"},
		LinkChannel:    &LinkChannel{ID: "telegram", Label: "Telegram", Linked: true},
		DefaultAgentID: "main",
		Agents: []AgentHealth{{AgentID: "main", IsDefault: true, Sessions: SessionsCount{Path: "/s/openclaw.sqlite", Count: 1,
			Recent: []RecentSession{{Key: "agent:main:main", UpdatedAt: 1699999990000, Age: 10000}}}}},
		Sessions: SessionsCount{Path: "/s/openclaw.sqlite", Count: 1, Recent: []RecentSession{{Key: "agent:main:main", UpdatedAt: 1699999990000, Age: 10000}}},
		Nodes:    NodesCount{Connected: 1, Paired: 2, Pending: 1}},
	// In cluster mode a channel account says which gateway runs it.
	"channel-account-owner": &AccountStatus{AccountID: "default", Enabled: true, Configured: true, Mode: "polling",
		TokenSource: "config", Owner: &ChannelOwner{Gateway: "gw-b", Since: 1699999990000, Revision: 42, State: "standby"}},
	"status": &Status{RuntimeVersion: "2026.9.6", Heartbeat: StatusHeartbeats{DefaultAgentID: "main",
		Agents: []AgentHeartbeat{{AgentID: "main", Enabled: true, Every: "30m", EveryMs: ptr[int64](1800000)}}},
		LinkChannel:    &LinkChannel{ID: "telegram", Label: "Telegram", Linked: true},
		ChannelSummary: []string{"Telegram: linked", "  - default (token:config)"}, QueuedSystemEvents: []string{},
		DegradedSecretOwners: []struct{}{}, DegradedPlugins: []struct{}{},
		Tasks: TaskCounts{Total: 1, Terminal: 1, ByStatus: TasksByStatus{Succeeded: 1}, ByRuntime: TasksByRuntime{Cron: 1}},
		Sessions: StatusSessions{Paths: []string{"/s/openclaw.sqlite"}, Count: 4,
			Defaults: StatusSessionDefaults{Model: ptr("mock-1"), ContextTokens: ptr(128000)},
			Recent: []StatusSessionRow{{AgentID: "main", Key: "agent:main:main", Kind: "direct", SessionID: "s-1",
				UpdatedAt: 1699999990000, Age: 10000, InputTokens: ptr[int64](10), OutputTokens: ptr[int64](5),
				TotalTokens: ptr[int64](15), TotalTokensFresh: true, RemainingTokens: ptr[int64](127985), PercentUsed: ptr(0),
				Model: ptr("mock-1"), ConfiguredModel: "mock/mock-1", SelectedModel: ptr("mock/mock-1"), ContextTokens: ptr(128000),
				Flags: []string{"id:s-1"}}},
			ByAgent: []StatusAgentsSessions{{AgentID: "main", Path: "/s/openclaw.sqlite", Count: 4, Recent: []StatusSessionRow{}}}},
		ModelRuntime:  ModelRuntime{PendingAgents: []string{}},
		ProcessMemory: ProcessMemory{RSSBytes: 40 << 20, HeapUsedBytes: 8 << 20, HeapTotalBytes: 16 << 20}, PID: 4242,
		Version: "2026.9.6", BuildID: "openclaw-go-0123456789ab-go1.26.8", UptimeMs: 60000,
		Connections: ConnectionCount{Total: 3, Operators: 2, Nodes: 1, Handshaking: 0},
		Channels:    []ChannelLine{{Channel: "telegram", AccountID: "default", Linked: true, Running: true, Mode: "polling"}},
		ActiveRuns:  1, Nodes: NodesCount{Connected: 1, Paired: 1}, Goroutines: 42, StateVersion: StateVersion{Presence: 5, Health: 2}},
	"presence-event": &PresenceEvent{Presence: []PresenceEntry{
		{Host: "gw", IP: "10.0.0.2", Version: "2026.9.6", Platform: "linux 6.1", DeviceFamily: "Linux", Mode: "gateway",
			Reason: "self", Text: "Gateway: gw (10.0.0.2) · app 2026.9.6 · mode gateway · reason self", TS: 1700000000000, InstanceID: "i-1"},
		{Host: "openclaw-control-ui", Version: "1.0.0", Platform: "linux", Mode: "ui", Reason: "connect", TS: 1700000000001,
			DeviceID: "d-1", Roles: []string{"operator"}, Scopes: []string{"operator.read"}, InstanceID: "inst", ClientID: "openclaw-control-ui",
			LastInputSeconds: ptr(12.5), Tags: []string{"desk"}, Text: "Operator: openclaw-control-ui · mode ui"},
		{Host: "build box", Version: "2026.9.6", Platform: "linux", DeviceFamily: "Linux", Mode: "node", Reason: "connect",
			TS: 1700000000002, DeviceID: "d-1", Roles: []string{"node"}, InstanceID: "d-1", ClientID: "node-host",
			Caps: []string{"system"}, Commands: []string{"system.run", "system.which"}, Text: "Node: build box · mode node"}}},
	"agent-event-lifecycle-start": &AgentEvent{RunID: "r1", Seq: 1, Stream: StreamLifecycle, TS: 1700000000000, SessionKey: "agent:main:main",
		AgentID: "main", Data: &Lifecycle{Phase: "start", StartedAt: 1700000000000}},
	"agent-event-assistant": &AgentEvent{RunID: "r1", Seq: 2, Stream: StreamAssistant, TS: 1700000000001, SessionKey: "agent:main:main",
		AgentID: "main", Data: &AssistantDelta{Text: "Hello wor", Delta: "wor"}},
	"agent-event-tool-start": &AgentEvent{RunID: "r1", Seq: 3, Stream: StreamTool, TS: 1700000000002, SessionKey: "agent:main:main",
		AgentID: "main", Data: &ToolEvent{Phase: "start", Name: "sessions_list", ToolCallID: "call_1", Args: json.RawMessage(`{"limit":5}`)}},
	"agent-event-tool-result": &AgentEvent{RunID: "r1", Seq: 4, Stream: StreamTool, TS: 1700000000003, SessionKey: "agent:main:main",
		AgentID: "main", Data: &ToolEvent{Phase: "result", Name: "sessions_list", ToolCallID: "call_1", Result: ptr(`{"sessions":[]}`), IsError: ptr(false)}},
	"agent-event-usage": &AgentEvent{RunID: "r1", Seq: 5, Stream: StreamUsage, TS: 1700000000004, SessionKey: "agent:main:main",
		AgentID: "main", Data: &Usage{Input: 10, Output: 5, Total: 15}},
	"agent-event-lifecycle-end": &AgentEvent{RunID: "r1", Seq: 6, Stream: StreamLifecycle, TS: 1700000000005, SessionKey: "agent:main:main",
		AgentID: "main", Data: &Lifecycle{Phase: "end", StartedAt: 1700000000000, EndedAt: 1700000000005, Aborted: ptr(false)}},
	"agent-event-assistant-merged": &AgentEvent{RunID: "r1", Seq: 4, FromSeq: 2, Stream: StreamAssistant, TS: 1700000000003,
		SessionKey: "agent:main:main", AgentID: "main", Data: &AssistantDelta{Text: "Hello world!", Delta: "world!"}},
	"chat-event-delta":        &ChatEvent{RunID: "r1", SessionKey: "agent:main:main", Seq: 1, State: "delta", DeltaText: "wor"},
	"chat-event-delta-merged": &ChatEvent{RunID: "r1", SessionKey: "agent:main:main", Seq: 3, FromSeq: 1, State: "delta", DeltaText: "world!"},
	"chat-event-final": &ChatEvent{RunID: "r1", SessionKey: "agent:main:main", Seq: 2, State: "final", StopReason: "stop",
		Message: &ChatMessage{Role: "assistant", Content: json.RawMessage(`[{"type":"text","text":"Hello world"}]`), Timestamp: 1700000000005}},
	"chat-event-error": &ChatEvent{RunID: "r1", SessionKey: "agent:main:main", Seq: 2, State: "error", ErrorMessage: "provider unavailable"},
	"agent-accepted":   &AgentResponse{RunID: "k1", SessionKey: "agent:main:main", AgentID: "main", Status: "accepted", AcceptedAt: 1700000000000},
	"agent-final": &AgentResponse{RunID: "k1", Status: "ok", Summary: "completed", Result: &AgentResult{
		Payloads: []AgentPayload{{Text: "Hello world"}},
		Meta: AgentMeta{DurationMs: 5, StopReason: "stop", AgentMeta: AgentRunMeta{SessionID: "s-1", SessionFile: "agent:main:main",
			Provider: "fake", Model: "mock-1", Usage: Usage{Input: 10, Output: 5, Total: 15}}}}},
	"error-frame": json.RawMessage(FailWithPayload("r7", &AgentResponse{RunID: "k1", Status: "timeout", Summary: "agent did not finish within its deadline"},
		NewError(CodeAgentTimeout, "agent did not finish within its deadline", map[string]any{"code": "TIMEOUT"}).WithRetry(1000))),
	"chat-history": &ChatHistory{SessionKey: "agent:main:main", SessionID: "s-1", HasMore: false, TotalMessages: 2, Messages: []ChatMessage{
		{Role: "user", Content: json.RawMessage(`"hi"`), Timestamp: 1700000000000, RunID: "k1"},
		{Role: "assistant", Content: json.RawMessage(`[{"type":"text","text":"Hello"}]`), Timestamp: 1700000000005, RunID: "k1",
			Provider: "fake", Model: "mock-1", StopReason: "stop", Usage: json.RawMessage(`{"input":10,"output":5,"total":15}`)}}},
	"chat-history-in-flight": &ChatHistory{SessionKey: "agent:main:main", SessionID: "s-1", HasMore: false, TotalMessages: 1,
		Messages:    []ChatMessage{{Role: "user", Content: json.RawMessage(`"hi"`), Timestamp: 1700000000000, RunID: "k2"}},
		InFlightRun: &InFlightRun{RunID: "k2", Text: "Hello wor", StartedAt: 1700000000001, Seq: 3, ChatSeq: 2}},
	"node-rows": []NodeInfo{{NodeID: "d-1", DisplayName: "build box", Platform: "linux", Version: "2026.9.6", ClientID: "node-host",
		ClientMode: "node", DeviceFamily: "Linux", Caps: []string{"system"}, Commands: []string{"system.run", "system.which"},
		NodePluginTools: []NodePluginTool{}, PathEnv: "/usr/bin:/bin", ApprovalState: "approved", ConnectedAtMs: 1700000000000,
		LastConnectedAtMs: 1700000000000, LastSeenAtMs: 1700000000000, LastSeenReason: "connect", ApprovedAtMs: 1700000000500,
		Paired: true, Connected: true}},
	"node-describe-pending": &NodeDescription{TS: 1700000001000, NodeInfo: NodeInfo{NodeID: "d-2", DisplayName: "phone",
		Platform: "ios", Version: "1.2", ClientID: "openclaw-ios", ClientMode: "node", Caps: []string{}, Commands: []string{},
		NodePluginTools: []NodePluginTool{}, ApprovalState: "pending-approval", PendingRequestID: "q-1",
		PendingDeclaredCaps: []string{"camera"}, PendingDeclaredCommands: []string{"camera.list"}, ConnectedAtMs: 1700000000000,
		LastConnectedAtMs: 1700000000000, LastSeenAtMs: 1700000000000, LastSeenReason: "connect", Paired: true, Connected: true}},
	"node-invoke-request": &NodeInvokeRequest{ID: "i-1", NodeID: "d-1", Command: "system.which",
		ParamsJSON: ptr(`{"bins":["sh"]}`), TimeoutMs: 15000, IdempotencyKey: "k1"},
	"node-invoke-result": &NodeInvokeResult{OK: true, NodeID: "d-1", Command: "system.which",
		Payload: json.RawMessage(`{"bins":{"sh":"/usr/bin/sh"}}`), PayloadJSON: ptr(`{"bins":{"sh":"/usr/bin/sh"}}`)},
	"node-pair-list": &NodePairList{Pending: []NodePairRequest{{RequestID: "q-1", NodeID: "d-1", ClientID: "node-host",
		ClientMode: "node", DisplayName: "build box", Platform: "linux", Version: "2026.9.6", DeviceFamily: "Linux",
		Caps: []string{"system"}, Commands: []string{"system.run", "system.which"},
		RequiredApproveScopes: []string{"operator.pairing", "operator.admin"}, Silent: true, TS: 1700000000000}},
		Paired: []PairedNode{{NodeID: "d-2", ClientID: "node-host", ClientMode: "node", DisplayName: "other", Platform: "linux",
			Version: "2026.9.6", Caps: []string{"system"}, Commands: []string{"system.which"}, CreatedAtMs: 1690000000000,
			ApprovedAtMs: 1690000000000, LastConnectedAtMs: 1700000000000,
			LastHostStats: &NodeHostStats{CPUCount: 2, LoadAverage: []float64{0.5, 0.4, 0.3}, MemoryTotalBytes: 1000,
				MemoryFreeBytes: 10, UpdatedAtMs: 1700000000000}}}},
	"device-pair-list": &DevicePairList{Pending: []DevicePairRequest{{RequestID: "q-2", DeviceID: "d-3", PublicKey: "pk",
		Platform: "linux", DeviceFamily: "Linux", ClientID: "cli", ClientMode: "cli", Role: "operator", Roles: []string{"operator"},
		Scopes: []string{"operator.read"}, RemoteIP: "192.0.2.9", TS: 1700000000000}},
		Paired: []PairedDevice{{DeviceID: "d-1", PublicKey: "pk1", DisplayName: "build box", Platform: "linux", ClientID: "node-host",
			ClientMode: "node", Role: "node", Roles: []string{"node"}, Scopes: []string{}, ApprovedVia: "silent",
			CreatedAtMs: 1690000000000, ApprovedAtMs: 1690000000000, LastSeenAtMs: 1700000000000, LastSeenReason: "connect",
			Connected: ptr(true), Tokens: []DeviceToken{{Role: "node", Scopes: []string{}, CreatedAtMs: 1690000000000}}}}},
	"session-rows": &SessionsCount{Path: "/s/openclaw.sqlite", Count: 2, Recent: []RecentSession{
		{Key: "agent:main:main", UpdatedAt: 1700000000000, Age: 5}, {Key: "agent:main:telegram:dm:42", UpdatedAt: 1699999990000, Age: 10005}}},
	"send-result": &SendResult{RunID: "k1", MessageID: "17", Channel: "telegram", ChatID: "42"},
	"pairing-list": &PairingList{Accounts: []PairingAccount{{Channel: "telegram", ChannelLabel: "Telegram", AccountID: "default", NotifySupported: true}},
		Requests: []PairingRequest{{RequestID: "q-1", Code: "ABCD2345", Channel: "telegram", ChannelLabel: "Telegram", AccountID: "default",
			SenderID: "42", SenderLabel: "telegramUserId", CreatedAt: "2026-01-01T00:00:00Z", LastSeenAt: "2026-01-01T00:00:00Z",
			ExpiresAt: "2026-01-01T01:00:00Z", NotifySupported: true, Metadata: map[string]string{"username": "ann"}}},
		Limits: PairingLimits{PendingPerAccount: 3, TTLMs: 3600000}},
	"config-written": &ConfigWritten{OK: true, Path: "/home/u/.openclaw/openclaw.json", Hash: "abc", Restart: false, Changed: []string{"agents.defaults.timeoutSeconds"}},
	"shutdown":       &Shutdown{Reason: "gateway restarting", RestartExpectedMs: 1500},
}

func TestGoldenPayloads(t *testing.T) {
	for name, v := range goldenPayloads {
		t.Run(name, func(t *testing.T) {
			got, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./transport/protocol -update writes it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s changed (go test ./transport/protocol -update, then review the diff):\n%s", path, got)
			}
		})
	}
}

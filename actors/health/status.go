package health

import (
	"context"
	"runtime"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/core"
	"openclaw/actors/store"
	"openclaw/config"
	"openclaw/transport/protocol"
)

// statusRecent is how many recent sessions status lists (the reference's).
const statusRecent = 10

// redacted replaces a store path for callers without operator.admin, as the
// reference does.
const redacted = "[redacted]"

// status builds the status summary (the reference's shape, our numbers); it
// runs off the actor. Callers without operator.admin get no store paths and
// no session rows, as from the reference. caller is nil in-process.
func status(root *actor.RootContext, d Deps, p protocol.StatusParams, caller *core.Peer) protocol.Status {
	now := time.Now()
	cfg := d.Config.Get()
	sensitive := caller == nil || caller.Scopes.Has(core.ScopeAdmin)
	s := protocol.Status{RuntimeVersion: d.Process.Version, Version: d.Process.Version, BuildID: d.Process.BuildID,
		PID: d.Process.PID, UptimeMs: now.Sub(d.Process.Started).Milliseconds(),
		ChannelSummary: []string{}, QueuedSystemEvents: []string{},
		DegradedSecretOwners: []struct{}{}, DegradedPlugins: []struct{}{},
		ModelRuntime: protocol.ModelRuntime{PendingAgents: []string{}},
		Channels:     []protocol.ChannelLine{}, StateVersion: *d.Versions.Current()}
	if d.Cluster != nil {
		s.Cluster = d.Cluster.Get()
	}
	defaultAgent := config.DefaultAgent(cfg)
	agents := config.AgentIDs(cfg)
	if p.IncludeCliProjection {
		proj := &protocol.StatusCLIProjection{Agents: protocol.StatusAgents{DefaultID: defaultAgent, Ownership: "sole",
			Rows: []protocol.StatusAgentRow{}}}
		for _, id := range agents {
			proj.Agents.Rows = append(proj.Agents.Rows, protocol.StatusAgentRow{ID: id, Name: config.AgentName(cfg, id)})
		}
		s.CLIProjection = proj
	}
	s.Heartbeat = protocol.StatusHeartbeats{DefaultAgentID: defaultAgent, Agents: []protocol.AgentHeartbeat{}}
	if rep, err := core.Ask[struct{}, core.CronReport](root, d.Cron, struct{}{}, askTimeout); err == nil {
		s.Heartbeat.Agents, s.QueuedSystemEvents, s.Tasks = rep.Heartbeats, rep.QueuedEvents, rep.Tasks
	} else {
		for _, id := range agents {
			// The scheduler did not answer: its heartbeats cannot be vouched for.
			s.Heartbeat.Agents = append(s.Heartbeat.Agents, protocol.AgentHeartbeat{AgentID: id, Every: "disabled"})
		}
	}

	if n, err := core.Ask[struct{}, protocol.ConnectionCount](root, d.Hub, struct{}{}, askTimeout); err == nil {
		s.Connections = n
	}
	if n, err := core.Ask[struct{}, int](root, d.Runs, struct{}{}, askTimeout); err == nil {
		s.ActiveRuns = n
	}
	s.Nodes = nodeCounts(root, d)
	if rep, err := core.Ask[struct{}, core.ChannelsReport](root, d.Channels, struct{}{}, askTimeout); err == nil {
		s.LinkChannel = rep.Link
		for _, id := range rep.Order {
			ch := rep.Channels[id]
			for _, acc := range ch.AccountOrder {
				a := ch.Accounts[acc]
				s.Channels = append(s.Channels, protocol.ChannelLine{Channel: id, AccountID: acc, Linked: a.Linked,
					Running: a.Running, Mode: a.Mode, LastError: a.LastError})
			}
			if p.IncludeChannelSummary == nil || *p.IncludeChannelSummary {
				s.ChannelSummary = append(s.ChannelSummary, channelSummary(rep.Labels[id], ch)...)
			}
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), askTimeout)
	defer cancel()
	path := d.Store.Path()
	if !sensitive {
		path = redacted
	} else {
		s.Sessions.Paths = []string{path}
	}
	if s.Sessions.Paths == nil {
		s.Sessions.Paths = []string{}
	}
	s.Sessions.Count, _ = d.Store.CountSessions(ctx, "")
	s.Sessions.Defaults = sessionDefaults(cfg, defaultAgent)
	s.Sessions.Recent = []protocol.StatusSessionRow{}
	if sensitive {
		recent, _ := d.Store.RecentSessions(ctx, "", statusRecent)
		s.Sessions.Recent = sessionRows(cfg, recent, now)
	}
	for _, id := range agents {
		prefix := "agent:" + id + ":"
		a := protocol.StatusAgentsSessions{AgentID: id, Path: path, Recent: []protocol.StatusSessionRow{}}
		a.Count, _ = d.Store.CountSessions(ctx, prefix)
		if sensitive {
			recent, _ := d.Store.RecentSessions(ctx, prefix, statusRecent)
			a.Recent = sessionRows(cfg, recent, now)
		}
		s.Sessions.ByAgent = append(s.Sessions.ByAgent, a)
	}

	s.ProcessMemory = processMemory()
	s.Goroutines = runtime.NumGoroutine()
	return s
}

// processMemory is this process's resident set and Go heap.
func processMemory() protocol.ProcessMemory {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return protocol.ProcessMemory{RSSBytes: rss(), HeapUsedBytes: ms.HeapAlloc, HeapTotalBytes: ms.HeapSys}
}

// channelSummary is a channel's lines in status.channelSummary, as the
// reference words them: "<Label>: linked|not linked|configured|disabled"
// then one line per configured account.
func channelSummary(label string, ch protocol.ChannelHealth) []string {
	state := "not configured"
	enabled := false
	for _, a := range ch.Accounts {
		enabled = enabled || a.Enabled
	}
	switch {
	case !enabled:
		state = "disabled"
	case ch.Linked:
		state = "linked"
	case ch.Configured:
		state = "not linked"
	}
	lines := []string{label + ": " + state}
	for _, id := range ch.AccountOrder {
		a := ch.Accounts[id]
		if !a.Configured {
			continue
		}
		var details []string
		if !a.Enabled {
			details = append(details, "disabled")
		}
		if a.TokenSource != "" && a.TokenSource != "none" {
			details = append(details, "token:"+a.TokenSource)
		}
		line := "  - " + id
		if len(details) > 0 {
			line += " (" + strings.Join(details, ", ") + ")"
		}
		lines = append(lines, line)
	}
	return lines
}

// sessionDefaults is the default agent's model id and its context window.
func sessionDefaults(cfg *config.Config, agentID string) protocol.StatusSessionDefaults {
	var out protocol.StatusSessionDefaults
	ref := config.AgentModelRef(cfg, agentID)
	if ref == "" {
		return out
	}
	_, model, _ := strings.Cut(ref, "/")
	out.Model = &model
	if m, ok := config.ModelInfo(cfg, ref); ok && m.ContextWindow > 0 {
		out.ContextTokens = &m.ContextWindow
	}
	return out
}

// sessionRows are status's rows for recent sessions.
func sessionRows(cfg *config.Config, recent []store.SessionInfo, now time.Time) []protocol.StatusSessionRow {
	rows := make([]protocol.StatusSessionRow, 0, len(recent))
	for _, r := range recent {
		agentID := core.SessionAgent(r.Key)
		row := protocol.StatusSessionRow{AgentID: agentID, Key: r.Key, Kind: core.SessionKind(r.Key), SessionID: r.SessionID,
			UpdatedAt: r.UpdatedAt, Age: now.UnixMilli() - r.UpdatedAt, ThinkingLevel: r.ThinkingLevel,
			Flags: []string{"id:" + r.SessionID}}
		if r.ThinkingLevel != "" {
			row.Flags = append([]string{"think:" + r.ThinkingLevel}, row.Flags...)
		}
		if r.InputTokens > 0 || r.OutputTokens > 0 {
			in, out := r.InputTokens, r.OutputTokens
			row.InputTokens, row.OutputTokens = &in, &out
		}
		if r.LastTotalTokens > 0 {
			total := r.LastTotalTokens
			row.TotalTokens, row.TotalTokensFresh = &total, true
		}
		ref := r.ModelOverride
		if ref == "" {
			ref = config.AgentModelRef(cfg, agentID)
		}
		if ref != "" {
			_, model, _ := strings.Cut(ref, "/")
			row.Model, row.SelectedModel = &model, &ref
			row.ConfiguredModel = config.AgentModelRef(cfg, agentID)
			if m, ok := config.ModelInfo(cfg, ref); ok && m.ContextWindow > 0 {
				cw := m.ContextWindow
				row.ContextTokens = &cw
				if row.TotalTokens != nil {
					remaining := max(int64(cw)-*row.TotalTokens, 0)
					pct := min(int(*row.TotalTokens*100/int64(cw)), 999)
					row.RemainingTokens, row.PercentUsed = &remaining, &pct
				}
			}
		}
		rows = append(rows, row)
	}
	return rows
}

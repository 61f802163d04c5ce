package runs

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"openclaw/actors/methods"
	"openclaw/config"
	"openclaw/transport/protocol"
)

// The calls a chat screen makes around the turns themselves: its first page
// (chat.startup), the models it may pick (chat.metadata), who it talks to
// (agent.identity.get), and how busy the runs are (diagnostics.lanes).

// contextTokens is the context window a chat screen is told about: the
// context budget is in characters (agents.defaults.contextMaxChars), about
// four to a token.
func contextTokens(chars int) int { return chars / 4 }

// chatStartup is chat.history's page plus the session's model, read off the
// actor (the store read runs on its own goroutine).
func (a *runsActor) chatStartup(m *methods.ChatStartup) {
	cfg := a.d.Config.Get()
	defaults := protocol.ChatDefaults{}
	if t, errShape := resolve(cfg, agentOf(cfg, m.Params.AgentID, m.Params.SessionKey), "", 0); errShape == nil {
		defaults = protocol.ChatDefaults{ModelProvider: t.ProviderID, Model: t.Model, ContextTokens: contextTokens(t.ContextChars)}
	}
	st := a.d.Store
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), historyTimeout)
		defer cancel()
		h, errShape := History(ctx, st, m.Params)
		if errShape != nil {
			m.Fail(errShape)
			return
		}
		m.Reply(protocol.ChatStartup{ChatHistory: h, Defaults: defaults,
			PendingInputs: protocol.PendingInputs{Items: []json.RawMessage{}}})
	}()
}

// agentOf is the agent a request is about: the one it names, else the one
// in its session key (agent:<id>:…), else the default.
func agentOf(cfg *config.Config, agentID, sessionKey string) string {
	if agentID != "" {
		return agentID
	}
	if rest, ok := strings.CutPrefix(sessionKey, "agent:"); ok {
		if id, _, ok := strings.Cut(rest, ":"); ok && config.KnownAgent(cfg, id) {
			return id
		}
	}
	return config.DefaultAgent(cfg)
}

// chatMetadata lists the configured models, the agent's primary tagged
// "default". Models take no reasoning effort here (thinking "off" only).
func chatMetadata(cfg *config.Config, agentID string) protocol.ChatMetadata {
	primary := ""
	if t, errShape := resolve(cfg, agentOf(cfg, agentID, ""), "", 0); errShape == nil {
		primary = t.ProviderID + "/" + t.Model
	}
	off := []protocol.ThinkingLevel{{ID: "off", Label: "off"}}
	out := protocol.ChatMetadata{Models: []protocol.ChatModel{}, Commands: []json.RawMessage{},
		AccountSelection: protocol.AccountSelection{Kind: "automatic", Label: "Automatic account selection"}}
	for _, id := range slices.Sorted(maps.Keys(cfg.Models.Providers)) {
		for _, pm := range cfg.Models.Providers[id].Models {
			m := protocol.ChatModel{ID: pm.ID, Name: pm.Name, Provider: id, Tags: []string{}, ThinkingLevels: off,
				ThinkingDefault: "off", Available: true}
			if m.Name == "" {
				m.Name = pm.ID
			}
			if id+"/"+pm.ID == primary {
				m.Tags = append(m.Tags, "default")
			}
			out.Models = append(out.Models, m)
		}
	}
	return out
}

// agentIdentity is the agent's name (agents.list[].name, else "Assistant",
// as the reference) and an avatar letter.
func (a *runsActor) agentIdentity(m *methods.AgentIdentityGet) {
	cfg := a.d.Config.Get()
	id := agentOf(cfg, m.Params.AgentID, m.Params.SessionKey)
	if !config.KnownAgent(cfg, id) {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "unknown agent: "+id, nil))
		return
	}
	name, fromConfig, avatar := config.AgentIdentity(cfg, id)
	res := protocol.AgentIdentity{AgentID: id, Name: name, NameSource: "default", Avatar: avatar}
	if fromConfig {
		res.NameSource = "config"
	}
	m.Reply(res)
}

// lanes reports the runs as one lane: running (one per session at a time)
// and queued behind their session's run. There is no limit across
// sessions: maxConcurrent 0.
func (a *runsActor) lanes() protocol.DiagnosticsLanes {
	queued := 0
	for _, q := range a.queued {
		queued += len(q)
	}
	null := json.RawMessage("null")
	return protocol.DiagnosticsLanes{TS: time.Now().UnixMilli(), Dynamic: null, Lanes: []protocol.Lane{{
		Lane: "main", ActiveCount: len(a.busy), QueuedCount: queued, BlockedBy: null,
	}}}
}

package config

import (
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// DefaultAgentID is the agent when the config names none.
const DefaultAgentID = "main"

// DefaultAgent is the agent marked default in agents.list, else the first,
// else "main".
func DefaultAgent(c *Config) string {
	if c == nil || len(c.Agents.List) == 0 {
		return DefaultAgentID
	}
	for _, a := range c.Agents.List {
		if a.Default {
			return a.ID
		}
	}
	return c.Agents.List[0].ID
}

// KnownAgent reports whether id names an agent of this config.
func KnownAgent(c *Config, id string) bool {
	if c == nil || len(c.Agents.List) == 0 {
		return id == DefaultAgentID
	}
	for _, a := range c.Agents.List {
		if a.ID == id {
			return true
		}
	}
	return false
}

// AgentIDs lists the configured agents in order ("main" alone when the
// config declares none).
func AgentIDs(c *Config) []string {
	if c == nil || len(c.Agents.List) == 0 {
		return []string{DefaultAgentID}
	}
	ids := make([]string, 0, len(c.Agents.List))
	for _, a := range c.Agents.List {
		ids = append(ids, a.ID)
	}
	return ids
}

// KnownChannels are the channel ids this config describes (channels.<id>), in
// order of preference.
var KnownChannels = []string{"telegram"}

// DefaultChannel is the channel a target without one means: the first
// configured channel, else the first known one.
func DefaultChannel(c *Config) string {
	if c != nil && c.Channels.Telegram != nil {
		return "telegram"
	}
	return KnownChannels[0]
}

// AgentModelRef is the model an agent uses as "<provider>/<model id>"
// (agents.list[].model.primary, else agents.defaults.model.primary), or ""
// when the config names none.
func AgentModelRef(c *Config, agentID string) string {
	if c == nil {
		return ""
	}
	for _, a := range c.Agents.List {
		if a.ID == agentID && a.Model != nil && a.Model.Primary != "" {
			return a.Model.Primary
		}
	}
	return c.Agents.Defaults.Model.Primary
}

// AgentName is the agent's display name ("" when the config gives none).
func AgentName(c *Config, agentID string) string {
	if c == nil {
		return ""
	}
	for _, a := range c.Agents.List {
		if a.ID == agentID {
			return a.Name
		}
	}
	return ""
}

// DefaultAgentName is an agent's name when the config gives none (the
// reference's).
const DefaultAgentName = "Assistant"

// AgentIdentity is how an agent presents itself: its name (agents.list[].name,
// else DefaultAgentName), whether the config gave it, and the avatar the UI
// shows when no image is configured (the name's first letter, upper case).
func AgentIdentity(c *Config, agentID string) (name string, fromConfig bool, avatar string) {
	name = strings.TrimSpace(AgentName(c, agentID))
	if fromConfig = name != ""; !fromConfig {
		name = DefaultAgentName
	}
	r, _ := utf8.DecodeRuneInString(name)
	return name, fromConfig, string(unicode.ToUpper(r))
}

// ModelInfo finds a model reference ("<provider>/<model id>") among
// models.providers.<id>.models; ok is false when the config does not
// declare it.
func ModelInfo(c *Config, ref string) (m ProviderModel, ok bool) {
	if c == nil {
		return ProviderModel{}, false
	}
	providerID, id, found := strings.Cut(ref, "/")
	if !found {
		return ProviderModel{}, false
	}
	for _, pm := range c.Models.Providers[providerID].Models {
		if pm.ID == id {
			return pm, true
		}
	}
	return ProviderModel{}, false
}

// AgentWorkspace is the agent's working directory: agents.list[].workspace,
// else agents.defaults.workspace, else <stateDir>/workspace; "~" is the home
// directory.
func AgentWorkspace(c *Config, agentID, stateDir string) string {
	ws := ""
	if c != nil {
		ws = c.Agents.Defaults.Workspace
		for _, a := range c.Agents.List {
			if a.ID == agentID && a.Workspace != "" {
				ws = a.Workspace
			}
		}
	}
	if ws == "" {
		return filepath.Join(stateDir, "workspace")
	}
	if ws == "~" || strings.HasPrefix(ws, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, strings.TrimPrefix(ws, "~"))
		}
	}
	return ws
}

// DefaultHeartbeatPrompt is the heartbeat turn's message when the config
// gives none (the reference's wording).
const DefaultHeartbeatPrompt = "Read the system events below, if any, and act on what needs attention. " +
	"Do not infer or repeat old tasks from prior chats. If nothing needs attention, reply HEARTBEAT_OK."

// HeartbeatAckToken is what a heartbeat reply says when there is nothing to
// report; such a reply is not sent anywhere.
const HeartbeatAckToken = "HEARTBEAT_OK"

// HeartbeatFor is an agent's heartbeat: agents.list[].heartbeat over
// agents.defaults.heartbeat, key by key, with the prompt's default; every
// is 0 when heartbeats are off for the agent (the default) or the period
// does not parse.
func HeartbeatFor(c *Config, agentID string) (h Heartbeat, every time.Duration) {
	if c == nil {
		return Heartbeat{}, 0
	}
	if d := c.Agents.Defaults.Heartbeat; d != nil {
		h = *d
	}
	for _, a := range c.Agents.List {
		if a.ID == agentID && a.Heartbeat != nil {
			o := a.Heartbeat
			if o.Every != "" {
				h.Every = o.Every
			}
			if o.Prompt != "" {
				h.Prompt = o.Prompt
			}
			if o.Channel != "" {
				h.Channel, h.To, h.AccountID = o.Channel, o.To, o.AccountID
			}
		}
	}
	if h.Prompt == "" {
		h.Prompt = DefaultHeartbeatPrompt
	}
	if h.Every != "" && h.Every != "0" {
		if d, err := time.ParseDuration(h.Every); err == nil && d > 0 {
			every = d
		}
	}
	return h, every
}

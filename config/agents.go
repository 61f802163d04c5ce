package config

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

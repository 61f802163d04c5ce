package runs

import (
	"strings"
	"time"

	"openclaw/config"
	"openclaw/transport/protocol"
	"openclaw/transport/provider"
)

// DefaultTimeout bounds a run when neither the request nor
// agents.defaults.timeoutSeconds says.
const DefaultTimeout = 600 * time.Second

// target is what a run talks to: the agent, the provider and the model.
type target struct {
	AgentID    string
	ProviderID string
	Model      string
	Provider   provider.Provider
	Timeout    time.Duration
	// ContextChars is the context budget (agents.defaults.contextMaxChars).
	ContextChars int
}

// resolve finds the provider and model for an agent (docs/PROTOCOL.md §9):
// agents.list[].model.primary, else agents.defaults.model.primary, as
// "<provider>/<model>" naming models.providers.<provider>. With no provider
// configured, OPENAI_API_KEY (and OPENAI_BASE_URL) give a provider "openai".
// modelOverride (the request's model param) wins when set.
func resolve(c *config.Config, agentID, modelOverride string, timeout time.Duration) (*target, *protocol.ErrorShape) {
	if c == nil {
		c = &config.Config{}
	}
	if agentID == "" {
		agentID = config.DefaultAgent(c)
	}
	if !config.KnownAgent(c, agentID) {
		return nil, protocol.NewError(protocol.CodeInvalidRequest, "unknown agent: "+agentID, nil)
	}
	primary := config.AgentModelRef(c, agentID)
	if modelOverride != "" {
		primary = modelOverride
	}
	t := &target{AgentID: agentID, Timeout: DefaultTimeout, ContextChars: MaxContextChars}
	if n := c.Agents.Defaults.ContextMaxChars; n > 0 {
		t.ContextChars = n
	}
	if s := c.Agents.Defaults.TimeoutSeconds; s > 0 {
		t.Timeout = time.Duration(s) * time.Second
	}
	if timeout > 0 {
		t.Timeout = timeout
	}
	p, providerID, model, err := provider.FromConfig(c, primary)
	if err != nil {
		msg := err.Error()
		if pid, _, _ := strings.Cut(primary, "/"); primary != "" {
			msg = "agents.defaults.model.primary is " + primary + " but models.providers." + pid + " is not configured"
		}
		return nil, protocol.NewError(protocol.CodeUnavailable, msg, map[string]any{"code": "NO_PROVIDER"})
	}
	t.ProviderID, t.Model, t.Provider = providerID, model, p
	return t, nil
}

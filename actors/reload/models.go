package reload

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"openclaw/config"
	"openclaw/transport/protocol"
	"openclaw/transport/provider"
)

// The model catalog, provider authentication and agents, as the active
// config declares them.

// modelsList is models.list: the models of models.providers (every view:
// this gateway knows no catalog beyond its config), the default agent's
// tagged "default". With no provider configured and OPENAI_API_KEY set, the
// provider it gives has one model, the default.
func modelsList(c *config.Config, p protocol.ModelsListParams) protocol.ModelsList {
	res := protocol.ModelsList{Models: []protocol.ModelEntry{}}
	agent := p.AgentID
	if agent == "" || !config.KnownAgent(c, agent) {
		agent = config.DefaultAgent(c)
	}
	def := config.AgentModelRef(c, agent)
	ids := make([]string, 0, len(c.Models.Providers))
	for id := range c.Models.Providers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if p.Provider != "" && p.Provider != id {
			continue
		}
		pc := c.Models.Providers[id]
		for _, m := range pc.Models {
			e := modelEntry(id, m, def, p.IncludeDetails)
			if p.IncludeDetails {
				local := isLoopback(pc.BaseURL)
				e.Local = &local
			}
			if pc.BaseURL == "" {
				e.Available, e.UnavailableReason = false, "models.providers."+id+".baseUrl is not set"
			}
			res.Models = append(res.Models, e)
		}
	}
	if len(c.Models.Providers) == 0 && os.Getenv("OPENAI_API_KEY") != "" && (p.Provider == "" || p.Provider == "openai") {
		model := strings.TrimPrefix(def, "openai/")
		if model == "" {
			model = provider.DefaultOpenAIModel
		}
		res.Models = append(res.Models, modelEntry("openai", config.ProviderModel{ID: model, Name: model}, "openai/"+model, p.IncludeDetails))
	}
	return res
}

func modelEntry(providerID string, m config.ProviderModel, def string, details bool) protocol.ModelEntry {
	e := protocol.ModelEntry{ID: m.ID, Name: m.Name, Provider: providerID, ContextWindow: m.ContextWindow, MaxTokens: m.MaxTokens,
		Reasoning: m.Reasoning,
		Tags:      []string{}, ThinkingLevel: protocol.ThinkingItems(), ThinkingDef: "off", Available: true}
	if e.Name == "" {
		e.Name = m.ID
	}
	if providerID+"/"+m.ID == def {
		e.Tags = append(e.Tags, "default")
	}
	if details {
		e.Input = []string{"text"}
	}
	return e
}

// isLoopback reports whether a base URL names this machine.
func isLoopback(baseURL string) bool {
	u, err := url.Parse(baseURL)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// authStatus is models.authStatus: each configured provider and where its
// API key comes from.
func authStatus(c *config.Config) protocol.ModelsAuthStatus {
	res := protocol.ModelsAuthStatus{TS: time.Now().UnixMilli(), Providers: []protocol.ProviderAuthStatus{},
		ProviderCapabilities: []struct{}{}}
	ids := make([]string, 0, len(c.Models.Providers))
	for id := range c.Models.Providers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		pc := c.Models.Providers[id]
		st := protocol.ProviderAuthStatus{Provider: id, AuthProvider: id, DisplayName: id, Status: "static", Profiles: []struct{}{}}
		if pc.APIKey != "" {
			st.APIKey = &protocol.APIKeySource{Source: "config"}
		} else {
			st.Status = "missing"
		}
		for _, m := range pc.Models {
			st.Models = append(st.Models, m.ID)
		}
		res.Providers = append(res.Providers, st)
	}
	if len(c.Models.Providers) == 0 && os.Getenv("OPENAI_API_KEY") != "" {
		res.Providers = append(res.Providers, protocol.ProviderAuthStatus{Provider: "openai", AuthProvider: "openai",
			DisplayName: "openai", Status: "static", Profiles: []struct{}{}, APIKey: &protocol.APIKeySource{Source: "env"}})
	}
	return res
}

// agentsList is agents.list.
func agentsList(c *config.Config, stateDir string) protocol.AgentsList {
	def := config.DefaultAgent(c)
	res := protocol.AgentsList{DefaultID: def, Ownership: "sole", MainKey: "main", Scope: "per-sender", Agents: []protocol.AgentInfo{}}
	for _, id := range config.AgentIDs(c) {
		ws := config.AgentWorkspace(c, id, stateDir)
		_, gitErr := os.Stat(filepath.Join(ws, ".git"))
		a := protocol.AgentInfo{ID: id, Name: config.AgentName(c, id), IsDefault: id == def, Workspace: ws, WorkspaceGit: gitErr == nil,
			ThinkingLevels: protocol.ThinkingItems(), ThinkingOptions: protocol.ThinkingLevels, ThinkingDefault: "off"}
		if ref := config.AgentModelRef(c, id); ref != "" {
			a.Model = &protocol.AgentModelRef{Primary: ref}
		}
		res.Agents = append(res.Agents, a)
	}
	return res
}

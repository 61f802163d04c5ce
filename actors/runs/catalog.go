package runs

import (
	"sort"

	"openclaw/actors/tools"
	"openclaw/config"
	"openclaw/transport/protocol"
)

// catalogProfile is the one tool profile: every tool the config allows
// (gateway.tools.deny takes some away).
const catalogProfile = "full"

// groupLabels name the catalog's groups.
var groupLabels = map[string]string{"sessions": "Sessions", "messaging": "Messaging", "nodes": "Nodes", "": "Other"}

// catalog is tools.catalog: the tools the agent is offered, by group.
func catalog(c *config.Config, set tools.Set, agentID string) protocol.ToolsCatalog {
	if agentID == "" {
		agentID = config.DefaultAgent(c)
	}
	res := protocol.ToolsCatalog{AgentID: agentID, Profiles: []protocol.ToolProfile{{ID: catalogProfile, Label: "Full"}},
		Groups: []protocol.ToolGroup{}}
	byGroup := map[string]*protocol.ToolGroup{}
	var order []string
	for _, t := range set.Offered(c) {
		g := byGroup[t.Group]
		if g == nil {
			g = &protocol.ToolGroup{ID: t.Group, Label: groupLabels[t.Group], Source: "core", Tools: []protocol.ToolSummary{}}
			if g.ID == "" {
				g.ID = "other"
			}
			if g.Label == "" {
				g.Label = g.ID
			}
			byGroup[t.Group] = g
			order = append(order, t.Group)
		}
		g.Tools = append(g.Tools, protocol.ToolSummary{ID: t.Name, Label: t.Name, Description: t.Description, Source: "core",
			DefaultProfiles: []string{catalogProfile}})
	}
	sort.Strings(order)
	for _, g := range order {
		res.Groups = append(res.Groups, *byGroup[g])
	}
	return res
}

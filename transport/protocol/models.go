package protocol

// Models, agents, tools and the host: models.list, models.authStatus,
// agents.list, tools.catalog, system.info.

// ModelsListParams are models.list's params. View "configured" and
// "default" list the models the config declares; "all" the same (we know
// no catalog beyond the config). Provider filters by provider id.
type ModelsListParams struct {
	View           string `json:"view,omitempty" enum:"default,configured,provider-config,all"`
	Provider       string `json:"provider,omitempty" minLength:"1"`
	AgentID        string `json:"agentId,omitempty" minLength:"1"`
	IncludeDetails bool   `json:"includeDetails,omitempty"`
	Refresh        bool   `json:"refresh,omitempty"` // nothing to refresh: the list is the config's
	// Accepted as at the reference; the list is the config's whatever the
	// session, auth profile or preparation state.
	SessionKey                  string `json:"sessionKey,omitempty" minLength:"1"`
	AuthProfileID               string `json:"authProfileId,omitempty" minLength:"1" maxLength:"256"`
	IncludeProviderCapabilities bool   `json:"includeProviderCapabilities,omitempty"`
	IncludeDefaultModels        bool   `json:"includeDefaultModels,omitempty"`
	PreparedOnly                bool   `json:"preparedOnly,omitempty"`
}

// ModelsList is models.list's result.
type ModelsList struct {
	Models []ModelEntry `json:"models"`
}

// ModelEntry is one model of the catalog (models.providers.<id>.models).
type ModelEntry struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Provider      string `json:"provider"`
	ContextWindow int    `json:"contextWindow,omitempty"`
	MaxTokens     int    `json:"maxTokens,omitempty"`
	Reasoning     bool   `json:"reasoning"` // models.providers.<id>.models[].reasoning
	// Local (with includeDetails) says the provider runs on this machine
	// (its baseUrl is a loopback address).
	Local         *bool          `json:"local,omitempty"`
	Input         []string       `json:"input,omitempty"` // with includeDetails: ["text"]
	Tags          []string       `json:"tags"`            // "default" for the default agent's model
	ThinkingLevel []ThinkingItem `json:"thinkingLevels"`
	ThinkingDef   string         `json:"thinkingDefault"`
	// Available is true when the provider has what it needs to be called
	// (a base URL); UnavailableReason says what is missing otherwise.
	Available         bool   `json:"available"`
	UnavailableReason string `json:"unavailableReason,omitempty"`
}

// ThinkingItem is one thinking level a model or session accepts.
type ThinkingItem struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// ModelsAuthStatusParams are models.authStatus's params.
type ModelsAuthStatusParams struct {
	Refresh bool   `json:"refresh,omitempty"`
	AgentID string `json:"agentId,omitempty"`
}

// ModelsAuthStatus is models.authStatus's result: how each configured
// provider authenticates. ProviderCapabilities is empty: providers are
// configured in the file, not logged into.
type ModelsAuthStatus struct {
	TS                   int64                `json:"ts"`
	Providers            []ProviderAuthStatus `json:"providers"`
	ProviderCapabilities []struct{}           `json:"providerCapabilities"`
}

// ProviderAuthStatus is one provider's authentication.
type ProviderAuthStatus struct {
	Provider     string        `json:"provider"`
	AuthProvider string        `json:"authProvider"`
	DisplayName  string        `json:"displayName"`
	Status       string        `json:"status"`   // static (an API key in the config or environment) | missing
	Profiles     []struct{}    `json:"profiles"` // always empty: no auth profiles
	APIKey       *APIKeySource `json:"apiKey,omitempty"`
	Models       []string      `json:"models,omitempty"`
}

// APIKeySource says where a provider's API key comes from.
type APIKeySource struct {
	Source string `json:"source"` // config | env
}

// AgentsList is agents.list's result.
type AgentsList struct {
	DefaultID         string      `json:"defaultId"`
	Ownership         string      `json:"ownership"` // sole
	SelectionRequired bool        `json:"selectionRequired"`
	MainKey           string      `json:"mainKey"` // "main": agent:<id>:main
	Scope             string      `json:"scope"`   // "per-sender": a channel chat has its own session
	Agents            []AgentInfo `json:"agents"`
}

// AgentInfo is one configured agent.
type AgentInfo struct {
	ID              string         `json:"id"`
	Name            string         `json:"name,omitempty"`
	IsDefault       bool           `json:"isDefault"`
	Workspace       string         `json:"workspace"`
	WorkspaceGit    bool           `json:"workspaceGit"` // the workspace is a git repository
	ThinkingLevels  []ThinkingItem `json:"thinkingLevels"`
	ThinkingOptions []string       `json:"thinkingOptions"`
	ThinkingDefault string         `json:"thinkingDefault"`
	Model           *AgentModelRef `json:"model,omitempty"`
}

// AgentModelRef is an agent's model.
type AgentModelRef struct {
	Primary string `json:"primary"`
}

// ToolsCatalogParams are tools.catalog's params.
type ToolsCatalogParams struct {
	AgentID string `json:"agentId,omitempty" minLength:"1"`
}

// ToolsCatalog is tools.catalog's result: the tools an agent may call,
// grouped.
type ToolsCatalog struct {
	AgentID  string        `json:"agentId"`
	Profiles []ToolProfile `json:"profiles"`
	Groups   []ToolGroup   `json:"groups"`
}

// ToolProfile is a named set of tools.
type ToolProfile struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// ToolGroup is a group of tools.
type ToolGroup struct {
	ID     string        `json:"id"`
	Label  string        `json:"label"`
	Source string        `json:"source"` // core
	Tools  []ToolSummary `json:"tools"`
}

// ToolSummary is one tool.
type ToolSummary struct {
	ID              string   `json:"id"`
	Label           string   `json:"label"`
	Description     string   `json:"description"`
	Source          string   `json:"source"`
	DefaultProfiles []string `json:"defaultProfiles"`
}

// SystemInfo is system.info's result: the host and this process.
type SystemInfo struct {
	MachineName        string        `json:"machineName"`
	Hostname           string        `json:"hostname"`
	Platform           string        `json:"platform"` // GOOS
	Release            string        `json:"release"`  // the kernel release
	Arch               string        `json:"arch"`     // the reference's names: x64, arm64, ...
	OSLabel            string        `json:"osLabel"`
	Port               int           `json:"port"`
	GoVersion          string        `json:"goVersion"`
	PID                int           `json:"pid"`
	ProcessInstanceID  string        `json:"processInstanceId"`
	UptimeMs           int64         `json:"uptimeMs"`
	CPUCount           int           `json:"cpuCount"`
	CPUModel           string        `json:"cpuModel,omitempty"`
	LoadAverage        []float64     `json:"loadAverage"`
	MemoryTotalBytes   int64         `json:"memoryTotalBytes"`
	MemoryFreeBytes    int64         `json:"memoryFreeBytes"`
	ProcessMemory      ProcessMemory `json:"processMemory"`
	Disks              []DiskInfo    `json:"disks"`
	DiskTotalBytes     int64         `json:"diskTotalBytes"`
	DiskAvailableBytes int64         `json:"diskAvailableBytes"`
	DiskPath           string        `json:"diskPath"`
}

// DiskInfo is the file system holding a path.
type DiskInfo struct {
	Path           string `json:"path"`
	TotalBytes     int64  `json:"totalBytes"`
	AvailableBytes int64  `json:"availableBytes"`
}

// ThinkingLevels are the thinking levels a session accepts
// (sessions.patch thinkingLevel); all but off go to the model as its
// reasoning effort.
var ThinkingLevels = []string{"off", "minimal", "low", "medium", "high"}

// ThinkingItems are ThinkingLevels as models.list and agents.list show them.
func ThinkingItems() []ThinkingItem {
	out := make([]ThinkingItem, 0, len(ThinkingLevels))
	for _, l := range ThinkingLevels {
		out = append(out, ThinkingItem{ID: l, Label: l})
	}
	return out
}

// Approvals of commands the agent wants to run (exec.approval.list,
// plugin.approval.list, openclaw.approval.list): none of our tools executes
// anything, so none is ever pending and the lists are empty.
type Approvals []struct{}

package httpapi

import (
	"net/http"
	"time"

	"openclaw/actors/core"

	"openclaw/config"
	"openclaw/transport/auth"
)

// ControlUI is what the Control UI's bootstrap file needs to know about the
// UI being served.
type ControlUI struct {
	// BasePath is gateway.controlUi.basePath, normalized ("" or "/a/b").
	BasePath string
	// Root is gateway.controlUi.root ("" for the built-in page).
	Root string
	// Version and BuildID are the gateway's.
	Version, BuildID string
}

// controlUIConfig is <base>/control-ui-config.json, the bootstrap the app
// fetches before it connects: the assistant's name and avatar and the UI's
// feature switches. The keys are the reference's; the switches are its
// defaults, or false where we have no such feature (a terminal, CLI agents).
// Nothing in it is a secret, but like the reference it is served only to a
// caller with a bearer: the gateway's token or password, or a paired
// device's operator token with operator.read, which is what the UI sends
// once it has connected (anyone when the gateway has no auth).
type controlUIConfig struct {
	BasePath                   string     `json:"basePath"`
	AssistantName              string     `json:"assistantName"`
	AssistantAvatar            string     `json:"assistantAvatar"`
	AssistantAvatarSource      *string    `json:"assistantAvatarSource"` // null: no image configured
	AssistantAvatarStatus      *string    `json:"assistantAvatarStatus"`
	AssistantAvatarReason      *string    `json:"assistantAvatarReason"`
	AssistantAgentID           string     `json:"assistantAgentId"`
	ServerVersion              string     `json:"serverVersion"`
	ServerBuildID              string     `json:"serverBuildId,omitempty"` // only for the gateway's own UI, as the reference
	EmbedSandbox               string     `json:"embedSandbox"`
	AllowExternalEmbedURLs     bool       `json:"allowExternalEmbedUrls"`
	AutomaticallyFetchFavicons bool       `json:"automaticallyFetchFavicons"`
	CommunityInvite            bool       `json:"communityInvite"`
	TerminalEnabled            bool       `json:"terminalEnabled"`
	CLIAgentsEnabled           bool       `json:"cliAgentsEnabled"`
	PluginAssetsRequireAuth    bool       `json:"pluginAssetsRequireAuth"`
	PluginFrameGrants          []struct{} `json:"pluginFrameGrants"`
}

// controlUIConfigPaths are where the reference serves the bootstrap: under
// the base path, its legacy name there, and with no base path the default
// namespace's alias.
func controlUIConfigPaths(base string) []string {
	paths := []string{base + "/control-ui-config.json", base + "/__openclaw/control-ui-config.json"}
	if base == "" {
		paths = append(paths, "/__openclaw__/control-ui-config.json")
	}
	return paths
}

func (a *api) controlUIConfig(ui ControlUI) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if !a.authorizeOr(w, r, a.deviceOperator) {
			return
		}
		cfg := a.d.Config.Get()
		agent := config.DefaultAgent(cfg)
		name, _, avatar := config.AgentIdentity(cfg, agent)
		body := controlUIConfig{BasePath: ui.BasePath, AssistantName: name, AssistantAvatar: avatar, AssistantAgentID: agent,
			ServerVersion: ui.Version, EmbedSandbox: "scripts", AutomaticallyFetchFavicons: true, CommunityInvite: true,
			PluginAssetsRequireAuth: a.d.Secret.Get().Mode != auth.ModeNone, PluginFrameGrants: []struct{}{}}
		if ui.Root == "" {
			body.ServerBuildID = ui.BuildID
		}
		h.Set("Cache-Control", "no-cache")
		writeJSON(w, http.StatusOK, body)
	})
}

// deviceOperator reports whether token is a paired device's operator token
// granting operator.read.
func (a *api) deviceOperator(token string) bool {
	if a.d.Devices == nil {
		return false
	}
	res, err := a.d.Root.RequestFuture(a.d.Devices, &core.OperatorTokenCheck{Token: token}, deviceCheckTimeout).Result()
	ok, _ := res.(*core.OperatorTokenResult)
	return err == nil && ok != nil && ok.OK && ok.Scopes.Has(core.ScopeRead)
}

// deviceCheckTimeout bounds the devices actor's answer (an in-memory
// lookup).
const deviceCheckTimeout = 5 * time.Second

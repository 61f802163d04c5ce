package conn

import (
	"openclaw/actors/core"
	"openclaw/transport/auth"
)

// connectParams mirrors the connect schema (schemas/connect.json).
type connectParams struct {
	MinProtocol int             `json:"minProtocol"`
	MaxProtocol int             `json:"maxProtocol"`
	Client      core.ClientInfo `json:"client"`
	Role        string          `json:"role"`
	Scopes      []string        `json:"scopes"`
	Caps        []string        `json:"caps"`
	Commands    []string        `json:"commands"`
	Permissions map[string]bool `json:"permissions"`
	PathEnv     string          `json:"pathEnv"`
	Auth        struct {
		Token          string `json:"token"`
		Password       string `json:"password"`
		DeviceToken    string `json:"deviceToken"`
		BootstrapToken string `json:"bootstrapToken"`
	} `json:"auth"`
	Device    *auth.DeviceProof `json:"device"`
	Locale    string            `json:"locale"`
	UserAgent string            `json:"userAgent"`
}

package protocol

import "encoding/json"

// The handshake (docs/PROTOCOL.md §3 of the shared contract; docs/PROTOCOL.md):
// the connect params a client sends first and the hello-ok it gets back.

// ConnectParams are the connect request's params.
type ConnectParams struct {
	MinProtocol int             `json:"minProtocol" minimum:"1" maximum:"1000"`
	MaxProtocol int             `json:"maxProtocol" minimum:"1" maximum:"1000"`
	Client      ClientInfo      `json:"client"`
	Role        string          `json:"role,omitempty"`
	Scopes      []string        `json:"scopes,omitempty"`
	Caps        []string        `json:"caps,omitempty"`
	Commands    []string        `json:"commands,omitempty"`
	Permissions map[string]bool `json:"permissions,omitempty"`
	PathEnv     string          `json:"pathEnv,omitempty"`
	Auth        ConnectAuth     `json:"auth,omitzero"`
	Device      *DeviceProof    `json:"device,omitempty"`
	Locale      string          `json:"locale,omitempty"`
	UserAgent   string          `json:"userAgent,omitempty"`
}

// ClientInfo is connect's client block.
type ClientInfo struct {
	ID              string `json:"id" enum:"webchat-ui,openclaw-control-ui,openclaw-browser-copilot,openclaw-tui,webchat,cli,gateway-client,openclaw-macos,openclaw-linux,openclaw-ios,openclaw-watchos,openclaw-android,node-host,openclaw-worker,test,fingerprint,openclaw-probe"`
	DisplayName     string `json:"displayName,omitempty"`
	Version         string `json:"version" minLength:"1"`
	Platform        string `json:"platform" minLength:"1"`
	DeviceFamily    string `json:"deviceFamily,omitempty"`
	ModelIdentifier string `json:"modelIdentifier,omitempty"`
	Mode            string `json:"mode" enum:"webchat,cli,ui,backend,node,worker,probe,test"`
	InstanceID      string `json:"instanceId,omitempty"`
	BuildID         string `json:"buildId,omitempty" maxLength:"96"`
	TimeZone        string `json:"timeZone,omitempty" maxLength:"64"`
}

// ConnectAuth is connect's auth block: the shared secret (as token or
// password), a device token, or a bootstrap token.
type ConnectAuth struct {
	Token          string `json:"token,omitempty"`
	Password       string `json:"password,omitempty"`
	DeviceToken    string `json:"deviceToken,omitempty"`
	BootstrapToken string `json:"bootstrapToken,omitempty"`
}

// DeviceProof is connect's device block: an Ed25519 key and its signature
// over the connect fields and the challenge nonce.
type DeviceProof struct {
	ID        string `json:"id" minLength:"1"`
	PublicKey string `json:"publicKey" minLength:"1"`
	Signature string `json:"signature" minLength:"1"`
	SignedAt  int64  `json:"signedAt" minimum:"0" maximum:"9007199254740991"`
	Nonce     string `json:"nonce"`
}

// Challenge is the connect.challenge event's payload, sent before connect.
type Challenge struct {
	Nonce string `json:"nonce"`
	TS    int64  `json:"ts"`
}

// HelloOK is the payload of connect's successful response.
type HelloOK struct {
	Type     string       `json:"type"` // "hello-ok"
	Protocol int          `json:"protocol"`
	Server   HelloServer  `json:"server"`
	Features HelloFeature `json:"features"`
	Snapshot Snapshot     `json:"snapshot"`
	Policy   Policy       `json:"policy"`
	Auth     HelloAuth    `json:"auth"`
}

// HelloServer names the gateway process and the socket.
type HelloServer struct {
	Version string `json:"version"`
	BuildID string `json:"buildId,omitempty"`
	ConnID  string `json:"connId"`
	BootID  string `json:"bootId,omitempty"`
	// ControlUIBuildSource is where the Control UI served on this port
	// comes from: "configured" (gateway.controlUi.root) or "bundled" (the
	// gateway's own page). A reference Control UI served from the same
	// origin compares its build id with buildId unless this is
	// "configured", and stops at "Refresh required" when they differ.
	ControlUIBuildSource string `json:"controlUiBuildSource,omitempty"`
}

// HelloFeature lists what this gateway serves: derived from the method
// registry, so it never lists what is not served.
type HelloFeature struct {
	Methods []string `json:"methods"`
	Events  []string `json:"events"`
	// Capabilities are feature names of the reference's that clients check
	// before relying on a behaviour; only those we have are listed.
	Capabilities []string `json:"capabilities"`
}

// Snapshot lets a client render at once, without further requests.
type Snapshot struct {
	Presence        []PresenceEntry `json:"presence"`
	Health          json.RawMessage `json:"health"`
	StateVersion    StateVersion    `json:"stateVersion"`
	UptimeMs        int64           `json:"uptimeMs"`
	SessionDefaults SessionDefaults `json:"sessionDefaults"`
	// Admin-only fields.
	ConfigPath string `json:"configPath,omitempty"`
	StateDir   string `json:"stateDir,omitempty"`
	AuthMode   string `json:"authMode,omitempty"`
}

// SessionDefaults names the default agent and its main session.
type SessionDefaults struct {
	DefaultAgentID string `json:"defaultAgentId"`
	MainKey        string `json:"mainKey"`
	MainSessionKey string `json:"mainSessionKey"`
}

// Policy is the limits the client must respect.
type Policy struct {
	MaxPayload       int64 `json:"maxPayload"`
	MaxBufferedBytes int64 `json:"maxBufferedBytes"`
	TickIntervalMs   int64 `json:"tickIntervalMs"`
}

// HelloAuth says how the socket authenticated and what it may do.
type HelloAuth struct {
	Role        string   `json:"role"`
	Scopes      []string `json:"scopes"`
	Method      string   `json:"method"` // none | token | password | device-token
	DeviceToken string   `json:"deviceToken,omitempty"`
	IssuedAtMs  int64    `json:"issuedAtMs,omitempty"`
}

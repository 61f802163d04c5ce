// Package config loads the gateway's JSON5 configuration file and resolves the
// paths, profile and port it runs with (docs/PROTOCOL.md §9).
//
// The file is the one people edit by hand; everything the gateway writes by
// itself goes to the state directory instead. Every key the gateway knows is a
// typed field below; an unknown key is an error that names the key's full
// path, the file and the line.
//
// Besides loading, the package serves config hot reload and the config RPCs
// (docs/PROTOCOL.md §5.5): Diff and Classify say which changes apply in place and
// which need a restart; HashBytes, Redact, RestoreRedacted, MergePatch,
// FromMap and WriteAtomic implement config.get, config.apply and config.patch.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/titanous/json5"
)

// Config is the whole openclaw.json.
type Config struct {
	// Gateway configures the gateway process: where it listens, how clients
	// authenticate, how it reloads its config, and its transport limits.
	Gateway Gateway `json:"gateway,omitzero"`
	// CanvasHost configures the canvas file server (docs/PROTOCOL.md §8).
	CanvasHost CanvasHost `json:"canvasHost,omitzero"`
	// Agents configures the agents that answer messages and their defaults.
	Agents Agents `json:"agents,omitzero"`
	// Models declares the model providers agents can use.
	Models Models `json:"models,omitzero"`
	// Channels configures the messaging channels (Telegram).
	Channels Channels `json:"channels,omitzero"`
	// Commands configures operator commands (restart on SIGUSR1).
	Commands Commands `json:"commands,omitzero"`
	// Cron configures the scheduler of jobs (cron.*) and heartbeats.
	Cron Cron `json:"cron,omitzero"`
	// Meta is written by the reference's own tools (last version and time
	// that touched the file). Accepted as any JSON and otherwise ignored.
	Meta json.RawMessage `json:"meta,omitempty"`
	// Wizard is written by the reference's onboarding wizard (when it last
	// ran and how). Accepted as any JSON and otherwise ignored.
	Wizard json.RawMessage `json:"wizard,omitempty"`
}

// Gateway is gateway.*.
type Gateway struct {
	// Mode is "local" or "remote". The reference will not start a gateway
	// without "local" unless --allow-unconfigured; this gateway accepts the
	// key so reference configs load and does not otherwise use it.
	Mode string `json:"mode,omitempty"`
	// Port is the one TCP port for WebSocket and HTTP. Default 18789 (19001
	// for the dev profile). --port and OPENCLAW_GATEWAY_PORT win over it.
	// Changing it needs a restart.
	Port int `json:"port,omitempty"`
	// Bind is where to listen: "loopback" (default: 127.0.0.1 and ::1),
	// "lan" (0.0.0.0) or "custom" (the address in CustomBindHost).
	// Changing it needs a restart.
	Bind string `json:"bind,omitempty"`
	// CustomBindHost is the address to listen on when Bind is "custom"
	// (required then, ignored otherwise).
	CustomBindHost string `json:"customBindHost,omitempty"`
	// Auth configures how clients authenticate.
	Auth Auth `json:"auth,omitzero"`
	// Reload configures what happens when this file changes.
	Reload Reload `json:"reload,omitzero"`
	// HTTP turns the OpenAI-compatible HTTP endpoints on and off.
	HTTP HTTP `json:"http,omitzero"`
	// Tools restricts which tools POST /tools/invoke may run.
	Tools Tools `json:"tools,omitzero"`
	// Nodes configures devices that connect with role "node".
	Nodes Nodes `json:"nodes,omitzero"`
	// ControlUI configures the browser Control UI and which web pages may
	// open a WebSocket to the gateway.
	ControlUI ControlUI `json:"controlUi,omitzero"`
	// Limits overrides the transport limits of docs/PROTOCOL.md §1 (an
	// openclaw-go extension; the reference takes some of them from
	// environment variables). Changing them needs a restart.
	Limits Limits `json:"limits,omitzero"`
	// Cluster runs this gateway as one of several sharing presence, events
	// and routing over NATS (an openclaw-go extension, docs/ARCHITECTURE.md
	// "Cluster mode"). Absent or enabled false: a single gateway, no NATS.
	// Changing any key under it needs a restart.
	Cluster *Cluster `json:"cluster,omitempty"`
}

// Cluster is gateway.cluster.
type Cluster struct {
	// Enabled turns cluster mode on.
	Enabled bool `json:"enabled,omitempty"`
	// Name prefixes every NATS subject, stream and KV bucket of the
	// cluster, so several clusters can share one NATS. Letters, digits,
	// '-' and '_'. Default "openclaw".
	Name string `json:"name,omitempty"`
	// NodeName is this gateway's name in the cluster, unique among its
	// peers (presence rows and health name it). Letters, digits, '-' and
	// '_'. Default: the host name and the gateway port ("host-18789").
	NodeName string `json:"nodeName,omitempty"`
	// NATS says which NATS to use: an external one (URL) or the server
	// embedded in this binary (Embedded, used when URL is empty).
	NATS ClusterNATS `json:"nats,omitzero"`
	// Replicas is how many copies JetStream keeps of the cluster's state.
	// Default min(3, number of NATS servers known).
	Replicas int `json:"replicas,omitempty"`
	// LeaseTTLMs is how long a channel account's lease lives without a
	// renewal, in milliseconds (its owner renews it every third of it): a
	// gateway that dies or is cut off from NATS is replaced as the owner of
	// its channel accounts within about this time. At least 1000. Default
	// 10000. A cluster's leases bucket keeps the TTL it was created with.
	LeaseTTLMs int `json:"leaseTtlMs,omitempty"`
}

// DefaultLeaseTTLMs is gateway.cluster.leaseTtlMs when unset.
const DefaultLeaseTTLMs = 10000

// LeaseTTL is LeaseTTLMs with its default applied.
func (c Cluster) LeaseTTL() time.Duration {
	ms := c.LeaseTTLMs
	if ms == 0 {
		ms = DefaultLeaseTTLMs
	}
	return time.Duration(ms) * time.Millisecond
}

// ClusterNATS is gateway.cluster.nats.
type ClusterNATS struct {
	// URL of an external NATS with JetStream ("nats://host:4222"; several
	// separated by commas). Empty: run the embedded server.
	URL string `json:"url,omitempty"`
	// Credentials is a NATS credentials file (JWT and nkey seed).
	Credentials string `json:"credentials,omitempty"`
	// Token authenticates to the external NATS with a token.
	Token string `json:"token,omitempty"`
	// TLS configures TLS to the external NATS.
	TLS ClusterTLS `json:"tls,omitzero"`
	// Embedded configures the NATS server this gateway runs itself.
	Embedded ClusterEmbedded `json:"embedded,omitzero"`
}

// ClusterTLS is gateway.cluster.nats.tls.
type ClusterTLS struct {
	// CA is a PEM file of the CAs that sign the NATS servers' certificates.
	CA string `json:"ca,omitempty"`
	// Cert and Key are a PEM client certificate and its key (mutual TLS).
	Cert string `json:"cert,omitempty"`
	Key  string `json:"key,omitempty"`
}

// ClusterEmbedded is gateway.cluster.nats.embedded.
type ClusterEmbedded struct {
	// ClusterListen is the host:port this gateway's NATS takes routes from
	// its peers on ("127.0.0.1:6248"). Empty: a cluster of one.
	ClusterListen string `json:"clusterListen,omitempty"`
	// Routes are the peers' route URLs ("nats-route://127.0.0.1:6249").
	Routes []string `json:"routes,omitempty"`
	// Advertise is the host:port this gateway's NATS tells its peers to
	// route to it at, when they do not reach clusterListen directly (NAT,
	// a container's published port, a proxy). NATS servers gossip it:
	// a peer told of this server by another routes to this address.
	// Default: clusterListen's port on the address the peer sees.
	Advertise string `json:"advertise,omitempty"`
	// StoreDir is where JetStream keeps its files. Default <stateDir>/nats.
	StoreDir string `json:"storeDir,omitempty"`
	// ClientListen, when set, is a host:port where the embedded NATS also
	// accepts NATS clients (the nats CLI, or other gateways using it as
	// their external NATS). Default: no client port; the gateway connects
	// in-process.
	ClientListen string `json:"clientListen,omitempty"`
}

// ClusterOn reports whether cluster mode is configured and enabled.
func (g *Gateway) ClusterOn() bool { return g.Cluster != nil && g.Cluster.Enabled }

// Auth is gateway.auth.
type Auth struct {
	// Mode is "token" (default; "password" when only a password is set),
	// "password" or "none". "none" is refused on a non-loopback bind.
	// Changing it needs a restart.
	Mode string `json:"mode,omitempty"`
	// Token is the shared secret clients send as connect.params.auth.token
	// or as an HTTP bearer token. When set here it wins over
	// OPENCLAW_GATEWAY_TOKEN; set but blank is an error, not "unset". With
	// no token anywhere the gateway generates one per run. Rotating it is
	// applied in place: sockets that used the old one are closed (4001).
	Token *string `json:"token,omitempty"`
	// Password is the shared secret for mode "password"; it wins over
	// OPENCLAW_GATEWAY_PASSWORD. Set but blank is an error. Rotation works
	// as for Token.
	Password *string `json:"password,omitempty"`
	// RateLimit bounds failed authentication attempts per client IP.
	// Unset keys take the defaults below.
	RateLimit *RateLimit `json:"rateLimit,omitempty"`
}

// RateLimit is gateway.auth.rateLimit.
type RateLimit struct {
	// MaxAttempts is how many failures an IP may have within WindowMs
	// before it is locked out. Default 10; 0 turns rate limiting off.
	MaxAttempts *int `json:"maxAttempts,omitempty"`
	// WindowMs is the window failures are counted in, in milliseconds.
	// Default 60000.
	WindowMs *int `json:"windowMs,omitempty"`
	// LockoutMs is how long a locked-out IP is refused, in milliseconds.
	// Default 300000.
	LockoutMs *int `json:"lockoutMs,omitempty"`
	// ExemptLoopback exempts connections from 127.0.0.1/::1 from the
	// limit. Default true.
	ExemptLoopback *bool `json:"exemptLoopback,omitempty"`
}

// Reload is gateway.reload.
type Reload struct {
	// Mode is "hybrid" (default: apply safe changes in place, restart the
	// gateway in-process for the rest) or "off" (ignore changes to the file
	// until the next start).
	Mode string `json:"mode,omitempty"`
	// DebounceMs is how long the file must stay unchanged before a change
	// is read, in milliseconds, so that an editor's several writes make one
	// reload. Default 300 (an openclaw-go key).
	DebounceMs *int `json:"debounceMs,omitempty"`
}

// DefaultReloadDebounceMs is gateway.reload.debounceMs when unset.
const DefaultReloadDebounceMs = 300

// Reload modes.
const (
	ReloadHybrid = "hybrid"
	ReloadOff    = "off"
)

// EffectiveMode is Mode with its default applied.
func (r Reload) EffectiveMode() string {
	if r.Mode == "" {
		return ReloadHybrid
	}
	return r.Mode
}

// Debounce is DebounceMs with its default applied.
func (r Reload) Debounce() time.Duration {
	ms := DefaultReloadDebounceMs
	if r.DebounceMs != nil {
		ms = *r.DebounceMs
	}
	return time.Duration(ms) * time.Millisecond
}

// HTTP is gateway.http.
type HTTP struct {
	// Endpoints turns the optional HTTP APIs on.
	Endpoints HTTPEndpoints `json:"endpoints,omitzero"`
}

// HTTPEndpoints is gateway.http.endpoints.
type HTTPEndpoints struct {
	// ChatCompletions is POST /v1/chat/completions (and GET /v1/models).
	ChatCompletions HTTPEndpoint `json:"chatCompletions,omitzero"`
	// Responses is POST /v1/responses.
	Responses HTTPEndpoint `json:"responses,omitzero"`
}

// HTTPEndpoint is gateway.http.endpoints.<name>.
type HTTPEndpoint struct {
	// Enabled serves the endpoint. Default false: a disabled endpoint
	// answers 404.
	Enabled bool `json:"enabled,omitempty"`
}

// Tools is gateway.tools: the policy of POST /tools/invoke.
type Tools struct {
	// Allow lists tool names to take off the gateway's default HTTP deny
	// list. Default: none.
	Allow []string `json:"allow,omitempty"`
	// Deny lists tool names POST /tools/invoke refuses (404 "Tool not
	// available"), in addition to the default deny list. Deny wins over
	// Allow. Default: none.
	Deny []string `json:"deny,omitempty"`
}

// Nodes is gateway.nodes.
type Nodes struct {
	// Pairing configures how node devices get paired.
	Pairing NodePairing `json:"pairing,omitzero"`
	// Commands adjusts which commands node.invoke may send to nodes, beyond
	// the platform defaults (docs/PROTOCOL.md §5.4). Applied in place.
	Commands NodeCommands `json:"commands,omitzero"`
}

// NodePairing is gateway.nodes.pairing.
type NodePairing struct {
	// AutoApproveLocal pairs a device with a verified identity connecting
	// over loopback without asking an operator. Default true.
	AutoApproveLocal *bool `json:"autoApproveLocal,omitempty"`
	// AutoApproveCommands approves the command surface a paired node
	// declares (within the platform allowlist) without asking an operator.
	// Default false: a node's commands wait for `openclaw nodes approve`,
	// even when its device was paired automatically. An openclaw-go
	// extension.
	AutoApproveCommands bool `json:"autoApproveCommands,omitempty"`
}

// NodeCommands is gateway.nodes.commands.
type NodeCommands struct {
	// Allow adds commands to every platform's allowlist, including ones
	// that are off by default because they capture or send data
	// (camera.snap, screen.record, sms.send, …).
	Allow []string `json:"allow,omitempty"`
	// Deny removes commands from every allowlist (exact names). Deny wins.
	Deny []string `json:"deny,omitempty"`
}

// ControlUI is gateway.controlUi. Changes need a restart.
type ControlUI struct {
	// Enabled serves the Control UI, the browser app that talks to the
	// gateway over its WebSocket. Default true.
	Enabled *bool `json:"enabled,omitempty"`
	// BasePath is the URL path the Control UI is served under, e.g.
	// "/openclaw". Default "/" (the root of the gateway port).
	BasePath string `json:"basePath,omitempty"`
	// Root is the directory the Control UI's files are served from.
	// Default: the copy built into the gateway.
	Root string `json:"root,omitempty"`
	// AllowedOrigins lists the web origins ("https://ui.example.com", scheme
	// and host[:port], nothing after) whose pages may open a WebSocket to
	// the gateway, besides the gateway's own origin (a page served from the
	// host:port the browser connects to, over http or https). A browser
	// upgrade from any other origin is refused with HTTP 403; clients that
	// send no Origin header (the CLI, nodes) are not affected. "*" allows
	// every origin: only for testing. Default: none.
	AllowedOrigins []string `json:"allowedOrigins,omitempty"`
}

// IsEnabled is Enabled with its default (true) applied.
func (c ControlUI) IsEnabled() bool { return c.Enabled == nil || *c.Enabled }

// Limits is gateway.limits; zero or unset means the default given.
type Limits struct {
	// PreAuthMaxFrameBytes is the largest frame accepted before hello-ok;
	// a larger one closes the socket with 1009. Default 65536.
	PreAuthMaxFrameBytes int `json:"preAuthMaxFrameBytes,omitempty"`
	// MaxPayloadBytes is the largest inbound frame after authentication.
	// Default 26214400 (25 MiB).
	MaxPayloadBytes int `json:"maxPayloadBytes,omitempty"`
	// MaxBufferedBytes is the outbound backlog a socket may have before it
	// is closed as a slow consumer. Default 52428800 (50 MiB).
	MaxBufferedBytes int `json:"maxBufferedBytes,omitempty"`
	// TickIntervalMs is the period of the tick event. Default 30000.
	TickIntervalMs int `json:"tickIntervalMs,omitempty"`
	// HandshakeTimeoutMs is how long a new socket has to send its upgrade
	// request, and then connect. Default 15000
	// (OPENCLAW_HANDSHAKE_TIMEOUT_MS overrides it).
	HandshakeTimeoutMs int `json:"handshakeTimeoutMs,omitempty"`
	// MaxPreAuthPerIP is how many unauthenticated sockets one IP may hold.
	// Default 32 (OPENCLAW_MAX_PREAUTH_CONNECTIONS_PER_IP overrides it).
	MaxPreAuthPerIP int `json:"maxPreAuthPerIP,omitempty"`
	// MaxPendingFrames is how many frames a socket may send before
	// hello-ok; one more closes it. Default 15.
	MaxPendingFrames int `json:"maxPendingFrames,omitempty"`
	// PingIntervalMs is the WebSocket ping period after authentication; no
	// pong by the next ping drops the socket. Default 25000.
	PingIntervalMs int `json:"pingIntervalMs,omitempty"`
	// PresenceTTLMs is how long a presence entry lives without being
	// refreshed. Default 300000.
	PresenceTTLMs int `json:"presenceTtlMs,omitempty"`
	// HealthBroadcastMs is the period of the health event. Default 60000.
	HealthBroadcastMs int `json:"healthBroadcastMs,omitempty"`
}

// CanvasHost is canvasHost.*. Changes need a restart (it binds a port).
type CanvasHost struct {
	// Enabled runs the canvas file server. Default true;
	// OPENCLAW_SKIP_CANVAS_HOST=1 also turns it off.
	Enabled *bool `json:"enabled,omitempty"`
	// Port is the canvas server's own port. Default: the gateway port + 4
	// (18793 for the default gateway port).
	Port int `json:"port,omitempty"`
	// Root is the directory served at /__openclaw__/canvas/. Default
	// <agents.defaults.workspace>/canvas.
	Root string `json:"root,omitempty"`
}

// IsEnabled is Enabled with its default (true) applied.
func (c CanvasHost) IsEnabled() bool { return c.Enabled == nil || *c.Enabled }

// PortFor is Port with its default (gatewayPort + 4) applied.
func (c CanvasHost) PortFor(gatewayPort int) int {
	if c.Port != 0 {
		return c.Port
	}
	return gatewayPort + 4
}

// Agents is agents.*. Changes apply in place.
type Agents struct {
	// Defaults apply to every agent that does not set its own.
	Defaults AgentDefaults `json:"defaults,omitzero"`
	// List declares the agents. With no list there is one agent, "main".
	// Ids must be unique; at most one agent may be the default (else the
	// first one is).
	List []Agent `json:"list,omitempty"`
}

// AgentDefaults is agents.defaults.
type AgentDefaults struct {
	// Workspace is the agent's working directory ("~" is the home
	// directory). Default ~/.openclaw/workspace.
	Workspace string `json:"workspace,omitempty"`
	// Model picks the LLM agents use.
	Model AgentModel `json:"model,omitzero"`
	// TimeoutSeconds bounds one agent run; past it the run ends with
	// AGENT_TIMEOUT. Default 600; a request's own timeout wins.
	TimeoutSeconds int `json:"timeoutSeconds,omitempty"`
	// ContextMaxChars bounds the conversation sent to the model as context:
	// the newest messages that fit in this many characters (the new message
	// always goes). Default 200000. An openclaw-go key.
	ContextMaxChars int `json:"contextMaxChars,omitempty"`
	// Heartbeat runs a turn in each agent's main session on a schedule, so
	// the agent can act on system events and on what it was asked to watch.
	// Default: off (the reference runs one every 30 minutes).
	Heartbeat *Heartbeat `json:"heartbeat,omitempty"`
}

// Heartbeat is agents.defaults.heartbeat and agents.list[].heartbeat.
type Heartbeat struct {
	// Every is the period, a duration such as "30m" or "1h"; "0" or ""
	// turns heartbeats off.
	Every string `json:"every,omitempty"`
	// Prompt is the heartbeat turn's message; the system events queued for
	// the agent (wake, cron system events) are appended to it. Default: the
	// reference's prompt, asking the agent to answer HEARTBEAT_OK when
	// nothing needs attention.
	Prompt string `json:"prompt,omitempty"`
	// Channel and To, when both set, are where a heartbeat reply that is not
	// the ack token is sent (a channel target). Default: nowhere (the reply
	// stays in the session).
	Channel string `json:"channel,omitempty"`
	To      string `json:"to,omitempty"`
	// AccountID is the channel account that sends it. Default: the
	// channel's default account.
	AccountID string `json:"accountId,omitempty"`
}

// Cron is cron.*. Changes apply in place.
type Cron struct {
	// Enabled runs the scheduled jobs (cron.add) and heartbeats. Default
	// true; when false nothing runs on schedule (cron.run still runs a job).
	Enabled *bool `json:"enabled,omitempty"`
}

// IsEnabled is Enabled with its default (true) applied.
func (c Cron) IsEnabled() bool { return c.Enabled == nil || *c.Enabled }

// AgentModel is agents.defaults.model and agents.list[].model.
type AgentModel struct {
	// Primary is the model as "<provider>/<model id>", for example
	// "local/qwen2.5-7b-instruct" for the model with id qwen2.5-7b-instruct
	// of models.providers.local.
	Primary string `json:"primary,omitempty"`
}

// Agent is one entry of agents.list.
type Agent struct {
	// ID names the agent in session keys (agent:<id>:...) and in the HTTP
	// API's model field (openclaw/<id>). Required; no spaces, ':' or '/'.
	ID string `json:"id"`
	// Name is shown to people. Default: the id.
	Name string `json:"name,omitempty"`
	// Workspace overrides agents.defaults.workspace for this agent.
	Workspace string `json:"workspace,omitempty"`
	// Model overrides agents.defaults.model for this agent.
	Model *AgentModel `json:"model,omitempty"`
	// Default makes this the agent used when a request names none.
	// Default: the first agent in the list.
	Default bool `json:"default,omitempty"`
	// Heartbeat overrides agents.defaults.heartbeat for this agent (its keys
	// replace the defaults' one by one).
	Heartbeat *Heartbeat `json:"heartbeat,omitempty"`
}

// Models is models.*. Changes apply in place.
type Models struct {
	// Providers declares model providers by id; the id is the part before
	// "/" in a model reference.
	Providers map[string]Provider `json:"providers,omitempty"`
}

// Provider is models.providers.<id>.
type Provider struct {
	// BaseURL is the API's base URL, for example http://127.0.0.1:8080/v1.
	BaseURL string `json:"baseUrl,omitempty"`
	// APIKey is sent as a bearer token. Secret: config.get shows it
	// redacted. Default: none.
	APIKey string `json:"apiKey,omitempty"`
	// API is the wire protocol: "openai-completions" (the default and the
	// only one supported).
	API string `json:"api,omitempty"`
	// Models lists the provider's models.
	Models []ProviderModel `json:"models,omitempty"`
}

// ProviderModel is one entry of models.providers.<id>.models.
type ProviderModel struct {
	// ID is the model's id as the provider's API knows it. Required.
	ID string `json:"id"`
	// Name is shown to people. Required (the reference requires it).
	Name string `json:"name"`
	// ContextWindow is the model's context size in tokens. Default:
	// unknown.
	ContextWindow int `json:"contextWindow,omitempty"`
	// MaxTokens bounds the tokens one reply may use. Default: the
	// provider's.
	MaxTokens int `json:"maxTokens,omitempty"`
	// Reasoning says the model thinks before it answers and takes a
	// reasoning effort (a session's thinking level). Default false.
	Reasoning bool `json:"reasoning,omitempty"`
	// Cost is what the model's tokens cost, for usage.cost. Default:
	// unknown (its turns count as entries without a cost).
	Cost *ModelCost `json:"cost,omitempty"`
}

// ModelCost is models.providers.<id>.models[].cost: US dollars per million
// tokens.
type ModelCost struct {
	// Input is the price of a million prompt tokens.
	Input float64 `json:"input,omitempty"`
	// Output is the price of a million completion tokens.
	Output float64 `json:"output,omitempty"`
	// CacheRead is the price of a million prompt tokens read from the
	// provider's cache.
	CacheRead float64 `json:"cacheRead,omitempty"`
	// CacheWrite is the price of a million prompt tokens written to it.
	CacheWrite float64 `json:"cacheWrite,omitempty"`
}

// Channels is channels.*. Changes apply in place; only the affected
// channel restarts.
type Channels struct {
	// Telegram configures the Telegram bot channel; nil when the file has
	// no channels.telegram.
	Telegram *Telegram `json:"telegram,omitempty"`
}

// Telegram is channels.telegram: the default account's settings (the
// TelegramAccount keys) plus more accounts.
type Telegram struct {
	TelegramAccount
	// Accounts declares more bots by account id. An account inherits the
	// top-level policy keys (enabled, dmPolicy, allowFrom, groupPolicy,
	// groupAllowFrom, streaming, textChunkLimit, apiRoot) it does not set;
	// its token and webhook keys are its own.
	Accounts map[string]TelegramAccount `json:"accounts,omitempty"`
}

// TelegramAccount is the settings of one Telegram bot: channels.telegram
// itself or channels.telegram.accounts.<id>.
type TelegramAccount struct {
	// Enabled runs the account. Default true.
	Enabled *bool `json:"enabled,omitempty"`
	// BotToken is the bot's token from @BotFather. Secret: config.get shows
	// it redacted. Give this or TokenFile.
	BotToken string `json:"botToken,omitempty"`
	// TokenFile is a file holding the bot token, instead of BotToken.
	TokenFile string `json:"tokenFile,omitempty"`
	// DmPolicy decides who may talk to the bot in direct messages:
	// "pairing" (default: unknown senders get a pairing code to approve),
	// "allowlist" (only AllowFrom), "open" (anyone; AllowFrom must then
	// contain "*") or "disabled".
	DmPolicy string `json:"dmPolicy,omitempty"`
	// AllowFrom lists the Telegram user ids (or "*") allowed in direct
	// messages. Numbers are accepted and kept as strings.
	AllowFrom IDList `json:"allowFrom,omitempty"`
	// GroupPolicy decides which groups the bot answers in: "allowlist"
	// (default: only senders in GroupAllowFrom), "open" or "disabled".
	GroupPolicy string `json:"groupPolicy,omitempty"`
	// GroupAllowFrom lists the user ids allowed to talk to the bot in
	// groups. Default: AllowFrom.
	GroupAllowFrom IDList `json:"groupAllowFrom,omitempty"`
	// Streaming is "partial" (default: replies are edited in place as they
	// stream) or "off" (one message when done).
	Streaming string `json:"streaming,omitempty"`
	// TextChunkLimit is the longest message sent; longer replies are split.
	// Default 4096 (Telegram's limit).
	TextChunkLimit int `json:"textChunkLimit,omitempty"`
	// WebhookURL switches from long polling to a webhook at this public
	// URL. WebhookSecret is then required. Default: long polling.
	WebhookURL string `json:"webhookUrl,omitempty"`
	// WebhookSecret is the secret Telegram sends with each webhook call.
	// Secret: config.get shows it redacted.
	WebhookSecret string `json:"webhookSecret,omitempty"`
	// WebhookPath is the local path the webhook listens on. Default
	// /telegram-webhook.
	WebhookPath string `json:"webhookPath,omitempty"`
	// WebhookHost is the local address the webhook listens on. Default
	// 127.0.0.1.
	WebhookHost string `json:"webhookHost,omitempty"`
	// WebhookPort is the local port the webhook listens on. Default 8787.
	WebhookPort int `json:"webhookPort,omitempty"`
	// APIRoot is the Bot API's base URL. Default https://api.telegram.org.
	APIRoot string `json:"apiRoot,omitempty"`
}

// IDList is a list of ids. In the file each entry may be a string or an
// integer (Telegram ids are often written as numbers); either way it is kept
// as a string.
type IDList []string

// UnmarshalJSON accepts strings and integers.
func (l *IDList) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw == nil {
		*l = nil
		return nil
	}
	out := make(IDList, 0, len(raw))
	for _, r := range raw {
		var s string
		if err := json.Unmarshal(r, &s); err == nil {
			out = append(out, s)
			continue
		}
		var n json.Number
		if err := json.Unmarshal(r, &n); err != nil {
			return fmt.Errorf("expected a string or a number, got %s", r)
		}
		out = append(out, n.String())
	}
	*l = out
	return nil
}

// IsEnabled is Enabled with its default (true) applied.
func (a TelegramAccount) IsEnabled() bool { return a.Enabled == nil || *a.Enabled }

// DefaultAccountID is the id of the account whose settings are the top level
// of channels.telegram.
const DefaultAccountID = "default"

// Account returns the effective settings of an account: accounts.<id> over
// the top-level policy keys it inherits. id "" or DefaultAccountID is the top
// level itself, unless the file declares accounts.default. ok is false when
// there is no such account.
func (t *Telegram) Account(id string) (a TelegramAccount, ok bool) {
	if t == nil {
		return TelegramAccount{}, false
	}
	if id == "" || id == DefaultAccountID {
		if acc, has := t.Accounts[DefaultAccountID]; has {
			return inheritAccount(t.TelegramAccount, acc), true
		}
		return t.TelegramAccount, true
	}
	acc, has := t.Accounts[id]
	if !has {
		return TelegramAccount{}, false
	}
	return inheritAccount(t.TelegramAccount, acc), true
}

func inheritAccount(top, acc TelegramAccount) TelegramAccount {
	if acc.Enabled == nil {
		acc.Enabled = top.Enabled
	}
	if acc.DmPolicy == "" {
		acc.DmPolicy = top.DmPolicy
	}
	if acc.AllowFrom == nil {
		acc.AllowFrom = top.AllowFrom
	}
	if acc.GroupPolicy == "" {
		acc.GroupPolicy = top.GroupPolicy
	}
	if acc.GroupAllowFrom == nil {
		acc.GroupAllowFrom = top.GroupAllowFrom
	}
	if acc.Streaming == "" {
		acc.Streaming = top.Streaming
	}
	if acc.TextChunkLimit == 0 {
		acc.TextChunkLimit = top.TextChunkLimit
	}
	if acc.APIRoot == "" {
		acc.APIRoot = top.APIRoot
	}
	return acc
}

// Commands is commands.*. Changes
// need a restart.
type Commands struct {
	// Restart lets SIGUSR1 restart the gateway in-process. Default true;
	// when false the signal is logged and ignored.
	Restart *bool `json:"restart,omitempty"`
}

// RestartEnabled is Restart with its default (true) applied.
func (c Commands) RestartEnabled() bool { return c.Restart == nil || *c.Restart }

// CommandsSection decodes Config.Commands. A Config from Parse, Load or
// FromMap always decodes; anything else gives the zero Commands.
func (c *Config) CommandsSection() Commands {
	if c == nil {
		return Commands{}
	}
	return c.Commands
}

// RestartEnabled is commands.restart (default true).
func (c *Config) RestartEnabled() bool { return c.CommandsSection().RestartEnabled() }

// Error is a problem with a config: its file and line when known, the key
// path it concerns, and a one-line message that names the path.
type Error struct {
	File string // the file name given to Parse or FromMap; may be empty
	Line int    // 1-based; 0 when unknown
	Path string // the key path, e.g. "gateway.auth.token" or "agents.list[1].id"
	Msg  string // e.g. "unknown config key gateway.auth.tokn"
}

func (e *Error) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	case e.File != "":
		return e.File + ": " + e.Msg
	}
	return e.Msg
}

// Parse decodes and validates JSON5 text. name is the file name used in
// errors. Unknown keys, wrong types and invalid values are errors that name
// the key path and, where it can be found, the line.
func Parse(name string, data []byte) (*Config, error) {
	var generic any
	if err := json5.Unmarshal(data, &generic); err != nil {
		e := &Error{File: name, Msg: "invalid JSON5: " + oneLine(err.Error())}
		if se, ok := errors.AsType[*json5.SyntaxError](err); ok {
			e.Line = lineAt(data, se.Offset)
		}
		return nil, e
	}
	return decode(name, generic, keyLines(data))
}

// FromMap validates a JSON object as a config, by the same rules as Parse
// (config.apply and config.patch use it). name is used in errors; there are
// no line numbers.
func FromMap(name string, m map[string]any) (*Config, error) {
	if m == nil {
		return &Config{}, nil
	}
	// Normalize whatever the map holds (json.Number, ints, typed slices) to
	// what json.Unmarshal gives.
	plain, err := json.Marshal(m)
	if err != nil {
		return nil, &Error{File: name, Msg: strings.TrimPrefix(err.Error(), "json: ")}
	}
	var generic any
	if err := json.Unmarshal(plain, &generic); err != nil {
		return nil, &Error{File: name, Msg: strings.TrimPrefix(err.Error(), "json: ")}
	}
	return decode(name, generic, nil)
}

// decode checks the generic value against the Config types, decodes it and
// validates the result. lines maps key paths to lines (nil: unknown).
func decode(name string, generic any, lines map[string]int) (*Config, error) {
	at := func(e *Error) error {
		e.File = name
		if lines != nil {
			e.Line = lineFor(lines, e.Path)
		}
		return e
	}
	if generic == nil {
		return &Config{}, nil
	}
	if _, ok := generic.(map[string]any); !ok {
		return nil, &Error{File: name, Msg: "the top level must be an object"}
	}
	if e := checkValue(configType, generic, ""); e != nil {
		return nil, at(e)
	}
	plain, err := json.Marshal(generic)
	if err != nil {
		return nil, &Error{File: name, Msg: oneLine(strings.TrimPrefix(err.Error(), "json: "))}
	}
	var c Config
	if err := json.Unmarshal(plain, &c); err != nil {
		// checkValue should have caught everything json can object to.
		return nil, &Error{File: name, Msg: oneLine(strings.TrimPrefix(err.Error(), "json: "))}
	}
	if err := c.Validate(); err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, at(e)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &c, nil
}

// Load reads the config file at path. A missing file gives (nil, nil): whether
// that is acceptable is the caller's decision (--allow-unconfigured, --dev).
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// JSONSchema describes an IDList for the config's JSON Schema: strings or
// integers.
func (IDList) JSONSchema() map[string]any {
	return map[string]any{"type": "array", "items": map[string]any{"type": []string{"string", "integer"}}}
}

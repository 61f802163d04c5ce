package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Allowed values of the enumerated keys ("" always means the default).
var (
	gatewayModes   = []string{"local", "remote"}
	bindModes      = []string{"loopback", "lan", "custom"}
	authModes      = []string{"token", "password", "none"}
	reloadModes    = []string{ReloadHybrid, ReloadOff}
	dmPolicies     = []string{"pairing", "allowlist", "open", "disabled"}
	groupPolicies  = []string{"allowlist", "open", "disabled"}
	streamingModes = []string{"partial", "off"}
	modelAPIs      = []string{"openai-completions"}
)

// Validate checks the values of a decoded config: enumerations, ranges,
// required keys and the rules that span keys. It returns the first problem as
// an *Error naming the key path. Parse, Load and FromMap call it.
func (c *Config) Validate() error {
	if c == nil {
		return nil
	}
	for _, check := range []func() *Error{c.validateGateway, c.validateCanvasHost, c.validateAgents, c.validateModels, c.validateModelRefs, c.validateChannels} {
		if e := check(); e != nil {
			return e
		}
	}
	return nil
}

func (c *Config) validateGateway() *Error {
	g := c.Gateway
	if e := oneOf("gateway.mode", g.Mode, gatewayModes); e != nil {
		return e
	}
	if e := port("gateway.port", g.Port); e != nil {
		return e
	}
	if e := oneOf("gateway.bind", g.Bind, bindModes); e != nil {
		return e
	}
	if g.Bind == "custom" && strings.TrimSpace(g.CustomBindHost) == "" {
		return fail("gateway.bind", "gateway.bind is custom but gateway.customBindHost is empty")
	}
	if e := oneOf("gateway.auth.mode", g.Auth.Mode, authModes); e != nil {
		return e
	}
	if r := g.Auth.RateLimit; r != nil {
		if e := atLeast("gateway.auth.rateLimit.maxAttempts", r.MaxAttempts, 0); e != nil {
			return e
		}
		if e := atLeast("gateway.auth.rateLimit.windowMs", r.WindowMs, 1); e != nil {
			return e
		}
		if e := atLeast("gateway.auth.rateLimit.lockoutMs", r.LockoutMs, 0); e != nil {
			return e
		}
	}
	if e := oneOf("gateway.reload.mode", g.Reload.Mode, reloadModes); e != nil {
		return e
	}
	if e := atLeast("gateway.reload.debounceMs", g.Reload.DebounceMs, 0); e != nil {
		return e
	}
	for _, list := range []struct {
		name  string
		names []string
	}{{"gateway.tools.allow", g.Tools.Allow}, {"gateway.tools.deny", g.Tools.Deny}} {
		for i, s := range list.names {
			if strings.TrimSpace(s) == "" {
				p := indexPath(list.name, i)
				return fail(p, p+": a tool name must not be blank")
			}
		}
	}
	if e := controlUIOrigins(g.ControlUI.AllowedOrigins); e != nil {
		return e
	}
	if bp := g.ControlUI.BasePath; bp != "" && !strings.HasPrefix(bp, "/") {
		return fail("gateway.controlUi.basePath", fmt.Sprintf("gateway.controlUi.basePath: %q must start with '/'", bp))
	}
	l := g.Limits
	for _, f := range []struct {
		name string
		v    int
	}{
		{"preAuthMaxFrameBytes", l.PreAuthMaxFrameBytes}, {"maxPayloadBytes", l.MaxPayloadBytes},
		{"maxBufferedBytes", l.MaxBufferedBytes}, {"tickIntervalMs", l.TickIntervalMs},
		{"handshakeTimeoutMs", l.HandshakeTimeoutMs}, {"maxPreAuthPerIP", l.MaxPreAuthPerIP},
		{"maxPendingFrames", l.MaxPendingFrames}, {"pingIntervalMs", l.PingIntervalMs},
		{"presenceTtlMs", l.PresenceTTLMs}, {"healthBroadcastMs", l.HealthBroadcastMs},
	} {
		if e := atLeast("gateway.limits."+f.name, &f.v, 0); e != nil {
			return e
		}
	}
	return validateCluster(g.Cluster)
}

// validateCluster checks gateway.cluster: names that become NATS subject
// tokens and bucket names, host:port listeners, route URLs.
func validateCluster(c *Cluster) *Error {
	if c == nil {
		return nil
	}
	for _, f := range []struct{ path, v string }{{"gateway.cluster.name", c.Name}, {"gateway.cluster.nodeName", c.NodeName}} {
		if f.v != "" && !clusterName.MatchString(f.v) {
			return fail(f.path, fmt.Sprintf("%s: %q may hold only letters, digits, '-' and '_'", f.path, f.v))
		}
	}
	if c.Replicas < 0 || c.Replicas > 5 {
		return fail("gateway.cluster.replicas", fmt.Sprintf("gateway.cluster.replicas: %d is not 1-5", c.Replicas))
	}
	if c.LeaseTTLMs != 0 && (c.LeaseTTLMs < 1000 || c.LeaseTTLMs > 3600000) {
		return fail("gateway.cluster.leaseTtlMs", fmt.Sprintf("gateway.cluster.leaseTtlMs: %d is not 1000-3600000", c.LeaseTTLMs))
	}
	e := c.NATS.Embedded
	for _, f := range []struct{ path, v string }{
		{"gateway.cluster.nats.embedded.clusterListen", e.ClusterListen},
		{"gateway.cluster.nats.embedded.clientListen", e.ClientListen},
		{"gateway.cluster.nats.embedded.advertise", e.Advertise},
	} {
		if f.v == "" {
			continue
		}
		if _, p, err := net.SplitHostPort(f.v); err != nil || p == "" {
			return fail(f.path, fmt.Sprintf("%s: %q is not host:port", f.path, f.v))
		}
	}
	for i, r := range e.Routes {
		p := indexPath("gateway.cluster.nats.embedded.routes", i)
		if u, err := url.Parse(r); err != nil || u.Host == "" || (u.Scheme != "nats-route" && u.Scheme != "nats") {
			return fail(p, p+": must be a nats-route://host:port URL")
		}
	}
	if c.NATS.URL != "" {
		for _, s := range strings.Split(c.NATS.URL, ",") {
			if u, err := url.Parse(strings.TrimSpace(s)); err != nil || u.Host == "" {
				// Not quoted: the URL may carry credentials.
				return fail("gateway.cluster.nats.url", "gateway.cluster.nats.url: must be nats://host:port (comma-separated for several)")
			}
		}
	}
	return nil
}

// clusterName is what a cluster or node name may hold: it becomes a NATS
// subject token and part of a JetStream bucket name.
var clusterName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// controlUIOrigins checks that each allowed origin is "*" or an origin a
// browser can send (scheme://host[:port]): "example.com" or a URL with a
// path would never match and silently lock the page out.
func controlUIOrigins(origins []string) *Error {
	for i, o := range origins {
		p := indexPath("gateway.controlUi.allowedOrigins", i)
		o = strings.TrimSpace(o)
		if o == "*" {
			continue
		}
		u, err := url.Parse(strings.TrimSuffix(o, "/"))
		if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
			return fail(p, fmt.Sprintf("%s: %q is not an origin (scheme://host[:port], e.g. https://ui.example.com) or \"*\"", p, o))
		}
	}
	return nil
}

func (c *Config) validateCanvasHost() *Error {
	return port("canvasHost.port", c.CanvasHost.Port)
}

func (c *Config) validateAgents() *Error {
	a := c.Agents
	if e := modelRef("agents.defaults.model.primary", a.Defaults.Model.Primary); e != nil {
		return e
	}
	if e := atLeast("agents.defaults.timeoutSeconds", &a.Defaults.TimeoutSeconds, 0); e != nil {
		return e
	}
	if e := heartbeat("agents.defaults.heartbeat", a.Defaults.Heartbeat); e != nil {
		return e
	}
	seen := map[string]int{}
	firstDefault := -1
	for i, ag := range a.List {
		p := indexPath("agents.list", i)
		id := strings.TrimSpace(ag.ID)
		if id == "" {
			return fail(p+".id", p+".id: required")
		}
		if strings.ContainsAny(ag.ID, ":/ \t\r\n") {
			return fail(p+".id", fmt.Sprintf("%s.id: %q must not contain spaces, ':' or '/'", p, ag.ID))
		}
		key := strings.ToLower(ag.ID)
		if j, dup := seen[key]; dup {
			return fail(p+".id", fmt.Sprintf("%s.id: %q is already the id of agents.list[%d]", p, ag.ID, j))
		}
		seen[key] = i
		if ag.Model != nil {
			if e := modelRef(p+".model.primary", ag.Model.Primary); e != nil {
				return e
			}
		}
		if e := heartbeat(p+".heartbeat", ag.Heartbeat); e != nil {
			return e
		}
		if ag.Default {
			if firstDefault >= 0 {
				return fail(p+".default", fmt.Sprintf("%s.default: agents.list[%d] is already the default agent", p, firstDefault))
			}
			firstDefault = i
		}
	}
	return nil
}

// heartbeat checks a heartbeat section: a period that parses, and a
// delivery target given whole.
func heartbeat(p string, h *Heartbeat) *Error {
	if h == nil {
		return nil
	}
	if h.Every != "" && h.Every != "0" {
		d, err := time.ParseDuration(h.Every)
		if err != nil || d < time.Minute {
			return fail(p+".every", fmt.Sprintf("%s.every: %q is not a period of at least a minute (e.g. \"30m\", \"1h\", or \"0\" for off)", p, h.Every))
		}
	}
	if (h.Channel == "") != (h.To == "") {
		return fail(p+".to", p+": channel and to go together (where a heartbeat reply is sent)")
	}
	return nil
}

func (c *Config) validateModels() *Error {
	for _, id := range sortedKeys(c.Models.Providers) {
		pv := c.Models.Providers[id]
		p := joinKey("models.providers", id)
		if strings.TrimSpace(id) == "" || strings.ContainsAny(id, "/ \t\r\n") {
			return fail(p, fmt.Sprintf("models.providers: provider id %q must be non-blank, without spaces or '/'", id))
		}
		if strings.TrimSpace(pv.BaseURL) == "" {
			return fail(p+".baseUrl", p+".baseUrl: required")
		}
		if e := httpURL(p+".baseUrl", pv.BaseURL, false); e != nil {
			return e
		}
		if e := oneOf(p+".api", pv.API, modelAPIs); e != nil {
			return e
		}
		seen := map[string]int{}
		for i, m := range pv.Models {
			mp := indexPath(p+".models", i)
			if strings.TrimSpace(m.ID) == "" {
				return fail(mp+".id", mp+".id: required")
			}
			if j, dup := seen[m.ID]; dup {
				return fail(mp+".id", fmt.Sprintf("%s.id: %q is already the id of %s", mp, m.ID, indexPath(p+".models", j)))
			}
			seen[m.ID] = i
			if strings.TrimSpace(m.Name) == "" {
				return fail(mp+".name", mp+".name: required")
			}
			if e := atLeast(mp+".contextWindow", &m.ContextWindow, 0); e != nil {
				return e
			}
			if e := atLeast(mp+".maxTokens", &m.MaxTokens, 0); e != nil {
				return e
			}
		}
	}
	return nil
}

// validateModelRefs checks that every model reference names a model of its
// provider's models list, as the reference CLI does when a model is set
// ("Unknown model"): a typo would otherwise surface only at the first agent
// turn, as the provider's 404. A provider without a models list takes any
// model id, and a provider not configured here is left to the run (with no
// providers at all, OPENAI_API_KEY supplies one).
func (c *Config) validateModelRefs() *Error {
	type ref struct{ path, value string }
	refs := []ref{{"agents.defaults.model.primary", c.Agents.Defaults.Model.Primary}}
	for i, ag := range c.Agents.List {
		if ag.Model != nil {
			refs = append(refs, ref{indexPath("agents.list", i) + ".model.primary", ag.Model.Primary})
		}
	}
	for _, r := range refs {
		prov, model, ok := strings.Cut(r.value, "/")
		pv, known := c.Models.Providers[prov]
		if !ok || !known || len(pv.Models) == 0 {
			continue
		}
		ids := make([]string, len(pv.Models))
		for i, m := range pv.Models {
			ids[i] = strconv.Quote(m.ID)
		}
		if !slices.ContainsFunc(pv.Models, func(m ProviderModel) bool { return m.ID == model }) {
			list := joinKey("models.providers", prov) + ".models"
			return fail(r.path, fmt.Sprintf("%s: unknown model %q: %s lists %s", r.path, model, list, strings.Join(ids, ", ")))
		}
	}
	return nil
}

func (c *Config) validateChannels() *Error {
	t := c.Channels.Telegram
	if t == nil {
		return nil
	}
	const top = "channels.telegram"
	if e := validateTelegramAccount(top, t.TelegramAccount, t.TelegramAccount); e != nil {
		return e
	}
	for _, id := range sortedKeys(t.Accounts) {
		p := joinKey(top+".accounts", id)
		if strings.TrimSpace(id) == "" {
			return fail(p, top+".accounts: an account id must not be blank")
		}
		eff, _ := t.Account(id)
		if e := validateTelegramAccount(p, t.Accounts[id], eff); e != nil {
			return e
		}
	}
	return nil
}

// validateTelegramAccount checks the keys an account sets (own) and the rules
// on its effective settings (eff: own plus what it inherits). p is its path.
func validateTelegramAccount(p string, own, eff TelegramAccount) *Error {
	if e := oneOf(p+".dmPolicy", own.DmPolicy, dmPolicies); e != nil {
		return e
	}
	if e := oneOf(p+".groupPolicy", own.GroupPolicy, groupPolicies); e != nil {
		return e
	}
	if e := oneOf(p+".streaming", own.Streaming, streamingModes); e != nil {
		return e
	}
	if e := atLeast(p+".textChunkLimit", &own.TextChunkLimit, 0); e != nil {
		return e
	}
	if e := port(p+".webhookPort", own.WebhookPort); e != nil {
		return e
	}
	if own.WebhookURL != "" {
		if e := httpURL(p+".webhookUrl", own.WebhookURL, true); e != nil {
			return e
		}
	}
	if own.WebhookPath != "" && !strings.HasPrefix(own.WebhookPath, "/") {
		return fail(p+".webhookPath", fmt.Sprintf("%s.webhookPath: %q must start with '/'", p, own.WebhookPath))
	}
	if own.APIRoot != "" {
		if e := httpURL(p+".apiRoot", own.APIRoot, false); e != nil {
			return e
		}
	}
	for _, list := range []struct {
		name string
		ids  IDList
	}{{"allowFrom", own.AllowFrom}, {"groupAllowFrom", own.GroupAllowFrom}} {
		for i, s := range list.ids {
			if strings.TrimSpace(s) == "" {
				ip := indexPath(p+"."+list.name, i)
				return fail(ip, ip+": an id must not be blank")
			}
		}
	}
	if eff.DmPolicy == "open" && !slices.Contains(eff.AllowFrom, "*") {
		return fail(p+".allowFrom", fmt.Sprintf(`%s.dmPolicy "open" requires %s.allowFrom to include "*"`, p, p))
	}
	if eff.WebhookURL != "" && eff.WebhookSecret == "" {
		return fail(p+".webhookSecret", fmt.Sprintf("%s.webhookUrl is set but %s.webhookSecret is empty", p, p))
	}
	return nil
}

func fail(path, msg string) *Error { return &Error{Path: path, Msg: msg} }

func oneOf(path, v string, allowed []string) *Error {
	if v == "" || slices.Contains(allowed, v) {
		return nil
	}
	return fail(path, fmt.Sprintf("%s: invalid value %q (use %s)", path, v, orList(allowed)))
}

func orList(s []string) string {
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

func port(path string, n int) *Error {
	if n != 0 && (n < 1 || n > 65535) {
		return fail(path, fmt.Sprintf("%s: %d is not a port (1-65535)", path, n))
	}
	return nil
}

func atLeast(path string, n *int, lo int) *Error {
	if n != nil && *n < lo {
		return fail(path, fmt.Sprintf("%s: %d is less than %d", path, *n, lo))
	}
	return nil
}

// modelRef checks "<provider>/<model>" (the model id may itself contain '/').
func modelRef(path, ref string) *Error {
	if ref == "" {
		return nil
	}
	prov, model, ok := strings.Cut(ref, "/")
	if !ok || prov == "" || strings.TrimSpace(model) == "" || strings.ContainsAny(ref, " \t\r\n") {
		return fail(path, fmt.Sprintf("%s: %q is not of the form <provider>/<model>", path, ref))
	}
	return nil
}

func httpURL(path, s string, httpsOnly bool) *Error {
	u, err := url.Parse(s)
	ok := err == nil && u.Host != "" && (u.Scheme == "https" || (!httpsOnly && u.Scheme == "http"))
	if ok {
		return nil
	}
	want := "an http:// or https:// URL"
	if httpsOnly {
		want = "an https:// URL"
	}
	// The value is not quoted: a URL may carry credentials.
	return fail(path, path+": must be "+want)
}

package conn

import (
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"

	"openclaw/actors/core"
	"openclaw/actors/methods"
	"openclaw/config"
	"openclaw/transport/auth"
	"openclaw/transport/protocol"
)

// handshake is the connection's state until hello-ok.
type handshake struct {
	nonce   string
	held    []*inbound // frames that arrived while authenticating
	timeout *time.Timer

	connectID string
	params    protocol.ConnectParams
	role      core.Role
	method    string // none | token | password | device-token
}

// minimumProbeProtocol is the oldest protocol a probe or a legacy node may
// speak.
const minimumProbeProtocol = 3

func (c *connActor) challenge(ctx actor.Context) {
	c.hs.nonce = uuid.NewString()
	c.sock.Send(methods.Challenge.Encode(protocol.Challenge{Nonce: c.hs.nonce, TS: time.Now().UnixMilli()}))
	self, sys := ctx.Self(), ctx.ActorSystem()
	c.hs.timeout = time.AfterFunc(c.d.Limits.HandshakeTimeout, func() { sys.Root.Send(self, &handshakeTimeout{}) })
}

// firstFrame applies the first-frame rules (docs/PROTOCOL.md §3.2).
func (c *connActor) firstFrame(ctx actor.Context, in *inbound) {
	if in.err != nil {
		c.d.Metrics.HandshakeRejected.Inc()
		if in.err.Malformed {
			c.closeWith(1000, "")
		} else {
			c.closeWith(1008, "invalid request frame")
		}
		return
	}
	req := in.req
	if req.Method != "connect" {
		c.failAndClose(req.ID, protocol.NewError(protocol.CodeInvalidRequest, "invalid handshake: first request must be connect", nil), 1008)
		return
	}
	c.hs.connectID = req.ID
	if c.d.Draining.Load() {
		c.failAndClose(req.ID, protocol.NewError(protocol.CodeUnavailable, "gateway is shutting down", nil).WithRetry(1000), 1013)
		return
	}
	if problem := c.d.Validate.ValidateParams("connect", req.Params); problem != "" {
		c.failAndClose(req.ID, protocol.NewError(protocol.CodeInvalidRequest, "invalid connect params: "+problem, nil), 1008)
		return
	}
	if err := req.Bind(&c.hs.params); err != nil {
		c.failAndClose(req.ID, protocol.NewError(protocol.CodeInvalidRequest, "invalid connect params: "+err.Error(), nil), 1008)
		return
	}
	c.connect(ctx)
}

func (c *connActor) connect(ctx actor.Context) {
	p := &c.hs.params
	c.hs.role = core.Role(p.Role)
	if c.hs.role == "" {
		c.hs.role = core.RoleOperator
	}
	role := c.hs.role
	if role != core.RoleOperator && role != core.RoleNode {
		c.failAndClose(c.hs.connectID, protocol.NewError(protocol.CodeInvalidRequest, "invalid role", nil), 1008)
		return
	}
	if !negotiate(p.MinProtocol, p.MaxProtocol, p.Client.Mode, role) {
		c.failAndClose(c.hs.connectID, protocol.NewError(protocol.CodeInvalidRequest, "protocol mismatch", map[string]any{
			"code": "PROTOCOL_MISMATCH", "clientMinProtocol": p.MinProtocol, "clientMaxProtocol": p.MaxProtocol,
			"expectedProtocol": protocol.Version, "minimumProbeProtocol": minimumProbeProtocol,
		}), 1002)
		return
	}
	if locked, left := c.limiter().Locked(c.sock.IP); locked {
		c.failAndClose(c.hs.connectID, rateLimited(left), 1008)
		return
	}

	secret := c.d.Secret.Get()
	token, password, deviceToken := p.Auth.Token, p.Auth.Password, p.Auth.DeviceToken
	secretOK := secret.Mode == auth.ModeNone || secret.Matches(token) || secret.Matches(password)

	if p.Device != nil {
		signedToken := firstNonEmpty(p.Auth.Token, p.Auth.DeviceToken, p.Auth.BootstrapToken)
		fields := auth.SignedFields{ClientID: p.Client.ID, ClientMode: p.Client.Mode, Role: string(role),
			Scopes: p.Scopes, Token: signedToken, Platform: p.Client.Platform, DeviceFamily: p.Client.DeviceFamily}
		if f := auth.VerifyDevice(auth.DeviceProof(*p.Device), fields, c.hs.nonce, time.Now()); f != nil {
			c.failAndClose(c.hs.connectID, protocol.NewError(protocol.CodeInvalidRequest, f.Message, map[string]any{
				"code": f.Code, "authReason": strings.ToLower(strings.TrimPrefix(f.Code, "DEVICE_AUTH_")),
			}), 1008)
			return
		}
		if !secretOK && (token != "" || password != "") && deviceToken == "" {
			c.authFailed(secret.Check(token, password))
			return
		}
		if !secretOK && deviceToken == "" {
			c.authFailed(secret.Check("", ""))
			return
		}
		// Ask the device actor; frames that arrive meanwhile are held.
		c.phase = authenticating
		c.hs.method = authMethod(secret)
		if !secretOK {
			c.hs.method = "device-token"
		}
		ctx.Request(c.d.Devices, &core.PairCheck{
			DeviceID: strings.ToLower(p.Device.ID), PublicKey: p.Device.PublicKey, Role: role, Scopes: p.Scopes,
			Local: c.sock.Local, RemoteIP: c.remoteIP(), SecretOK: secretOK, DeviceToken: deviceToken, Client: p.Client,
		})
		return
	}

	if secret.Mode != auth.ModeNone && token == "" && password == "" {
		// Nothing to authenticate with at all: the reference asks for a
		// device identity (which could then use a device token).
		c.deviceRequired()
		return
	}
	if !secretOK {
		c.authFailed(secret.Check(token, password))
		return
	}
	if role == core.RoleNode {
		c.deviceRequired()
		return
	}
	c.hs.method = authMethod(secret)
	c.complete(ctx, sharedSecretScopes(p, c.sock.Local), "", 0)
}

// sharedSecretScopes applies the scope rule to a connection that proved the
// shared secret but no device: the requested scopes are kept only for the
// local CLI and local backends; anything else gets none.
func sharedSecretScopes(p *protocol.ConnectParams, local bool) core.Scopes {
	trusted := (p.Client.ID == "cli" && p.Client.Mode == "cli") || (p.Client.ID == "gateway-client" && p.Client.Mode == "backend")
	if trusted && local {
		return append(core.Scopes{}, p.Scopes...)
	}
	return core.Scopes{}
}

func (c *connActor) paired(ctx actor.Context, r *core.PairResult) {
	if c.phase != authenticating {
		return
	}
	if r.Err != nil {
		if r.Err.Code == protocol.CodeInvalidRequest {
			c.limiter().Fail(c.sock.IP)
		}
		c.failAndClose(c.hs.connectID, r.Err, 1008)
		return
	}
	scopes := core.Scopes(r.Scopes)
	if c.hs.role == core.RoleNode {
		scopes = core.Scopes{}
	}
	held := c.hs.held
	c.complete(ctx, scopes, r.DeviceToken, r.IssuedAtMs)
	for _, in := range held {
		if c.phase != open {
			return
		}
		c.request(ctx, in)
	}
}

// handshakeFailed counts a handshake refused with e: an authentication
// failure by the reason the client is told, anything else as rejected.
func (c *connActor) handshakeFailed(e *protocol.ErrorShape) {
	d, _ := e.Details.(map[string]any)
	reason, _ := d["authReason"].(string)
	if reason == "" && e.Code == protocol.CodeNotPaired {
		reason = "pairing_required"
	}
	if reason == "" {
		c.d.Metrics.HandshakeRejected.Inc()
		return
	}
	c.d.Metrics.AuthFailure(reason)
}

func (c *connActor) deviceRequired() {
	c.failAndClose(c.hs.connectID, protocol.NewError(protocol.CodeNotPaired, "device identity required",
		map[string]any{"code": "DEVICE_IDENTITY_REQUIRED", "authReason": "device_identity_required",
			"recommendedNextStep": "provide_device_identity"}), 1008)
}

func (c *connActor) authFailed(f *auth.Failure) {
	if f == nil {
		f = &auth.Failure{Code: "AUTH_TOKEN_MISMATCH", Message: "unauthorized"}
	}
	if locked, left := c.limiter().Fail(c.sock.IP); locked {
		c.failAndClose(c.hs.connectID, rateLimited(left), 1008)
		return
	}
	reason := strings.ToLower(strings.TrimPrefix(f.Code, "AUTH_"))
	msg, next := f.Message, "provide_auth_credentials"
	if strings.HasSuffix(f.Code, "_MISMATCH") {
		next = "update_auth_credentials"
		// The reference words the hint for a local CLI differently: it can
		// also pair itself.
		if c.hs.params.Client.Mode == "cli" && c.sock.Local {
			kind := "token"
			if strings.Contains(f.Code, "PASSWORD") {
				kind = "password"
			}
			msg = "unauthorized: gateway " + kind + " mismatch (use this gateway's gateway.auth." + kind + " or pair the device)"
		}
	}
	c.d.Log.Info("auth failed", "conn", c.sock.ID, "ip", c.sock.IP.String(), "code", f.Code)
	c.failAndClose(c.hs.connectID, protocol.NewError(protocol.CodeInvalidRequest, msg, map[string]any{
		"code": f.Code, "authReason": reason, "canRetryWithDeviceToken": false, "recommendedNextStep": next,
	}), 1008)
}

// limiter is the auth rate limiter for this socket: a web page's socket
// (its upgrade had an Origin header) is never exempt, even on loopback.
func (c *connActor) limiter() *auth.Limiter {
	if c.sock.Browser() {
		return c.d.Limiter.Get().Browser()
	}
	return c.d.Limiter.Get()
}

func rateLimited(left time.Duration) *protocol.ErrorShape {
	return protocol.NewError(protocol.CodeInvalidRequest, "unauthorized: too many failed authentication attempts (retry later)",
		map[string]any{"code": "AUTH_RATE_LIMITED", "authReason": "rate_limited", "recommendedNextStep": "wait and retry"}).
		WithRetry(left.Milliseconds())
}

// complete sends hello-ok and makes the connection live.
func (c *connActor) complete(ctx actor.Context, scopes core.Scopes, deviceToken string, issuedAt int64) {
	p := &c.hs.params
	c.phase = open
	c.d.Metrics.HandshakeOK.Inc()
	if c.hs.timeout != nil {
		c.hs.timeout.Stop()
	}
	c.peer = &core.Peer{ConnID: c.sock.ID, Role: c.hs.role, Scopes: scopes, DeviceAuth: c.hs.method == "device-token",
		SessionScoped: slices.Contains(p.Caps, protocol.CapSessionScopedEvents)}
	if p.Device != nil {
		c.peer.DeviceID = strings.ToLower(p.Device.ID)
	}
	c.sock.Authenticated()
	c.limiter().Succeed(c.sock.IP)
	if c.hs.role == core.RoleNode && c.d.Nodes != nil {
		// Before hello-ok, so the nodes actor knows this socket before any
		// request of it arrives.
		ctx.Send(c.d.Nodes, &core.NodeConnected{ConnID: c.sock.ID, NodeID: c.peer.DeviceID, PID: ctx.Self(),
			Client: p.Client, PathEnv: p.PathEnv, RemoteIP: c.remoteIP(), Local: c.sock.Local,
			Declared: core.NodeSurface{Caps: p.Caps, Commands: p.Commands, Permissions: p.Permissions}})
	}
	// hello-ok is queued first: the hub queues events on the socket
	// directly, and none may come before it.
	c.sock.Send(protocol.OK(c.hs.connectID, c.hello(deviceToken, issuedAt)))
	ctx.Send(c.d.Hub, &core.Register{PID: ctx.Self(), Socket: c.sock, Peer: c.peer,
		SharedSecret: c.hs.method == "token" || c.hs.method == "password"})
	c.registered = true
	c.d.Log.Debug("handshake ok", "conn", c.sock.ID, "client", p.Client.ID, "mode", p.Client.Mode,
		"role", c.hs.role, "auth", c.hs.method, "scopes", []string(scopes))
	c.track(ctx)
	c.hs = nil // the handshake state is not needed again
}

// track adds the socket to the presence roster unless its mode is one that
// is not tracked (cli, backend and probe clients come and go).
func (c *connActor) track(ctx actor.Context) {
	p := &c.hs.params
	switch p.Client.Mode {
	case "cli", "backend", "probe":
		return
	}
	role, deviceID := c.peer.Role, c.peer.DeviceID
	key := c.sock.ID
	if role == core.RoleNode {
		key = firstNonEmpty(deviceID, p.Client.InstanceID, c.sock.ID)
	}
	c.presenceKey = key
	host := firstNonEmpty(p.Client.DisplayName, p.Client.ID)
	kind := "Operator"
	if role == core.RoleNode {
		kind = "Node"
	}
	instance := p.Client.InstanceID
	if role == core.RoleNode && instance == "" {
		instance = deviceID
	}
	entry := protocol.PresenceEntry{
		Host: host, IP: c.remoteIP(), Version: p.Client.Version, Platform: p.Client.Platform, DeviceFamily: p.Client.DeviceFamily,
		ModelIdentifier: p.Client.ModelIdentifier, Mode: p.Client.Mode, DeviceID: deviceID, Roles: []string{string(role)},
		Scopes: []string(c.peer.Scopes), InstanceID: instance, ClientID: p.Client.ID,
		Text: kind + ": " + host + " · mode " + p.Client.Mode,
	}
	if role == core.RoleNode {
		entry.Caps, entry.Commands = p.Caps, p.Commands
	}
	ctx.Send(c.d.Presence, &core.PresenceConnect{Key: key, ConnID: c.sock.ID, Entry: entry})
}

// remoteIP is the peer's address as rows and requests show it: empty on
// loopback.
func (c *connActor) remoteIP() string {
	if c.sock.Local {
		return ""
	}
	return c.sock.IP.String()
}

// hello builds hello-ok.
func (c *connActor) hello(deviceToken string, issuedAt int64) *protocol.HelloOK {
	d, peer := c.d, c.peer
	operator := peer.Role == core.RoleOperator
	presence := []protocol.PresenceEntry{}
	if operator && peer.Scopes.Has(core.ScopeRead) {
		if roster := d.Roster.Get(); roster != nil {
			presence = roster
		}
	}
	health := d.Health.Get()
	if health == nil {
		health = []byte("{}")
	}
	agent := config.DefaultAgent(d.Config.Get())
	snap := protocol.Snapshot{
		Presence: presence, Health: health, StateVersion: *d.Versions.Current(),
		UptimeMs:        time.Since(d.Server.Started).Milliseconds(),
		SessionDefaults: protocol.SessionDefaults{DefaultAgentID: agent, MainKey: "main", MainSessionKey: "agent:" + agent + ":main"},
	}
	if operator && peer.Scopes.Has(core.ScopeAdmin) {
		snap.ConfigPath, snap.StateDir, snap.AuthMode = d.Server.ConfigPath, d.Server.StateDir, string(d.Secret.Get().Mode)
	}
	scopes := []string(peer.Scopes)
	if scopes == nil {
		scopes = []string{}
	}
	return &protocol.HelloOK{
		Type: "hello-ok", Protocol: protocol.Version,
		Server: protocol.HelloServer{Version: d.Server.Version, BuildID: d.Server.BuildID, ConnID: c.sock.ID, BootID: d.Server.BootID,
			ControlUIBuildSource: d.Server.ControlUIBuildSource},
		Features: protocol.HelloFeature{Methods: d.Methods.Names(), Events: d.Events, Capabilities: d.Capabilities},
		Snapshot: snap,
		Policy: protocol.Policy{MaxPayload: int64(d.Limits.MaxPayload), MaxBufferedBytes: d.Limits.MaxBufferedBytes,
			TickIntervalMs: d.Limits.TickInterval.Milliseconds()},
		Auth: protocol.HelloAuth{Role: string(peer.Role), Scopes: scopes, Method: c.hs.method, DeviceToken: deviceToken, IssuedAtMs: issuedAt},
	}
}

func shutdownEvent(m *core.Shutdown) *protocol.Broadcast {
	return methods.ShutdownEvent.Broadcast(protocol.Shutdown{Reason: m.Reason, RestartExpectedMs: m.RestartExpectedMs}, nil)
}

// negotiate accepts a client whose range includes the current protocol, and
// legacy v3 probes and nodes.
func negotiate(min, max int, mode string, role core.Role) bool {
	if min <= protocol.Version && protocol.Version <= max {
		return true
	}
	legacy := mode == "probe" || (role == core.RoleNode && mode == "node")
	return legacy && max >= minimumProbeProtocol && min <= protocol.Version
}

// authMethod names how a shared-secret connection authenticated.
func authMethod(s auth.Secret) string {
	switch {
	case s.Mode == auth.ModeNone:
		return "none"
	case s.Mode == auth.ModePassword:
		return "password"
	default:
		return "token"
	}
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

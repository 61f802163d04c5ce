// Package conn is the connection actor: one per WebSocket. It runs the
// handshake of PROTOCOL.md §3 (challenge, first-frame rules, connect
// validation, protocol negotiation, shared-secret and device
// authentication, scopes, hello-ok), then dispatches requests to the method
// table with scope checks, writes responses, and stamps its own seq on every
// broadcast the hub hands it.
package conn

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"

	"openclaw/actors/core"
	"openclaw/transport/auth"
	"openclaw/transport/protocol"
	"openclaw/transport/server"
)

const spawnTimeout = 5 * time.Second

type phase int

const (
	awaitingConnect phase = iota // challenge sent, no connect yet
	authenticating               // connect accepted, waiting for the device store
	open                         // hello-ok sent
	closed
)

// connActor is kept small: tens of thousands of them sit idle, so what only
// the handshake needs lives in *handshake and is dropped at hello-ok.
type connActor struct {
	env  *core.Env
	sock *server.Socket
	hs   *handshake // nil once hello-ok is sent

	phase  phase
	role   string
	scopes core.Scopes

	seq         int64
	inflight    int    // requests dispatched and not yet answered
	draining    bool   // shutdown sent: finish in-flight requests, take no new ones
	registered  bool   // the hub knows this connection
	presenceKey string // "" when this socket is not in the roster
}

// handshake is the connection's state until hello-ok.
type handshake struct {
	nonce   string
	held    []*inbound // frames that arrived while authenticating
	timeout *time.Timer

	connectID string
	params    connectParams
	method    string // none | token | password | device-token
}

type handshakeTimeout struct{}
type drainDeadline struct{}

// lockfreeMailbox is the connection actors' mailbox: two linked lists, where
// the default keeps a 10-slot ring (~220 B) for every idle socket's actor.
var lockfreeMailbox = actor.UnboundedLockfree()

// Props builds the actor for sock.
func Props(env *core.Env, sock *server.Socket) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &connActor{env: env, sock: sock, hs: &handshake{}} },
		actor.WithMailbox(lockfreeMailbox))
}

func (c *connActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		c.hs.nonce = uuid.NewString()
		c.sock.Send(protocol.EncodeEvent("connect.challenge", map[string]any{"nonce": c.hs.nonce, "ts": time.Now().UnixMilli()}))
		self, sys := ctx.Self(), ctx.ActorSystem()
		c.hs.timeout = time.AfterFunc(c.env.Limits.HandshakeTimeout, func() { sys.Root.Send(self, &handshakeTimeout{}) })
	case *inbound:
		c.inbound(ctx, m)
	case *core.PairResult:
		c.paired(ctx, m)
	case *core.Reply:
		c.reply(m)
	case *core.Deliver:
		if c.phase == open {
			c.seq++
			c.sock.SendBroadcast(m.B, c.seq)
		}
	case *core.Shutdown:
		c.shutdown(ctx, m)
	case *drainDeadline:
		c.finishDrain()
	case *core.SecretRotated:
		if c.phase == open {
			c.env.Log.Info("closing socket: gateway auth changed", "conn", c.sock.ID)
			c.closeWith(4001, "gateway auth changed")
		}
	case *handshakeTimeout:
		if c.phase == awaitingConnect || c.phase == authenticating {
			c.env.Log.Debug("handshake timeout", "conn", c.sock.ID, "ip", c.sock.IP.String())
			c.sock.Close(1000, "handshake timeout")
			c.phase = closed
		}
	case *socketClosed:
		c.phase = closed
		ctx.Stop(ctx.Self())
	case *actor.Stopping:
		c.cleanup(ctx)
	}
}

// cleanup runs however the actor stops: socket closed, gateway stopping, or a
// panic in a handler (then the socket is still open and is closed 1011).
func (c *connActor) cleanup(ctx actor.Context) {
	if c.hs != nil && c.hs.timeout != nil {
		c.hs.timeout.Stop()
	}
	if c.phase != closed {
		// Stopped without the socket closing or a shutdown: a panic.
		c.sock.Close(1011, "internal error")
	}
	if c.registered {
		ctx.Send(c.env.Hub, &core.Unregister{ConnID: c.sock.ID})
	}
	if c.presenceKey != "" {
		ctx.Send(c.env.Presence, &core.PresenceDisconnect{Key: c.presenceKey, ConnID: c.sock.ID})
	}
	c.phase = closed
}

func (c *connActor) inbound(ctx actor.Context, in *inbound) {
	switch c.phase {
	case awaitingConnect:
		c.firstFrame(ctx, in)
	case authenticating:
		if len(c.hs.held) >= c.env.Limits.MaxPendingFrames {
			c.closeWith(1008, "too many pending handshake frames")
			return
		}
		c.hs.held = append(c.hs.held, in)
	case open:
		c.request(ctx, in)
	}
}

// firstFrame applies the first-frame rules of PROTOCOL.md §3.2.
func (c *connActor) firstFrame(ctx actor.Context, in *inbound) {
	if in.err != nil {
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
	if c.env.Draining.Load() {
		c.failAndClose(req.ID, protocol.NewError(protocol.CodeUnavailable, "gateway is shutting down", nil).WithRetry(1000), 1013)
		return
	}
	if problem := c.env.Validate.ValidateParams("connect", req.Params); problem != "" {
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
	c.role = p.Role
	if c.role == "" {
		c.role = core.RoleOperator
	}
	if c.role != core.RoleOperator && c.role != core.RoleNode {
		c.failAndClose(c.hs.connectID, protocol.NewError(protocol.CodeInvalidRequest, "invalid role", nil), 1008)
		return
	}
	if !negotiate(p.MinProtocol, p.MaxProtocol, p.Client.Mode, c.role) {
		c.failAndClose(c.hs.connectID, protocol.NewError(protocol.CodeInvalidRequest, "protocol mismatch", map[string]any{
			"code": "PROTOCOL_MISMATCH", "clientMinProtocol": p.MinProtocol, "clientMaxProtocol": p.MaxProtocol,
			"expectedProtocol": protocol.Version, "minimumProbeProtocol": 3,
		}), 1002)
		return
	}
	if locked, left := c.limiter().Locked(c.sock.IP); locked {
		c.failAndClose(c.hs.connectID, rateLimited(left), 1008)
		return
	}

	secret := c.env.Secret()
	token, password, deviceToken := p.Auth.Token, p.Auth.Password, p.Auth.DeviceToken
	secretOK := secret.Mode == auth.ModeNone || secret.Matches(token) || secret.Matches(password)

	if p.Device != nil {
		signedToken := firstNonEmpty(p.Auth.Token, p.Auth.DeviceToken, p.Auth.BootstrapToken)
		fields := auth.SignedFields{ClientID: p.Client.ID, ClientMode: p.Client.Mode, Role: c.role,
			Scopes: p.Scopes, Token: signedToken, Platform: p.Client.Platform, DeviceFamily: p.Client.DeviceFamily}
		if f := auth.VerifyDevice(*p.Device, fields, c.hs.nonce, time.Now()); f != nil {
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
		// Ask the device store; frames that arrive meanwhile are held.
		c.phase = authenticating
		c.hs.method = authMethod(secret)
		if !secretOK {
			c.hs.method = "device-token"
		}
		ctx.Request(c.env.Devices, &core.PairCheck{
			DeviceID: strings.ToLower(p.Device.ID), PublicKey: p.Device.PublicKey, Role: c.role, Scopes: p.Scopes,
			Local: c.sock.Local, SecretOK: secretOK, DeviceToken: deviceToken, Client: p.Client,
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
	if c.role == core.RoleNode {
		c.deviceRequired()
		return
	}
	c.hs.method = authMethod(secret)
	c.complete(ctx, sharedSecretScopes(p, c.sock.Local), "", 0)
}

// sharedSecretScopes applies §3.5 to a connection that proved the shared
// secret but no device: the requested scopes are kept only for the local CLI
// and local backends; anything else gets none.
func sharedSecretScopes(p *connectParams, local bool) core.Scopes {
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
	if c.role == core.RoleNode {
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
	c.env.Log.Info("auth failed", "conn", c.sock.ID, "ip", c.sock.IP.String(), "code", f.Code)
	c.failAndClose(c.hs.connectID, protocol.NewError(protocol.CodeInvalidRequest, msg, map[string]any{
		"code": f.Code, "authReason": reason, "canRetryWithDeviceToken": false, "recommendedNextStep": next,
	}), 1008)
}

// limiter is the auth rate limiter for this socket: a web page's socket
// (its upgrade had an Origin header) is never exempt, even on loopback.
func (c *connActor) limiter() *auth.Limiter {
	if c.sock.Browser() {
		return c.env.Limiter.Browser()
	}
	return c.env.Limiter
}

func rateLimited(left time.Duration) *protocol.ErrorShape {
	return protocol.NewError(protocol.CodeInvalidRequest, "unauthorized: too many failed authentication attempts (retry later)",
		map[string]any{"code": "AUTH_RATE_LIMITED", "authReason": "rate_limited", "recommendedNextStep": "wait and retry"}).
		WithRetry(left.Milliseconds())
}

// complete sends hello-ok and makes the connection live.
func (c *connActor) complete(ctx actor.Context, scopes core.Scopes, deviceToken string, issuedAt int64) {
	c.scopes = scopes
	c.phase = open
	if c.hs.timeout != nil {
		c.hs.timeout.Stop()
	}
	c.sock.Authenticated()
	c.limiter().Succeed(c.sock.IP)
	ctx.Send(c.env.Hub, &core.Register{ConnID: c.sock.ID, PID: ctx.Self(), Sock: c.sock, Role: c.role, Scopes: scopes, Mode: c.hs.params.Client.Mode, Auth: c.hs.method,
		Client: c.hs.params.Client, DeviceID: c.deviceID()})
	c.registered = true
	c.sock.Send(protocol.OK(c.hs.connectID, c.hello(scopes, deviceToken, issuedAt)))
	c.env.Log.Debug("handshake ok", "conn", c.sock.ID, "client", c.hs.params.Client.ID, "mode", c.hs.params.Client.Mode,
		"role", c.role, "auth", c.hs.method, "scopes", []string(scopes))
	c.track(ctx)
	c.hs = nil // the handshake state is not needed again
}

func (c *connActor) deviceID() string {
	if c.hs.params.Device == nil {
		return ""
	}
	return strings.ToLower(c.hs.params.Device.ID)
}

// track adds the socket to the presence roster unless its mode is one that
// is not tracked (PROTOCOL.md §7).
func (c *connActor) track(ctx actor.Context) {
	p := &c.hs.params
	switch p.Client.Mode {
	case "cli", "backend", "probe":
		return
	}
	key := c.sock.ID
	deviceID := ""
	if p.Device != nil {
		deviceID = strings.ToLower(p.Device.ID)
	}
	if c.role == core.RoleNode {
		key = firstNonEmpty(deviceID, p.Client.InstanceID, c.sock.ID)
	}
	c.presenceKey = key
	host := firstNonEmpty(p.Client.DisplayName, p.Client.ID)
	kind := "Operator"
	if c.role == core.RoleNode {
		kind = "Node"
	}
	ip := ""
	if !c.sock.Local {
		ip = c.sock.IP.String()
	}
	instance := p.Client.InstanceID
	if c.role == core.RoleNode && instance == "" {
		instance = deviceID
	}
	ctx.Send(c.env.Presence, &core.PresenceConnect{Key: key, ConnID: c.sock.ID, Entry: core.PresenceEntry{
		Host: host, IP: ip, Version: p.Client.Version, Platform: p.Client.Platform, DeviceFamily: p.Client.DeviceFamily,
		ModelIdentifier: p.Client.ModelIdentifier, Mode: p.Client.Mode, DeviceID: deviceID, Roles: []string{c.role},
		Scopes: []string(c.scopes), InstanceID: instance, ClientID: p.Client.ID,
		Text: kind + ": " + host + " · mode " + p.Client.Mode,
	}})
}

func (c *connActor) hello(scopes core.Scopes, deviceToken string, issuedAt int64) map[string]any {
	env := c.env
	presence := []core.PresenceEntry{}
	if scopes.Has(core.ScopeRead) && c.role == core.RoleOperator {
		if snap := env.PresenceSnap.Load(); snap != nil {
			presence = *snap
		}
	}
	health := map[string]any{}
	if snap := env.HealthSnap.Load(); snap != nil {
		health = *snap
	}
	snapshot := map[string]any{
		"presence":     presence,
		"health":       health,
		"stateVersion": env.StateVersion(),
		"uptimeMs":     time.Since(env.Started).Milliseconds(),
		"sessionDefaults": map[string]any{
			"defaultAgentId": "main", "mainKey": "main", "mainSessionKey": "agent:main:main",
		},
	}
	if scopes.Has(core.ScopeAdmin) && c.role == core.RoleOperator {
		snapshot["configPath"] = env.ConfigPath
		snapshot["stateDir"] = env.StateDir
		snapshot["authMode"] = string(env.Secret().Mode)
	}
	authBlock := map[string]any{"role": c.role, "scopes": nonNil(scopes), "method": c.hs.method}
	if deviceToken != "" {
		authBlock["deviceToken"] = deviceToken
		authBlock["issuedAtMs"] = issuedAt
	}
	return map[string]any{
		"type":     "hello-ok",
		"protocol": protocol.Version,
		"server":   map[string]any{"version": env.Version, "buildId": env.BuildID, "connId": c.sock.ID, "bootId": env.BootID},
		"features": map[string]any{"methods": MethodNames(env.Methods), "events": env.Events},
		"snapshot": snapshot,
		"policy": map[string]any{
			"maxPayload": env.Limits.MaxPayload, "maxBufferedBytes": env.Limits.MaxBufferedBytes,
			"tickIntervalMs": env.Limits.TickInterval.Milliseconds(),
		},
		"auth": authBlock,
	}
}

// request handles one frame after hello-ok.
func (c *connActor) request(ctx actor.Context, in *inbound) {
	if in.err != nil {
		if in.err.Malformed {
			c.env.Log.Debug("ignoring malformed frame", "conn", c.sock.ID, "err", in.err.Reason)
			return
		}
		c.sock.Send(protocol.FailRawID(in.err.RawID, protocol.NewError(protocol.CodeInvalidRequest, in.err.Error(), nil)))
		return
	}
	req := in.req
	if c.env.Log.Enabled(context.Background(), slog.LevelDebug) {
		// Checked first: the arguments would be allocated per frame even
		// with debug off.
		c.env.Log.Debug("req", "conn", c.sock.ID, "id", req.ID, "method", req.Method)
	}
	if req.Method == "connect" {
		// Scope-checked like an admin method first, as the reference does.
		if !c.scopes.Has(core.ScopeAdmin) || c.role != core.RoleOperator {
			c.sock.Send(protocol.Fail(req.ID, missingScope(core.ScopeAdmin)))
			return
		}
		c.sock.Send(protocol.Fail(req.ID, protocol.NewError(protocol.CodeInvalidRequest, "connect is only valid as the first request", nil)))
		return
	}
	m := c.env.Methods[req.Method]
	if m == nil {
		if c.scopes.Has(core.ScopeAdmin) && c.role == core.RoleOperator {
			c.sock.Send(protocol.Fail(req.ID, protocol.NewError(protocol.CodeInvalidRequest, "unknown method: "+req.Method, nil)))
		} else {
			c.sock.Send(protocol.Fail(req.ID, missingScope(core.ScopeAdmin)))
		}
		return
	}
	if c.draining {
		c.sock.Send(protocol.Fail(req.ID, protocol.NewError(protocol.CodeUnavailable, "gateway is shutting down", nil).WithRetry(1000)))
		return
	}
	if m.Role != "" && m.Role != c.role {
		c.sock.Send(protocol.Fail(req.ID, protocol.NewError(protocol.CodeInvalidRequest, "unauthorized role: "+c.role, nil)))
		return
	}
	if c.role == core.RoleOperator && !c.scopes.Has(m.Scope) {
		c.sock.Send(protocol.Fail(req.ID, missingScope(m.Scope)))
		return
	}
	if problem := c.env.Validate.ValidateParams(req.Method, req.Params); problem != "" {
		c.sock.Send(protocol.Fail(req.ID, protocol.NewError(protocol.CodeInvalidRequest, "invalid "+req.Method+" params: "+problem, nil)))
		return
	}
	c.inflight++
	m.Handle(&call{ctx: ctx, self: ctx.Self(), c: c, req: req})
}

func missingScope(scope string) *protocol.ErrorShape {
	return protocol.NewError(protocol.CodeForbidden, "missing scope: "+scope, map[string]any{
		"code": "MISSING_SCOPE", "missingScope": scope, "requiredScopes": []string{scope},
	})
}

func (c *connActor) reply(r *core.Reply) {
	if c.phase != open {
		return
	}
	if !r.Interim {
		c.inflight--
	}
	if r.Err != nil && r.Payload != nil {
		// A failed final may carry a payload too (agent's error final).
		c.sock.Send(protocol.FailWithPayload(r.ReqID, r.Payload, r.Err))
	} else if r.Err != nil {
		c.sock.Send(protocol.Fail(r.ReqID, r.Err))
	} else {
		c.sock.Send(protocol.OK(r.ReqID, r.Payload))
	}
	if c.draining && c.inflight <= 0 {
		c.finishDrain()
	}
}

// shutdown tells the client why the gateway is going away, lets the requests
// it has in flight finish (bounded by DrainTimeout), then closes 1012.
func (c *connActor) shutdown(ctx actor.Context, m *core.Shutdown) {
	if c.phase != open {
		c.sock.Close(1012, "service restart")
		c.phase = closed
		return
	}
	payload := map[string]any{"reason": m.Reason}
	if m.RestartExpectedMs > 0 {
		payload["restartExpectedMs"] = m.RestartExpectedMs
	}
	c.seq++
	c.sock.SendBroadcast(protocol.NewBroadcast("shutdown", payload, nil), c.seq)
	c.draining = true
	if c.inflight <= 0 {
		c.finishDrain()
		return
	}
	self, sys := ctx.Self(), ctx.ActorSystem()
	time.AfterFunc(c.env.DrainTimeout, func() { sys.Root.Send(self, &drainDeadline{}) })
}

func (c *connActor) finishDrain() {
	if c.phase == open {
		c.closeWith(1012, "service restart")
	}
}

func (c *connActor) failAndClose(id string, e *protocol.ErrorShape, code uint16) {
	c.sock.Send(protocol.Fail(id, e))
	c.closeWith(code, e.Message)
}

func (c *connActor) closeWith(code uint16, reason string) {
	c.sock.Close(code, reason)
	c.phase = closed
}

// negotiate accepts a client whose range includes 4, and legacy v3 probes
// and nodes.
func negotiate(min, max int, mode, role string) bool {
	if min <= protocol.Version && protocol.Version <= max {
		return true
	}
	legacy := mode == "probe" || (role == core.RoleNode && mode == "node")
	return legacy && max >= 3 && min <= protocol.Version
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

func nonNil(s core.Scopes) []string {
	if s == nil {
		return []string{}
	}
	return s
}

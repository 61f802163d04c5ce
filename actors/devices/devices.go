// Package devices is the device actor: it owns the paired-device records and
// their device tokens, one per role (docs/PROTOCOL.md §3.4), decides whether
// a verified device may connect, auto-approves local devices, keeps the
// pending pairing requests of the others (both roles; they expire after
// PendingTTL), and serves device.pair.*, device.token.*, node.pair.remove
// and node.pair.verify. A node's command surface is not a device matter: it
// belongs to the nodes actor, which this actor tells when a node's pairing
// goes (core.NodeForget).
package devices

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"

	"openclaw/actors/core"
	"openclaw/actors/methods"
	"openclaw/actors/store"
	"openclaw/transport/auth"
	"openclaw/transport/protocol"
)

// PendingTTL is how long a pairing request waits for an operator (the
// reference's); the device's next connect after that asks again.
const PendingTTL = 5 * time.Minute

// askTimeout bounds asking the hub which devices are connected.
const askTimeout = 5 * time.Second

// CloseRevoked is the close code of a socket whose device pairing or token
// was revoked (the reference's: 4001 "device removed").
const CloseRevoked = 4001

// Deps is what the device actor is built with.
type Deps struct {
	Hub   *actor.PID // pairing events; closing a revoked device's sockets
	Nodes *actor.PID // told when a node's pairing goes
	Store store.Store
	// StateDir is where an older version kept devices/paired.json.
	StateDir string
	// AutoApproveLocal pairs verified devices on loopback connections.
	AutoApproveLocal bool
	Log              *slog.Logger
}

// pending is a pairing request waiting for an operator.
type pending struct {
	protocol.DevicePairRequest
	expires time.Time
}

type deviceActor struct {
	d        Deps
	identity protocol.GatewayIdentity
	path     string // the legacy file, moved into the state database
	devices  map[string]*Record
	pending  map[string]*pending // by request id
	timers   core.Timers
	// own writes the devices namespace; in cluster mode it also tells the
	// other gateways' changes, which the watch hands in as *peerChange.
	own       *store.Echoes
	stopWatch context.CancelFunc
}

type sweep struct{}

// peerChange is another gateway's change of one device's record (value
// nil: removed), from the store's watch in cluster mode.
type peerChange struct {
	id    string
	value []byte
}

// Path is where older versions kept the paired devices under a state dir
// (now they live in the state database; the file is migrated at start).
func Path(stateDir string) string { return filepath.Join(stateDir, "devices", "paired.json") }

// Props builds the device actor. A store that cannot be read fails the actor's
// start, which the supervisor reports.
func Props(d Deps) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &deviceActor{d: d, path: Path(d.StateDir), pending: map[string]*pending{}}
	})
}

func (d *deviceActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		d.watch(ctx)
		devs, err := loadStore(d.d.Store, d.path)
		if err != nil {
			d.d.Log.Error("paired devices: not all could be read", "err", err)
		}
		if devs == nil {
			devs = map[string]*Record{}
		}
		d.devices = devs
		id, err := loadIdentity(d.d.Store)
		if err != nil {
			d.d.Log.Error("the gateway's device identity could not be read or made", "err", err)
		}
		d.identity = protocol.GatewayIdentity{DeviceID: id.ID, PublicKey: base64.RawURLEncoding.EncodeToString(id.Public)}
		d.timers.After(ctx, PendingTTL, &sweep{})
	case *actor.Stopping:
		d.timers.Stop()
		d.stopWatch()
	case *actor.Restarting:
		d.stopWatch() // the next incarnation watches anew
	case *peerChange:
		d.peerChanged(m)
	case *methods.IdentityGet:
		m.Reply(d.identity)
	case *sweep:
		d.expire(time.Now())
		d.timers.After(ctx, PendingTTL, &sweep{})
	case *core.PairCheck:
		res, changed := d.check(ctx, m)
		if changed == nil {
			ctx.Respond(res)
			return
		}
		// A device token goes out only once its record is durable; the
		// write happens off this actor.
		sender, sys := ctx.Sender(), ctx.ActorSystem()
		d.persist(changed, func(err error) {
			if err != nil {
				res = &core.PairResult{Err: protocol.NewError(protocol.CodeUnavailable, "pairing not saved: "+err.Error(), nil)}
			}
			sys.Root.Send(sender, res)
		})
	case *methods.DevicePairList:
		d.list(ctx, m)
	case *methods.DevicePairApprove:
		d.approve(ctx, m)
	case *methods.DevicePairReject:
		d.reject(ctx, m)
	case *methods.DevicePairRemove:
		d.remove(ctx, m)
	case *core.OperatorTokenCheck:
		ctx.Respond(d.operatorToken(m.Token))
	case *methods.DeviceTokenRotate:
		d.rotate(ctx, m)
	case *methods.DeviceTokenRevoke:
		d.revoke(ctx, m)
	case *methods.NodePairRemove:
		d.removeNode(ctx, m)
	case *methods.NodePairVerify:
		d.verify(m)
	}
}

// check decides on a connecting device; changed is the record to save
// before the answer goes out (nil when nothing changed).
func (d *deviceActor) check(ctx actor.Context, m *core.PairCheck) (res *core.PairResult, changed *Record) {
	now := time.Now().UnixMilli()
	role := string(m.Role)
	rec := d.devices[m.DeviceID]
	if rec != nil && rec.PublicKey != m.PublicKey {
		// Same id, other key: impossible unless the id was forged, which the
		// signature check already rules out; refuse rather than re-pair.
		return &core.PairResult{Err: protocol.NewError(protocol.CodeInvalidRequest, "device identity mismatch",
			map[string]any{"code": "DEVICE_AUTH_DEVICE_ID_MISMATCH"})}, nil
	}
	var tok *RoleToken
	if rec != nil && slices.Contains(rec.Roles, role) {
		tok = rec.Tokens[role]
	}
	if !m.SecretOK {
		// Device-token authentication: the device must be paired for the
		// role and the token must match.
		if tok == nil || tok.Token == "" || !auth.Equal(m.DeviceToken, tok.Token) {
			return &core.PairResult{Err: protocol.NewError(protocol.CodeInvalidRequest,
				"unauthorized: device token mismatch (rotate/reissue device token)",
				map[string]any{"code": "AUTH_DEVICE_TOKEN_MISMATCH", "authReason": "device_token_mismatch",
					"canRetryWithDeviceToken": false, "recommendedNextStep": "update_auth_credentials"})}, nil
		}
	}
	if tok != nil && tok.Token != "" {
		scopes := capScopes(m.Scopes, rec.Scopes)
		if m.Local && d.d.AutoApproveLocal && m.SecretOK && len(scopes) < len(m.Scopes) {
			// A local device asking for more than it was paired with is
			// approved again, as a first pairing would be.
			rec.Scopes = union(rec.Scopes, m.Scopes)
			tok.Scopes = union(tok.Scopes, m.Scopes)
			scopes = m.Scopes
			changed = rec
		}
		// LastConnectedMs is kept in memory only: an fsync per reconnect
		// would put the disk on every handshake's path.
		rec.LastConnectedMs = now
		return &core.PairResult{Scopes: scopes, DeviceToken: tok.Token, IssuedAtMs: tokenIssued(tok)}, changed
	}
	// A role whose token was revoked is not paired again silently.
	repair := rec != nil && rec.Tokens[role] != nil
	if !repair && m.Local && d.d.AutoApproveLocal && m.SecretOK {
		rec = d.pair(rec, pairing{deviceID: m.DeviceID, publicKey: m.PublicKey, role: role, scopes: m.Scopes,
			client: m.Client, remoteIP: m.RemoteIP, via: "silent"}, now)
		d.d.Log.Info("device paired (local auto-approve)", "deviceId", m.DeviceID, "role", m.Role, "client", m.Client.ID)
		return &core.PairResult{Scopes: m.Scopes, DeviceToken: rec.Tokens[role].Token, IssuedAtMs: now}, rec
	}
	d.expire(time.Now())
	p := d.pendingFor(m.DeviceID, role)
	if p == nil {
		scopes := m.Scopes
		if scopes == nil || m.Role != core.RoleOperator {
			scopes = []string{}
		}
		p = &pending{expires: time.Now().Add(PendingTTL), DevicePairRequest: protocol.DevicePairRequest{
			RequestID: uuid.NewString(), DeviceID: m.DeviceID, PublicKey: m.PublicKey, DisplayName: m.Client.DisplayName,
			Platform: m.Client.Platform, DeviceFamily: m.Client.DeviceFamily, ClientID: m.Client.ID, ClientMode: m.Client.Mode,
			Role: role, Roles: []string{role}, Scopes: scopes, RemoteIP: m.RemoteIP, Silent: false, IsRepair: repair, TS: now}}
		d.pending[p.RequestID] = p
		ctx.Send(d.d.Hub, &core.Publish{B: methods.DevicePairRequested.Broadcast(p.DevicePairRequest, nil)})
		d.d.Log.Info("pairing requested", "deviceId", m.DeviceID, "role", role, "requestId", p.RequestID)
	}
	msg, reason, hint := "pairing required: device is not approved yet", "not-paired",
		"Approve this device from the pending pairing requests."
	if p.IsRepair {
		msg, reason, hint = "pairing required: device is asking for a higher role than currently approved", "role-upgrade",
			"Review the requested role upgrade, then approve the pending request."
	}
	details := map[string]any{"code": "PAIRING_REQUIRED", "deviceId": m.DeviceID, "reason": reason,
		"remediationHint": hint, "requestId": p.RequestID, "requestedRole": role}
	if len(p.Scopes) > 0 {
		details["requestedScopes"] = p.Scopes
	}
	return &core.PairResult{Err: protocol.NewError(protocol.CodeNotPaired, msg, details)}, nil
}

// pairing is what pairing a device for a role records.
type pairing struct {
	deviceID, publicKey, role string
	scopes                    []string
	client                    protocol.ClientInfo
	remoteIP, via             string
}

// pair adds role to the device's record (making one if needed) with a fresh
// token for it, and returns the record.
func (d *deviceActor) pair(rec *Record, p pairing, now int64) *Record {
	if rec == nil {
		rec = &Record{DeviceID: p.deviceID, PublicKey: p.publicKey, Tokens: map[string]*RoleToken{}, CreatedAtMs: now}
		d.devices[p.deviceID] = rec
	}
	scopes := []string{}
	if p.role == string(core.RoleOperator) {
		scopes = append(scopes, p.scopes...)
		rec.Scopes = union(rec.Scopes, p.scopes)
	}
	rec.Roles = union(rec.Roles, []string{p.role})
	rec.Tokens[p.role] = &RoleToken{Token: auth.NewDeviceToken(), Scopes: scopes, CreatedAtMs: now}
	rec.ClientID, rec.ClientMode = p.client.ID, p.client.Mode
	rec.DisplayName, rec.Platform, rec.DeviceFamily = p.client.DisplayName, p.client.Platform, p.client.DeviceFamily
	rec.RemoteIP, rec.ApprovedVia = p.remoteIP, p.via
	rec.ApprovedAtMs, rec.LastConnectedMs = now, now
	return rec
}

// pendingFor finds the open request of a device for a role.
func (d *deviceActor) pendingFor(deviceID, role string) *pending {
	for _, p := range d.pending {
		if p.DeviceID == deviceID && p.Role == role {
			return p
		}
	}
	return nil
}

// list answers device.pair.list: pending requests and paired devices, newest
// first, each paired one saying whether it has a socket open (the hub knows;
// it is asked off this actor).
func (d *deviceActor) list(ctx actor.Context, m *methods.DevicePairList) {
	d.expire(time.Now())
	out := protocol.DevicePairList{Pending: []protocol.DevicePairRequest{}, Paired: []protocol.PairedDevice{}}
	for _, p := range d.pending {
		out.Pending = append(out.Pending, p.DevicePairRequest)
	}
	sort.Slice(out.Pending, func(i, j int) bool { return out.Pending[i].TS > out.Pending[j].TS })
	for _, rec := range d.devices {
		out.Paired = append(out.Paired, view(rec))
	}
	sort.Slice(out.Paired, func(i, j int) bool {
		a, b := out.Paired[i], out.Paired[j]
		if a.ApprovedAtMs != b.ApprovedAtMs {
			return a.ApprovedAtMs > b.ApprovedAtMs
		}
		return a.DeviceID < b.DeviceID
	})
	root, hub := ctx.ActorSystem().Root, d.d.Hub
	go func() {
		conns, _ := core.Ask[struct{}, map[string]bool](root, hub, struct{}{}, askTimeout)
		for i := range out.Paired {
			c := conns[out.Paired[i].DeviceID]
			out.Paired[i].Connected = &c
		}
		m.Reply(out)
	}()
}

// approve answers device.pair.approve. A caller without operator.admin may
// approve only operator devices, and only with scopes it holds itself.
func (d *deviceActor) approve(ctx actor.Context, m *methods.DevicePairApprove) {
	d.expire(time.Now())
	p := d.pending[m.Params.RequestID]
	if p == nil {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "unknown requestId", nil))
		return
	}
	if c := m.Caller; c != nil && !c.Scopes.Has(core.ScopeAdmin) {
		if p.Role != string(core.RoleOperator) || (c.DeviceAuth && c.DeviceID != p.DeviceID) {
			m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "device pairing approval denied", nil))
			return
		}
		for _, s := range p.Scopes {
			if !c.Scopes.Has(s) {
				m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "device pairing approval denied: missing scope "+s, nil))
				return
			}
		}
	}
	delete(d.pending, p.RequestID)
	now := time.Now().UnixMilli()
	rec := d.devices[p.DeviceID]
	if rec != nil && rec.PublicKey != p.PublicKey {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "device identity mismatch", nil))
		return
	}
	rec = d.pair(rec, pairing{deviceID: p.DeviceID, publicKey: p.PublicKey, role: p.Role, scopes: p.Scopes,
		client: protocol.ClientInfo{ID: p.ClientID, Mode: p.ClientMode, DisplayName: p.DisplayName, Platform: p.Platform,
			DeviceFamily: p.DeviceFamily}, remoteIP: p.RemoteIP, via: "owner"}, now)
	rec.LastConnectedMs = 0
	d.d.Log.Info("device paired (approved)", "deviceId", p.DeviceID, "role", p.Role, "requestId", p.RequestID)
	res := protocol.DevicePairApproved{RequestID: p.RequestID, Device: view(rec)}
	hub := d.d.Hub
	resolved := methods.DevicePairResolved.Broadcast(protocol.DevicePairResolved{RequestID: p.RequestID, DeviceID: p.DeviceID,
		Decision: "approved", TS: now}, nil)
	root := ctx.ActorSystem().Root
	d.persist(rec, func(err error) {
		if err != nil {
			m.Fail(protocol.NewError(protocol.CodeUnavailable, "pairing not saved: "+err.Error(), nil))
			return
		}
		root.Send(hub, &core.Publish{B: resolved})
		m.Reply(res)
	})
}

func (d *deviceActor) reject(ctx actor.Context, m *methods.DevicePairReject) {
	d.expire(time.Now())
	p := d.pending[m.Params.RequestID]
	if p == nil {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "unknown requestId", nil))
		return
	}
	delete(d.pending, p.RequestID)
	d.d.Log.Info("pairing rejected", "deviceId", p.DeviceID, "role", p.Role, "requestId", p.RequestID)
	ctx.Send(d.d.Hub, &core.Publish{B: methods.DevicePairResolved.Broadcast(protocol.DevicePairResolved{
		RequestID: p.RequestID, DeviceID: p.DeviceID, Decision: "rejected", TS: time.Now().UnixMilli()}, nil)})
	m.Reply(protocol.DevicePairRejected{RequestID: p.RequestID, DeviceID: p.DeviceID})
}

// remove answers device.pair.remove: the device is forgotten and every
// socket it has is closed.
func (d *deviceActor) remove(ctx actor.Context, m *methods.DevicePairRemove) {
	rec := d.devices[m.Params.DeviceID]
	if rec == nil {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "unknown deviceId", nil))
		return
	}
	if !manages(m.Caller, rec) {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "device pairing removal denied", nil))
		return
	}
	delete(d.devices, rec.DeviceID)
	d.d.Log.Info("device removed", "deviceId", rec.DeviceID)
	d.forgetNode(ctx, rec)
	ctx.Send(d.d.Hub, &core.CloseDevice{DeviceID: rec.DeviceID, Code: CloseRevoked, Reason: "device removed"})
	id, log := rec.DeviceID, d.d.Log
	// Answered once the removal is durable.
	d.own.Delete(id, func(err error) {
		if err != nil {
			log.Error("removing a paired device failed", "deviceId", id, "err", err)
			m.Fail(protocol.NewError(protocol.CodeUnavailable, "removal not saved: "+err.Error(), nil))
			return
		}
		m.Reply(protocol.DeviceRef{DeviceID: id})
	})
}

// removeNode answers node.pair.remove: the device loses its node role (and
// the device record goes when no role is left); its node sockets close.
func (d *deviceActor) removeNode(ctx actor.Context, m *methods.NodePairRemove) {
	rec := d.devices[m.Params.NodeID]
	node := string(core.RoleNode)
	if rec == nil || !slices.Contains(rec.Roles, node) {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "unknown nodeId", nil))
		return
	}
	if !manages(m.Caller, rec) {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "node pairing removal denied", nil))
		return
	}
	rec.Roles = slices.DeleteFunc(rec.Roles, func(r string) bool { return r == node })
	delete(rec.Tokens, node)
	d.forgetNode(ctx, &Record{DeviceID: rec.DeviceID, Roles: []string{node}})
	d.d.Log.Info("node pairing removed", "nodeId", rec.DeviceID)
	ctx.Send(d.d.Hub, &core.Publish{B: methods.NodePairResolved.Broadcast(protocol.NodePairResolved{
		NodeID: rec.DeviceID, Decision: "removed", TS: time.Now().UnixMilli()}, nil)})
	ctx.Send(d.d.Hub, &core.CloseDevice{DeviceID: rec.DeviceID, Role: core.RoleNode, Code: CloseRevoked, Reason: "device removed"})
	id := rec.DeviceID
	done := func(err error) {
		if err != nil {
			m.Fail(protocol.NewError(protocol.CodeUnavailable, "removal not saved: "+err.Error(), nil))
			return
		}
		m.Reply(protocol.NodeRef{NodeID: id})
	}
	if len(rec.Roles) == 0 {
		delete(d.devices, id)
		d.own.Delete(id, func(err error) {
			d.logFailure("removing a paired device", id)(err)
			done(err)
		})
		return
	}
	d.persist(rec, done)
}

// operatorToken finds the paired device whose operator token is token (a
// revoked one has none).
func (d *deviceActor) operatorToken(token string) *core.OperatorTokenResult {
	role := string(core.RoleOperator)
	for _, rec := range d.devices {
		if tok := rec.Tokens[role]; token != "" && tok != nil && tok.Token != "" && slices.Contains(rec.Roles, role) &&
			auth.Equal(token, tok.Token) {
			return &core.OperatorTokenResult{OK: true, Scopes: slices.Clone(tok.Scopes)}
		}
	}
	return &core.OperatorTokenResult{}
}

// rotate answers device.token.rotate: a new token for the role, the old one
// void and its sockets closed. The token is returned only to the device
// itself.
func (d *deviceActor) rotate(ctx actor.Context, m *methods.DeviceTokenRotate) {
	p := m.Params
	rec := d.devices[p.DeviceID]
	var tok *RoleToken
	if rec != nil && slices.Contains(rec.Roles, p.Role) {
		tok = rec.Tokens[p.Role]
	}
	denied := protocol.NewError(protocol.CodeInvalidRequest, "device token rotation denied", nil)
	if tok == nil || !managesToken(m.Caller, rec, p.Role) {
		m.Fail(denied)
		return
	}
	scopes := tok.Scopes
	if p.Scopes != nil {
		scopes = p.Scopes
	}
	if p.Role == string(core.RoleOperator) && !holds(m.Caller, scopes) {
		m.Fail(denied)
		return
	}
	if p.Role != string(core.RoleOperator) {
		scopes = []string{}
	}
	now := time.Now().UnixMilli()
	tok.Token, tok.Scopes, tok.RotatedAtMs = auth.NewDeviceToken(), slices.Clone(scopes), now
	if p.Role == string(core.RoleOperator) {
		rec.Scopes = slices.Clone(scopes)
	}
	res := protocol.DeviceTokenRotated{DeviceID: rec.DeviceID, Role: p.Role, Scopes: tok.Scopes, RotatedAtMs: now,
		TokenDelivery: "withheld-cross-device"}
	if m.Caller != nil && m.Caller.DeviceID == rec.DeviceID {
		res.Token, res.TokenDelivery = tok.Token, "in-band"
	}
	d.d.Log.Info("device token rotated", "deviceId", rec.DeviceID, "role", p.Role)
	hub, root, id, role := d.d.Hub, ctx.ActorSystem().Root, rec.DeviceID, core.Role(p.Role)
	d.persist(rec, func(err error) {
		if err != nil {
			m.Fail(protocol.NewError(protocol.CodeUnavailable, "token not saved: "+err.Error(), nil))
			return
		}
		m.Reply(res)
		root.Send(hub, &core.CloseDevice{DeviceID: id, Role: role, Code: CloseRevoked, Reason: "device token rotated"})
	})
}

// revoke answers device.token.revoke: the role's token is void, the
// device's sockets of that role close, and the role is not paired again
// without an operator.
func (d *deviceActor) revoke(ctx actor.Context, m *methods.DeviceTokenRevoke) {
	p := m.Params
	rec := d.devices[p.DeviceID]
	var tok *RoleToken
	if rec != nil && slices.Contains(rec.Roles, p.Role) {
		tok = rec.Tokens[p.Role]
	}
	if tok == nil || !managesToken(m.Caller, rec, p.Role) ||
		(p.Role == string(core.RoleOperator) && !holds(m.Caller, tok.Scopes)) {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "device token revocation denied", nil))
		return
	}
	now := time.Now().UnixMilli()
	tok.Token, tok.RevokedAtMs = "", now
	rec.Roles = slices.DeleteFunc(rec.Roles, func(r string) bool { return r == p.Role })
	if p.Role == string(core.RoleNode) {
		d.forgetNode(ctx, &Record{DeviceID: rec.DeviceID, Roles: []string{p.Role}})
	}
	d.d.Log.Info("device token revoked", "deviceId", rec.DeviceID, "role", p.Role)
	hub, root, id, role := d.d.Hub, ctx.ActorSystem().Root, rec.DeviceID, core.Role(p.Role)
	d.persist(rec, func(err error) {
		if err != nil {
			m.Fail(protocol.NewError(protocol.CodeUnavailable, "revocation not saved: "+err.Error(), nil))
			return
		}
		// The answer first: the caller may be one of the sockets closed.
		m.Reply(protocol.DeviceTokenRevoked{DeviceID: id, Role: string(role), RevokedAtMs: now})
		root.Send(hub, &core.CloseDevice{DeviceID: id, Role: role, Code: CloseRevoked, Reason: "device removed"})
	})
}

// verify answers node.pair.verify (the runbook's): is token this paired
// node's device token?
func (d *deviceActor) verify(m *methods.NodePairVerify) {
	rec := d.devices[m.Params.NodeID]
	node := string(core.RoleNode)
	res := protocol.NodePairVerified{NodeID: m.Params.NodeID}
	if rec != nil && slices.Contains(rec.Roles, node) {
		res.Paired = true
		if tok := rec.Tokens[node]; tok != nil && tok.Token != "" {
			res.OK = auth.Equal(m.Params.Token, tok.Token)
		}
	}
	m.Reply(res)
}

// forgetNode tells the nodes actor that a node's pairing is gone.
func (d *deviceActor) forgetNode(ctx actor.Context, rec *Record) {
	if d.d.Nodes != nil && slices.Contains(rec.Roles, string(core.RoleNode)) {
		ctx.Send(d.d.Nodes, &core.NodeForget{NodeID: rec.DeviceID})
	}
}

// manages reports whether caller may remove rec's pairing (the reference's
// rule): an admin or a shared-secret caller may; a caller that
// authenticated with a device token only its own device, and only when it
// has no role but operator.
func manages(caller *core.Peer, rec *Record) bool {
	if caller == nil || caller.Scopes.Has(core.ScopeAdmin) || !caller.DeviceAuth {
		return true
	}
	if caller.DeviceID != rec.DeviceID {
		return false
	}
	for _, r := range rec.Roles {
		if r != string(core.RoleOperator) {
			return false
		}
	}
	return true
}

// managesToken reports whether caller may rotate or revoke rec's token for
// role: without operator.admin only operator tokens, and a device-token
// caller only its own device's.
func managesToken(caller *core.Peer, rec *Record, role string) bool {
	if caller == nil || caller.Scopes.Has(core.ScopeAdmin) {
		return true
	}
	if caller.DeviceAuth && caller.DeviceID != rec.DeviceID {
		return false
	}
	return role == string(core.RoleOperator)
}

// holds reports whether caller holds every scope in scopes (in-process
// callers hold all).
func holds(caller *core.Peer, scopes []string) bool {
	if caller == nil {
		return true
	}
	for _, s := range scopes {
		if !caller.Scopes.Has(s) {
			return false
		}
	}
	return true
}

// view is a record as device.pair.* show it: no tokens, only what they are.
func view(rec *Record) protocol.PairedDevice {
	v := protocol.PairedDevice{DeviceID: rec.DeviceID, PublicKey: rec.PublicKey, DisplayName: rec.DisplayName,
		Platform: rec.Platform, DeviceFamily: rec.DeviceFamily, ClientID: rec.ClientID, ClientMode: rec.ClientMode,
		Roles: slices.Clone(rec.Roles), Scopes: slices.Clone(rec.Scopes), RemoteIP: rec.RemoteIP, ApprovedVia: rec.ApprovedVia,
		CreatedAtMs: rec.CreatedAtMs, ApprovedAtMs: rec.ApprovedAtMs, LastSeenAtMs: rec.LastConnectedMs,
		Tokens: []protocol.DeviceToken{}}
	if v.Roles == nil {
		v.Roles = []string{}
	}
	if v.Scopes == nil {
		v.Scopes = []string{}
	}
	if len(v.Roles) > 0 {
		v.Role = v.Roles[0]
	}
	if v.LastSeenAtMs != 0 {
		v.LastSeenReason = "connect"
	}
	roles := make([]string, 0, len(rec.Tokens))
	for r := range rec.Tokens {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	for _, r := range roles {
		t := rec.Tokens[r]
		scopes := slices.Clone(t.Scopes)
		if scopes == nil {
			scopes = []string{}
		}
		v.Tokens = append(v.Tokens, protocol.DeviceToken{Role: r, Scopes: scopes, CreatedAtMs: t.CreatedAtMs,
			RotatedAtMs: t.RotatedAtMs, RevokedAtMs: t.RevokedAtMs})
	}
	return v
}

func tokenIssued(t *RoleToken) int64 {
	if t.RotatedAtMs != 0 {
		return t.RotatedAtMs
	}
	return t.CreatedAtMs
}

// persist writes one device's record (a snapshot taken now) to the state
// database, in order with the actor's other writes, and calls done once it
// is durable.
func (d *deviceActor) persist(rec *Record, done func(error)) {
	b, err := json.Marshal(rec)
	if err != nil {
		done(err)
		return
	}
	log := d.d.Log
	d.own.Put(rec.DeviceID, b, func(err error) {
		if err != nil {
			log.Error("saving a paired device failed", "deviceId", rec.DeviceID, "err", err)
		}
		done(err)
	})
}

// logFailure is a write's callback that only logs a failure.
func (d *deviceActor) logFailure(what, id string) func(error) {
	log := d.d.Log
	return func(err error) {
		if err != nil {
			log.Error(what+" failed", "deviceId", id, "err", err)
		}
	}
}

// expire drops the pairing requests nobody answered in time.
func (d *deviceActor) expire(now time.Time) {
	for id, p := range d.pending {
		if now.After(p.expires) {
			delete(d.pending, id)
		}
	}
}

// capScopes keeps the requested scopes the pairing grants.
func capScopes(requested, granted []string) []string {
	out := []string{}
	for _, s := range requested {
		if core.Scopes(granted).Has(s) {
			out = append(out, s)
		}
	}
	return out
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// watch follows the other gateways' changes of the paired devices when the
// store is shared (cluster mode): a device approved, a token rotated or
// revoked, a device removed on any gateway holds here within the store's
// delivery delay. Started before the devices are read, so a change made
// meanwhile is applied after them, not lost.
func (d *deviceActor) watch(ctx actor.Context) {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	var err error
	d.own, d.stopWatch, err = store.Follow(d.d.Store, ns, func(id string, value []byte) {
		root.Send(self, &peerChange{id: id, value: value})
	})
	if err != nil {
		d.d.Log.Error("paired devices: not watching the other gateways' changes", "err", err)
	}
}

// peerChanged applies another gateway's change of a device record. The
// sockets a revocation closes are closed by the gateway that made it, on
// every gateway (core.CloseDevice goes through the cluster).
func (d *deviceActor) peerChanged(m *peerChange) {
	old := d.devices[m.id]
	if m.value == nil {
		if old != nil {
			delete(d.devices, m.id)
			d.d.Log.Info("device removed on another gateway", "deviceId", m.id)
		}
		return
	}
	var rec Record
	if err := json.Unmarshal(m.value, &rec); err != nil {
		d.d.Log.Error("paired devices: unreadable record from another gateway", "deviceId", m.id, "err", err)
		return
	}
	rec.upgrade()
	if old != nil {
		// Kept in memory only, by the gateway the device connects to.
		rec.LastConnectedMs = max(rec.LastConnectedMs, old.LastConnectedMs)
	}
	d.devices[m.id] = &rec
	// A request here for a role the device now holds was answered
	// elsewhere.
	for id, p := range d.pending {
		if p.DeviceID == m.id && slices.Contains(rec.Roles, p.Role) {
			delete(d.pending, id)
		}
	}
}

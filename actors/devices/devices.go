// Package devices is the device actor: it owns the paired-device records and
// their device tokens (PROTOCOL.md §3.4), decides whether a verified device
// may connect, auto-approves local devices, and keeps pending pairing
// requests for the others.
package devices

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"

	"openclaw/actors/core"
	"openclaw/transport/auth"
	"openclaw/transport/protocol"
)

// Pending is a pairing request waiting for an operator.
type Pending struct {
	RequestID   string   `json:"requestId"`
	NodeID      string   `json:"nodeId"`
	PublicKey   string   `json:"-"`
	Role        string   `json:"role"`
	Scopes      []string `json:"scopes,omitempty"`
	ClientID    string   `json:"clientId"`
	ClientMode  string   `json:"clientMode"`
	DisplayName string   `json:"displayName,omitempty"`
	Platform    string   `json:"platform"`
	Version     string   `json:"version"`
	TS          int64    `json:"ts"`
}

type deviceActor struct {
	env     *core.Env
	path    string // the legacy file, moved into the state database
	devices map[string]*Record
	pending map[string]*Pending // by device id
}

// Path is where older versions kept the paired devices under a state dir
// (now they live in the state database; the file is migrated at start).
func Path(stateDir string) string { return filepath.Join(stateDir, "devices", "paired.json") }

// Props builds the device actor. A store that cannot be read fails the actor's
// start, which the supervisor reports.
func Props(env *core.Env) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &deviceActor{env: env, path: Path(env.StateDir), pending: map[string]*Pending{}}
	})
}

func (d *deviceActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		devs, err := loadStore(d.env.Store, d.path)
		if err != nil {
			d.env.Log.Error("paired devices: not all could be read", "err", err)
		}
		if devs == nil {
			devs = map[string]*Record{}
		}
		d.devices = devs
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
	}
}

// check decides on a connecting device; changed is the record to save
// before the answer goes out (nil when nothing changed).
func (d *deviceActor) check(ctx actor.Context, m *core.PairCheck) (res *core.PairResult, changed *Record) {
	now := time.Now().UnixMilli()
	rec := d.devices[m.DeviceID]
	if rec != nil && rec.PublicKey != m.PublicKey {
		// Same id, other key: impossible unless the id was forged, which the
		// signature check already rules out; refuse rather than re-pair.
		return &core.PairResult{Err: protocol.NewError(protocol.CodeInvalidRequest, "device identity mismatch",
			map[string]any{"code": "DEVICE_AUTH_DEVICE_ID_MISMATCH"})}, nil
	}
	if !m.SecretOK {
		// Device-token authentication: the device must be paired and the
		// token must match.
		if rec == nil || !auth.Equal(m.DeviceToken, rec.Token) {
			return &core.PairResult{Err: protocol.NewError(protocol.CodeInvalidRequest,
				"unauthorized: device token mismatch (rotate/reissue device token)",
				map[string]any{"code": "AUTH_DEVICE_TOKEN_MISMATCH", "authReason": "device_token_mismatch",
					"recommendedNextStep": "reauthenticate with the gateway token"})}, nil
		}
	}
	if rec != nil && slices.Contains(rec.Roles, m.Role) {
		scopes := capScopes(m.Scopes, rec.Scopes)
		if m.Local && d.env.AutoApproveLocal && m.SecretOK && len(scopes) < len(m.Scopes) {
			// A local device asking for more than it was paired with is
			// approved again, as a first pairing would be.
			rec.Scopes = union(rec.Scopes, m.Scopes)
			scopes = m.Scopes
			changed = rec
		}
		// LastConnectedMs is kept in memory only: an fsync per reconnect
		// would put the disk on every handshake's path.
		rec.LastConnectedMs = now
		return &core.PairResult{Scopes: scopes, DeviceToken: rec.Token, IssuedAtMs: rec.TokenIssuedAtMs}, changed
	}
	if m.Local && d.env.AutoApproveLocal && m.SecretOK {
		if rec == nil {
			rec = &Record{DeviceID: m.DeviceID, PublicKey: m.PublicKey, Token: auth.NewDeviceToken(),
				TokenIssuedAtMs: now, CreatedAtMs: now}
			d.devices[m.DeviceID] = rec
		}
		rec.Roles = union(rec.Roles, []string{m.Role})
		rec.Scopes = union(rec.Scopes, m.Scopes)
		rec.ClientID, rec.ClientMode = m.Client.ID, m.Client.Mode
		rec.DisplayName, rec.Platform, rec.DeviceFamily = m.Client.DisplayName, m.Client.Platform, m.Client.DeviceFamily
		rec.ApprovedAtMs, rec.LastConnectedMs = now, now
		d.env.Log.Info("device paired (local auto-approve)", "deviceId", m.DeviceID, "role", m.Role, "client", m.Client.ID)
		return &core.PairResult{Scopes: m.Scopes, DeviceToken: rec.Token, IssuedAtMs: rec.TokenIssuedAtMs}, rec
	}
	p := d.pending[m.DeviceID]
	if p == nil {
		p = &Pending{RequestID: uuid.NewString(), NodeID: m.DeviceID, PublicKey: m.PublicKey, Role: m.Role,
			Scopes: m.Scopes, ClientID: m.Client.ID, ClientMode: m.Client.Mode, DisplayName: m.Client.DisplayName,
			Platform: m.Client.Platform, Version: m.Client.Version, TS: now}
		d.pending[m.DeviceID] = p
		if m.Role == core.RoleNode {
			b := protocol.NewBroadcast("node.pair.requested", p, nil)
			b.Scope = core.ScopePairing
			ctx.Send(d.env.Hub, &core.Publish{B: b})
		}
		d.env.Log.Info("pairing requested", "deviceId", m.DeviceID, "role", m.Role, "requestId", p.RequestID)
	}
	return &core.PairResult{Err: protocol.NewError(protocol.CodeNotPaired, "pairing required: not-paired",
		map[string]any{"code": "PAIRING_REQUIRED", "reason": "not-paired", "requestId": p.RequestID})}, nil
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
	log := d.env.Log
	d.env.Store.PutAsync(ns, rec.DeviceID, b, func(err error) {
		if err != nil {
			log.Error("saving a paired device failed", "deviceId", rec.DeviceID, "err", err)
		}
		done(err)
	})
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

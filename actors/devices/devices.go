// Package devices is the device actor: it owns the paired-device records and
// their device tokens (docs/PROTOCOL.md §3.4), decides whether a
// verified device may connect, auto-approves local devices, and keeps
// pending pairing requests for the others (they expire after PendingTTL).
package devices

import (
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"slices"
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

// Deps is what the device actor is built with.
type Deps struct {
	Hub   *actor.PID // node.pair.requested goes out through it
	Store *store.Store
	// StateDir is where an older version kept devices/paired.json.
	StateDir string
	// AutoApproveLocal pairs verified devices on loopback connections.
	AutoApproveLocal bool
	Log              *slog.Logger
}

// pending is a pairing request waiting for an operator.
type pending struct {
	protocol.NodePairRequested
	publicKey string
	expires   time.Time
}

type deviceActor struct {
	d        Deps
	identity protocol.GatewayIdentity
	path     string // the legacy file, moved into the state database
	devices  map[string]*Record
	pending  map[string]*pending // by device id
	timers   core.Timers
}

type sweep struct{}

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
	role := string(m.Role)
	if rec != nil && slices.Contains(rec.Roles, role) {
		scopes := capScopes(m.Scopes, rec.Scopes)
		if m.Local && d.d.AutoApproveLocal && m.SecretOK && len(scopes) < len(m.Scopes) {
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
	if m.Local && d.d.AutoApproveLocal && m.SecretOK {
		if rec == nil {
			rec = &Record{DeviceID: m.DeviceID, PublicKey: m.PublicKey, Token: auth.NewDeviceToken(),
				TokenIssuedAtMs: now, CreatedAtMs: now}
			d.devices[m.DeviceID] = rec
		}
		rec.Roles = union(rec.Roles, []string{role})
		rec.Scopes = union(rec.Scopes, m.Scopes)
		rec.ClientID, rec.ClientMode = m.Client.ID, m.Client.Mode
		rec.DisplayName, rec.Platform, rec.DeviceFamily = m.Client.DisplayName, m.Client.Platform, m.Client.DeviceFamily
		rec.ApprovedAtMs, rec.LastConnectedMs = now, now
		d.d.Log.Info("device paired (local auto-approve)", "deviceId", m.DeviceID, "role", m.Role, "client", m.Client.ID)
		return &core.PairResult{Scopes: m.Scopes, DeviceToken: rec.Token, IssuedAtMs: rec.TokenIssuedAtMs}, rec
	}
	d.expire(time.Now())
	p := d.pending[m.DeviceID]
	if p == nil {
		p = &pending{publicKey: m.PublicKey, expires: time.Now().Add(PendingTTL), NodePairRequested: protocol.NodePairRequested{
			RequestID: uuid.NewString(), NodeID: m.DeviceID, Role: role,
			Scopes: m.Scopes, ClientID: m.Client.ID, ClientMode: m.Client.Mode, DisplayName: m.Client.DisplayName,
			Platform: m.Client.Platform, Version: m.Client.Version, TS: now}}
		d.pending[m.DeviceID] = p
		if m.Role == core.RoleNode {
			ctx.Send(d.d.Hub, &core.Publish{B: methods.NodePairRequested.Broadcast(p.NodePairRequested, nil)})
		}
		d.d.Log.Info("pairing requested", "deviceId", m.DeviceID, "role", role, "requestId", p.RequestID)
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
	log := d.d.Log
	d.d.Store.PutAsync(ns, rec.DeviceID, b, func(err error) {
		if err != nil {
			log.Error("saving a paired device failed", "deviceId", rec.DeviceID, "err", err)
		}
		done(err)
	})
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

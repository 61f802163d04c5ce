package devices

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"openclaw/actors/store"
	"openclaw/transport/auth"
)

// Record is one paired device.
type Record struct {
	DeviceID  string `json:"deviceId"`
	PublicKey string `json:"publicKey"`
	// Roles are the roles the device is paired for; each has a token.
	Roles []string `json:"roles"`
	// Scopes are the operator scopes it was approved with.
	Scopes []string `json:"scopes"`
	// Tokens are the device tokens by role, revoked ones included (with no
	// token), so a revoked role asks an operator again.
	Tokens map[string]*RoleToken `json:"tokens,omitempty"`
	// Token and TokenIssuedAtMs are the single token of records written
	// before tokens were per role; loadStore moves them into Tokens.
	Token           string `json:"token,omitempty"`
	TokenIssuedAtMs int64  `json:"tokenIssuedAtMs,omitempty"`
	ClientID        string `json:"clientId,omitempty"`
	ClientMode      string `json:"clientMode,omitempty"`
	DisplayName     string `json:"displayName,omitempty"`
	Platform        string `json:"platform,omitempty"`
	DeviceFamily    string `json:"deviceFamily,omitempty"`
	RemoteIP        string `json:"remoteIp,omitempty"`
	// ApprovedVia is "silent" (local auto-approval) or "owner" (an operator).
	ApprovedVia     string `json:"approvedVia,omitempty"`
	CreatedAtMs     int64  `json:"createdAtMs"`
	ApprovedAtMs    int64  `json:"approvedAtMs"`
	LastConnectedMs int64  `json:"lastConnectedAtMs,omitempty"`
}

// RoleToken is one role's device token.
type RoleToken struct {
	Token       string   `json:"token,omitempty"` // "" once revoked
	Scopes      []string `json:"scopes"`
	CreatedAtMs int64    `json:"createdAtMs"`
	RotatedAtMs int64    `json:"rotatedAtMs,omitempty"`
	RevokedAtMs int64    `json:"revokedAtMs,omitempty"`
}

// upgrade moves a legacy single token into Tokens, one per role (the same
// token, as before).
func (r *Record) upgrade() {
	if r.Tokens == nil {
		r.Tokens = map[string]*RoleToken{}
	}
	if r.Token == "" {
		return
	}
	for _, role := range r.Roles {
		if r.Tokens[role] == nil {
			scopes := []string{}
			if role == "operator" {
				scopes = append(scopes, r.Scopes...)
			}
			r.Tokens[role] = &RoleToken{Token: r.Token, Scopes: scopes, CreatedAtMs: r.TokenIssuedAtMs}
		}
	}
	r.Token, r.TokenIssuedAtMs = "", 0
}

// file is the legacy devices/paired.json.
type file struct {
	Version int                `json:"version"`
	Devices map[string]*Record `json:"devices"`
}

// ns is the state-database namespace of the paired devices: one row per
// device, keyed by its id.
const ns = "devices"

// loadTimeout bounds reading (and migrating) the paired devices at start.
const loadTimeout = 30 * time.Second

// loadStore reads the paired devices from the state database. Devices an
// older version kept in devices/paired.json are moved into the database the
// first time (the file is then renamed paired.json.migrated).
func loadStore(st store.Store, legacyPath string) (map[string]*Record, error) {
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	rows, err := st.Scan(ctx, ns)
	if err != nil {
		return nil, err
	}
	devs := make(map[string]*Record, len(rows))
	var bad error
	for id, raw := range rows {
		var r Record
		if err := json.Unmarshal(raw, &r); err != nil {
			bad = fmt.Errorf("device %s: %v (it must pair again)", id, err)
			continue
		}
		r.upgrade()
		devs[id] = &r
	}
	legacy, err := loadFile(legacyPath)
	if err != nil || len(legacy) == 0 {
		return devs, errors.Join(bad, err)
	}
	items := make([]store.KV, 0, len(legacy))
	for id, r := range legacy {
		if _, have := devs[id]; have {
			continue // the database is newer
		}
		b, err := json.Marshal(r)
		if err != nil {
			return devs, err
		}
		items = append(items, store.KV{NS: ns, Key: id, Value: b})
		r.upgrade()
		devs[id] = r
	}
	if err := st.PutMany(ctx, items); err != nil {
		// Still in memory and still in the file: the next start tries again.
		return devs, fmt.Errorf("moving %s into the state database: %w", legacyPath, err)
	}
	if err := os.Rename(legacyPath, legacyPath+".migrated"); err != nil {
		return devs, err
	}
	return devs, bad
}

// loadFile reads the legacy paired-device file; a missing file is empty.
func loadFile(path string) (map[string]*Record, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]*Record{}, nil
	}
	if err != nil {
		return nil, err
	}
	var f file
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %v (move it aside to start with no paired devices)", path, err)
	}
	if f.Devices == nil {
		f.Devices = map[string]*Record{}
	}
	return f.Devices, nil
}

// identityKey is where the gateway's own device key lives (namespace identityNS).
const identityKey = "gateway.identity"

// loadIdentity reads the gateway's own device identity, making and saving
// one at the first start: it must not change across restarts, since peers
// remember it.
func loadIdentity(st store.Store) (auth.Identity, error) {
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	if raw, ok, err := st.Get(ctx, identityNS, identityKey); err != nil {
		return auth.Identity{}, err
	} else if ok && len(raw) == ed25519.PrivateKeySize {
		return auth.IdentityFromPrivate(ed25519.PrivateKey(raw)), nil
	}
	id := auth.NewIdentity()
	return id, st.Put(ctx, identityNS, identityKey, id.Private)
}

// identityNS is kept apart from the paired devices' namespace, which is
// scanned as device records.
const identityNS = "gateway"

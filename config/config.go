// Package config loads the gateway's JSON5 configuration file and resolves the
// paths, profile and port it runs with (PROTOCOL.md §9).
//
// The file is the one people edit by hand; everything the gateway writes by
// itself goes to the state directory instead.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/titanous/json5"
)

// Config is the whole openclaw.json. Sections the gateway core does not use
// yet are kept as raw JSON so that a reference config loads unchanged.
type Config struct {
	Gateway    Gateway         `json:"gateway"`
	CanvasHost json.RawMessage `json:"canvasHost,omitempty"`
	Agents     json.RawMessage `json:"agents,omitempty"`
	Models     json.RawMessage `json:"models,omitempty"`
	Channels   json.RawMessage `json:"channels,omitempty"`
	Commands   json.RawMessage `json:"commands,omitempty"`
	// Meta and Wizard are written by the reference's own tools; accepted
	// and ignored so their files load.
	Meta   json.RawMessage `json:"meta,omitempty"`
	Wizard json.RawMessage `json:"wizard,omitempty"`
}

// Gateway is the gateway section.
type Gateway struct {
	// Mode is "local" or "remote"; the reference will not start without
	// "local" unless --allow-unconfigured. Accepted so reference configs load.
	Mode string `json:"mode,omitempty"`
	// Port is the one TCP port for WebSocket and HTTP (default 18789).
	Port int `json:"port,omitempty"`
	// Bind is loopback (default), lan (0.0.0.0) or custom (CustomBindHost).
	Bind           string `json:"bind,omitempty"`
	CustomBindHost string `json:"customBindHost,omitempty"`
	Auth           Auth   `json:"auth"`
	// Reload, HTTP, Tools and Nodes belong to later parts of the gateway;
	// their keys are accepted now so that configs written for them load.
	Reload json.RawMessage `json:"reload,omitempty"`
	HTTP   json.RawMessage `json:"http,omitempty"`
	Tools  json.RawMessage `json:"tools,omitempty"`
	Nodes  Nodes           `json:"nodes"`
	// Limits overrides the transport limits of PROTOCOL.md §1 (an openclaw-go
	// extension; the reference takes some of them from environment variables).
	Limits Limits `json:"limits"`
}

// Auth is gateway.auth.
type Auth struct {
	// Mode is token (default), password or none.
	Mode string `json:"mode,omitempty"`
	// Token and Password are the shared secrets; when set here they win over
	// OPENCLAW_GATEWAY_TOKEN / OPENCLAW_GATEWAY_PASSWORD. Set but blank is
	// an error, not "unset".
	Token    *string `json:"token,omitempty"`
	Password *string `json:"password,omitempty"`
	// RateLimit bounds failed attempts per client IP.
	RateLimit *RateLimit `json:"rateLimit,omitempty"`
}

// RateLimit is gateway.auth.rateLimit.
type RateLimit struct {
	MaxAttempts    *int  `json:"maxAttempts,omitempty"`
	WindowMs       *int  `json:"windowMs,omitempty"`
	LockoutMs      *int  `json:"lockoutMs,omitempty"`
	ExemptLoopback *bool `json:"exemptLoopback,omitempty"`
}

// Nodes is gateway.nodes.
type Nodes struct {
	Pairing struct {
		// AutoApproveLocal pairs a verified device on a loopback connection
		// without asking (default true).
		AutoApproveLocal *bool `json:"autoApproveLocal,omitempty"`
	} `json:"pairing"`
}

// Limits is gateway.limits; zero means the default.
type Limits struct {
	PreAuthMaxFrameBytes int `json:"preAuthMaxFrameBytes,omitempty"`
	MaxPayloadBytes      int `json:"maxPayloadBytes,omitempty"`
	MaxBufferedBytes     int `json:"maxBufferedBytes,omitempty"`
	TickIntervalMs       int `json:"tickIntervalMs,omitempty"`
	HandshakeTimeoutMs   int `json:"handshakeTimeoutMs,omitempty"`
	MaxPreAuthPerIP      int `json:"maxPreAuthPerIP,omitempty"`
	MaxPendingFrames     int `json:"maxPendingFrames,omitempty"`
	PingIntervalMs       int `json:"pingIntervalMs,omitempty"`
	PresenceTTLMs        int `json:"presenceTtlMs,omitempty"`
	HealthBroadcastMs    int `json:"healthBroadcastMs,omitempty"`
}

// Parse decodes JSON5 text. Unknown keys are an error that names the key and
// the file.
func Parse(name string, data []byte) (*Config, error) {
	var generic any
	if err := json5.Unmarshal(data, &generic); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON5: %v", name, err)
	}
	if generic == nil {
		return &Config{}, nil
	}
	if _, ok := generic.(map[string]any); !ok {
		return nil, fmt.Errorf("%s: the top level must be an object", name)
	}
	plain, err := json.Marshal(generic)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(plain))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		msg := err.Error()
		if k, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
			return nil, fmt.Errorf("%s: unknown config key %s", name, k)
		}
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(msg, "json: "))
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

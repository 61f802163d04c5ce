package config

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestResolveProfile(t *testing.T) {
	tests := []struct {
		dev     bool
		name    string
		want    Profile
		wantErr string // substring; "" means no error
	}{
		{dev: false, name: "", want: Profile{}},
		{dev: false, name: "default", want: Profile{}},
		{dev: true, name: "", want: Profile{Name: "dev", Dev: true}},
		// --dev with a --profile that says the same thing is not a conflict.
		{dev: true, name: "dev", want: Profile{Name: "dev", Dev: true}},
		{dev: true, name: "default", want: Profile{Name: "dev", Dev: true}},
		// --profile dev is the dev profile, with its port default.
		{dev: false, name: "dev", want: Profile{Name: "dev", Dev: true}},
		{dev: false, name: "work", want: Profile{Name: "work"}},
		{dev: false, name: "a", want: Profile{Name: "a"}},
		{dev: false, name: "0-team_b", want: Profile{Name: "0-team_b"}},
		{dev: false, name: strings.Repeat("p", 64), want: Profile{Name: strings.Repeat("p", 64)}},

		{dev: true, name: "work", wantErr: "--dev and --profile work disagree"},
		{dev: false, name: strings.Repeat("p", 65), wantErr: "invalid profile name"},
		{dev: false, name: "Work", wantErr: `invalid profile name "Work"`},
		{dev: false, name: "-work", wantErr: "invalid profile name"},
		{dev: false, name: "_work", wantErr: "invalid profile name"},
		// Names become part of a directory name: nothing that could walk
		// out of the home directory or need quoting.
		{dev: false, name: "../etc", wantErr: "invalid profile name"},
		{dev: false, name: "a/b", wantErr: "invalid profile name"},
		{dev: false, name: "a b", wantErr: "invalid profile name"},
		{dev: false, name: "a.b", wantErr: "invalid profile name"},
		{dev: false, name: "work\n", wantErr: "invalid profile name"},
	}
	for _, tt := range tests {
		got, err := ResolveProfile(tt.dev, tt.name)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ResolveProfile(%v, %q) = %+v, %v; want error containing %q", tt.dev, tt.name, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ResolveProfile(%v, %q) = %+v, %v; want %+v", tt.dev, tt.name, got, err, tt.want)
		}
	}
}

func TestResolvePaths(t *testing.T) {
	home := t.TempDir()
	tests := []struct {
		name       string
		profile    Profile
		stateEnv   string
		configEnv  string
		wantState  string
		wantConfig string
	}{
		{
			name:       "default",
			wantState:  filepath.Join(home, ".openclaw"),
			wantConfig: filepath.Join(home, ".openclaw", "openclaw.json"),
		},
		{
			name:       "dev",
			profile:    Profile{Name: "dev", Dev: true},
			wantState:  filepath.Join(home, ".openclaw-dev"),
			wantConfig: filepath.Join(home, ".openclaw-dev", "openclaw.json"),
		},
		{
			name:       "named profile",
			profile:    Profile{Name: "work"},
			wantState:  filepath.Join(home, ".openclaw-work"),
			wantConfig: filepath.Join(home, ".openclaw-work", "openclaw.json"),
		},
		{
			// The state dir override wins over the profile, and the
			// config follows it.
			name:       "state dir env",
			profile:    Profile{Name: "work"},
			stateEnv:   "/srv/openclaw/state",
			wantState:  "/srv/openclaw/state",
			wantConfig: filepath.Join("/srv/openclaw/state", "openclaw.json"),
		},
		{
			name:       "config path env",
			configEnv:  "/etc/openclaw/gw.json",
			wantState:  filepath.Join(home, ".openclaw"),
			wantConfig: "/etc/openclaw/gw.json",
		},
		{
			// The runbook's dev example: both set, independently.
			name:       "both env",
			profile:    Profile{Name: "dev", Dev: true},
			stateEnv:   "/tmp/oc-state",
			configEnv:  "/tmp/oc-config/openclaw.json",
			wantState:  "/tmp/oc-state",
			wantConfig: "/tmp/oc-config/openclaw.json",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HOME", home)
			t.Setenv("OPENCLAW_STATE_DIR", tt.stateEnv)
			t.Setenv("OPENCLAW_CONFIG_PATH", tt.configEnv)
			got, err := ResolvePaths(tt.profile)
			if err != nil {
				t.Fatal(err)
			}
			if got.StateDir != tt.wantState || got.ConfigPath != tt.wantConfig {
				t.Fatalf("ResolvePaths(%+v) = %+v, want {%s %s}", tt.profile, got, tt.wantState, tt.wantConfig)
			}
		})
	}
}

// Without HOME there is no default state dir; the error says how to fix it,
// and OPENCLAW_STATE_DIR alone is enough.
func TestResolvePathsNoHome(t *testing.T) {
	t.Setenv("HOME", "")
	t.Setenv("OPENCLAW_STATE_DIR", "")
	t.Setenv("OPENCLAW_CONFIG_PATH", "")
	if _, err := ResolvePaths(Profile{}); err == nil || !strings.Contains(err.Error(), "OPENCLAW_STATE_DIR") {
		t.Fatalf("ResolvePaths without HOME: err = %v, want one mentioning OPENCLAW_STATE_DIR", err)
	}
	t.Setenv("OPENCLAW_STATE_DIR", "/var/lib/openclaw")
	got, err := ResolvePaths(Profile{})
	if err != nil || got.StateDir != "/var/lib/openclaw" {
		t.Fatalf("ResolvePaths with only OPENCLAW_STATE_DIR = %+v, %v", got, err)
	}
}

func TestResolvePort(t *testing.T) {
	withPort := func(p int) *Config { return &Config{Gateway: Gateway{Port: p}} }
	dev := Profile{Name: "dev", Dev: true}
	tests := []struct {
		name       string
		flag       int
		env        string
		cfg        *Config
		profile    Profile
		wantPort   int
		wantSource PortSource
		wantErr    string // substring; "" means no error
	}{
		{name: "default", wantPort: 18789, wantSource: "default"},
		{name: "default with empty config", cfg: &Config{}, wantPort: 18789, wantSource: "default"},
		{name: "dev default", profile: dev, wantPort: 19001, wantSource: "default"},
		{name: "named profile default", profile: Profile{Name: "work"}, wantPort: 18789, wantSource: "default"},
		{name: "config", cfg: withPort(18800), wantPort: 18800, wantSource: "config"},
		// "port 19001 unless set": a configured port wins over the dev default.
		{name: "config over dev default", cfg: withPort(18800), profile: dev, wantPort: 18800, wantSource: "config"},
		{name: "env over config", env: "18900", cfg: withPort(18800), wantPort: 18900, wantSource: "env"},
		{name: "env over dev default", env: "18900", profile: dev, wantPort: 18900, wantSource: "env"},
		{name: "flag over env and config", flag: 19999, env: "18900", cfg: withPort(18800), profile: dev, wantPort: 19999, wantSource: "flag"},
		{name: "flag alone", flag: 1, wantPort: 1, wantSource: "flag"},
		{name: "max port", env: "65535", wantPort: 65535, wantSource: "env"},

		{name: "env not a number", env: "eighteen", cfg: withPort(18800), wantErr: `OPENCLAW_GATEWAY_PORT="eighteen" is not a port number`},
		{name: "env with spaces", env: " 18900", wantErr: "OPENCLAW_GATEWAY_PORT"},
		{name: "env fractional", env: "18900.5", wantErr: "OPENCLAW_GATEWAY_PORT"},
		{name: "env zero", env: "0", wantErr: "OPENCLAW_GATEWAY_PORT=0 is not a port (1-65535)"},
		{name: "env too big", env: "65536", wantErr: "OPENCLAW_GATEWAY_PORT=65536 is not a port (1-65535)"},
		{name: "env negative", env: "-1", wantErr: "OPENCLAW_GATEWAY_PORT=-1 is not a port"},
		{name: "flag too big", flag: 70000, wantErr: "--port=70000 is not a port (1-65535)"},
		{name: "flag negative", flag: -5, wantErr: "--port=-5 is not a port"},
		// A bad flag is an error even when a good env value is there to fall
		// back on: the user asked for that port.
		{name: "bad flag good env", flag: 99999, env: "18900", wantErr: "--port=99999"},
		{name: "config too big", cfg: withPort(100000), wantErr: "gateway.port=100000 is not a port (1-65535)"},
		{name: "config negative", cfg: withPort(-1), wantErr: "gateway.port=-1 is not a port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("OPENCLAW_GATEWAY_PORT", tt.env)
			port, source, err := ResolvePort(tt.flag, tt.cfg, tt.profile)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ResolvePort = %d, %q, %v; want error containing %q", port, source, err, tt.wantErr)
				}
				return
			}
			if err != nil || port != tt.wantPort || source != tt.wantSource {
				t.Fatalf("ResolvePort = %d, %q, %v; want %d, %q", port, source, err, tt.wantPort, tt.wantSource)
			}
		})
	}
}

func TestBindHosts(t *testing.T) {
	bind := func(b, host string) *Config {
		return &Config{Gateway: Gateway{Bind: b, CustomBindHost: host}}
	}
	tests := []struct {
		name    string
		cfg     *Config
		want    []string
		wantErr string
	}{
		// Loopback is the default, on both families.
		{name: "no config", cfg: nil, want: []string{"127.0.0.1", "::1"}},
		{name: "unset", cfg: &Config{}, want: []string{"127.0.0.1", "::1"}},
		{name: "loopback", cfg: bind("loopback", ""), want: []string{"127.0.0.1", "::1"}},
		// customBindHost only matters for custom.
		{name: "loopback ignores custom host", cfg: bind("loopback", "10.0.0.2"), want: []string{"127.0.0.1", "::1"}},
		{name: "lan", cfg: bind("lan", ""), want: []string{"0.0.0.0"}},
		{name: "custom", cfg: bind("custom", "192.168.1.20"), want: []string{"192.168.1.20"}},
		{name: "custom ipv6", cfg: bind("custom", "fd00::2"), want: []string{"fd00::2"}},
		{name: "custom without host", cfg: bind("custom", ""), wantErr: "gateway.bind is custom but gateway.customBindHost is empty"},
		{name: "unknown", cfg: bind("public", ""), wantErr: `gateway.bind="public": use loopback, lan or custom`},
		// Values are exact: no case folding, so a typo is caught rather
		// than half-understood.
		{name: "wrong case", cfg: bind("LAN", ""), wantErr: `gateway.bind="LAN"`},
		{name: "an address is not a mode", cfg: bind("0.0.0.0", ""), wantErr: `gateway.bind="0.0.0.0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BindHosts(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("BindHosts = %v, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("BindHosts = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// The reference-style fixture binds loopback on the default port: the
// out-of-the-box gateway is not reachable from the network.
func TestReferenceConfigResolves(t *testing.T) {
	t.Setenv("OPENCLAW_GATEWAY_PORT", "")
	c := loadFixture(t, "reference.json5")
	port, source, err := ResolvePort(0, c, Profile{})
	if err != nil || port != 18789 || source != "config" {
		t.Fatalf("ResolvePort = %d, %q, %v; want 18789 from config", port, source, err)
	}
	hosts, err := BindHosts(c)
	if err != nil || !slices.Equal(hosts, []string{"127.0.0.1", "::1"}) {
		t.Fatalf("BindHosts = %v, %v", hosts, err)
	}
	c = loadFixture(t, "json5-syntax.json5")
	if hosts, err := BindHosts(c); err != nil || !slices.Equal(hosts, []string{"192.168.1.20"}) {
		t.Fatalf("BindHosts(custom fixture) = %v, %v", hosts, err)
	}
}

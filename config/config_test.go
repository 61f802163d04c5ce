package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseJSON5Syntax(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want Gateway // only Mode, Port, Bind are compared
	}{
		{"plain JSON", `{"gateway":{"mode":"local","port":18789}}`, Gateway{Mode: "local", Port: 18789}},
		{"line comment", "// header\n{\"gateway\":{\"mode\":\"local\"} // trailing\n}", Gateway{Mode: "local"}},
		{"block comment", "{/* a */\"gateway\":/* b */{\"port\":1}}", Gateway{Port: 1}},
		{"trailing commas", `{"gateway":{"mode":"local","port":2,},}`, Gateway{Mode: "local", Port: 2}},
		{"unquoted keys", `{gateway:{mode:"remote",bind:"lan"}}`, Gateway{Mode: "remote", Bind: "lan"}},
		{"single quotes", `{'gateway':{'bind':'loopback'}}`, Gateway{Bind: "loopback"}},
		{"everything", "{\n  // c\n  gateway: {\n    mode: 'local', /* c */\n    port: 19005,\n  },\n}\n", Gateway{Mode: "local", Port: 19005}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("openclaw.json", []byte(tt.src))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			g := c.Gateway
			if g.Mode != tt.want.Mode || g.Port != tt.want.Port || g.Bind != tt.want.Bind {
				t.Fatalf("gateway = {mode %q port %d bind %q}, want {mode %q port %d bind %q}",
					g.Mode, g.Port, g.Bind, tt.want.Mode, tt.want.Port, tt.want.Bind)
			}
		})
	}
}

func TestParseJSON5Fixture(t *testing.T) {
	c := loadFixture(t, "json5-syntax.json5")
	g := c.Gateway
	if g.Mode != "local" || g.Bind != "custom" || g.CustomBindHost != "192.168.1.20" {
		t.Errorf("gateway = %+v", g)
	}
	// 0x4A3D: JSON5 allows hex numbers.
	if g.Port != 19005 {
		t.Errorf("port = %d, want 19005 (0x4A3D)", g.Port)
	}
	if g.Auth.Mode != "password" || g.Auth.Password == nil || *g.Auth.Password != `it's a "quoted" pass` {
		t.Errorf("auth = mode %q password %v", g.Auth.Mode, g.Auth.Password)
	}
	if g.Auth.Token != nil {
		t.Errorf("auth.token = %q, want unset", *g.Auth.Token)
	}
}

// A config written by the reference's tools must load unchanged: every key
// it has is either used or deliberately kept.
func TestParseReferenceConfig(t *testing.T) {
	c := loadFixture(t, "reference.json5")
	g := c.Gateway
	if g.Mode != "local" || g.Port != 18789 || g.Bind != "loopback" {
		t.Errorf("gateway = mode %q port %d bind %q", g.Mode, g.Port, g.Bind)
	}
	if g.Auth.Mode != "token" || g.Auth.Token == nil || *g.Auth.Token != "3f9c1d7be2a04c58a1e6b0d4f7c2e9a85b1d3c6e0f2a4b7c" {
		t.Errorf("auth = mode %q token %v", g.Auth.Mode, g.Auth.Token)
	}
	if g.Auth.Password != nil {
		t.Errorf("auth.password = %q, want unset", *g.Auth.Password)
	}
	rl := g.Auth.RateLimit
	if rl == nil || rl.MaxAttempts == nil || *rl.MaxAttempts != 10 || rl.WindowMs == nil || *rl.WindowMs != 60000 ||
		rl.LockoutMs == nil || *rl.LockoutMs != 300000 || rl.ExemptLoopback == nil || !*rl.ExemptLoopback {
		t.Errorf("auth.rateLimit = %+v", rl)
	}
	if p := g.Nodes.Pairing.AutoApproveLocal; p == nil || !*p {
		t.Errorf("nodes.pairing.autoApproveLocal = %v, want true", p)
	}

	// The sections the gateway core does not own are typed too, with the
	// content they were written with.
	a := c.Agents
	if a.Defaults.Workspace != "~/.openclaw/workspace" || a.Defaults.Model.Primary != "local/qwen2.5-7b-instruct" ||
		a.Defaults.TimeoutSeconds != 600 || len(a.List) != 2 || a.List[0].ID != "main" || !a.List[0].Default ||
		a.List[1].ID != "ops" || a.List[1].Name != "Ops" || a.List[1].Workspace != "~/.openclaw/workspace-ops" {
		t.Errorf("agents = %+v", a)
	}

	local, ok := c.Models.Providers["local"]
	if !ok || local.BaseURL != "http://127.0.0.1:8080/v1" || local.API != "openai-completions" || local.APIKey != "sk-local" ||
		len(local.Models) != 1 || local.Models[0].ID != "qwen2.5-7b-instruct" || local.Models[0].Name != "Qwen 2.5 7B" ||
		local.Models[0].ContextWindow != 32768 || local.Models[0].MaxTokens != 4096 {
		t.Errorf("models = %+v", c.Models)
	}

	tg := c.Channels.Telegram
	if tg == nil {
		t.Fatal("channels.telegram missing")
	}
	if tg.Enabled == nil || !*tg.Enabled || tg.BotToken != "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11" ||
		len(tg.AllowFrom) != 1 || tg.AllowFrom[0] != "123456789" || tg.TextChunkLimit != 4000 ||
		tg.DmPolicy != "pairing" || tg.GroupPolicy != "allowlist" || tg.Streaming != "partial" ||
		len(tg.Accounts) != 1 || tg.Accounts["alerts"].BotToken != "654321:XYZ" || tg.Accounts["alerts"].DmPolicy != "allowlist" {
		t.Errorf("channels.telegram = %+v", tg)
	}

	if !c.CanvasHost.IsEnabled() || c.CanvasHost.Port != 18793 || c.CanvasHost.Root != "~/.openclaw/canvas" {
		t.Errorf("canvasHost = %+v", c.CanvasHost)
	}
	if cmd := c.CommandsSection(); cmd.Restart == nil || !*cmd.Restart {
		t.Errorf("commands = %+v, want restart true", c.Commands)
	}
	if g.Reload.Mode != "hybrid" || !g.HTTP.Endpoints.ChatCompletions.Enabled || g.HTTP.Endpoints.Responses.Enabled ||
		len(g.Tools.Allow) != 2 || g.Tools.Allow[1] != "write" || len(g.Tools.Deny) != 0 {
		t.Errorf("gateway reload/http/tools = %+v / %+v / %+v", g.Reload, g.HTTP, g.Tools)
	}

	// meta and wizard are kept as plain JSON with their content.
	var meta struct {
		LastTouchedVersion string `json:"lastTouchedVersion"`
	}
	mustUnmarshal(t, "meta", c.Meta, &meta)
	var wizard struct {
		LastRunCommand string `json:"lastRunCommand"`
	}
	mustUnmarshal(t, "wizard", c.Wizard, &wizard)
	if meta.LastTouchedVersion != "2026.9.6" || wizard.LastRunCommand != "onboard" {
		t.Errorf("meta = %s, wizard = %s", c.Meta, c.Wizard)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    string // fixture, or "" to use src
		src     string
		wantErr []string // all must appear in the error
	}{
		{
			name:    "unknown top-level key",
			file:    "unknown-top.json5",
			wantErr: []string{"unknown-top.json5:4: unknown config key chanels"},
		},
		{
			name:    "unknown nested key",
			file:    "unknown-nested.json5",
			wantErr: []string{"unknown-nested.json5:5: unknown config key gateway.auth.tokn"},
		},
		{
			name:    "unknown key in gateway",
			src:     `{gateway:{prot:1}}`,
			wantErr: []string{"/etc/openclaw.json:1: unknown config key gateway.prot"},
		},
		{
			name:    "not JSON5",
			file:    "not-json5.json5",
			wantErr: []string{"not-json5.json5:3: invalid JSON5: invalid character 'a' after object key:value pair"},
		},
		{
			name:    "JSON5 error on a later line",
			src:     "{\n  gateway: {\n    port: 1,,\n  },\n}",
			wantErr: []string{"/etc/openclaw.json:3: invalid JSON5"},
		},
		{
			name:    "truncated",
			src:     "{\n  gateway: {\n",
			wantErr: []string{"/etc/openclaw.json:3: invalid JSON5: unexpected end of JSON input"},
		},
		{
			name:    "top level array",
			src:     `[{"gateway":{}}]`,
			wantErr: []string{"/etc/openclaw.json: the top level must be an object"},
		},
		{
			name:    "top level string",
			src:     `"gateway"`,
			wantErr: []string{"the top level must be an object"},
		},
		{
			// A wrong type is reported with the file, not as a bare Go
			// error: people fix these by hand.
			name:    "port as string",
			src:     `{gateway:{port:"18789"}}`,
			wantErr: []string{"/etc/openclaw.json:1: gateway.port: expected a number, got a string"},
		},
		{
			name:    "fractional port",
			src:     `{gateway:{port:1.5}}`,
			wantErr: []string{"/etc/openclaw.json:1: gateway.port: expected a whole number"},
		},
		{
			name:    "token not a string",
			src:     `{gateway:{auth:{token:123}}}`,
			wantErr: []string{"/etc/openclaw.json:1: gateway.auth.token: expected a string, got a number"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, src := "/etc/openclaw.json", []byte(tt.src)
			if tt.file != "" {
				name = filepath.Join("testdata", tt.file)
				var err error
				if src, err = os.ReadFile(name); err != nil {
					t.Fatal(err)
				}
			}
			c, err := Parse(name, src)
			if err == nil {
				t.Fatalf("Parse succeeded with %+v, want an error", c)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			// One line: it is printed as the gateway's last words.
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			if strings.Contains(err.Error(), name+": json: ") {
				t.Errorf("error leaks the decoder's prefix: %q", err)
			}
		})
	}
}

// A blank secret is kept as "set to empty", not dropped as if unset: startup
// must reject it (docs/PROTOCOL.md §3.3) rather than fall back to the environment.
func TestParseBlankTokenIsSet(t *testing.T) {
	c, err := Parse("openclaw.json", []byte(`{gateway:{auth:{token:""}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Gateway.Auth.Token == nil || *c.Gateway.Auth.Token != "" {
		t.Fatalf("auth.token = %v, want a pointer to \"\"", c.Gateway.Auth.Token)
	}
}

func TestParseEmptyDocument(t *testing.T) {
	for _, src := range []string{`{}`, `null`, "// nothing but a comment\n{}"} {
		c, err := Parse("openclaw.json", []byte(src))
		if err != nil {
			t.Errorf("Parse(%q): %v", src, err)
			continue
		}
		if c == nil || c.Gateway.Mode != "" || c.Gateway.Port != 0 || c.Gateway.Auth.Token != nil {
			t.Errorf("Parse(%q) = %+v, want the zero config", src, c)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()

	// A missing file is not an error: the caller decides.
	c, err := Load(filepath.Join(dir, "missing.json"))
	if c != nil || err != nil {
		t.Fatalf("Load(missing) = %v, %v; want nil, nil", c, err)
	}

	path := filepath.Join(dir, "openclaw.json")
	if err := os.WriteFile(path, []byte(`{gateway:{port:18790}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = Load(path)
	if err != nil || c == nil || c.Gateway.Port != 18790 {
		t.Fatalf("Load = %+v, %v; want port 18790", c, err)
	}

	// Errors name the path the file was loaded from.
	if err := os.WriteFile(path, []byte(`{gatway:{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	want := path + ":1: unknown config key gatway (did you mean gateway?)"
	if _, err := Load(path); err == nil || err.Error() != want {
		t.Fatalf("Load(unknown key) = %v, want %q", err, want)
	}

	// A path that exists but is not a readable file is an error, not
	// "missing".
	if _, err := Load(dir); err == nil {
		t.Fatal("Load(a directory) succeeded")
	}
}

func loadFixture(t *testing.T, name string) *Config {
	t.Helper()
	c, err := Load(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("Load(%s): %v", name, err)
	}
	if c == nil {
		t.Fatalf("Load(%s) found no file", name)
	}
	return c
}

func mustUnmarshal(t *testing.T, what string, raw json.RawMessage, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s is not the JSON it was written as: %v (%s)", what, err, raw)
	}
}

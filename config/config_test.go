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

	// The raw sections keep their content, converted to plain JSON, so the
	// parts of the gateway that own them can decode them later.
	var agents struct {
		Defaults struct {
			Workspace string `json:"workspace"`
			Model     struct {
				Primary string `json:"primary"`
			} `json:"model"`
			TimeoutSeconds int `json:"timeoutSeconds"`
		} `json:"defaults"`
		List []struct {
			ID string `json:"id"`
		} `json:"list"`
	}
	mustUnmarshal(t, "agents", c.Agents, &agents)
	if agents.Defaults.Model.Primary != "local/qwen2.5-7b-instruct" || agents.Defaults.TimeoutSeconds != 600 ||
		len(agents.List) != 2 || agents.List[1].ID != "ops" {
		t.Errorf("agents = %+v", agents)
	}

	var models struct {
		Providers map[string]struct {
			BaseURL string `json:"baseUrl"`
			API     string `json:"api"`
			Models  []struct {
				ID, Name      string
				ContextWindow int `json:"contextWindow"`
			} `json:"models"`
		} `json:"providers"`
	}
	mustUnmarshal(t, "models", c.Models, &models)
	local, ok := models.Providers["local"]
	if !ok || local.BaseURL != "http://127.0.0.1:8080/v1" || local.API != "openai-completions" ||
		len(local.Models) != 1 || local.Models[0].Name != "Qwen 2.5 7B" || local.Models[0].ContextWindow != 32768 {
		t.Errorf("models = %+v", models)
	}

	var channels struct {
		Telegram struct {
			Enabled        bool     `json:"enabled"`
			BotToken       string   `json:"botToken"`
			AllowFrom      []string `json:"allowFrom"`
			TextChunkLimit int      `json:"textChunkLimit"`
			Accounts       map[string]struct {
				BotToken string `json:"botToken"`
			} `json:"accounts"`
		} `json:"telegram"`
	}
	mustUnmarshal(t, "channels", c.Channels, &channels)
	tg := channels.Telegram
	if !tg.Enabled || tg.BotToken != "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11" || len(tg.AllowFrom) != 1 ||
		tg.TextChunkLimit != 4000 || tg.Accounts["alerts"].BotToken != "654321:XYZ" {
		t.Errorf("channels = %+v", channels)
	}

	for name, raw := range map[string]json.RawMessage{
		"meta": c.Meta, "wizard": c.Wizard, "canvasHost": c.CanvasHost, "commands": c.Commands,
		"gateway.reload": g.Reload, "gateway.http": g.HTTP, "gateway.tools": g.Tools,
	} {
		if !json.Valid(raw) || len(raw) < 2 {
			t.Errorf("%s = %q, want the section as JSON", name, raw)
		}
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
			wantErr: []string{"unknown-top.json5", "unknown config key", `"chanels"`},
		},
		{
			name:    "unknown nested key",
			file:    "unknown-nested.json5",
			wantErr: []string{"unknown-nested.json5", "unknown config key", `"tokn"`},
		},
		{
			name:    "unknown key in gateway",
			src:     `{gateway:{prot:1}}`,
			wantErr: []string{"/etc/openclaw.json:", "unknown config key", `"prot"`},
		},
		{
			name:    "not JSON5",
			file:    "not-json5.json5",
			wantErr: []string{"not-json5.json5", "invalid JSON5"},
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
			wantErr: []string{"/etc/openclaw.json:", "port"},
		},
		{
			name:    "fractional port",
			src:     `{gateway:{port:1.5}}`,
			wantErr: []string{"/etc/openclaw.json:", "port"},
		},
		{
			name:    "token not a string",
			src:     `{gateway:{auth:{token:123}}}`,
			wantErr: []string{"/etc/openclaw.json:", "token"},
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
// must reject it (PROTOCOL.md §3.3) rather than fall back to the environment.
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
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `"gatway"`) {
		t.Fatalf("Load(unknown key) = %v, want an error naming %s and \"gatway\"", err, path)
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

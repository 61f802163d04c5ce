package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	if src == "" {
		return nil
	}
	c, err := Parse("test.json5", []byte(src))
	if err != nil {
		t.Fatalf("Parse(%s): %v", src, err)
	}
	return c
}

func TestDiff(t *testing.T) {
	const tg = `{channels: {telegram: {botToken: 'a', accounts: {work: {botToken: 'w'}}}}}`
	tests := []struct {
		name     string
		old, new string // "" is a nil config
		want     []string
	}{
		{"both nil", "", "", nil},
		{"nil and empty", "", "{}", nil},
		{"nil old", "", "{gateway: {port: 1}}", []string{"gateway.port"}},
		{"nil new", "{gateway: {port: 1, bind: 'lan'}}", "", []string{"gateway.bind", "gateway.port"}},
		{"same content, other formatting", "{gateway: {port: 1}, // c\n}", `{"gateway": {"port": 1}}`, nil},
		{"token rotated", "{gateway: {auth: {token: 'a'}}}", "{gateway: {auth: {token: 'b'}}}", []string{"gateway.auth.token"}},
		// Set but blank is not unset.
		{"token blanked", "{gateway: {auth: {token: 'a'}}}", "{gateway: {auth: {token: ''}}}", []string{"gateway.auth.token"}},
		{"token unset vs blank", "{}", "{gateway: {auth: {token: ''}}}", []string{"gateway.auth.token"}},
		// null, absent, empty list and empty object are all "nothing".
		{"null vs absent", "{gateway: {auth: {token: null}}}", "{}", nil},
		{"empty list vs absent", "{gateway: {tools: {deny: []}}}", "{}", nil},
		{"empty object vs absent", "{gateway: {auth: {}, nodes: {pairing: {}}}}", "{}", nil},
		{"explicit false vs absent for a plain bool", "{gateway: {http: {endpoints: {responses: {enabled: false}}}}}", "{}", nil},
		// For a *bool false is a value.
		{"false vs absent for a *bool", "{canvasHost: {enabled: false}}", "{}", []string{"canvasHost.enabled"}},
		{"list element changed", "{agents: {list: [{id: 'a'}, {id: 'b'}]}}", "{agents: {list: [{id: 'a'}, {id: 'b', name: 'B'}]}}", []string{"agents.list"}},
		{"list reordered", "{gateway: {tools: {deny: ['x', 'y']}}}", "{gateway: {tools: {deny: ['y', 'x']}}}", []string{"gateway.tools.deny"}},
		{"numeric and string ids", "{channels: {telegram: {allowFrom: [123]}}}", "{channels: {telegram: {allowFrom: ['123']}}}", nil},
		{"account token", tg, `{channels: {telegram: {botToken: 'a', accounts: {work: {botToken: 'w2'}}}}}`, []string{"channels.telegram.accounts.work.botToken"}},
		{"account added", tg, `{channels: {telegram: {botToken: 'a', accounts: {work: {botToken: 'w'}, home: {botToken: 'h', dmPolicy: 'allowlist'}}}}}`,
			[]string{"channels.telegram.accounts.home.botToken", "channels.telegram.accounts.home.dmPolicy"}},
		{"channel removed", tg, "{}", []string{"channels.telegram.accounts.work.botToken", "channels.telegram.botToken"}},
		{"provider model list", "{models: {providers: {p: {baseUrl: 'http://h', models: [{id: 'm', name: 'M'}]}}}}",
			"{models: {providers: {p: {baseUrl: 'http://h', models: [{id: 'm', name: 'M2'}]}}}}", []string{"models.providers.p.models"}},
		{"meta", "{meta: {at: 1, v: 'x'}}", "{meta: {at: 2, v: 'x'}}", []string{"meta.at"}},
		{"empty raw list vs absent", "{meta: {x: [], y: {}, z: null}}", "{meta: {}}", nil},
		{"meta changes type", "{meta: {at: 1}}", "{meta: 'x'}", []string{"meta"}},
		{"commands", "{commands: {restart: true}}", "{commands: {restart: false}}", []string{"commands.restart"}},
		{"several, sorted", "{gateway: {port: 1, auth: {mode: 'token'}}, agents: {defaults: {timeoutSeconds: 1}}}",
			"{gateway: {port: 2, auth: {mode: 'password', password: 'p'}}, agents: {defaults: {timeoutSeconds: 2}}}",
			[]string{"agents.defaults.timeoutSeconds", "gateway.auth.mode", "gateway.auth.password", "gateway.port"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diff(mustParse(t, tt.old), mustParse(t, tt.new))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Diff = %q, want %q", got, tt.want)
			}
			// Symmetric.
			if back := Diff(mustParse(t, tt.new), mustParse(t, tt.old)); !reflect.DeepEqual(back, tt.want) {
				t.Errorf("Diff(new, old) = %q, want %q", back, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	hot := []string{
		"agents.defaults.model.primary", "agents.list", "models.providers.local.apiKey",
		"channels.telegram.accounts.work.botToken", "channels.telegram.dmPolicy",
		"gateway.http.endpoints.responses.enabled", "gateway.tools.deny", "gateway.nodes.commands.allow",
		"gateway.auth.token", "gateway.auth.password", "gateway.auth.rateLimit.maxAttempts",
		"gateway.reload.mode", "gateway.reload.debounceMs", "meta.lastTouchedAt", "wizard.lastRunAt", "wizard",
	}
	restart := []string{
		"gateway.port", "gateway.bind", "gateway.customBindHost", "gateway.auth.mode", "gateway.mode",
		"gateway.limits.maxPayloadBytes", "gateway.nodes.pairing.autoApproveLocal", "gateway.nodes.pairing.autoApproveCommands",
		"canvasHost.enabled", "canvasHost.port", "canvasHost.root", "commands.restart",
		"gateway.cluster.enabled", "gateway.cluster.nats.embedded.routes",
		// Prefixes match whole segments only.
		"gateway.auth.tokenFile", "gateway.httpx", "agentsx.list", "metadata",
		"somethingNew", "",
	}
	for _, p := range hot {
		if plan := Classify([]string{p}); !reflect.DeepEqual(plan.Hot, []string{p}) || plan.Restart != nil || plan.NeedsRestart() {
			t.Errorf("Classify(%q) = %+v, want hot", p, plan)
		}
	}
	for _, p := range restart {
		if plan := Classify([]string{p}); !reflect.DeepEqual(plan.Restart, []string{p}) || plan.Hot != nil || !plan.NeedsRestart() {
			t.Errorf("Classify(%q) = %+v, want restart", p, plan)
		}
	}

	plan := Classify([]string{"gateway.port", "agents.list", "gateway.auth.token", "agents.list", "gateway.bind"})
	want := ReloadPlan{Hot: []string{"agents.list", "gateway.auth.token"}, Restart: []string{"gateway.bind", "gateway.port"}}
	if !reflect.DeepEqual(plan, want) {
		t.Errorf("Classify(mixed) = %+v, want %+v", plan, want)
	}
	if p := Classify(nil); p.NeedsRestart() || len(p.Hot) != 0 {
		t.Errorf("Classify(nil) = %+v", p)
	}
}

// An edit of the full fixture, end to end: what a reload would see.
func TestDiffClassifyFixture(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "full.json5"))
	if err != nil {
		t.Fatal(err)
	}
	old := mustParse(t, string(src))
	edited := strings.NewReplacer(
		`token: "3f9c1d7be2a04c58a1e6b0d4f7c2e9a85b1d3c6e0f2a4b7c"`, `token: "0000000000000000000000000000000000000000000000aa"`,
		`botToken: "222222:WORK-token"`, `botToken: "222222:NEW-token"`,
		`tickIntervalMs: 15000`, `tickIntervalMs: 20000`,
	).Replace(string(src))
	if edited == string(src) {
		t.Fatal("the edit changed nothing")
	}
	plan := Classify(Diff(old, mustParse(t, edited)))
	want := ReloadPlan{
		Hot:     []string{"channels.telegram.accounts.work.botToken", "gateway.auth.token"},
		Restart: []string{"gateway.limits.tickIntervalMs"},
	}
	if !reflect.DeepEqual(plan, want) {
		t.Errorf("plan = %+v, want %+v", plan, want)
	}
}

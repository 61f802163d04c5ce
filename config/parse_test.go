package config

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseFullFixture(t *testing.T) {
	c := loadFixture(t, "full.json5")
	g := c.Gateway
	if g.Mode != "local" || g.Port != 18789 || g.Bind != "lan" || g.Auth.Mode != "token" || g.Auth.Token == nil {
		t.Errorf("gateway = %+v", g)
	}
	if rl := g.Auth.RateLimit; rl == nil || *rl.MaxAttempts != 5 || *rl.WindowMs != 30000 || *rl.LockoutMs != 600000 || *rl.ExemptLoopback {
		t.Errorf("rateLimit = %+v", rl)
	}
	if g.Reload.EffectiveMode() != "hybrid" || g.Reload.Debounce().Milliseconds() != 500 {
		t.Errorf("reload = %+v", g.Reload)
	}
	if !g.HTTP.Endpoints.ChatCompletions.Enabled || !g.HTTP.Endpoints.Responses.Enabled {
		t.Errorf("http = %+v", g.HTTP)
	}
	if !reflect.DeepEqual(g.Tools, Tools{Allow: []string{"sessions_list"}, Deny: []string{"message_send", "nodes_list"}}) {
		t.Errorf("tools = %+v", g.Tools)
	}
	if v := g.Nodes.Pairing.AutoApproveLocal; v == nil || *v {
		t.Errorf("nodes.pairing.autoApproveLocal = %v, want false", v)
	}
	if g.Limits != (Limits{MaxPayloadBytes: 10485760, TickIntervalMs: 15000, PresenceTTLMs: 120000}) {
		t.Errorf("limits = %+v", g.Limits)
	}
	if c.CanvasHost.IsEnabled() || c.CanvasHost.PortFor(18789) != 18800 || c.CanvasHost.Root != "/srv/openclaw/canvas" {
		t.Errorf("canvasHost = %+v", c.CanvasHost)
	}
	if c.RestartEnabled() {
		t.Error("commands.restart = false was read as true")
	}

	a := c.Agents
	if len(a.List) != 3 || a.List[1].Model == nil || a.List[1].Model.Primary != "openrouter/meta-llama/llama-3.1-70b-instruct" ||
		a.List[2].Name != "Research" || a.List[2].Model != nil || a.Defaults.TimeoutSeconds != 900 {
		t.Errorf("agents = %+v", a)
	}
	or := c.Models.Providers["openrouter"]
	if len(c.Models.Providers) != 2 || or.APIKey == "" || len(or.Models) != 1 || or.Models[0].ContextWindow != 131072 ||
		len(c.Models.Providers["local"].Models) != 2 {
		t.Errorf("models = %+v", c.Models)
	}

	tg := c.Channels.Telegram
	if tg == nil || !tg.IsEnabled() || tg.TextChunkLimit != 3500 || tg.APIRoot != "https://api.telegram.org" {
		t.Fatalf("telegram = %+v", tg)
	}
	// Numeric ids are kept as strings.
	if !reflect.DeepEqual([]string(tg.AllowFrom), []string{"123456789", "987654321"}) {
		t.Errorf("allowFrom = %q", tg.AllowFrom)
	}
	work, ok := tg.Account("work")
	if !ok || work.BotToken != "222222:WORK-token" || work.DmPolicy != "open" || work.Streaming != "off" ||
		work.WebhookPort != 8787 || work.WebhookSecret != "whsec-work" ||
		// inherited from the top level
		work.GroupPolicy != "allowlist" || work.TextChunkLimit != 3500 || !work.IsEnabled() {
		t.Errorf("account work = %+v", work)
	}
	alerts, ok := tg.Account("alerts")
	if !ok || alerts.IsEnabled() || alerts.BotToken != "" || alerts.TokenFile != "/run/secrets/telegram-alerts" ||
		alerts.DmPolicy != "allowlist" || len(alerts.AllowFrom) != 2 || alerts.GroupPolicy != "disabled" {
		t.Errorf("account alerts = %+v", alerts)
	}
	if def, ok := tg.Account(DefaultAccountID); !ok || def.BotToken != tg.BotToken {
		t.Errorf("default account = %+v", def)
	}
	if _, ok := tg.Account("nope"); ok {
		t.Error("Account(nope) found an account")
	}
}

func TestParseUnknownKeys(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // the whole error
	}{
		{
			name: "top level",
			src:  "{\n  gateway: {},\n  chanels: {},\n}",
			want: "f.json:3: unknown config key chanels (did you mean channels?)",
		},
		{
			name: "nested",
			src:  "{\n gateway: {\n  auth: {\n   mode: 'token',\n   tokn: 'x',\n  },\n },\n}",
			want: "f.json:5: unknown config key gateway.auth.tokn (did you mean token?)",
		},
		{
			name: "quoted keys",
			src:  "{\"gateway\": {\n'reload': {\n\"mdoe\" : \"off\"}}}",
			want: "f.json:3: unknown config key gateway.reload.mdoe (did you mean mode?)",
		},
		{
			// The same name in two objects: the line is the one inside the
			// object the error is about, not the first in the file.
			name: "repeated name",
			src:  "{\n gateway: {\n  http: { extra: 1 },\n },\n channels: {\n  telegram: {\n   extra: 2,\n  },\n },\n}",
			want: "f.json:7: unknown config key channels.telegram.extra",
		},
		{
			name: "name in a comment and a string before it",
			src:  "{\n // tokn: the old key\n gateway: { mode: 'tokn: no' ,\n  auth: {\n   tokn: 'x' } } }",
			want: "f.json:5: unknown config key gateway.auth.tokn (did you mean token?)",
		},
		{
			name: "in a list element",
			src:  "{agents: {list: [\n {id: 'a'},\n {id: 'b',\n  nmae: 'B'},\n]}}",
			want: "f.json:4: unknown config key agents.list[1].nmae (did you mean name?)",
		},
		{
			name: "in a map value",
			src:  "{models: {providers: {\n local: {baseUrl: 'http://x/v1',\n  apiKye: 'k'}}}}",
			want: "f.json:3: unknown config key models.providers.local.apiKye (did you mean apiKey?)",
		},
		{
			name: "in a telegram account",
			src:  "{channels: {telegram: {accounts: {\n work: {\n  webhookSecrt: 's'}}}}}",
			want: "f.json:3: unknown config key channels.telegram.accounts.work.webhookSecrt (did you mean webhookSecret?)",
		},
		{
			name: "telegram accounts do not nest",
			src:  "{channels: {telegram: {accounts: {\n work: {\n  accounts: {}}}}}}",
			want: "f.json:3: unknown config key channels.telegram.accounts.work.accounts",
		},
		{
			name: "in commands",
			src:  "{\n commands: { restrat: true },\n}",
			want: "f.json:2: unknown config key commands.restrat (did you mean restart?)",
		},
		{
			// encoding/json would match this case-insensitively.
			name: "wrong case",
			src:  "{gateway: {\n Port: 1}}",
			want: "f.json:2: unknown config key gateway.Port (did you mean port?)",
		},
		{
			name: "no close key",
			src:  "{gateway: {limits: {\n frobnicate: 1}}}",
			want: "f.json:2: unknown config key gateway.limits.frobnicate",
		},
		{
			name: "CRLF line ends",
			src:  "{\r\n gateway: {\r\n  bnid: 'lan'}}",
			want: "f.json:3: unknown config key gateway.bnid (did you mean bind?)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("f.json", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded with %+v", c)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q\nwant    %q", err, tt.want)
			}
		})
	}
}

// meta and wizard take anything; their keys are not checked.
func TestParseRawSectionsTakeAnything(t *testing.T) {
	src := `{meta: {anything: [1, {deep: null}], at: "x"}, wizard: "even a string"}`
	c, err := Parse("f.json", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if string(c.Meta) != `{"anything":[1,{"deep":null}],"at":"x"}` || string(c.Wizard) != `"even a string"` {
		t.Errorf("meta = %s, wizard = %s", c.Meta, c.Wizard)
	}
}

func TestParseTypeErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"string for number", "{gateway: {\n port: 'hunter2'}}", "f.json:2: gateway.port: expected a number, got a string"},
		{"fraction", "{gateway: {\n port: 18789.5}}", "f.json:2: gateway.port: expected a whole number, got 18789.5"},
		{"infinity", "{gateway: {\n port: Infinity}}", "f.json:2: gateway.port: expected a whole number, got +Inf"},
		{"out of range", "{gateway: {\n port: 1e30}}", "f.json:2: gateway.port: number out of range"},
		{"object for section", "{\n gateway: []}", "f.json:2: gateway: expected an object, got a list"},
		{"bool", "{channels: {telegram: {\n enabled: 'yes'}}}", "f.json:2: channels.telegram.enabled: expected true or false, got a string"},
		{"list for object", "{agents: {\n list: {}}}", "f.json:2: agents.list: expected a list, got an object"},
		// An element has no key of its own: the line is where it starts.
		{"list element", "{agents: {\n list: [\n 'main']}}", "f.json:3: agents.list[0]: expected an object, got a string"},
		{"null element", "{gateway: {tools: {\n deny: [null]}}}", "f.json:2: gateway.tools.deny[0]: expected a string, got null"},
		{"null map value", "{models: {providers: {\n local: null}}}", "f.json:2: models.providers.local: expected an object, got null"},
		{"fractional id", "{channels: {telegram: {\n allowFrom: [1.5]}}}", "f.json:2: channels.telegram.allowFrom[0]: expected a string or an integer, got a number"},
		{"bool id", "{channels: {telegram: {\n allowFrom: [true]}}}", "f.json:2: channels.telegram.allowFrom[0]: expected a string or an integer, got a boolean"},
		{"ids not a list", "{channels: {telegram: {\n allowFrom: '*'}}}", "f.json:2: channels.telegram.allowFrom: expected a list, got a string"},
		{"secret as number", "{models: {providers: {local: {\n apiKey: 12}}}}", "f.json:2: models.providers.local.apiKey: expected a string, got a number"},
		{"commands", "{commands: {\n restart: 'no'}}", "f.json:2: commands.restart: expected true or false, got a string"},
		{"rate limit", "{gateway: {auth: {rateLimit: {\n maxAttempts: 'ten'}}}}", "f.json:2: gateway.auth.rateLimit.maxAttempts: expected a number, got a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("f.json", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded with %+v", c)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q\nwant    %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error quotes the value: %q", err)
			}
		})
	}
}

// null leaves a key unset, as in JSON.
func TestParseNullIsUnset(t *testing.T) {
	c, err := Parse("f.json", []byte(`{gateway: {port: null, auth: {token: null}}, channels: {telegram: null}, agents: null}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Gateway.Port != 0 || c.Gateway.Auth.Token != nil || c.Channels.Telegram != nil || c.Agents.List != nil {
		t.Errorf("config = %+v", c)
	}
}

func TestParseErrorIsStructured(t *testing.T) {
	_, err := Parse("/x/openclaw.json", []byte("{\n gateway: {\n  bind: 'everywhere'}}"))
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %T %v, want *Error", err, err)
	}
	if e.File != "/x/openclaw.json" || e.Line != 3 || e.Path != "gateway.bind" {
		t.Errorf("error = %+v", e)
	}
}

func TestFromMap(t *testing.T) {
	// The map holds what an RPC decoder may give: json.Number, Go ints.
	m := map[string]any{
		"gateway": map[string]any{
			"port": json.Number("18790"),
			"auth": map[string]any{"token": "t0k3n", "rateLimit": map[string]any{"maxAttempts": 3}},
		},
		"channels": map[string]any{"telegram": map[string]any{"allowFrom": []any{int64(42), "*"}, "dmPolicy": "open"}},
	}
	c, err := FromMap("config.apply", m)
	if err != nil {
		t.Fatal(err)
	}
	if c.Gateway.Port != 18790 || *c.Gateway.Auth.Token != "t0k3n" || *c.Gateway.Auth.RateLimit.MaxAttempts != 3 ||
		!reflect.DeepEqual([]string(c.Channels.Telegram.AllowFrom), []string{"42", "*"}) {
		t.Errorf("config = %+v", c)
	}

	if c, err := FromMap("x", nil); err != nil || c == nil {
		t.Errorf("FromMap(nil) = %v, %v", c, err)
	}

	// The same rules as Parse, without a line.
	for _, tt := range []struct {
		m    map[string]any
		want string
	}{
		{map[string]any{"gateway": map[string]any{"auth": map[string]any{"tokn": "x"}}}, "config.apply: unknown config key gateway.auth.tokn (did you mean token?)"},
		{map[string]any{"gateway": map[string]any{"port": "1"}}, "config.apply: gateway.port: expected a number, got a string"},
		{map[string]any{"gateway": map[string]any{"reload": map[string]any{"mode": "hot"}}}, `config.apply: gateway.reload.mode: invalid value "hot" (use hybrid or off)`},
	} {
		_, err := FromMap("config.apply", tt.m)
		if err == nil || err.Error() != tt.want {
			t.Errorf("FromMap(%v) = %v, want %q", tt.m, err, tt.want)
		}
	}
}

// What ToMap gives, FromMap takes back unchanged.
func TestToMapRoundTrip(t *testing.T) {
	for _, name := range []string{"full.json5", "reference.json5", "json5-syntax.json5"} {
		c := loadFixture(t, name)
		back, err := FromMap(name, ToMap(c))
		if err != nil {
			t.Fatalf("%s: FromMap(ToMap): %v", name, err)
		}
		// Compared by JSON: an empty list and an absent one are the same.
		got, _ := json.Marshal(back)
		want, _ := json.Marshal(c)
		if string(got) != string(want) || len(got) < 100 {
			t.Errorf("%s: round trip changed the config:\n got %s\nwant %s", name, got, want)
		}
		if d := Diff(c, back); len(d) != 0 {
			t.Errorf("%s: Diff after round trip = %v", name, d)
		}
	}
}

func TestIDListUnmarshal(t *testing.T) {
	tests := []struct {
		in      string
		want    IDList
		wantErr bool
	}{
		{`["a", 12, -1001234567890]`, IDList{"a", "12", "-1001234567890"}, false},
		{`[]`, IDList{}, false},
		{`null`, nil, false},
		{`[true]`, nil, true},
		{`"*"`, nil, true},
	}
	for _, tt := range tests {
		var got IDList
		err := json.Unmarshal([]byte(tt.in), &got)
		if (err != nil) != tt.wantErr || (!tt.wantErr && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("Unmarshal(%s) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestDefaults(t *testing.T) {
	var c Config
	if c.Gateway.Reload.EffectiveMode() != ReloadHybrid || c.Gateway.Reload.Debounce().Milliseconds() != DefaultReloadDebounceMs {
		t.Error("reload defaults")
	}
	if !c.CanvasHost.IsEnabled() || c.CanvasHost.PortFor(19001) != 19005 {
		t.Error("canvasHost defaults")
	}
	if !c.RestartEnabled() || !(*Config)(nil).RestartEnabled() {
		t.Error("commands.restart default")
	}
	zero := 0
	if d := (Reload{DebounceMs: &zero}).Debounce(); d != 0 {
		t.Errorf("debounceMs 0 = %v, want 0", d)
	}
	if !(TelegramAccount{}).IsEnabled() {
		t.Error("telegram enabled default")
	}
}

func TestParseControlUI(t *testing.T) {
	c, err := Parse("f.json", []byte(`{gateway: {controlUi: {enabled: false, basePath: "/openclaw", root: "/srv/ui", allowedOrigins: ["https://ui.example.com"]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	u := c.Gateway.ControlUI
	if u.IsEnabled() || u.BasePath != "/openclaw" || u.Root != "/srv/ui" || !reflect.DeepEqual(u.AllowedOrigins, []string{"https://ui.example.com"}) {
		t.Errorf("controlUi = %+v", u)
	}
	if !(ControlUI{}).IsEnabled() {
		t.Error("controlUi.enabled defaults to false")
	}
	if _, err := Parse("f.json", []byte(`{gateway: {controlUi: {allowedOrigin: []}}}`)); err == nil || !strings.Contains(err.Error(), "unknown config key gateway.controlUi.allowedOrigin") {
		t.Errorf("a misspelt key: %v", err)
	}
}

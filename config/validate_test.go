package config

import (
	"strings"
	"testing"
)

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // the whole error from Parse("f.json", src)
	}{
		// enumerations
		{"gateway.mode", "{gateway: {\n mode: 'cloud'}}", `f.json:2: gateway.mode: invalid value "cloud" (use local or remote)`},
		{"bind", "{gateway: {\n bind: 'all'}}", `f.json:2: gateway.bind: invalid value "all" (use loopback, lan or custom)`},
		{"auth.mode", "{gateway: {auth: {\n mode: 'oauth'}}}", `f.json:2: gateway.auth.mode: invalid value "oauth" (use token, password or none)`},
		{"reload.mode", "{gateway: {reload: {\n mode: 'hot'}}}", `f.json:2: gateway.reload.mode: invalid value "hot" (use hybrid or off)`},
		{"dmPolicy", "{channels: {telegram: {\n dmPolicy: 'everyone'}}}", `f.json:2: channels.telegram.dmPolicy: invalid value "everyone" (use pairing, allowlist, open or disabled)`},
		{"groupPolicy", "{channels: {telegram: {\n groupPolicy: 'pairing'}}}", `f.json:2: channels.telegram.groupPolicy: invalid value "pairing" (use allowlist, open or disabled)`},
		{"streaming", "{channels: {telegram: {\n streaming: 'block'}}}", `f.json:2: channels.telegram.streaming: invalid value "block" (use partial or off)`},
		{"account dmPolicy", "{channels: {telegram: {accounts: {a: {\n dmPolicy: 'Open'}}}}}", `f.json:2: channels.telegram.accounts.a.dmPolicy: invalid value "Open" (use pairing, allowlist, open or disabled)`},
		{"models api", "{models: {providers: {p: {baseUrl: 'http://h/v1',\n api: 'anthropic-messages'}}}}", `f.json:2: models.providers.p.api: invalid value "anthropic-messages" (use openai-completions)`},

		// ranges
		{"port", "{gateway: {\n port: 70000}}", "f.json:2: gateway.port: 70000 is not a port (1-65535)"},
		{"negative port", "{gateway: {\n port: -1}}", "f.json:2: gateway.port: -1 is not a port (1-65535)"},
		{"canvas port", "{canvasHost: {\n port: 65536}}", "f.json:2: canvasHost.port: 65536 is not a port (1-65535)"},
		{"webhook port", "{channels: {telegram: {\n webhookPort: 0x10000}}}", "f.json:2: channels.telegram.webhookPort: 65536 is not a port (1-65535)"},
		{"limits", "{gateway: {limits: {\n maxPayloadBytes: -5}}}", "f.json:2: gateway.limits.maxPayloadBytes: -5 is less than 0"},
		{"cluster name", "{gateway: {cluster: {\n name: 'a.b'}}}", "f.json:2: gateway.cluster.name: \"a.b\" may hold only letters, digits, '-' and '_'"},
		{"cluster node", "{gateway: {cluster: {\n nodeName: 'gw a'}}}", "f.json:2: gateway.cluster.nodeName: \"gw a\" may hold only letters, digits, '-' and '_'"},
		{"cluster replicas", "{gateway: {cluster: {\n replicas: 7}}}", "f.json:2: gateway.cluster.replicas: 7 is not 1-5"},
		{"cluster lease TTL", "{gateway: {cluster: {\n leaseTtlMs: 500}}}", "f.json:2: gateway.cluster.leaseTtlMs: 500 is not 1000-3600000"},
		{"cluster listen", "{gateway: {cluster: {nats: {embedded: {\n clusterListen: '6248'}}}}}", "f.json:2: gateway.cluster.nats.embedded.clusterListen: \"6248\" is not host:port"},
		{"cluster route", "{gateway: {cluster: {nats: {embedded: {routes: [\n 'http://x:1']}}}}}", "f.json:2: gateway.cluster.nats.embedded.routes[0]: must be a nats-route://host:port URL"},
		{"debounce", "{gateway: {reload: {\n debounceMs: -1}}}", "f.json:2: gateway.reload.debounceMs: -1 is less than 0"},
		{"rate window", "{gateway: {auth: {rateLimit: {\n windowMs: 0}}}}", "f.json:2: gateway.auth.rateLimit.windowMs: 0 is less than 1"},
		{"timeout", "{agents: {defaults: {\n timeoutSeconds: -1}}}", "f.json:2: agents.defaults.timeoutSeconds: -1 is less than 0"},
		{"chunk limit", "{channels: {telegram: {\n textChunkLimit: -1}}}", "f.json:2: channels.telegram.textChunkLimit: -1 is less than 0"},
		{"contextWindow", "{models: {providers: {p: {baseUrl: 'http://h', models: [{id: 'm', name: 'M',\n contextWindow: -1}]}}}}", "f.json:2: models.providers.p.models[0].contextWindow: -1 is less than 0"},

		// required keys and cross-key rules
		{"custom bind without host", "{gateway: {\n bind: 'custom'}}", "f.json:2: gateway.bind is custom but gateway.customBindHost is empty"},
		{"open dm without *", "{channels: {telegram: {\n dmPolicy: 'open',\n allowFrom: ['1']}}}", `f.json:3: channels.telegram.dmPolicy "open" requires channels.telegram.allowFrom to include "*"`},
		{"open dm, no allowFrom", "{channels: {telegram: {\n dmPolicy: 'open'}}}", `f.json:1: channels.telegram.dmPolicy "open" requires channels.telegram.allowFrom to include "*"`},
		// The account inherits dmPolicy "open" and sets its own allowFrom.
		{"inherited open dm", "{channels: {telegram: {dmPolicy: 'open', allowFrom: ['*'], accounts: {\n w: {\n  allowFrom: [1]}}}}}", `f.json:3: channels.telegram.accounts.w.dmPolicy "open" requires channels.telegram.accounts.w.allowFrom to include "*"`},
		{"webhook without secret", "{channels: {telegram: {accounts: {\n w: {webhookUrl: 'https://x.example/hook'}}}}}", "f.json:2: channels.telegram.accounts.w.webhookUrl is set but channels.telegram.accounts.w.webhookSecret is empty"},
		{"webhook not https", "{channels: {telegram: {webhookSecret: 's',\n webhookUrl: 'http://x.example/hook'}}}", "f.json:2: channels.telegram.webhookUrl: must be an https:// URL"},
		{"webhook path", "{channels: {telegram: {\n webhookPath: 'hook'}}}", `f.json:2: channels.telegram.webhookPath: "hook" must start with '/'`},
		{"apiRoot", "{channels: {telegram: {\n apiRoot: 'api.telegram.org'}}}", "f.json:2: channels.telegram.apiRoot: must be an http:// or https:// URL"},
		{"blank allowFrom", "{channels: {telegram: {\n allowFrom: ['1', ' ']}}}", "f.json:2: channels.telegram.allowFrom[1]: an id must not be blank"},
		{"blank account id", "{channels: {telegram: {\n accounts: {'': {}}}}}", "f.json:2: channels.telegram.accounts: an account id must not be blank"},
		{"blank tool", "{gateway: {tools: {\n deny: ['']}}}", "f.json:2: gateway.tools.deny[0]: a tool name must not be blank"},
		{"origin without scheme", "{gateway: {controlUi: {\n allowedOrigins: ['https://a.example', 'ui.example.com']}}}",
			`f.json:2: gateway.controlUi.allowedOrigins[1]: "ui.example.com" is not an origin (scheme://host[:port], e.g. https://ui.example.com) or "*"`},
		{"origin with a path", "{gateway: {controlUi: {\n allowedOrigins: ['https://ui.example.com/app']}}}",
			`f.json:2: gateway.controlUi.allowedOrigins[0]: "https://ui.example.com/app" is not an origin (scheme://host[:port], e.g. https://ui.example.com) or "*"`},
		{"basePath", "{gateway: {controlUi: {\n basePath: 'ui'}}}", `f.json:2: gateway.controlUi.basePath: "ui" must start with '/'`},

		{"agent without id", "{agents: {list: [{id: 'a'},\n {name: 'B'}]}}", "f.json:2: agents.list[1].id: required"},
		{"agent id with colon", "{agents: {list: [\n {id: 'a:b'}]}}", `f.json:2: agents.list[0].id: "a:b" must not contain spaces, ':' or '/'`},
		{"duplicate agent ids", "{agents: {list: [\n {id: 'ops'},\n {id: 'Ops'}]}}", `f.json:3: agents.list[1].id: "Ops" is already the id of agents.list[0]`},
		{"two defaults", "{agents: {list: [{id: 'a', default: true},\n {id: 'b', default: true}]}}", "f.json:2: agents.list[1].default: agents.list[0] is already the default agent"},
		{"model ref without provider", "{agents: {defaults: {model: {\n primary: 'gpt-4o'}}}}", `f.json:2: agents.defaults.model.primary: "gpt-4o" is not of the form <provider>/<model>`},
		{"model ref empty model", "{agents: {list: [{id: 'a', model: {\n primary: 'local/'}}]}}", `f.json:2: agents.list[0].model.primary: "local/" is not of the form <provider>/<model>`},
		{"model ref empty provider", "{agents: {defaults: {model: {\n primary: '/m'}}}}", `f.json:2: agents.defaults.model.primary: "/m" is not of the form <provider>/<model>`},

		{"model not in its provider's list", "{models: {providers: {local: {baseUrl: 'http://h', models: [{id: 'qwen2.5:7b', name: 'Q'}, {id: 'llama3', name: 'L'}]}}},\n agents: {defaults: {model: {\n primary: 'local/qwen'}}}}",
			`f.json:3: agents.defaults.model.primary: unknown model "qwen": models.providers.local.models lists "qwen2.5:7b", "llama3"`},
		{"agent's model not in its provider's list", "{models: {providers: {p: {baseUrl: 'http://h', models: [{id: 'm', name: 'M'}]}}},\n agents: {list: [{id: 'a',\n model: {primary: 'p/n'}}]}}",
			`f.json:3: agents.list[0].model.primary: unknown model "n": models.providers.p.models lists "m"`},
		{"provider without baseUrl", "{models: {providers: {\n p: {models: []}}}}", "f.json:2: models.providers.p.baseUrl: required"},
		{"provider bad baseUrl", "{models: {providers: {p: {\n baseUrl: 'localhost:8080'}}}}", "f.json:2: models.providers.p.baseUrl: must be an http:// or https:// URL"},
		{"provider id with slash", "{models: {providers: {\n 'a/b': {baseUrl: 'http://h'}}}}", `f.json:2: models.providers: provider id "a/b" must be non-blank, without spaces or '/'`},
		{"model without name", "{models: {providers: {p: {baseUrl: 'http://h', models: [\n {id: 'm'}]}}}}", "f.json:2: models.providers.p.models[0].name: required"},
		{"model without id", "{models: {providers: {p: {baseUrl: 'http://h', models: [\n {name: 'M'}]}}}}", "f.json:2: models.providers.p.models[0].id: required"},
		{"duplicate model ids", "{models: {providers: {p: {baseUrl: 'http://h', models: [{id: 'm', name: 'M'},\n {id: 'm', name: 'N'}]}}}}", `f.json:2: models.providers.p.models[1].id: "m" is already the id of models.providers.p.models[0]`},
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

func TestValidateAccepts(t *testing.T) {
	for _, src := range []string{
		`{gateway: {mode: 'remote', bind: 'custom', customBindHost: '10.0.0.5', auth: {mode: 'none'}, reload: {mode: 'off', debounceMs: 0}}}`,
		`{gateway: {port: 1}}`,
		`{gateway: {controlUi: {enabled: false, basePath: '/openclaw', root: '/srv/ui', allowedOrigins: ['*', 'https://ui.example.com/', 'http://[::1]:5173']}}}`,
		`{gateway: {port: 65535, auth: {mode: 'password', password: 'pw', rateLimit: {maxAttempts: 0}}}}`,
		`{channels: {telegram: {dmPolicy: 'open', allowFrom: ['*']}}}`,
		`{channels: {telegram: {dmPolicy: 'disabled', groupPolicy: 'open', streaming: 'off'}}}`,
		// The account inherits the top level's "*".
		`{channels: {telegram: {allowFrom: ['*'], accounts: {a: {dmPolicy: 'open'}}}}}`,
		`{channels: {telegram: {webhookUrl: 'https://x.example/h', webhookSecret: 's', webhookPath: '/h', webhookPort: 8443}}}`,
		`{agents: {list: [{id: 'a', default: true}, {id: 'b', model: {primary: 'openrouter/meta-llama/llama-3'}}]}}`,
		`{models: {providers: {p: {baseUrl: 'https://h/v1', models: [{id: 'm', name: 'M'}, {id: 'n', name: 'N', maxTokens: 0}]}}}}`,
		// A listed model; a provider without a list takes any id; an
		// unconfigured provider is the run's to report.
		`{models: {providers: {p: {baseUrl: 'http://h', models: [{id: 'm', name: 'M'}]}}}, agents: {defaults: {model: {primary: 'p/m'}}}}`,
		`{models: {providers: {p: {baseUrl: 'http://h'}}}, agents: {defaults: {model: {primary: 'p/anything'}}}}`,
		`{models: {providers: {p: {baseUrl: 'http://h', models: [{id: 'm', name: 'M'}]}}}, agents: {list: [{id: 'a', model: {primary: 'openai/gpt-4o'}}]}}`,
		`{gateway: {cluster: {enabled: true, name: 'prod', nodeName: 'gw-a', replicas: 3, leaseTtlMs: 5000, nats: {embedded: {clusterListen: '127.0.0.1:6248', routes: ['nats-route://127.0.0.1:6249'], clientListen: '127.0.0.1:4222'}}}}}`,
		`{gateway: {cluster: {enabled: true, nats: {url: 'nats://a:4222, nats://b:4222', token: 't', tls: {ca: '/ca.pem'}}}}}`,
		// Blank secrets are for startup to reject, with the reason.
		`{gateway: {auth: {token: '', password: ''}}}`,
	} {
		if _, err := Parse("f.json", []byte(src)); err != nil {
			t.Errorf("Parse(%s): %v", src, err)
		}
	}
	for _, name := range []string{"full.json5", "reference.json5", "json5-syntax.json5"} {
		loadFixture(t, name) // fails the test on error
	}
}

// Validate works on a Config built in code too, and reports the path.
func TestValidateDirect(t *testing.T) {
	var nilCfg *Config
	if err := nilCfg.Validate(); err != nil {
		t.Errorf("nil.Validate() = %v", err)
	}
	if err := (&Config{}).Validate(); err != nil {
		t.Errorf("zero.Validate() = %v", err)
	}
	c := &Config{Channels: Channels{Telegram: &Telegram{Accounts: map[string]TelegramAccount{
		"ok":  {DmPolicy: "allowlist"},
		"bad": {Streaming: "sometimes"},
	}}}}
	err := c.Validate()
	e, ok := err.(*Error)
	if !ok || e.Path != "channels.telegram.accounts.bad.streaming" || e.File != "" || e.Line != 0 ||
		!strings.HasPrefix(e.Error(), "channels.telegram.accounts.bad.streaming: ") {
		t.Errorf("Validate() = %#v", err)
	}
}

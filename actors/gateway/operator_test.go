package gateway_test

import (
	"encoding/json"
	"os"
	"runtime"
	"strings"
	"testing"

	"openclaw/actors/gateway"
	"openclaw/actors/gateway/gatewaytest"
	"openclaw/config"
	"openclaw/transport/protocol"
)

// config.get is read scope as at the reference: a reader sees the config,
// the file's text and its state, with every secret redacted.
func TestConfigGetAsReader(t *testing.T) {
	text := `{
  // the gateway
  gateway: { auth: { token: "s3cret-token-0123456789" } },
  models: { providers: { p: { baseUrl: "http://127.0.0.1:1/v1", apiKey: "sk-very-secret", models: [{ id: "m", name: "M" }] } } },
}
`
	gw := gatewaytest.Start(t, func(o *gateway.Options) { o.Config = gatewaytest.Config(t, text) })
	if err := os.WriteFile(gw.ConfigPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	rd, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	f := rd.Call("g", "config.get", nil)
	if !f.OK {
		t.Fatalf("config.get as a reader: %s", f.Raw)
	}
	if strings.Contains(string(f.Raw), "s3cret") || strings.Contains(string(f.Raw), "sk-very-secret") {
		t.Fatalf("a secret leaked: %s", f.Raw)
	}
	g := gatewaytest.Decode[protocol.ConfigGet](t, f.Payload)
	if !g.Exists || !g.Valid || g.Raw == nil || !strings.Contains(*g.Raw, "// the gateway") || !strings.Contains(*g.Raw, config.Redacted) ||
		len(g.Issues) != 0 || g.Config["models"] == nil {
		t.Fatalf("config.get = %+v", g)
	}

	// A broken file: the active config stays, the file is reported invalid
	// with its problem, and its text (which could hold a secret not yet
	// known) is not shown to a reader.
	if err := os.WriteFile(gw.ConfigPath, []byte(`{ gateway: { port: "x" } }`), 0o600); err != nil {
		t.Fatal(err)
	}
	g = gatewaytest.Decode[protocol.ConfigGet](t, rd.Call("g2", "config.get", nil).Payload)
	if g.Valid || len(g.Issues) != 1 || g.Issues[0].Path != "gateway.port" || g.Raw != nil || g.Config["models"] == nil {
		t.Fatalf("config.get of a broken file = %+v", g)
	}
}

// config.set writes the file from JSON5 text (comments kept), applies it,
// and keeps redacted secrets.
func TestConfigSet(t *testing.T) {
	gw := gatewaytest.Start(t, func(o *gateway.Options) {
		o.Config = gatewaytest.Config(t, `{models: {providers: {p: {baseUrl: "http://x/v1", apiKey: "sk-keep-me", models: [{id: "m", name: "M"}]}}}}`)
	})
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	raw := "// set over RPC\n{ agents: { defaults: { timeoutSeconds: 42 } },\n" +
		"  models: { providers: { p: { baseUrl: 'http://x/v1', apiKey: 'sk-keep-me', models: [{ id: 'm', name: 'M' }] } } } }\n"
	s := call[protocol.ConfigSet](t, adm, "config.set", map[string]any{"raw": raw})
	if !s.OK || s.Path != gw.ConfigPath || s.Restart {
		t.Fatalf("config.set = %+v", s)
	}
	if b, _ := os.ReadFile(gw.ConfigPath); string(b) != raw {
		t.Fatalf("the file is %q, want the text as sent", b)
	}
	if got := call[protocol.ConfigGet](t, adm, "config.get", nil); got.Hash != s.Hash {
		t.Fatalf("config.get hash %s after set %s", got.Hash, s.Hash)
	}
	// The secret given back redacted stays the old one.
	raw2 := `{models: {providers: {p: {baseUrl: "http://x/v1", apiKey: "` + config.Redacted + `", models: [{id: "m", name: "M"}]}}}}`
	call[protocol.ConfigSet](t, adm, "config.set", map[string]any{"raw": raw2, "baseHash": s.Hash})
	if b, _ := os.ReadFile(gw.ConfigPath); !strings.Contains(string(b), "sk-keep-me") {
		t.Fatalf("the redacted secret was not restored: %s", b)
	}
	for _, bad := range []map[string]any{
		{"raw": "{ gateway: { port: \"x\" } }"},
		{"raw": "{}", "baseHash": "stale"},
		{"raw": "{ nope: 1 }"},
	} {
		if f := adm.Call("bad", "config.set", bad); f.OK || f.Error.Code != "INVALID_REQUEST" {
			t.Errorf("config.set %v: %s", bad, f.Raw)
		}
	}
}

func TestConfigSchema(t *testing.T) {
	gw := gatewaytest.Start(t, nil)
	rd, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	cs := call[protocol.ConfigSchema](t, rd, "config.schema", nil)
	var schema struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(cs.Schema, &schema); err != nil || schema.Properties["gateway"] == nil || schema.Properties["channels"] == nil {
		t.Fatalf("config.schema: %v %s", err, cs.Schema[:200])
	}
	if h := cs.UIHints["gateway.port"]; h.Label != "Gateway Port" || !strings.Contains(h.Help, "18789") ||
		cs.UIHints["models.providers.*.apiKey"].Label == "" || cs.Version != gateway.Version {
		t.Fatalf("uiHints: %+v, version %s", h, cs.Version)
	}

	tests := []struct {
		path, reload, hintPath string
		children               []string
	}{
		{"gateway.port", "restart", "gateway.port", nil},
		{"gateway.auth", "restart", "gateway.auth", []string{"mode", "password", "rateLimit", "token"}},
		{"agents.defaults.timeoutSeconds", "hot", "agents.defaults.timeoutSeconds", nil},
		{"models.providers.local", "hot", "models.providers.*", []string{"api", "apiKey", "baseUrl", "models"}},
		{"channels.telegram.accounts.work.botToken", "hot", "channels.telegram.accounts.*.botToken", nil},
	}
	for _, tt := range tests {
		l := call[protocol.ConfigSchemaLookup](t, rd, "config.schema.lookup", map[string]any{"path": tt.path})
		var kids []string
		for _, c := range l.Children {
			kids = append(kids, c.Key)
		}
		if l.ReloadKind != tt.reload || l.HintPath != tt.hintPath || strings.Join(kids, ",") != strings.Join(tt.children, ",") ||
			l.Schema["properties"] != nil || l.Hint == nil {
			t.Errorf("lookup %s = reload %s, hint path %s, children %v, schema %v", tt.path, l.ReloadKind, l.HintPath, kids, l.Schema)
		}
	}
	if f := rd.Call("x", "config.schema.lookup", map[string]any{"path": "nope.key"}); f.OK || f.Error.Message != "config schema path not found" {
		t.Fatalf("lookup of an unknown path: %s", f.Raw)
	}
}

func TestModelsAgentsToolsSystem(t *testing.T) {
	gw := gatewaytest.Start(t, func(o *gateway.Options) {
		o.Config = gatewaytest.Config(t, `{
			models: {providers: {
				local: {baseUrl: "http://127.0.0.1:1/v1", apiKey: "sk-x", models: [{id: "a", name: "A", contextWindow: 8192}, {id: "b", name: "B"}]},
				nokey: {baseUrl: "http://127.0.0.1:2/v1", models: [{id: "c", name: "C"}]},
			}},
			agents: {defaults: {model: {primary: "local/a"}}, list: [{id: "main", name: "Main"}, {id: "ops", model: {primary: "nokey/c"}, workspace: "/srv/ops"}]},
		}`)
	})
	rd, hello := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	if caps, _ := hello["features"].(map[string]any)["capabilities"].([]any); len(caps) != 1 || caps[0] != "published-model-catalog" {
		t.Fatalf("capabilities = %v", caps)
	}
	ml := call[protocol.ModelsList](t, rd, "models.list", map[string]any{"includeDetails": true})
	if len(ml.Models) != 3 || ml.Models[0].ID != "a" || ml.Models[0].Tags[0] != "default" || ml.Models[0].ContextWindow != 8192 ||
		!ml.Models[0].Available || ml.Models[2].Provider != "nokey" || len(ml.Models[0].Input) != 1 {
		t.Fatalf("models.list = %+v", ml)
	}
	if ml := call[protocol.ModelsList](t, rd, "models.list", map[string]any{"provider": "nokey"}); len(ml.Models) != 1 || ml.Models[0].ID != "c" {
		t.Fatalf("models.list by provider = %+v", ml)
	}
	as := call[protocol.ModelsAuthStatus](t, rd, "models.authStatus", nil)
	if len(as.Providers) != 2 || as.Providers[0].Provider != "local" || as.Providers[0].Status != "static" ||
		as.Providers[0].APIKey == nil || as.Providers[1].Status != "missing" {
		t.Fatalf("models.authStatus = %+v", as)
	}
	al := call[protocol.AgentsList](t, rd, "agents.list", nil)
	if al.DefaultID != "main" || len(al.Agents) != 2 || al.Agents[0].Name != "Main" || !al.Agents[0].IsDefault ||
		al.Agents[0].Model.Primary != "local/a" || al.Agents[1].Model.Primary != "nokey/c" || al.Agents[1].Workspace != "/srv/ops" ||
		al.Agents[0].Workspace != gw.Dir+"/workspace" {
		t.Fatalf("agents.list = %+v", al)
	}
	tc := call[protocol.ToolsCatalog](t, rd, "tools.catalog", nil)
	var names []string
	for _, g := range tc.Groups {
		for _, tool := range g.Tools {
			names = append(names, g.ID+"/"+tool.ID)
		}
	}
	if tc.AgentID != "main" || strings.Join(names, ",") != "messaging/message_send,nodes/node_invoke,nodes/nodes_list,sessions/session_status,sessions/sessions_list" {
		t.Fatalf("tools.catalog = %v", names)
	}
	si := call[protocol.SystemInfo](t, rd, "system.info", nil)
	if si.PID != os.Getpid() || si.Port != gw.Port() || si.Platform != runtime.GOOS || si.CPUCount != runtime.NumCPU() ||
		si.DiskPath != gw.Dir || si.GoVersion != runtime.Version() || si.ProcessInstanceID == "" {
		t.Fatalf("system.info = %+v", si)
	}
	if runtime.GOOS == "linux" && (si.MemoryTotalBytes <= 0 || len(si.Disks) != 1 || si.Disks[0].TotalBytes <= 0 || si.Release == "") {
		t.Fatalf("system.info on linux = %+v", si)
	}
	// Approvals: nothing our tools run needs one, so the lists are empty;
	// they need operator.approvals.
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	for _, m := range []string{"exec.approval.list", "plugin.approval.list", "openclaw.approval.list"} {
		if f := adm.Call(m, m, nil); !f.OK || string(f.Payload) != "[]" {
			t.Errorf("%s: %s", m, f.Raw)
		}
		if f := rd.Call(m, m, nil); f.OK || f.Error.Code != "FORBIDDEN" {
			t.Errorf("%s as a reader: %s", m, f.Raw)
		}
	}
}

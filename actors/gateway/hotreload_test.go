package gateway_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"openclaw/actors/gateway"
	"openclaw/actors/gateway/gatewaytest"
	"openclaw/config"
	"openclaw/transport/protocol"
	"openclaw/transport/provider/fakeprovider"
)

// reloadRig is a gateway running from a config file that the test edits, as
// an operator would, with two fake providers to switch between.
type reloadRig struct {
	t        *testing.T
	gw       *gatewaytest.Gateway
	fp, fp2  *fakeprovider.Server
	path     string
	template string // the config, %s for the part a case changes
}

const reloadBase = `{
  gateway: { %s },
  models: {providers: {fake: {baseUrl: %q, apiKey: "k", api: "openai-completions", models: [{id: "m", name: "M"}]}}},
  agents: {defaults: {model: {primary: "fake/m"}} %s},
}`

func newReloadRig(t *testing.T) *reloadRig {
	fp := fakeprovider.New(t)
	fp.SetDefault(fakeprovider.Text("one", 1))
	fp2 := fakeprovider.New(t)
	fp2.SetDefault(fakeprovider.Text("two", 1))
	r := &reloadRig{t: t, fp: fp, fp2: fp2, path: filepath.Join(t.TempDir(), "openclaw.json")}
	cfg, hash := r.write("", fp.URL, "")
	r.gw = gatewaytest.Start(t, func(o *gateway.Options) {
		o.ConfigPath, o.Config, o.ConfigHash = r.path, cfg, hash
		o.StateDir = filepath.Dir(r.path)
	})
	return r
}

// write puts a config in the file and returns what it parses to.
func (r *reloadRig) write(gatewayKeys, providerURL, agentsExtra string) (*config.Config, string) {
	r.t.Helper()
	data := []byte(fmt.Sprintf(reloadBase, gatewayKeys, providerURL, agentsExtra))
	if err := config.WriteAtomic(r.path, data); err != nil {
		r.t.Fatal(err)
	}
	cfg, err := config.Parse(r.path, data)
	if err != nil {
		r.t.Fatal(err)
	}
	return cfg, config.HashBytes(data)
}

// eventually polls cond for up to 20 s (a reload waits out the debounce;
// a loaded machine stretches it).
func (r *reloadRig) eventually(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("not applied: %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (r *reloadRig) health() protocol.Health {
	adm, _ := gatewaytest.MustConnect(r.t, r.gw.URL, gatewaytest.Admin())
	return gatewaytest.Decode[protocol.Health](r.t, adm.Call("h", "health", map[string]any{"probe": true}).Payload)
}

func (r *reloadRig) agentRun(key string) bool {
	adm, _ := gatewaytest.MustConnect(r.t, r.gw.URL, gatewaytest.Admin())
	adm.Call("a", "agent", map[string]any{"message": "hi", "idempotencyKey": key})
	return adm.Res("a").OK
}

func (r *reloadRig) httpStatus(path string) int {
	req, _ := http.NewRequest(http.MethodGet, r.gw.HTTP+path, nil)
	req.Header.Set("Authorization", "Bearer "+gatewaytest.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestHotReloadKeys: every key the reload table calls hot takes effect in
// the running gateway, through an edit of the file, without a restart
// (channels.* is covered by channels/telegram TestRejectedTokenAndHotReload).
func TestHotReloadKeys(t *testing.T) {
	t.Run("agents", func(t *testing.T) {
		r := newReloadRig(t)
		r.write("", r.fp.URL, `, list: [{id: "alpha", default: true}, {id: "main"}]`)
		r.eventually("agents.list default", func() bool { return r.health().DefaultAgentID == "alpha" })
		_, hello := gatewaytest.MustConnect(t, r.gw.URL, gatewaytest.Admin())
		if d := hello["snapshot"].(map[string]any)["sessionDefaults"].(map[string]any); d["defaultAgentId"] != "alpha" {
			t.Fatalf("hello-ok sessionDefaults = %v", d)
		}
	})
	t.Run("models", func(t *testing.T) {
		r := newReloadRig(t)
		if !r.agentRun("m1") || r.fp.Served() != 1 {
			t.Fatal("first run did not reach the first provider")
		}
		r.write("", r.fp2.URL, "")
		r.eventually("models.providers.fake.baseUrl", func() bool { return r.agentRun(fmt.Sprint("m", time.Now().UnixNano())) && r.fp2.Served() > 0 })
	})
	t.Run("gateway.http", func(t *testing.T) {
		r := newReloadRig(t)
		if s := r.httpStatus("/v1/models"); s != 404 {
			t.Fatalf("models before enabling: %d", s)
		}
		r.write(`http: {endpoints: {chatCompletions: {enabled: true}}}`, r.fp.URL, "")
		r.eventually("gateway.http.endpoints", func() bool { return r.httpStatus("/v1/models") == 200 })
	})
	t.Run("gateway.tools", func(t *testing.T) {
		r := newReloadRig(t)
		r.write(`tools: {deny: ["sessions_list"]}`, r.fp.URL, "")
		r.eventually("gateway.tools.deny", func() bool {
			if !r.agentRun(fmt.Sprint("t", time.Now().UnixNano())) {
				return false
			}
			reqs := r.fp.Requests()
			for _, tool := range reqs[len(reqs)-1].Tools {
				if tool.Name == "sessions_list" {
					return false
				}
			}
			return true
		})
	})
	t.Run("gateway.auth.rateLimit", func(t *testing.T) {
		r := newReloadRig(t)
		r.write(`auth: {rateLimit: {maxAttempts: 1, windowMs: 60000, lockoutMs: 60000, exemptLoopback: false}}`, r.fp.URL, "")
		bad := gatewaytest.Admin()
		bad.Token = "wrong-token-0123456789"
		r.eventually("gateway.auth.rateLimit", func() bool {
			_, res := gatewaytest.Connect(t, r.gw.URL, bad)
			return !res.OK && res.Error.Details["code"] == "AUTH_RATE_LIMITED"
		})
	})
	t.Run("gateway.auth.token", func(t *testing.T) {
		r := newReloadRig(t)
		old, _ := gatewaytest.MustConnect(t, r.gw.URL, gatewaytest.Admin())
		r.write(`auth: {token: "rotated-token-0123456789"}`, r.fp.URL, "")
		if code, reason := old.Closed(); code != 4001 || reason != "gateway auth changed" {
			t.Fatalf("old-token socket closed %d %q", code, reason)
		}
		c := gatewaytest.Admin()
		c.Token = "rotated-token-0123456789"
		gatewaytest.MustConnect(t, r.gw.URL, c)
	})
	t.Run("gateway.reload", func(t *testing.T) {
		r := newReloadRig(t)
		r.write(`reload: {mode: "off"}`, r.fp.URL, "")
		r.eventually("gateway.reload.mode off", func() bool { return r.health().ConfigReload.HotReloadStatus == "disabled" })
		// Not watched any more: this edit is not applied...
		r.write(`reload: {mode: "off"}`, r.fp.URL, `, list: [{id: "beta", default: true}]`)
		time.Sleep(600 * time.Millisecond) // twice the debounce
		if h := r.health(); h.DefaultAgentID != "main" {
			t.Fatalf("an edit was applied with reload off: default agent %s", h.DefaultAgentID)
		}
		// ...until config.patch turns it back on.
		adm, _ := gatewaytest.MustConnect(t, r.gw.URL, gatewaytest.Admin())
		if f := adm.Call("p", "config.patch", map[string]any{"baseHash": onDiskHash(t, r.path),
			"patch": map[string]any{"gateway": map[string]any{"reload": map[string]any{"mode": "hybrid"}}}}); !f.OK {
			t.Fatalf("config.patch: %s", f.Raw)
		}
		r.eventually("gateway.reload.mode hybrid", func() bool { return r.health().ConfigReload.HotReloadStatus == "active" })
		r.write(`reload: {mode: "hybrid"}`, r.fp.URL, `, list: [{id: "gamma", default: true}]`)
		r.eventually("an edit after reload is back on", func() bool { return r.health().DefaultAgentID == "gamma" })
	})
}

// onDiskHash is the hash config.patch checks: the file's, which an edit the
// gateway ignored has changed since config.get.
func onDiskHash(t *testing.T, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return config.HashBytes(data)
}

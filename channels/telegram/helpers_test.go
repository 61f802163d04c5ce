package telegram_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"openclaw/actors/channels"
	"openclaw/actors/gateway"
	"openclaw/actors/gateway/gatewaytest"
	"openclaw/channels/telegram"
	"openclaw/channels/telegram/fakebotapi"
	"openclaw/config"
	"openclaw/transport/client"
	"openclaw/transport/provider/fakeprovider"
)

const gwToken = gatewaytest.Token

// Bot tokens the fake Bot API knows (telego wants 35 characters after the
// colon).
var (
	tokenA = "111111:" + strings.Repeat("A", 35)
	tokenB = "222222:" + strings.Repeat("B", 35)
	tokenX = "999999:" + strings.Repeat("X", 35) // unknown to the fake: 401
)

// rig is a gateway with a Telegram channel pointed at a fake Bot API and an
// agent pointed at a fake model provider, both speaking their real wire
// formats over HTTP.
type rig struct {
	t    testing.TB
	gw   *gatewaytest.Gateway
	api  *fakebotapi.Server
	fp   *fakeprovider.Server
	url  string
	dir  string
	path string // the config file
}

type rigOpts struct {
	telegram string // the channels.telegram object, JSON5; %API% is the fake's URL
	tune     func(*telegram.Options)
	replies  []fakeprovider.Reply
}

func newRig(t testing.TB, o rigOpts) *rig {
	t.Helper()
	api, err := fakebotapi.Start(fakebotapi.Options{Bots: map[string]fakebotapi.Bot{
		tokenA: {ID: 111111, Username: "alpha_bot", FirstName: "Alpha"},
		tokenB: {ID: 222222, Username: "beta_bot", FirstName: "Beta"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.Close)
	fp := fakeprovider.New(t, o.replies...)
	r := &rig{t: t, api: api, fp: fp, dir: t.TempDir()}
	r.path = filepath.Join(r.dir, "openclaw.json")
	r.writeConfig(o.telegram)
	data, _ := os.ReadFile(r.path)
	cfg, err := config.Parse(r.path, data)
	if err != nil {
		t.Fatal(err)
	}
	tune := telegram.Options{PollTimeout: time.Second, RetryMin: 50 * time.Millisecond, RetryMax: 500 * time.Millisecond,
		RejectedRetry: 300 * time.Millisecond, EditEvery: 20 * time.Millisecond, TypingEvery: time.Second}
	if o.tune != nil {
		o.tune(&tune)
	}
	gw := gatewaytest.Start(t, func(o *gateway.Options) {
		o.StateDir, o.ConfigPath, o.Config = r.dir, r.path, cfg
		o.Channels = []channels.Driver{telegram.Driver{Options: tune}}
	})
	r.gw, r.url = gw, gw.URL
	return r
}

// writeConfig writes the config file with tg as channels.telegram.
func (r *rig) writeConfig(tg string) {
	r.t.Helper()
	tg = strings.ReplaceAll(tg, "%API%", r.api.URL())
	body := fmt.Sprintf(`{
  models: {providers: {fake: {baseUrl: %q, apiKey: "sk-test", api: "openai-completions", models: [{id: "mock-1", name: "Mock"}]}}},
  agents: {defaults: {model: {primary: "fake/mock-1"}}},
  channels: {telegram: %s},
}`, r.fp.URL, tg)
	if err := config.WriteAtomic(r.path, []byte(body)); err != nil {
		r.t.Fatal(err)
	}
}

// operator connects an admin operator client.
func (r *rig) operator() *client.Client { return r.gw.Operator(r.t) }

// call makes an RPC and decodes its payload into a map.
func call(t testing.TB, c *client.Client, method string, params any) (map[string]any, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	raw, err := c.Call(ctx, method, params)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return m, nil
}

// waitFor polls cond for up to 10 s.
func (r *rig) waitFor(what string, cond func() bool) {
	r.t.Helper()
	if !r.api.WaitFor(10*time.Second, cond) {
		r.t.Fatalf("timed out waiting for %s", what)
	}
}

// texts is what a chat shows now, message by message.
func (r *rig) texts(token string, chat int64) []string {
	var out []string
	for _, m := range r.api.Messages(token, chat) {
		out = append(out, m.Text)
	}
	return out
}

// health returns health.channels.telegram.
func (r *rig) health(c *client.Client) map[string]any {
	r.t.Helper()
	h, err := call(r.t, c, "health", map[string]any{"probe": true})
	if err != nil {
		r.t.Fatal(err)
	}
	chs, _ := h["channels"].(map[string]any)
	tg, _ := chs["telegram"].(map[string]any)
	return tg
}

func (r *rig) account(c *client.Client, id string) map[string]any {
	tg := r.health(c)
	accs, _ := tg["accounts"].(map[string]any)
	a, _ := accs[id].(map[string]any)
	return a
}

// polling waits until the account polls (linked, transport running).
func (r *rig) polling() {
	r.t.Helper()
	r.waitFor("the first getUpdates", func() bool { return len(r.api.Calls(tokenA, "getUpdates")) > 0 })
}

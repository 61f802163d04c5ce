package httpapi_test

import (
	"encoding/json"
	"testing"

	"openclaw/actors/gateway"
	"openclaw/actors/gateway/gatewaytest"
)

// TestControlUIConfig: the Control UI's bootstrap file is served where the
// reference serves it, to a caller with the gateway's token only, with the
// default agent's name and avatar letter and the reference's keys.
func TestControlUIConfig(t *testing.T) {
	gw := gatewaytest.Start(t, func(o *gateway.Options) {
		o.Config = gatewaytest.Config(t, `{agents: {list: [{id: "main", default: true, name: "  émile "}]}}`)
		o.ControlUI = &gateway.ControlUIOptions{BasePath: "/ui/"}
	})
	api := &testAPI{gw: gw, url: gw.HTTP}
	// A Control UI that connected with a device identity holds an operator
	// device token: the bearer the reference's UI sends for this file.
	_, hello := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	deviceToken, _ := hello["auth"].(map[string]any)["deviceToken"].(string)
	if deviceToken == "" {
		t.Fatalf("no device token in hello-ok: %v", hello["auth"])
	}
	for _, tc := range []struct {
		name, method, path, token string
		status                    int
	}{
		{"under the base path", "GET", "/ui/control-ui-config.json", testToken, 200},
		{"the legacy name", "GET", "/ui/__openclaw/control-ui-config.json", testToken, 200},
		{"HEAD", "HEAD", "/ui/control-ui-config.json", testToken, 200},
		{"a device's operator token", "GET", "/ui/control-ui-config.json", deviceToken, 200},
		{"no bearer", "GET", "/ui/control-ui-config.json", "", 401},
		{"a wrong bearer", "GET", "/ui/control-ui-config.json", "not-the-token", 401},
		// The root alias exists only without a base path.
		{"the root alias with a base path", "GET", "/__openclaw__/control-ui-config.json", testToken, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := api.do(t, tc.method, tc.path, tc.token, nil, nil)
			body := res.body
			if res.status != tc.status {
				t.Fatalf("%s %s: %d, want %d: %s", tc.method, tc.path, res.status, tc.status, body)
			}
			if tc.status != 200 {
				return
			}
			if ct, cc := res.header.Get("Content-Type"), res.header.Get("Cache-Control"); ct != "application/json; charset=utf-8" || cc != "no-cache" {
				t.Errorf("Content-Type %q, Cache-Control %q", ct, cc)
			}
			if tc.method == "HEAD" {
				return
			}
			var got map[string]any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			want := map[string]any{"basePath": "/ui", "assistantName": "émile", "assistantAvatar": "É",
				"assistantAgentId": "main", "assistantAvatarSource": nil, "serverVersion": gateway.Version,
				"embedSandbox": "scripts", "terminalEnabled": false, "pluginAssetsRequireAuth": true,
				"pluginFrameGrants": []any{}}
			for k, v := range want {
				if g, ok := got[k]; !ok || !jsonEqual(g, v) {
					t.Errorf("%s = %#v (present %v), want %#v", k, g, ok, v)
				}
			}
			if _, ok := got["serverBuildId"]; !ok {
				t.Errorf("no serverBuildId with the built-in UI: %s", body)
			}
		})
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

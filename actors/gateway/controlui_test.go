package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"openclaw/actors/gateway"
	"openclaw/actors/gateway/gatewaytest"
	wsclient "openclaw/transport/client"
)

// TestControlUIMounted: the Control UI shares the gateway port with the
// probes and the WebSocket. Its page is served under the base path, the
// probes still answer, a page's WebSocket opens on the base path it was
// served from (same origin), and hello-ok says where the UI comes from.
func TestControlUIMounted(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte(`<html lang="en"><p>configured build</p></html>`), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		ui         *gateway.ControlUIOptions
		page       string // a path that serves the index
		wantInPage string
		source     string // hello-ok server.controlUiBuildSource
	}{
		{name: "built-in at the root", ui: &gateway.ControlUIOptions{}, page: "/sessions",
			wantInPage: `data-openclaw-control-ui-base-path=""`, source: "bundled"},
		{name: "built-in under a base path", ui: &gateway.ControlUIOptions{BasePath: "/ui"}, page: "/ui/chat",
			wantInPage: `data-openclaw-control-ui-base-path="/ui"`, source: "bundled"},
		{name: "a configured build", ui: &gateway.ControlUIOptions{BasePath: "/ui/", Root: root}, page: "/ui/",
			wantInPage: "configured build", source: "configured"},
		{name: "off", page: "", source: ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gw := gatewaytest.Start(t, func(o *gateway.Options) { o.ControlUI = c.ui })
			get := func(path string) (int, string, http.Header) {
				res, err := http.Get(gw.HTTP + path)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				return res.StatusCode, string(b), res.Header
			}
			if c.page != "" {
				code, body, h := get(c.page)
				if code != 200 || !strings.Contains(body, c.wantInPage) {
					t.Fatalf("GET %s = %d, body %q; want 200 with %s", c.page, code, body, c.wantInPage)
				}
				if h.Get("X-Frame-Options") != "DENY" || h.Get("Cache-Control") != "no-cache" {
					t.Errorf("GET %s headers: %v", c.page, h)
				}
			} else if code, _, _ := get("/"); code != 404 {
				t.Errorf("GET / with the UI off = %d, want 404", code)
			}
			if code, body, _ := get("/healthz"); code != 200 || !strings.Contains(body, `"live"`) {
				t.Errorf("GET /healthz = %d %q", code, body)
			}

			// The page's socket: to its base path, from its own origin.
			wsPath := ""
			if c.ui != nil {
				wsPath = strings.TrimSuffix(c.ui.BasePath, "/")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cl, err := wsclient.Dial(ctx, wsclient.Options{URL: gw.URL + wsPath, Token: gatewaytest.Token,
				Header: http.Header{"Origin": {gw.HTTP}}})
			if err != nil {
				t.Fatalf("WebSocket at %q from the page's origin: %v", wsPath, err)
			}
			defer cl.Close()
			var hello struct {
				Server map[string]any `json:"server"`
			}
			if err := json.Unmarshal(cl.Hello, &hello); err != nil {
				t.Fatal(err)
			}
			got, has := hello.Server["controlUiBuildSource"]
			if c.source == "" && has || c.source != "" && got != c.source {
				t.Errorf("hello-ok server.controlUiBuildSource = %v (present %v), want %q", got, has, c.source)
			}
		})
	}
}

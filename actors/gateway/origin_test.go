package gateway_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"openclaw/actors/gateway"
	"openclaw/actors/gateway/gatewaytest"
	"openclaw/config"
	"openclaw/transport/auth"
	wsclient "openclaw/transport/client"
	"openclaw/transport/protocol"
)

// Issue 16 item 3: loopback is exempt from the auth rate limit so the local
// CLI is never locked out, but any web page the user visits is on loopback
// too and could try tokens at hundreds a second. A socket whose upgrade had
// an Origin header is never exempt; the CLI still is.
func TestBrowserAuthFailuresRateLimitedOnLoopback(t *testing.T) {
	const page = "https://ui.example.com"
	gw := gatewaytest.Start(t, func(o *gateway.Options) {
		o.Config = &config.Config{Gateway: config.Gateway{ControlUI: config.ControlUI{AllowedOrigins: []string{page}}}}
	})
	dial := func(origin, token string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		o := wsclient.Options{URL: gw.URL, Token: token}
		if origin != "" {
			o.Header = http.Header{"Origin": {origin}}
		}
		c, err := wsclient.Dial(ctx, o)
		if err == nil {
			c.Close()
		}
		return err
	}
	code := func(err error) string {
		var e *protocol.ErrorShape
		if !errors.As(err, &e) {
			return "not an error frame: " + errString(err)
		}
		d, _ := e.Details.(map[string]any)
		c, _ := d["code"].(string)
		return c
	}
	max := auth.DefaultRateLimit.MaxAttempts
	for i := 1; i < max; i++ {
		if got := code(dial(page, "wrong")); got != "AUTH_TOKEN_MISMATCH" {
			t.Fatalf("page, attempt %d: %s, want AUTH_TOKEN_MISMATCH", i, got)
		}
	}
	if got := code(dial(page, "wrong")); got != "AUTH_RATE_LIMITED" {
		t.Fatalf("page, attempt %d: %s, want AUTH_RATE_LIMITED", max, got)
	}
	if got := code(dial(page, gatewaytest.Token)); got != "AUTH_RATE_LIMITED" {
		t.Fatalf("page with the right token while locked out: %s, want AUTH_RATE_LIMITED", got)
	}
	// The CLI on the same loopback address is still exempt.
	for i := 0; i <= max; i++ {
		if got := code(dial("", "wrong")); got != "AUTH_TOKEN_MISMATCH" {
			t.Fatalf("CLI, attempt %d: %s, want AUTH_TOKEN_MISMATCH", i+1, got)
		}
	}
	if err := dial("", gatewaytest.Token); err != nil {
		t.Fatalf("CLI with the right token: %v", err)
	}
	// gateway.controlUi.allowedOrigins reaches the upgrade: any other page
	// is refused before the handshake.
	if err := dial("https://evil.example", gatewaytest.Token); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("a page from another origin: %v, want HTTP 403", err)
	}
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

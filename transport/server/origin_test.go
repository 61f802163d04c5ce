package server_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"openclaw/transport/server"
)

// Issue 16 item 3: any web page the user visits could open
// ws://127.0.0.1:18789, hold the pre-auth slots and try tokens. A browser
// says which page it is in the Origin header; only the gateway's own origin
// and gateway.controlUi.allowedOrigins may connect. Clients without an
// Origin (the CLI, nodes) are not affected.
func TestOriginCheck(t *testing.T) {
	ts := startServer(t, server.Options{
		AllowedOrigins: []string{"https://ui.example.com", " HTTP://Other.Example:8080/ "},
	}, nil)
	port := strconv.Itoa(ts.Port())
	self := "127.0.0.1:" + port
	tests := []struct {
		origin, host string
		want         int
	}{
		{origin: "", want: 101},
		{origin: "http://" + self, want: 101},
		{origin: "https://" + self, want: 101},
		{origin: "HTTP://127.0.0.1:" + port + "/", want: 101},
		{origin: "http://localhost:" + port, host: "localhost:" + port, want: 101},
		{origin: "https://gateway.example", host: "gateway.example", want: 101}, // behind a TLS proxy
		{origin: "http://gateway.example:80", host: "gateway.example", want: 101},
		{origin: "https://ui.example.com", want: 101},
		{origin: "https://ui.example.com:443", want: 101},
		{origin: "http://other.example:8080", want: 101},
		{origin: "http://evil.example", want: 403},
		{origin: "null", want: 403},
		{origin: "http://localhost:" + port, want: 403}, // a page on another host name
		{origin: "http://127.0.0.1:" + strconv.Itoa(ts.Port()+1), want: 403},
		{origin: "http://127.0.0.1", want: 403},
		{origin: "ws://" + self, want: 403},
		{origin: "file://", want: 403},
		{origin: "http://" + self + "/page", want: 403},
		{origin: "http://user@" + self, want: 403},
		{origin: "https://ui.example.com.evil", want: 403},
		{origin: "http://ui.example.com", want: 403},
		{origin: "http://other.example", want: 403},
	}
	for _, tt := range tests {
		w, code, body := upgrade(t, ts.addr, upgradeReq{origin: tt.origin, host: tt.host})
		if code != tt.want {
			t.Errorf("Origin %q Host %q: HTTP %d %q, want %d", tt.origin, tt.host, code, body, tt.want)
			continue
		}
		if code == http.StatusForbidden {
			if !strings.HasPrefix(body, "origin not allowed") {
				t.Errorf("Origin %q: body %q", tt.origin, body)
			}
			continue
		}
		if s := ts.next(t).sock; s.Browser() != (tt.origin != "") || s.Origin != tt.origin {
			t.Errorf("Origin %q: socket Browser() %v Origin %q", tt.origin, s.Browser(), s.Origin)
		}
		_ = w.c.Close()
	}
}

// A page that may not connect is refused before it is counted: it cannot
// take the local CLI's pre-auth slots.
func TestRefusedOriginTakesNoPreAuthSlot(t *testing.T) {
	ts := startServer(t, server.Options{Limits: server.Limits{MaxPreAuthPerIP: 1}}, nil)
	for range 5 {
		if _, code, _ := upgrade(t, ts.addr, upgradeReq{origin: "http://evil.example"}); code != http.StatusForbidden {
			t.Fatalf("HTTP %d, want 403", code)
		}
	}
	if _, code, body := upgrade(t, ts.addr, upgradeReq{}); code != http.StatusSwitchingProtocols {
		t.Fatalf("the CLI after refused pages: HTTP %d %q, want 101", code, body)
	}
}

func TestOriginWildcard(t *testing.T) {
	ts := startServer(t, server.Options{AllowedOrigins: []string{"*"}}, nil)
	if _, code, body := upgrade(t, ts.addr, upgradeReq{origin: "http://anything.example"}); code != http.StatusSwitchingProtocols {
		t.Fatalf("HTTP %d %q, want 101", code, body)
	}
}

package server

import (
	"net"
	"net/url"
	"strings"
)

// originAllowed decides whether a web page may open a WebSocket to the
// gateway. A browser sends the page's origin with every upgrade, and any
// page the user visits can try ws://127.0.0.1:18789: without this check it
// could hold the pre-auth slots or try tokens. Allowed are the gateway's own
// origin (the page was served by the host:port the request is addressed to,
// over http or https) and the origins listed in
// gateway.controlUi.allowedOrigins ("*" allows every origin, as in the
// reference). Requests without an Origin header (the CLI, nodes, scripts)
// never get here.
func originAllowed(origin, host string, allowed []string) bool {
	o, ok := canonicalOrigin(origin)
	if !ok {
		return false // "null", paths, credentials: never a page we serve
	}
	for _, a := range allowed {
		a = strings.TrimSpace(a)
		if a == "*" {
			return true
		}
		if c, ok := canonicalOrigin(a); ok && c == o {
			return true
		}
	}
	u, _ := url.Parse(o)
	if u.Scheme != "http" && u.Scheme != "https" {
		return false
	}
	return sameHostPort(u, host)
}

// canonicalOrigin is an origin (scheme://host[:port]) lowercased, without a
// trailing slash and without the scheme's default port, or false when s is
// not one.
func canonicalOrigin(s string) (string, bool) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "/")
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", false
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if p := u.Port(); p != "" && p == defaultPort(scheme) {
		host = strings.TrimSuffix(host, ":"+p)
	}
	return scheme + "://" + host, true
}

// sameHostPort reports whether the origin u names the host:port of the
// request's Host header. A Host without a port is the default port of the
// origin's scheme (a TLS proxy in front of the gateway forwards
// https://gateway.example as Host gateway.example).
func sameHostPort(u *url.URL, hostHeader string) bool {
	host, port, err := net.SplitHostPort(hostHeader)
	if err != nil {
		host, port = strings.Trim(hostHeader, "[]"), ""
	}
	if !strings.EqualFold(host, u.Hostname()) {
		return false
	}
	originPort := u.Port()
	if originPort == "" {
		originPort = defaultPort(u.Scheme)
	}
	if port == "" {
		port = defaultPort(u.Scheme)
	}
	return port == originPort
}

func defaultPort(scheme string) string {
	switch scheme {
	case "http", "ws":
		return "80"
	case "https", "wss":
		return "443"
	}
	return ""
}

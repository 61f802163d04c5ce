package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"openclaw/transport/auth"
)

// metrics guards GET /metrics: a scrape from the machine itself is served
// as is; any other needs the gateway's token or password as a bearer (with
// the same failure limiter as the other HTTP APIs), and a gateway without
// auth serves it to loopback only.
func (a *api) metrics(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fromLoopback(r.RemoteAddr, r.Host) {
			if a.d.Secret.Get().Mode == auth.ModeNone {
				writeError(w, http.StatusForbidden, "forbidden", "metrics are served off loopback only with gateway auth configured")
				return
			}
			if !a.authorize(w, r) {
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// fromLoopback reports whether a request came from this machine: its peer
// (remoteAddr, host:port as net/http gives it) is a loopback address, and
// the Host it asked for names loopback too (an IP literal or localhost), so
// a web page that rebinds its own DNS name to 127.0.0.1 is not taken for a
// local client.
func fromLoopback(remoteAddr, host string) bool {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil || !ap.Addr().Unmap().IsLoopback() {
		return false
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

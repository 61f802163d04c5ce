package httpapi

import "testing"

// fromLoopback decides whether a /metrics scrape may skip auth: only a
// loopback peer asking for a loopback Host does.
func TestFromLoopback(t *testing.T) {
	for _, c := range []struct {
		remote, host string
		want         bool
	}{
		{"127.0.0.1:5000", "127.0.0.1:18789", true},
		{"127.0.0.1:5000", "localhost:18789", true},
		{"127.0.0.1:5000", "LOCALHOST", true},
		{"127.0.0.1:5000", "", false}, // HTTP/1.0 without Host: nothing says it is local
		{"127.0.0.2:5000", "127.0.0.1", true},
		{"[::1]:5000", "[::1]:18789", true},
		{"[::ffff:127.0.0.1]:5000", "127.0.0.1:18789", true}, // a dual-stack listener's IPv4 peer
		{"[::1]:5000", "localhost", true},
		// A web page whose DNS name now points at 127.0.0.1.
		{"127.0.0.1:5000", "evil.example:18789", false},
		{"127.0.0.1:5000", "127.0.0.1.evil.example", false},
		// Not on this machine, whatever Host says.
		{"192.168.1.20:5000", "127.0.0.1:18789", false},
		{"10.0.0.1:5000", "localhost", false},
		{"[fe80::1]:5000", "[::1]:18789", false},
		{"[::ffff:192.168.1.20]:5000", "localhost", false},
		// Not an address at all.
		{"", "localhost", false},
		{"garbage", "localhost", false},
		{"127.0.0.1", "localhost", false}, // no port: not what net/http gives
	} {
		if got := fromLoopback(c.remote, c.host); got != c.want {
			t.Errorf("fromLoopback(%q, %q) = %v, want %v", c.remote, c.host, got, c.want)
		}
	}
}

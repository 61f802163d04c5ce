// Package loopback hands out loopback TCP ports for servers that must be told
// their port before they start: the routes of a test cluster, a gateway
// process launched on a given --port, a webhook listener.
//
// The usual trick, listen on port 0 and close, returns a port from the
// kernel's ephemeral range, the same range every other listen on port 0 and
// every outgoing connection draw from. Between the close and the server's
// own bind, another listener (a NATS client port, a gateway on port 0, a
// parallel test package) can take it; a cluster test then fails with "is
// the cluster port free?". FreePort picks below the ephemeral range instead,
// where the kernel never assigns ports by itself, so only another caller
// choosing the same port at random can collide.
package loopback

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
)

// lowest is the first port FreePort considers: above the well-known and
// registered ports tests might run real services on (the gateway's default
// 18789 among them).
const lowest = 20000

var (
	mu     sync.Mutex
	handed = map[int]bool{} // ports this process already handed out
)

// FreePort returns a loopback port that was free a moment ago and that the
// kernel will not assign to a listen on port 0 or an outgoing connection;
// no two calls in one process return the same port. Where the ephemeral
// range is unknown (not Linux) or leaves no room below it, it falls back to
// a port the kernel chooses.
func FreePort() (int, error) {
	lo, ok := ephemeralLow()
	if !ok || lo <= lowest+1000 {
		return kernelPort()
	}
	mu.Lock()
	defer mu.Unlock()
	for range 200 {
		p := lowest + rand.IntN(lo-lowest)
		if handed[p] || !free(p) {
			continue
		}
		handed[p] = true
		return p, nil
	}
	return kernelPort()
}

// free reports whether p can be bound on 127.0.0.1 now.
func free(p int) bool {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// ephemeralLow is the start of Linux's ephemeral port range.
func ephemeralLow() (int, bool) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, false
	}
	f := bytes.Fields(b)
	if len(f) != 2 {
		return 0, false
	}
	lo, err := strconv.Atoi(string(f[0]))
	return lo, err == nil
}

func kernelPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, errors.Join(errors.New("loopback: no free port"), err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

package server_test

import (
	"bytes"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"openclaw/transport/server"
)

// authOnFrame plays the gateway's handshake in miniature: a frame "auth"
// authenticates the socket and is answered "ok", so the client knows the
// larger limit applies from its next frame on.
func authOnFrame(s *server.Socket, data []byte) {
	if string(data) == "auth" {
		s.Authenticated()
		s.Send([]byte("ok"))
	}
}

func (w *wsClient) authenticate() {
	w.t.Helper()
	w.text("auth")
	op, p, err := w.read(10 * time.Second)
	if err != nil || op != 0x1 || string(p) != "ok" {
		w.t.Fatalf("no ok after auth: op %d %q %v", op, p, err)
	}
}

// Issue 16 item 2: gws allocates a frame's declared length before reading
// it, and the pre-auth limit used to be checked only once the whole frame
// was buffered. 32 unauthenticated sockets each declaring a 25 MiB frame
// made the gateway hold 800 MiB. Now each is closed 1009 from its header
// alone and the heap does not grow.
func TestPreAuthFrameRefusedBeforeAllocation(t *testing.T) {
	ts := startServer(t, server.Options{}, nil)
	const sockets = 32
	const declared = 25 << 20
	clients := make([]*wsClient, sockets)
	for i := range clients {
		clients[i] = dial(t, ts.addr)
	}
	before := liveHeap()
	for _, w := range clients {
		// The header and two payload bytes: a peer need not send the rest
		// for the buffer to be allocated.
		w.write(append(header(0x1, true, declared), 'x', 'y'))
	}
	codes := make([]int, sockets)
	parallel(sockets, func(i int) { codes[i], _ = clients[i].closeCode(5 * time.Second) })
	grown := int64(liveHeap()) - int64(before)
	t.Logf("live heap %d MiB -> %+d MiB after %d sockets declared %d MiB frames", before>>20, grown>>20, sockets, declared>>20)
	for i, c := range codes {
		if c != 1009 {
			t.Errorf("socket %d: close %d, want 1009", i, c)
		}
	}
	// 32 × 64 KiB would be 2 MiB; the bound leaves room for the runtime's
	// own noise and is far below the 800 MiB the frames declared.
	if grown > 32<<20 {
		t.Errorf("live heap grew %d MiB while unauthenticated sockets declared large frames", grown>>20)
	}
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// The guard in front of gws follows the framing byte by byte: each case is
// one socket's bytes and what must happen.
func TestInboundFrameLimits(t *testing.T) {
	const preAuth = 64 << 10
	const maxPayload = 2 << 20
	big := func(n int) []byte { return bytes.Repeat([]byte("a"), n) }
	tests := []struct {
		name   string
		auth   bool
		send   [][]byte
		want   int    // close code; 0: the frame reaches the handler
		gotLen int    // with want 0: the length the handler sees
		reason string // with want != 0
	}{
		{name: "pre-auth frame at the limit", send: [][]byte{frame(0x1, true, big(preAuth))}, gotLen: preAuth},
		{name: "pre-auth frame one byte over", send: [][]byte{frame(0x1, true, big(preAuth+1))}, want: 1009, reason: "frame too large"},
		{name: "pre-auth header alone over the limit", send: [][]byte{header(0x1, true, preAuth+1)}, want: 1009},
		// A length with the top bit set is negative as an int: gws 1.8.9
		// sliced with it and panicked, killing the whole process.
		{name: "64-bit length with the top bit set", send: [][]byte{append(header(0x1, true, 1<<63), 'x')}, want: 1009},
		{name: "64-bit length 2^64-1", send: [][]byte{header(0x1, true, ^uint64(0))}, want: 1009},
		{name: "pre-auth fragments adding up past the limit", send: [][]byte{
			frame(0x1, false, big(30<<10)), frame(0x0, false, big(30<<10)), header(0x0, true, 30<<10),
		}, want: 1009},
		{name: "pre-auth fragments under the limit with a ping between", send: [][]byte{
			frame(0x1, false, big(30<<10)), frame(0x9, true, []byte("p")), frame(0x0, true, big(30<<10)),
		}, gotLen: 60 << 10},
		{name: "binary frame reaches the handler like text", send: [][]byte{frame(0x2, true, []byte(`{"type":"req"}`))}, gotLen: 14},
		{name: "after auth a 1 MiB frame passes", auth: true, send: [][]byte{frame(0x1, true, big(1<<20))}, gotLen: 1 << 20},
		{name: "after auth maxPayload passes", auth: true, send: [][]byte{frame(0x1, true, big(maxPayload))}, gotLen: maxPayload},
		{name: "after auth maxPayload+1 is refused by its header", auth: true, send: [][]byte{header(0x1, true, maxPayload+1)}, want: 1009},
		{name: "after auth fragments past maxPayload", auth: true, send: [][]byte{
			frame(0x1, false, big(maxPayload/2)), frame(0x0, false, big(maxPayload/2)), header(0x0, true, 1),
		}, want: 1009},
	}
	ts := startServer(t, server.Options{Limits: server.Limits{PreAuthMaxFrame: preAuth, MaxPayload: maxPayload}}, authOnFrame)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := dial(t, ts.addr)
			r := ts.next(t)
			if tt.auth {
				w.authenticate()
				r.nextFrame(t) // "auth"
			}
			for _, b := range tt.send {
				w.write(b)
			}
			if tt.want != 0 {
				code, reason := w.closeCode(10 * time.Second)
				if code != tt.want || (tt.reason != "" && reason != tt.reason) {
					t.Fatalf("close %d %q, want %d %q", code, reason, tt.want, tt.reason)
				}
				r.waitClosed(t)
				return
			}
			if got := r.nextFrame(t); len(got) != tt.gotLen {
				t.Fatalf("handler got %d bytes, want %d", len(got), tt.gotLen)
			}
			// The socket is still usable.
			w.text("after")
			if got := r.nextFrame(t); string(got) != "after" {
				t.Fatalf("next frame %q, want after", got)
			}
		})
	}
}

// Loopback is one address for the pre-auth count: 127.0.0.2 is the same
// machine as 127.0.0.1 and used to get 32 sockets more.
func TestPreAuthLoopbackCountsAsOne(t *testing.T) {
	ts := startServer(t, server.Options{Limits: server.Limits{MaxPreAuthPerIP: 2}}, authOnFrame)
	a, _, _ := upgrade(t, ts.addr, upgradeReq{from: "127.0.0.1"})
	upgrade(t, ts.addr, upgradeReq{from: "127.0.0.2"})
	for _, from := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
		_, code, body := upgrade(t, ts.addr, upgradeReq{from: from})
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "too many unauthenticated") {
			t.Fatalf("third pre-auth socket from %s: HTTP %d %q, want 503", from, code, body)
		}
	}
	// An authenticated socket no longer counts.
	a.authenticate()
	if _, code, body := upgrade(t, ts.addr, upgradeReq{from: "127.0.0.3"}); code != http.StatusSwitchingProtocols {
		t.Fatalf("after one authenticated: HTTP %d %q, want 101", code, body)
	}
}

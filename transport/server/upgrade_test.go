package server_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"openclaw/transport/server"
)

// Issue 16 item 8: gws answers 101 to any non-empty Sec-WebSocket-Key. RFC
// 6455 §4.1 wants the base64 of 16 random bytes; the reference answers 400
// "Missing or invalid Sec-WebSocket-Key header" to anything else.
func TestSecWebSocketKey(t *testing.T) {
	ts := startServer(t, server.Options{}, nil)
	tests := []struct {
		key  string
		want int
	}{
		{testKey, http.StatusSwitchingProtocols},
		{"AAAAAAAAAAAAAAAAAAAAAA==", http.StatusSwitchingProtocols},
		{"abc", http.StatusBadRequest},
		{"AAAAAAAAAAAAAA==", http.StatusBadRequest},         // 10 bytes
		{"AAAAAAAAAAAAAAAAAAAAAAAA", http.StatusBadRequest}, // 18 bytes
		{"!!!!!!!!!!!!!!!!!!!!!!==", http.StatusBadRequest}, // not base64
		{" dGhlIHNhbXBsZSBub25jZQ", http.StatusBadRequest},
	}
	for _, tt := range tests {
		_, code, body := upgrade(t, ts.addr, upgradeReq{key: tt.key})
		if code != tt.want {
			t.Errorf("key %q: HTTP %d %q, want %d", tt.key, code, body, tt.want)
		}
		if code == http.StatusBadRequest && strings.TrimSpace(body) != "Missing or invalid Sec-WebSocket-Key header" {
			t.Errorf("key %q: body %q", tt.key, body)
		}
	}
}

// flood is a handler that, on "flood", sends 1 MiB frames, each once the one
// before was written, until the kernel's buffers are full and a write is
// stuck halfway through a frame; then more until the backlog is over the
// limit and the socket is dropped. It reports how many frames were queued.
func flood(dropped chan<- int) func(*server.Socket, []byte) {
	return func(s *server.Socket, data []byte) {
		switch string(data) {
		case "auth":
			authOnFrame(s, data)
		case "flood":
			frame := []byte(`{"type":"event","event":"pad","payload":"` + strings.Repeat("x", 1<<20) + `"}`)
			n := 0
			for {
				for i := 0; i < 50 && s.Backlog() > 0; i++ {
					time.Sleep(time.Millisecond)
				}
				if !s.Send(frame) {
					break
				}
				n++
			}
			dropped <- n
		}
	}
}

// Issue 16 item 8: a socket dropped as a slow consumer used to be cut off
// mid-frame (the stuck write was aborted after 100 ms), so a peer that was
// slow, not gone, read a broken stream ("unexpected EOF") instead of a
// close code. Now it gets the frame in progress and then close 1008 "slow
// consumer".
func TestSlowConsumerReadableClose(t *testing.T) {
	dropped := make(chan int, 1)
	ts := startServer(t, server.Options{Limits: server.Limits{MaxBufferedBytes: 4 << 20}}, flood(dropped))
	w := dial(t, ts.addr)
	w.authenticate()
	w.text("flood") // and read nothing until the server gives up on us
	select {
	case n := <-dropped:
		t.Logf("dropped after %d frames were queued", n)
	case <-time.After(30 * time.Second):
		t.Fatal("the server never dropped the socket")
	}
	// A slow peer: it takes a while to come back to reading (well within
	// the grace the write in progress gets to finish).
	time.Sleep(300 * time.Millisecond)
	if code, reason := w.closeCode(10 * time.Second); code != 1008 || reason != "slow consumer" {
		t.Fatalf("close %d %q, want 1008 slow consumer", code, reason)
	}
}

// A peer that reads nothing at all gets no close frame (none can follow a
// frame cut off halfway), but it is still dropped: the connection is closed
// once the grace is over, and the socket holds nothing.
func TestSlowConsumerStuckPeerIsDropped(t *testing.T) {
	dropped := make(chan int, 1)
	ts := startServer(t, server.Options{Limits: server.Limits{MaxBufferedBytes: 4 << 20}}, flood(dropped))
	w := dial(t, ts.addr)
	r := ts.next(t)
	w.authenticate()
	w.text("flood")
	<-dropped
	r.waitClosed(t)
}

// Issue 17: a peer that stopped reading was never dropped while the
// kernel's send buffer for it (up to 4 MiB, and merged deltas keep a stuck
// reader's share of a reply below that) still took every write: no write
// ever blocked, so the write timeout never ran out, and only a missed ping
// ended it, up to two ping intervals later. Now bytes the peer leaves
// unacknowledged for the write timeout drop it, whether or not a write is
// blocked.
func TestStuckPeerDroppedWhileWritesReturn(t *testing.T) {
	const frames, size = 64, 4 << 10 // 256 KiB: far below the send buffer
	written := make(chan int, 1)
	ts := startServer(t, server.Options{Limits: server.Limits{WriteTimeout: 500 * time.Millisecond}}, func(s *server.Socket, data []byte) {
		authOnFrame(s, data)
		if string(data) == "send" {
			n := 0
			for range frames {
				if s.Send([]byte(strings.Repeat("x", size))) {
					n++
				}
			}
			written <- n
		}
	})
	w, code, body := upgrade(t, ts.addr, upgradeReq{rcvbuf: 4096})
	if code != 101 {
		t.Fatalf("upgrade: HTTP %d %q", code, body)
	}
	r := ts.next(t)
	w.authenticate()
	w.text("send") // and read nothing more
	if n := <-written; n != frames {
		t.Fatalf("%d of %d frames queued: the socket was refused as a slow consumer, not dropped as stuck", n, frames)
	}
	for r.sock.Backlog() > 0 { // every write returned: the kernel holds the rest
		select {
		case <-r.closed:
			t.Fatal("closed before the queue drained")
		case <-time.After(10 * time.Millisecond):
		}
	}
	r.waitClosed(t)
}

// The upgrade request has the gateway's handshake timeout, as the rest of
// the handshake: one sent after it finds the connection closed, one sent
// within it is upgraded.
func TestUpgradeRequestHasTheHandshakeTimeout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		limit   time.Duration
		late    time.Duration // the request is sent this long after the connect
		upgrade bool
	}{
		{"after the handshake timeout", 100 * time.Millisecond, 3 * time.Second, false},
		{"within the handshake timeout", time.Minute, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, server.Options{Limits: server.Limits{HandshakeTimeout: tc.limit}}, nil)
			c, err := net.Dial("tcp", ts.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			time.Sleep(tc.late)
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			req := "GET / HTTP/1.1\r\nHost: " + ts.addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + testKey + "\r\n\r\n"
			_, _ = io.WriteString(c, req) // may fail: the server closed its end
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if tc.upgrade {
				if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
					t.Fatalf("upgrade answered %v %v, want 101", resp, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("a request %s after the connect, past a %s handshake timeout, was answered %s", tc.late, tc.limit, resp.Status)
			}
		})
	}
}

package server_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"openclaw/transport/protocol"
	"openclaw/transport/server"
)

// Sockets whose peers stop reading hand their writes over to goroutines of
// their own: with more stuck sockets than pool writers, a reading socket
// still gets every broadcast while they hold unwritten bytes, and once they
// read again each gets its whole stream, in order and with every frame
// intact (the pool's partial writes are finished where they stopped).
func TestStuckPeersDoNotHoldThePool(t *testing.T) {
	const (
		frames = 1000
		pad    = 8 << 10 // under the copy limit: these go through the pool
		events = 200
	)
	ts := startServer(t, server.Options{}, authOnFrame)
	stuck := make([]*wsClient, runtime.GOMAXPROCS(0)+2)
	socks := make([]*server.Socket, len(stuck))
	for i := range stuck {
		stuck[i], _, _ = upgrade(t, ts.addr, upgradeReq{rcvbuf: 4096})
		stuck[i].authenticate()
		socks[i] = ts.next(t).sock
	}
	reader := dial(t, ts.addr)
	reader.authenticate()
	rs := ts.next(t).sock

	body := strings.Repeat("x", pad)
	for i := range frames {
		for _, s := range socks {
			if !s.Send(fmt.Appendf(nil, `{"n":%d,"pad":"%s"}`, i, body)) {
				t.Fatalf("send %d refused", i)
			}
		}
	}
	for i := range events {
		rs.SendBroadcast(protocol.NewBroadcast("e", map[string]int{"i": i}, nil))
	}
	for i := range events {
		_, p, err := reader.read(10 * time.Second)
		if err != nil {
			t.Fatalf("reader: event %d: %v", i, err)
		}
		if want := fmt.Sprintf(`{"type":"event","event":"e","payload":{"i":%d},"seq":%d}`, i, i+1); string(p) != want {
			t.Fatalf("reader: got %s, want %s", p, want)
		}
	}
	for i, s := range socks {
		if s.Backlog() == 0 {
			t.Fatalf("stuck socket %d wrote everything: the kernel took %d MB for a peer that reads nothing", i, frames*pad>>20)
		}
	}
	for i, c := range stuck {
		for n := range frames {
			op, p, err := c.read(10 * time.Second)
			if err != nil || op != 0x1 {
				t.Fatalf("stuck socket %d, frame %d: op %d, %v", i, n, op, err)
			}
			if want := fmt.Sprintf(`{"n":%d,"pad":"%s"}`, n, body); string(p) != want {
				t.Fatalf("stuck socket %d, frame %d: got %.40s… (%d bytes)", i, n, p, len(p))
			}
		}
	}
}

// A ping is answered through the socket's queue: behind the frames queued
// before it, never inside one of them.
func TestPongQueuedBehindFrames(t *testing.T) {
	const frames = 300
	body := strings.Repeat("y", 4<<10)
	ts := startServer(t, server.Options{}, func(s *server.Socket, data []byte) {
		authOnFrame(s, data)
		if string(data) == "burst" {
			for i := range frames {
				s.Send(fmt.Appendf(nil, `{"n":%d,"pad":"%s"}`, i, body))
			}
		}
	})
	w := dial(t, ts.addr)
	w.authenticate()
	w.text("burst")
	w.write(frame(0x9, true, []byte("ping-1")))
	for n := 0; ; n++ {
		op, p, err := w.read(10 * time.Second)
		if err != nil {
			t.Fatalf("after %d frames: %v", n, err)
		}
		if op == 0xA {
			if string(p) != "ping-1" || n != frames {
				t.Fatalf("pong %q after %d frames, want ping-1 after %d", p, n, frames)
			}
			return
		}
		if want := fmt.Sprintf(`{"n":%d,"pad":"%s"}`, n, body); op != 0x1 || string(p) != want {
			t.Fatalf("frame %d: op %d, %.40s… (%d bytes)", n, op, p, len(p))
		}
	}
}

// A socket that once wrote from its own goroutine (a frame over the copy
// limit: such a write waits for the peer, with the write deadline) goes
// back to the pool without that deadline: the pool's writes check it too,
// and one left to expire closed a socket that was keeping up.
func TestPoolWriteAfterTheWriteTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	ts := startServer(t, server.Options{Limits: server.Limits{WriteTimeout: timeout}}, authOnFrame)
	w := dial(t, ts.addr)
	w.authenticate()
	s := ts.next(t).sock
	big := `{"pad":"` + strings.Repeat("z", 64<<10) + `"}`
	s.Send([]byte(big))
	if _, p, err := w.read(10 * time.Second); err != nil || string(p) != big {
		t.Fatalf("big frame: %d bytes, %v", len(p), err)
	}
	// Not a wait for a condition: the deadline that write set has to be
	// in the past for the next write to prove anything.
	time.Sleep(3 * timeout)
	for i := range 3 {
		want := fmt.Sprintf(`{"n":%d}`, i)
		s.Send([]byte(want))
		if op, p, err := w.read(10 * time.Second); err != nil || op != 0x1 || string(p) != want {
			t.Fatalf("frame %d after the deadline: op %d %q %v", i, op, p, err)
		}
	}
}

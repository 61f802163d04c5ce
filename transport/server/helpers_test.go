package server_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"openclaw/transport/server"
)

// testKey is a valid Sec-WebSocket-Key (RFC 6455 §1.3's example).
const testKey = "dGhlIHNhbXBsZSBub25jZQ=="

// recorder is the trivial Handler the tests run the server with: it keeps
// each socket's frames and lets the test act on the Socket.
type recorder struct {
	sock   *server.Socket
	frames chan []byte
	closed chan struct{}
	// onFrame, when set, runs on the read goroutine for each frame.
	onFrame func(s *server.Socket, data []byte)
}

func (r *recorder) Frame(data []byte) {
	if r.onFrame != nil {
		r.onFrame(r.sock, data)
	}
	select {
	case r.frames <- append([]byte(nil), data...):
	default:
	}
}

func (r *recorder) Closed() { close(r.closed) }

type testServer struct {
	*server.Server
	addr  string
	socks chan *recorder
}

// startServer runs a Server on 127.0.0.1 with a recorder per socket.
func startServer(t testing.TB, opts server.Options, onFrame func(*server.Socket, []byte)) *testServer {
	t.Helper()
	ts := &testServer{socks: make(chan *recorder, 256)}
	opts.Hosts = []string{"127.0.0.1"}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	opts.Accept = func(s *server.Socket) server.Handler {
		r := &recorder{sock: s, frames: make(chan []byte, 64), closed: make(chan struct{}), onFrame: onFrame}
		select {
		case ts.socks <- r:
		default:
		}
		return r
	}
	ts.Server = server.New(opts)
	if err := ts.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = ts.Stop(ctx)
	})
	ts.addr = ts.Addr()
	return ts
}

// next is the server side of the socket accepted next.
func (ts *testServer) next(t testing.TB) *recorder {
	t.Helper()
	select {
	case r := <-ts.socks:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no socket accepted")
		return nil
	}
}

// wsClient is a WebSocket client written by hand, so a test can send what
// no library would: a header without its payload, bad keys, odd opcodes.
type wsClient struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

// upgradeReq is one upgrade attempt.
type upgradeReq struct {
	from   string // source address (127.0.0.2 …); "" lets the kernel pick
	key    string // Sec-WebSocket-Key; "" is testKey
	origin string // Origin header; "" sends none
	host   string // Host header; "" is the server's address
	rcvbuf int    // the client's kernel receive buffer; 0 is the system's
}

// upgrade sends the upgrade request and reads the answer. It returns the
// client (usable after a 101) and the HTTP status and body.
func upgrade(t testing.TB, addr string, u upgradeReq) (*wsClient, int, string) {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if u.from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(u.from)}
	}
	if u.rcvbuf > 0 {
		// Set before connecting: the window is small from the first byte.
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			if err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, u.rcvbuf)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %q: %v", addr, u.from, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if u.key == "" {
		u.key = testKey
	}
	if u.host == "" {
		u.host = addr
	}
	req := "GET / HTTP/1.1\r\nHost: " + u.host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + u.key + "\r\n"
	if u.origin != "" {
		req += "Origin: " + u.origin + "\r\n"
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("upgrade answer: %v", err)
	}
	body := ""
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		body = string(b)
	}
	_ = c.SetDeadline(time.Time{})
	return &wsClient{t: t, c: c, br: br}, resp.StatusCode, body
}

// dial upgrades and fails the test unless the answer is 101.
func dial(t testing.TB, addr string) *wsClient {
	t.Helper()
	w, code, body := upgrade(t, addr, upgradeReq{})
	if code != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: HTTP %d %q, want 101", code, body)
	}
	return w
}

var mask = [4]byte{0x12, 0x34, 0x56, 0x78}

// header encodes a masked client frame header declaring n payload bytes.
func header(op byte, fin bool, n uint64) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	h := []byte{b0}
	switch {
	case n < 126:
		h = append(h, 0x80|byte(n))
	case n <= 0xFFFF:
		h = append(h, 0x80|126)
		h = binary.BigEndian.AppendUint16(h, uint16(n))
	default:
		h = append(h, 0x80|127)
		h = binary.BigEndian.AppendUint64(h, n)
	}
	return append(h, mask[:]...)
}

// frame encodes a whole masked client frame.
func frame(op byte, fin bool, payload []byte) []byte {
	out := header(op, fin, uint64(len(payload)))
	for i, b := range payload {
		out = append(out, b^mask[i%4])
	}
	return out
}

func (w *wsClient) write(b []byte) {
	w.t.Helper()
	_ = w.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := w.c.Write(b); err != nil {
		w.t.Fatalf("write: %v", err)
	}
}

func (w *wsClient) text(s string) { w.t.Helper(); w.write(frame(0x1, true, []byte(s))) }

// read reads one server frame (unmasked, unfragmented).
func (w *wsClient) read(timeout time.Duration) (op byte, payload []byte, err error) {
	_ = w.c.SetReadDeadline(time.Now().Add(timeout))
	var h [2]byte
	if _, err := io.ReadFull(w.br, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(w.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(w.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 1<<30 {
		return 0, nil, errors.New("absurd frame length " + strconv.FormatUint(n, 10))
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(w.br, payload); err != nil {
		return 0, nil, err
	}
	return h[0] & 0x0F, payload, nil
}

// closeCode reads until the server's close frame and returns its code and
// reason; data frames before it are skipped. No close frame (EOF, reset,
// timeout) is code 0 with the error as reason.
func (w *wsClient) closeCode(timeout time.Duration) (int, string) {
	for {
		op, p, err := w.read(timeout)
		if err != nil {
			return 0, err.Error()
		}
		if op == 0x8 {
			if len(p) < 2 {
				return 1005, ""
			}
			return int(binary.BigEndian.Uint16(p)), string(p[2:])
		}
	}
}

// waitClosed waits for the server to run the socket's Closed.
func (r *recorder) waitClosed(t testing.TB) {
	t.Helper()
	select {
	case <-r.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("server never closed the socket")
	}
}

// nextFrame is the next frame the handler received.
func (r *recorder) nextFrame(t testing.TB) []byte {
	t.Helper()
	select {
	case f := <-r.frames:
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no frame reached the handler")
		return nil
	}
}

// parallel runs f n times at once and waits.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); f(i) }()
	}
	wg.Wait()
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lxzan/gws"
)

// frameBytes builds one frame as a peer would send it.
func frameBytes(fin bool, op byte, payload []byte, mask []byte) []byte {
	var b bytes.Buffer
	h := op
	if fin {
		h |= 0x80
	}
	b.WriteByte(h)
	m := byte(0)
	if mask != nil {
		m = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b.WriteByte(m | byte(n))
	case n <= 0xFFFF:
		b.WriteByte(m | 126)
		_ = binary.Write(&b, binary.BigEndian, uint16(n))
	default:
		b.WriteByte(m | 127)
		_ = binary.Write(&b, binary.BigEndian, uint64(n))
	}
	p := append([]byte(nil), payload...)
	if mask != nil {
		b.Write(mask)
		for i := range p {
			p[i] ^= mask[i%4]
		}
	}
	b.Write(p)
	return b.Bytes()
}

func TestReadFrame(t *testing.T) {
	mask := []byte{1, 2, 3, 4}
	cases := []struct {
		name    string
		payload []byte
		mask    []byte
	}{
		{"short unmasked", []byte(`{"type":"event"}`), nil},
		{"short masked", []byte(`{"type":"req"}`), mask},
		{"16-bit length", bytes.Repeat([]byte("a"), 300), mask},
		{"64-bit length", bytes.Repeat([]byte("b"), 70000), nil},
		{"empty", nil, mask},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := frameBytes(true, opText, c.payload, c.mask)
			f, err := readFrame(bufio.NewReader(bytes.NewReader(raw)))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(f.payload, c.payload) && !(len(f.payload) == 0 && len(c.payload) == 0) {
				t.Errorf("payload %q, want %q", trunc(string(f.payload), 40), trunc(string(c.payload), 40))
			}
			if !bytes.Equal(f.raw, raw) {
				t.Errorf("raw bytes changed: the tap must forward them as read")
			}
		})
	}
}

func TestReadFrameRefuses(t *testing.T) {
	compressed := frameBytes(true, opText, []byte("x"), nil)
	compressed[0] |= 0x40 // RSV1: permessage-deflate
	huge := []byte{0x81, 127, 0, 0, 0, 1, 0, 0, 0, 0}
	for name, raw := range map[string][]byte{"compressed": compressed, "over the limit": huge, "truncated": frameBytes(true, opText, []byte("hello"), nil)[:4]} {
		if _, err := readFrame(bufio.NewReader(bytes.NewReader(raw))); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestAssembler(t *testing.T) {
	var a assembler
	if _, _, done := a.add(&wsFrame{fin: false, opcode: opText, payload: []byte(`{"a":`)}); done {
		t.Fatal("done after the first fragment")
	}
	op, msg, done := a.add(&wsFrame{fin: true, opcode: opContinuation, payload: []byte(`1}`)})
	if !done || op != opText || string(msg) != `{"a":1}` {
		t.Fatalf("got %v %q %v", op, msg, done)
	}
	if code, reason := closePayload([]byte{0x03, 0xE8, 'b', 'y', 'e'}); code != 1000 || reason != "bye" {
		t.Fatalf("close %d %q", code, reason)
	}
}

// echoServer is a real WebSocket server (gws) that echoes text frames, on a
// real socket, plus a plain HTTP route.
type echoServer struct{ gws.BuiltinEventHandler }

func (echoServer) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	_ = c.WriteMessage(gws.OpcodeText, m.Bytes())
}

type recvClient struct {
	gws.BuiltinEventHandler
	got chan string
}

func (r *recvClient) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	r.got <- string(m.Bytes())
}

func TestTapPassesAndLogsBothWays(t *testing.T) {
	up := gws.NewUpgrader(echoServer{}, &gws.ServerOption{PermessageDeflate: gws.PermessageDeflate{Enabled: true}})
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		go c.ReadLoop()
	})
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("X-Frame-Options", "DENY")
		_, _ = io.WriteString(w, "<p>hi</p>")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	tap, err := startTap(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tap.Close()

	// HTTP through the tap.
	res, err := http.Get("http://" + tap.Addr + "/page")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "<p>hi</p>" || res.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("through the tap: %q %v", body, res.Header)
	}

	// A WebSocket through the tap; the client asks for compression, which
	// the tap must keep from being negotiated.
	rc := &recvClient{got: make(chan string, 1)}
	c, _, err := gws.NewClient(rc, &gws.ClientOption{Addr: tap.URL() + "/ws", PermessageDeflate: gws.PermessageDeflate{Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	go c.ReadLoop()
	msg := `{"type":"req","id":"1","method":"health","params":{"big":"` + strings.Repeat("x", 70000) + `"}}`
	if err := c.WriteMessage(gws.OpcodeText, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-rc.got:
		if got != msg {
			t.Fatalf("echo through the tap differs (%d bytes, want %d)", len(got), len(msg))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no echo through the tap")
	}
	_ = c.WriteClose(1000, []byte("done"))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	want := []func(Entry) bool{
		func(e Entry) bool {
			return e.HTTP != nil && e.HTTP.Path == "/page" && e.HTTP.Status == 200 && e.HTTP.Body == "<p>hi</p>"
		},
		func(e Entry) bool {
			return e.HTTP != nil && e.HTTP.Upgrade && e.HTTP.Status == 101 && e.HTTP.Header["Sec-Websocket-Extensions"] == ""
		},
		func(e Entry) bool { return e.Dir == "c2s" && string(e.Frame) == msg },
		func(e Entry) bool { return e.Dir == "s2c" && string(e.Frame) == msg },
		func(e Entry) bool {
			return e.Dir == "c2s" && e.Close != nil && e.Close.Code == 1000 && e.Close.Reason == "done"
		},
	}
	mark := 0
	for i, w := range want {
		e, err := tap.Log.Wait(ctx, mark, w)
		if err != nil {
			t.Fatalf("entry %d not logged in order (log: %v)", i, describeAll(tap.Log.Since(0)))
		}
		mark = e.N
	}
}

func describeAll(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.describe())
	}
	return out
}

// A match function may call back into the log (the recorder's matches ask
// for a connection's label) without deadlocking, and Wait wakes up for an
// entry added after it started waiting.
func TestFrameLogWaitMatchMayUseTheLog(t *testing.T) {
	l := newFrameLog()
	l.add(Entry{Conn: 1, Dir: "c2s", Frame: []byte(`{"type":"req","id":"1","method":"connect","params":{"client":{"id":"cli","mode":"cli"}}}`)})
	go func() {
		time.Sleep(50 * time.Millisecond)
		l.add(Entry{Conn: 1, Dir: "s2c", Frame: []byte(`{"type":"res","id":"1","ok":true}`)})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e, err := l.Wait(ctx, 0, func(e Entry) bool { return l.Label(e.Conn) == "cli/cli/operator" && e.Dir == "s2c" })
	if err != nil || e.N != 2 {
		t.Fatalf("Wait = entry %d, %v; want entry 2", e.N, err)
	}
}

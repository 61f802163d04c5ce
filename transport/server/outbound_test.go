package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"openclaw/transport/protocol"
	"openclaw/transport/server"
)

// Issue 16 item 1: gws refuses to write a frame over its write limit (16 MiB
// by default) and closes the socket 1001 instead, while clients may send 25
// MiB. A 17 MiB frame, such as a presence row holding a 17 MB system-event
// text, closed every reader it was sent to. Now every frame up to
// MaxFrameOut (maxPayload) is written.
func TestFrameOver16MiBReachesTheReader(t *testing.T) {
	const size = 17 << 20
	ts := startServer(t, server.Options{}, func(s *server.Socket, data []byte) {
		switch string(data) {
		case "auth":
			authOnFrame(s, data)
		case "big":
			frame := `{"type":"event","event":"big","payload":"` + strings.Repeat("x", size) + `"}`
			s.Send([]byte(frame))
			s.Send([]byte(`{"type":"event","event":"after"}`))
		}
	})
	w := dial(t, ts.addr)
	w.authenticate()
	w.text("big")
	op, p, err := w.read(30 * time.Second)
	if err != nil || op != 0x1 || len(p) < size {
		code, reason := 0, ""
		if op == 0x8 && len(p) >= 2 {
			code, reason = int(p[0])<<8|int(p[1]), string(p[2:])
		}
		t.Fatalf("want a %d-byte text frame, got op %d (%d bytes, close %d %q) %v", size, op, len(p), code, reason, err)
	}
	if _, p, err := w.read(10 * time.Second); err != nil || string(p) != `{"type":"event","event":"after"}` {
		t.Fatalf("socket not usable after the large frame: %q %v", p, err)
	}
}

// A frame over MaxFrameOut is never written and never closes the socket: a
// response becomes an error response with the same id (the caller learns
// its request failed), anything else is skipped.
func TestFrameOverTheOutboundLimit(t *testing.T) {
	const limit = 1 << 20
	pad := strings.Repeat("x", limit)
	resp := protocol.OK("r-1", map[string]any{"text": pad})
	failed := protocol.FailRawID(7, protocol.NewError(protocol.CodeInvalidRequest, pad, nil))
	tooLarge := func(id string, size int) string {
		return fmt.Sprintf(`{"type":"res","id":%s,"ok":false,"error":{"code":"INVALID_REQUEST",`+
			`"message":"response too large to send: %d bytes, over the %d-byte frame limit",`+
			`"details":{"code":"RESPONSE_TOO_LARGE","limit":%d,"size":%d}}}`, id, size, limit, limit, size)
	}
	tests := []struct {
		name string
		send func(s *server.Socket)
		want string // the frame the client reads before the marker; "" for none
	}{
		{
			name: "response",
			send: func(s *server.Socket) { s.Send(resp) },
			want: tooLarge(`"r-1"`, len(resp)),
		},
		{
			name: "failed response with the id the client sent as a number",
			send: func(s *server.Socket) { s.Send(failed) },
			want: tooLarge("7", len(failed)),
		},
		{
			name: "event sent to one socket",
			send: func(s *server.Socket) { s.Send(protocol.EncodeEvent("big", pad)) },
		},
		{
			name: "broadcast",
			send: func(s *server.Socket) { s.SendBroadcast(protocol.NewBroadcast("big", pad, nil)) },
		},
		{
			name: "broadcast at the limit",
			send: func(s *server.Socket) {
				b := protocol.NewBroadcast("fits", "", nil)
				fill := limit - len(b.Head) - len(b.Tail) - len(`,"seq":1`)
				s.SendBroadcast(protocol.NewBroadcast("fits", strings.Repeat("y", fill), nil))
			},
			want: "fits",
		},
	}
	sends := make(chan func(*server.Socket), 1)
	ts := startServer(t, server.Options{Limits: server.Limits{MaxPayload: limit}}, func(s *server.Socket, data []byte) {
		switch string(data) {
		case "auth":
			authOnFrame(s, data)
		case "go":
			(<-sends)(s)
			s.Send([]byte(`{"type":"event","event":"marker"}`))
		}
	})
	w := dial(t, ts.addr)
	w.authenticate()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sends <- tt.send
			w.text("go")
			var got []string
			for {
				op, p, err := w.read(10 * time.Second)
				if err != nil || op != 0x1 {
					t.Fatalf("socket closed or failed (op %d %q): %v", op, p, err)
				}
				if string(p) == `{"type":"event","event":"marker"}` {
					break
				}
				got = append(got, string(p))
			}
			switch {
			case tt.want == "" && len(got) != 0:
				t.Fatalf("want nothing before the marker, got %d frames (first %.200s)", len(got), got[0])
			case tt.want == "fits":
				var ev struct{ Event string }
				if len(got) != 1 || len(got[0]) != limit || json.Unmarshal([]byte(got[0]), &ev) != nil || ev.Event != "fits" {
					t.Fatalf("want the %d-byte broadcast, got %d frames", limit, len(got))
				}
			case tt.want != "" && (len(got) != 1 || got[0] != tt.want):
				t.Fatalf("got %.300q\nwant %s", got, tt.want)
			}
		})
	}
}

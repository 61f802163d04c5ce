package server_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"openclaw/transport/protocol"
	"openclaw/transport/server"
)

// deltaPayload is the payload of the test's delta events: the shape of an
// agent assistant event, reduced.
type deltaPayload struct {
	RunID   string `json:"runId"`
	Seq     int64  `json:"seq"`
	FromSeq int64  `json:"fromSeq,omitempty"`
	Text    string `json:"text,omitempty"`
	Delta   string `json:"delta"`
}

// delta builds the broadcast of one text delta of run, as a run actor does.
func delta(event, run string, seq int64, text, piece string) *protocol.Broadcast {
	enc := func(d *protocol.Delta) *protocol.Broadcast {
		p := deltaPayload{RunID: run, Seq: d.Seq, Text: d.Text, Delta: d.Piece}
		if d.FromSeq != d.Seq {
			p.FromSeq = d.FromSeq
		}
		return protocol.NewBroadcast(event, p, nil)
	}
	d := protocol.NewDelta(seq, seq, text, piece, enc)
	b := enc(d)
	b.Run, b.Delta = run, d
	return b
}

// runEvent is another event of run (a tool or lifecycle event): never
// merged, and no delta of the run merges across it.
func runEvent(run string, seq int64) *protocol.Broadcast {
	b := protocol.NewBroadcast("agent", map[string]any{"runId": run, "seq": seq, "stream": "tool"}, nil)
	b.Run = run
	return b
}

// TestDeltasMergeWhileTheWriteIsStuck: while a socket's write is stuck (its
// peer stopped reading), the deltas queued behind it merge into the run's
// previous delta of the same event, exactly, with no seq gap; never across
// the run's other events nor across a response.
func TestDeltasMergeWhileTheWriteIsStuck(t *testing.T) {
	pad := []byte(`{"type":"event","event":"pad","payload":"` + strings.Repeat("x", 8<<20) + `"}`)
	queued := make(chan struct{})
	ts := startServer(t, server.Options{}, func(s *server.Socket, data []byte) {
		switch string(data) {
		case "auth":
			authOnFrame(s, data)
		case "go":
			// The pad is more than the kernel's buffers take: its write
			// is stuck, and everything after it waits in the socket's
			// queue until the client reads again.
			s.Send(pad)
			s.Broadcast(delta("agent", "R", 1, "a", "a"), delta("chat", "R", 1, "", "a"))
			s.Broadcast(delta("agent", "R", 2, "ab", "b"), delta("chat", "R", 2, "", "b"))
			s.Broadcast(delta("agent", "Q", 1, "q", "q"))
			s.Broadcast(delta("agent", "R", 3, "abc", "c"))
			s.Broadcast(protocol.NewBroadcast("presence", "p", nil))
			s.Broadcast(delta("agent", "R", 4, "abc\"é\n", "\"é\n"))
			s.Broadcast(runEvent("R", 5))
			s.Broadcast(delta("agent", "R", 6, "abc\"é\nd", "d"))
			s.Send([]byte(`{"type":"res","id":"1","ok":true}`))
			s.Broadcast(delta("agent", "R", 7, "abc\"é\nde", "e"))
			s.Broadcast(delta("agent", "R", 8, "abc\"é\nde<f>", "<f>"))
			s.Send([]byte("end"))
			if got := s.Merged(); got != 5 {
				t.Errorf("Merged() = %d, want 5", got)
			}
			close(queued)
		}
	})
	w := dial(t, ts.addr)
	w.authenticate()
	w.text("go")
	select {
	case <-queued:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler did not queue everything")
	}
	want := []string{
		`{"type":"event","event":"agent","payload":{"runId":"R","seq":4,"fromSeq":1,"text":"abc\"é\n","delta":"abc\"é\n"},"seq":1}`,
		`{"type":"event","event":"chat","payload":{"runId":"R","seq":2,"fromSeq":1,"delta":"ab"},"seq":2}`,
		`{"type":"event","event":"agent","payload":{"runId":"Q","seq":1,"text":"q","delta":"q"},"seq":3}`,
		`{"type":"event","event":"presence","payload":"p","seq":4}`,
		`{"type":"event","event":"agent","payload":{"runId":"R","seq":5,"stream":"tool"},"seq":5}`,
		`{"type":"event","event":"agent","payload":{"runId":"R","seq":6,"text":"abc\"é\nd","delta":"d"},"seq":6}`,
		`{"type":"res","id":"1","ok":true}`,
		`{"type":"event","event":"agent","payload":{"runId":"R","seq":8,"fromSeq":7,"text":"abc\"é\nde\u003cf\u003e","delta":"e\u003cf\u003e"},"seq":7}`,
		`end`,
	}
	if _, p, err := w.read(20 * time.Second); err != nil || len(p) != len(pad) {
		t.Fatalf("pad: %d bytes, %v", len(p), err)
	}
	for i, frame := range want {
		_, p, err := w.read(10 * time.Second)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if string(p) != frame {
			t.Errorf("frame %d:\n got %s\nwant %s", i, p, frame)
		}
		if json.Valid([]byte(frame)) != json.Valid(p) {
			t.Errorf("frame %d is not valid JSON: %s", i, p)
		}
	}
}

// A merge whose frame would pass MaxFrameOut is not made: the delta is
// queued on its own.
func TestMergeNeverMakesAFrameTooLarge(t *testing.T) {
	pad := []byte(`{"type":"event","event":"pad","payload":"` + strings.Repeat("x", 8<<20) + `"}`)
	a, b := strings.Repeat("a", 3<<20), strings.Repeat("b", 3<<20)
	queued := make(chan struct{})
	ts := startServer(t, server.Options{Limits: server.Limits{MaxFrameOut: 10 << 20}}, func(s *server.Socket, data []byte) {
		switch string(data) {
		case "auth":
			authOnFrame(s, data)
		case "go":
			s.Send(pad)
			s.Broadcast(delta("agent", "R", 1, a, a))   // a 6 MiB frame
			s.Broadcast(delta("agent", "R", 2, a+b, b)) // 9 MiB; both merged would be 12
			s.Send([]byte("end"))
			if got := s.Merged(); got != 0 {
				t.Errorf("Merged() = %d, want 0", got)
			}
			close(queued)
		}
	})
	w := dial(t, ts.addr)
	w.authenticate()
	w.text("go")
	<-queued
	for i, want := range []struct {
		size int
		seq  string
	}{{len(pad), ""}, {6 << 20, `"seq":1}`}, {9 << 20, `"seq":2}`}, {3, ""}} {
		_, p, err := w.read(30 * time.Second)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if len(p) < want.size || len(p) > want.size+200 || !strings.HasSuffix(string(p), want.seq) || strings.Contains(string(p[:min(len(p), 100)]), "fromSeq") {
			t.Fatalf("frame %d: %d bytes ending %q, want about %d ending %q", i, len(p), p[max(len(p)-20, 0):], want.size, want.seq)
		}
	}
}

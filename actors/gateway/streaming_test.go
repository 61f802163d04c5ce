package gateway_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"openclaw/actors/gateway"
	"openclaw/actors/gateway/gatewaytest"
	"openclaw/transport/protocol"
	"openclaw/transport/provider/fakeprovider"
)

// Issue 17: deltas merged for readers that fall behind, a stuck reader
// dropped without delaying the others, and catch-up after a reconnect.

// pieces is a reply of n deltas, with text that JSON escapes and multi-byte
// characters, size bytes each or so.
func pieces(n, size int) []string {
	out := make([]string, n)
	for i := range out {
		s := fmt.Sprintf("%d:\"é\\<\n", i)
		out[i] = s + strings.Repeat("w", max(size-len(s), 0))
	}
	return out
}

// rawReply streams pieces as the provider's text deltas, one per chunk.
func rawReply(ps []string, delay time.Duration) fakeprovider.Reply {
	return fakeprovider.Reply{Text: strings.Join(ps, ""), Deltas: len(ps), ChunkDelay: delay}
}

// runView is what one reader made of one run, checked as it read.
type runView struct {
	agentText, chatText string // rebuilt from the deltas
	final               string // the chat final's message text
	merged              int    // events that stood for several
	events              int
	seqs                int64 // agent and chat run seqs covered
	ended               bool  // lifecycle end seen
}

// follow reads w until runID's lifecycle end and checks, frame by frame,
// the rules a reader relies on: the socket's seq goes up by one with no gap;
// the run's agent and chat events cover their run seqs from 1 once each,
// in order (a merged event covers fromSeq..seq); assistant deltas
// concatenate to the cumulative text each carries. It fails the test on the
// first broken rule and returns early, with ended false, if the socket
// closes first.
func follow(t *testing.T, w *gatewaytest.Conn, runID string, timeout time.Duration) runView {
	t.Helper()
	var v runView
	var lastSeq, agentNext, chatNext int64 = 0, 1, 1
	deadline := time.After(timeout)
	for !v.ended {
		var f *gatewaytest.Frame
		select {
		case f = <-w.Frames():
		case <-w.Done():
			select {
			case f = <-w.Frames():
			default:
				return v
			}
		case <-deadline:
			t.Fatalf("run %s not over after %s (%d events)", runID, timeout, v.events)
		}
		if f.Seq != nil {
			if lastSeq != 0 && *f.Seq != lastSeq+1 {
				t.Fatalf("socket seq %d after %d", *f.Seq, lastSeq)
			}
			lastSeq = *f.Seq
		}
		if f.Type != "event" || (f.Event != "agent" && f.Event != "chat") {
			continue
		}
		var p struct {
			RunID, Stream, State, DeltaText string
			Seq, FromSeq                    int64
			Data                            struct{ Text, Delta, Phase string }
			Message                         *struct{ Content []struct{ Text string } }
		}
		if err := json.Unmarshal(f.Payload, &p); err != nil {
			t.Fatal(err)
		}
		if p.RunID != runID {
			continue
		}
		v.events++
		from := cmp.Or(p.FromSeq, p.Seq)
		if p.FromSeq != 0 {
			v.merged++
		}
		next := &agentNext
		if f.Event == "chat" {
			next = &chatNext
		}
		if from != *next || p.Seq < from {
			t.Fatalf("%s event covers run seqs %d..%d, want it to start at %d", f.Event, from, p.Seq, *next)
		}
		*next = p.Seq + 1
		v.seqs += p.Seq - from + 1
		switch {
		case f.Event == "agent" && p.Stream == "assistant":
			v.agentText += p.Data.Delta
			if p.Data.Text != v.agentText {
				t.Fatalf("cumulative text %q, deltas so far %q", p.Data.Text, v.agentText)
			}
		case f.Event == "agent" && p.Stream == "lifecycle" && p.Data.Phase == "end":
			v.ended = true
		case f.Event == "chat" && p.State == "delta":
			v.chatText += p.DeltaText
		case f.Event == "chat" && p.State == "final" && p.Message != nil:
			for _, c := range p.Message.Content {
				v.final += c.Text
			}
		}
	}
	return v
}

// TestMergedDeltasAreExact: a reader that stops reading while a reply
// streams gets, once it reads again, fewer and bigger events (merged) that
// rebuild exactly the text a fast reader rebuilds from every one; the fast
// reader gets the whole reply while the other is still stuck.
func TestMergedDeltasAreExact(t *testing.T) {
	ps := pieces(200, 200) // ~4 MB of agent events
	want := strings.Join(ps, "")
	fp := fakeprovider.New(t, rawReply(ps, 0))
	gw := agentGateway(t, fp, nil)
	read := gatewaytest.Client{ID: "cli", Mode: "cli", Token: gatewaytest.Token, Scopes: []string{"operator.read"}}
	fast, _ := gatewaytest.MustConnect(t, gw.URL, read)
	read.ReceiveBuffer = 4096
	slow, _ := gatewaytest.MustConnect(t, gw.URL, read)
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	resume := slow.Stall()

	adm.Call("a", "agent", map[string]any{"message": "go", "idempotencyKey": "m1"})
	f := follow(t, fast, "m1", 60*time.Second)
	if f.agentText != want || f.chatText != want || f.final != want {
		t.Fatalf("fast reader: agent %d, chat %d, final %d bytes; want %d", len(f.agentText), len(f.chatText), len(f.final), len(want))
	}
	resume()
	s := follow(t, slow, "m1", 60*time.Second)
	if !s.ended || s.agentText != want || s.chatText != want || s.final != want {
		t.Fatalf("stuck reader: ended %v, agent %d, chat %d, final %d bytes; want %d", s.ended, len(s.agentText), len(s.chatText), len(s.final), len(want))
	}
	if s.merged == 0 || int64(s.events) >= s.seqs {
		t.Fatalf("stuck reader got %d events (%d merged) for %d run seqs: nothing was merged", s.events, s.merged, s.seqs)
	}
	t.Logf("fast reader: %d events (%d merged); stuck reader: %d events (%d merged)", f.events, f.merged, s.events, s.merged)
}

// TestStuckReaderDropped: a reader that never reads again (its deltas
// merge meanwhile) is dropped once what was sent to it has made no progress
// for the write timeout; the others get the whole reply meanwhile.
func TestStuckReaderDropped(t *testing.T) {
	// ~13 MB of agent events unmerged; merged, the stuck reader's share
	// is a few MB, which its kernel send buffer takes without a write
	// ever blocking: the kernel's own timeout has to drop it.
	ps := pieces(300, 300)
	want := strings.Join(ps, "")
	fp := fakeprovider.New(t, rawReply(ps, 0))
	gw := agentGateway(t, fp, func(o *gateway.Options) { o.Limits.WriteTimeout = 2 * time.Second })
	read := gatewaytest.Client{ID: "cli", Mode: "cli", Token: gatewaytest.Token, Scopes: []string{"operator.read"}}
	fast, _ := gatewaytest.MustConnect(t, gw.URL, read)
	read.ReceiveBuffer = 4096
	stuck, _ := gatewaytest.MustConnect(t, gw.URL, read)
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	var resumed sync.Once
	stall := stuck.Stall()
	resume := func() { resumed.Do(stall) }
	defer resume()

	adm.Call("a", "agent", map[string]any{"message": "go", "idempotencyKey": "d1"})
	if f := follow(t, fast, "d1", 60*time.Second); f.agentText != want || f.final != want {
		t.Fatalf("fast reader: %d / %d bytes, want %d", len(f.agentText), len(f.final), len(want))
	}
	// The gateway lets go of the stuck socket by itself.
	connections := func() float64 {
		st := gatewaytest.Decode[map[string]any](t, adm.Call("s", "status", nil).Payload)
		return st["connections"].(map[string]any)["total"].(float64)
	}
	deadline := time.Now().Add(30 * time.Second)
	for connections() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the stuck socket is still open: %v connections", connections())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// What it had not read when it was dropped never ends the run.
	resume()
	if s := follow(t, stuck, "d1", 30*time.Second); s.ended {
		t.Fatal("the dropped reader read the whole run")
	}
	select {
	case <-stuck.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the dropped reader's socket is not closed")
	}
}

// TestReconnectMidRunRecoversText: a reader whose socket drops in the
// middle of a reply reconnects, gets the text so far from chat.history's
// inFlightRun, and with the live events after it ends with the whole text.
func TestReconnectMidRunRecoversText(t *testing.T) {
	ps := pieces(40, 20)
	want := strings.Join(ps, "")
	fp := fakeprovider.New(t, rawReply(ps, time.Millisecond))
	gate, paused := make(chan struct{}), make(chan struct{})
	var opened sync.Once
	open := func() { opened.Do(func() { close(gate) }) }
	t.Cleanup(open) // before the provider closes, which waits for its streams
	fp.OnChunk(func(_, index int, _ time.Time) {
		if index == 19 { // the provider holds the rest until the reader is back
			close(paused)
			<-gate
		}
	})
	gw := agentGateway(t, fp, nil)
	r1, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	adm.Call("a", "agent", map[string]any{"message": "go", "idempotencyKey": "c1"})
	for n := 0; n < 5; {
		if f := r1.Event("agent"); strings.Contains(string(f.Payload), `"stream":"assistant"`) {
			n++
		}
	}
	_ = r1.NetConn().Close() // the connection drops mid-reply
	<-paused

	r2, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	r2.SendJSON(map[string]any{"type": "req", "id": "h", "method": "chat.history", "params": map[string]any{"sessionKey": "agent:main:main"}})
	// Events may arrive before the answer: kept, and applied after it.
	var early []*gatewaytest.Frame
	var hist *gatewaytest.Frame
	for hist == nil {
		f := r2.Next()
		if f.Type == "res" && f.ID == "h" {
			hist = f
		} else {
			early = append(early, f)
		}
	}
	h := gatewaytest.Decode[protocol.ChatHistory](t, hist.Payload)
	in := h.InFlightRun
	if in == nil || in.RunID != "c1" || !strings.HasPrefix(want, in.Text) || len(in.Text) < len(strings.Join(ps[:20], "")) {
		t.Fatalf("inFlightRun %+v, want the first 20 pieces of the reply at least", in)
	}
	open()
	// The text so far, then every assistant event after the seq it covers.
	text := in.Text
	apply := func(f *gatewaytest.Frame) bool {
		if f.Event != "agent" {
			return false
		}
		ev := gatewaytest.Decode[agentEvent](t, f.Payload)
		if ev.RunID != "c1" {
			return false
		}
		if ev.Stream == "assistant" && ev.Seq > in.Seq {
			if cmp.Or(ev.FromSeq, ev.Seq) > in.Seq {
				text += ev.Data["delta"].(string)
			} else {
				text = ev.Data["text"].(string) // a merge that starts inside the snapshot
			}
			if text != ev.Data["text"] {
				t.Fatalf("after seq %d the text is %q, the event says %q", ev.Seq, text, ev.Data["text"])
			}
		}
		return ev.Stream == "lifecycle" && ev.Data["phase"] == "end"
	}
	ended := false
	for _, f := range early {
		ended = ended || apply(f)
	}
	for !ended {
		ended = apply(r2.Event("agent"))
	}
	if text != want {
		t.Fatalf("rebuilt %q\nwant    %q", text, want)
	}
	if h := gatewaytest.Decode[protocol.ChatHistory](t, r2.Call("h2", "chat.history", map[string]any{"sessionKey": "agent:main:main"}).Payload); h.InFlightRun != nil {
		t.Fatalf("inFlightRun after the run ended: %+v", h.InFlightRun)
	}
}

// TestSessionScopedEvents: a socket that connected with the
// session-scoped-events cap gets agent and chat events only for the
// sessions it subscribed to (sessions.messages.subscribe); the others get
// every session's, as from the reference.
func TestSessionScopedEvents(t *testing.T) {
	fp := fakeprovider.New(t)
	fp.SetDefault(fakeprovider.Text("one two three", 0))
	gw := agentGateway(t, fp, nil)
	read := gatewaytest.Client{ID: "cli", Mode: "cli", Token: gatewaytest.Token, Scopes: []string{"operator.read"}}
	all, _ := gatewaytest.MustConnect(t, gw.URL, read)
	read.Extra = map[string]any{"caps": []string{protocol.CapSessionScopedEvents}}
	scoped, _ := gatewaytest.MustConnect(t, gw.URL, read)
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())

	sub := gatewaytest.Decode[protocol.SessionSubscription](t, scoped.Call("s", "sessions.messages.subscribe", map[string]any{"key": "agent:main:s1"}).Payload)
	if !sub.Subscribed || sub.Key != "agent:main:s1" {
		t.Fatalf("subscribe: %+v", sub)
	}
	turn := func(id, session string) {
		t.Helper()
		if f := adm.Call(id, "chat.send", map[string]any{"sessionKey": session, "message": "hi", "idempotencyKey": id}); !f.OK {
			t.Fatalf("chat.send: %s", f.Raw)
		}
		if v := follow(t, all, id, 30*time.Second); v.agentText != "one two three" {
			t.Fatalf("the unscoped reader rebuilt %q", v.agentText)
		}
	}
	turn("r2", "agent:main:s2") // not subscribed
	turn("r1", "agent:main:s1")
	// The scoped reader's first run event is r1's: r2's were published
	// before r1's, and none reached it.
	for {
		f := scoped.Event("agent")
		ev := gatewaytest.Decode[agentEvent](t, f.Payload)
		if ev.RunID != "r1" {
			t.Fatalf("the scoped reader got an event of run %s (session %s)", ev.RunID, ev.SessionKey)
		}
		if ev.Stream == "lifecycle" && ev.Data["phase"] == "end" {
			break
		}
	}
	if u := gatewaytest.Decode[protocol.SessionSubscription](t, scoped.Call("u", "sessions.messages.unsubscribe", map[string]any{"key": "agent:main:s1"}).Payload); u.Subscribed {
		t.Fatalf("unsubscribe: %+v", u)
	}
	turn("r3", "agent:main:s1")
	// Nothing of r3 either: everything before the presence broadcast
	// posted after r3 ended has been read by then.
	adm.Call("p", "system-event", map[string]any{"text": "marker", "host": "m"})
	for {
		f := scoped.Next()
		if f.Event == "agent" || f.Event == "chat" {
			t.Fatalf("an event after unsubscribing: %s", f.Raw)
		}
		if f.Event == "presence" {
			break
		}
	}
	// includeApprovals: true is accepted, as at the reference (there are
	// no approvals to replay); false is not in the reference's schema.
	if f := scoped.Call("x", "sessions.messages.subscribe", map[string]any{"key": "k", "includeApprovals": true}); !f.OK {
		t.Fatalf("includeApprovals true refused: %s", f.Raw)
	}
	if f := scoped.Call("y", "sessions.messages.subscribe", map[string]any{"key": "k", "includeApprovals": false}); f.OK {
		t.Fatalf("includeApprovals false accepted: %s", f.Raw)
	}
}

// TestBroadcastAfterChurn: after sockets come and go in any order, a
// broadcast reaches every socket still open.
func TestBroadcastAfterChurn(t *testing.T) {
	gw := gatewaytest.Start(t, nil)
	read := gatewaytest.Client{ID: "cli", Mode: "cli", Token: gatewaytest.Token, Scopes: []string{"operator.read"}}
	ws := make([]*gatewaytest.Conn, 30)
	for i := range ws {
		ws[i], _ = gatewaytest.MustConnect(t, gw.URL, read)
	}
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	var open []*gatewaytest.Conn
	for i, w := range ws {
		if i%3 == 1 || i == 0 || i == len(ws)-1 {
			_ = w.NetConn().Close()
			continue
		}
		open = append(open, w)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := gatewaytest.Decode[map[string]any](t, adm.Call("s", "status", nil).Payload)
		if st["connections"].(map[string]any)["total"].(float64) == float64(len(open)+1) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("connections: %v, want %d", st["connections"], len(open)+1)
		}
		time.Sleep(20 * time.Millisecond)
	}
	adm.Call("e", "system-event", map[string]any{"text": "after churn", "host": "h"})
	for _, w := range open {
		for !strings.Contains(string(w.Event("presence").Payload), "after churn") {
		}
	}
}

// TestManyReadersNothingLost: a reply streamed as fast as the provider can
// to a few hundred readers, a third of which stop reading until the others
// have it all. The gateway cannot keep up with every socket at that rate,
// so deltas merge; every reader still ends with the exact text, the chat
// deltas' text and the final, with no seq rule broken.
func TestManyReadersNothingLost(t *testing.T) {
	const readers = 200
	ps := pieces(40, 40)
	want := strings.Join(ps, "")
	fp := fakeprovider.New(t, rawReply(ps, 0))
	gw := agentGateway(t, fp, nil)
	read := gatewaytest.Client{ID: "cli", Mode: "cli", Token: gatewaytest.Token, Scopes: []string{"operator.read"}}
	ws := make([]*gatewaytest.Conn, readers)
	var resumes []func()
	for i := range ws {
		c := read
		if i%3 == 0 {
			c.ReceiveBuffer = 4096
		}
		ws[i], _ = gatewaytest.MustConnect(t, gw.URL, c)
		if i%3 == 0 {
			resumes = append(resumes, ws[i].Stall())
		}
	}
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	adm.Call("a", "agent", map[string]any{"message": "go", "idempotencyKey": "n1"})

	views := make([]runView, readers)
	var wg sync.WaitGroup
	check := func(i int) {
		defer wg.Done()
		views[i] = follow(t, ws[i], "n1", 60*time.Second)
	}
	for i := range ws {
		if i%3 != 0 {
			wg.Add(1)
			go check(i)
		}
	}
	wg.Wait()
	for _, resume := range resumes {
		resume()
	}
	for i := range ws {
		if i%3 == 0 {
			wg.Add(1)
			go check(i)
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	merged := 0
	for i, v := range views {
		if !v.ended || v.agentText != want || v.chatText != want || v.final != want {
			t.Fatalf("reader %d: ended %v, agent %d, chat %d, final %d bytes; want %d", i, v.ended, len(v.agentText), len(v.chatText), len(v.final), len(want))
		}
		merged += v.merged
	}
	if merged == 0 {
		t.Fatalf("no reader got a merged event: the test did not force merging")
	}
	t.Logf("%d readers, %d merged events", readers, merged)
}

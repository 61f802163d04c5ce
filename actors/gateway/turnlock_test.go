package gateway_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"openclaw/actors/gateway/gatewaytest"
	"openclaw/transport/client"
	"openclaw/transport/protocol"
	"openclaw/transport/provider/fakeprovider"
)

// TestClusterTurnsOfASessionOneAtATime: a turn of a session sent to gw-1
// while a turn of the same session streams on gw-0 waits for it (the
// session's lock in JetStream): it reaches the model only after the first
// answer is in the transcript, with that answer in its context, and the
// transcript is the two turns one after the other on every gateway.
func TestClusterTurnsOfASessionOneAtATime(t *testing.T) {
	hold := make(chan struct{})
	fp := fakeprovider.New(t, fakeprovider.Reply{Text: "the first answer, held half way", Deltas: 4, Hold: hold, HoldAfter: 2},
		fakeprovider.Text("the second answer", 2))
	gws := agentCluster(t, fp)
	op0, op1, op2 := gws[0].Operator(t), gws[1].Operator(t), gws[2].Operator(t)
	formed(t, op0, op1, op2)
	const session = "agent:main:shared"
	w0, _ := gatewaytest.MustConnect(t, gws[0].URL, gatewaytest.Reader(t))
	a0, _ := gatewaytest.MustConnect(t, gws[0].URL, gatewaytest.Admin())
	if ack := a0.Call("1", "chat.send", map[string]any{"sessionKey": session, "message": "one", "idempotencyKey": "s1"}); !ack.OK {
		t.Fatalf("chat.send on gw-0: %s", ack.Raw)
	}
	for {
		f := w0.Event("chat") // the first delta: s1 holds the session
		if gatewaytest.Decode[map[string]any](t, f.Payload)["state"] == "delta" {
			break
		}
	}
	a1, _ := gatewaytest.MustConnect(t, gws[1].URL, gatewaytest.Admin())
	if ack := a1.Call("2", "chat.send", map[string]any{"sessionKey": session, "message": "two", "idempotencyKey": "s2"}); !ack.OK {
		t.Fatalf("chat.send on gw-1: %s", ack.Raw)
	}
	// Give s2 the time to reach the model if it did not wait (it must not).
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if n := len(fp.Requests()); n > 1 {
			t.Fatalf("gw-1's turn reached the model while gw-0's turn of the session ran (%d requests)", n)
		}
	}
	close(hold)
	for _, w := range []struct {
		op  *client.Client
		run string
	}{{op0, "s1"}, {op1, "s2"}} {
		raw, err := callCtx(w.op, "agent.wait", map[string]any{"runId": w.run, "timeoutMs": 15000})
		var res protocol.AgentWait
		if err != nil || json.Unmarshal(raw, &res) != nil || res.Status != "ok" {
			t.Fatalf("agent.wait %s: %v %s", w.run, err, raw)
		}
	}
	want := "user:one assistant:the first answer, held half way user:two assistant:the second answer"
	for i, op := range []*client.Client{op0, op1, op2} {
		if got := transcript(t, op, session); got != want {
			t.Fatalf("gw-%d's transcript:\n got %s\nwant %s", i, got, want)
		}
	}
	reqs := fp.Requests()
	if len(reqs) != 2 || !strings.Contains(fmt.Sprint(reqs[1].Messages), "the first answer, held half way") {
		t.Fatalf("the second turn's request does not carry the first answer: %d requests, %+v", len(reqs), reqs[len(reqs)-1].Messages)
	}
}

// transcript is chat.history of a session as "role:text" words.
func transcript(t testing.TB, op *client.Client, session string) string {
	t.Helper()
	raw, err := callCtx(op, "chat.history", map[string]any{"sessionKey": session})
	var h protocol.ChatHistory
	if err != nil || json.Unmarshal(raw, &h) != nil {
		t.Fatalf("chat.history %s: %v %s", session, err, raw)
	}
	var out []string
	for _, m := range h.Messages {
		var s string
		if json.Unmarshal(m.Content, &s) != nil {
			var parts []struct{ Text string }
			_ = json.Unmarshal(m.Content, &parts)
			for _, p := range parts {
				s += p.Text
			}
		}
		out = append(out, m.Role+":"+s)
	}
	return strings.Join(out, " ")
}

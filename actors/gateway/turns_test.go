package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"openclaw/actors/gateway"
	"openclaw/actors/gateway/gatewaytest"
	"openclaw/transport/protocol"
	"openclaw/transport/provider/fakeprovider"
)

// slowly streams text in 10 pieces, 100 ms apart.
func slowly(text string) fakeprovider.Reply {
	r := fakeprovider.Text(text, 10)
	r.ChunkDelay = 100 * time.Millisecond
	return r
}

// TestStoppedTurnAnsweredThenResumed: stopping the gateway in the middle of
// a streamed turn answers the waiting agent request (UNAVAILABLE,
// retryable, the turn is kept); the next gateway on the same state runs the
// turn again from its committed user message, once: chat.history then has
// the user message once and the answer, and agent.wait reports it done.
func TestStoppedTurnAnsweredThenResumed(t *testing.T) {
	fp := fakeprovider.New(t)
	fp.SetDefault(slowly("the first answer, cut short"))
	dir := t.TempDir()
	start := func() *gatewaytest.Gateway {
		return agentGateway(t, fp, func(o *gateway.Options) { o.StateDir = dir })
	}
	gw := start()
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	adm.Call("a", "agent", map[string]any{"message": "finish me", "idempotencyKey": "turn-1"})
	adm.Event("agent") // streaming has begun
	time.Sleep(250 * time.Millisecond)
	go gw.Stop(context.Background(), "gateway stopping", 0)
	final := adm.Res("a")
	if final.OK || final.Error.Code != "UNAVAILABLE" || final.Error.Details["code"] != "GATEWAY_STOPPING" || final.Error.Retryable == nil {
		t.Fatalf("the waiting agent request got %s", final.Raw)
	}
	if code, _ := adm.Closed(); code != 1012 {
		t.Fatalf("closed %d", code)
	}

	fp.SetDefault(fakeprovider.Text("the resumed answer", 2))
	gw = start()
	adm, _ = gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	wait := gatewaytest.Decode[protocol.AgentWait](t, adm.Call("w", "agent.wait", map[string]any{"runId": "turn-1", "timeoutMs": 10000}).Payload)
	if wait.Status != "ok" {
		t.Fatalf("agent.wait after the restart: %+v", wait)
	}
	h := gatewaytest.Decode[protocol.ChatHistory](t, adm.Call("h", "chat.history", map[string]any{"sessionKey": "agent:main:main"}).Payload)
	if len(h.Messages) != 2 || h.Messages[0].Role != "user" || h.Messages[1].Role != "assistant" ||
		string(h.Messages[1].Content) != `[{"type":"text","text":"the resumed answer"}]` {
		t.Fatalf("history after the resumed turn: %+v", h.Messages)
	}

	// A third start finds nothing to resume.
	served := fp.Served()
	if err := gw.Stop(context.Background(), "gateway stopping", 0); err != nil {
		t.Fatal(err)
	}
	gw = start()
	time.Sleep(300 * time.Millisecond)
	if fp.Served() != served {
		t.Fatal("a finished turn ran again")
	}
}

// TestSessionTurnsInOrder: two chat.send on one session run one after the
// other: the second starts when the first has ended, and the transcript
// alternates user, assistant, user, assistant.
func TestSessionTurnsInOrder(t *testing.T) {
	fp := fakeprovider.New(t)
	fp.SetDefault(slowly("an answer in ten pieces"))
	gw := agentGateway(t, fp, nil)
	rd, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Reader(t))
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	for _, id := range []string{"one", "two"} {
		if f := adm.Call(id, "chat.send", map[string]any{"sessionKey": "agent:main:s", "message": "turn " + id, "idempotencyKey": id}); !f.OK {
			t.Fatalf("chat.send %s: %s", id, f.Raw)
		}
	}
	var order []string
	for len(order) < 4 {
		ev := gatewaytest.Decode[protocol.AgentEvent](t, rd.Event("agent").Payload)
		if ev.Stream != protocol.StreamLifecycle {
			continue
		}
		var lc protocol.Lifecycle
		b, _ := json.Marshal(ev.Data)
		_ = json.Unmarshal(b, &lc)
		if lc.Phase == "start" || lc.Phase == "end" {
			order = append(order, ev.RunID+":"+lc.Phase)
		}
	}
	if want := []string{"one:start", "one:end", "two:start", "two:end"}; fmt.Sprint(order) != fmt.Sprint(want) {
		t.Fatalf("lifecycle order %v, want %v", order, want)
	}
	h := gatewaytest.Decode[protocol.ChatHistory](t, adm.Call("h", "chat.history", map[string]any{"sessionKey": "agent:main:s"}).Payload)
	var roles []string
	for _, m := range h.Messages {
		roles = append(roles, m.Role+":"+m.RunID)
	}
	if fmt.Sprint(roles) != "[user:one assistant:one user:two assistant:two]" {
		t.Fatalf("transcript %v", roles)
	}
}

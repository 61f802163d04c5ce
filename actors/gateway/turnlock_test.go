package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"openclaw/actors/gateway"
	"openclaw/actors/gateway/gatewaytest"
	"openclaw/actors/store"
	"openclaw/actors/store/jsstore"
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
	// A gateway's reads may come from a replica a few milliseconds behind.
	want := "user:one assistant:the first answer, held half way user:two assistant:the second answer"
	for i, op := range []*client.Client{op0, op1, op2} {
		eventually(t, fmt.Sprintf("gw-%d's transcript", i), func() string {
			if got := transcript(t, op, session); got != want {
				return fmt.Sprintf("\n got %s\nwant %s", got, want)
			}
			return ""
		})
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
	if err != nil {
		t.Fatalf("chat.history %s: %v", session, err)
	}
	lines, err := gatewaytest.HistoryLines(raw)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, " ")
}

// TestClusterTurnFencedAfterItsLockIsTaken: while gw-0's turn streams, its
// session's lock is taken from it (deleted from the locks bucket, as its
// expiry after a pause would, and taken by another holder, which writes to
// the session). gw-0's turn can no longer write: it ends with UNAVAILABLE,
// details.code SESSION_LOCK_LOST, and the transcript holds no answer of it.
func TestClusterTurnFencedAfterItsLockIsTaken(t *testing.T) {
	hold := make(chan struct{})
	fp := fakeprovider.New(t, fakeprovider.Reply{Text: "an answer the stale holder must not record", Deltas: 4, Hold: hold, HoldAfter: 2})
	cfg := agentConfig(t, fp)
	natsPort := gatewaytest.FreePort(t)
	gws := gatewaytest.StartCluster(t, 3, func(i int, o *gateway.Options) {
		c := *cfg
		c.Gateway.Cluster = o.Config.Gateway.Cluster
		if i == 0 {
			cl := *c.Gateway.Cluster
			cl.NATS.Embedded.ClientListen = fmt.Sprintf("127.0.0.1:%d", natsPort)
			c.Gateway.Cluster = &cl
		}
		o.Config = &c
	})
	formed(t, gws[0].Operator(t))
	const session = "agent:main:fenced"
	w0, _ := gatewaytest.MustConnect(t, gws[0].URL, gatewaytest.Reader(t))
	a0, _ := gatewaytest.MustConnect(t, gws[0].URL, gatewaytest.Admin())
	a0.SendJSON(map[string]any{"type": "req", "id": "a", "method": "agent",
		"params": map[string]any{"message": "one", "idempotencyKey": "f1", "sessionKey": session}})
	if acc := a0.Res("a"); !acc.OK {
		t.Fatalf("agent: %s", acc.Raw)
	}
	for {
		if f := w0.Event("chat"); gatewaytest.Decode[map[string]any](t, f.Payload)["state"] == "delta" {
			break
		}
	}

	// Another holder takes the session: the lock goes (as on expiry), it
	// locks and writes.
	nc, err := nats.Connect(fmt.Sprintf("nats://127.0.0.1:%d", natsPort))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The intruder's store is open before the lock goes: between the
	// delete and its LockSession a peer's orphan scan would see a turn
	// whose lock is free and re-run it (as it must after a real expiry);
	// opening a store takes seconds under load.
	st, err := jsstore.Open(ctx, js, jsstore.Config{Cluster: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	locks, err := js.KeyValue(ctx, "test_locks")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := locks.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for k := range keys.Keys() {
		if err := locks.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("%d session locks held, want gw-0's one", n)
	}
	l, err := st.LockSession(ctx, session, "intruder")
	if err != nil {
		t.Fatal(err)
	}
	content, _ := json.Marshal("the new holder's message")
	if _, err := l.Append(ctx, store.Message{SessionKey: session, Role: "user", Content: content}); err != nil {
		t.Fatal(err)
	}

	close(hold) // gw-0's turn goes on, and cannot write
	final := a0.Res("a")
	if final.OK || final.Error == nil || final.Error.Code != protocol.CodeUnavailable ||
		!strings.Contains(string(final.Raw), `"code":"SESSION_LOCK_LOST"`) {
		t.Fatalf("the stale holder's final: %s", final.Raw)
	}
	op1 := gws[1].Operator(t)
	eventually(t, "the transcript on gw-1", func() string {
		if got, want := transcript(t, op1, session), "user:one user:the new holder's message"; got != want {
			return fmt.Sprintf("%q, want %q", got, want)
		}
		return ""
	})
	if err := l.Unlock(ctx); err != nil {
		t.Fatalf("the new holder's unlock: %v", err)
	}
}

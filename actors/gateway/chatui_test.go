package gateway_test

import (
	"encoding/json"
	"testing"

	"openclaw/actors/gateway/gatewaytest"
	"openclaw/transport/protocol"
	"openclaw/transport/provider/fakeprovider"
)

// TestChatScreen: what the reference's Control UI does on its chat screen.
// chat.send takes its params (deliver: false, expectedLeafEntryId: null);
// the turn's two messages are broadcast as session.message with their
// identity; chat.history and chat.startup give the user message its
// "<key>:user" idempotency key and answer inputRunIds; the calls around it
// answer the reference's shapes.
func TestChatScreen(t *testing.T) {
	fp := fakeprovider.New(t)
	fp.SetDefault(fakeprovider.Text("the answer", 2))
	gw := agentGateway(t, fp, nil)
	adm, _ := gatewaytest.MustConnect(t, gw.URL, gatewaytest.Admin())
	const key = "agent:main:main"

	sub := adm.Call("sub", "sessions.messages.subscribe", map[string]any{"key": key, "includeApprovals": true})
	if !sub.OK || string(sub.Payload) != `{"subscribed":true,"key":"agent:main:main"}` {
		t.Fatalf("sessions.messages.subscribe: %s", sub.Raw)
	}
	send := adm.Call("send", "chat.send", map[string]any{"sessionKey": key, "message": "hi there", "deliver": false,
		"expectedLeafEntryId": nil, "idempotencyKey": "k-1"})
	if !send.OK || string(send.Payload) != `{"runId":"k-1","status":"started"}` {
		t.Fatalf("chat.send with the UI's params: %s", send.Raw)
	}
	var msgs []protocol.SessionMessage
	for len(msgs) < 2 {
		msgs = append(msgs, gatewaytest.Decode[protocol.SessionMessage](t, adm.Event("session.message").Payload))
	}
	user, answer := msgs[0], msgs[1]
	if user.SessionKey != key || user.Message.Role != "user" || string(user.Message.Content) != `"hi there"` ||
		user.Message.IdempotencyKey != "k-1:user" || user.MessageID != "msg-1" || user.MessageSeq != 1 ||
		user.Message.Meta == nil || user.Message.Meta.ID != "msg-1" || user.Message.Meta.IdempotencyKey != "k-1:user" {
		t.Fatalf("the user's session.message: %+v", user)
	}
	if answer.Message.Role != "assistant" || string(answer.Message.Content) != `[{"type":"text","text":"the answer"}]` ||
		answer.MessageSeq != 2 || answer.Message.Meta == nil || answer.Message.Meta.RunID != "k-1" {
		t.Fatalf("the answer's session.message: %+v", answer)
	}

	h := gatewaytest.Decode[protocol.ChatHistory](t, adm.Call("h", "chat.history", map[string]any{"sessionKey": key,
		"inputRunIds": []string{"k-1", "k-unknown"}, "limit": 1000, "maxBytes": 262144, "cursor": "c"}).Payload)
	if len(h.Messages) != 2 || h.Messages[0].IdempotencyKey != "k-1:user" || h.Messages[1].IdempotencyKey != "" ||
		h.Messages[1].Meta.ID != "msg-2" {
		t.Fatalf("chat.history messages: %+v", h.Messages)
	}
	wantReceipts := []protocol.InputReceipt{{RunID: "k-1", State: "consumed", ConsumedByEventID: "msg-1"}, {RunID: "k-unknown", State: "pending"}}
	if got, _ := json.Marshal(h.InputReceipts); string(got) != string(mustJSON(wantReceipts)) {
		t.Fatalf("inputReceipts = %s", got)
	}
	older := gatewaytest.Decode[protocol.ChatHistory](t, adm.Call("h2", "chat.history", map[string]any{"sessionKey": key,
		"offset": 1, "maxChars": 2}).Payload)
	if len(older.Messages) != 1 || string(older.Messages[0].Content) != `"hi"` || older.HasMore {
		t.Fatalf("chat.history offset 1, maxChars 2: %+v", older)
	}
	if f := adm.Call("h3", "chat.history", map[string]any{"sessionKey": key, "sessionId": "not-the-session"}); f.OK ||
		f.Error.Details["code"] != "SESSION_CHANGED" {
		t.Fatalf("chat.history of another session id: %s", f.Raw)
	}

	st := gatewaytest.Decode[protocol.ChatStartup](t, adm.Call("st", "chat.startup", map[string]any{"sessionKey": key,
		"limit": 80, "maxBytes": 262144}).Payload)
	if len(st.Messages) != 2 || st.TotalMessages != 2 || st.SessionID == "" || st.PendingInputs.Items == nil ||
		st.Defaults.ModelProvider != "fake" || st.Defaults.Model != "mock-1" {
		t.Fatalf("chat.startup: %+v", st)
	}

	refused := adm.Call("d", "chat.send", map[string]any{"sessionKey": key, "message": "x", "deliver": true, "idempotencyKey": "k-2"})
	if refused.OK || refused.Error.Code != "INVALID_REQUEST" {
		t.Fatalf("chat.send deliver:true: %s", refused.Raw)
	}

	for _, c := range []struct{ method, params, want string }{
		{"agent.identity.get", `{"sessionKey":"agent:main:main"}`, `{"agentId":"main","name":"Assistant","nameSource":"default","avatar":"A"}`},
		{"update.status", `{}`, `{"sentinel":null,"updateAvailable":null,"effectiveChannel":"stable","schedule":{"channel":"stable","autoEnabled":false,"install":{"kind":"package"}}}`},
		{"sessions.messages.unsubscribe", `{"key":"agent:main:main"}`, `{"subscribed":false,"key":"agent:main:main"}`},
	} {
		var params any
		_ = json.Unmarshal([]byte(c.params), &params)
		if f := adm.Call(c.method, c.method, params); !f.OK || string(f.Payload) != c.want {
			t.Errorf("%s: %s, want payload %s", c.method, f.Raw, c.want)
		}
	}
	md := gatewaytest.Decode[protocol.ChatMetadata](t, adm.Call("md", "chat.metadata", map[string]any{"sessionKey": key}).Payload)
	if len(md.Models) != 1 || md.Models[0].ID != "mock-1" || md.Models[0].Provider != "fake" || len(md.Models[0].Tags) != 1 ||
		md.Commands == nil {
		t.Errorf("chat.metadata: %+v", md)
	}
	// The final event can reach the reader before the runs actor has
	// closed the run: wait for the lane to be free.
	var lanes protocol.DiagnosticsLanes
	waitFor(t, "the finished turn to leave its lane", func() bool {
		lanes = gatewaytest.Decode[protocol.DiagnosticsLanes](t, adm.Call("l", "diagnostics.lanes", nil).Payload)
		return len(lanes.Lanes) == 1 && lanes.Lanes[0].ActiveCount == 0
	})
	if len(lanes.Lanes) != 1 || lanes.Lanes[0].Lane != "main" || lanes.Lanes[0].ActiveCount != 0 || string(lanes.Dynamic) != "null" {
		t.Errorf("diagnostics.lanes: %+v", lanes)
	}
}

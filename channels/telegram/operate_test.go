package telegram_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"openclaw/transport/protocol"
)

// channels.status reports each account in the reference's shape;
// channels.stop stops one (its link closes, sends are refused) until
// channels.start; message.action send reaches the chat.
func TestChannelsStatusStopStartAndMessageAction(t *testing.T) {
	r := newRig(t, rigOpts{telegram: openDM("")})
	op := r.operator()
	r.linked(op)

	st, err := call(t, op, "channels.status", map[string]any{"probe": true, "timeoutMs": 5000})
	if err != nil {
		t.Fatal(err)
	}
	accs, _ := st["channelAccounts"].(map[string]any)["telegram"].([]any)
	acc, _ := accs[0].(map[string]any)
	summary, _ := st["channels"].(map[string]any)["telegram"].(map[string]any)
	if len(accs) != 1 || acc["accountId"] != "default" || acc["linked"] != true || acc["running"] != true ||
		summary["linked"] != true || st["channelDefaultAccountId"].(map[string]any)["telegram"] != "default" ||
		len(st["statusIssues"].([]any)) != 0 || st["channelLabels"].(map[string]any)["telegram"] != "Telegram" {
		t.Fatalf("channels.status = %v", st)
	}

	res, err := call(t, op, "message.action", map[string]any{"channel": "telegram", "action": "send", "idempotencyKey": "ma-1",
		"params": map[string]any{"target": "42", "to": "telegram:42", "message": "from the CLI", "silent": false}})
	if err != nil || res["ok"] != true || res["chatId"] != "42" || res["messageId"] == "" {
		t.Fatalf("message.action send: %v %v", res, err)
	}
	if m := r.api.Messages(tokenA, 42); len(m) != 1 || m[0].Text != "from the CLI" {
		t.Fatalf("chat 42 shows %+v", m)
	}
	for _, bad := range []map[string]any{
		{"channel": "telegram", "action": "react", "idempotencyKey": "ma-2", "params": map[string]any{}},
		{"channel": "telegram", "action": "send", "idempotencyKey": "ma-3", "params": map[string]any{"target": "42"}},
		{"channel": "whatsapp", "action": "send", "idempotencyKey": "ma-4", "params": map[string]any{"target": "42", "message": "x"}},
	} {
		var re *protocol.ErrorShape
		if _, err := call(t, op, "message.action", bad); !errors.As(err, &re) || re.Code != protocol.CodeInvalidRequest {
			t.Errorf("message.action %v: %v", bad, err)
		}
	}

	stopped, err := call(t, op, "channels.stop", map[string]any{"channel": "telegram"})
	if err != nil || stopped["stopped"] != true || stopped["accountId"] != "default" {
		t.Fatalf("channels.stop: %v %v", stopped, err)
	}
	if a := r.account(op, "default"); a["running"] != false {
		t.Fatalf("after stop the account = %v", a)
	}
	polls := len(r.api.Calls(tokenA, "getUpdates"))
	var re *protocol.ErrorShape
	if _, err := call(t, op, "send", map[string]any{"to": "42", "message": "x", "idempotencyKey": "s-stopped"}); !errors.As(err, &re) ||
		re.Code != protocol.CodeUnavailable || !strings.Contains(re.Message, "stopped") {
		t.Fatalf("send to a stopped account: %v", err)
	}
	st, _ = call(t, op, "channels.status", nil)
	if issues, _ := st["statusIssues"].([]any); len(issues) != 1 || !strings.Contains(fmt.Sprint(issues[0]), "stopped") {
		t.Fatalf("statusIssues after stop = %v", st["statusIssues"])
	}
	started, err := call(t, op, "channels.start", map[string]any{"channel": "telegram", "accountId": "default"})
	if err != nil || started["started"] != true || fmt.Sprint(started["outcome"]) != "map[status:handed-off]" {
		t.Fatalf("channels.start: %v %v", started, err)
	}
	r.waitFor("polling again", func() bool { return len(r.api.Calls(tokenA, "getUpdates")) > polls })
	r.linked(op)
	if again, _ := call(t, op, "channels.start", map[string]any{"channel": "telegram"}); fmt.Sprint(again["outcome"]) != "map[reason:task-owned status:retry]" {
		t.Fatalf("second start: %v", again)
	}
	if _, err := call(t, op, "channels.stop", map[string]any{"channel": "telegram", "accountId": "nope"}); err == nil {
		t.Fatal("stopping an unknown account succeeded")
	}
}

// channels.pairing.dismiss drops a request without letting the sender in.
func TestPairingDismiss(t *testing.T) {
	r := newRig(t, rigOpts{telegram: fmt.Sprintf(`{botToken: %q, apiRoot: "%%API%%"}`, tokenA)})
	op := r.operator()
	r.linked(op)
	r.api.Push(tokenA, r.api.TextUpdate(tokenA, 601, 601, "hello?"))
	r.waitFor("the pairing code", func() bool { return len(r.api.Messages(tokenA, 601)) == 1 })
	list, _ := call(t, op, "channels.pairing.list", map[string]any{"channel": "telegram"})
	req := list["requests"].([]any)[0].(map[string]any)
	res, err := call(t, op, "channels.pairing.dismiss", map[string]any{"channel": "telegram", "accountId": "default", "requestId": req["requestId"]})
	if err != nil || res["senderId"] != "601" || res["requestId"] != req["requestId"] {
		t.Fatalf("dismiss: %v %v", res, err)
	}
	if list, _ := call(t, op, "channels.pairing.list", map[string]any{"channel": "telegram"}); len(list["requests"].([]any)) != 0 {
		t.Fatalf("still pending: %v", list)
	}
	if _, err := call(t, op, "channels.pairing.dismiss", map[string]any{"channel": "telegram", "accountId": "default", "requestId": req["requestId"]}); err == nil {
		t.Fatal("dismissing twice succeeded")
	}
	// Dismissed is not approved: the sender is asked to pair again.
	r.api.Push(tokenA, r.api.TextUpdate(tokenA, 601, 601, "again"))
	r.waitFor("a new pairing code", func() bool { return len(r.api.Messages(tokenA, 601)) == 2 })
	if len(r.fp.Requests()) != 0 {
		t.Fatal("a dismissed sender reached the agent")
	}
}

// channels.logout removes the bot token from the config file; the account
// restarts without it, unconfigured.
func TestChannelsLogout(t *testing.T) {
	r := newRig(t, rigOpts{telegram: openDM("")})
	op := r.operator()
	r.linked(op)
	res, err := call(t, op, "channels.logout", map[string]any{"channel": "telegram"})
	if err != nil || res["cleared"] != true || res["loggedOut"] != true || res["accountId"] != "default" {
		t.Fatalf("channels.logout: %v %v", res, err)
	}
	if b, _ := os.ReadFile(r.path); strings.Contains(string(b), tokenA) || !strings.Contains(string(b), "dmPolicy") {
		t.Fatalf("the config file after logout: %s", b)
	}
	r.waitFor("the account unconfigured", func() bool { a := r.account(op, "default"); return a["configured"] == false })
	if res, err := call(t, op, "channels.logout", map[string]any{"channel": "telegram"}); err != nil || res["cleared"] != false {
		t.Fatalf("second logout: %v %v", res, err)
	}
	if _, err := call(t, op, "channels.logout", map[string]any{"channel": "nope"}); err == nil {
		t.Fatal("logging out of an unknown channel succeeded")
	}
}

package telegram_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mymmrac/telego"

	"openclaw/actors/gateway/gatewaytest"
	"openclaw/channels/telegram"
	"openclaw/channels/telegram/fakebotapi"
	"openclaw/transport/client"
	"openclaw/transport/protocol"
	"openclaw/transport/provider/fakeprovider"
)

const (
	chat  = int64(4242)
	alice = int64(4242) // in a private chat the chat id is the user's id
)

func openDM(extra string) string {
	return fmt.Sprintf(`{botToken: %q, apiRoot: "%%API%%", dmPolicy: "open", allowFrom: ["*"]%s}`, tokenA, extra)
}

func (r *rig) linked(c *client.Client) {
	r.t.Helper()
	r.waitFor("the account to link", func() bool { a := r.account(c, "default"); return a["linked"] == true && a["running"] == true })
}

// A private message becomes an agent turn whose reply streams into the chat
// (sent once, then edited) and to WebSocket readers as agent events; the turn
// is in the session's transcript.
func TestDMReplyStreams(t *testing.T) {
	answer := "Hello **there**, this is a streamed answer in several pieces."
	r := newRig(t, rigOpts{telegram: openDM(""), replies: []fakeprovider.Reply{fakeprovider.Text(answer, 6)}})
	op := r.operator()
	r.linked(op)

	r.api.Push(tokenA, r.api.TextUpdate(tokenA, chat, alice, "hi bot"))
	// The whole reply: an edit in the middle of the stream already has
	// "<b>there</b>" and a loaded machine may be looked at between edits.
	r.waitFor("the final reply", func() bool {
		ms := r.api.Messages(tokenA, chat)
		return len(ms) == 1 && strings.HasSuffix(ms[0].Plain, "several pieces.")
	})
	ms := r.api.Messages(tokenA, chat)
	if ms[0].ParseMode != "HTML" || ms[0].Text != "Hello <b>there</b>, this is a streamed answer in several pieces." {
		t.Fatalf("reply = %+v", ms[0])
	}
	if len(r.api.Calls(tokenA, "sendMessage")) != 1 {
		t.Fatalf("sendMessage calls = %d, want 1 (the rest are edits)", len(r.api.Calls(tokenA, "sendMessage")))
	}
	if len(r.api.Calls(tokenA, "sendChatAction")) == 0 {
		t.Fatal("no typing action while the run was busy")
	}
	// A WebSocket reader saw the run, on the chat's session.
	session := fmt.Sprintf("agent:main:telegram:dm:%d", chat)
	sawEnd := false
	deadline := time.After(5 * time.Second)
	for !sawEnd {
		select {
		case ev := <-op.Events():
			if ev.Event != "agent" {
				continue
			}
			var p struct {
				SessionKey, Stream string
				Data               map[string]any
			}
			_ = json.Unmarshal(ev.Payload, &p)
			if p.SessionKey == session && p.Stream == "lifecycle" && p.Data["phase"] == "end" {
				sawEnd = true
			}
		case <-deadline:
			t.Fatal("no agent lifecycle end event for the Telegram session")
		}
	}
	h, err := call(t, op, "chat.history", map[string]any{"sessionKey": session})
	if err != nil {
		t.Fatal(err)
	}
	if msgs, _ := h["messages"].([]any); len(msgs) != 2 {
		t.Fatalf("history = %v", h)
	}
	// The provider got the user's text.
	if reqs := r.fp.Requests(); len(reqs) != 1 || !strings.Contains(fmt.Sprint(reqs[0].Messages), "hi bot") {
		t.Fatalf("provider requests = %+v", reqs)
	}
}

// Policies decide who reaches the agent; under pairing an unknown sender
// gets a code instead, and the operator approves it over RPC.
func TestAccessPolicies(t *testing.T) {
	cases := []struct {
		name    string
		policy  string
		private bool
		from    int64
		text    string
		group   fakebotapi.GroupOpts
		want    bool // the agent answers
	}{
		{"allowlist: listed", `dmPolicy: "allowlist", allowFrom: [7]`, true, 7, "hi", fakebotapi.GroupOpts{}, true},
		{"allowlist: not listed", `dmPolicy: "allowlist", allowFrom: [7]`, true, 8, "hi", fakebotapi.GroupOpts{}, false},
		{"disabled", `dmPolicy: "disabled", allowFrom: ["*"]`, true, 7, "hi", fakebotapi.GroupOpts{}, false},
		{"open", `dmPolicy: "open", allowFrom: ["*"]`, true, 9, "hi", fakebotapi.GroupOpts{}, true},
		{"group allowlist, mentioned", `groupAllowFrom: [7]`, false, 7, "@alpha_bot hi", fakebotapi.GroupOpts{Mention: "alpha_bot"}, true},
		{"group allowlist, not mentioned", `groupAllowFrom: [7]`, false, 7, "hi all", fakebotapi.GroupOpts{}, false},
		{"group allowlist, reply to the bot", `groupAllowFrom: [7]`, false, 7, "and?", fakebotapi.GroupOpts{ReplyToBot: true}, true},
		{"group allowlist, other sender", `groupAllowFrom: [7]`, false, 8, "@alpha_bot hi", fakebotapi.GroupOpts{Mention: "alpha_bot"}, false},
		{"group open", `groupPolicy: "open"`, false, 8, "@alpha_bot hi", fakebotapi.GroupOpts{Mention: "alpha_bot"}, true},
		{"group disabled", `groupPolicy: "disabled", groupAllowFrom: ["*"]`, false, 7, "@alpha_bot hi", fakebotapi.GroupOpts{Mention: "alpha_bot"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tg := fmt.Sprintf(`{botToken: %q, apiRoot: "%%API%%", %s}`, tokenA, tc.policy)
			r := newRig(t, rigOpts{telegram: tg})
			r.fp.SetDefault(fakeprovider.Text("answer", 1))
			op := r.operator()
			r.linked(op)
			target := tc.from
			if tc.private {
				r.api.Push(tokenA, r.api.TextUpdate(tokenA, tc.from, tc.from, tc.text))
			} else {
				target = -100500
				r.api.Push(tokenA, r.api.GroupUpdate(tokenA, target, tc.from, tc.text, tc.group))
			}
			answered := func() bool {
				return strings.Contains(strings.Join(r.texts(tokenA, target), "|"), "answer")
			}
			if tc.want {
				// Polled, not slept for: under load a reply can take seconds.
				r.waitFor("the answer in chat "+strconv.FormatInt(target, 10), answered)
				return
			}
			// A refusal leaves nothing to wait for: give the update the time an
			// answer takes on a quiet machine. (Under load this can only let a
			// wrong answer go unseen, never fail a right refusal.)
			time.Sleep(500 * time.Millisecond)
			if got := answered(); got != tc.want {
				t.Fatalf("answered = %v, want %v; chat shows %q", got, tc.want, r.texts(tokenA, target))
			}
			if !tc.want && len(r.fp.Requests()) != 0 {
				t.Fatalf("the provider was called for a refused message")
			}
		})
	}
}

func TestPairing(t *testing.T) {
	r := newRig(t, rigOpts{telegram: fmt.Sprintf(`{botToken: %q, apiRoot: "%%API%%"}`, tokenA)})
	r.fp.SetDefault(fakeprovider.Text("welcome", 1))
	op := r.operator()
	r.linked(op)

	r.api.Push(tokenA, r.api.TextUpdate(tokenA, 501, 501, "hello?"))
	r.waitFor("the pairing code", func() bool { return len(r.api.Messages(tokenA, 501)) == 1 })
	reply := r.api.Messages(tokenA, 501)[0].Text
	code := codeIn(t, reply)
	if !strings.Contains(reply, "openclaw pairing approve telegram "+code) {
		t.Fatalf("pairing reply = %q", reply)
	}
	// The same sender again: the same code, still not processed.
	r.api.Push(tokenA, r.api.TextUpdate(tokenA, 501, 501, "hello again"))
	r.waitFor("the second pairing reply", func() bool { return len(r.api.Messages(tokenA, 501)) == 2 })
	if again := codeIn(t, r.api.Messages(tokenA, 501)[1].Text); again != code {
		t.Fatalf("code changed: %s then %s", code, again)
	}
	if len(r.fp.Requests()) != 0 {
		t.Fatal("an unpaired sender reached the agent")
	}
	// Two more senders get codes; a fourth pending one does not.
	for _, u := range []int64{502, 503} {
		r.api.Push(tokenA, r.api.TextUpdate(tokenA, u, u, "hi"))
	}
	r.waitFor("codes for 502 and 503", func() bool {
		return len(r.api.Messages(tokenA, 502)) == 1 && len(r.api.Messages(tokenA, 503)) == 1
	})
	r.api.Push(tokenA, r.api.TextUpdate(tokenA, 504, 504, "hi"))
	time.Sleep(300 * time.Millisecond)
	if n := len(r.api.Messages(tokenA, 504)); n != 0 {
		t.Fatalf("a fourth pending sender got a code (%d messages)", n)
	}

	list, err := call(t, op, "channels.pairing.list", map[string]any{"channel": "telegram"})
	if err != nil {
		t.Fatal(err)
	}
	reqs, _ := list["requests"].([]any)
	if len(reqs) != 3 {
		t.Fatalf("pending = %v", list)
	}
	// A wrong code is refused; the right one approves for good.
	if _, err := call(t, op, "channels.pairing.approve", map[string]any{"channel": "telegram", "code": "ZZZZZZZZ"}); err == nil ||
		!strings.Contains(err.Error(), "no pending pairing request") {
		t.Fatalf("wrong code: %v", err)
	}
	res, err := call(t, op, "channels.pairing.approve", map[string]any{"channel": "telegram", "code": strings.ToLower(code)})
	if err != nil || res["senderId"] != "501" {
		t.Fatalf("approve: %v %v", res, err)
	}
	r.api.Push(tokenA, r.api.TextUpdate(tokenA, 501, 501, "now?"))
	r.waitFor("the agent's answer", func() bool { return strings.Contains(strings.Join(r.texts(tokenA, 501), "|"), "welcome") })

	// A reader without operator.pairing may not list.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reader, err := client.Dial(ctx, client.Options{URL: r.url, Token: gwToken, Role: "operator", Scopes: []string{"operator.read"}})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if _, err := call(t, reader, "channels.pairing.list", map[string]any{}); err == nil {
		t.Fatal("operator.read listed pairing requests")
	}
}

func codeIn(t *testing.T, reply string) string {
	t.Helper()
	for _, line := range strings.Split(reply, "\n") {
		if len(line) == 8 && strings.Trim(line, "ABCDEFGHJKLMNPQRSTUVWXYZ23456789") == "" {
			return line
		}
	}
	t.Fatalf("no pairing code in %q", reply)
	return ""
}

// A reply longer than textChunkLimit is split; markup Telegram refuses goes
// again as plain text; a 429 is waited out.
func TestChunkingFallbackAndFloodControl(t *testing.T) {
	long := strings.Repeat("word ", 300) // 1500 characters
	r := newRig(t, rigOpts{telegram: openDM(`, textChunkLimit: 600, streaming: "off"`)})
	op := r.operator()
	r.linked(op)

	r.fp.Script(fakeprovider.Text(long, 3))
	r.api.Push(tokenA, r.api.TextUpdate(tokenA, chat, alice, "long please"))
	r.waitFor("three chunks", func() bool { return len(r.api.Messages(tokenA, chat)) == 3 })
	joined := strings.Join(r.texts(tokenA, chat), " ")
	if strings.Join(strings.Fields(joined), " ") != strings.TrimSpace(long) {
		t.Fatalf("chunks lose or repeat text: %d chars vs %d", len(joined), len(long))
	}
	for _, m := range r.api.Messages(tokenA, chat) {
		if len(m.Text) > 600 {
			t.Fatalf("chunk of %d characters", len(m.Text))
		}
	}

	// HTML refused once: the same text goes as plain text.
	r.api.Fail(tokenA, "sendMessage", 1, 400, "Bad Request: can't parse entities: unsupported start tag", 0)
	r.fp.Script(fakeprovider.Text("plain *fallback*", 1))
	r.api.Push(tokenA, r.api.TextUpdate(tokenA, 77, 77, "x"))
	r.waitFor("the plain fallback", func() bool { return len(r.api.Messages(tokenA, 77)) == 1 })
	if m := r.api.Messages(tokenA, 77)[0]; m.ParseMode != "" || m.Text != "plain *fallback*" {
		t.Fatalf("fallback message = %+v", m)
	}

	// Flood control: retry_after is honoured.
	r.api.Fail(tokenA, "sendMessage", 1, 429, "Too Many Requests: retry after 1", 1)
	r.fp.Script(fakeprovider.Text("after the wait", 1))
	start := time.Now()
	r.api.Push(tokenA, r.api.TextUpdate(tokenA, 78, 78, "y"))
	r.waitFor("the delayed reply", func() bool { return len(r.api.Messages(tokenA, 78)) == 1 })
	if waited := time.Since(start); waited < 900*time.Millisecond {
		t.Fatalf("reply after %v: retry_after not honoured", waited)
	}
}

// send: delivered once per idempotency key; Telegram's refusals become
// UNAVAILABLE with its description; no channel is INVALID_REQUEST.
func TestSendMethod(t *testing.T) {
	r := newRig(t, rigOpts{telegram: openDM("")})
	op := r.operator()
	r.linked(op)

	params := map[string]any{"to": "42", "message": "hi **you**", "channel": "telegram", "idempotencyKey": "k1"}
	first, err := call(t, op, "send", params)
	if err != nil {
		t.Fatal(err)
	}
	again, err := call(t, op, "send", params)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(r.api.Calls(tokenA, "sendMessage")); n != 1 {
		t.Fatalf("sendMessage calls = %d, want 1", n)
	}
	if first["runId"] != "k1" || first["channel"] != "telegram" || first["chatId"] != "42" || first["messageId"] != again["messageId"] {
		t.Fatalf("results: %v then %v", first, again)
	}
	if m := r.api.Messages(tokenA, 42); len(m) != 1 || m[0].Text != "hi <b>you</b>" {
		t.Fatalf("chat 42 shows %+v", m)
	}

	r.api.AddChat(tokenA, "news", -1001)
	if res, err := call(t, op, "send", map[string]any{"to": "@news", "message": "post", "idempotencyKey": "k2"}); err != nil || res["chatId"] != "-1001" {
		t.Fatalf("@username: %v %v", res, err)
	}

	r.api.BlockChat(tokenA, 43)
	for _, tc := range []struct{ to, want string }{
		{"43", "bot was blocked by the user"},
		{"@nobody", "chat not found"},
	} {
		_, err := call(t, op, "send", map[string]any{"to": tc.to, "message": "x", "idempotencyKey": "f-" + tc.to})
		var re *protocol.ErrorShape
		if !errors.As(err, &re) || re.Code != protocol.CodeUnavailable || !strings.Contains(re.Message, tc.want) {
			t.Fatalf("send to %s: %v", tc.to, err)
		}
	}
	if _, err := call(t, op, "send", map[string]any{"to": "42", "message": "x", "channel": "whatsapp", "idempotencyKey": "k3"}); err == nil {
		t.Fatal("an unknown channel was accepted")
	}
}

func TestSendWithoutChannelOrLink(t *testing.T) {
	// No channels.telegram at all: INVALID_REQUEST.
	r := newRig(t, rigOpts{telegram: fmt.Sprintf(`{botToken: %q, apiRoot: "%%API%%", enabled: false}`, tokenX)})
	op := r.operator()
	_, err := call(t, op, "send", map[string]any{"to": "42", "message": "x", "idempotencyKey": "k"})
	var re *protocol.ErrorShape
	if !errors.As(err, &re) || re.Code != protocol.CodeNotLinked {
		t.Fatalf("disabled account: %v", err)
	}
}

// A rejected token leaves that account unlinked with the reason, while the
// other account works; fixing the token in the file links it without
// dropping any socket.
func TestRejectedTokenAndHotReload(t *testing.T) {
	tg := fmt.Sprintf(`{apiRoot: "%%API%%", dmPolicy: "open", allowFrom: ["*"], accounts: {good: {botToken: %q}, bad: {botToken: %q}}}`, tokenB, tokenX)
	r := newRig(t, rigOpts{telegram: tg, replies: []fakeprovider.Reply{fakeprovider.Text("from beta", 1)}})
	op := r.operator()
	r.waitFor("both accounts to settle", func() bool {
		return r.account(op, "good")["linked"] == true && strings.Contains(fmt.Sprint(r.account(op, "bad")["lastError"]), "rejected")
	})
	if bad := r.account(op, "bad"); bad["linked"] != false || bad["configured"] != true {
		t.Fatalf("bad account = %v", bad)
	}
	_, err := call(t, op, "send", map[string]any{"to": "5", "message": "x", "accountId": "bad", "idempotencyKey": "nl"})
	var re *protocol.ErrorShape
	if !errors.As(err, &re) || re.Code != protocol.CodeNotLinked {
		t.Fatalf("send through the rejected account: %v", err)
	}
	r.api.Push(tokenB, r.api.TextUpdate(tokenB, 9, 9, "hello"))
	r.waitFor("beta's answer", func() bool { return strings.Contains(strings.Join(r.texts(tokenB, 9), ""), "from beta") })

	goodGetMe := len(r.api.Calls(tokenB, "getMe"))
	// Fix the bad account in the file: only it restarts.
	r.api.AddBot(tokenX, fakebotapi.Bot{ID: 999999, Username: "gamma_bot", FirstName: "Gamma"})
	r.writeConfig(strings.Replace(tg, `bad: {botToken:`, `bad: {dmPolicy: "disabled", botToken:`, 1))
	r.waitFor("the fixed account to link", func() bool { return r.account(op, "bad")["linked"] == true })
	if n := len(r.api.Calls(tokenB, "getMe")); n != goodGetMe {
		t.Fatalf("the unchanged account was restarted (getMe %d -> %d)", goodGetMe, n)
	}
	select {
	case <-op.Done():
		t.Fatalf("the operator socket was dropped by a channel reload: %v", op.Err())
	default:
	}
}

// A panic while handling an update restarts that account only; the update
// is handled again after the restart, and another account and the sockets
// carry on.
func TestPanicRestartsOnlyThatAccount(t *testing.T) {
	var boom atomic.Int32
	tg := fmt.Sprintf(`{apiRoot: "%%API%%", dmPolicy: "open", allowFrom: ["*"], accounts: {a: {botToken: %q}, b: {botToken: %q}}}`, tokenA, tokenB)
	r := newRig(t, rigOpts{telegram: tg, tune: func(o *telegram.Options) {
		o.BeforeProcess = func(acct string, u *telego.Update) {
			if acct == "a" && u.Message != nil && u.Message.Text == "boom" && boom.Add(1) == 1 {
				panic("handler exploded")
			}
		}
	}})
	r.fp.SetDefault(fakeprovider.Text("ok", 1))
	op := r.operator()
	r.waitFor("both linked", func() bool { return r.account(op, "a")["linked"] == true && r.account(op, "b")["linked"] == true })
	getMe := len(r.api.Calls(tokenB, "getMe"))

	r.api.Push(tokenA, r.api.TextUpdate(tokenA, 1, 1, "boom"))
	r.waitFor("the update to be answered after the restart", func() bool { return len(r.api.Messages(tokenA, 1)) == 1 })
	if boom.Load() < 2 {
		t.Fatal("the update was not handled again after the panic")
	}
	if n := len(r.api.Calls(tokenA, "getMe")); n < 2 {
		t.Fatalf("account a did not restart (getMe calls %d)", n)
	}
	if n := len(r.api.Calls(tokenB, "getMe")); n != getMe {
		t.Fatal("account b restarted too")
	}
	r.api.Push(tokenB, r.api.TextUpdate(tokenB, 2, 2, "still there?"))
	r.waitFor("account b's answer", func() bool { return len(r.api.Messages(tokenB, 2)) == 1 })
	if _, err := call(t, op, "health", map[string]any{}); err != nil {
		t.Fatalf("operator socket broken: %v", err)
	}
}

// Webhook mode: setWebhook with the secret; a wrong secret is refused with
// 401 and queues nothing; a right one is answered.
func TestWebhook(t *testing.T) {
	port := gatewaytest.FreePort(t)
	tg := openDM(fmt.Sprintf(`, webhookUrl: "https://bot.example.com/tg", webhookSecret: "s3cret-value", webhookPort: %d, webhookPath: "/tg"`, port))
	r := newRig(t, rigOpts{telegram: tg, replies: []fakeprovider.Reply{fakeprovider.Text("via webhook", 1)}})
	op := r.operator()
	r.linked(op)
	if url, secret := r.api.Webhook(tokenA); url != "https://bot.example.com/tg" || secret != "s3cret-value" {
		t.Fatalf("webhook = %q %q", url, secret)
	}
	if m := r.account(op, "default")["mode"]; m != "webhook" {
		t.Fatalf("mode = %v", m)
	}
	hook := fmt.Sprintf("http://127.0.0.1:%d/tg", port)
	ctx := context.Background()
	for _, secret := range []string{"", "wrong"} {
		st, err := fakebotapi.PostUpdate(ctx, hook, secret, r.api.TextUpdate(tokenA, chat, alice, "sneaky"))
		if err != nil || st != http.StatusUnauthorized {
			t.Fatalf("secret %q: status %d, %v", secret, st, err)
		}
	}
	st, err := fakebotapi.PostUpdate(ctx, hook, "s3cret-value", r.api.TextUpdate(tokenA, chat, alice, "hello"))
	if err != nil || st != http.StatusOK {
		t.Fatalf("status %d, %v", st, err)
	}
	r.waitFor("the reply", func() bool { return len(r.api.Messages(tokenA, chat)) == 1 })
	if got := r.texts(tokenA, chat); got[0] != "via webhook" || len(r.fp.Requests()) != 1 {
		t.Fatalf("chat shows %q after %d provider calls", got, len(r.fp.Requests()))
	}
	// Back to polling: the webhook is deleted.
	r.writeConfig(openDM(""))
	r.waitFor("deleteWebhook", func() bool { return len(r.api.Calls(tokenA, "deleteWebhook")) > 0 })
	r.waitFor("polling mode", func() bool { return r.account(op, "default")["mode"] == "polling" })
}

// agent with deliver:true sends the final text to the channel target.
func TestAgentDeliver(t *testing.T) {
	r := newRig(t, rigOpts{telegram: openDM(""), replies: []fakeprovider.Reply{fakeprovider.Text("delivered text", 2)}})
	op := r.operator()
	r.linked(op)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	raw, err := op.CallFinal(ctx, "agent", map[string]any{"message": "go", "idempotencyKey": "d1", "deliver": true, "channel": "telegram", "to": "77"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"delivery":{`) || !strings.Contains(string(raw), `"sessionFile":"agent:main:telegram:dm:77"`) {
		t.Fatalf("final = %s", raw)
	}
	if got := r.texts(tokenA, 77); len(got) != 1 || got[0] != "delivered text" {
		t.Fatalf("chat 77 shows %q", got)
	}
}

func TestHealthReportsTheChannel(t *testing.T) {
	r := newRig(t, rigOpts{telegram: openDM("")})
	op := r.operator()
	r.linked(op)
	h, err := call(t, op, "health", map[string]any{"probe": true})
	if err != nil {
		t.Fatal(err)
	}
	tg := h["channels"].(map[string]any)["telegram"].(map[string]any)
	bot, _ := tg["bot"].(map[string]any)
	if tg["configured"] != true || tg["mode"] != "polling" || bot["username"] != "alpha_bot" || bot["id"] != float64(111111) {
		t.Fatalf("health.channels.telegram = %v", tg)
	}
	if lc, _ := h["linkChannel"].(map[string]any); lc["id"] != "telegram" {
		t.Fatalf("linkChannel = %v", h["linkChannel"])
	}
	if order, _ := h["channelOrder"].([]any); len(order) != 1 || order[0] != "telegram" {
		t.Fatalf("channelOrder = %v", h["channelOrder"])
	}
}

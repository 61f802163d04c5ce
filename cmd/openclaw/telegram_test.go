package main

// The Telegram channel through the real binary: ingress that survives
// kill -9, the channel CLI commands, and the reference CLI's send. The Bot
// API is a fake speaking its real JSON over HTTP; the model provider too.

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"openclaw/channels/telegram/fakebotapi"
	"openclaw/transport/provider/fakeprovider"
)

var tgToken = "424242:" + strings.Repeat("t", 35)

func startBotAPI(t *testing.T) *fakebotapi.Server {
	t.Helper()
	api, err := fakebotapi.Start(fakebotapi.Options{Bots: map[string]fakebotapi.Bot{
		tgToken: {ID: 424242, Username: "ingress_bot", FirstName: "Ingress"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.Close)
	return api
}

// echoProvider answers "echo: <the user's last message>", streamed slowly
// enough that a kill lands in the middle of a reply.
func echoProvider(t *testing.T, deltas int, delay time.Duration) *fakeprovider.Server {
	fp := fakeprovider.New(t)
	fp.SetResponder(func(r fakeprovider.Request) fakeprovider.Reply {
		last := r.LastUser()
		return fakeprovider.Reply{Text: "echo: " + last, Deltas: deltas, ChunkDelay: delay}
	})
	return fp
}

func telegramConfig(api *fakebotapi.Server, fp *fakeprovider.Server, token, extra string) string {
	return fmt.Sprintf(`{
		gateway: {auth: {token: %q}},
		models: {providers: {mock: {baseUrl: %q, apiKey: "sk-mock", api: "openai-completions", models: [{id: "m", name: "M"}]}}},
		agents: {defaults: {model: {primary: "mock/m"}}},
		channels: {telegram: {botToken: %q, apiRoot: %q, dmPolicy: "open", allowFrom: ["*"] %s}},
	}`, token, fp.URL, tgToken, api.URL(), extra)
}

// TestTelegramIngressSurvivesKill9: updates arrive while the gateway is
// killed (kill -9) three times in the middle of streamed replies; after the
// last restart every update has been answered, in order per chat, and the
// transcripts hold every message once.
//
// What a chat may show besides the answers is exactly the documented window:
// a kill after Telegram accepted a reply's new message and before the gateway
// committed that message's id leaves the message as it was (the part of the
// reply streamed so far, or all of it) and the reply is sent again in a new
// one. So each chat shows its replies in order, each preceded by at most one
// such leftover per kill that interrupted it, a prefix of the reply. The first
// kill is made to land in that window (the fake Bot API withholds the answer
// to the first sendMessage), so the test proves the window is what the README
// says, not just that it may happen; the others land wherever the load puts
// them.
func TestTelegramIngressSurvivesKill9(t *testing.T) {
	api := startBotAPI(t)
	fp := echoProvider(t, 8, 60*time.Millisecond)
	dir := t.TempDir()
	const token = "ingress-token-0123456789"
	writeFile(t, filepath.Join(dir, "openclaw.json"), telegramConfig(api, fp, token, ""))
	opts := gwOptions{StateDir: dir, NoAllowUnconfigured: true, Env: []string{"OPENCLAW_SKIP_CANVAS_HOST=1"}}

	chats := []int64{1001, 1002, 1003}
	want := map[int64][]string{}
	push := func(round, n int) {
		for i := range n {
			for _, c := range chats {
				text := fmt.Sprintf("r%d-m%d", round, i)
				want[c] = append(want[c], text)
				api.Push(tgToken, api.TextUpdate(tgToken, c, c, text))
			}
		}
	}
	push(0, 3)

	// Kill 1, in the window: the first reply message reaches the chat and
	// its answer never reaches the gateway.
	api.WithholdAnswers(tgToken, "sendMessage", 1)
	g := startGateway(t, opts)
	opts.Port = g.Port
	if !api.WaitFor(20*time.Second, func() bool { return api.Withheld(tgToken) == 1 }) {
		t.Fatal("no reply message was sent")
	}
	var held fakebotapi.Call
	for _, c := range api.Calls(tgToken, "sendMessage") {
		if c.Status == 0 {
			held = c
		}
	}
	heldChat, _ := strconv.ParseInt(fmt.Sprint(held.Params["chat_id"]), 10, 64)
	heldMsgs := api.Messages(tgToken, heldChat)
	if len(heldMsgs) != 1 {
		t.Fatalf("chat %d shows %+v, want the one withheld message", heldChat, heldMsgs)
	}
	push(1, 2)
	g.signal(t, syscall.SIGKILL)
	g.wait(t, 5*time.Second)
	push(11, 1) // arrives while the gateway is down

	// Kills 2 and 3: in the middle of streamed replies.
	for round := 2; round <= 3; round++ {
		g := startGateway(t, opts)
		sent := len(api.Calls(tgToken, "sendMessage"))
		if !api.WaitFor(20*time.Second, func() bool { return len(api.Calls(tgToken, "sendMessage")) > sent }) {
			t.Fatalf("round %d: no reply started", round)
		}
		time.Sleep(150 * time.Millisecond)
		push(round, 2) // some arrive before the kill
		g.signal(t, syscall.SIGKILL)
		g.wait(t, 5*time.Second)
		push(round+10, 1)
	}
	const kills = 3
	g = startGateway(t, opts)
	g.Token = token

	waitAnswered(t, api, chats, want, 90*time.Second)
	for _, c := range chats {
		ms := api.Messages(tgToken, c)
		var replies []string
		for _, w := range want[c] {
			replies = append(replies, "echo: "+w)
		}
		orphans, err := leftovers(ms, replies)
		if err != nil {
			t.Errorf("chat %d shows\n%q\nwant, in order, %q, each after at most one leftover prefix per kill: %v", c, texts(ms), replies, err)
			continue
		}
		if len(orphans) > kills {
			t.Errorf("chat %d: %d leftover messages %q from %d kills", c, len(orphans), texts(orphans), kills)
		}
		if len(orphans) > 0 {
			t.Logf("chat %d: leftovers of kills in the window: %q", c, texts(orphans))
		}
		if c == heldChat {
			first := heldMsgs[0]
			found := false
			for _, o := range orphans {
				found = found || (o.ID == first.ID && o.Text == first.Text && o.Edits == 0)
			}
			if !found || !strings.HasPrefix(replies[0], first.Text) || first.Text == replies[0] {
				t.Errorf("chat %d: the message whose answer was withheld (%d %q) is not left as a part of the first reply %q; leftovers %+v",
					c, first.ID, first.Text, replies[0], orphans)
			}
		}
	}
	// The transcripts: every user message once, in order, each answered.
	cl := dialTest(t, g, "cli")
	for _, c := range chats {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		raw, err := cl.Call(ctx, "chat.history", map[string]any{"sessionKey": "agent:main:telegram:dm:" + strconv.FormatInt(c, 10), "limit": 1000})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		var h struct {
			Messages []struct {
				Role    string
				Content json.RawMessage
			}
		}
		_ = json.Unmarshal(raw, &h)
		var users []string
		for _, m := range h.Messages {
			if m.Role == "user" {
				var s string
				_ = json.Unmarshal(m.Content, &s)
				users = append(users, s)
			}
		}
		if !slices.Equal(users, want[c]) || len(h.Messages) != 2*len(want[c]) {
			t.Errorf("chat %d transcript: users %q (%d messages), want %q answered", c, users, len(h.Messages), want[c])
		}
	}
}

// waitAnswered waits until every update was answered: each chat ends with
// the echo of its last message.
func waitAnswered(t *testing.T, api *fakebotapi.Server, chats []int64, want map[int64][]string, timeout time.Duration) {
	t.Helper()
	if !answered(t, api, chats, want, timeout) {
		t.Fatalf("not every update was answered")
	}
}

// answered waits until every update was answered (see waitAnswered); when
// not, it logs what each chat shows.
func answered(t *testing.T, api *fakebotapi.Server, chats []int64, want map[int64][]string, timeout time.Duration) bool {
	if api.WaitFor(timeout, func() bool {
		for _, c := range chats {
			ms := api.Messages(tgToken, c)
			if len(ms) == 0 || ms[len(ms)-1].Text != "echo: "+want[c][len(want[c])-1] {
				return false
			}
		}
		return true
	}) {
		return true
	}
	for _, c := range chats {
		t.Logf("chat %d: %q", c, texts(api.Messages(tgToken, c)))
	}
	return false
}

// leftovers matches a chat's messages against the replies it must show, in
// order, and returns the other messages: each must be a leftover of the
// window, a non-empty prefix of the reply it comes before (or a copy of the
// reply it follows, when the whole reply went out in one message).
func leftovers(ms []fakebotapi.Message, replies []string) ([]fakebotapi.Message, error) {
	var out []fakebotapi.Message
	i := 0
	for _, r := range replies {
		for i < len(ms) && ms[i].Text != r && ms[i].Text != "" && strings.HasPrefix(r, ms[i].Text) {
			out = append(out, ms[i])
			i++
		}
		if i == len(ms) || ms[i].Text != r {
			return out, fmt.Errorf("no %q where expected", r)
		}
		i++
		for i < len(ms) && ms[i].Text == r {
			out = append(out, ms[i-1])
			i++
		}
	}
	if i < len(ms) {
		return out, fmt.Errorf("%d messages after the last reply", len(ms)-i)
	}
	return out, nil
}

func texts(ms []fakebotapi.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Text
	}
	return out
}

// The channel CLI commands against the real binary: message send, pairing
// list and approve.
func TestTelegramCLI(t *testing.T) {
	api := startBotAPI(t)
	fp := fakeprovider.New(t)
	fp.SetDefault(fakeprovider.Text("paired and answered", 1))
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "openclaw.json"), strings.Replace(telegramConfig(api, fp, channelCLIToken, ""),
		`dmPolicy: "open", allowFrom: ["*"]`, `dmPolicy: "pairing"`, 1))
	g := startGateway(t, gwOptions{StateDir: dir, NoAllowUnconfigured: true, Env: []string{"OPENCLAW_SKIP_CANVAS_HOST=1"}})
	g.Token = channelCLIToken
	if !api.WaitFor(10*time.Second, func() bool { return len(api.Calls(tgToken, "getUpdates")) > 0 }) {
		t.Fatal("the channel never polled")
	}

	r := clientCLI(t, g, "message", "send", "--channel", "telegram", "--target", "555", "--message", "hello from the CLI", "--json")
	if r.Code != 0 {
		t.Fatalf("message send: %s", r)
	}
	var sent map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &sent); err != nil || sent["chatId"] != "555" || sent["channel"] != "telegram" {
		t.Fatalf("message send --json: %s", r.Stdout)
	}
	if m := api.Messages(tgToken, 555); len(m) != 1 || m[0].Text != "hello from the CLI" {
		t.Fatalf("chat 555 shows %+v", m)
	}

	api.Push(tgToken, api.TextUpdate(tgToken, 777, 777, "let me in"))
	if !api.WaitFor(10*time.Second, func() bool { return len(api.Messages(tgToken, 777)) == 1 }) {
		t.Fatal("no pairing code sent")
	}
	r = clientCLI(t, g, "pairing", "list", "telegram")
	if r.Code != 0 || !strings.Contains(r.Stdout, "777") {
		t.Fatalf("pairing list: %s", r)
	}
	var code string
	for _, line := range strings.Split(api.Messages(tgToken, 777)[0].Text, "\n") {
		if len(line) == 8 && strings.ToUpper(line) == line && !strings.Contains(line, " ") {
			code = line
		}
	}
	if code == "" || !strings.Contains(r.Stdout, code) {
		t.Fatalf("code %q not listed:\n%s", code, r.Stdout)
	}
	r = clientCLI(t, g, "pairing", "approve", "telegram", code)
	if r.Code != 0 || !strings.Contains(r.Stdout, "Approved telegram sender 777") {
		t.Fatalf("pairing approve: %s", r)
	}
	r = clientCLI(t, g, "pairing", "approve", "telegram", code)
	if r.Code != 1 {
		t.Fatalf("approving the same code twice: %s", r)
	}
	api.Push(tgToken, api.TextUpdate(tgToken, 777, 777, "and now?"))
	if !api.WaitFor(10*time.Second, func() bool {
		ms := api.Messages(tgToken, 777)
		return len(ms) == 2 && ms[1].Text == "paired and answered"
	}) {
		t.Fatalf("the approved sender got no answer: %+v", api.Messages(tgToken, 777))
	}

	// openclaw agent --to --deliver: the chat's session, the reply sent there.
	r = clientCLI(t, g, "agent", "--message", "from the operator", "--to", "777", "--deliver", "--json")
	if r.Code != 0 || !strings.Contains(r.Stdout, `"sessionFile": "agent:main:telegram:dm:777"`) {
		t.Fatalf("agent --to --deliver: %s", r)
	}
	if ms := api.Messages(tgToken, 777); len(ms) != 3 || ms[2].Text != "paired and answered" {
		t.Fatalf("chat 777 after --deliver: %+v", ms)
	}
	if r := clientCLI(t, g, "agent", "--message", "x", "--deliver"); r.Code != 2 {
		t.Fatalf("--deliver without --to: %s", r)
	}
}

// TestConformanceTelegramSend: the reference CLI's send reaches the Bot API
// exactly once even when repeated with the same idempotency key.
func TestConformanceTelegramSend(t *testing.T) {
	ref := newReferenceCLI(t)
	api := startBotAPI(t)
	fp := fakeprovider.New(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "openclaw.json"), telegramConfig(api, fp, conformanceToken, ""))
	g := startGateway(t, gwOptions{StateDir: dir, NoAllowUnconfigured: true, Env: []string{"OPENCLAW_SKIP_CANVAS_HOST=1"}})
	if !api.WaitFor(10*time.Second, func() bool { return len(api.Calls(tgToken, "getUpdates")) > 0 }) {
		t.Fatal("the channel never linked")
	}
	args := []string{"gateway", "call", "send", "--params", `{"to":"42","message":"hi","channel":"telegram","idempotencyKey":"k"}`,
		"--url", g.URL, "--token", conformanceToken, "--json"}
	var first string
	for i := range 2 {
		r := ref.run(t, nil, args...)
		if r.Code != 0 {
			t.Fatalf("run %d: %s", i, r)
		}
		v := decodeJSON(t, r.Stdout)
		if id, _ := jsonPath(v, "runId"); id != "k" {
			t.Fatalf("run %d: %s", i, r.Stdout)
		}
		if ch, _ := jsonPath(v, "channel"); ch != "telegram" {
			t.Fatalf("run %d: %s", i, r.Stdout)
		}
		if i == 0 {
			first = r.Stdout
		} else if compactJSON(decodeJSON(t, first)) != compactJSON(v) {
			t.Fatalf("the repeat answered differently:\n%s\n%s", first, r.Stdout)
		}
	}
	if n := len(api.Calls(tgToken, "sendMessage")); n != 1 {
		t.Fatalf("sendMessage reached the Bot API %d times, want 1", n)
	}
	if m := api.Messages(tgToken, 42); len(m) != 1 || m[0].Text != "hi" {
		t.Fatalf("chat 42 shows %+v", m)
	}
}

package fakebotapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/mymmrac/telego/telegoapi"

	"openclaw/channels/telegram/fakebotapi"
)

var (
	token      = fakebotapi.MakeToken(123456)
	otherToken = fakebotapi.MakeToken(654321)
	me         = fakebotapi.Bot{ID: 123456, Username: "claw_bot", FirstName: "Claw"}
)

// start runs a server serving token and otherToken for the test.
func start(t *testing.T) *fakebotapi.Server {
	t.Helper()
	srv, err := fakebotapi.Start(fakebotapi.Options{Bots: map[string]fakebotapi.Bot{
		token:      me,
		otherToken: {ID: 654321, Username: "other_bot", FirstName: "Other"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// client is a telego bot talking to srv, as the channel's will.
func client(t *testing.T, srv *fakebotapi.Server, tok string) *telego.Bot {
	t.Helper()
	bot, err := telego.NewBot(tok,
		telego.WithAPIServer(srv.URL()),
		telego.WithHTTPClient(&http.Client{}),
		telego.WithDiscardLogger())
	if err != nil {
		t.Fatal(err)
	}
	return bot
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// apiError extracts the Bot API error from err, failing the test if there
// is none.
func apiError(t *testing.T, err error) *telegoapi.Error {
	t.Helper()
	var apiErr *telegoapi.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("error = %v, want a Bot API error", err)
	}
	return apiErr
}

func wantAPIError(t *testing.T, err error, code int, description string) {
	t.Helper()
	e := apiError(t, err)
	if e.ErrorCode != code || e.Description != description {
		t.Fatalf("error = %d %q, want %d %q", e.ErrorCode, e.Description, code, description)
	}
}

// rawCall calls a method without telego, to see the wire itself.
func rawCall(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decoding answer: %v", err)
	}
	return resp.StatusCode, body
}

func TestGetMe(t *testing.T) {
	srv := start(t)
	u, err := client(t, srv, token).GetMe(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != me.ID || !u.IsBot || u.Username != me.Username || u.FirstName != me.FirstName ||
		!u.CanJoinGroups || u.CanReadAllGroupMessages || u.SupportsInlineQueries {
		t.Errorf("getMe = %+v", u)
	}

	// getMe is per token.
	u, err = client(t, srv, otherToken).GetMe(ctxT(t))
	if err != nil || u.Username != "other_bot" {
		t.Errorf("getMe with the other token = %+v, %v", u, err)
	}
}

func TestRouting(t *testing.T) {
	srv := start(t)
	unknown := fakebotapi.MakeToken(777)
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		status int
		desc   string
	}{
		{"unknown token", "POST", "/bot" + unknown + "/getMe", "{}", 401, "Unauthorized"},
		{"unknown token, unknown method", "POST", "/bot" + unknown + "/nope", "{}", 401, "Unauthorized"},
		{"unknown method", "POST", "/bot" + token + "/sendSticker", "{}", 404, "Not Found"},
		{"no bot prefix", "GET", "/getMe", "", 404, "Not Found"},
		{"test-environment path", "POST", "/bot" + token + "/test/getMe", "{}", 404, "Not Found"},
		{"GET", "GET", "/bot" + token + "/getMe", "", 200, ""},
		{"method names are case-insensitive", "POST", "/bot" + token + "/GETME", "", 200, ""},
		{"bad JSON", "POST", "/bot" + token + "/getMe", "{", 400, "Bad Request: can't parse JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL()+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			status, body := rawCall(t, req)
			if status != tt.status {
				t.Fatalf("status = %d, want %d (%v)", status, tt.status, body)
			}
			if tt.status == 200 {
				if body["ok"] != true {
					t.Fatalf("body = %v", body)
				}
				return
			}
			if body["ok"] != false || body["error_code"] != float64(tt.status) || body["description"] != tt.desc {
				t.Fatalf("body = %v", body)
			}
			if _, ok := body["parameters"]; ok {
				t.Errorf("parameters present without a reason: %v", body)
			}
		})
	}

	// telego reports the 401 as an API error.
	_, err := client(t, srv, unknown).GetMe(ctxT(t))
	wantAPIError(t, err, 401, "Unauthorized")
}

func TestRemoveAndAddBot(t *testing.T) {
	srv := start(t)
	bot := client(t, srv, token)
	ctx := ctxT(t)

	// A long poll waiting when the token is revoked ends with 401.
	errc := make(chan error, 1)
	go func() {
		_, err := bot.GetUpdates(ctx, &telego.GetUpdatesParams{Timeout: 5})
		errc <- err
	}()
	waitInFlight(t, srv, token)
	srv.RemoveBot(token)
	wantAPIError(t, <-errc, 401, "Unauthorized")

	_, err := bot.GetMe(ctx)
	wantAPIError(t, err, 401, "Unauthorized")
	if n := len(srv.Calls(token, "getUpdates")); n != 1 {
		t.Errorf("calls kept after removal = %d, want 1", n)
	}

	srv.AddBot(token, fakebotapi.Bot{ID: 1, Username: "reborn_bot", FirstName: "R"})
	u, err := bot.GetMe(ctx)
	if err != nil || u.Username != "reborn_bot" {
		t.Fatalf("getMe after AddBot = %+v, %v", u, err)
	}
	if n := len(srv.Calls(token, "")); n != 1 {
		t.Errorf("a re-added token has %d calls, want a fresh start with 1", n)
	}

	// Replacing a live bot keeps its state.
	srv.Push(token, srv.TextUpdate(token, 1, 1, "kept"))
	srv.AddBot(token, fakebotapi.Bot{ID: 1, Username: "renamed_bot", FirstName: "R"})
	ups, err := bot.GetUpdates(ctx, &telego.GetUpdatesParams{})
	if err != nil || len(ups) != 1 {
		t.Fatalf("updates after renaming = %d, %v", len(ups), err)
	}
}

func TestAddBotRejectsMalformedToken(t *testing.T) {
	srv := start(t)
	defer func() {
		if recover() == nil {
			t.Error("AddBot accepted a malformed token")
		}
	}()
	srv.AddBot("123:short", me)
}

func TestStartRejectsMalformedToken(t *testing.T) {
	if _, err := fakebotapi.Start(fakebotapi.Options{Bots: map[string]fakebotapi.Bot{"nope": me}}); err == nil {
		t.Error("Start accepted a malformed token")
	}
}

// waitInFlight waits until a getUpdates for tok is being served.
func waitInFlight(t *testing.T, srv *fakebotapi.Server, tok string) {
	t.Helper()
	ok := srv.WaitFor(5*time.Second, func() bool {
		for _, c := range srv.Calls(tok, "getUpdates") {
			if c.Status == 0 {
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatal("no getUpdates in flight")
	}
}

func updateIDs(ups []telego.Update) []int {
	ids := make([]int, len(ups))
	for i, u := range ups {
		ids[i] = u.UpdateID
	}
	return ids
}

func TestGetUpdatesOffset(t *testing.T) {
	srv := start(t)
	bot := client(t, srv, token)
	ctx := ctxT(t)
	for i := range 5 {
		srv.Push(token, srv.TextUpdate(token, 42, 42, "m"+string(rune('0'+i))))
	}

	steps := []struct {
		name   string
		params telego.GetUpdatesParams
		want   []int
	}{
		{"no offset returns all, oldest first", telego.GetUpdatesParams{}, []int{1000, 1001, 1002, 1003, 1004}},
		{"limit", telego.GetUpdatesParams{Limit: 2}, []int{1000, 1001}},
		{"offset confirms what is below", telego.GetUpdatesParams{Offset: 1002}, []int{1002, 1003, 1004}},
		{"confirmed updates are forgotten", telego.GetUpdatesParams{}, []int{1002, 1003, 1004}},
		{"negative offset keeps the last ones", telego.GetUpdatesParams{Offset: -1}, []int{1004}},
		{"past the end", telego.GetUpdatesParams{Offset: 1005}, []int{}},
		{"and all is gone", telego.GetUpdatesParams{}, []int{}},
	}
	for _, st := range steps {
		ups, err := bot.GetUpdates(ctx, &st.params)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := updateIDs(ups); !equalInts(got, st.want) {
			t.Fatalf("%s: update ids = %v, want %v", st.name, got, st.want)
		}
	}

	// Updates pushed out of order come out in update_id order, and the
	// builders' ids stay above them.
	srv.Push(token, json.RawMessage(`{"update_id":2001,"message":{}}`), json.RawMessage(`{"update_id":2000,"message":{}}`))
	if id := srv.NextUpdateID(token); id != 2002 {
		t.Errorf("NextUpdateID after pushing 2001 = %d, want 2002", id)
	}
	ups, err := bot.GetUpdates(ctx, &telego.GetUpdatesParams{})
	if err != nil || !equalInts(updateIDs(ups), []int{2000, 2001}) {
		t.Fatalf("out-of-order push: %v, %v", updateIDs(ups), err)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAllowedUpdates(t *testing.T) {
	srv := start(t)
	bot := client(t, srv, token)
	ctx := ctxT(t)
	srv.Push(token,
		json.RawMessage(`{"update_id":1,"message":{}}`),
		json.RawMessage(`{"update_id":2,"message_reaction":{"chat":{"id":1,"type":"private"},"message_id":1,"date":1,"old_reaction":[],"new_reaction":[]}}`),
		json.RawMessage(`{"update_id":3,"callback_query":{}}`))

	steps := []struct {
		name    string
		allowed []string
		want    []int
	}{
		{"default selection leaves message_reaction out", nil, []int{1, 3}},
		{"explicit selection", []string{"message_reaction"}, []int{2}},
		{"the selection sticks until changed, as on Telegram", nil, []int{2}},
	}
	for _, st := range steps {
		ups, err := bot.GetUpdates(ctx, &telego.GetUpdatesParams{AllowedUpdates: st.allowed})
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := updateIDs(ups); !equalInts(got, st.want) {
			t.Errorf("%s: got %v, want %v", st.name, got, st.want)
		}
	}
}

func TestLongPoll(t *testing.T) {
	srv := start(t)
	bot := client(t, srv, token)
	ctx := ctxT(t)

	t.Run("wakes up on Push", func(t *testing.T) {
		type result struct {
			ups []telego.Update
			err error
			at  time.Time
		}
		done := make(chan result, 1)
		go func() {
			ups, err := bot.GetUpdates(ctx, &telego.GetUpdatesParams{Timeout: 5})
			done <- result{ups, err, time.Now()}
		}()
		waitInFlight(t, srv, token)
		pushed := time.Now()
		srv.Push(token, srv.TextUpdate(token, 42, 42, "wake"))
		r := <-done
		if r.err != nil || len(r.ups) != 1 || r.ups[0].Message.Text != "wake" {
			t.Fatalf("long poll = %v, %v", r.ups, r.err)
		}
		if d := r.at.Sub(pushed); d > time.Second {
			t.Errorf("long poll answered %v after the push", d)
		}
		calls := srv.Calls(token, "getUpdates")
		if last := calls[len(calls)-1]; last.Status != 200 {
			t.Errorf("recorded status = %d", last.Status)
		}
	})

	t.Run("times out empty", func(t *testing.T) {
		_, _ = bot.GetUpdates(ctx, &telego.GetUpdatesParams{Offset: 1 << 30}) // confirm everything
		begin := time.Now()
		ups, err := bot.GetUpdates(ctx, &telego.GetUpdatesParams{Timeout: 1})
		if err != nil || len(ups) != 0 {
			t.Fatalf("= %v, %v", ups, err)
		}
		if d := time.Since(begin); d < 900*time.Millisecond || d > 3*time.Second {
			t.Errorf("a 1 s long poll took %v", d)
		}
	})

	t.Run("ends when the client gives up", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		errc := make(chan error, 1)
		go func() {
			_, err := bot.GetUpdates(cctx, &telego.GetUpdatesParams{Timeout: 30})
			errc <- err
		}()
		waitInFlight(t, srv, token)
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v", err)
		}
		// The server notices, so the next poll is not a conflict.
		if !srv.WaitFor(5*time.Second, func() bool {
			for _, c := range srv.Calls(token, "getUpdates") {
				if c.Status != 0 && c.Status != 200 {
					return false
				}
			}
			_, err := bot.GetUpdates(ctx, &telego.GetUpdatesParams{})
			return err == nil
		}) {
			t.Error("getUpdates failing after an abandoned long poll")
		}
	})
}

func TestConflicts(t *testing.T) {
	srv := start(t)
	bot := client(t, srv, token)
	ctx := ctxT(t)

	t.Run("webhook active", func(t *testing.T) {
		if err := bot.SetWebhook(ctx, &telego.SetWebhookParams{URL: "https://example.invalid/hook"}); err != nil {
			t.Fatal(err)
		}
		_, err := bot.GetUpdates(ctx, &telego.GetUpdatesParams{})
		wantAPIError(t, err, 409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
		if err := bot.DeleteWebhook(ctx, &telego.DeleteWebhookParams{}); err != nil {
			t.Fatal(err)
		}
		if _, err := bot.GetUpdates(ctx, &telego.GetUpdatesParams{}); err != nil {
			t.Fatalf("getUpdates after deleteWebhook: %v", err)
		}
	})

	tests := []struct {
		name  string
		other func() error
		desc  string
	}{
		{"second getUpdates", func() error {
			_, err := client(t, srv, token).GetUpdates(ctx, &telego.GetUpdatesParams{})
			return err
		}, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"},
		{"setWebhook", func() error {
			defer bot.DeleteWebhook(ctx, &telego.DeleteWebhookParams{})
			return bot.SetWebhook(ctx, &telego.SetWebhookParams{URL: "https://example.invalid/hook"})
		}, "Conflict: terminated by setWebhook request"},
	}
	for _, tt := range tests {
		t.Run("older poll terminated by "+tt.name, func(t *testing.T) {
			errc := make(chan error, 1)
			go func() {
				_, err := bot.GetUpdates(ctx, &telego.GetUpdatesParams{Timeout: 10})
				errc <- err
			}()
			waitInFlight(t, srv, token)
			if err := tt.other(); err != nil {
				t.Fatalf("the newer request failed: %v", err)
			}
			wantAPIError(t, <-errc, 409, tt.desc)
		})
	}

	t.Run("other bots are independent", func(t *testing.T) {
		errc := make(chan error, 1)
		go func() {
			_, err := bot.GetUpdates(ctx, &telego.GetUpdatesParams{Timeout: 1})
			errc <- err
		}()
		waitInFlight(t, srv, token)
		if _, err := client(t, srv, otherToken).GetUpdates(ctx, &telego.GetUpdatesParams{}); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil {
			t.Errorf("the first bot's poll: %v", err)
		}
	})
}

func TestSendMessage(t *testing.T) {
	srv := start(t)
	bot := client(t, srv, token)
	ctx := ctxT(t)
	const parseErr = "Bad Request: can't parse entities: "
	tests := []struct {
		name, text, mode string
		wantText         string // the text in the returned Message
		wantEnts         int
		wantErr          string
	}{
		{name: "plain", text: "hello", wantText: "hello"},
		{name: "plain text keeps markup characters", text: "a < b & c", wantText: "a < b & c"},
		{name: "HTML", text: "<b>bold</b> &amp; <i>it</i>", mode: "HTML", wantText: "bold & it", wantEnts: 2},
		{name: "parse_mode is case-insensitive", text: "<b>x</b>", mode: "html", wantText: "x", wantEnts: 1},
		{name: "link", text: `<a href="https://e.com/?a=1&amp;b=2">l</a>`, mode: "HTML", wantText: "l", wantEnts: 1},
		{name: "pre code", text: `<pre><code class="language-go">x := 1</code></pre>`, mode: "HTML", wantText: "x := 1", wantEnts: 1},
		{name: "spoiler and quote", text: `<span class="tg-spoiler">s</span><blockquote expandable>q</blockquote>`, mode: "HTML", wantText: "sq", wantEnts: 2},
		{name: "Markdown is not checked", text: "*b*", mode: "MarkdownV2", wantText: "*b*"},

		{name: "empty", text: "", wantErr: "Bad Request: message text is empty"},
		{name: "blank", text: " \n ", wantErr: "Bad Request: message text is empty"},
		{name: "markup only", text: "<b></b>", mode: "HTML", wantErr: "Bad Request: message text is empty"},
		{name: "unknown parse mode", text: "x", mode: "BBCode", wantErr: "Bad Request: unsupported parse_mode"},
		{name: "bare less-than", text: "a < b", mode: "HTML", wantErr: parseErr + `Unsupported start tag "" at byte offset 2`},
		{name: "bare ampersand", text: "a & b", mode: "HTML", wantErr: parseErr + `Character "&" at byte offset 2 must be escaped as "&amp;"`},
		{name: "unknown tag", text: "<p>x</p>", mode: "HTML", wantErr: parseErr + `Unsupported start tag "p" at byte offset 0`},
		{name: "unclosed", text: "<b>x", mode: "HTML", wantErr: parseErr + `Can't find end tag corresponding to start tag "b"`},
		{name: "crossed", text: "<b><i>x</b></i>", mode: "HTML", wantErr: parseErr + `Unmatched end tag at byte offset 7, expected "</i>", found "</b>"`},
		{name: "span without spoiler class", text: "<span>x</span>", mode: "HTML", wantErr: parseErr + `Tag "span" must have class "tg-spoiler" at byte offset 0`},
		{name: "unknown entity", text: "&nbsp;", mode: "HTML", wantErr: parseErr + `Character "&" at byte offset 0 must be escaped as "&amp;"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := bot.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: 42}, Text: tt.text, ParseMode: tt.mode})
			if tt.wantErr != "" {
				wantAPIError(t, err, 400, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg.Text != tt.wantText || len(msg.Entities) != tt.wantEnts {
				t.Errorf("message text %q with %d entities, want %q with %d", msg.Text, len(msg.Entities), tt.wantText, tt.wantEnts)
			}
			if msg.Chat.ID != 42 || msg.Chat.Type != "private" || msg.From == nil || msg.From.ID != me.ID || !msg.From.IsBot || msg.Date == 0 {
				t.Errorf("message = %+v", msg)
			}
		})
	}

	// Only the successful sends are kept, numbered from 1 in order.
	msgs := srv.Messages(token, 42)
	ok := 0
	for _, tt := range tests {
		if tt.wantErr == "" {
			ok++
		}
	}
	if len(msgs) != ok {
		t.Fatalf("kept %d messages, want %d", len(msgs), ok)
	}
	for i, m := range msgs {
		if m.ID != int64(i+1) {
			t.Errorf("message %d has id %d", i, m.ID)
		}
	}
	if m := msgs[2]; m.Text != "<b>bold</b> &amp; <i>it</i>" || m.ParseMode != "HTML" || m.Plain != "bold & it" || m.Edits != 0 || m.SentAt.IsZero() {
		t.Errorf("kept message = %+v", m)
	}

	// Message ids count per chat.
	msg, err := bot.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: -1001234567890}, Text: "group"})
	if err != nil || msg.MessageID != 1 || msg.Chat.Type != "supergroup" {
		t.Errorf("first message in another chat = %+v, %v", msg, err)
	}

	// The parameters are recorded as sent, numbers as json.Number.
	calls := srv.Calls(token, "sendMessage")
	if len(calls) != len(tests)+1 {
		t.Fatalf("recorded %d sendMessage calls, want %d", len(calls), len(tests)+1)
	}
	if n, ok := calls[0].Params["chat_id"].(json.Number); !ok || n.String() != "42" {
		t.Errorf("chat_id recorded as %#v", calls[0].Params["chat_id"])
	}
	if calls[0].Status != 200 || calls[len(tests)-1].Status != 400 {
		t.Errorf("statuses %d, %d", calls[0].Status, calls[len(tests)-1].Status)
	}
}

func TestMessageLength(t *testing.T) {
	srv := start(t)
	bot := client(t, srv, token)
	ctx := ctxT(t)
	tests := []struct {
		name, text, mode string
		ok               bool
	}{
		{"4096 ASCII", strings.Repeat("a", 4096), "", true},
		{"4097 ASCII", strings.Repeat("a", 4097), "", false},
		{"markup does not count", "<b>" + strings.Repeat("a", 4096) + "</b>", "HTML", true},
		{"entities count once", strings.Repeat("&lt;", 4096), "HTML", true},
		{"entities count once, too many", strings.Repeat("&lt;", 4097), "HTML", false},
		{"2048 emoji are 4096 UTF-16 units", strings.Repeat("😀", 2048), "", true},
		{"2049 emoji", strings.Repeat("😀", 2049), "", false},
		{"4096 Cyrillic letters, 8192 bytes", strings.Repeat("ж", 4096), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bot.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: 7}, Text: tt.text, ParseMode: tt.mode})
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantAPIError(t, err, 400, "Bad Request: message is too long")
		})
	}
}

func TestEditMessageText(t *testing.T) {
	srv := start(t)
	bot := client(t, srv, token)
	ctx := ctxT(t)
	sent, err := bot.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: 42}, Text: "<b>draft</b>", ParseMode: "HTML"})
	if err != nil {
		t.Fatal(err)
	}
	const notModified = "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"
	keyboard := &telego.InlineKeyboardMarkup{InlineKeyboard: [][]telego.InlineKeyboardButton{{{Text: "ok", CallbackData: "ok"}}}}
	steps := []struct {
		name     string
		id       int
		text     string
		mode     string
		markup   *telego.InlineKeyboardMarkup
		wantErr  string
		wantText string
	}{
		{name: "same text", id: sent.MessageID, text: "<b>draft</b>", mode: "HTML", wantErr: notModified},
		{name: "same rendering, other spelling", id: sent.MessageID, text: "<strong>draft</strong>", mode: "HTML", wantErr: notModified},
		{name: "new text", id: sent.MessageID, text: "<b>draft</b> done", mode: "HTML", wantText: "draft done"},
		{name: "same text, markup lost", id: sent.MessageID, text: "draft done", wantText: "draft done"},
		{name: "keyboard added", id: sent.MessageID, text: "draft done", markup: keyboard, wantText: "draft done"},
		{name: "keyboard unchanged", id: sent.MessageID, text: "draft done", markup: keyboard, wantErr: notModified},
		{name: "unknown message", id: 99, text: "x", wantErr: "Bad Request: message to edit not found"},
		{name: "bad HTML", id: sent.MessageID, text: "<b>x", mode: "HTML", wantErr: "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\""},
		{name: "too long", id: sent.MessageID, text: strings.Repeat("x", 4097), wantErr: "Bad Request: message is too long"},
		{name: "empty", id: sent.MessageID, text: "", wantErr: "Bad Request: message text is empty"},
	}
	edits := 0
	for _, st := range steps {
		msg, err := bot.EditMessageText(ctx, &telego.EditMessageTextParams{
			ChatID: telego.ChatID{ID: 42}, MessageID: st.id, Text: st.text, ParseMode: st.mode, ReplyMarkup: st.markup,
		})
		if st.wantErr != "" {
			if err == nil {
				t.Fatalf("%s: no error", st.name)
			}
			e := apiError(t, err)
			if e.ErrorCode != 400 || e.Description != st.wantErr {
				t.Fatalf("%s: error %d %q, want %q", st.name, e.ErrorCode, e.Description, st.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		edits++
		if msg.Text != st.wantText || msg.MessageID != sent.MessageID || msg.EditDate == 0 {
			t.Fatalf("%s: edited message = %+v", st.name, msg)
		}
		if (st.markup != nil) != (msg.ReplyMarkup != nil) {
			t.Errorf("%s: reply_markup = %+v", st.name, msg.ReplyMarkup)
		}
	}
	msgs := srv.Messages(token, 42)
	if len(msgs) != 1 {
		t.Fatalf("messages = %+v", msgs)
	}
	if m := msgs[0]; m.Text != "draft done" || m.ParseMode != "" || m.Edits != edits || m.EditedAt.Before(m.SentAt) {
		t.Errorf("message after edits = %+v, want %d edits", m, edits)
	}
}

func TestChats(t *testing.T) {
	srv := start(t)
	bot := client(t, srv, token)
	ctx := ctxT(t)
	srv.BlockChat(token, 13)
	srv.AddChat(token, "@news", -1009999999999)
	const blocked = "Forbidden: bot was blocked by the user"
	tests := []struct {
		name     string
		call     func() error
		code     int
		desc     string
		wantChat int64
	}{
		{"send to blocked chat", func() error {
			_, err := bot.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: 13}, Text: "hi"})
			return err
		}, 403, blocked, 0},
		{"action in blocked chat", func() error {
			return bot.SendChatAction(ctx, &telego.SendChatActionParams{ChatID: telego.ChatID{ID: 13}, Action: "typing"})
		}, 403, blocked, 0},
		{"send to @username", func() error {
			_, err := bot.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{Username: "@News"}, Text: "hi"})
			return err
		}, 0, "", -1009999999999},
		{"send to unknown @username", func() error {
			_, err := bot.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{Username: "@nobody"}, Text: "hi"})
			return err
		}, 400, "Bad Request: chat not found", 0},
		{"no chat", func() error {
			_, err := bot.SendMessage(ctx, &telego.SendMessageParams{Text: "hi"})
			return err
		}, 400, "Bad Request: chat_id is empty", 0},
		{"typing", func() error {
			return bot.SendChatAction(ctx, &telego.SendChatActionParams{ChatID: telego.ChatID{ID: 42}, Action: "typing"})
		}, 0, "", 0},
		{"unknown action", func() error {
			return bot.SendChatAction(ctx, &telego.SendChatActionParams{ChatID: telego.ChatID{ID: 42}, Action: "dancing"})
		}, 400, "Bad Request: wrong parameter action in request", 0},
		{"delete and set commands", func() error {
			if err := bot.DeleteMessage(ctx, &telego.DeleteMessageParams{ChatID: telego.ChatID{ID: 42}, MessageID: 5}); err != nil {
				return err
			}
			return bot.SetMyCommands(ctx, &telego.SetMyCommandsParams{Commands: []telego.BotCommand{{Command: "start", Description: "Start"}}})
		}, 0, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if tt.code != 0 {
				wantAPIError(t, err, tt.code, tt.desc)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantChat != 0 && len(srv.Messages(token, tt.wantChat)) != 1 {
				t.Errorf("no message in chat %d", tt.wantChat)
			}
		})
	}

	// A string holding a number is a chat id too.
	req, _ := http.NewRequest("POST", srv.URL()+"/bot"+token+"/sendMessage", strings.NewReader(`{"chat_id":"77","text":"s"}`))
	req.Header.Set("Content-Type", "application/json")
	if status, body := rawCall(t, req); status != 200 || len(srv.Messages(token, 77)) != 1 {
		t.Errorf("chat_id as a string: %d %v", status, body)
	}

	srv.UnblockChat(token, 13)
	if _, err := bot.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: 13}, Text: "hi"}); err != nil {
		t.Errorf("after UnblockChat: %v", err)
	}
	// State is per bot: the other bot was not blocked and knows no @news.
	other := client(t, srv, otherToken)
	if _, err := other.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{Username: "@news"}, Text: "hi"}); err == nil {
		t.Error("the other bot resolved @news")
	}
}

func TestFail(t *testing.T) {
	srv := start(t)
	bot := client(t, srv, token)
	ctx := ctxT(t)
	srv.Fail(token, "sendMessage", 2, 429, "Too Many Requests: retry after 3", 3)
	srv.Fail(token, "sendmessage", 1, 400, "Bad Request: queued second", 0)
	send := func() error {
		_, err := bot.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: 1}, Text: "x"})
		return err
	}
	for range 2 {
		e := apiError(t, send())
		if e.ErrorCode != 429 || e.Description != "Too Many Requests: retry after 3" || e.Parameters == nil || e.Parameters.RetryAfter != 3 {
			t.Fatalf("error = %+v", e)
		}
	}
	wantAPIError(t, send(), 400, "Bad Request: queued second")
	if err := send(); err != nil {
		t.Fatalf("after the failures: %v", err)
	}
	var statuses []int
	for _, c := range srv.Calls(token, "sendMessage") {
		statuses = append(statuses, c.Status)
	}
	if !equalInts(statuses, []int{429, 429, 400, 200}) {
		t.Errorf("statuses = %v", statuses)
	}
	if n := len(srv.Messages(token, 1)); n != 1 {
		t.Errorf("failed calls sent messages: %d kept", n)
	}

	// A 5xx is a transport failure to telego, not an API error.
	srv.Fail(token, "getMe", 1, 502, "Bad Gateway", 0)
	if _, err := bot.GetMe(ctx); err == nil || errors.As(err, new(*telegoapi.Error)) {
		t.Errorf("502: %v", err)
	}
	// times <= 0 cancels.
	srv.Fail(token, "getMe", 5, 500, "x", 0)
	srv.Fail(token, "getMe", 0, 500, "x", 0)
	if _, err := bot.GetMe(ctx); err != nil {
		t.Errorf("after cancelling: %v", err)
	}
}

func TestDelay(t *testing.T) {
	srv := start(t)
	bot := client(t, srv, token)
	srv.Delay(token, "getMe", 200*time.Millisecond)
	begin := time.Now()
	if _, err := bot.GetMe(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d < 200*time.Millisecond {
		t.Errorf("delayed getMe took %v", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := bot.GetMe(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("client timeout: %v", err)
	}
	srv.Delay(token, "getMe", 0)
	begin = time.Now()
	if _, err := bot.GetMe(ctxT(t)); err != nil || time.Since(begin) > 150*time.Millisecond {
		t.Errorf("after removing the delay: %v in %v", err, time.Since(begin))
	}
}

// TestWithholdAnswers: the message is sent but the client never hears so;
// the next call is answered as usual.
func TestWithholdAnswers(t *testing.T) {
	srv := start(t)
	bot := client(t, srv, token)
	srv.WithholdAnswers(token, "sendMessage", 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := bot.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: 5}, Text: "lost answer"})
		done <- err
	}()
	if !srv.WaitFor(5*time.Second, func() bool { return srv.Withheld(token) == 1 }) {
		t.Fatal("the call was not withheld")
	}
	if m := srv.Messages(token, 5); len(m) != 1 || m[0].Text != "lost answer" {
		t.Fatalf("chat 5 shows %+v, want the message sent", m)
	}
	cancel() // the client goes away
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("SendMessage: %v, want context.Canceled", err)
	}
	if !srv.WaitFor(5*time.Second, func() bool { return srv.Withheld(token) == 0 }) {
		t.Fatal("still withheld after the client went away")
	}
	if c := srv.Calls(token, "sendMessage"); len(c) != 1 || c[0].Status != 0 {
		t.Fatalf("calls %+v, want one with status 0", c)
	}
	m, err := bot.SendMessage(ctxT(t), &telego.SendMessageParams{ChatID: telego.ChatID{ID: 5}, Text: "answered"})
	if err != nil || m.MessageID != 2 {
		t.Fatalf("the next sendMessage: %+v, %v", m, err)
	}
}

func TestWebhook(t *testing.T) {
	srv := start(t)
	bot := client(t, srv, token)
	ctx := ctxT(t)
	srv.Push(token, srv.TextUpdate(token, 1, 1, "a"), srv.TextUpdate(token, 1, 1, "b"))

	info, err := bot.GetWebhookInfo(ctx)
	if err != nil || info.URL != "" || info.PendingUpdateCount != 2 || info.HasCustomCertificate {
		t.Fatalf("info before = %+v, %v", info, err)
	}
	err = bot.SetWebhook(ctx, &telego.SetWebhookParams{URL: "https://example.invalid/hook", SecretToken: bot.SecretToken(), AllowedUpdates: []string{"message"}})
	if err != nil {
		t.Fatal(err)
	}
	if u, s := srv.Webhook(token); u != "https://example.invalid/hook" || s != bot.SecretToken() {
		t.Errorf("Webhook = %q, %q", u, s)
	}
	info, err = bot.GetWebhookInfo(ctx)
	if err != nil || info.URL != "https://example.invalid/hook" || info.PendingUpdateCount != 2 || info.MaxConnections != 40 || len(info.AllowedUpdates) != 1 {
		t.Fatalf("info while set = %+v, %v", info, err)
	}

	bad := []struct {
		name   string
		params telego.SetWebhookParams
		desc   string
	}{
		{"not a URL", telego.SetWebhookParams{URL: "hook"}, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"},
		{"raw token as secret", telego.SetWebhookParams{URL: "https://e.invalid/", SecretToken: token}, "Bad Request: secret token contains unallowed characters"},
	}
	for _, tt := range bad {
		wantAPIError(t, bot.SetWebhook(ctx, &tt.params), 400, tt.desc)
	}

	if err := bot.DeleteWebhook(ctx, &telego.DeleteWebhookParams{DropPendingUpdates: true}); err != nil {
		t.Fatal(err)
	}
	if u, s := srv.Webhook(token); u != "" || s != "" {
		t.Errorf("Webhook after delete = %q, %q", u, s)
	}
	info, err = bot.GetWebhookInfo(ctx)
	if err != nil || info.URL != "" || info.PendingUpdateCount != 0 {
		t.Fatalf("info after delete = %+v, %v", info, err)
	}

	// setWebhook can drop pending updates too, and an empty URL deletes.
	srv.Push(token, srv.TextUpdate(token, 1, 1, "c"))
	if err := bot.SetWebhook(ctx, &telego.SetWebhookParams{URL: "http://127.0.0.1:1/hook", DropPendingUpdates: true}); err != nil {
		t.Fatal(err)
	}
	if err := bot.SetWebhook(ctx, &telego.SetWebhookParams{URL: ""}); err != nil {
		t.Fatal(err)
	}
	if info, _ := bot.GetWebhookInfo(ctx); info.URL != "" || info.PendingUpdateCount != 0 {
		t.Errorf("info after empty setWebhook = %+v", info)
	}
}

func TestPostUpdate(t *testing.T) {
	srv := start(t)
	var mu sync.Mutex
	var got []telego.Update
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Telegram-Bot-Api-Secret-Token") != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var u telego.Update
		if err := json.NewDecoder(r.Body).Decode(&u); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, u)
		mu.Unlock()
	}))
	defer hook.Close()

	tests := []struct {
		name, secret string
		status       int
	}{
		{"right secret", "s3cret", 200},
		{"wrong secret", "guess", 401},
		{"no secret", "", 401},
	}
	for _, tt := range tests {
		status, err := fakebotapi.PostUpdate(ctxT(t), hook.URL, tt.secret, srv.TextUpdate(token, 5, 6, "via hook"))
		if err != nil || status != tt.status {
			t.Errorf("%s: status %d, %v; want %d", tt.name, status, err, tt.status)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].Message == nil || got[0].Message.Text != "via hook" || got[0].Message.From.ID != 6 {
		t.Errorf("delivered = %+v", got)
	}
	if _, err := fakebotapi.PostUpdate(ctxT(t), "http://127.0.0.1:1/", "", srv.TextUpdate(token, 1, 1, "x")); err == nil {
		t.Error("no error for an unreachable webhook")
	}
}

func TestBuilders(t *testing.T) {
	srv := start(t)
	bot := client(t, srv, token)
	ctx := ctxT(t)
	sent, err := bot.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: -1005}, Text: "<b>earlier</b>", ParseMode: "HTML"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Push(token,
		srv.TextUpdate(token, 42, 42, "/start@claw_bot now"),
		srv.GroupUpdate(token, -1005, 7, "hey @claw_bot and @claw_bot", fakebotapi.GroupOpts{Mention: "claw_bot", ReplyToBot: true}),
		srv.GroupUpdate(token, -1006, 7, "no reply", fakebotapi.GroupOpts{ReplyToBot: true}),
	)
	ups, err := bot.GetUpdates(ctx, &telego.GetUpdatesParams{})
	if err != nil || len(ups) != 3 {
		t.Fatalf("updates = %v, %v", ups, err)
	}

	private := ups[0].Message
	if private.Chat.ID != 42 || private.Chat.Type != "private" || private.From.ID != 42 || private.From.IsBot ||
		private.From.Username != "user42" || private.From.FirstName == "" || private.Date == 0 {
		t.Errorf("private message = %+v", private)
	}
	if len(private.Entities) != 1 || private.Entities[0].Type != "bot_command" || private.Entities[0].Length != len("/start@claw_bot") {
		t.Errorf("command entities = %+v", private.Entities)
	}

	group := ups[1].Message
	if group.Chat.ID != -1005 || group.Chat.Type != "supergroup" || group.From.ID != 7 {
		t.Errorf("group message = %+v", group)
	}
	if len(group.Entities) != 2 || group.Entities[0].Type != "mention" || group.Entities[0].Offset != 4 ||
		group.Entities[0].Length != 9 || group.Entities[1].Offset != 18 {
		t.Errorf("mention entities = %+v", group.Entities)
	}
	r := group.ReplyToMessage
	if r == nil || r.From == nil || !r.From.IsBot || r.From.ID != me.ID || r.MessageID != sent.MessageID || r.Text != "earlier" {
		t.Errorf("reply_to_message = %+v", r)
	}
	if r := ups[2].Message.ReplyToMessage; r == nil || r.From == nil || r.From.ID != me.ID {
		t.Errorf("made-up reply_to_message = %+v", r)
	}
	// Incoming message ids are increasing and apart from the bot's own.
	if !(private.MessageID < group.MessageID && group.MessageID < ups[2].Message.MessageID) || private.MessageID < 1000 {
		t.Errorf("incoming message ids %d, %d, %d", private.MessageID, group.MessageID, ups[2].Message.MessageID)
	}
}

func TestOtherEncodings(t *testing.T) {
	srv := start(t)
	base := srv.URL() + "/bot" + token
	form := url.Values{"chat_id": {"42"}, "text": {"<i>form</i>"}, "parse_mode": {"HTML"},
		"reply_markup": {`{"inline_keyboard":[[{"text":"a","callback_data":"a"}]]}`}}

	var mp strings.Builder
	mw := multipart.NewWriter(&mp)
	_ = mw.WriteField("chat_id", "@chan")
	_ = mw.WriteField("text", "multipart")
	fw, _ := mw.CreateFormFile("document", "notes.txt")
	_, _ = io.WriteString(fw, "hello")
	_ = mw.Close()
	srv.AddChat(token, "chan", -100777)

	tests := []struct {
		name  string
		req   func() *http.Request
		chat  int64
		plain string
	}{
		{"URL-encoded", func() *http.Request {
			r, _ := http.NewRequest("POST", base+"/sendMessage", strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, 42, "form"},
		{"GET with query", func() *http.Request {
			r, _ := http.NewRequest("GET", base+"/sendMessage?chat_id=43&text=query", nil)
			return r
		}, 43, "query"},
		{"multipart", func() *http.Request {
			r, _ := http.NewRequest("POST", base+"/sendMessage", strings.NewReader(mp.String()))
			r.Header.Set("Content-Type", mw.FormDataContentType())
			return r
		}, -100777, "multipart"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := rawCall(t, tt.req())
			if status != 200 {
				t.Fatalf("status %d: %v", status, body)
			}
			res, _ := body["result"].(map[string]any)
			if res["text"] != tt.plain {
				t.Errorf("result = %v", res)
			}
			msgs := srv.Messages(token, tt.chat)
			if len(msgs) != 1 || msgs[0].Plain != tt.plain {
				t.Errorf("messages = %+v", msgs)
			}
		})
	}
	calls := srv.Calls(token, "sendMessage")
	if v, ok := calls[0].Params["chat_id"].(string); !ok || v != "42" {
		t.Errorf("form chat_id recorded as %#v", calls[0].Params["chat_id"])
	}
	if f, ok := calls[2].Params["document"].(map[string]any); !ok || f["file_name"] != "notes.txt" {
		t.Errorf("multipart file recorded as %#v", calls[2].Params["document"])
	}
	// reply_markup sent as JSON text in a form still shows on the message.
	status, body := rawCall(t, func() *http.Request {
		r, _ := http.NewRequest("POST", base+"/editMessageText", strings.NewReader(form.Encode()+"&message_id=1"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}())
	if status != 400 || !strings.Contains(body["description"].(string), "message is not modified") {
		t.Errorf("re-sending the same form as an edit: %d %v", status, body)
	}
}

func TestConcurrentSends(t *testing.T) {
	srv := start(t)
	bot := client(t, srv, token)
	ctx := ctxT(t)
	const n = 50
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := bot.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: 9}, Text: "x"}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	msgs := srv.Messages(token, 9)
	if len(msgs) != n {
		t.Fatalf("%d messages, want %d", len(msgs), n)
	}
	for i, m := range msgs {
		if m.ID != int64(i+1) {
			t.Fatalf("message %d has id %d", i, m.ID)
		}
	}
}

func TestCloseEndsLongPoll(t *testing.T) {
	srv, err := fakebotapi.Start(fakebotapi.Options{Bots: map[string]fakebotapi.Bot{token: me}})
	if err != nil {
		t.Fatal(err)
	}
	bot := client(t, srv, token)
	errc := make(chan error, 1)
	go func() {
		_, err := bot.GetUpdates(context.Background(), &telego.GetUpdatesParams{Timeout: 30})
		errc <- err
	}()
	waitInFlight(t, srv, token)
	begin := time.Now()
	srv.Close()
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("Close took %v with a long poll waiting", d)
	}
	select {
	case <-errc:
	case <-time.After(5 * time.Second):
		t.Error("the long poll outlived the server")
	}
	srv.Close() // a second Close is harmless
}

// TestThroughput checks the fake keeps up with a channel's benchmark:
// updates pushed while a poller is looping all arrive, in order.
func TestThroughput(t *testing.T) {
	srv := start(t)
	bot := client(t, srv, token)
	ctx := ctxT(t)
	const total = 5000
	go func() {
		for range total / 50 {
			batch := make([]json.RawMessage, 50)
			for i := range batch {
				batch[i] = srv.TextUpdate(token, 1, 1, "x")
			}
			srv.Push(token, batch...)
		}
	}()
	begin := time.Now()
	offset, got := 0, 0
	for got < total {
		ups, err := bot.GetUpdates(ctx, &telego.GetUpdatesParams{Offset: offset, Timeout: 5})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range ups {
			if offset != 0 && u.UpdateID != offset {
				t.Fatalf("update %d after offset %d", u.UpdateID, offset)
			}
			offset = u.UpdateID + 1
			got++
		}
	}
	t.Logf("%d updates in %v", total, time.Since(begin))
}

func BenchmarkGetUpdates(b *testing.B) {
	srv, err := fakebotapi.Start(fakebotapi.Options{Bots: map[string]fakebotapi.Bot{token: me}})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	bot, _ := telego.NewBot(token, telego.WithAPIServer(srv.URL()), telego.WithHTTPClient(&http.Client{}), telego.WithDiscardLogger())
	ctx := context.Background()
	offset := 0
	b.ResetTimer()
	for range b.N {
		srv.Push(token, srv.TextUpdate(token, 1, 1, "benchmark text"))
		ups, err := bot.GetUpdates(ctx, &telego.GetUpdatesParams{Offset: offset, Timeout: 1})
		if err != nil || len(ups) != 1 {
			b.Fatalf("%v, %v", ups, err)
		}
		offset = ups[0].UpdateID + 1
	}
}

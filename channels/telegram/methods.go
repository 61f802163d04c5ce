package telegram

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/mymmrac/telego"

	"openclaw/actors/channels"
	"openclaw/actors/methods"
	"openclaw/actors/store"
	"openclaw/channels/telegram/format"
	"openclaw/transport/protocol"
)

// saveTimeout bounds one write of an account's pairing state.
const saveTimeout = 10 * time.Second

// ---- pairing state persistence ----

// saver writes an account's pairing state off the actor, newest last: a
// write that finds a newer one already done skips itself.
type saver struct {
	store store.Store
	key   string

	mu      sync.Mutex
	version int64
	written int64
}

// save stores st (a snapshot taken now) and calls done with the outcome.
func (s *saver) save(st pairingState, done func(error)) {
	b, err := json.Marshal(st)
	if err != nil {
		done(err)
		return
	}
	s.mu.Lock()
	s.version++
	v := s.version
	s.mu.Unlock()
	go func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if v < s.written {
			done(nil)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
		defer cancel()
		err := s.store.Put(ctx, pairingNS, s.key, b)
		if err == nil {
			s.written = v
		}
		done(err)
	}()
}

func (a *account) loadPairing() {
	a.spawn("loadPairing", func(ctx context.Context) {
		v, ok, err := a.d.Store.Get(ctx, pairingNS, a.id)
		if err != nil || !ok {
			return
		}
		var st pairingState
		if json.Unmarshal(v, &st) == nil {
			a.post(&pairingLoaded{st: st})
		}
	})
}

// ---- pairing RPCs ----

func (a *account) usesPairing() bool { return a.cfg.DmPolicy == "" || a.cfg.DmPolicy == "pairing" }

func (a *account) pairingList() *channels.PairingRequests {
	now := time.Now()
	a.pairing.prune(now)
	out := &channels.PairingRequests{Uses: a.usesPairing(), Requests: []protocol.PairingRequest{},
		Limits: protocol.PairingLimits{PendingPerAccount: PairingMaxPending, TTLMs: PairingTTL.Milliseconds()}}
	for _, r := range a.pairing.Requests {
		meta := map[string]string{}
		for k, v := range r.Meta {
			if v != "" && k != "chatId" {
				meta[k] = v
			}
		}
		row := protocol.PairingRequest{
			RequestID: pairingRequestID(a.id, r), Code: r.Code, Channel: "telegram", ChannelLabel: "Telegram",
			AccountID: a.id, SenderID: r.SenderID, SenderLabel: "telegramUserId",
			CreatedAt: r.CreatedAt.UTC().Format(time.RFC3339Nano), LastSeenAt: r.LastSeenAt.UTC().Format(time.RFC3339Nano),
			ExpiresAt:       r.CreatedAt.Add(PairingTTL).UTC().Format(time.RFC3339Nano),
			NotifySupported: true,
		}
		if len(meta) > 0 {
			row.Metadata = meta
		}
		out.Requests = append(out.Requests, row)
	}
	return out
}

func (a *account) pairingApprove(ctx actor.Context, m *channels.PairingApprove) {
	r, ok := a.pairing.approve(a.id, m.Code, m.RequestID, time.Now())
	if !ok {
		ctx.Respond(&channels.PairingApproved{})
		return
	}
	sender, root := ctx.Sender(), a.root
	reqID := pairingRequestID(a.id, r)
	a.saver.save(a.pairing, func(err error) {
		root.Send(sender, &channels.PairingApproved{Found: true, Err: err, SenderID: r.SenderID, Request: reqID})
	})
	a.d.Log.Info("telegram sender approved", "account", a.id, "sender", r.SenderID)
}

func (a *account) pairingDismiss(ctx actor.Context, m *channels.PairingDismiss) {
	r, ok := a.pairing.dismiss(a.id, m.RequestID, time.Now())
	if !ok {
		ctx.Respond(&channels.PairingApproved{})
		return
	}
	sender, root := ctx.Sender(), a.root
	a.saver.save(a.pairing, func(err error) {
		root.Send(sender, &channels.PairingApproved{Found: true, Err: err, SenderID: r.SenderID, Request: m.RequestID})
	})
	a.d.Log.Info("telegram pairing request dismissed", "account", a.id, "sender", r.SenderID)
}

// ---- send ----

// SendWindow is how long a send's result answers a repeat of its key.
const SendWindow = 5 * time.Minute

type sendEntry struct {
	done    bool
	at      time.Time
	result  protocol.SendResult
	waiters []*methods.Send
}

type sendDone struct {
	key    string
	result protocol.SendResult
	err    *protocol.ErrorShape
}

// send delivers a message (docs/PROTOCOL.md §5.2): a repeat of an idempotency key
// within SendWindow gets the first result and sends nothing, also while the
// first is still in flight.
func (a *account) send(m *methods.Send) {
	now := time.Now()
	for k, e := range a.sends {
		if e.done && now.Sub(e.at) > SendWindow {
			delete(a.sends, k)
		}
	}
	key := m.Params.IdempotencyKey
	if e := a.sends[key]; e != nil {
		if e.done {
			m.Reply(e.result)
			return
		}
		e.waiters = append(e.waiters, m)
		return
	}
	if a.bot == nil || a.me == nil {
		m.Fail(notLinked(a.id, a.status.LastError))
		return
	}
	chat, err := parseTarget(m.Params.To)
	if err != nil {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, err.Error(), nil))
		return
	}
	a.sends[key] = &sendEntry{waiters: []*methods.Send{m}}
	p := m.Params
	a.spawn("send", func(ctx context.Context) {
		res, errShape := a.deliver(ctx, chat, p)
		a.post(&sendDone{key: key, result: res, err: errShape})
	})
}

func (a *account) sendDone(m *sendDone) {
	e := a.sends[m.key]
	if e == nil {
		return
	}
	for _, w := range e.waiters {
		if m.err != nil {
			w.Fail(m.err)
		} else {
			w.Reply(m.result)
		}
	}
	if m.err != nil {
		// A failed send may be retried with the same key.
		delete(a.sends, m.key)
		return
	}
	e.done, e.at, e.result, e.waiters = true, time.Now(), m.result, nil
}

// parseTarget reads send's "to": a chat id, or @username (channels and
// public groups).
func parseTarget(to string) (telego.ChatID, error) {
	t := strings.TrimSpace(to)
	for _, p := range []string{"telegram:", "tg:"} {
		t = strings.TrimPrefix(t, p)
	}
	if strings.HasPrefix(t, "@") && len(t) > 1 {
		return telego.ChatID{Username: t}, nil
	}
	if id, err := strconv.ParseInt(t, 10, 64); err == nil && id != 0 {
		return telego.ChatID{ID: id}, nil
	}
	return telego.ChatID{}, &targetError{to: to}
}

type targetError struct{ to string }

func (e *targetError) Error() string {
	return "invalid telegram target " + strconv.Quote(e.to) + ": use a chat id or @username"
}

// deliver sends text to chat: Markdown rendered to Telegram HTML (or the
// caller's HTML with parseMode "HTML"), split at the chunk limit, waiting out
// Telegram's flood control.
func (a *account) deliver(ctx context.Context, chat telego.ChatID, p protocol.SendParams) (protocol.SendResult, *protocol.ErrorShape) {
	text := p.Message
	if p.MediaURL != "" {
		text = strings.TrimSpace(text + "\n" + p.MediaURL)
	}
	if strings.TrimSpace(text) == "" {
		return protocol.SendResult{}, protocol.NewError(protocol.CodeInvalidRequest, "send: message (or mediaUrl) is required", nil)
	}
	chunks := []string{text}
	if p.ParseMode != "HTML" {
		chunks = format.Chunk(text, a.chunkLimit())
	}
	replyTo, _ := strconv.Atoi(strings.Trim(string(p.ReplyToID), `"`))
	thread, _ := strconv.Atoi(strings.Trim(string(p.ThreadID), `"`))
	var first *telego.Message
	for i, c := range chunks {
		sp := &telego.SendMessageParams{ChatID: chat, Text: c, ParseMode: telego.ModeHTML, MessageThreadID: thread,
			DisableNotification: p.Silent}
		if p.ParseMode != "HTML" {
			sp.Text, sp.ParseMode = render(c)
		}
		if i == 0 && replyTo != 0 {
			sp.ReplyParameters = &telego.ReplyParameters{MessageID: replyTo, AllowSendingWithoutReply: true}
		}
		msg, err := a.sendRetrying(ctx, sp, c)
		if err != nil {
			e := apiError(err)
			details := map[string]any{"channel": "telegram", "accountId": a.id}
			msg := "telegram send failed: " + err.Error()
			if e != nil {
				details["errorCode"], details["description"] = e.ErrorCode, e.Description
				msg = "telegram send failed: " + e.Description
			}
			return protocol.SendResult{}, protocol.NewError(protocol.CodeUnavailable, msg, details)
		}
		if first == nil {
			first = msg
		}
	}
	return protocol.SendResult{RunID: p.IdempotencyKey, MessageID: strconv.Itoa(first.MessageID), Channel: "telegram",
		ChatID: strconv.FormatInt(first.Chat.ID, 10)}, nil
}

// sendRetrying sends one message: refused HTML goes again as plain text and
// a 429 is waited out (a few times, at most a minute each).
func (a *account) sendRetrying(ctx context.Context, sp *telego.SendMessageParams, plain string) (*telego.Message, error) {
	for attempt := 0; ; attempt++ {
		msg, err := a.bot.SendMessage(ctx, sp)
		if isParseError(err) && sp.ParseMode != "" {
			sp.Text, sp.ParseMode = plain, ""
			msg, err = a.bot.SendMessage(ctx, sp)
		}
		wait, limited := retryAfter(err)
		if !limited || attempt >= 3 || wait > time.Minute {
			return msg, err
		}
		if !sleep(ctx, wait) {
			return nil, ctx.Err()
		}
	}
}

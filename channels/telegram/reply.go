package telegram

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/mymmrac/telego"
	"github.com/mymmrac/telego/telegoapi"

	"openclaw/channels/telegram/format"
)

// shownMessage is one Telegram message of a reply: its id and the Markdown
// chunk it shows now.
type shownMessage struct {
	ID    int    `json:"id"`
	Text  string `json:"text"`
	Plain bool   `json:"plain,omitempty"` // Telegram refused the HTML: sent as plain text
}

// replyWriter puts a reply into a chat: the first delta becomes a message that
// later deltas edit in place (streaming "partial"), at most one edit per
// editEvery; text past the chunk limit continues in new messages. Its state
// (the messages sent) is saved through persist after every new message, so
// that a gateway restarted mid-reply edits the same messages instead of
// sending the reply twice.
type replyWriter struct {
	bot       *telego.Bot
	chat      telego.ChatID
	replyTo   int // the user's message the first chunk answers
	limit     int
	streaming bool
	editEvery time.Duration
	persist   func([]shownMessage)

	msgs      []shownMessage
	text      string
	lastShow  time.Time
	holdUntil time.Time // Telegram asked us to slow down (429)
	firstEdit time.Time // when the first message went out (for figures)
}

// delta adds streamed text and shows it when the edit rate allows.
func (w *replyWriter) delta(ctx context.Context, d string) {
	w.text += d
	if !w.streaming || strings.TrimSpace(w.text) == "" {
		return
	}
	now := time.Now()
	if now.Before(w.holdUntil) || (len(w.msgs) > 0 && now.Sub(w.lastShow) < w.editEvery) {
		return
	}
	w.lastShow = now
	_ = w.show(ctx, w.text, false)
}

// finish shows the final text: every chunk in its own message, in order.
func (w *replyWriter) finish(ctx context.Context, text string) error {
	if strings.TrimSpace(text) == "" {
		text = noReply
	}
	return w.show(ctx, text, true)
}

// noReply stands in for an empty answer (Telegram refuses empty messages).
const noReply = "No response from OpenClaw."

// show reconciles the chat with text: each chunk goes to the message that
// already shows it (edited when it differs) or to a new one. While streaming,
// a 429 skips this round; at the end it is waited out.
func (w *replyWriter) show(ctx context.Context, text string, final bool) error {
	chunks := format.Chunk(text, w.limit)
	for i, c := range chunks {
		if i < len(w.msgs) && w.msgs[i].Text == c {
			continue
		}
		for attempt := 0; ; attempt++ {
			err := w.put(ctx, i, c)
			if err == nil {
				break
			}
			wait, limited := retryAfter(err)
			if !limited {
				return err
			}
			w.holdUntil = time.Now().Add(wait)
			if !final || attempt >= 5 {
				return err
			}
			if !sleep(ctx, wait) {
				return ctx.Err()
			}
		}
	}
	return nil
}

// put sends chunk i, or edits the message that shows it. Telegram HTML that
// Telegram refuses is sent again as plain text.
func (w *replyWriter) put(ctx context.Context, i int, chunk string) error {
	if i < len(w.msgs) {
		m := &w.msgs[i]
		err := w.edit(ctx, m.ID, chunk, !m.Plain)
		if isParseError(err) {
			m.Plain = true
			err = w.edit(ctx, m.ID, chunk, false)
		}
		if err == nil || isNotModified(err) {
			m.Text = chunk
			return nil
		}
		return err
	}
	text, mode := render(chunk)
	p := &telego.SendMessageParams{ChatID: w.chat, Text: text, ParseMode: mode}
	if i == 0 && w.replyTo != 0 {
		p.ReplyParameters = &telego.ReplyParameters{MessageID: w.replyTo, AllowSendingWithoutReply: true}
	}
	plain := false
	msg, err := w.bot.SendMessage(ctx, p)
	if isParseError(err) {
		plain = true
		p.Text, p.ParseMode = chunk, ""
		msg, err = w.bot.SendMessage(ctx, p)
	}
	if err != nil {
		return err
	}
	if w.firstEdit.IsZero() {
		w.firstEdit = time.Now()
	}
	w.msgs = append(w.msgs, shownMessage{ID: msg.MessageID, Text: chunk, Plain: plain})
	if w.persist != nil {
		w.persist(w.msgs)
	}
	return nil
}

func (w *replyWriter) edit(ctx context.Context, id int, chunk string, html bool) error {
	p := &telego.EditMessageTextParams{ChatID: w.chat, MessageID: id, Text: chunk}
	if html {
		p.Text, p.ParseMode = render(chunk)
	}
	_, err := w.bot.EditMessageText(ctx, p)
	return err
}

// render is a chunk as Telegram HTML, or as plain text when the markup would
// show nothing (a half-streamed code fence renders empty, and Telegram
// refuses empty messages).
func render(chunk string) (text, parseMode string) {
	h := format.HTML(chunk)
	if strings.TrimSpace(format.Visible(h)) == "" {
		return chunk, ""
	}
	return h, telego.ModeHTML
}

// apiError unwraps Telegram's error answer.
func apiError(err error) *telegoapi.Error {
	var e *telegoapi.Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

func isParseError(err error) bool {
	e := apiError(err)
	return e != nil && e.ErrorCode == 400 && strings.Contains(e.Description, "can't parse entities")
}

func isNotModified(err error) bool {
	e := apiError(err)
	return e != nil && e.ErrorCode == 400 && strings.Contains(e.Description, "message is not modified")
}

// retryAfter reports Telegram's flood-control wait (429 retry_after).
func retryAfter(err error) (time.Duration, bool) {
	e := apiError(err)
	if e == nil || e.ErrorCode != 429 {
		return 0, false
	}
	s := 1
	if e.Parameters != nil && e.Parameters.RetryAfter > 0 {
		s = e.Parameters.RetryAfter
	}
	return time.Duration(s) * time.Second, true
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

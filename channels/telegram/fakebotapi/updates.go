package fakebotapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf16"
)

// Telegram's answers to a getUpdates it will not serve.
const (
	conflictWebhook    = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
	conflictOtherPoll  = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
	conflictSetWebhook = "Conflict: terminated by setWebhook request"
)

// Without allowed_updates Telegram sends every kind of update but these.
var notByDefault = map[string]bool{
	"chat_member":            true,
	"message_reaction":       true,
	"message_reaction_count": true,
}

// poller is a getUpdates being served. Telegram serves one per bot: a newer
// request (or setWebhook) ends the older one with 409, and kick carries the
// description it is to answer.
type poller struct {
	kick chan string
}

// Push queues updates for token's getUpdates, each of which must be a JSON
// object with update_id set (the builders below set it). Updates are
// delivered in update_id order whatever order they are pushed in, and a
// waiting long poll returns at once. Push panics on an update it cannot
// read, a mistake in the test best reported where it is made.
func (s *Server) Push(token string, updates ...json.RawMessage) {
	b := s.mustBot(token)
	items := make([]queued, len(updates))
	for i, u := range updates {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(u, &fields); err != nil {
			panic(fmt.Sprintf("fakebotapi: Push: update is not a JSON object: %v", err))
		}
		var id int64
		if err := json.Unmarshal(fields["update_id"], &id); err != nil || fields["update_id"] == nil {
			panic(fmt.Sprintf("fakebotapi: Push: update without an integer update_id: %s", u))
		}
		items[i] = queued{id: id, raw: bytes.Clone(u)}
		for k := range fields {
			if k != "update_id" {
				items[i].typ = k
				break
			}
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, it := range items {
		if n := len(b.queue); n == 0 || b.queue[n-1].id <= it.id {
			b.queue = append(b.queue, it)
		} else {
			j := sort.Search(n, func(j int) bool { return b.queue[j].id > it.id })
			b.queue = append(b.queue, queued{})
			copy(b.queue[j+1:], b.queue[j:])
			b.queue[j] = it
		}
		// Keep builder ids ahead of hand-made ones, so that they are never
		// taken for updates already confirmed.
		if it.id >= b.nextUpdateID {
			b.nextUpdateID = it.id + 1
		}
	}
	if b.wake != nil {
		close(b.wake)
		b.wake = nil
	}
}

// NextUpdateID returns a fresh update_id for token: 1000, 1001, and so on,
// always above any id pushed so far.
func (s *Server) NextUpdateID(token string) int64 {
	b := s.mustBot(token)
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.takeUpdateID()
}

func (b *bot) takeUpdateID() int64 {
	id := b.nextUpdateID
	b.nextUpdateID++
	return id
}

// confirm forgets updates as Telegram does: a positive offset confirms every
// update below it, a negative one keeps only the last -offset updates.
// Caller holds b.mu.
func (b *bot) confirm(offset int64) {
	var drop int
	switch {
	case offset > 0:
		drop = sort.Search(len(b.queue), func(i int) bool { return b.queue[i].id >= offset })
	case offset < 0 && int64(len(b.queue)) > -offset:
		drop = len(b.queue) - int(-offset)
	}
	if drop == 0 {
		return
	}
	clear(b.queue[:drop]) // let the dropped updates be collected
	b.queue = b.queue[drop:]
}

func (b *bot) allows(typ string) bool {
	if b.allowed == nil {
		return !notByDefault[typ]
	}
	return b.allowed[typ]
}

// setAllowed records allowed_updates; an empty list restores the default.
// Caller holds b.mu.
func (b *bot) setAllowed(list []string) {
	if len(list) == 0 {
		b.allowed = nil
		return
	}
	b.allowed = make(map[string]bool, len(list))
	for _, t := range list {
		b.allowed[t] = true
	}
}

// pending encodes up to limit deliverable updates as a JSON array, or
// returns nil if there are none. Caller holds b.mu.
func (b *bot) pending(limit int) []byte {
	var buf []byte
	n := 0
	for _, q := range b.queue {
		if n == limit {
			break
		}
		if !b.allows(q.typ) {
			// Telegram never queues what the bot did not ask for; this
			// one is skipped and goes with the next confirmation.
			continue
		}
		if n == 0 {
			buf = append(buf, '[')
		} else {
			buf = append(buf, ',')
		}
		buf = append(buf, q.raw...)
		n++
	}
	if n == 0 {
		return nil
	}
	return append(buf, ']')
}

// kickPoll ends the getUpdates being served, if any, with 409 and
// description. Caller holds b.mu.
func (b *bot) kickPoll(description string) {
	if b.poll == nil {
		return
	}
	select {
	case b.poll.kick <- description:
	default: // already kicked; the first reason stands
	}
	b.poll = nil
}

func (s *Server) getUpdates(ctx context.Context, b *bot, p params) reply {
	offset, _ := p.int("offset")
	limit, ok := p.int("limit")
	if !ok || limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout, _ := p.int("timeout")
	allowed, hasAllowed := p.strings("allowed_updates")

	b.mu.Lock()
	if b.webhookURL != "" {
		b.mu.Unlock()
		return errorReply(http.StatusConflict, conflictWebhook, 0)
	}
	if hasAllowed {
		b.setAllowed(allowed)
	}
	b.confirm(offset)
	b.kickPoll(conflictOtherPoll)
	me := &poller{kick: make(chan string, 1)}
	b.poll = me

	var timer *time.Timer
	if timeout > 0 {
		timer = time.NewTimer(time.Duration(timeout) * time.Second)
		defer timer.Stop()
	}
	for {
		if b.poll != me {
			b.mu.Unlock()
			return errorReply(http.StatusConflict, <-me.kick, 0)
		}
		if res := b.pending(int(limit)); res != nil || timer == nil {
			b.poll = nil
			b.mu.Unlock()
			if res == nil {
				res = []byte("[]")
			}
			return okRaw(res)
		}
		if b.wake == nil {
			b.wake = make(chan struct{})
		}
		wake := b.wake
		b.mu.Unlock()

		select {
		case <-wake:
		case reason := <-me.kick:
			// Put the reason back for the check at the top of the loop,
			// which answers every way of being replaced alike.
			me.kick <- reason
		case <-timer.C:
			timer = nil
		case <-ctx.Done():
			b.leavePoll(me)
			return reply{}
		case <-b.gone:
			b.leavePoll(me)
			return errorReply(http.StatusUnauthorized, "Unauthorized", 0)
		case <-s.done:
			b.leavePoll(me)
			return reply{}
		}
		b.mu.Lock()
	}
}

func (b *bot) leavePoll(me *poller) {
	b.mu.Lock()
	if b.poll == me {
		b.poll = nil
	}
	b.mu.Unlock()
}

// Builders. They return an update without queueing it, so that a test can
// push it, post it to a webhook, or change it first.

type userJSON struct {
	ID        int64  `json:"id"`
	IsBot     bool   `json:"is_bot"`
	FirstName string `json:"first_name"`
	Username  string `json:"username,omitempty"`
}

type chatJSON struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Title     string `json:"title,omitempty"`
	Username  string `json:"username,omitempty"`
	FirstName string `json:"first_name,omitempty"`
}

type messageJSON struct {
	MessageID       int64        `json:"message_id"`
	MessageThreadID int64        `json:"message_thread_id,omitempty"`
	From            *userJSON    `json:"from,omitempty"`
	Date            int64        `json:"date"`
	EditDate        int64        `json:"edit_date,omitempty"`
	Chat            chatJSON     `json:"chat"`
	ReplyToMessage  *messageJSON `json:"reply_to_message,omitempty"`
	Text            string       `json:"text,omitempty"`
	Entities        []entity     `json:"entities,omitempty"`
	ReplyMarkup     any          `json:"reply_markup,omitempty"`
}

type updateJSON struct {
	UpdateID int64        `json:"update_id"`
	Message  *messageJSON `json:"message,omitempty"`
}

func (b *bot) botUser() *userJSON {
	return &userJSON{ID: b.user.ID, IsBot: true, FirstName: b.user.FirstName, Username: b.user.Username}
}

func humanUser(id int64) *userJSON {
	return &userJSON{ID: id, FirstName: fmt.Sprintf("User %d", id), Username: fmt.Sprintf("user%d", id)}
}

// TextUpdate returns a message update from user fromID in the private chat
// chatID, with a fresh update_id and message_id and the current date. As
// Telegram does, a leading /command gets a bot_command entity.
func (s *Server) TextUpdate(token string, chatID, fromID int64, text string) json.RawMessage {
	b := s.mustBot(token)
	from := humanUser(fromID)
	b.mu.Lock()
	u := updateJSON{
		UpdateID: b.takeUpdateID(),
		Message: &messageJSON{
			MessageID: b.takeIncomingID(),
			From:      from,
			Date:      time.Now().Unix(),
			Chat:      chatJSON{ID: chatID, Type: "private", FirstName: from.FirstName, Username: from.Username},
			Text:      text,
			Entities:  commandEntity(text),
		},
	}
	b.mu.Unlock()
	return mustJSON(u)
}

// GroupOpts shapes a GroupUpdate.
type GroupOpts struct {
	// Mention, a username without "@", gives every "@"+Mention in the text
	// a "mention" entity, as Telegram does.
	Mention string
	// ReplyToBot makes the message a reply to the bot's latest message in
	// the chat (or, if it sent none, to a made-up message from the bot).
	ReplyToBot bool
}

// GroupUpdate returns a message update from user fromID in the supergroup
// chatID (a negative id, as real group ids are, is the caller's to choose),
// with a fresh update_id and message_id and the current date.
func (s *Server) GroupUpdate(token string, chatID, fromID int64, text string, opts GroupOpts) json.RawMessage {
	b := s.mustBot(token)
	group := chatJSON{ID: chatID, Type: "supergroup", Title: fmt.Sprintf("Group %d", chatID)}
	ents := commandEntity(text)
	if opts.Mention != "" {
		ents = append(ents, mentionEntities(text, "@"+opts.Mention)...)
		sortEntities(ents)
	}
	now := time.Now().Unix()
	b.mu.Lock()
	m := &messageJSON{
		From:     humanUser(fromID),
		Date:     now,
		Chat:     group,
		Text:     text,
		Entities: ents,
	}
	if opts.ReplyToBot {
		r := &messageJSON{From: b.botUser(), Date: now, Chat: group}
		if c := b.chats[chatID]; c != nil && len(c.msgs) > 0 {
			last := c.msgs[len(c.msgs)-1]
			r.MessageID, r.Date, r.Text, r.Entities = last.ID, last.date, last.Plain, last.entities
		} else {
			r.MessageID = b.takeIncomingID()
		}
		m.ReplyToMessage = r
	}
	m.MessageID = b.takeIncomingID()
	u := updateJSON{UpdateID: b.takeUpdateID(), Message: m}
	b.mu.Unlock()
	return mustJSON(u)
}

func (b *bot) takeIncomingID() int64 {
	id := b.nextIncoming
	b.nextIncoming++
	return id
}

// commandEntity marks a leading "/command" or "/command@bot".
func commandEntity(text string) []entity {
	if !strings.HasPrefix(text, "/") {
		return nil
	}
	end := 1
	for end < len(text) && isCommandByte(text[end]) {
		end++
	}
	if end == 1 {
		return nil
	}
	if end < len(text) && text[end] == '@' {
		at := end + 1
		for at < len(text) && isCommandByte(text[at]) {
			at++
		}
		if at > end+1 {
			end = at
		}
	}
	return []entity{{Type: "bot_command", Offset: 0, Length: utf16Len(text[:end])}}
}

func isCommandByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// mentionEntities marks every occurrence of mention in text.
func mentionEntities(text, mention string) []entity {
	var out []entity
	for i := 0; ; {
		j := strings.Index(text[i:], mention)
		if j < 0 {
			return out
		}
		start := i + j
		out = append(out, entity{Type: "mention", Offset: utf16Len(text[:start]), Length: utf16Len(mention)})
		i = start + len(mention)
	}
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

func mustJSON(v any) json.RawMessage {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("fakebotapi: encoding: %v", err))
	}
	return raw
}

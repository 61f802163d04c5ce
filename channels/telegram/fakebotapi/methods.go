package fakebotapi

import (
	"encoding/json"
	"net/http"
	neturl "net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxTextLen is Telegram's limit on a message's visible text, in UTF-16
// code units (the unit of entity offsets), after markup is parsed away.
const maxTextLen = 4096

const notModified = "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"

// chatActions are the actions sendChatAction accepts.
var chatActions = map[string]bool{
	"typing": true, "upload_photo": true, "record_video": true, "upload_video": true,
	"record_voice": true, "upload_voice": true, "upload_document": true, "choose_sticker": true,
	"find_location": true, "record_video_note": true, "upload_video_note": true,
}

func (b *bot) getMe() reply {
	b.mu.Lock()
	u := b.user
	b.mu.Unlock()
	return okReply(struct {
		ID                      int64  `json:"id"`
		IsBot                   bool   `json:"is_bot"`
		FirstName               string `json:"first_name"`
		Username                string `json:"username"`
		CanJoinGroups           bool   `json:"can_join_groups"`
		CanReadAllGroupMessages bool   `json:"can_read_all_group_messages"`
		SupportsInlineQueries   bool   `json:"supports_inline_queries"`
		CanConnectToBusiness    bool   `json:"can_connect_to_business"`
		HasMainWebApp           bool   `json:"has_main_web_app"`
	}{
		ID: u.ID, IsBot: true, FirstName: u.FirstName, Username: u.Username,
		CanJoinGroups: true,
	})
}

// resolveChat reads chat_id: a number, a string holding one, or
// "@username" registered with AddChat. Caller holds b.mu.
func (b *bot) resolveChat(p params) (int64, *reply) {
	var s string
	switch v := p["chat_id"].(type) {
	case json.Number:
		s = v.String()
	case string:
		s = strings.TrimSpace(v)
	case nil:
	default:
		r := badRequest("chat not found")
		return 0, &r
	}
	if s == "" || s == "0" {
		r := badRequest("chat_id is empty")
		return 0, &r
	}
	if name, ok := strings.CutPrefix(s, "@"); ok {
		if id, ok := b.usernames[strings.ToLower(name)]; ok {
			return id, nil
		}
		r := badRequest("chat not found")
		return 0, &r
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		r := badRequest("chat not found")
		return 0, &r
	}
	return id, nil
}

func (b *bot) blockedReply(chatID int64) *reply {
	if !b.blocked[chatID] {
		return nil
	}
	r := errorReply(http.StatusForbidden, "Forbidden: bot was blocked by the user", 0)
	return &r
}

// formatted is a message text as users see it.
type formatted struct {
	plain    string
	entities []entity
}

// render checks and parses a text the way Telegram does before it sends
// anything: the text must be non-empty UTF-8, valid markup for its
// parse_mode, and at most maxTextLen UTF-16 code units once parsed. Only
// HTML is parsed; Markdown texts are taken as they are, so their length is
// over-counted, which errs on the side of catching an over-long chunk.
func render(p params) (formatted, *reply) {
	fail := func(desc string) (formatted, *reply) {
		r := badRequest(desc)
		return formatted{}, &r
	}
	text, _ := p.str("text")
	if !utf8.ValidString(text) {
		return fail("strings must be encoded in UTF-8")
	}
	if text == "" {
		return fail("message text is empty")
	}
	mode, _ := p.str("parse_mode")
	var f formatted
	switch strings.ToLower(mode) {
	case "html":
		plain, ents, err := parseHTML(text)
		if err != nil {
			return fail("can't parse entities: " + err.Error())
		}
		f = formatted{plain, ents}
	case "markdown", "markdownv2":
		f.plain = text
	case "":
		f.plain = text
		if v, ok := p.json("entities"); ok {
			// Explicit entities travel with the text; decoding them lets
			// "not modified" compare them and the result echo them.
			raw, _ := json.Marshal(v)
			_ = json.Unmarshal(raw, &f.entities)
		}
	default:
		return fail("unsupported parse_mode")
	}
	if strings.TrimSpace(f.plain) == "" {
		return fail("message text is empty")
	}
	if utf16Len(f.plain) > maxTextLen {
		return fail("message is too long")
	}
	return f, nil
}

// markupOf returns reply_markup decoded and in canonical form.
func markupOf(p params) (any, string) {
	v, ok := p.json("reply_markup")
	if !ok {
		return nil, ""
	}
	return v, canonicalJSON(v)
}

// textTarget checks what sendMessage and editMessageText share, in
// Telegram's order: the chat, then the text and its markup, then whether
// the chat blocked the bot. Called with b.mu held.
func (b *bot) textTarget(p params) (int64, formatted, *reply) {
	f, rep := render(p)
	chatID, crep := b.resolveChat(p)
	if crep != nil {
		return 0, f, crep
	}
	if rep != nil {
		return 0, f, rep
	}
	if r := b.blockedReply(chatID); r != nil {
		return 0, f, r
	}
	return chatID, f, nil
}

func (b *bot) sendMessage(p params) reply {
	b.mu.Lock()
	defer b.mu.Unlock()
	chatID, f, rep := b.textTarget(p)
	if rep != nil {
		return *rep
	}
	c := b.chats[chatID]
	if c == nil {
		c = &chat{}
		b.chats[chatID] = c
	}
	c.lastID++
	text, _ := p.str("text")
	mode, _ := p.str("parse_mode")
	thread, _ := p.int("message_thread_id")
	now := time.Now()
	m := &storedMessage{
		Message: Message{
			ID: c.lastID, Text: text, ParseMode: mode, Plain: f.plain, SentAt: now,
		},
		chatID:   chatID,
		date:     now.Unix(),
		threadID: thread,
		entities: f.entities,
	}
	m.markup, m.markupJS = markupOf(p)
	c.msgs = append(c.msgs, m)
	return okReply(b.messageJSON(m))
}

func (b *bot) editMessageText(p params) reply {
	b.mu.Lock()
	defer b.mu.Unlock()
	chatID, f, rep := b.textTarget(p)
	if rep != nil {
		return *rep
	}
	id, _ := p.int("message_id")
	c := b.chats[chatID]
	if c == nil {
		return badRequest("message to edit not found")
	}
	i, ok := c.find(id)
	if !ok {
		return badRequest("message to edit not found")
	}
	m := c.msgs[i]
	markup, markupJS := markupOf(p)
	if m.Plain == f.plain && canonicalJSON(m.entities) == canonicalJSON(f.entities) && m.markupJS == markupJS {
		return badRequest(notModified)
	}
	now := time.Now()
	m.Text, _ = p.str("text")
	m.ParseMode, _ = p.str("parse_mode")
	m.Plain, m.entities = f.plain, f.entities
	m.markup, m.markupJS = markup, markupJS
	m.Edits++
	m.EditedAt = now
	m.editDate = now.Unix()
	return okReply(b.messageJSON(m))
}

func (b *bot) sendChatAction(p params) reply {
	b.mu.Lock()
	defer b.mu.Unlock()
	chatID, rep := b.resolveChat(p)
	if rep != nil {
		return *rep
	}
	if action, _ := p.str("action"); !chatActions[action] {
		return badRequest("wrong parameter action in request")
	}
	if r := b.blockedReply(chatID); r != nil {
		return *r
	}
	return okReply(true)
}

// deleteMessage forgets the message if the bot sent it and answers true
// either way: deletion is a harmless extra here, not something to test.
func (b *bot) deleteMessage(p params) reply {
	b.mu.Lock()
	defer b.mu.Unlock()
	chatID, rep := b.resolveChat(p)
	if rep != nil {
		return *rep
	}
	id, _ := p.int("message_id")
	if c := b.chats[chatID]; c != nil {
		if i, ok := c.find(id); ok {
			c.msgs = append(c.msgs[:i], c.msgs[i+1:]...)
		}
	}
	return okReply(true)
}

// chatType guesses the kind of chat from its id the way Telegram numbers
// them: users are positive, supergroups and channels -100xxxxxxxxxx, basic
// groups other negatives.
func chatType(id int64) string {
	switch {
	case id > 0:
		return "private"
	case id <= -1000000000000:
		return "supergroup"
	default:
		return "group"
	}
}

// messageJSON is the Message object Telegram returns for m. Caller holds
// b.mu.
func (b *bot) messageJSON(m *storedMessage) messageJSON {
	c := chatJSON{ID: m.chatID, Type: chatType(m.chatID)}
	for name, id := range b.usernames {
		if id == m.chatID {
			c.Username = name
			break
		}
	}
	out := messageJSON{
		MessageID:       m.ID,
		MessageThreadID: m.threadID,
		From:            b.botUser(),
		Date:            m.date,
		EditDate:        m.editDate,
		Chat:            c,
		Text:            m.Plain,
		Entities:        m.entities,
	}
	// Only inline keyboards are part of a message; reply keyboards belong
	// to the user's client.
	if obj, ok := m.markup.(map[string]any); ok && obj["inline_keyboard"] != nil {
		out.ReplyMarkup = obj
	}
	return out
}

func (b *bot) setWebhook(p params) reply {
	raw, _ := p.str("url")
	if raw == "" {
		return b.deleteWebhook(p)
	}
	// Telegram insists on HTTPS; the fake takes plain HTTP too, since the
	// receiving end in a test is an httptest server on the loopback.
	u, err := neturl.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return badRequest("bad webhook: An HTTPS URL must be provided for webhook")
	}
	secret, _ := p.str("secret_token")
	if !validSecret(secret) {
		return badRequest("secret token contains unallowed characters")
	}
	maxConn, ok := p.int("max_connections")
	if !ok || maxConn <= 0 {
		maxConn = 40
	}
	maxConn = min(maxConn, 100)
	allowed, hasAllowed := p.strings("allowed_updates")

	b.mu.Lock()
	defer b.mu.Unlock()
	if p.bool("drop_pending_updates") {
		b.dropPending()
	}
	if hasAllowed {
		b.setAllowed(allowed)
	}
	same := b.webhookURL == raw && b.webhookSecret == secret
	b.webhookURL, b.webhookSecret, b.webhookMax = raw, secret, maxConn
	b.kickPoll(conflictSetWebhook)
	if same {
		return okDescribed(true, "Webhook is already set")
	}
	return okDescribed(true, "Webhook was set")
}

// validSecret checks secret_token: up to 256 characters from A-Z, a-z,
// 0-9, _ and -, which rules out a raw bot token and its colon.
func validSecret(s string) bool {
	if len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isCommandByte(c) && c != '-' {
			return false
		}
	}
	return true
}

func (b *bot) deleteWebhook(p params) reply {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p.bool("drop_pending_updates") {
		b.dropPending()
	}
	if b.webhookURL == "" {
		return okDescribed(true, "Webhook is already deleted")
	}
	b.webhookURL, b.webhookSecret, b.webhookMax = "", "", 0
	return okDescribed(true, "Webhook was deleted")
}

// dropPending forgets every queued update. Caller holds b.mu.
func (b *bot) dropPending() {
	clear(b.queue)
	b.queue = b.queue[:0]
}

func (b *bot) getWebhookInfo() reply {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, q := range b.queue {
		if b.allows(q.typ) {
			n++
		}
	}
	info := struct {
		URL                  string   `json:"url"`
		HasCustomCertificate bool     `json:"has_custom_certificate"`
		PendingUpdateCount   int      `json:"pending_update_count"`
		MaxConnections       int64    `json:"max_connections,omitempty"`
		AllowedUpdates       []string `json:"allowed_updates,omitempty"`
	}{URL: b.webhookURL, PendingUpdateCount: n, MaxConnections: b.webhookMax}
	if b.webhookURL != "" && b.allowed != nil {
		for t := range b.allowed {
			info.AllowedUpdates = append(info.AllowedUpdates, t)
		}
		slices.Sort(info.AllowedUpdates)
	}
	return okReply(info)
}

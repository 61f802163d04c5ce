package fakebotapi

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Update ids start here, like the large ids Telegram hands out, so that an
// id mistaken for a message id or a count stands out.
const firstUpdateID = 1000

// Messages users send, built by TextUpdate and GroupUpdate, are numbered
// from here, apart from the bot's own messages (numbered from 1 in each
// chat), so that confusing the two kinds of id is caught.
const firstIncomingMessageID = 1000000

// bot is everything kept for one token. mu guards the fields after it;
// token and gone never change. mu is held only briefly and never across a
// wait, so that a long poll does not stall the bot's other calls.
type bot struct {
	token string
	gone  chan struct{} // closed by RemoveBot

	mu      sync.Mutex
	user    Bot
	removed bool

	nextUpdateID  int64
	nextIncoming  int64
	queue         []queued        // pending updates, ordered by update_id
	allowed       map[string]bool // nil: Telegram's default selection
	wake          chan struct{}   // closed by Push; nil until a poller waits
	poll          *poller         // the getUpdates currently served
	webhookURL    string
	webhookSecret string
	webhookMax    int64

	chats     map[int64]*chat
	usernames map[string]int64 // lower-cased, without "@"
	blocked   map[int64]bool
	fails     map[string][]failure // by lower-cased method
	delays    map[string]time.Duration
	withhold  map[string]int // by lower-cased method: answers still to withhold
	withheld  int            // calls served whose answer is being withheld now
	calls     []Call
}

func newBot(token string, b Bot) *bot {
	return &bot{
		token:        token,
		gone:         make(chan struct{}),
		user:         b,
		nextUpdateID: firstUpdateID,
		nextIncoming: firstIncomingMessageID,
		chats:        make(map[int64]*chat),
		usernames:    make(map[string]int64),
		blocked:      make(map[int64]bool),
		fails:        make(map[string][]failure),
		delays:       make(map[string]time.Duration),
		withhold:     make(map[string]int),
	}
}

func (b *bot) isRemoved() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.removed
}

// Call is one request a bot's token made, as the server received it.
type Call struct {
	// Method is the method's documented spelling ("sendMessage") when the
	// server knows it, else the path segment as sent.
	Method string
	// Params are the request's parameters. Numbers in a JSON body are
	// json.Number (the body is decoded with json.Decoder.UseNumber, so ids
	// keep all their 64 bits); values from a URL query, a URL-encoded or a
	// multipart body are strings. The map is shared: do not modify it.
	Params map[string]any
	// At is when the request arrived.
	At time.Time
	// Status is the HTTP status answered, equal to the error_code of an
	// error; 0 while the call is still being served (a long poll) or when
	// the client went away before the answer.
	Status int
}

func (b *bot) record(method string, p params) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, Call{Method: method, Params: p, At: time.Now()})
	return len(b.calls) - 1
}

func (b *bot) setStatus(idx, status int) {
	b.mu.Lock()
	b.calls[idx].Status = status
	b.mu.Unlock()
}

// Calls returns the calls made with token, in the order they arrived,
// limited to method unless method is "" (names compare case-insensitively,
// as the Bot API's do). Unknown tokens have made no calls.
func (s *Server) Calls(token, method string) []Call {
	b := s.known(token)
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Call
	for _, c := range b.calls {
		if method == "" || strings.EqualFold(c.Method, method) {
			out = append(out, c)
		}
	}
	return out
}

type failure struct {
	code        int
	description string
	retryAfter  int
}

// Fail makes the next times calls of method with token fail with code and
// description; retryAfter > 0 adds parameters.retry_after, as Telegram's
// flood control does (code 429, description "Too Many Requests: retry
// after N"). Failures queue up: a second Fail for the same method applies
// after the first is used up. times <= 0 cancels the failures still queued
// for method. The failure comes after any Delay and before the method's own
// checks, so a failed call changes nothing. Fail panics if code is not an
// HTTP status, since the status answered equals the code.
func (s *Server) Fail(token, method string, times int, code int, description string, retryAfter int) {
	if code < 100 || code > 599 {
		panic(fmt.Sprintf("fakebotapi: error code %d is not an HTTP status", code))
	}
	b := s.mustBot(token)
	key := strings.ToLower(method)
	b.mu.Lock()
	defer b.mu.Unlock()
	if times <= 0 {
		delete(b.fails, key)
		return
	}
	for range times {
		b.fails[key] = append(b.fails[key], failure{code, description, retryAfter})
	}
}

func (b *bot) takeFailure(method string) (failure, bool) {
	key := strings.ToLower(method)
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.fails[key]
	if len(q) == 0 {
		return failure{}, false
	}
	f := q[0]
	if len(q) == 1 {
		delete(b.fails, key)
	} else {
		b.fails[key] = q[1:]
	}
	return f, true
}

// Delay makes every later call of method with token wait d before it is
// served (d <= 0 removes the delay), to exercise a client's timeouts and
// its behaviour under a slow Telegram. The wait ends early if the client
// gives up or the server closes.
func (s *Server) Delay(token, method string, d time.Duration) {
	b := s.mustBot(token)
	key := strings.ToLower(method)
	b.mu.Lock()
	defer b.mu.Unlock()
	if d <= 0 {
		delete(b.delays, key)
		return
	}
	b.delays[key] = d
}

func (b *bot) delayFor(method string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.delays[strings.ToLower(method)]
}

// WithholdAnswers makes the next times calls of method with token succeed
// without being answered: the method does what it does (a sendMessage's
// message is in the chat, with its id) but the HTTP request hangs, unanswered,
// until the client gives up or goes away (a crash) or the server closes. It
// is the instant a client crashes in after Telegram acted on a request and
// before the client learnt the result. The call's Status stays 0. times <= 0
// cancels the withholds not used yet.
func (s *Server) WithholdAnswers(token, method string, times int) {
	b := s.mustBot(token)
	key := strings.ToLower(method)
	b.mu.Lock()
	defer b.mu.Unlock()
	if times <= 0 {
		delete(b.withhold, key)
		return
	}
	b.withhold[key] += times
}

// Withheld is how many calls with token are waiting, served but unanswered
// (WithholdAnswers), now.
func (s *Server) Withheld(token string) int {
	b := s.mustBot(token)
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.withheld
}

func (b *bot) takeWithhold(method string) bool {
	key := strings.ToLower(method)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.withhold[key] == 0 {
		return false
	}
	if b.withhold[key]--; b.withhold[key] == 0 {
		delete(b.withhold, key)
	}
	return true
}

func (b *bot) withholding(delta int) {
	b.mu.Lock()
	b.withheld += delta
	b.mu.Unlock()
}

// BlockChat makes the chat behave as a user who blocked the bot: sending,
// editing and chat actions there get 403 "Forbidden: bot was blocked by the
// user".
func (s *Server) BlockChat(token string, chatID int64) {
	b := s.mustBot(token)
	b.mu.Lock()
	b.blocked[chatID] = true
	b.mu.Unlock()
}

// UnblockChat undoes BlockChat, as a user who restarts the bot does.
func (s *Server) UnblockChat(token string, chatID int64) {
	b := s.mustBot(token)
	b.mu.Lock()
	delete(b.blocked, chatID)
	b.mu.Unlock()
}

// AddChat makes "@username" (given with or without the "@"; usernames are
// case-insensitive) resolve to chatID for token. An unregistered username
// gets 400 "Bad Request: chat not found".
func (s *Server) AddChat(token, username string, chatID int64) {
	b := s.mustBot(token)
	b.mu.Lock()
	b.usernames[strings.ToLower(strings.TrimPrefix(username, "@"))] = chatID
	b.mu.Unlock()
}

// Webhook returns the webhook set for token, or two empty strings.
func (s *Server) Webhook(token string) (url, secret string) {
	b := s.known(token)
	if b == nil {
		return "", ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.webhookURL, b.webhookSecret
}

// Message is a message the bot sent, as it is now.
type Message struct {
	ID int64
	// Text is the text as the bot sent it, markup included; ParseMode is
	// the parse_mode it came with.
	Text, ParseMode string
	// Plain is the text users see: Text with the HTML markup parsed away
	// and entities decoded when ParseMode is HTML, Text itself otherwise.
	Plain string
	// Edits counts the successful editMessageText calls.
	Edits            int
	SentAt, EditedAt time.Time
}

// Messages returns the messages the bot sent to chatID and has not deleted,
// oldest first, with the text of their latest edit. Messages users send
// are not kept: they exist only in the updates a test builds.
func (s *Server) Messages(token string, chatID int64) []Message {
	b := s.known(token)
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.chats[chatID]
	if c == nil {
		return nil
	}
	out := make([]Message, len(c.msgs))
	for i, m := range c.msgs {
		out[i] = m.Message
	}
	return out
}

// chat holds the messages the bot sent to one chat.
type chat struct {
	lastID int64
	msgs   []*storedMessage // ordered by ID
}

type storedMessage struct {
	Message
	chatID   int64
	date     int64
	editDate int64
	threadID int64
	entities []entity
	markup   any    // reply_markup as decoded
	markupJS string // its canonical encoding, for "message is not modified"
}

func (c *chat) find(id int64) (int, bool) {
	i := sort.Search(len(c.msgs), func(i int) bool { return c.msgs[i].ID >= id })
	return i, i < len(c.msgs) && c.msgs[i].ID == id
}

// queued is a pending update with what getUpdates needs to know about it.
type queued struct {
	id  int64
	typ string // the update's one field besides update_id: "message", ...
	raw json.RawMessage
}

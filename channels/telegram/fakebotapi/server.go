// Package fakebotapi is a fake Telegram Bot API server for tests.
//
// It listens on the loopback interface and speaks the real Bot API wire
// format (https://core.telegram.org/bots/api), so a client library such as
// telego talks to it exactly as it talks to api.telegram.org: requests are
// POST or GET to <root>/bot<token>/<method> with a JSON, URL-encoded or
// multipart body, and every answer is {"ok":true,"result":...} or
// {"ok":false,"error_code":N,"description":"..."} with the HTTP status equal
// to the error code. Tests queue updates with [Server.Push], inject failures
// with [Server.Fail] and [Server.Delay], and inspect what the bot did with
// [Server.Calls] and [Server.Messages].
//
// The package does not depend on package testing, so that tests which run
// the real gateway binary can use it too. Every method of [Server] is safe
// for concurrent use.
//
// Only the methods a text channel needs are served: getMe, getUpdates,
// sendMessage, editMessageText, sendChatAction, setWebhook, deleteWebhook,
// getWebhookInfo, deleteMessage and setMyCommands. Any other method gets 404,
// as an unknown method does on Telegram, so that a client relying on an
// unimplemented method fails loudly instead of passing by accident.
//
// Recorded parameters ([Call].Params) keep the types of the encoding they
// arrived in: a JSON body is decoded with
// [encoding/json.Decoder.UseNumber], so numbers are [encoding/json.Number]
// and 64-bit ids survive intact, while URL query, URL-encoded and multipart
// values are strings.
//
// The server is stricter than Telegram in one respect: in HTML parse mode
// an "&" that does not start an HTML entity is refused, where Telegram
// keeps it as a literal character. A client that does not escape "&"
// corrupts any text that happens to contain "&lt", so the fake makes that
// mistake fail every time rather than now and then.
package fakebotapi

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// tokenPattern is the token format telego enforces before it sends anything;
// the fake insists on it too so that a test cannot configure a token that
// the real client would refuse.
var tokenPattern = regexp.MustCompile(`^\d+:[\w-]{35}$`)

// Options configures a [Server].
type Options struct {
	// Bots maps each accepted token to its bot user. Tokens must look like
	// real ones, matching ^\d+:[\w-]{35}$ (see [MakeToken]); any other
	// token gets 401 Unauthorized.
	Bots map[string]Bot
}

// Bot is the identity getMe reports for a token and the sender of the
// messages that token sends.
type Bot struct {
	ID                  int64
	Username, FirstName string
}

// Server is a running fake Bot API server. Its zero value is not usable;
// create one with [Start].
type Server struct {
	url  string
	hs   *http.Server
	done chan struct{} // closed by Close to end long polls and delays
	serv chan struct{} // closed when the Serve goroutine has returned

	closeOnce sync.Once

	mu   sync.RWMutex
	bots map[string]*bot
}

// Start starts a server listening on 127.0.0.1 at a port the system picks.
// It fails if a token in opts.Bots is not well formed or the listener
// cannot be created.
func Start(opts Options) (*Server, error) {
	s := &Server{
		done: make(chan struct{}),
		serv: make(chan struct{}),
		bots: make(map[string]*bot),
	}
	for token, b := range opts.Bots {
		if !tokenPattern.MatchString(token) {
			return nil, fmt.Errorf("fakebotapi: malformed bot token %q", token)
		}
		s.bots[token] = newBot(token, b)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fakebotapi: %w", err)
	}
	s.url = "http://" + ln.Addr().String()
	s.hs = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		defer close(s.serv)
		_ = s.hs.Serve(ln) // always ErrServerClosed once Close has run
	}()
	return s, nil
}

// URL returns the API root to hand to the client, such as
// http://127.0.0.1:PORT, without a trailing slash.
func (s *Server) URL() string { return s.url }

// Close stops the server. Long polls and delayed calls still waiting end at
// once, and Close returns when every handler has finished, so that a test
// checking for leaked goroutines sees none of the server's.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		// Shutdown rather than Close: it waits for the handlers, which the
		// closed done channel has just told to return.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.hs.Shutdown(ctx); err != nil {
			_ = s.hs.Close()
		}
		<-s.serv
	})
}

// MakeToken returns a well-formed token for the bot with the given id. It
// is deterministic, so that tests can compute the same token twice.
func MakeToken(botID int64) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	var tail [35]byte
	x := uint64(botID)*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019
	for i := range tail {
		x ^= x >> 29
		x *= 0xBF58476D1CE4E5B9
		x ^= x >> 32
		tail[i] = alphabet[x%uint64(len(alphabet))]
	}
	return fmt.Sprintf("%d:%s", botID, tail[:])
}

// AddBot makes token valid for b. Replacing the identity of a token already
// served keeps its queue, chats and recorded calls; a token that was removed
// starts afresh. AddBot panics if token is malformed, because the real
// client would refuse it before making any request.
func (s *Server) AddBot(token string, b Bot) {
	if !tokenPattern.MatchString(token) {
		panic(fmt.Sprintf("fakebotapi: malformed bot token %q", token))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.bots[token]; ok && !old.isRemoved() {
		old.mu.Lock()
		old.user = b
		old.mu.Unlock()
		return
	}
	s.bots[token] = newBot(token, b)
}

// RemoveBot revokes token: from then on every request with it gets 401, as
// after a token is revoked in BotFather, and a long poll waiting on it ends
// with 401. What was recorded for it (calls, messages, webhook) stays
// readable until AddBot gives the token a new life.
func (s *Server) RemoveBot(token string) {
	s.mu.RLock()
	b := s.bots[token]
	s.mu.RUnlock()
	if b == nil {
		return
	}
	b.mu.Lock()
	if !b.removed {
		b.removed = true
		close(b.gone)
	}
	b.mu.Unlock()
}

// active returns the bot served under token, or nil when the token is
// unknown or revoked.
func (s *Server) active(token string) *bot {
	s.mu.RLock()
	b := s.bots[token]
	s.mu.RUnlock()
	if b == nil || b.isRemoved() {
		return nil
	}
	return b
}

// known returns the state kept for token, revoked or not, or nil.
func (s *Server) known(token string) *bot {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.bots[token]
}

// mustBot is known for the test controls that change state, which panic on
// a token never added: that is a mistake in the test, best reported where
// it is made rather than as a puzzling failure later.
func (s *Server) mustBot(token string) *bot {
	b := s.known(token)
	if b == nil {
		panic(fmt.Sprintf("fakebotapi: unknown bot token %q", token))
	}
	return b
}

// serveHTTP routes /bot<token>/<method>.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	token, method, ok := splitPath(r.URL.Path)
	if !ok {
		errorReply(http.StatusNotFound, "Not Found", 0).write(w)
		return
	}
	b := s.active(token)
	if b == nil {
		errorReply(http.StatusUnauthorized, "Unauthorized", 0).write(w)
		return
	}
	params, perr := readParams(r)
	name := method
	if c, ok := canonicalMethods[strings.ToLower(method)]; ok {
		name = c
	}
	idx := b.record(name, params)
	var rep reply
	if perr != nil {
		rep = errorReply(http.StatusBadRequest, "Bad Request: "+perr.Error(), 0)
	} else {
		rep = s.dispatch(r.Context(), b, name, params)
	}
	b.setStatus(idx, rep.status)
	rep.write(w)
}

// splitPath takes /bot<token>/<method> apart. A method containing a slash
// (the test-environment path /bot<token>/test/<method>, say) is reported as
// such and answered as an unknown method.
func splitPath(path string) (token, method string, ok bool) {
	rest, ok := strings.CutPrefix(path, "/bot")
	if !ok {
		return "", "", false
	}
	token, method, ok = strings.Cut(rest, "/")
	if !ok || token == "" {
		return "", "", false
	}
	return token, method, true
}

// canonicalMethods maps the lower-cased method names served to their
// documented spelling: Bot API method names are case-insensitive.
var canonicalMethods = map[string]string{
	"getme":           "getMe",
	"getupdates":      "getUpdates",
	"sendmessage":     "sendMessage",
	"editmessagetext": "editMessageText",
	"sendchataction":  "sendChatAction",
	"setwebhook":      "setWebhook",
	"deletewebhook":   "deleteWebhook",
	"getwebhookinfo":  "getWebhookInfo",
	"deletemessage":   "deleteMessage",
	"setmycommands":   "setMyCommands",
}

// dispatch applies the injected delay and failure, runs the method, and
// withholds its answer when told to.
func (s *Server) dispatch(ctx context.Context, b *bot, method string, p params) reply {
	if d := b.delayFor(method); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return reply{}
		case <-s.done:
			t.Stop()
			return reply{}
		}
	}
	if f, ok := b.takeFailure(method); ok {
		return errorReply(f.code, f.description, f.retryAfter)
	}
	rep := s.serve(ctx, b, method, p)
	if rep.status == http.StatusOK && b.takeWithhold(method) {
		// Done, but the answer never leaves: the client sees a request
		// that hangs until it gives up or dies.
		b.withholding(1)
		defer b.withholding(-1)
		select {
		case <-ctx.Done():
		case <-s.done:
		}
		return reply{}
	}
	return rep
}

// serve runs the method.
func (s *Server) serve(ctx context.Context, b *bot, method string, p params) reply {
	switch method {
	case "getMe":
		return b.getMe()
	case "getUpdates":
		return s.getUpdates(ctx, b, p)
	case "sendMessage":
		return b.sendMessage(p)
	case "editMessageText":
		return b.editMessageText(p)
	case "sendChatAction":
		return b.sendChatAction(p)
	case "setWebhook":
		return b.setWebhook(p)
	case "deleteWebhook":
		return b.deleteWebhook(p)
	case "getWebhookInfo":
		return b.getWebhookInfo()
	case "deleteMessage":
		return b.deleteMessage(p)
	case "setMyCommands":
		return okReply(true)
	}
	return errorReply(http.StatusNotFound, "Not Found", 0)
}

// WaitFor calls cond every 5 ms until it reports true or timeout has
// passed, and reports whether it did. It lets a test wait for the effect of
// an asynchronous client without sleeping for a guessed time.
func (s *Server) WaitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if !time.Now().Before(deadline) {
			return false
		}
		select {
		case <-time.After(5 * time.Millisecond):
		case <-s.done:
			return cond()
		}
	}
}

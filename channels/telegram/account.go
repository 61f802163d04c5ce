// Package telegram is the Telegram channel: one supervised actor per bot
// account (docs/ARCHITECTURE.md: channels/telegram/<account>) that owns the account's
// single Bot API connection (long polling, or a webhook), commits every
// update to the gateway's state database before Telegram is told it arrived,
// and drains them afterwards, one chat at a time, into agent runs whose
// replies stream back into the chat.
package telegram

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/mymmrac/telego"
	"github.com/prometheus/client_golang/prometheus"

	"openclaw/actors/channels"
	"openclaw/actors/methods"
	"openclaw/actors/store"
	"openclaw/config"
	"openclaw/metrics"
	"openclaw/transport/protocol"
)

// Bounds of stopping an account: the webhook listener's shutdown, and the
// wait for its goroutines (a run in progress is aborted, not awaited).
const (
	webhookStopTimeout = 2 * time.Second
	stopWait           = 5 * time.Second
)

// Options tune an account's timings; zero values take the defaults. Tests
// shorten them.
type Options struct {
	PollTimeout   time.Duration // long-poll wait per getUpdates (25 s)
	RetryMin      time.Duration // first retry after a network failure (1 s)
	RetryMax      time.Duration // longest retry interval (60 s)
	RejectedRetry time.Duration // retry interval once Telegram rejected the token (5 min)
	EditEvery     time.Duration // at most one streamed edit per chat per this (1 s)
	TypingEvery   time.Duration // typing action refresh while a run is busy (4 s)
	HTTPClient    *http.Client  // the Bot API client (default: its own, with timeouts)
	Getenv        func(string) string
	// BeforeProcess is called before an update is handled (tests use it to
	// make a handler panic).
	BeforeProcess func(accountID string, u *telego.Update)
	// WrapStore, when set, wraps the account's store (tests make its
	// writes fail the way JetStream's do during an election).
	WrapStore func(store.Store) store.Store
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.PollTimeout, 25*time.Second)
	def(&o.RetryMin, time.Second)
	def(&o.RetryMax, time.Minute)
	def(&o.RejectedRetry, 5*time.Minute)
	def(&o.EditEvery, time.Second)
	def(&o.TypingEvery, 4*time.Second)
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.HTTPClient == nil {
		// net/http rather than telego's default fasthttp: the standard
		// client honours proxies from the environment and shares our
		// timeouts; long polls add their own wait on top of this one.
		o.HTTPClient = &http.Client{Timeout: o.PollTimeout + 30*time.Second}
	}
	return o
}

// account is the actor of one bot account.
type account struct {
	d    channels.AccountDeps
	root *actor.RootContext
	id   string
	cfg  config.TelegramAccount
	opts Options

	self   *actor.PID
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	server *http.Server // webhook mode

	token   Token
	bot     *telego.Bot
	me      *telego.User
	status  protocol.AccountStatus
	pairing pairingState
	saver   saver

	working map[string]bool // chats with a drain worker
	dirty   map[string]bool // chats with new items since their worker's last read
	// queued and acked are, per chat, the newest update_id this account
	// queued and acknowledged; rechecks counts a chat's workers in a row
	// that ended with queued > acked (see workerDone).
	queued, acked, rechecks map[string]int
	sem                     chan struct{} // bounds updates processed at once, across chats
	sends                   map[string]*sendEntry

	updatesIn prometheus.Counter // updates committed to the queue
	client    *http.Client       // opts.HTTPClient, its sends counted
}

// Driver is the Telegram channel: channels.telegram in the config, one
// account actor per bot.
type Driver struct{ Options Options }

// ID is the channel's id.
func (Driver) ID() string { return "telegram" }

// Label is its display name.
func (Driver) Label() string { return "Telegram" }

// Accounts lists the accounts a config runs, with their effective
// settings: the top level is the account "default" when it has a token
// source or no other account is declared.
func (Driver) Accounts(c *config.Config) map[string]any {
	t := c.Channels.Telegram
	if t == nil {
		return nil
	}
	out := map[string]any{}
	top := t.TelegramAccount
	if len(t.Accounts) == 0 || top.BotToken != "" || top.TokenFile != "" {
		a, _ := t.Account(config.DefaultAccountID)
		out[config.DefaultAccountID] = a
	}
	for id := range t.Accounts {
		a, _ := t.Account(id)
		out[id] = a
	}
	return out
}

// Props builds the actor of one account.
func (drv Driver) Props(id string, settings any, d channels.AccountDeps) *actor.Props {
	return Props(d, id, settings.(config.TelegramAccount), drv.Options)
}

// Props builds the actor of account id with its effective settings.
func Props(d channels.AccountDeps, id string, cfg config.TelegramAccount, opts Options) *actor.Props {
	opts = opts.withDefaults()
	m := metrics.Or(d.Metrics)
	in, client := m.ChannelUpdates("telegram", metrics.DirectionIn), counted(opts.HTTPClient, m.ChannelUpdates("telegram", metrics.DirectionOut))
	if opts.WrapStore != nil {
		d.Store = opts.WrapStore(d.Store)
	}
	if d.Fence != nil { // cluster mode: this gateway holds the account's lease
		client = fencedClient(client, d.Fence, d.Log, id)
		d.Store = fencedStore{Store: d.Store, fence: d.Fence, log: d.Log, account: id}
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &account{d: d, id: id, cfg: cfg, opts: opts, updatesIn: in, client: client}
	})
}

// messages from the account's goroutines to its actor
type (
	linked     struct{ me *telego.User }
	linkFailed struct {
		err      error
		rejected bool
	}
	transportState struct{ err error } // nil err: the transport works
	ingested       struct {
		chats  []string
		newest map[string]int // per chat, the newest update_id this account queued
	}
	workerDone struct {
		chat  string
		acked int // the newest update_id the worker acknowledged (0: none)
	}
	crashed       struct{ reason any }
	pairingLoaded struct{ st pairingState }
)

func (a *account) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.start(ctx)
	case *actor.Stopping, *actor.Restarting:
		a.stop()
	case *crashed:
		// A goroutine of this account panicked: fail the actor, so that its
		// supervisor restarts this account (with backoff) and nothing else.
		panic(fmt.Sprintf("telegram account %s: %v", a.id, m.reason))
	case *pairingLoaded:
		a.pairing = m.st
	case *linked:
		a.me = m.me
		a.status.Linked, a.status.LastError = true, ""
		a.status.Bot = &protocol.BotInfo{ID: m.me.ID, Username: m.me.Username}
		a.report(ctx)
		a.d.Log.Info("telegram account linked", "account", a.id, "bot", m.me.Username, "mode", a.status.Mode)
		a.startTransport(ctx)
		a.resumeDrain()
	case *linkFailed:
		a.status.Linked, a.status.Running = false, false
		a.status.LastError = m.err.Error()
		if m.rejected {
			a.status.LastError = "Telegram rejected the bot token: " + m.err.Error()
		}
		a.report(ctx)
	case *transportState:
		if m.err == nil {
			if !a.status.Running || a.status.LastError != "" {
				a.status.Running, a.status.LastError = true, ""
				a.report(ctx)
			}
			return
		}
		if a.status.LastError != m.err.Error() {
			a.status.LastError = m.err.Error()
			a.report(ctx)
		}
	case *ingested:
		a.status.LastInboundAt = time.Now().UnixMilli()
		for c, id := range m.newest {
			a.queued[c] = max(a.queued[c], id)
		}
		for _, c := range m.chats {
			a.schedule(c)
		}
	case *workerDone:
		delete(a.working, m.chat)
		a.acked[m.chat] = max(a.acked[m.chat], m.acked)
		switch {
		case a.dirty[m.chat]:
			delete(a.dirty, m.chat)
			a.schedule(m.chat)
		case a.queued[m.chat] > a.acked[m.chat] && a.rechecks[m.chat] < maxRechecks:
			// The worker found nothing although an update this account
			// queued is not acknowledged: its read went through a replica
			// still behind (the queue's scan may), which may stay so until
			// the next update of the chat, if any. Read again after a pause.
			a.rechecks[m.chat]++
			chat := m.chat
			a.spawn("recheck "+chat, func(ctx context.Context) {
				if sleep(ctx, a.opts.RetryMin) {
					a.post(&ingested{chats: []string{chat}})
				}
			})
		default:
			delete(a.rechecks, m.chat)
		}
	case *checkAccess:
		a.checkAccess(ctx, m)
	case *methods.Send:
		a.send(m)
	case *sendDone:
		a.sendDone(m)
	case *channels.PairingList:
		ctx.Respond(a.pairingList())
	case *channels.PairingApprove:
		a.pairingApprove(ctx, m)
	case *channels.PairingDismiss:
		a.pairingDismiss(ctx, m)
	}
}

func (a *account) start(ctx actor.Context) {
	a.self, a.root = ctx.Self(), ctx.ActorSystem().Root
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.working, a.dirty, a.sends = map[string]bool{}, map[string]bool{}, map[string]*sendEntry{}
	a.queued, a.acked, a.rechecks = map[string]int{}, map[string]int{}, map[string]int{}
	a.sem = make(chan struct{}, 16)
	a.saver = saver{store: a.d.Store, key: a.id}
	a.status = protocol.AccountStatus{AccountID: a.id, Enabled: a.cfg.IsEnabled(), Mode: a.mode()}
	a.loadPairing()
	tok, err := ResolveToken(a.id, a.cfg, a.opts.Getenv)
	a.token, a.status.TokenSource = tok, tok.Source
	switch {
	case !a.status.Enabled:
		a.status.Configured = tok.Value != ""
	case err != nil:
		a.status.LastError = err.Error()
		a.d.Log.Error("telegram account not linked", "account", a.id, "err", err)
	case tok.Value == "":
		a.status.LastError = "no bot token: set channels.telegram.botToken (or tokenFile, or TELEGRAM_BOT_TOKEN)"
	default:
		a.status.Configured = true
		bot, err := telego.NewBot(tok.Value, a.botOptions()...)
		if err != nil {
			a.status.LastError = err.Error()
			break
		}
		a.bot = bot
		a.spawn("link", a.link)
	}
	a.report(ctx)
}

func (a *account) botOptions() []telego.BotOption {
	opts := []telego.BotOption{telego.WithHTTPClient(a.client), telego.WithDiscardLogger()}
	if a.cfg.APIRoot != "" {
		opts = append(opts, telego.WithAPIServer(a.cfg.APIRoot))
	}
	return opts
}

func (a *account) mode() string {
	if a.cfg.WebhookURL != "" && a.cfg.WebhookSecret != "" {
		return "webhook"
	}
	return "polling"
}

// stop ends the account's goroutines: the poll is cancelled, the webhook
// listener closed, runs in progress aborted (their updates stay in the queue
// and are processed again by the next start).
func (a *account) stop() {
	if a.cancel == nil {
		return
	}
	a.cancel()
	if a.server != nil {
		sctx, cancel := context.WithTimeout(context.Background(), webhookStopTimeout)
		_ = a.server.Shutdown(sctx)
		cancel()
	}
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(stopWait):
		a.d.Log.Warn("telegram account goroutines still busy after stop", "account", a.id)
	}
	a.cancel = nil
}

// spawn runs fn in a goroutine owned by this account: a panic there fails
// the actor (and so restarts this account) instead of the process.
func (a *account) spawn(name string, fn func(ctx context.Context)) {
	a.wg.Add(1)
	self, root, ctx := a.self, a.root, a.ctx
	go func() {
		defer a.wg.Done()
		defer func() {
			if p := recover(); p != nil {
				root.Send(self, &crashed{reason: fmt.Sprintf("%s: %v", name, p)})
			}
		}()
		fn(ctx)
	}()
}

func (a *account) post(msg any) { a.root.Send(a.self, msg) }

func (a *account) report(ctx actor.Context) {
	if p := ctx.Parent(); p != nil {
		ctx.Send(p, &channels.AccountStatus{PID: ctx.Self(), Status: a.status})
	}
}

// link calls getMe until Telegram answers: a network failure is retried with
// backoff, a rejected token (401, or 404 for a token Telegram does not know)
// slowly, because it will not fix itself until someone edits the config.
func (a *account) link(ctx context.Context) {
	wait := a.opts.RetryMin
	for {
		me, err := a.bot.GetMe(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			a.post(&linked{me: me})
			return
		}
		e := apiError(err)
		rejected := e != nil && (e.ErrorCode == 401 || e.ErrorCode == 404)
		a.d.Log.Warn("telegram getMe failed", "account", a.id, "err", err, "rejected", rejected)
		a.post(&linkFailed{err: err, rejected: rejected})
		next := wait
		if rejected {
			next = a.opts.RejectedRetry
		} else {
			wait = min(wait*2, a.opts.RetryMax)
		}
		if !sleep(ctx, next) {
			return
		}
	}
}

// queue is the account's durable ingress queue.
func (a *account) queue() string { return "telegram:" + a.id }

// chatOf is the partition of an update: its chat, so that a chat's updates
// are handled in order and different chats in parallel.
func chatOf(u *telego.Update) string {
	for _, m := range []*telego.Message{u.Message, u.EditedMessage, u.ChannelPost} {
		if m != nil {
			return strconv.FormatInt(m.Chat.ID, 10)
		}
	}
	return "_"
}

func notLinked(id, why string) *protocol.ErrorShape {
	msg := "telegram account " + id + " is not linked"
	if why != "" {
		msg += ": " + why
	}
	return protocol.NewError(protocol.CodeNotLinked, msg, map[string]any{"channel": "telegram", "accountId": id})
}

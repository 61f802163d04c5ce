package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/mymmrac/telego"

	"openclaw/actors/core"
	"openclaw/actors/store"
	"openclaw/config"
	"openclaw/transport/natsbus/lease"
)

const (
	progressNS = "telegram.progress"
	attemptsNS = "telegram.attempts"
	// maxAttempts is how often an update whose handling panics is tried
	// before it is set aside (acknowledged, logged, the sender told).
	maxAttempts = 3
	// maxRechecks bounds the reads again of a chat whose worker found
	// nothing while an update queued here was not acknowledged (an ack
	// stored whose answer was lost leaves it so for good).
	maxRechecks = 5
	drainBatch  = 8
	// accessTimeout bounds a worker's question to its account actor,
	// ackTimeout the commit that marks an update handled.
	accessTimeout = 10 * time.Second
	ackTimeout    = 10 * time.Second
	// scanTimeout bounds one read of the pending updates (SQLite answers in
	// milliseconds; JetStream within seconds, or during an election not at
	// all, and the read is tried again).
	scanTimeout = 15 * time.Second
)

// resumeDrain starts a worker for every chat with updates still pending
// (accepted before a crash, a restart or another gateway's ownership, and
// not yet handled). A failed read is tried again: a chat with no newer
// update would otherwise wait for one (in a cluster the read fails while
// JetStream elects a leader).
func (a *account) resumeDrain() {
	a.spawn("resume", func(ctx context.Context) {
		var items []store.QueueItem
		for wait := a.opts.RetryMin; ; wait = min(wait*2, a.opts.RetryMax) {
			var err error
			if items, err = a.pending(ctx, ""); err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			a.post(&transportState{err: fmt.Errorf("state database: %w", err)})
			if !sleep(ctx, wait) {
				return
			}
		}
		if len(items) > 0 {
			chats := make([]store.Item, 0, len(items))
			for _, it := range items {
				chats = append(chats, store.Item{Partition: it.Partition, ID: it.ID})
			}
			a.post(&ingested{chats: partitions(chats)})
		}
	})
}

// schedule makes sure chat has a worker; a worker already running is told
// to read the queue once more before it ends.
func (a *account) schedule(chat string) {
	if a.me == nil {
		return // not linked yet: resumeDrain runs once it is
	}
	if a.working[chat] {
		a.dirty[chat] = true
		return
	}
	a.working[chat] = true
	me := *a.me
	a.spawn("drain "+chat, func(ctx context.Context) { a.drain(ctx, chat, &me) })
}

// pending reads the pending updates of chat (of every chat when chat is
// empty), bounded by scanTimeout: a read that hangs (a JetStream watcher
// whose stream lost its leader) is given up and tried again.
func (a *account) pending(ctx context.Context, chat string) ([]store.QueueItem, error) {
	sctx, cancel := context.WithTimeout(ctx, scanTimeout)
	defer cancel()
	if chat == "" {
		return a.d.Store.Pending(sctx, a.queue(), 0)
	}
	return a.d.Store.PendingPartition(sctx, a.queue(), chat, drainBatch)
}

// drain handles chat's pending updates in order, acknowledging each once
// it is done, until none is left. However it ends it tells the actor
// (workerDone), which starts it again when the chat has news: a worker that
// ended without telling would leave its chat marked busy, and the chat
// unanswered for as long as the account runs (issue 19).
func (a *account) drain(ctx context.Context, chat string, me *telego.User) {
	acked := 0
	defer func() { a.post(&workerDone{chat: chat, acked: acked}) }()
	st := a.d.Store
	for ctx.Err() == nil {
		items, err := a.pending(ctx, chat)
		if err != nil {
			if ctx.Err() == nil {
				a.post(&transportState{err: fmt.Errorf("state database: %w", err)})
				sleep(ctx, a.opts.RetryMin)
			}
			continue
		}
		if len(items) == 0 {
			return
		}
		for _, it := range items {
			select {
			case a.sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			if !a.owns(ctx, it.ID) {
				<-a.sem
				return // the update stays queued for the account's owner
			}
			done := a.handle(ctx, it, me)
			<-a.sem
			if !done {
				// Stopping, or the update's state could not be read or
				// recorded (JetStream electing past the retries): it stays
				// queued, and is read again after a pause.
				if ctx.Err() == nil {
					a.d.Log.Warn("telegram update not handled yet; trying again", "account", a.id, "chat", chat, "update", it.ID)
					sleep(ctx, a.opts.RetryMin)
				}
				break
			}
			// The reply's progress goes only once the ack is stored: an
			// update whose ack failed (JetStream busy, or the lease lost) is
			// read again, finds its reply shown and sends nothing twice.
			actx, cancel := context.WithTimeout(context.Background(), ackTimeout)
			if err := st.Ack(actx, a.queue(), it.ID); err == nil {
				_ = st.Delete(actx, progressNS, a.id+":"+it.ID)
				if n, err := strconv.Atoi(it.ID); err == nil {
					acked = max(acked, n)
				}
			}
			cancel()
		}
	}
}

// owns reports whether this gateway may handle update id: always without a
// cluster; with one, only while it holds the account's lease (a stale owner
// starts no run for an update its successor handles).
func (a *account) owns(ctx context.Context, id string) bool {
	if a.d.Fence == nil {
		return true
	}
	for {
		err := a.d.Fence(ctx)
		switch {
		case err == nil:
			return true
		case ctx.Err() != nil:
			return false
		case errors.Is(err, lease.ErrLost):
			a.d.Log.Warn(fenceRefused, "account", a.id, "change", "handle "+id, "err", err)
			return false
		}
		// NATS busy or briefly cut off: the lease stands until it cannot
		// be renewed within its TTL.
		if !sleep(ctx, a.opts.RetryMin) {
			return false
		}
	}
}

// handle processes one update; false means it was interrupted (the account
// is stopping) and must be processed again. A panic is recorded against the
// update and fails the account; after maxAttempts the update is set aside.
func (a *account) handle(ctx context.Context, it store.QueueItem, me *telego.User) (done bool) {
	var u telego.Update
	if err := json.Unmarshal(it.Payload, &u); err != nil {
		a.d.Log.Warn("telegram update unreadable; dropped", "account", a.id, "update", it.ID, "err", err)
		return true
	}
	key := a.id + ":" + it.ID
	if n := a.attempts(ctx, key); n >= maxAttempts {
		a.d.Log.Error("telegram update set aside after repeated failures", "account", a.id, "update", it.ID, "attempts", n)
		if m := u.Message; m != nil {
			_, _ = a.bot.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: m.Chat.ID},
				Text: "Sorry, this message could not be processed."})
		}
		_ = a.d.Store.Delete(context.Background(), attemptsNS, key)
		return true
	}
	defer func() {
		if p := recover(); p != nil {
			// Counted durably, so a crash loop ends; then the account fails
			// and its supervisor restarts it with backoff.
			n := a.attempts(context.Background(), key) + 1
			_ = a.d.Store.Put(context.Background(), attemptsNS, key, []byte(strconv.Itoa(n)))
			panic(p)
		}
	}()
	if a.opts.BeforeProcess != nil {
		a.opts.BeforeProcess(a.id, &u)
	}
	m := u.Message
	if m == nil || m.From == nil || m.From.IsBot {
		return true
	}
	text := m.Text
	if text == "" {
		text = m.Caption
	}
	if strings.TrimSpace(text) == "" {
		return true
	}
	d, err := a.askAccess(ctx, m, me)
	if err != nil {
		// The account's actor did not decide in time (a busy machine): the
		// update stays queued and is judged again, never acked unanswered.
		if ctx.Err() == nil {
			a.d.Log.Warn("telegram access check failed; the update waits", "account", a.id, "update", it.ID, "err", err)
		}
		return false
	}
	switch {
	case d.code != "":
		_, _ = a.bot.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: m.Chat.ID},
			Text: pairingReply(strconv.FormatInt(m.From.ID, 10), d.code)})
		return ctx.Err() == nil
	case !d.allow:
		return true
	}
	return a.turn(ctx, it, m, stripMention(text, me.Username))
}

func (a *account) attempts(ctx context.Context, key string) int {
	v, ok, err := a.d.Store.Get(ctx, attemptsNS, key)
	if err != nil || !ok {
		return 0
	}
	n, _ := strconv.Atoi(string(v))
	return n
}

// progress is what a reply has shown so far, saved so that a restart in the
// middle of a reply edits the same messages instead of sending it twice.
type progress struct {
	Msgs  []shownMessage `json:"msgs,omitempty"`
	Final *string        `json:"final,omitempty"`
}

// turn runs the agent on a message and streams the reply into the chat.
func (a *account) turn(ctx context.Context, it store.QueueItem, m *telego.Message, text string) bool {
	st, key := a.d.Store, a.id+":"+it.ID
	var prog progress
	// What the reply has shown decides what is sent: a read that fails is
	// not "nothing shown" (that would send the reply twice). The update
	// waits instead.
	if err := durably(ctx, func(ctx context.Context) error {
		v, ok, err := st.Get(ctx, progressNS, key)
		if err == nil && ok {
			_ = json.Unmarshal(v, &prog)
		}
		return err
	}); err != nil {
		a.d.Log.Warn("telegram reply progress unreadable; the update waits", "account", a.id, "update", it.ID, "err", err)
		return false
	}
	var mu sync.Mutex
	// save records the progress; it goes on while the account stops (what
	// was sent must be known to whoever handles the update next).
	save := func() error {
		mu.Lock()
		b, _ := json.Marshal(prog)
		mu.Unlock()
		err := durably(context.Background(), func(ctx context.Context) error { return st.Put(ctx, progressNS, key, b) })
		if err != nil {
			a.d.Log.Warn("telegram reply progress not recorded", "account", a.id, "update", it.ID, "err", err)
		}
		return err
	}
	w := &replyWriter{bot: a.bot, chat: telego.ChatID{ID: m.Chat.ID}, limit: a.chunkLimit(),
		streaming: a.cfg.Streaming != "off", editEvery: a.opts.EditEvery, msgs: prog.Msgs}
	if m.Chat.Type != "private" {
		w.replyTo = m.MessageID
	}
	w.persist = func(msgs []shownMessage) {
		mu.Lock()
		prog.Msgs = append([]shownMessage(nil), msgs...)
		mu.Unlock()
		_ = save() // logged: only a restart right now would send it again
	}
	if prog.Final == nil {
		final, ok := a.run(ctx, it, m, text, w)
		if !ok {
			return false
		}
		mu.Lock()
		prog.Final = &final
		mu.Unlock()
		if save() != nil {
			// Not shown before it is recorded: the update is handled again
			// (its run's answer is in the transcript: not run twice).
			return false
		}
	}
	if err := w.finish(ctx, *prog.Final); err != nil {
		if ctx.Err() != nil {
			return false
		}
		a.d.Log.Warn("telegram reply not delivered", "account", a.id, "chat", m.Chat.ID, "err", err)
	}
	return true
}

// run is the agent turn of one message: its text streams into w. ok is false
// when the account is stopping.
func (a *account) run(ctx context.Context, it store.QueueItem, m *telego.Message, text string, w *replyWriter) (final string, ok bool) {
	cfg := a.d.Config.Get()
	agentID := config.DefaultAgent(cfg)
	kind := "dm"
	if m.Chat.Type != "private" {
		kind = "group"
	}
	p := core.RunParams{Message: text, IdempotencyKey: "telegram:" + a.id + ":" + it.ID, AgentID: agentID,
		SessionKey: "agent:" + agentID + ":telegram:" + kind + ":" + strconv.FormatInt(m.Chat.ID, 10), Resume: true}
	h, errShape := core.BeginRun(a.root, a.d.Runs, p)
	if errShape != nil {
		return "⚠️ " + errShape.Message, true
	}
	tctx, stopTyping := context.WithCancel(ctx)
	defer stopTyping()
	go a.typing(tctx, m.Chat.ID)
	o := h.Follow(ctx, func(d string) error {
		w.delta(ctx, d)
		return nil
	})
	if o == nil || ctx.Err() != nil {
		return "", false
	}
	if o.Err != nil {
		return "⚠️ " + o.Err.Message, true
	}
	if o.Final != nil && o.Final.Text != "" {
		return o.Final.Text, true
	}
	return w.text, true
}

// typing shows "typing…" in the chat until ctx ends (Telegram clears it
// after 5 s, so it is refreshed).
func (a *account) typing(ctx context.Context, chatID int64) {
	defer func() {
		// Cosmetic: a failure here must not take anything else down.
		if p := recover(); p != nil {
			a.d.Log.Error("telegram typing action panicked", "account", a.id, "panic", p)
		}
	}()
	for {
		_ = a.bot.SendChatAction(ctx, &telego.SendChatActionParams{ChatID: telego.ChatID{ID: chatID}, Action: "typing"})
		if !sleep(ctx, a.opts.TypingEvery) {
			return
		}
	}
}

func (a *account) chunkLimit() int {
	if a.cfg.TextChunkLimit > 0 {
		return min(a.cfg.TextChunkLimit, 4096)
	}
	return 4096
}

// stripMention removes the bot's @username from a group message.
func stripMention(text, username string) string {
	if username == "" {
		return text
	}
	out := strings.ReplaceAll(text, "@"+username, "")
	if strings.TrimSpace(out) == "" {
		return text
	}
	return strings.TrimSpace(out)
}

// ---- access ----

// checkAccess asks the account actor (which owns the pairing state) whether
// a message may reach the agent.
type checkAccess struct {
	private   bool
	chatID    int64
	senderID  string
	meta      map[string]string
	addressed bool // a group message that mentions or answers the bot
}

type accessDecision struct {
	allow bool
	code  string // pairing: tell the sender this code
}

func (a *account) askAccess(ctx context.Context, m *telego.Message, me *telego.User) (accessDecision, error) {
	q := &checkAccess{private: m.Chat.Type == "private", chatID: m.Chat.ID, senderID: strconv.FormatInt(m.From.ID, 10),
		meta: map[string]string{"username": m.From.Username, "firstName": m.From.FirstName,
			"chatId": strconv.FormatInt(m.Chat.ID, 10)},
		addressed: addressed(m, me)}
	res, err := a.root.RequestFuture(a.self, q, accessTimeout).Result()
	if err != nil {
		return accessDecision{}, err
	}
	d, _ := res.(*accessDecision)
	if d == nil {
		return accessDecision{}, fmt.Errorf("no access decision")
	}
	return *d, nil
}

// addressed reports whether a group message is meant for the bot: it
// mentions @bot or replies to one of the bot's messages.
func addressed(m *telego.Message, me *telego.User) bool {
	if m.ReplyToMessage != nil && m.ReplyToMessage.From != nil && m.ReplyToMessage.From.ID == me.ID {
		return true
	}
	text, ents := m.Text, m.Entities
	if text == "" {
		text, ents = m.Caption, m.CaptionEntities
	}
	for _, e := range ents {
		switch e.Type {
		case "mention":
			if s := utf16Slice(text, e.Offset, e.Length); strings.EqualFold(s, "@"+me.Username) {
				return true
			}
		case "text_mention":
			if e.User != nil && e.User.ID == me.ID {
				return true
			}
		}
	}
	return me.Username != "" && strings.Contains(strings.ToLower(text), "@"+strings.ToLower(me.Username))
}

// utf16Slice cuts s by UTF-16 offsets (Telegram's entity offsets).
func utf16Slice(s string, off, n int) string {
	var b strings.Builder
	pos := 0
	for _, r := range s {
		w := 1
		if r >= 0x10000 {
			w = 2
		}
		if pos >= off && pos < off+n {
			b.WriteRune(r)
		}
		pos += w
	}
	return b.String()
}

// checkAccess decides, in the actor, under the account's policies.
func (a *account) checkAccess(ctx actor.Context, q *checkAccess) {
	allowed := func(list []string) bool {
		for _, id := range list {
			if id == "*" || id == q.senderID {
				return true
			}
		}
		return false
	}
	if !q.private {
		groupAllow := a.cfg.GroupAllowFrom
		if len(groupAllow) == 0 {
			groupAllow = a.cfg.AllowFrom
		}
		ok := false
		switch a.cfg.GroupPolicy {
		case "open":
			ok = true
		case "disabled":
		default: // allowlist
			ok = allowed(groupAllow)
		}
		ctx.Respond(&accessDecision{allow: ok && q.addressed})
		return
	}
	switch a.cfg.DmPolicy {
	case "disabled":
		ctx.Respond(&accessDecision{})
	case "open":
		ctx.Respond(&accessDecision{allow: allowed(a.cfg.AllowFrom)})
	case "allowlist":
		ctx.Respond(&accessDecision{allow: allowed(a.cfg.AllowFrom) || a.pairing.allowed(q.senderID)})
	default: // pairing
		if allowed(a.cfg.AllowFrom) || a.pairing.allowed(q.senderID) {
			ctx.Respond(&accessDecision{allow: true})
			return
		}
		code, changed := a.pairing.request(q.senderID, q.meta, time.Now())
		if code == "" {
			a.d.Log.Info("telegram pairing: too many pending requests; sender ignored", "account", a.id, "sender", q.senderID)
		}
		if !changed {
			ctx.Respond(&accessDecision{code: code})
			return
		}
		// The code is durable before the sender is told it.
		sender, root := ctx.Sender(), a.root
		a.saver.save(a.pairing, func(err error) {
			if err != nil {
				root.Send(sender, &accessDecision{})
				return
			}
			root.Send(sender, &accessDecision{code: code})
		})
	}
}

// durableBudget bounds how long durably tries a change: JetStream elects a
// stream's leader within seconds (longer on a loaded machine).
const durableBudget = 15 * time.Second

// durably calls f until it succeeds, ctx ends, the account's lease is lost
// (a refused change is not tried again), or durableBudget is spent.
func durably(ctx context.Context, f func(ctx context.Context) error) error {
	return store.Retry(ctx, durableBudget, func(err error) bool { return !errors.Is(err, lease.ErrLost) }, f)
}

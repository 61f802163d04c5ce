package telegram

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/mymmrac/telego"

	"openclaw/actors/store"
)

// Webhook request bounds: Telegram sends small JSON bodies at once; a
// client that trickles them holds a goroutine only this long.
const (
	webhookHeaderTimeout = 10 * time.Second
	webhookReadTimeout   = 30 * time.Second
)

const offsetNS = "telegram.offset"

// allowedUpdates are the update kinds the channel handles.
var allowedUpdates = []string{"message"}

// startTransport starts receiving updates once the token is known good.
func (a *account) startTransport(ctx actor.Context) {
	if a.status.Mode == "webhook" {
		if err := a.listen(); err != nil {
			a.d.Log.Error("telegram webhook listener failed", "account", a.id, "err", err)
			a.status.Linked, a.status.LastError = false, "webhook listener: "+err.Error()
			a.report(ctx)
			// Without its listener the account cannot receive anything:
			// fail, so that the supervisor retries it with backoff.
			panic("telegram webhook listener: " + err.Error())
		}
		a.spawn("setWebhook", a.setWebhook)
		return
	}
	a.spawn("poll", a.poll)
}

// poll is the long-polling loop. A batch of updates is committed to the
// queue, together with the next offset, before the next getUpdates call
// tells Telegram (through that offset) that the batch arrived: a crash at
// any point loses nothing, and what Telegram sends again is recognised by
// its update_id.
func (a *account) poll(ctx context.Context) {
	st := a.d.Store
	// Going back to polling from a webhook: Telegram refuses getUpdates
	// while a webhook is set.
	if err := a.bot.DeleteWebhook(ctx, &telego.DeleteWebhookParams{}); err != nil && ctx.Err() == nil {
		a.d.Log.Warn("telegram deleteWebhook failed", "account", a.id, "err", err)
	} else if err == nil {
		// Running from here, as the reference reports an account whose
		// polling has started (lifecycle "starting"), not only once the
		// first long poll (up to PollTimeout) has come back.
		a.post(&transportState{})
	}
	// The offset stored with the last batch (a new owner continues from
	// its predecessor's); 0 when it cannot be read (JetStream electing past
	// the retries) lets Telegram start from what it holds unconfirmed, and
	// what comes again is recognised by its update_id.
	offset := 0
	_ = durably(ctx, func(ctx context.Context) error {
		v, ok, err := st.Get(ctx, offsetNS, a.id)
		if err == nil && ok {
			offset, _ = strconv.Atoi(string(v))
		}
		return err
	})
	wait := a.opts.RetryMin
	for ctx.Err() == nil {
		ups, err := a.bot.GetUpdates(ctx, &telego.GetUpdatesParams{Offset: offset, Timeout: int(a.opts.PollTimeout / time.Second),
			AllowedUpdates: allowedUpdates})
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			a.post(&transportState{err: err})
			d := wait
			if ra, ok := retryAfter(err); ok {
				d = ra
			} else {
				wait = min(wait*2, a.opts.RetryMax)
			}
			if e := apiError(err); e != nil && e.ErrorCode == 401 {
				// The token was revoked while we ran: link again, slowly.
				a.post(&linkFailed{err: err, rejected: true})
				d = a.opts.RejectedRetry
			}
			sleep(ctx, d)
			continue
		}
		wait = a.opts.RetryMin
		a.post(&transportState{})
		if len(ups) == 0 {
			continue
		}
		items := make([]store.Item, 0, len(ups))
		for i := range ups {
			raw, err := json.Marshal(&ups[i])
			if err != nil {
				continue
			}
			items = append(items, store.Item{Partition: chatOf(&ups[i]), ID: strconv.Itoa(ups[i].UpdateID), Payload: raw})
		}
		next := ups[len(ups)-1].UpdateID + 1
		inserted, err := st.EnqueueBatch(ctx, a.queue(), items, &store.KV{NS: offsetNS, Key: a.id, Value: []byte(strconv.Itoa(next))})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// Not committed: keep the offset, so Telegram sends them again.
			a.post(&transportState{err: errors.New("state database: " + err.Error())})
			sleep(ctx, wait)
			continue
		}
		offset = next
		a.updatesIn.Add(float64(len(items)))
		a.post(&ingested{chats: partitions(items), newest: newest(items, inserted)})
	}
}

// newest is, per chat, the newest update_id among the items inserted (an
// update queued before is not this account's to expect).
func newest(items []store.Item, inserted []bool) map[string]int {
	out := map[string]int{}
	for i, it := range items {
		if i < len(inserted) && inserted[i] {
			if n, err := strconv.Atoi(it.ID); err == nil {
				out[it.Partition] = max(out[it.Partition], n)
			}
		}
	}
	return out
}

func partitions(items []store.Item) []string {
	seen := make(map[string]bool, len(items))
	out := make([]string, 0, len(items))
	for _, it := range items {
		if !seen[it.Partition] {
			seen[it.Partition] = true
			out = append(out, it.Partition)
		}
	}
	return out
}

// webhookAddr is where the webhook listener binds.
func (a *account) webhookAddr() string {
	host, port := a.cfg.WebhookHost, a.cfg.WebhookPort
	if host == "" {
		host = "127.0.0.1"
	}
	if port == 0 {
		port = 8787
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

func (a *account) webhookPath() string {
	if a.cfg.WebhookPath == "" {
		return "/telegram-webhook"
	}
	return a.cfg.WebhookPath
}

// listen binds the webhook listener (before setWebhook, so that Telegram's
// first call finds it).
func (a *account) listen() error {
	ln, err := net.Listen("tcp", a.webhookAddr())
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc(a.webhookPath(), a.webhook)
	a.server = &http.Server{Handler: mux, ReadHeaderTimeout: webhookHeaderTimeout, ReadTimeout: webhookReadTimeout}
	srv := a.server
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.post(&transportState{err: err})
		}
	}()
	a.d.Log.Info("telegram webhook listening", "account", a.id, "addr", ln.Addr().String(), "path", a.webhookPath())
	return nil
}

// webhook takes one update from Telegram: it is committed to the queue before
// the 200 goes back, so an update Telegram considers delivered is durable.
// A wrong or missing secret gets 401 and nothing is queued.
func (a *account) webhook(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
	if subtle.ConstantTimeCompare([]byte(got), []byte(a.cfg.WebhookSecret)) != 1 {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<20))
	if err != nil {
		http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	var u telego.Update
	if err := json.Unmarshal(body, &u); err != nil || u.UpdateID == 0 {
		http.Error(w, "not a Telegram update", http.StatusBadRequest)
		return
	}
	chat := chatOf(&u)
	inserted, err := a.d.Store.Enqueue(r.Context(), a.queue(), chat, strconv.Itoa(u.UpdateID), body)
	if err != nil {
		// Telegram retries a failed delivery later.
		http.Error(w, "not stored", http.StatusServiceUnavailable)
		return
	}
	a.updatesIn.Inc()
	a.post(&ingested{chats: []string{chat}, newest: newest([]store.Item{{Partition: chat, ID: strconv.Itoa(u.UpdateID)}}, []bool{inserted})})
	w.WriteHeader(http.StatusOK)
}

// setWebhook registers the webhook URL and secret with Telegram, retrying
// until it succeeds.
func (a *account) setWebhook(ctx context.Context) {
	wait := a.opts.RetryMin
	for ctx.Err() == nil {
		err := a.bot.SetWebhook(ctx, &telego.SetWebhookParams{URL: a.cfg.WebhookURL, SecretToken: a.cfg.WebhookSecret,
			AllowedUpdates: allowedUpdates})
		if err == nil {
			a.post(&transportState{})
			return
		}
		if ctx.Err() != nil {
			return
		}
		a.post(&transportState{err: errors.New("setWebhook: " + err.Error())})
		d := wait
		if ra, ok := retryAfter(err); ok {
			d = ra
		}
		wait = min(wait*2, a.opts.RetryMax)
		sleep(ctx, d)
	}
}

package telegram

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path"

	"openclaw/actors/store"
)

// In a cluster an account runs on the gateway holding its lease
// (actors/channels), and every change it makes for the account is fenced:
// it first proves, through the lease's revision-checked update, that it
// still holds the lease (AccountDeps.Fence). A gateway that lost it (paused
// past the TTL, cut off from NATS) has that update refused and does not
// make the change. Fenced here: the Bot API calls that act on the account
// (getUpdates moves Telegram's offset, the sends and edits put text in a
// chat), and the state the account writes (queue acks, the polling offset,
// reply progress, pairing). Without a cluster there is no fence.

// fenceRefused is logged, once per refused change, with what was refused:
// the proof (and the cluster test's evidence) that a stale owner did not
// write.
const fenceRefused = "telegram: change refused, this gateway no longer owns the account"

// unfencedMethods are the Bot API calls that change nothing: getMe links
// the account (a standby never makes it: it does not run the account).
var unfencedMethods = map[string]bool{"getMe": true}

// fencedTransport fences the Bot API calls that act on the account.
type fencedTransport struct {
	base    http.RoundTripper
	fence   func(context.Context) error
	log     *slog.Logger
	account string
}

func (f fencedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	method := path.Base(r.URL.Path)
	if !unfencedMethods[method] {
		if err := f.fence(r.Context()); err != nil {
			f.log.Warn(fenceRefused, "account", f.account, "change", "bot api "+method, "err", err)
			return nil, fmt.Errorf("telegram %s not sent: %w", method, err)
		}
	}
	return f.base.RoundTrip(r)
}

// fencedClient returns a copy of client whose calls are fenced.
func fencedClient(client *http.Client, fence func(context.Context) error, log *slog.Logger, account string) *http.Client {
	c := *client
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = fencedTransport{base: base, fence: fence, log: log, account: account}
	return &c
}

// fencedStore fences the store's writes; reads go through as they are.
// The asynchronous writes (PutAsync, DeleteAsync: pairing state) are not
// fenced: fencing them would wait on NATS in the account's actor or break
// their order.
type fencedStore struct {
	store.Store
	fence   func(context.Context) error
	log     *slog.Logger
	account string
}

func (s fencedStore) check(ctx context.Context, change string) error {
	if err := s.fence(ctx); err != nil {
		s.log.Warn(fenceRefused, "account", s.account, "change", change, "err", err)
		return err
	}
	return nil
}

func (s fencedStore) Put(ctx context.Context, ns, key string, value []byte) error {
	if err := s.check(ctx, "put "+ns); err != nil {
		return err
	}
	return s.Store.Put(ctx, ns, key, value)
}

func (s fencedStore) Delete(ctx context.Context, ns, key string) error {
	if err := s.check(ctx, "delete "+ns); err != nil {
		return err
	}
	return s.Store.Delete(ctx, ns, key)
}

func (s fencedStore) PutMany(ctx context.Context, items []store.KV) error {
	if err := s.check(ctx, "put many"); err != nil {
		return err
	}
	return s.Store.PutMany(ctx, items)
}

func (s fencedStore) Enqueue(ctx context.Context, queue, partition, id string, payload []byte) (bool, error) {
	if err := s.check(ctx, "enqueue"); err != nil {
		return false, err
	}
	return s.Store.Enqueue(ctx, queue, partition, id, payload)
}

func (s fencedStore) EnqueueBatch(ctx context.Context, queue string, items []store.Item, mark *store.KV) ([]bool, error) {
	if err := s.check(ctx, "enqueue and move the offset"); err != nil {
		return nil, err
	}
	return s.Store.EnqueueBatch(ctx, queue, items, mark)
}

func (s fencedStore) Ack(ctx context.Context, queue, id string) error {
	if err := s.check(ctx, "ack "+id); err != nil {
		return err
	}
	return s.Store.Ack(ctx, queue, id)
}

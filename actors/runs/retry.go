package runs

import (
	"context"
	"time"

	"openclaw/actors/store"
)

// retryBudget bounds how long a turn retries a store call that failed on a
// transient error of the cluster's store (Deps.Transient: a stream electing
// its leader, a request lost with its responder): the user gets the real
// reply rather than an error when the election is over within it.
const retryBudget = 10 * time.Second

// retry calls f, again while it fails transiently (see retryBudget).
func (r *run) retry(ctx context.Context, f func(ctx context.Context) error) error {
	if r.d.Transient == nil {
		return f(ctx)
	}
	return store.Retry(ctx, retryBudget, r.d.Transient, f)
}

// appendOnce appends m (a message of this run) with retries: before each
// retry it looks whether the failed try was stored after all (its answer
// lost), by the run id and role in the session's latest messages, so that
// the message is not stored twice.
func (r *run) appendOnce(ctx context.Context, appendMsg func(context.Context, store.Message) (store.Message, error),
	m store.Message) (store.Message, error) {
	var out store.Message
	tried := false
	err := r.retry(ctx, func(ctx context.Context) error {
		if tried {
			h, _, err := r.d.Store.History(ctx, m.SessionKey, HistoryWindow)
			if err != nil {
				return err
			}
			for i := len(h) - 1; i >= 0; i-- {
				if h[i].RunID == m.RunID && h[i].Role == m.Role {
					out = h[i]
					return nil
				}
			}
		}
		tried = true
		var err error
		out, err = appendMsg(ctx, m)
		return err
	})
	return out, err
}

package store

import (
	"context"
	"time"
)

// Retry calls f until it succeeds, fails with an error again does not
// accept, ctx ends, or budget is spent; it returns f's last error. Between
// the calls it waits 250 ms, doubling up to 2 s. It is for the store of a
// cluster, whose streams refuse or lose requests for a few seconds while
// they elect a leader (jsstore.Transient tells those errors apart); a
// caller that retries a write must know that the write is safe to repeat,
// or find out whether the lost one was made.
func Retry(ctx context.Context, budget time.Duration, again func(error) bool, f func(ctx context.Context) error) error {
	deadline := time.Now().Add(budget)
	for wait := 250 * time.Millisecond; ; wait = min(wait*2, 2*time.Second) {
		err := f(ctx)
		if err == nil || ctx.Err() != nil || !again(err) || time.Now().Add(wait).After(deadline) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

package jsstore

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go/jetstream"
)

// errStop ends eachEntry early, without an error.
var errStop = errors.New("jsstore: stop")

// eachEntry calls f for every entry of kv under filter (">": all) as it is
// stored now, in the order of the entries' revisions, deletions left out.
func eachEntry(ctx context.Context, kv jetstream.KeyValue, filter string, f func(e jetstream.KeyValueEntry) error) error {
	w, err := kv.Watch(ctx, filter, jetstream.IgnoreDeletes())
	if err != nil {
		return err
	}
	defer w.Stop()
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok || e == nil { // nil: everything stored is delivered
				return nil
			}
			if err := f(e); errors.Is(err, errStop) {
				return nil
			} else if err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

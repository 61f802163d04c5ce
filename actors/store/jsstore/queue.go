package jsstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"openclaw/actors/store"
)

// The durable queue lives in the <c>_queue bucket, one entry per item
// ("<queue>.<id>"), created only if absent: an id seen before (pending, or
// acknowledged and not yet pruned) is not queued again, on any gateway. A
// pending item is never rewritten, so its revision is its place in the
// queue and a watch of the queue's keys delivers them in enqueue order. An
// acknowledgement rewrites the entry without its payload; the sweep deletes
// acknowledged entries past store.DefaultRetention.
//
// Ownership of a queue's consumer (one gateway drains a channel account)
// and fencing of its acknowledgements are issue 19's, not the store's.

// queueItem is a queue entry.
type queueItem struct {
	Partition  string `json:"part,omitempty"`
	Payload    []byte `json:"payload,omitempty"`
	EnqueuedAt int64  `json:"enqueued"`
	AckedAt    int64  `json:"acked,omitempty"`
}

func queueKey(queue, id string) string { return escape(queue) + "." + escape(id) }

// Enqueue appends an item to (queue, partition); inserted is false for an
// id this queue has seen.
func (s *Store) Enqueue(ctx context.Context, queue, partition, id string, payload []byte) (bool, error) {
	if queue == "" || id == "" {
		return false, fmt.Errorf("%w: empty queue or id", store.ErrInvalid)
	}
	b, err := json.Marshal(queueItem{Partition: partition, Payload: payload, EnqueuedAt: nowMs()})
	if err != nil {
		return false, err
	}
	_, err = s.queue.Create(ctx, queueKey(queue, id), b)
	if isConflict(err) {
		return false, nil
	}
	return err == nil, err
}

// EnqueueBatch enqueues items in order, then stores mark: the marker is
// written only once every item is stored, so a producer that moves its
// source on after it never skips an item that is not. Unlike SQLite's it is
// not one transaction: a failure part way leaves the first items queued
// (a retry finds them and does not queue them twice).
func (s *Store) EnqueueBatch(ctx context.Context, queue string, items []store.Item, mark *store.KV) ([]bool, error) {
	if queue == "" {
		return nil, fmt.Errorf("%w: empty queue", store.ErrInvalid)
	}
	for _, it := range items {
		if it.ID == "" {
			return nil, fmt.Errorf("%w: empty id", store.ErrInvalid)
		}
	}
	if mark != nil && (mark.NS == "" || mark.Key == "") {
		return nil, fmt.Errorf("%w: empty namespace or key", store.ErrInvalid)
	}
	inserted := make([]bool, len(items))
	for i, it := range items {
		ok, err := s.Enqueue(ctx, queue, it.Partition, it.ID, it.Payload)
		if err != nil {
			return nil, err
		}
		inserted[i] = ok
	}
	if mark != nil {
		if err := s.Put(ctx, mark.NS, mark.Key, mark.Value); err != nil {
			return nil, err
		}
	}
	return inserted, nil
}

// scanQueue calls each for the queue's entries in enqueue order (pending
// ones; acknowledged ones too when acked) until it returns false.
func (s *Store) scanQueue(ctx context.Context, queue string, each func(id string, rev uint64, it *queueItem) bool) error {
	return eachEntry(ctx, s.queue, escape(queue)+".*", func(e jetstream.KeyValueEntry) error {
		_, tok, _ := strings.Cut(e.Key(), ".")
		id, err := unescape(tok)
		if err != nil {
			return err
		}
		var it queueItem
		if err := json.Unmarshal(e.Value(), &it); err != nil {
			return fmt.Errorf("jsstore: queue item %s: %w", e.Key(), err)
		}
		if !each(id, e.Revision(), &it) {
			return errStop
		}
		return nil
	})
}

// pending lists up to limit unacknowledged items of queue (of one
// partition when part is not nil), oldest first.
//
// The scan reads through a consumer, which JetStream may place on a
// replica that is behind its leader (a gateway's server just restarted or
// resumed and still catching up): there an item acknowledged meanwhile
// still shows pending, and a new owner handled it again, replying twice
// (issue 19). Each item the scan shows pending is read again from the
// leader (the queue bucket's gets go to it) and counted only if it still
// is.
func (s *Store) pending(ctx context.Context, queue string, part *string, limit int) ([]store.QueueItem, error) {
	var out []store.QueueItem
	var lerr error
	err := s.scanQueue(ctx, queue, func(id string, rev uint64, it *queueItem) bool {
		if it.AckedAt == 0 && (part == nil || *part == it.Partition) {
			cur, err := s.queue.Get(ctx, queueKey(queue, id))
			if notFound(err) {
				return true // pruned meanwhile
			}
			if err != nil {
				lerr = err
				return false
			}
			var now queueItem
			if err := json.Unmarshal(cur.Value(), &now); err != nil {
				lerr = fmt.Errorf("jsstore: queue item %s: %w", cur.Key(), err)
				return false
			}
			if now.AckedAt != 0 {
				return true
			}
			p := it.Payload
			if p == nil {
				p = []byte{}
			}
			out = append(out, store.QueueItem{Queue: queue, Partition: it.Partition, ID: id, Payload: p,
				EnqueuedAt: it.EnqueuedAt, Seq: int64(rev)})
		}
		return limit <= 0 || len(out) < limit
	})
	if err == nil {
		err = lerr
	}
	return out, err
}

// Pending returns up to limit unacknowledged items of queue, oldest first.
func (s *Store) Pending(ctx context.Context, queue string, limit int) ([]store.QueueItem, error) {
	return s.pending(ctx, queue, nil, limit)
}

// PendingPartition is Pending restricted to one partition.
func (s *Store) PendingPartition(ctx context.Context, queue, partition string, limit int) ([]store.QueueItem, error) {
	return s.pending(ctx, queue, &partition, limit)
}

// Ack marks an item done: it leaves Pending, its payload goes, its id stays
// (for dedupe) until pruned. An unknown or acknowledged id is not an error.
func (s *Store) Ack(ctx context.Context, queue, id string) error {
	for range maxCAS {
		e, err := s.queue.Get(ctx, queueKey(queue, id))
		if notFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		var it queueItem
		if err := json.Unmarshal(e.Value(), &it); err != nil {
			return fmt.Errorf("jsstore: queue item %s: %w", e.Key(), err)
		}
		if it.AckedAt != 0 {
			return nil
		}
		it.AckedAt, it.Payload = nowMs(), nil
		b, err := json.Marshal(it)
		if err != nil {
			return err
		}
		if _, err := s.queue.Update(ctx, e.Key(), b, e.Revision()); !isConflict(err) {
			return err
		}
	}
	return fmt.Errorf("jsstore: queue item %s/%s: too many concurrent changes", queue, id)
}

// Prune deletes items acknowledged more than olderThan ago, in every queue,
// and returns how many.
func (s *Store) Prune(ctx context.Context, olderThan time.Duration) (int64, error) {
	cutoff := time.Now().Add(-olderThan).UnixMilli()
	type old struct {
		key string
		rev uint64
	}
	var gone []old
	err := eachEntry(ctx, s.queue, ">", func(e jetstream.KeyValueEntry) error {
		var it queueItem
		if json.Unmarshal(e.Value(), &it) == nil && it.AckedAt != 0 && it.AckedAt < cutoff {
			gone = append(gone, old{e.Key(), e.Revision()})
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	var n int64
	for _, g := range gone {
		// Only the entry as read: a re-enqueue meanwhile stays.
		err := s.queue.Purge(ctx, g.key, jetstream.LastRevision(g.rev))
		if isConflict(err) {
			continue
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// sweep prunes acknowledged queue items every interval until stop closes.
func (s *Store) sweep(every time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), every)
			_, _ = s.Prune(ctx, store.DefaultRetention)
			cancel()
		}
	}
}

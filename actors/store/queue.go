package store

import (
	"context"
	"fmt"
	"time"
)

// DefaultRetention is how long acknowledged queue items are kept, without
// their payload, so that a redelivered id is still recognised.
const DefaultRetention = 7 * 24 * time.Hour

// QueueItem is one pending item of a durable queue.
type QueueItem struct {
	Queue      string
	Partition  string
	ID         string // the producer's id, unique per queue
	Payload    []byte
	EnqueuedAt int64 // ms
	Seq        int64 // position in the queue: increasing in enqueue order
}

// Enqueue appends an item to (queue, partition); it is durable when Enqueue
// returns. An id already seen in this queue (pending, or acknowledged and not
// yet pruned) is not added again: inserted is false.
func (s *SQLite) Enqueue(ctx context.Context, queue, partition, id string, payload []byte) (inserted bool, err error) {
	if queue == "" || id == "" {
		return false, fmt.Errorf("%w: empty queue or id", ErrInvalid)
	}
	if payload == nil {
		payload = []byte{}
	}
	o := getOp(opEnqueue)
	o.a, o.b, o.c, o.val = queue, partition, id, payload
	if err := s.do(ctx, o); err != nil {
		return false, err
	}
	inserted, err = o.inserted, o.err
	putOp(o)
	return inserted, err
}

// Pending returns up to limit unacknowledged items of queue, oldest first
// (so each partition's items are in FIFO order). limit <= 0 means all.
func (s *SQLite) Pending(ctx context.Context, queue string, limit int) ([]QueueItem, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	rows, err := s.reads.pending.QueryContext(ctx, queue, sqlLimit(limit))
	if err != nil {
		return nil, err
	}
	return scanItems(queue, rows)
}

// PendingPartition is Pending restricted to one partition.
func (s *SQLite) PendingPartition(ctx context.Context, queue, partition string, limit int) ([]QueueItem, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	rows, err := s.reads.pendingPart.QueryContext(ctx, queue, partition, sqlLimit(limit))
	if err != nil {
		return nil, err
	}
	return scanItems(queue, rows)
}

type rowScanner interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}

func scanItems(queue string, rows rowScanner) ([]QueueItem, error) {
	defer rows.Close()
	var out []QueueItem
	for rows.Next() {
		it := QueueItem{Queue: queue}
		if err := rows.Scan(&it.Seq, &it.Partition, &it.ID, &it.Payload, &it.EnqueuedAt); err != nil {
			return nil, err
		}
		if it.Payload == nil {
			it.Payload = []byte{}
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// Ack marks an item done: it leaves Pending and its payload is dropped, but
// its id is kept (for dedupe) until Prune removes it. Acknowledging an
// unknown or already acknowledged id is not an error.
func (s *SQLite) Ack(ctx context.Context, queue, id string) error {
	o := getOp(opAck)
	o.a, o.c = queue, id
	if err := s.do(ctx, o); err != nil {
		return err
	}
	err := o.err
	putOp(o)
	return err
}

// Prune deletes items acknowledged more than olderThan ago (use
// DefaultRetention) and returns how many it deleted.
func (s *SQLite) Prune(ctx context.Context, olderThan time.Duration) (int64, error) {
	o := getOp(opPrune)
	o.n = time.Now().Add(-olderThan).UnixMilli()
	if err := s.do(ctx, o); err != nil {
		return 0, err
	}
	n, err := o.n, o.err
	putOp(o)
	return n, err
}

// Item is one item for EnqueueBatch.
type Item struct {
	Partition, ID string
	Payload       []byte
}

// EnqueueBatch appends items to queue in order, then (when mark is not nil)
// stores mark's value, as one submission to the writer: a producer that
// acknowledges its source after EnqueueBatch returns (a Telegram polling
// offset) never acknowledges an item that is not durable, and the marker is
// never committed ahead of the items it covers. inserted[i] reports whether
// items[i] was new.
func (s *SQLite) EnqueueBatch(ctx context.Context, queue string, items []Item, mark *KV) (inserted []bool, err error) {
	if queue == "" {
		return nil, fmt.Errorf("%w: empty queue", ErrInvalid)
	}
	ops := make([]*op, 0, len(items)+1)
	for _, it := range items {
		if it.ID == "" {
			return nil, fmt.Errorf("%w: empty id", ErrInvalid)
		}
		o := getOp(opEnqueue)
		o.a, o.b, o.c, o.val = queue, it.Partition, it.ID, it.Payload
		if o.val == nil {
			o.val = []byte{}
		}
		ops = append(ops, o)
	}
	if mark != nil {
		if mark.NS == "" || mark.Key == "" {
			return nil, fmt.Errorf("%w: empty namespace or key", ErrInvalid)
		}
		o := getOp(opPut)
		o.a, o.b, o.val = mark.NS, mark.Key, mark.Value
		if o.val == nil {
			o.val = []byte{}
		}
		ops = append(ops, o)
	}
	if err := s.doAll(ctx, ops); err != nil {
		return nil, err
	}
	inserted = make([]bool, len(items))
	for i, o := range ops {
		if o.err != nil && err == nil {
			err = o.err
		}
		if i < len(items) {
			inserted[i] = o.inserted
		}
		putOp(o)
	}
	return inserted, err
}

// KV is a key and value for EnqueueBatch's marker.
type KV struct {
	NS, Key string
	Value   []byte
}

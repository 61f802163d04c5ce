package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Put stores value under (ns, key), replacing any previous value; it is
// durable when Put returns. A nil value is stored as empty.
func (s *SQLite) Put(ctx context.Context, ns, key string, value []byte) error {
	if ns == "" || key == "" {
		return fmt.Errorf("%w: empty namespace or key", ErrInvalid)
	}
	if value == nil {
		value = []byte{}
	}
	o := getOp(opPut)
	o.a, o.b, o.val = ns, key, value
	if err := s.do(ctx, o); err != nil {
		return err
	}
	err := o.err
	putOp(o)
	return err
}

// Get returns the value under (ns, key); ok is false if there is none.
func (s *SQLite) Get(ctx context.Context, ns, key string) (value []byte, ok bool, err error) {
	if err := s.readable(); err != nil {
		return nil, false, err
	}
	err = s.reads.get.QueryRowContext(ctx, ns, key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if value == nil {
		value = []byte{}
	}
	return value, true, nil
}

// Delete removes (ns, key); deleting a missing key is not an error.
func (s *SQLite) Delete(ctx context.Context, ns, key string) error {
	o := getOp(opDelete)
	o.a, o.b = ns, key
	if err := s.do(ctx, o); err != nil {
		return err
	}
	err := o.err
	putOp(o)
	return err
}

// PutAsync stores value under (ns, key) without waiting: writes are applied
// in the order they are submitted (so the last PutAsync of a key wins), and
// done, when not nil, is called from the writer once the write is durable.
// For an actor that must not wait on the disk.
func (s *SQLite) PutAsync(ns, key string, value []byte, done func(error)) {
	if ns == "" || key == "" {
		if done != nil {
			done(fmt.Errorf("%w: empty namespace or key", ErrInvalid))
		}
		return
	}
	if value == nil {
		value = []byte{}
	}
	o := getOp(opPut)
	o.a, o.b, o.val = ns, key, value
	if done != nil {
		o.doneErr = done
	}
	if err := s.submit(o); err != nil {
		putOp(o)
		if done != nil {
			done(err)
		}
	}
}

// DeleteAsync removes (ns, key) without waiting, in order with the other
// asynchronous writes (a PutAsync of the key submitted later wins); done,
// when not nil, is called once the removal is durable.
func (s *SQLite) DeleteAsync(ns, key string, done func(error)) {
	o := getOp(opDelete)
	o.a, o.b = ns, key
	if done != nil {
		o.doneErr = done
	}
	if err := s.submit(o); err != nil {
		putOp(o)
		if done != nil {
			done(err)
		}
	}
}

// Scan returns every key of namespace ns with its value.
func (s *SQLite) Scan(ctx context.Context, ns string) (map[string][]byte, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	rows, err := s.reads.scan.QueryContext(ctx, ns)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var k string
		var v []byte
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		if v == nil {
			v = []byte{}
		}
		out[k] = v
	}
	return out, rows.Err()
}

// PutMany stores several values as one contiguous submission (one commit
// for all of them, normally); it returns when they are durable.
func (s *SQLite) PutMany(ctx context.Context, items []KV) error {
	ops := make([]*op, 0, len(items))
	for _, it := range items {
		if it.NS == "" || it.Key == "" {
			return fmt.Errorf("%w: empty namespace or key", ErrInvalid)
		}
		o := getOp(opPut)
		o.a, o.b, o.val = it.NS, it.Key, it.Value
		if o.val == nil {
			o.val = []byte{}
		}
		ops = append(ops, o)
	}
	if err := s.doAll(ctx, ops); err != nil {
		return err
	}
	var err error
	for _, o := range ops {
		if o.err != nil && err == nil {
			err = o.err
		}
		putOp(o)
	}
	return err
}

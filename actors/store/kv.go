package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Put stores value under (ns, key), replacing any previous value; it is
// durable when Put returns. A nil value is stored as empty.
func (s *Store) Put(ctx context.Context, ns, key string, value []byte) error {
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
func (s *Store) Get(ctx context.Context, ns, key string) (value []byte, ok bool, err error) {
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
func (s *Store) Delete(ctx context.Context, ns, key string) error {
	o := getOp(opDelete)
	o.a, o.b = ns, key
	if err := s.do(ctx, o); err != nil {
		return err
	}
	err := o.err
	putOp(o)
	return err
}

package store

import "context"

// What `openclaw cluster import` needs to find everything in a standalone
// gateway's database; read-only, SQLite's alone.

// Namespaces lists the kv namespaces that hold at least one key.
func (s *SQLite) Namespaces(ctx context.Context) ([]string, error) {
	return s.strings(ctx, "SELECT DISTINCT ns FROM kv ORDER BY ns")
}

// PendingQueues lists the queues that hold unacknowledged items.
func (s *SQLite) PendingQueues(ctx context.Context) ([]string, error) {
	return s.strings(ctx, "SELECT DISTINCT queue FROM queue_items WHERE acked_at IS NULL ORDER BY queue")
}

// strings runs a one-column query.
func (s *SQLite) strings(ctx context.Context, q string) ([]string, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	rows, err := s.rdb.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

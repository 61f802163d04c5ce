package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migrations[i] takes the schema from version i to version i+1. They run in
// order, each in the same transaction as the schema_version row that records
// it, so a database is always at exactly one version. Append only: never edit
// a migration that has shipped.
var migrations = [][]string{
	// 1: transcripts, key-value, ingress queue.
	{
		// One row per session key. session_id is a stable uuid created with the
		// session; last_seq is the last assigned message seq (seqs are 1.. per
		// session); updated_at is the time of the last append (ms).
		`CREATE TABLE sessions (
			key           TEXT    NOT NULL PRIMARY KEY,
			session_id    TEXT    NOT NULL UNIQUE,
			created_at    INTEGER NOT NULL,
			updated_at    INTEGER NOT NULL,
			last_seq      INTEGER NOT NULL DEFAULT 0,
			message_count INTEGER NOT NULL DEFAULT 0
		) WITHOUT ROWID`,
		`CREATE INDEX sessions_by_updated ON sessions (updated_at DESC, key)`,

		// One row per transcript message. content, usage and extra are JSON
		// text (TEXT, not BLOB: SQLite's json functions read a BLOB as JSONB).
		`CREATE TABLE messages (
			id          INTEGER PRIMARY KEY,
			session_key TEXT    NOT NULL REFERENCES sessions (key),
			seq         INTEGER NOT NULL,
			role        TEXT    NOT NULL,
			content     TEXT    NOT NULL,
			ts          INTEGER NOT NULL,
			run_id      TEXT    NOT NULL DEFAULT '',
			provider    TEXT    NOT NULL DEFAULT '',
			model       TEXT    NOT NULL DEFAULT '',
			stop_reason TEXT    NOT NULL DEFAULT '',
			usage       TEXT,
			extra       TEXT,
			UNIQUE (session_key, seq)
		)`,

		// Small durable state: polling offsets and the like.
		`CREATE TABLE kv (
			ns         TEXT    NOT NULL,
			key        TEXT    NOT NULL,
			value      BLOB    NOT NULL,
			updated_at INTEGER NOT NULL,
			PRIMARY KEY (ns, key)
		) WITHOUT ROWID`,

		// The durable ingress queue. id (the rowid) is the FIFO order; item_id
		// is the producer's id, unique per queue, kept after the ack (payload
		// dropped) until pruned, so a redelivery is recognised.
		`CREATE TABLE queue_items (
			id          INTEGER PRIMARY KEY,
			queue       TEXT    NOT NULL,
			part        TEXT    NOT NULL,
			item_id     TEXT    NOT NULL,
			payload     BLOB    NOT NULL,
			enqueued_at INTEGER NOT NULL,
			acked_at    INTEGER,
			UNIQUE (queue, item_id)
		)`,
		`CREATE INDEX queue_pending ON queue_items (queue, id) WHERE acked_at IS NULL`,
		`CREATE INDEX queue_pending_part ON queue_items (queue, part, id) WHERE acked_at IS NULL`,
		`CREATE INDEX queue_acked ON queue_items (acked_at) WHERE acked_at IS NOT NULL`,
	},

	// 2: session metadata (docs/PROTOCOL.md, sessions.*): what an operator
	// sets (label, model override, thinking level), what the turns used
	// (tokens in and out, summed; the last turn's total, the context it
	// filled) and how often the transcript was compacted. The token sums
	// of existing sessions are backfilled from their messages' usage.
	{
		`ALTER TABLE sessions ADD COLUMN label TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE sessions ADD COLUMN model_override TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE sessions ADD COLUMN thinking_level TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE sessions ADD COLUMN input_tokens INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE sessions ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE sessions ADD COLUMN last_total_tokens INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE sessions ADD COLUMN compactions INTEGER NOT NULL DEFAULT 0`,
		`UPDATE sessions SET
			input_tokens = (SELECT COALESCE(SUM(json_extract(usage, '$.input')), 0) FROM messages m
				WHERE m.session_key = sessions.key AND m.usage IS NOT NULL),
			output_tokens = (SELECT COALESCE(SUM(json_extract(usage, '$.output')), 0) FROM messages m
				WHERE m.session_key = sessions.key AND m.usage IS NOT NULL),
			last_total_tokens = COALESCE((SELECT json_extract(usage, '$.total') FROM messages m
				WHERE m.session_key = sessions.key AND m.usage IS NOT NULL ORDER BY seq DESC LIMIT 1), 0)`,
	},

	// 3: scheduled jobs and their runs (actors/cron). A job is its
	// definition as JSON. A run is claimed for its job and schedule slot
	// before it starts (UNIQUE (job_id, slot_ms)), so a slot never runs
	// twice, even across a crash: a run still 'running' at the next start
	// was cut off and is closed as an error, not run again.
	{
		`CREATE TABLE cron_jobs (
			id         TEXT    NOT NULL PRIMARY KEY,
			job        TEXT    NOT NULL,
			created_at INTEGER NOT NULL,
			updated_at INTEGER NOT NULL
		) WITHOUT ROWID`,
		`CREATE TABLE cron_runs (
			id              INTEGER PRIMARY KEY,
			job_id          TEXT    NOT NULL,
			slot_ms         INTEGER NOT NULL,
			run_id          TEXT    NOT NULL,
			trigger         TEXT    NOT NULL,
			status          TEXT    NOT NULL,
			started_at      INTEGER NOT NULL,
			ended_at        INTEGER,
			session_key     TEXT    NOT NULL DEFAULT '',
			error           TEXT    NOT NULL DEFAULT '',
			summary         TEXT    NOT NULL DEFAULT '',
			provider        TEXT    NOT NULL DEFAULT '',
			model           TEXT    NOT NULL DEFAULT '',
			usage           TEXT,
			delivery_status TEXT    NOT NULL DEFAULT '',
			delivery_error  TEXT    NOT NULL DEFAULT '',
			UNIQUE (job_id, slot_ms)
		)`,
		`CREATE INDEX cron_runs_by_job ON cron_runs (job_id, started_at DESC)`,
		`CREATE INDEX cron_runs_by_time ON cron_runs (started_at DESC)`,
		`CREATE INDEX cron_runs_running ON cron_runs (status) WHERE status = 'running'`,
	},
}

// SchemaVersion is the schema version this build migrates to.
var SchemaVersion = len(migrations)

// migrate brings the database to SchemaVersion. Running it again is a no-op.
// A database from a newer build is refused rather than written to.
func migrate(ctx context.Context, conn *sql.Conn) (err error) {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    INTEGER NOT NULL PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return err
	}
	var cur int
	if err := conn.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_version").Scan(&cur); err != nil {
		return err
	}
	if cur > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this build's %d", cur, len(migrations))
	}
	for v := cur; v < len(migrations); v++ {
		for _, stmt := range migrations[v] {
			if _, err := conn.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migration %d: %w", v+1, err)
			}
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
			v+1, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return err
}

package store

import (
	"context"
	"fmt"
	"strings"
)

// Scheduled jobs and their runs (migration 3). The cron actor owns both.

// CronJobRow is a stored job: its definition (JSON, the cron actor's) and
// when it was created and last changed.
type CronJobRow struct {
	ID                   string
	Job                  []byte
	CreatedAt, UpdatedAt int64
}

// PutCronJob stores a job's definition (a new one or a change).
func (s *SQLite) PutCronJob(ctx context.Context, id string, def []byte) error {
	if id == "" || len(def) == 0 {
		return fmt.Errorf("%w: empty cron job", ErrInvalid)
	}
	return s.fn(ctx, func(w *writer) error {
		_, err := w.conn.ExecContext(w.ctx, `INSERT INTO cron_jobs (id, job, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)
			ON CONFLICT (id) DO UPDATE SET job = excluded.job, updated_at = excluded.updated_at`, id, string(def), w.now)
		return err
	})
}

// DeleteCronJob deletes a job and its runs; deleted is false when there was
// no such job.
func (s *SQLite) DeleteCronJob(ctx context.Context, id string) (deleted bool, err error) {
	err = s.fn(ctx, func(w *writer) error {
		res, err := w.conn.ExecContext(w.ctx, "DELETE FROM cron_jobs WHERE id = ?", id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		deleted = n > 0
		_, err = w.conn.ExecContext(w.ctx, "DELETE FROM cron_runs WHERE job_id = ?", id)
		return err
	})
	return deleted, err
}

// CronJobs lists every stored job, oldest first.
func (s *SQLite) CronJobs(ctx context.Context) ([]CronJobRow, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	rows, err := s.rdb.QueryContext(ctx, "SELECT id, job, created_at, updated_at FROM cron_jobs ORDER BY created_at, id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CronJobRow
	for rows.Next() {
		var r CronJobRow
		if err := rows.Scan(&r.ID, &r.Job, &r.CreatedAt, &r.UpdatedAt); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CronRun is one run of a job (or of an agent's heartbeat).
type CronRun struct {
	JobID   string
	SlotMs  int64  // the schedule slot it is for (the time it was due; now for a manual run)
	RunID   string // the agent run's id
	Trigger string // schedule | manual | wake
	Status  string // running | ok | error | skipped
	// Set when it ends.
	StartedAt, EndedAt            int64
	SessionKey, Error, Summary    string
	Provider, Model               string
	Usage                         []byte // JSON {"input","output","total"}
	DeliveryStatus, DeliveryError string
}

// ClaimCronSlot records a run of a job's slot, durably, before it starts:
// claimed is false when that slot already has a run (it ran, or runs, or
// was cut off by a crash), and then it must not run.
func (s *SQLite) ClaimCronSlot(ctx context.Context, r CronRun) (claimed bool, err error) {
	if r.JobID == "" || r.RunID == "" {
		return false, fmt.Errorf("%w: cron run without a job or run id", ErrInvalid)
	}
	err = s.fn(ctx, func(w *writer) error {
		res, err := w.conn.ExecContext(w.ctx, `INSERT INTO cron_runs (job_id, slot_ms, run_id, trigger, status, started_at, session_key)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job_id, slot_ms) DO NOTHING`,
			r.JobID, r.SlotMs, r.RunID, r.Trigger, orDefault(r.Status, "running"), w.now, r.SessionKey)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		claimed = n == 1
		return err
	})
	return claimed, err
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// FinishCronRun records how a claimed run ended.
func (s *SQLite) FinishCronRun(ctx context.Context, r CronRun) error {
	return s.fn(ctx, func(w *writer) error {
		_, err := w.conn.ExecContext(w.ctx, `UPDATE cron_runs SET status = ?, ended_at = ?, error = ?, summary = ?, provider = ?,
			model = ?, usage = ?, delivery_status = ?, delivery_error = ?, session_key = COALESCE(NULLIF(?, ''), session_key)
			WHERE job_id = ? AND slot_ms = ?`,
			r.Status, w.now, r.Error, r.Summary, r.Provider, r.Model, jsonText(r.Usage), r.DeliveryStatus, r.DeliveryError,
			r.SessionKey, r.JobID, r.SlotMs)
		return err
	})
}

// CloseInterruptedCronRuns marks the runs still 'running' (the gateway
// stopped during them) as errors with reason; their slots stay claimed.
func (s *SQLite) CloseInterruptedCronRuns(ctx context.Context, reason string) (n int, err error) {
	err = s.fn(ctx, func(w *writer) error {
		res, err := w.conn.ExecContext(w.ctx, `UPDATE cron_runs SET status = 'error', ended_at = ?, error = ? WHERE status = 'running'`,
			w.now, reason)
		if err != nil {
			return err
		}
		c, err := res.RowsAffected()
		n = int(c)
		return err
	})
	return n, err
}

const cronRunColumns = `job_id, slot_ms, run_id, trigger, status, started_at, COALESCE(ended_at, 0), session_key, error, summary,
	provider, model, usage, delivery_status, delivery_error`

func scanCronRun(row interface{ Scan(...any) error }) (CronRun, error) {
	var r CronRun
	err := row.Scan(&r.JobID, &r.SlotMs, &r.RunID, &r.Trigger, &r.Status, &r.StartedAt, &r.EndedAt, &r.SessionKey, &r.Error,
		&r.Summary, &r.Provider, &r.Model, &r.Usage, &r.DeliveryStatus, &r.DeliveryError)
	return r, err
}

// CronRunQuery selects runs: of some jobs (none: every job), with some
// statuses (none: any), newest first unless Ascending.
type CronRunQuery struct {
	JobIDs    []string
	RunID     string
	Statuses  []string
	Query     string // a substring of the summary or the error
	Ascending bool
	Limit     int
	Offset    int
}

// CronRuns lists the runs q selects and how many there are in all.
func (s *SQLite) CronRuns(ctx context.Context, q CronRunQuery) ([]CronRun, int, error) {
	if err := s.readable(); err != nil {
		return nil, 0, err
	}
	where, args := []string{"1"}, []any{}
	if len(q.JobIDs) > 0 {
		where = append(where, "job_id IN ("+strings.TrimSuffix(strings.Repeat("?,", len(q.JobIDs)), ",")+")")
		for _, id := range q.JobIDs {
			args = append(args, id)
		}
	}
	if q.RunID != "" {
		where, args = append(where, "run_id = ?"), append(args, q.RunID)
	}
	if len(q.Statuses) > 0 {
		where = append(where, "status IN ("+strings.TrimSuffix(strings.Repeat("?,", len(q.Statuses)), ",")+")")
		for _, st := range q.Statuses {
			args = append(args, st)
		}
	}
	if q.Query != "" {
		where = append(where, "(instr(lower(summary), lower(?)) > 0 OR instr(lower(error), lower(?)) > 0)")
		args = append(args, q.Query, q.Query)
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := s.rdb.QueryRowContext(ctx, "SELECT COUNT(*) FROM cron_runs WHERE "+cond, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	order := "DESC"
	if q.Ascending {
		order = "ASC"
	}
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+cronRunColumns+" FROM cron_runs WHERE "+cond+
		" ORDER BY started_at "+order+", id "+order+" LIMIT ? OFFSET ?", append(args, sqlLimit(q.Limit), max(q.Offset, 0))...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []CronRun
	for rows.Next() {
		r, err := scanCronRun(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// CronJobRunState is what the runs say of one job: its last run, its last
// claimed slot, and how many of its latest runs failed in a row.
type CronJobRunState struct {
	Last              CronRun
	LastSlotMs        int64
	ConsecutiveErrors int
}

// CronRunStates is the run state of every job with runs.
func (s *SQLite) CronRunStates(ctx context.Context) (map[string]CronJobRunState, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	out := map[string]CronJobRunState{}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+cronRunColumns+` FROM cron_runs r
		WHERE id = (SELECT id FROM cron_runs WHERE job_id = r.job_id ORDER BY started_at DESC, id DESC LIMIT 1)`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		r, err := scanCronRun(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out[r.JobID] = CronJobRunState{Last: r}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slots, err := s.rdb.QueryContext(ctx, `SELECT job_id, MAX(slot_ms) FROM cron_runs WHERE trigger = 'schedule' GROUP BY job_id`)
	if err != nil {
		return nil, err
	}
	defer slots.Close()
	for slots.Next() {
		var id string
		var slot int64
		if err := slots.Scan(&id, &slot); err != nil {
			return nil, err
		}
		st := out[id]
		st.LastSlotMs = slot
		out[id] = st
	}
	if err := slots.Err(); err != nil {
		return nil, err
	}
	for id, st := range out {
		if st.Last.Status != "error" {
			continue
		}
		// Errors since the last success, in the order the runs were
		// recorded (id): two runs may start in the same millisecond.
		if err := s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM cron_runs WHERE job_id = ?1 AND status = 'error'
			AND id > (SELECT COALESCE(MAX(id), 0) FROM cron_runs WHERE job_id = ?1 AND status IN ('ok', 'skipped'))`,
			id).Scan(&st.ConsecutiveErrors); err != nil {
			return nil, err
		}
		out[id] = st
	}
	return out, nil
}

package jsstore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"openclaw/actors/store"
)

// Cron lives in the <c>_cron bucket: "job.<id>" holds a job's definition,
// "run.<job>.<slot>" one run. A slot is claimed by creating its run entry
// (create-if-absent), so across the cluster each slot runs once, on the
// gateway that claimed it.

// cronJob is a job entry.
type cronJob struct {
	Job       json.RawMessage `json:"job"`
	CreatedAt int64           `json:"created"`
	UpdatedAt int64           `json:"updated"`
}

// cronRun is a run entry: the run, and which gateway claimed it.
type cronRun struct {
	store.CronRun
	Node string `json:"node,omitempty"`
}

func jobKey(id string) string { return "job." + escape(id) }

func runKey(job string, slot int64) string {
	return "run." + escape(job) + "." + strconv.FormatInt(slot, 10)
}

// PutCronJob stores a job's definition (a new one or a change).
func (s *Store) PutCronJob(ctx context.Context, id string, def []byte) error {
	if id == "" || len(def) == 0 {
		return fmt.Errorf("%w: empty cron job", store.ErrInvalid)
	}
	for range maxCAS {
		now := nowMs()
		j := cronJob{Job: def, CreatedAt: now, UpdatedAt: now}
		e, err := s.cron.Get(ctx, jobKey(id))
		var rev uint64
		switch {
		case notFound(err):
		case err != nil:
			return err
		default:
			var old cronJob
			if json.Unmarshal(e.Value(), &old) == nil {
				j.CreatedAt = old.CreatedAt
			}
			rev = e.Revision()
		}
		b, err := json.Marshal(j)
		if err != nil {
			return err
		}
		if rev == 0 {
			_, err = s.cron.Create(ctx, jobKey(id), b)
		} else {
			_, err = s.cron.Update(ctx, jobKey(id), b, rev)
		}
		if !isConflict(err) {
			return err
		}
	}
	return fmt.Errorf("jsstore: cron job %q: too many concurrent changes", id)
}

// DeleteCronJob deletes a job and its runs; deleted is false when there was
// no such job.
func (s *Store) DeleteCronJob(ctx context.Context, id string) (bool, error) {
	if _, err := s.cron.Get(ctx, jobKey(id)); notFound(err) {
		return false, s.purgeCron(ctx, "run."+escape(id)+".>")
	} else if err != nil {
		return false, err
	}
	if err := s.cron.Delete(ctx, jobKey(id)); err != nil {
		return false, err
	}
	return true, s.purgeCron(ctx, "run."+escape(id)+".>")
}

func (s *Store) purgeCron(ctx context.Context, filter string) error {
	st, err := s.js.Stream(ctx, "KV_"+s.cron.Bucket())
	if err != nil {
		return err
	}
	return st.Purge(ctx, jetstream.WithPurgeSubject("$KV."+s.cron.Bucket()+"."+filter))
}

// CronJobs lists every stored job, oldest first.
func (s *Store) CronJobs(ctx context.Context) ([]store.CronJobRow, error) {
	var out []store.CronJobRow
	err := eachEntry(ctx, s.cron, "job.*", func(e jetstream.KeyValueEntry) error {
		id, err := unescape(strings.TrimPrefix(e.Key(), "job."))
		if err != nil {
			return err
		}
		var j cronJob
		if err := json.Unmarshal(e.Value(), &j); err != nil {
			return fmt.Errorf("jsstore: cron job %q: %w", id, err)
		}
		out = append(out, store.CronJobRow{ID: id, Job: j.Job, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt})
		return nil
	})
	slices.SortFunc(out, func(a, b store.CronJobRow) int {
		return cmp.Or(cmp.Compare(a.CreatedAt, b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	return out, err
}

// ClaimCronSlot records a run of a job's slot before it starts; claimed is
// false when that slot already has a run, on any gateway.
func (s *Store) ClaimCronSlot(ctx context.Context, r store.CronRun) (bool, error) {
	if r.JobID == "" || r.RunID == "" {
		return false, fmt.Errorf("%w: cron run without a job or run id", store.ErrInvalid)
	}
	if r.Status == "" {
		r.Status = "running"
	}
	r.StartedAt, r.EndedAt = nowMs(), 0
	b, err := json.Marshal(cronRun{CronRun: r, Node: s.cfg.Node})
	if err != nil {
		return false, err
	}
	_, err = s.cron.Create(ctx, runKey(r.JobID, r.SlotMs), b)
	if isConflict(err) {
		return false, nil
	}
	return err == nil, err
}

// changeRun rewrites one run entry with a revision-checked update.
func (s *Store) changeRun(ctx context.Context, key string, change func(r *cronRun) bool) error {
	for range maxCAS {
		e, err := s.cron.Get(ctx, key)
		if notFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		var r cronRun
		if err := json.Unmarshal(e.Value(), &r); err != nil {
			return fmt.Errorf("jsstore: cron run %s: %w", key, err)
		}
		if !change(&r) {
			return nil
		}
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if _, err := s.cron.Update(ctx, key, b, e.Revision()); !isConflict(err) {
			return err
		}
	}
	return fmt.Errorf("jsstore: cron run %s: too many concurrent changes", key)
}

// FinishCronRun records how a claimed run ended.
func (s *Store) FinishCronRun(ctx context.Context, fin store.CronRun) error {
	return s.changeRun(ctx, runKey(fin.JobID, fin.SlotMs), func(r *cronRun) bool {
		r.Status, r.EndedAt, r.Error, r.Summary = fin.Status, nowMs(), fin.Error, fin.Summary
		r.Provider, r.Model, r.Usage = fin.Provider, fin.Model, fin.Usage
		r.DeliveryStatus, r.DeliveryError = fin.DeliveryStatus, fin.DeliveryError
		if fin.SessionKey != "" {
			r.SessionKey = fin.SessionKey
		}
		return true
	})
}

// CloseInterruptedCronRuns marks the runs this gateway (Config.Node)
// claimed that are still running as errors with reason: the gateway
// stopped during them. Other gateways' running runs are theirs.
func (s *Store) CloseInterruptedCronRuns(ctx context.Context, reason string) (int, error) {
	var keys []string
	err := eachEntry(ctx, s.cron, "run.>", func(e jetstream.KeyValueEntry) error {
		var r cronRun
		if json.Unmarshal(e.Value(), &r) == nil && r.Status == "running" && r.Node == s.cfg.Node {
			keys = append(keys, e.Key())
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range keys {
		err := s.changeRun(ctx, k, func(r *cronRun) bool {
			if r.Status != "running" {
				return false
			}
			r.Status, r.EndedAt, r.Error = "error", nowMs(), reason
			n++
			return true
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// allRuns reads every run, in the order they started.
func (s *Store) allRuns(ctx context.Context) ([]store.CronRun, error) {
	var out []store.CronRun
	err := eachEntry(ctx, s.cron, "run.>", func(e jetstream.KeyValueEntry) error {
		var r cronRun
		if err := json.Unmarshal(e.Value(), &r); err != nil {
			return fmt.Errorf("jsstore: cron run %s: %w", e.Key(), err)
		}
		out = append(out, r.CronRun)
		return nil
	})
	slices.SortFunc(out, func(a, b store.CronRun) int {
		return cmp.Or(cmp.Compare(a.StartedAt, b.StartedAt), cmp.Compare(a.SlotMs, b.SlotMs), strings.Compare(a.JobID, b.JobID))
	})
	return out, err
}

// CronRuns lists the runs q selects and how many there are in all.
func (s *Store) CronRuns(ctx context.Context, q store.CronRunQuery) ([]store.CronRun, int, error) {
	all, err := s.allRuns(ctx)
	if err != nil {
		return nil, 0, err
	}
	query := strings.ToLower(q.Query)
	var sel []store.CronRun
	for _, r := range all {
		switch {
		case len(q.JobIDs) > 0 && !slices.Contains(q.JobIDs, r.JobID),
			q.RunID != "" && r.RunID != q.RunID,
			len(q.Statuses) > 0 && !slices.Contains(q.Statuses, r.Status),
			query != "" && !strings.Contains(strings.ToLower(r.Summary), query) && !strings.Contains(strings.ToLower(r.Error), query):
			continue
		}
		sel = append(sel, r)
	}
	if !q.Ascending {
		slices.Reverse(sel)
	}
	total := len(sel)
	sel = sel[min(max(q.Offset, 0), total):]
	if q.Limit > 0 && len(sel) > q.Limit {
		sel = sel[:q.Limit]
	}
	return sel, total, nil
}

// CronRunStates is the run state of every job with runs.
func (s *Store) CronRunStates(ctx context.Context) (map[string]store.CronJobRunState, error) {
	all, err := s.allRuns(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]store.CronJobRunState{}
	for _, r := range all { // oldest first: the last one seen is the last run
		st := out[r.JobID]
		st.Last = r
		if r.Trigger == "schedule" {
			st.LastSlotMs = max(st.LastSlotMs, r.SlotMs)
		}
		switch r.Status {
		case "error":
			st.ConsecutiveErrors++
		case "ok", "skipped":
			st.ConsecutiveErrors = 0
		}
		out[r.JobID] = st
	}
	for id, st := range out {
		if st.Last.Status != "error" { // errors count only as the latest streak
			st.ConsecutiveErrors = 0
			out[id] = st
		}
	}
	return out, nil
}

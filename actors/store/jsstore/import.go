package jsstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"openclaw/actors/store"
)

// ImportReport says what Import did.
type ImportReport struct {
	Sessions, Messages int // sessions imported, with their messages
	SessionsPresent    int // sessions the cluster already had, same id: an earlier import
	Keys, KeysPresent  int // kv entries imported / already there with the same value
	// Cron jobs and runs imported, and those already there the same.
	CronJobs, CronRuns, CronPresent int
	// Unacknowledged queue items imported / already there.
	QueueItems, QueuePresent int
	// Conflicts are items the cluster holds differently; the cluster's
	// stay, the file's are not imported.
	Conflicts []string
}

// Complete reports that everything in the file is in the cluster now.
func (r *ImportReport) Complete() bool { return len(r.Conflicts) == 0 }

// Import copies a standalone gateway's state into the cluster: every
// session with its transcript (ids, seqs, timestamps and usage kept),
// every kv entry, every cron job and run, every unacknowledged queue item
// (in order; acknowledged ones, kept only to recognise a redelivery, are
// not: the channels' offsets in the kv state already prevent that). It is idempotent: an item the cluster already holds the
// same is counted as present, one it holds differently is a conflict and
// left alone, so a second run imports nothing and overwrites nothing. A
// session's messages are written before its entry, which is created only
// if absent: an import stopped half way is finished by the next one.
func (s *Store) Import(ctx context.Context, src *store.SQLite) (ImportReport, error) {
	var r ImportReport
	sessions, _, err := src.ListSessions(ctx, store.SessionQuery{})
	if err != nil {
		return r, fmt.Errorf("read sessions: %w", err)
	}
	for _, si := range sessions {
		if err := s.importSession(ctx, src, si, &r); err != nil {
			return r, fmt.Errorf("session %q: %w", si.Key, err)
		}
	}
	nss, err := src.Namespaces(ctx)
	if err != nil {
		return r, fmt.Errorf("read kv: %w", err)
	}
	for _, ns := range nss {
		kvs, err := src.Scan(ctx, ns)
		if err != nil {
			return r, fmt.Errorf("read kv %s: %w", ns, err)
		}
		for k, v := range kvs {
			if err := s.importKey(ctx, ns, k, v, &r); err != nil {
				return r, fmt.Errorf("kv %s/%s: %w", ns, k, err)
			}
		}
	}
	if err := s.importCron(ctx, src, &r); err != nil {
		return r, fmt.Errorf("cron: %w", err)
	}
	return r, s.importQueues(ctx, src, &r)
}

// createOrCompare creates key in the cron bucket with v, or compares it
// with what is there: created, present (the same) or a conflict.
func (s *Store) createOrCompare(ctx context.Context, key string, v []byte, same func(have []byte) bool) (created, present bool, err error) {
	_, err = s.cron.Create(ctx, key, v)
	if err == nil {
		return true, false, nil
	}
	if !isConflict(err) {
		return false, false, err
	}
	e, err := s.cron.Get(ctx, key)
	if err != nil {
		return false, false, err
	}
	return false, same(e.Value()), nil
}

func (s *Store) importCron(ctx context.Context, src *store.SQLite, r *ImportReport) error {
	jobs, err := src.CronJobs(ctx)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		b, err := json.Marshal(cronJob{Job: j.Job, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt})
		if err != nil {
			return err
		}
		created, present, err := s.createOrCompare(ctx, jobKey(j.ID), b, func(have []byte) bool {
			var h cronJob
			return json.Unmarshal(have, &h) == nil && bytes.Equal(h.Job, j.Job)
		})
		switch {
		case err != nil:
			return err
		case created:
			r.CronJobs++
		case present:
			r.CronPresent++
		default:
			r.Conflicts = append(r.Conflicts, fmt.Sprintf("cron job %s: the cluster holds another definition", j.ID))
		}
	}
	runs, _, err := src.CronRuns(ctx, store.CronRunQuery{Ascending: true})
	if err != nil {
		return err
	}
	for _, run := range runs {
		b, err := json.Marshal(cronRun{CronRun: run})
		if err != nil {
			return err
		}
		created, present, err := s.createOrCompare(ctx, runKey(run.JobID, run.SlotMs), b, func(have []byte) bool {
			var h cronRun
			return json.Unmarshal(have, &h) == nil && h.RunID == run.RunID
		})
		switch {
		case err != nil:
			return err
		case created:
			r.CronRuns++
		case present:
			r.CronPresent++
		default:
			r.Conflicts = append(r.Conflicts, fmt.Sprintf("cron run %s of job %s: the cluster has another run of that slot", run.RunID, run.JobID))
		}
	}
	return nil
}

func (s *Store) importSession(ctx context.Context, src *store.SQLite, si store.SessionInfo, r *ImportReport) error {
	have, _, err := s.getSession(ctx, si.Key)
	if err != nil {
		return err
	}
	if have != nil {
		if have.ID == si.SessionID {
			r.SessionsPresent++
		} else {
			r.Conflicts = append(r.Conflicts, fmt.Sprintf("session %s: the cluster has another session (id %s, the file's %s)",
				si.Key, have.ID, si.SessionID))
		}
		return nil
	}
	msgs, _, err := src.History(ctx, si.Key, 0)
	if err != nil {
		return err
	}
	e := &session{ID: si.SessionID, CreatedAt: si.CreatedAt, UpdatedAt: si.UpdatedAt, Label: si.Label,
		ModelOverride: si.ModelOverride, ThinkingLevel: si.ThinkingLevel, InputTokens: si.InputTokens,
		OutputTokens: si.OutputTokens, LastTotalTokens: si.LastTotalTokens, Compactions: si.Compactions,
		LastRunID: si.LastRunID, LastRole: si.LastRole}
	for i, m := range msgs {
		if i > 0 && m.Seq != msgs[i-1].Seq+1 {
			return fmt.Errorf("the file's transcript skips from seq %d to %d", msgs[i-1].Seq, m.Seq)
		}
		b, err := json.Marshal(fromMessage(m))
		if err != nil {
			return err
		}
		if _, err := s.messages.Put(ctx, msgKey(si.Key, si.SessionID, m.Seq), b); err != nil {
			return err
		}
	}
	if len(msgs) > 0 {
		e.FirstSeq, e.LastSeq = msgs[0].Seq, msgs[len(msgs)-1].Seq
	}
	if _, err := s.putSession(ctx, si.Key, e, 0); err != nil {
		if isConflict(err) { // created meanwhile: count it next run
			r.Conflicts = append(r.Conflicts, fmt.Sprintf("session %s: created in the cluster during the import", si.Key))
			return nil
		}
		return err
	}
	r.Sessions++
	r.Messages += len(msgs)
	return nil
}

func (s *Store) importKey(ctx context.Context, ns, key string, v []byte, r *ImportReport) error {
	have, ok, err := s.Get(ctx, ns, key)
	if err != nil {
		return err
	}
	if ok {
		if bytes.Equal(have, v) {
			r.KeysPresent++
		} else {
			r.Conflicts = append(r.Conflicts, fmt.Sprintf("kv %s/%s: the cluster holds another value", ns, key))
		}
		return nil
	}
	if _, err := s.kv.Create(ctx, kvKey(ns, key), v); err != nil {
		if isConflict(err) {
			r.Conflicts = append(r.Conflicts, fmt.Sprintf("kv %s/%s: created in the cluster during the import", ns, key))
			return nil
		}
		return err
	}
	r.Keys++
	return nil
}

// importQueues copies every unacknowledged queue item, oldest first.
func (s *Store) importQueues(ctx context.Context, src *store.SQLite, r *ImportReport) error {
	queues, err := src.PendingQueues(ctx)
	if err != nil {
		return err
	}
	for _, q := range queues {
		items, err := src.Pending(ctx, q, 0)
		if err != nil {
			return err
		}
		for _, it := range items {
			ok, err := s.Enqueue(ctx, q, it.Partition, it.ID, it.Payload)
			if err != nil {
				return fmt.Errorf("queue %s item %s: %w", q, it.ID, err)
			}
			if ok {
				r.QueueItems++
			} else {
				r.QueuePresent++
			}
		}
	}
	return nil
}

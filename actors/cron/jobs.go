package cron

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"

	"openclaw/actors/core"
	"openclaw/actors/methods"
	"openclaw/actors/store"
	"openclaw/config"
	"openclaw/transport/protocol"
)

// Defaults of the job methods.
const (
	defaultListLimit = 200
	defaultRunsLimit = 50
)

// definition is a job as it is stored: what cron.add and cron.update set.
type definition struct {
	ID             string                 `json:"id"`
	Name           string                 `json:"name"`
	DisplayName    string                 `json:"displayName,omitempty"`
	Description    string                 `json:"description,omitempty"`
	AgentID        string                 `json:"agentId,omitempty"`
	SessionKey     string                 `json:"sessionKey,omitempty"`
	Enabled        bool                   `json:"enabled"`
	DeleteAfterRun bool                   `json:"deleteAfterRun,omitempty"`
	CreatedAtMs    int64                  `json:"createdAtMs"`
	UpdatedAtMs    int64                  `json:"updatedAtMs"`
	Schedule       protocol.CronSchedule  `json:"schedule"`
	SessionTarget  string                 `json:"sessionTarget"`
	WakeMode       string                 `json:"wakeMode"`
	Payload        protocol.CronPayload   `json:"payload"`
	Delivery       *protocol.CronDelivery `json:"delivery,omitempty"`
}

// revision is the job definition's token (cron.update's
// expectedConfigRevision): a hash of what the operator set.
func (d definition) revision() string {
	d.UpdatedAtMs = 0
	b, _ := json.Marshal(d)
	sum := sha256.Sum256(b)
	return "sha256:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// check validates a definition against the config: a schedule that
// compiles, a payload this gateway runs, a session target it knows.
func check(d *definition, cfg *config.Config) error {
	switch d.Payload.Kind {
	case "agentTurn":
		if strings.TrimSpace(d.Payload.Message) == "" {
			return errors.New("payload.message is required for an agentTurn")
		}
	case "systemEvent":
		if strings.TrimSpace(d.Payload.Text) == "" {
			return errors.New("payload.text is required for a systemEvent")
		}
	default:
		return errors.New("payload kind " + d.Payload.Kind + " is not supported here (agentTurn, systemEvent are)")
	}
	t := d.SessionTarget
	if t != "main" && t != "isolated" && t != "current" && !(strings.HasPrefix(t, "session:") && len(t) > len("session:")) {
		return errors.New("sessionTarget must be main, isolated, current or session:<key>")
	}
	if d.AgentID != "" && !config.KnownAgent(cfg, d.AgentID) {
		return errors.New("unknown agent: " + d.AgentID)
	}
	if del := d.Delivery; del != nil && del.Mode == "announce" && del.Channel != "" && del.Channel != "last" && del.To == "" {
		return errors.New("delivery.to is required to announce on " + del.Channel)
	}
	return nil
}

// view is a job as the methods report it.
func (a *cronActor) view(j *job) protocol.CronJob {
	d := j.def
	v := protocol.CronJob{ID: d.ID, DisplayName: d.DisplayName, AgentID: d.AgentID, SessionKey: d.SessionKey, Name: d.Name,
		Description: d.Description, Enabled: d.Enabled, DeleteAfterRun: d.DeleteAfterRun, CreatedAtMs: d.CreatedAtMs,
		UpdatedAtMs: d.UpdatedAtMs, ConfigRevision: d.revision(), Schedule: d.Schedule, SessionTarget: d.SessionTarget,
		WakeMode: d.WakeMode, Payload: d.Payload, Delivery: d.Delivery, EffectiveAgentID: a.agentOf(j)}
	if j.agent != "" {
		v.DeclarationKey = j.def.ID
	}
	if !j.next.IsZero() {
		n := j.next.UnixMilli()
		v.State.NextRunAtMs, v.NextRunAtMs = &n, &n
	}
	if j.running != nil {
		at := j.running.started.UnixMilli()
		v.State.RunningAtMs = &at
	}
	if l := j.last; l.Status != "" && l.Status != "running" {
		at := l.StartedAt
		v.State.LastRunAtMs, v.LastRunAtMs = &at, &at
		v.State.LastRunStatus, v.State.LastStatus, v.LastRunStatus = l.Status, l.Status, l.Status
		v.State.LastError, v.LastRunError = l.Error, l.Error
		if l.EndedAt > 0 {
			dur := l.EndedAt - l.StartedAt
			v.State.LastDurationMs = &dur
		}
		errs := j.errors
		v.State.ConsecutiveErrors = &errs
		v.State.LastDeliveryStatus, v.State.LastDeliveryError = l.DeliveryStatus, l.DeliveryError
	}
	return v
}

// find resolves a job reference (id, or the older jobId).
func (a *cronActor) find(id, jobID string) (*job, *protocol.ErrorShape) {
	if id == "" {
		id = jobID
	}
	if id == "" {
		return nil, protocol.NewError(protocol.CodeInvalidRequest, "missing job id: give id", nil)
	}
	j := a.jobs[id]
	if j == nil {
		return nil, protocol.NewError(protocol.CodeInvalidRequest, "Automation not found: "+id+
			". List automations and retry with a current job id.", map[string]any{"code": "CRON_JOB_NOT_FOUND", "jobId": id})
	}
	return j, nil
}

func (a *cronActor) list(p protocol.CronListParams) protocol.CronList {
	limit := p.Limit
	if limit <= 0 {
		limit = defaultListLimit
	}
	var sel []*job
	for _, j := range a.jobs {
		enabled := p.Enabled
		if enabled == "" && p.IncludeDisabled != nil && !*p.IncludeDisabled {
			enabled = "enabled"
		}
		switch {
		case enabled == "enabled" && !j.def.Enabled, enabled == "disabled" && j.def.Enabled:
			continue
		case p.ScheduleKind != "" && p.ScheduleKind != "all" && p.ScheduleKind != j.def.Schedule.Kind:
			continue
		case p.AgentID != "" && a.agentOf(j) != p.AgentID:
			continue
		case p.SessionKey != "" && a.sessionKey(j) != p.SessionKey:
			continue
		case p.Query != "" && !strings.Contains(strings.ToLower(j.def.Name+" "+j.def.DisplayName+" "+j.def.Description),
			strings.ToLower(p.Query)):
			continue
		case p.LastRunStatus != "" && p.LastRunStatus != "all" && lastStatus(j) != p.LastRunStatus:
			continue
		}
		sel = append(sel, j)
	}
	sortJobs(sel, p.SortBy, p.SortDir == "desc")
	res := protocol.CronList{Jobs: []protocol.CronJob{}, Total: len(sel), Offset: p.Offset, Limit: limit,
		SnapshotRevision: a.snapshotRevision()}
	for i := p.Offset; i < len(sel) && i < p.Offset+limit; i++ {
		res.Jobs = append(res.Jobs, a.view(sel[i]))
	}
	if next := p.Offset + limit; next < len(sel) {
		res.HasMore, res.NextOffset = true, &next
	}
	return res
}

// snapshotRevision is a token of the set of job definitions.
func (a *cronActor) snapshotRevision() string {
	ids := make([]string, 0, len(a.jobs))
	for id := range a.jobs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	h := sha256.New()
	for _, id := range ids {
		h.Write([]byte(id + "\x00" + a.jobs[id].def.revision() + "\x00"))
	}
	return "sha256:" + base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

func lastStatus(j *job) string {
	if j.last.Status == "" {
		return "unknown"
	}
	return j.last.Status
}

// sortJobs orders jobs by next run (the default), last change or name.
func sortJobs(jobs []*job, by string, desc bool) {
	less := func(x, y *job) bool {
		switch by {
		case "updatedAtMs":
			return x.def.UpdatedAtMs < y.def.UpdatedAtMs
		case "name":
			return x.def.Name < y.def.Name
		}
		if x.next.IsZero() != y.next.IsZero() {
			return !x.next.IsZero()
		}
		if !x.next.Equal(y.next) {
			return x.next.Before(y.next)
		}
		return x.def.CreatedAtMs < y.def.CreatedAtMs
	}
	sort.SliceStable(jobs, func(i, k int) bool {
		if desc {
			return less(jobs[k], jobs[i])
		}
		return less(jobs[i], jobs[k])
	})
}

func (a *cronActor) status() protocol.CronStatus {
	res := protocol.CronStatus{Enabled: a.d.Config.Get().Cron.IsEnabled(), StorePath: a.d.Store.Path(), Storage: "sqlite",
		SqlitePath: a.d.Store.Path(), Jobs: len(a.jobs)}
	for _, j := range a.jobs {
		if !j.next.IsZero() && (res.NextWakeAtMs == nil || j.next.UnixMilli() < *res.NextWakeAtMs) {
			n := j.next.UnixMilli()
			res.NextWakeAtMs = &n
		}
	}
	return res
}

// nullable reads a "string or null" param: set false when absent.
func nullable(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 {
		return "", false
	}
	var v string
	_ = json.Unmarshal(raw, &v)
	return v, true
}

func (a *cronActor) add(ctx actor.Context, m *methods.CronAdd) {
	p, now := m.Params, time.Now()
	d := definition{ID: uuid.NewString(), Name: p.Name, DisplayName: p.DisplayName, Description: p.Description, Enabled: true,
		CreatedAtMs: now.UnixMilli(), UpdatedAtMs: now.UnixMilli(), Schedule: p.Schedule, SessionTarget: p.SessionTarget,
		WakeMode: p.WakeMode, Payload: p.Payload, Delivery: p.Delivery}
	if p.Enabled != nil {
		d.Enabled = *p.Enabled
	}
	d.DeleteAfterRun = d.Schedule.Kind == "at" // a one-shot goes once it succeeded, unless kept
	if p.DeleteAfterRun != nil {
		d.DeleteAfterRun = *p.DeleteAfterRun
	}
	d.AgentID, _ = nullable(p.AgentID)
	d.SessionKey, _ = nullable(p.SessionKey)
	if err := normalizeAt(&d.Schedule, now); err != nil {
		m.Fail(invalid("cron.add", err))
		return
	}
	if d.Schedule.Kind == "every" && d.Schedule.AnchorMs == nil {
		anchor := d.CreatedAtMs // the anchor it runs from, said
		d.Schedule.AnchorMs = &anchor
	}
	sched, err := compile(d.Schedule, now)
	if err == nil {
		err = check(&d, a.d.Config.Get())
	}
	if err != nil {
		m.Fail(invalid("cron.add", err))
		return
	}
	j := &job{def: d, sched: sched}
	a.persist(ctx, j, func(err error) {
		if err != nil {
			m.Fail(protocol.NewError(protocol.CodeUnavailable, "cannot save the job: "+err.Error(), nil))
			return
		}
		a.jobs[d.ID] = j
		a.reschedule(ctx)
		v := a.view(j)
		a.publish(ctx, protocol.CronEvent{JobID: d.ID, Action: "added", TS: now.UnixMilli(), Job: &v, NextRunAtMs: v.NextRunAtMs})
		a.d.Log.Info("cron: job added", "job", d.ID, "name", d.Name, "schedule", d.Schedule.String())
		m.Reply(protocol.CronAdded{CronJob: v, DeliveryPreview: preview(d.Delivery)})
	})
}

// persist saves j's definition off the actor, then calls then back on the
// actor with the result.
func (a *cronActor) persist(ctx actor.Context, j *job, then func(error)) {
	b, _ := json.Marshal(j.def)
	st, id := a.d.Store, j.def.ID
	self, root := ctx.Self(), ctx.ActorSystem().Root
	go func() {
		c, cancel := withTimeout()
		defer cancel()
		err := st.PutCronJob(c, id, b)
		root.Send(self, &persisted{then: then, err: err})
	}()
}

// persisted carries a save's outcome back to the actor.
type persisted struct {
	then func(error)
	err  error
}

// preview says where a job's output goes.
func preview(d *protocol.CronDelivery) *protocol.CronDeliveryPreview {
	switch {
	case d == nil || d.Mode == "none":
		return &protocol.CronDeliveryPreview{Label: "none", Detail: "the output stays in the session"}
	case d.Channel == "" || d.Channel == "last":
		return &protocol.CronDeliveryPreview{Label: "announce -> last",
			Detail: "last -> no route: this gateway does not track the last chat; set delivery.channel and delivery.to"}
	}
	return &protocol.CronDeliveryPreview{Label: "announce -> " + d.Channel, Detail: d.Channel + " -> " + d.To}
}

func invalid(method string, err error) *protocol.ErrorShape {
	return protocol.NewError(protocol.CodeInvalidRequest, "invalid "+method+" params: "+err.Error(), nil)
}

func (a *cronActor) update(ctx actor.Context, m *methods.CronUpdate) {
	p := m.Params
	j, errShape := a.find(p.ID, p.JobID)
	if errShape != nil {
		m.Fail(errShape)
		return
	}
	if j.agent != "" {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "the heartbeat of "+j.agent+" is set by the config (agents.defaults.heartbeat)", nil))
		return
	}
	if p.ExpectedConfigRevision != "" && p.ExpectedConfigRevision != j.def.revision() {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "the job changed since it was read; read it again",
			map[string]any{"code": "CRON_JOB_CHANGED", "configRevision": j.def.revision()}))
		return
	}
	d, now := j.def, time.Now()
	pt := p.Patch
	if pt.Name != "" {
		d.Name = pt.Name
	}
	if v, set := nullable(pt.DisplayName); set {
		d.DisplayName = v
	}
	if pt.Description != nil {
		d.Description = *pt.Description
	}
	if pt.Enabled != nil {
		d.Enabled = *pt.Enabled
	}
	if pt.DeleteAfterRun != nil {
		d.DeleteAfterRun = *pt.DeleteAfterRun
	}
	if v, set := nullable(pt.AgentID); set {
		d.AgentID = v
	}
	if v, set := nullable(pt.SessionKey); set {
		d.SessionKey = v
	}
	if pt.Schedule != nil {
		d.Schedule = *pt.Schedule
	}
	if pt.SessionTarget != "" {
		d.SessionTarget = pt.SessionTarget
	}
	if pt.WakeMode != "" {
		d.WakeMode = pt.WakeMode
	}
	if pp := pt.Payload; pp != nil {
		if pp.Kind != d.Payload.Kind {
			d.Payload = protocol.CronPayload{Kind: pp.Kind}
		}
		if pp.Message != "" {
			d.Payload.Message = pp.Message
		}
		if pp.Text != "" {
			d.Payload.Text = pp.Text
		}
		if v, set := nullable(pp.Model); set {
			d.Payload.Model = v
		}
		if v, set := nullable(pp.Thinking); set {
			d.Payload.Thinking = v
		}
		if len(pp.TimeoutSeconds) > 0 {
			var t float64
			_ = json.Unmarshal(pp.TimeoutSeconds, &t)
			d.Payload.TimeoutSeconds = t
		}
	}
	if dp := pt.Delivery; dp != nil {
		del := protocol.CronDelivery{Mode: "announce"}
		if d.Delivery != nil {
			del = *d.Delivery
		}
		if dp.Mode != "" {
			del.Mode = dp.Mode
		}
		if v, set := nullable(dp.Channel); set {
			del.Channel = v
		}
		if v, set := nullable(dp.To); set {
			del.To = v
		}
		if v, set := nullable(dp.AccountID); set {
			del.AccountID = v
		}
		if len(dp.ThreadID) > 0 {
			del.ThreadID = dp.ThreadID
			if string(dp.ThreadID) == "null" {
				del.ThreadID = nil
			}
		}
		d.Delivery = &del
	}
	d.UpdatedAtMs = now.UnixMilli()
	if err := normalizeAt(&d.Schedule, now); err != nil {
		m.Fail(invalid("cron.update", err))
		return
	}
	sched, err := compile(d.Schedule, time.UnixMilli(d.CreatedAtMs))
	if err == nil {
		err = check(&d, a.d.Config.Get())
	}
	if err != nil {
		m.Fail(invalid("cron.update", err))
		return
	}
	next := &job{def: d, sched: sched}
	a.persist(ctx, next, func(err error) {
		if err != nil {
			m.Fail(protocol.NewError(protocol.CodeUnavailable, "cannot save the job: "+err.Error(), nil))
			return
		}
		cur := a.jobs[d.ID]
		if cur == nil {
			m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "the job was removed meanwhile", nil))
			return
		}
		if pt.Schedule != nil {
			cur.lastSlot = now // a new schedule starts from now: no catching up
		}
		cur.def, cur.sched = d, sched
		a.reschedule(ctx)
		v := a.view(cur)
		a.publish(ctx, protocol.CronEvent{JobID: d.ID, Action: "updated", TS: now.UnixMilli(), Job: &v, NextRunAtMs: v.NextRunAtMs})
		m.Reply(v)
	})
}

func (a *cronActor) remove(ctx actor.Context, m *methods.CronRemove) {
	j, errShape := a.find(m.Params.ID, m.Params.JobID)
	if errShape != nil {
		m.Fail(errShape)
		return
	}
	if j.agent != "" {
		m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "the heartbeat of "+j.agent+" is set by the config (agents.defaults.heartbeat)", nil))
		return
	}
	a.drop(ctx, j.def.ID)
	a.reschedule(ctx)
	a.d.Log.Info("cron: job removed", "job", j.def.ID)
	m.Reply(protocol.CronRemoved{OK: true, Removed: true})
}

// run is cron.run: force runs now, due only a due job, if-enabled only an
// enabled one.
func (a *cronActor) run(ctx actor.Context, m *methods.CronRun) {
	p := m.Params
	j, errShape := a.find(p.ID, p.JobID)
	if errShape != nil {
		m.Fail(errShape)
		return
	}
	if p.ExpectedProcessInstanceID != "" && p.ExpectedProcessInstanceID != a.d.InstanceID {
		m.Fail(invalid("cron.run", errors.New("Gateway process changed after preflight")))
		return
	}
	no := func(reason string) {
		ran := false
		m.Reply(protocol.CronRunStarted{OK: true, Ran: &ran, Reason: reason, ProcessInstanceID: a.d.InstanceID})
	}
	now := time.Now()
	switch {
	case j.running != nil:
		no("already-running")
		return
	case p.Mode == "if-enabled" && !j.def.Enabled:
		no("disabled")
		return
	case p.Mode == "due" && (j.next.IsZero() || j.next.After(now)):
		no("not-due")
		return
	}
	trigger, slot := "manual", now
	if p.Mode == "due" {
		trigger, slot = "schedule", j.next
		j.lastSlot = slot
	}
	var runID string
	if j.agent != "" {
		runID = a.heartbeatNow(ctx, j.agent, trigger)
	} else {
		runID = a.start(ctx, j, slot, trigger)
	}
	m.Reply(protocol.CronRunStarted{OK: true, Enqueued: true, RunID: runID, ProcessInstanceID: a.d.InstanceID})
}

func (a *cronActor) runs(m *methods.CronRuns) {
	p := m.Params
	q := store.CronRunQuery{RunID: p.RunID, Query: p.Query, Ascending: p.SortDir == "asc", Limit: p.Limit, Offset: p.Offset}
	if q.Limit <= 0 {
		q.Limit = defaultRunsLimit
	}
	id := p.ID
	if id == "" {
		id = p.JobID
	}
	if id != "" && p.Scope != "all" {
		q.JobIDs = []string{id}
	} else if p.AgentID != "" {
		for jid, j := range a.jobs {
			if a.agentOf(j) == p.AgentID {
				q.JobIDs = append(q.JobIDs, jid)
			}
		}
		if len(q.JobIDs) == 0 {
			q.JobIDs = []string{"\x00none"}
		}
	}
	if p.Status != "" && p.Status != "all" {
		q.Statuses = []string{p.Status}
	}
	q.Statuses = append(q.Statuses, p.Statuses...)
	names := map[string]string{}
	for jid, j := range a.jobs {
		names[jid] = j.def.Name
	}
	st := a.d.Store
	go func() {
		c, cancel := withTimeout()
		defer cancel()
		rows, total, err := st.CronRuns(c, q)
		if err != nil {
			m.Fail(protocol.NewError(protocol.CodeUnavailable, "run log unreadable: "+err.Error(), nil))
			return
		}
		res := protocol.CronRuns{Entries: []protocol.CronRunEntry{}, Total: total, Offset: q.Offset, Limit: q.Limit}
		for _, r := range rows {
			res.Entries = append(res.Entries, runEntry(r, names[r.JobID]))
		}
		if next := q.Offset + len(rows); next < total {
			res.HasMore, res.NextOffset = true, &next
		}
		m.Reply(res)
	}()
}

// runEntry is a run as cron.runs lists it.
func runEntry(r store.CronRun, name string) protocol.CronRunEntry {
	e := protocol.CronRunEntry{TS: r.StartedAt, JobID: r.JobID, JobName: name, Action: "finished", Status: r.Status, Error: r.Error,
		Summary: r.Summary, DeliveryStatus: r.DeliveryStatus, DeliveryError: r.DeliveryError, SessionKey: r.SessionKey,
		RunID: r.RunID, RunAtMs: r.StartedAt, Model: r.Model, Provider: r.Provider, Trigger: r.Trigger}
	if r.Status == "running" {
		e.Action, e.Status = "running", ""
	}
	if r.EndedAt > 0 {
		e.TS = r.EndedAt
		d := r.EndedAt - r.StartedAt
		e.DurationMs = &d
	}
	if r.DeliveryStatus != "" {
		delivered := r.DeliveryStatus == "delivered"
		e.Delivered = &delivered
	}
	var u struct{ Input, Output, Total int64 }
	if len(r.Usage) > 0 && json.Unmarshal(r.Usage, &u) == nil {
		e.Usage = &protocol.CronUsage{InputTokens: u.Input, OutputTokens: u.Output, TotalTokens: u.Total}
	}
	return e
}

// report is the scheduler's part of status.
func (a *cronActor) report(m *core.ReportCron) {
	cfg := a.d.Config.Get()
	rep := core.CronReport{Heartbeats: []protocol.AgentHeartbeat{}, QueuedEvents: []string{}}
	for _, agent := range config.AgentIDs(cfg) {
		h, period := config.HeartbeatFor(cfg, agent)
		hb := protocol.AgentHeartbeat{AgentID: agent, Every: "disabled"}
		if period > 0 && a.hbEnabled && cfg.Cron.IsEnabled() {
			ms := period.Milliseconds()
			hb.Enabled, hb.Every, hb.EveryMs = true, h.Every, &ms
		}
		rep.Heartbeats = append(rep.Heartbeats, hb)
		rep.QueuedEvents = append(rep.QueuedEvents, a.events[agent]...)
	}
	st := a.d.Store
	go func() {
		c, cancel := withTimeout()
		defer cancel()
		rows, _, err := st.CronRuns(c, store.CronRunQuery{})
		if err == nil {
			for _, r := range rows {
				countTask(&rep.Tasks, r.Status)
			}
		}
		m.Reply(rep)
	}()
}

// countTask counts one run in the reference's task summary (runtime cron).
func countTask(t *protocol.TaskCounts, status string) {
	t.Total++
	t.ByRuntime.Cron++
	switch status {
	case "running":
		t.Active++
		t.ByStatus.Running++
	case "ok", "skipped":
		t.Terminal++
		t.ByStatus.Succeeded++
	default:
		t.Terminal++
		t.Failures++
		t.ByStatus.Failed++
	}
}

func withTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), storeTimeout)
}

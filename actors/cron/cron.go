// Package cron is the scheduler: the cron actor owns the scheduled jobs
// (cron.add and the rest, kept in the state database) and the agents'
// heartbeats (agents.defaults.heartbeat), and runs each as an agent turn
// through the runs actor when it is due, so a scheduled run streams its
// events like any other.
//
// A run is claimed for its job and schedule slot in the database before it
// starts (store.ClaimCronSlot): a slot never runs twice, even across a
// crash; a run cut off by a crash is closed as an error at the next start
// and not run again. A job that missed slots while the gateway was down
// runs once, for the latest of them.
//
// It also holds the system events queued for the agents' next heartbeat
// (wake, cron system events) and serves wake, last-heartbeat and
// set-heartbeats.
package cron

import (
	"context"
	"encoding/json"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/core"
	"openclaw/actors/methods"
	"openclaw/actors/store"
	"openclaw/config"
	"openclaw/transport/protocol"
)

// Limits and timeouts.
const (
	// maxSleep bounds how long the scheduler sleeps between checks, so a
	// clock step or a config change is noticed.
	maxSleep = 30 * time.Second
	// storeTimeout bounds one store operation.
	storeTimeout = 10 * time.Second
	// maxQueuedEvents bounds the system events waiting for an agent's next
	// heartbeat; older ones are dropped.
	maxQueuedEvents = 20
	// summaryChars bounds a run's summary (its final text) in the run log.
	summaryChars = 400
	// interruptedReason closes a run the gateway stopped in the middle of.
	interruptedReason = "the gateway stopped during the run"
	// heartbeatPrefix starts the id of an agent's heartbeat job.
	heartbeatPrefix = "heartbeat:"
	// kvNamespace holds the scheduler's small state (set-heartbeats).
	kvNamespace = "cron"
)

// Deps is what the cron actor is built with.
type Deps struct {
	Hub      *actor.PID // cron and heartbeat events
	Runs     *actor.PID // runs start there
	Channels *actor.PID // heartbeat replies are sent there
	Store    store.Store
	Config   *core.Live[*config.Config]
	// InstanceID identifies this process (cron.run's processInstanceId).
	InstanceID string
	Log        *slog.Logger
}

// job is a scheduled job, or an agent's heartbeat.
type job struct {
	def      definition
	sched    schedule
	lastSlot time.Time // the latest slot run or skipped
	next     time.Time // zero: not scheduled
	running  *running
	last     store.CronRun // the latest run recorded ("" status: none)
	errors   int           // consecutive failed runs
	agent    string        // heartbeats: the agent
	// A heartbeat reply being sent: the run and event to record after.
	pendingRun   *store.CronRun
	pendingEvent *protocol.HeartbeatEvent
}

// running is a run in progress.
type running struct {
	runID, trigger string
	slot           time.Time
	started        time.Time
	sessionKey     string
	events         []string // heartbeats: the system events it took
}

type cronActor struct {
	d         Deps
	jobs      map[string]*job // user jobs and heartbeats, by id
	hbEnabled bool            // set-heartbeats
	events    map[string][]string
	lastHB    *protocol.HeartbeatEvent
	loaded    bool
	waiting   []any // requests that came before the jobs were loaded
	timers    core.Timers
	tickGen   int
}

// messages to self
type (
	loaded struct {
		rows   []store.CronJobRow
		states map[string]store.CronJobRunState
		hb     bool
		err    error
	}
	tick    struct{ gen int }
	claimed struct {
		id, runID string
		slot      time.Time
		ok        bool
		err       error
	}
	finished struct {
		id, runID string
		final     *core.RunFinal
		err       *protocol.ErrorShape
	}
	delivered struct {
		id, runID string
		status    string
		err       string
	}
)

// Props builds the cron actor.
func Props(d Deps) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &cronActor{d: d, jobs: map[string]*job{}, events: map[string][]string{}, hbEnabled: true}
	})
}

func (a *cronActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.load(ctx)
		return
	case *actor.Stopping:
		a.timers.Stop()
		return
	case *loaded:
		a.adopt(ctx, m)
		return
	case *tick:
		if m.gen == a.tickGen {
			a.runDue(ctx)
		}
		return
	case *claimed:
		a.claimed(ctx, m)
		return
	case *finished:
		a.finished(ctx, m)
		return
	case *delivered:
		a.heartbeatDelivered(ctx, m)
		return
	case *core.ConfigChanged:
		a.syncHeartbeats(time.Now())
		a.reschedule(ctx)
		return
	case *core.Reply:
		return // StartRun's acceptance: the outcome comes through Done
	case *persisted:
		m.then(m.err)
		return
	}
	if !a.loaded {
		a.waiting = append(a.waiting, ctx.Message())
		return
	}
	a.serve(ctx, ctx.Message())
}

// serve answers a method (after the jobs are loaded).
func (a *cronActor) serve(ctx actor.Context, msg any) {
	switch m := msg.(type) {
	case *methods.CronList:
		m.Reply(a.list(m.Params))
	case *methods.CronStatus:
		m.Reply(a.status())
	case *methods.CronAdd:
		a.add(ctx, m)
	case *methods.CronUpdate:
		a.update(ctx, m)
	case *methods.CronRemove:
		a.remove(ctx, m)
	case *methods.CronRun:
		a.run(ctx, m)
	case *methods.CronRuns:
		a.runs(m)
	case *methods.Wake:
		a.wake(ctx, m)
	case *methods.LastHeartbeat:
		m.Reply(a.lastHB)
	case *methods.SetHeartbeats:
		a.hbEnabled = m.Params.Enabled
		v := []byte("false")
		if a.hbEnabled {
			v = []byte("true")
		}
		a.d.Store.PutAsync(kvNamespace, "heartbeats.enabled", v, nil)
		a.reschedule(ctx)
		m.Reply(protocol.HeartbeatsSet{OK: true, Enabled: a.hbEnabled})
	case *core.ReportCron:
		a.report(m)
	}
}

// load reads the jobs and their run state off the actor; runs a crash cut
// off are closed first.
func (a *cronActor) load(ctx actor.Context) {
	self, root, st := ctx.Self(), ctx.ActorSystem().Root, a.d.Store
	log := a.d.Log
	go func() {
		c, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		m := &loaded{hb: true}
		if n, err := st.CloseInterruptedCronRuns(c, interruptedReason); err != nil {
			m.err = err
		} else if n > 0 {
			log.Warn("cron: runs cut off by the last stop closed as errors (their slots do not run again)", "runs", n)
		}
		if m.err == nil {
			m.rows, m.err = st.CronJobs(c)
		}
		if m.err == nil {
			m.states, m.err = st.CronRunStates(c)
		}
		if v, ok, err := st.Get(c, kvNamespace, "heartbeats.enabled"); err == nil && ok {
			m.hb = string(v) != "false"
		}
		root.Send(self, m)
	}()
}

func (a *cronActor) adopt(ctx actor.Context, m *loaded) {
	if m.err != nil {
		// The supervisor restarts this actor, which loads again.
		panic("cron: cannot load the scheduled jobs: " + m.err.Error())
	}
	now := time.Now()
	a.hbEnabled = m.hb
	for _, row := range m.rows {
		var def definition
		if err := json.Unmarshal(row.Job, &def); err != nil {
			a.d.Log.Error("cron: a stored job does not decode; skipped", "job", row.ID, "err", err)
			continue
		}
		sched, err := compile(def.Schedule, time.UnixMilli(def.CreatedAtMs))
		if err != nil {
			a.d.Log.Error("cron: a stored job's schedule does not compile; skipped", "job", row.ID, "err", err)
			continue
		}
		j := &job{def: def, sched: sched}
		a.applyState(j, m.states[row.ID])
		a.jobs[def.ID] = j
	}
	a.syncHeartbeats(now)
	for id, j := range a.jobs {
		if j.agent != "" {
			a.applyState(j, m.states[id])
		}
	}
	a.loaded = true
	a.reschedule(ctx)
	for _, w := range a.waiting {
		a.serve(ctx, w)
	}
	a.waiting = nil
}

func (a *cronActor) applyState(j *job, st store.CronJobRunState) {
	j.last, j.errors = st.Last, st.ConsecutiveErrors
	if st.LastSlotMs > 0 {
		j.lastSlot = time.UnixMilli(st.LastSlotMs)
	}
}

// syncHeartbeats makes the heartbeat jobs match the config: one per agent
// whose heartbeat has a period.
func (a *cronActor) syncHeartbeats(now time.Time) {
	cfg := a.d.Config.Get()
	want := map[string]bool{}
	for _, agent := range config.AgentIDs(cfg) {
		_, period := config.HeartbeatFor(cfg, agent)
		if period <= 0 {
			continue
		}
		id := heartbeatPrefix + agent
		want[id] = true
		def := heartbeatDefinition(agent, period)
		if j := a.jobs[id]; j != nil {
			if j.def.Schedule.EveryMs != def.Schedule.EveryMs {
				j.def.Schedule, j.sched = def.Schedule, mustEvery(def.Schedule)
			}
			continue
		}
		// A heartbeat new to the config starts from now, not from a slot
		// already past; its recorded runs (applyState) say otherwise.
		a.jobs[id] = &job{def: def, sched: mustEvery(def.Schedule), agent: agent, lastSlot: now}
	}
	for id, j := range a.jobs {
		if j.agent != "" && !want[id] && j.running == nil {
			delete(a.jobs, id)
		}
	}
}

// mustEvery compiles an every schedule, which cannot fail.
func mustEvery(s protocol.CronSchedule) schedule {
	sched, _ := compile(s, time.UnixMilli(0))
	return sched
}

// heartbeatDefinition is an agent's heartbeat as a job: every period,
// anchored at the epoch, so its slots are the same across restarts.
func heartbeatDefinition(agent string, period time.Duration) definition {
	zero := int64(0)
	return definition{ID: heartbeatPrefix + agent, Name: "heartbeat-" + agent, DisplayName: "Heartbeat (" + agent + ")",
		AgentID: agent, Enabled: true, Schedule: protocol.CronSchedule{Kind: "every", EveryMs: period.Milliseconds(), AnchorMs: &zero},
		SessionTarget: "main", WakeMode: "next-heartbeat", Payload: protocol.CronPayload{Kind: "heartbeat"}}
}

// active reports whether a job runs on schedule now.
func (a *cronActor) active(j *job) bool {
	if !a.d.Config.Get().Cron.IsEnabled() || !j.def.Enabled {
		return false
	}
	return j.agent == "" || a.hbEnabled
}

// reschedule computes every job's next slot and sleeps until the first.
func (a *cronActor) reschedule(ctx actor.Context) {
	now := time.Now()
	var first time.Time
	for _, j := range a.jobs {
		j.next = time.Time{}
		if !a.active(j) {
			continue
		}
		// Slots strictly after the job's creation (an "every" job first
		// runs one period after it is added, as at the reference) or after
		// the last slot it ran.
		base := j.lastSlot
		if created := time.UnixMilli(j.def.CreatedAtMs); base.Before(created) && j.agent == "" {
			base = created
		}
		if due := latestDue(j.sched, base, now); !due.IsZero() {
			j.next = due
		} else {
			j.next = j.sched.next(maxTime(base, now))
		}
		if !j.next.IsZero() && (first.IsZero() || j.next.Before(first)) {
			first = j.next
		}
	}
	a.tickGen++
	wait := maxSleep
	if !first.IsZero() {
		wait = min(max(time.Until(first), 0), maxSleep)
	}
	a.timers.After(ctx, wait, &tick{gen: a.tickGen})
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// runDue starts the jobs that are due.
func (a *cronActor) runDue(ctx actor.Context) {
	now := time.Now()
	ids := make([]string, 0, len(a.jobs))
	for id := range a.jobs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		j := a.jobs[id]
		if j.next.IsZero() || j.next.After(now) || !a.active(j) {
			continue
		}
		slot := j.next
		j.lastSlot = slot
		if j.running != nil {
			a.d.Log.Info("cron: a slot is skipped, the previous run is still going", "job", id, "slot", slot)
			continue
		}
		a.start(ctx, j, slot, "schedule")
	}
	a.reschedule(ctx)
}

// start claims a slot of j durably, then runs it (claimed).
func (a *cronActor) start(ctx actor.Context, j *job, slot time.Time, trigger string) string {
	runID := "cron:" + j.def.ID + ":" + slotID(slot)
	if trigger != "schedule" {
		runID = trigger + ":" + j.def.ID + ":" + slotID(slot)
	}
	j.running = &running{runID: runID, trigger: trigger, slot: slot, started: time.Now(), sessionKey: a.sessionKey(j)}
	self, root, st := ctx.Self(), ctx.ActorSystem().Root, a.d.Store
	r := store.CronRun{JobID: j.def.ID, SlotMs: slot.UnixMilli(), RunID: runID, Trigger: trigger, SessionKey: j.running.sessionKey}
	go func() {
		c, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		ok, err := st.ClaimCronSlot(c, r)
		root.Send(self, &claimed{id: r.JobID, runID: runID, slot: slot, ok: ok, err: err})
	}()
	return runID
}

func slotID(t time.Time) string { return t.UTC().Format("20060102T150405.000Z") }

func (a *cronActor) claimed(ctx actor.Context, m *claimed) {
	j := a.jobs[m.id]
	if j == nil || j.running == nil || j.running.runID != m.runID {
		return
	}
	if m.err != nil || !m.ok {
		if m.err != nil {
			a.d.Log.Error("cron: cannot claim a slot; the run does not start", "job", m.id, "err", m.err)
		} else {
			a.d.Log.Info("cron: the slot already has a run; not running it again", "job", m.id, "slot", m.slot)
		}
		j.running = nil
		return
	}
	if j.agent != "" {
		a.startHeartbeat(ctx, j)
		return
	}
	p := j.def.Payload
	if p.Kind == "systemEvent" {
		agent := a.agentOf(j)
		a.queueEvent(agent, p.Text)
		a.publish(ctx, protocol.CronEvent{JobID: j.def.ID, Action: "started", TS: time.Now().UnixMilli(), RunID: m.runID})
		a.finish(ctx, j, store.CronRun{Status: "ok", Summary: "system event queued for the next heartbeat of " + agent})
		if j.def.WakeMode == "now" {
			a.heartbeatNow(ctx, agent, "wake")
		}
		return
	}
	// Resume: a slot is claimed before it runs and a run cut off by a stop
	// is closed as an error at the next start; the runs actor must not run
	// it again on its own (a slot never runs twice).
	rp := core.RunParams{Message: p.Message, IdempotencyKey: m.runID, AgentID: a.agentOf(j), SessionKey: j.running.sessionKey,
		Model: p.Model, Thinking: p.Thinking, Timeout: time.Duration(p.TimeoutSeconds * float64(time.Second)), Resume: true}
	if d := j.def.Delivery; d != nil && d.Mode == "announce" && d.To != "" && d.Channel != "" && d.Channel != "last" {
		rp.Deliver = &core.Delivery{Channel: d.Channel, To: d.To, AccountID: d.AccountID}
	}
	a.runTurn(ctx, j, rp)
}

// runTurn starts an agent run for j; its outcome comes back as finished.
func (a *cronActor) runTurn(ctx actor.Context, j *job, rp core.RunParams) {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	id, runID := j.def.ID, j.running.runID
	ctx.Request(a.d.Runs, &core.StartRun{Params: rp, Done: func(f *core.RunFinal, e *protocol.ErrorShape) {
		root.Send(self, &finished{id: id, runID: runID, final: f, err: e})
	}})
	a.publish(ctx, protocol.CronEvent{JobID: id, Action: "started", TS: time.Now().UnixMilli(), RunID: runID, SessionKey: rp.SessionKey})
}

func (a *cronActor) finished(ctx actor.Context, m *finished) {
	j := a.jobs[m.id]
	if j == nil || j.running == nil || j.running.runID != m.runID {
		return
	}
	r := store.CronRun{Status: "ok"}
	if m.err != nil {
		r.Status, r.Error = "error", m.err.Message
	}
	if f := m.final; f != nil {
		r.Summary, r.Provider, r.Model, r.SessionKey = clip(f.Text, summaryChars), f.Provider, f.Model, f.SessionKey
		r.Usage, _ = json.Marshal(map[string]int{"input": f.Usage.Input, "output": f.Usage.Output, "total": f.Usage.Total})
		r.DeliveryStatus = "not-requested"
		if f.Delivery != nil {
			r.DeliveryStatus = "delivered"
			if e, ok := f.Delivery["error"].(string); ok {
				r.DeliveryStatus, r.DeliveryError = "not-delivered", e
			}
		} else if d := j.def.Delivery; d != nil && d.Mode == "announce" {
			r.DeliveryStatus, r.DeliveryError = "not-delivered", "no delivery target: give delivery.channel and delivery.to"
		}
	}
	if j.agent != "" {
		a.heartbeatFinished(ctx, j, r, m)
		return
	}
	a.finish(ctx, j, r)
}

// finish records how j's run ended, tells the watchers, and retires a
// one-shot job.
func (a *cronActor) finish(ctx actor.Context, j *job, r store.CronRun) {
	run := j.running
	j.running = nil
	r.JobID, r.SlotMs, r.RunID, r.Trigger = j.def.ID, run.slot.UnixMilli(), run.runID, run.trigger
	r.StartedAt, r.EndedAt = run.started.UnixMilli(), time.Now().UnixMilli()
	if r.SessionKey == "" {
		r.SessionKey = run.sessionKey
	}
	j.last = r
	if r.Status == "error" {
		j.errors++
	} else {
		j.errors = 0
	}
	st := a.d.Store
	go func() {
		c, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		if err := st.FinishCronRun(c, r); err != nil {
			a.d.Log.Error("cron: cannot record a run's end", "job", r.JobID, "run", r.RunID, "err", err)
		}
	}()
	a.publish(ctx, protocol.CronEvent{JobID: j.def.ID, Action: "finished", TS: r.EndedAt, RunID: r.RunID, Status: r.Status,
		Error: r.Error, Summary: r.Summary, SessionKey: r.SessionKey})
	if j.def.Schedule.Kind == "at" && j.agent == "" && run.trigger == "schedule" {
		if r.Status == "ok" && j.def.DeleteAfterRun {
			a.drop(ctx, j.def.ID)
		} else {
			j.def.Enabled = false
			a.save(j)
		}
	}
	a.reschedule(ctx)
}

// sessionKey is the session a run of j uses.
func (a *cronActor) sessionKey(j *job) string {
	agent := a.agentOf(j)
	target := j.def.SessionTarget
	switch {
	case j.agent != "" || target == "main":
		return core.MainSessionKey(agent)
	case target == "isolated":
		return "agent:" + agent + ":cron:" + j.def.ID
	case target == "current" && j.def.SessionKey != "":
		return j.def.SessionKey
	case strings.HasPrefix(target, "session:"):
		return strings.TrimPrefix(target, "session:")
	}
	return core.MainSessionKey(agent)
}

// agentOf is the agent a run of j uses.
func (a *cronActor) agentOf(j *job) string {
	if j.def.AgentID != "" {
		return j.def.AgentID
	}
	if id := core.SessionAgent(j.def.SessionKey); id != "" {
		return id
	}
	return config.DefaultAgent(a.d.Config.Get())
}

func (a *cronActor) publish(ctx actor.Context, ev protocol.CronEvent) {
	ctx.Send(a.d.Hub, &core.Publish{B: methods.CronEventName.Broadcast(ev, nil)})
}

// save writes j's definition.
func (a *cronActor) save(j *job) {
	b, _ := json.Marshal(j.def)
	st, id := a.d.Store, j.def.ID
	go func() {
		c, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		if err := st.PutCronJob(c, id, b); err != nil {
			a.d.Log.Error("cron: cannot save a job", "job", id, "err", err)
		}
	}()
}

// drop deletes a job.
func (a *cronActor) drop(ctx actor.Context, id string) {
	delete(a.jobs, id)
	st := a.d.Store
	go func() {
		c, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		if _, err := st.DeleteCronJob(c, id); err != nil {
			a.d.Log.Error("cron: cannot delete a job", "job", id, "err", err)
		}
	}()
	a.publish(ctx, protocol.CronEvent{JobID: id, Action: "removed", TS: time.Now().UnixMilli()})
}

func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

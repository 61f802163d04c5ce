// Package sessions is the sessions actor: it owns what is known about a
// session besides the turns themselves (the runs actor appends those): the
// list, previews and descriptions (sessions.list, .preview, .describe),
// what an operator sets (sessions.patch: label, model override, thinking
// level), starting over and deleting (sessions.reset, .delete), compaction
// (sessions.compact: older turns summarised by the model into one message),
// injected messages (chat.inject), the recorded token usage (usage.status,
// usage.cost), and the sessions.changed event its subscribers get.
//
// Reads and writes go to the store off the actor; the actor keeps only what
// is in flight (compactions, coalesced change events).
package sessions

import (
	"context"
	"errors"
	"log/slog"
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
	// DefaultListLimit is sessions.list's page when the request gives none.
	DefaultListLimit = 100
	// storeTimeout bounds one request's reads and writes.
	storeTimeout = 10 * time.Second
	// askTimeout bounds a question to the runs actor.
	askTimeout = 2 * time.Second
	// changeDebounce coalesces the change events of one session: a burst
	// of changes (a run's start and end, a patch) makes one event.
	changeDebounce = 100 * time.Millisecond
)

// Deps is what the sessions actor is built with.
type Deps struct {
	Hub    *actor.PID // sessions.changed and chat events go out through it
	Runs   *actor.PID // asked for the runs in progress; told to abort a session's
	Store  store.Store
	Config *core.Live[*config.Config]
	Log    *slog.Logger
}

type sessionsActor struct {
	d          Deps
	compacting map[string]bool   // sessions being compacted
	pending    map[string]string // changed sessions waiting for the debounce, with the reason
	timers     core.Timers
}

// messages to self
type (
	compacted struct{ key string }
	flush     struct{}
	// changed is a change made by this actor's own work, reported back.
	changed struct{ key, reason string }
)

// Props builds the sessions actor.
func Props(d Deps) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &sessionsActor{d: d, compacting: map[string]bool{}, pending: map[string]string{}}
	})
}

func (a *sessionsActor) Receive(ctx actor.Context) {
	root, self := ctx.ActorSystem().Root, ctx.Self()
	w := &worker{d: a.d, root: root, report: func(key, reason string) { root.Send(self, &changed{key: key, reason: reason}) }}
	switch m := ctx.Message().(type) {
	case *actor.Stopping:
		a.timers.Stop()
	case *methods.SessionsList:
		go w.list(m)
	case *methods.SessionsPreview:
		go w.preview(m)
	case *methods.SessionsDescribe:
		go w.describe(m)
	case *methods.SessionsPatch:
		go w.patch(m)
	case *methods.SessionsReset:
		ctx.Send(a.d.Runs, &core.AbortRun{SessionKey: m.Params.Key})
		go w.reset(m)
	case *methods.SessionsDelete:
		ctx.Send(a.d.Runs, &core.AbortRun{SessionKey: m.Params.Key})
		go w.delete(m)
	case *methods.SessionsCompact:
		key := m.Params.Key
		if a.compacting[key] {
			m.Fail(protocol.NewError(protocol.CodeInvalidRequest, "Session "+key+" is being compacted; retry after it finishes.", nil))
			return
		}
		a.compacting[key] = true
		go func() {
			defer root.Send(self, &compacted{key: key})
			w.compact(m)
		}()
	case *compacted:
		delete(a.compacting, m.key)
	case *methods.ChatInject:
		go w.inject(m)
	case *methods.SessionsGroupsList:
		// No group is kept, so the catalog is the reference's fresh one.
		m.Reply(protocol.SessionsGroupsList{Groups: []protocol.SessionGroup{}, SectionOrder: []string{}})
	case *methods.SessionsGroupsDefaults:
		m.Reply(protocol.SessionsGroupsDefaults{Defaults: []protocol.SessionGroupDefaults{}})
	case *methods.SessionsCatalogList:
		m.Reply(protocol.SessionsCatalogList{Catalogs: []protocol.SessionCatalog{}})
	case *methods.UsageStatus:
		go w.usageStatus(m)
	case *methods.UsageCost:
		go w.usageCost(m)
	case *core.SessionTouched:
		a.touch(ctx, m.Key, m.Reason)
	case *changed:
		a.touch(ctx, m.key, m.reason)
	case *flush:
		pending := a.pending
		a.pending = map[string]string{}
		go w.announce(pending)
	}
}

// touch queues a session's change event; the events of the debounce window
// go out together, one per session (the last reason wins).
func (a *sessionsActor) touch(ctx actor.Context, key, reason string) {
	if len(a.pending) == 0 {
		a.timers.After(ctx, changeDebounce, &flush{})
	}
	a.pending[key] = reason
}

// worker does a request's work off the actor.
type worker struct {
	d      Deps
	root   *actor.RootContext
	report func(key, reason string)
}

func (w *worker) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), storeTimeout)
}

// activeRuns are the runs in progress, by session key (empty if the runs
// actor does not answer).
func (w *worker) activeRuns() map[string][]string {
	runs, err := core.Ask[struct{}, map[string][]string](w.root, w.d.Runs, struct{}{}, askTimeout)
	if err != nil || runs == nil {
		return map[string][]string{}
	}
	return runs
}

// announce publishes sessions.changed for each pending session.
func (w *worker) announce(pending map[string]string) {
	ctx, cancel := w.ctx()
	defer cancel()
	active := w.activeRuns()
	cfg := w.d.Config.Get()
	now := time.Now().UnixMilli()
	for key, reason := range pending {
		ev := protocol.SessionsChanged{SessionKey: key, AgentID: core.SessionAgent(key), Reason: reason, TS: now}
		if reason != "delete" {
			si, ok, err := w.d.Store.Session(ctx, key)
			if err != nil {
				w.d.Log.Warn("sessions.changed: session unreadable", "session", key, "err", err)
				continue
			}
			if ok {
				row := sessionRow(cfg, si, active[key])
				ev.Session, ev.SessionID, ev.UpdatedAt, ev.Kind = &row, si.SessionID, si.UpdatedAt, row.Kind
			}
		}
		w.root.Send(w.d.Hub, &core.Publish{B: methods.SessionsChanged.Broadcast(ev, nil)})
	}
}

// storeError is a store failure as the protocol's error.
func storeError(err error) *protocol.ErrorShape {
	if errors.Is(err, store.ErrInvalid) {
		return protocol.NewError(protocol.CodeInvalidRequest, err.Error(), nil)
	}
	return protocol.NewError(protocol.CodeUnavailable, "session store: "+err.Error(), nil)
}

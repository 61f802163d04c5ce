// Package health is the health actor: it builds the health summary (the
// health method's result, `openclaw health --json`, the periodic health
// event) and the status summary, from what the other actors report: the
// hub's connections, the runs in progress, the channels' state and the
// sessions in the store. It caches the health summary, publishes it for
// hello-ok, and broadcasts it when it changes.
package health

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/core"
	"openclaw/actors/methods"
	"openclaw/actors/store"
	"openclaw/config"
	"openclaw/transport/protocol"
)

// CacheFor is how long a summary answers health calls without probe:true,
// and how often a changed one is broadcast.
const CacheFor = 60 * time.Second

// askTimeout bounds each question the summary asks another actor; one that
// does not answer leaves its part of the summary at zero.
const askTimeout = 2 * time.Second

// recentSessions is how many recent sessions the summary lists.
const recentSessions = 5

// Deps is what the health actor is built with.
type Deps struct {
	Hub, Runs, Channels *actor.PID // asked for counts and channel state
	Nodes               *actor.PID // asked for the node counts
	Cron                *actor.PID // asked for heartbeats and scheduled runs (status)
	Store               *store.Store
	Config              *core.Live[*config.Config]
	// Reload is the config watcher's state: "active" or "disabled".
	Reload *core.Live[string]
	// Published is the summary hello-ok's snapshot shows.
	Published *core.Live[json.RawMessage]
	Versions  *core.StateVersions
	Process   Process
	Every     time.Duration // broadcast check period (CacheFor by default)
	Log       *slog.Logger
}

// Process describes the running gateway for status and system.info.
type Process struct {
	Version, BuildID string
	PID              int
	Started          time.Time
	// InstanceID identifies this process (the same across in-process
	// restarts); StateDir is its state directory; Port the bound port.
	InstanceID string
	StateDir   string
	Port       func() int
}

type healthActor struct {
	d      Deps
	cached protocol.Health
	// encoded is cached, encoded once: every health reply sends these bytes.
	encoded  json.RawMessage
	cachedAt time.Time
	lastSent protocol.Health // without timing fields
	building bool
	waiting  []*methods.Health // probe requests waiting for a fresh summary
	rebuild  bool              // a change arrived while building
	started  bool              // the first summary is published
	ready    []*actor.PID      // asked to be told when it is
	timers   core.Timers
}

type tick struct{}
type built struct{ s protocol.Health }

// Ready asks the health actor to answer (true) once its first summary is
// published: a gateway accepts connections only after that, so hello-ok's
// snapshot always carries one.
type Ready struct{}

// Props builds the health actor.
func Props(d Deps) *actor.Props {
	if d.Every <= 0 {
		d.Every = CacheFor
	}
	return actor.PropsFromProducer(func() actor.Actor { return &healthActor{d: d} })
}

func (h *healthActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		h.build(ctx)
		h.timers.After(ctx, h.d.Every, &tick{})
	case *actor.Stopping:
		h.timers.Stop()
	case *Ready:
		if h.started {
			ctx.Respond(true)
		} else {
			h.ready = append(h.ready, ctx.Sender())
		}
	case *methods.Health:
		if m.Params.Probe || time.Since(h.cachedAt) > CacheFor || h.encoded == nil {
			h.waiting = append(h.waiting, m)
			h.build(ctx)
			return
		}
		m.ReplyRaw(h.encoded)
	case *methods.SystemInfo:
		p := h.d.Process
		go func() { m.Reply(systemInfo(p)) }()
	case *methods.Status:
		root, d := ctx.ActorSystem().Root, h.d
		go func() { m.Reply(status(root, d, m.Params, m.Caller)) }()
	case *methods.UpdateStatus:
		m.Reply(noUpdate)
	case *tick:
		h.build(ctx)
		h.timers.After(ctx, h.d.Every, &tick{})
	case *core.HealthChanged:
		h.build(ctx)
	case *built:
		h.adopt(ctx, m.s)
	}
}

// build gathers a fresh summary off the actor (it asks other actors and
// reads the store) and posts it back as *built.
func (h *healthActor) build(ctx actor.Context) {
	if h.building {
		h.rebuild = true
		return
	}
	h.building = true
	self, root := ctx.Self(), ctx.ActorSystem().Root
	d := h.d
	go func() { root.Send(self, &built{s: summary(root, d)}) }()
}

// adopt caches a built summary, answers the requests waiting for it, and
// broadcasts it when it differs from the last one sent.
func (h *healthActor) adopt(ctx actor.Context, s protocol.Health) {
	h.building = false
	h.cached, h.cachedAt = s, time.Now()
	h.encoded, _ = json.Marshal(s)
	h.d.Published.Set(h.encoded)
	for _, w := range h.waiting {
		w.ReplyRaw(h.encoded)
	}
	h.waiting = nil
	if now := withoutTiming(s); !h.started || !reflect.DeepEqual(now, h.lastSent) {
		h.lastSent = now
		h.d.Versions.Health.Add(1)
		if h.started {
			ctx.Send(h.d.Hub, &core.Publish{B: methods.HealthEvent.Broadcast(h.encoded, h.d.Versions.Current())})
		}
	}
	if !h.started {
		h.started = true
		for _, pid := range h.ready {
			ctx.Send(pid, true)
		}
		h.ready = nil
	}
	if h.rebuild {
		h.rebuild = false
		h.build(ctx)
	}
}

func withoutTiming(s protocol.Health) protocol.Health {
	s.TS, s.DurationMs = 0, 0
	for i := range s.Sessions.Recent {
		s.Sessions.Recent[i].Age = 0
	}
	return s
}

// summary builds the health summary from what the other actors report.
func summary(root *actor.RootContext, d Deps) protocol.Health {
	start := time.Now()
	cfg := d.Config.Get()
	s := protocol.Health{OK: true, TS: start.UnixMilli(), ConfigReload: protocol.ConfigReload{HotReloadStatus: reloadStatus(d)},
		Channels: map[string]protocol.ChannelHealth{}, ChannelOrder: []string{}, ChannelLabels: map[string]string{}}
	if rep, err := core.Ask[struct{}, core.ChannelsReport](root, d.Channels, struct{}{}, askTimeout); err == nil {
		if rep.Channels != nil {
			s.Channels, s.ChannelOrder, s.ChannelLabels, s.LinkChannel = rep.Channels, rep.Order, rep.Labels, rep.Link
		}
	}
	s.Nodes = nodeCounts(root, d)
	ctx, cancel := context.WithTimeout(context.Background(), askTimeout)
	defer cancel()
	s.Sessions = sessions(ctx, d.Store, "", start)
	s.DefaultAgentID = config.DefaultAgent(cfg)
	for _, id := range config.AgentIDs(cfg) {
		s.Agents = append(s.Agents, protocol.AgentHealth{AgentID: id, IsDefault: id == s.DefaultAgentID,
			Sessions: sessions(ctx, d.Store, "agent:"+id+":", start)})
	}
	s.DurationMs = time.Since(start).Milliseconds()
	return s
}

// nodeCounts asks the nodes actor (connected node sockets, approved nodes,
// surfaces waiting for approval).
func nodeCounts(root *actor.RootContext, d Deps) protocol.NodesCount {
	if d.Nodes == nil {
		return protocol.NodesCount{}
	}
	n, _ := core.Ask[struct{}, protocol.NodesCount](root, d.Nodes, struct{}{}, askTimeout)
	return n
}

func sessions(ctx context.Context, st *store.Store, prefix string, now time.Time) protocol.SessionsCount {
	out := protocol.SessionsCount{Path: st.Path(), Recent: []protocol.RecentSession{}}
	out.Count, _ = st.CountSessions(ctx, prefix)
	recent, _ := st.RecentSessions(ctx, prefix, recentSessions)
	for _, r := range recent {
		out.Recent = append(out.Recent, protocol.RecentSession{Key: r.Key, UpdatedAt: r.UpdatedAt, Age: now.UnixMilli() - r.UpdatedAt})
	}
	return out
}

func reloadStatus(d Deps) string {
	if s := d.Reload.Get(); s != "" {
		return s
	}
	return "disabled"
}

// rss reads the resident set size from /proc (0 where there is none).
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

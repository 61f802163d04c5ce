// Package health is the health actor: it builds the health summary (the
// payload of the health method, of `openclaw health --json` and of the
// periodic health event), caches it, and broadcasts it when it changes.
package health

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/core"
	"openclaw/transport/protocol"
)

// CacheFor is how long a summary answers health calls without probe:true.
const CacheFor = 60 * time.Second

type healthActor struct {
	env      *core.Env
	cached   map[string]any
	cachedAt time.Time
	// lastSent is the summary last broadcast, without its timing fields, to
	// tell whether anything changed.
	lastSent map[string]any
	// encoded is cached, encoded once: every health reply sends these bytes.
	encoded json.RawMessage
	timers  core.Timers
}

type tick struct{}

// Props builds the health actor.
func Props(env *core.Env) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &healthActor{env: env} })
}

func (h *healthActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		h.refresh()
		h.lastSent = stripTiming(h.cached)
		h.env.HealthVersion.Add(1)
		h.schedule(ctx)
	case *actor.Stopping:
		h.timers.Stop()
	case *core.HealthGet:
		if m.Probe || time.Since(h.cachedAt) > CacheFor {
			h.refresh()
		}
		ctx.Respond(&core.Reply{ReqID: m.ID, Payload: h.encoded})
	case *tick:
		h.publishIfChanged(ctx)
		h.schedule(ctx)
	case *core.HealthChanged:
		h.publishIfChanged(ctx)
	}
}

// publishIfChanged rebuilds the summary and broadcasts it when it differs
// from the last one sent.
func (h *healthActor) publishIfChanged(ctx actor.Context) {
	h.refresh()
	if now := stripTiming(h.cached); !reflect.DeepEqual(now, h.lastSent) {
		h.lastSent = now
		h.env.HealthVersion.Add(1)
		b := protocol.NewBroadcast("health", h.cached, h.env.StateVersion())
		b.Droppable = true
		b.NodesToo = true
		ctx.Send(h.env.Hub, &core.Publish{B: b})
	}
}

func (h *healthActor) schedule(ctx actor.Context) {
	every := h.env.HealthEvery
	if every <= 0 {
		every = CacheFor
	}
	h.timers.After(ctx, every, &tick{})
}

func (h *healthActor) refresh() {
	start := time.Now()
	s := Summary(h.env)
	s["durationMs"] = time.Since(start).Milliseconds()
	h.cached, h.cachedAt = s, time.Now()
	h.encoded, _ = json.Marshal(s)
	snap := s
	h.env.HealthSnap.Store(&snap)
}

// Summary builds the health summary. Channels and agent sessions report what
// exists in this gateway; they fill in as those parts arrive.
func Summary(env *core.Env) map[string]any {
	// Where session transcripts will live (DESIGN.md, "Durable state").
	store := filepath.Join(env.StateDir, "state", "openclaw.sqlite")
	sessions := map[string]any{"path": store, "count": 0, "recent": []any{}}
	out := map[string]any{
		"ok":             true,
		"ts":             time.Now().UnixMilli(),
		"durationMs":     0,
		"channels":       map[string]any{},
		"channelOrder":   []string{},
		"channelLabels":  map[string]any{},
		"defaultAgentId": "main",
		"agents": []map[string]any{{
			"agentId": "main", "isDefault": true, "sessions": sessions,
		}},
		"sessions":     sessions,
		"configReload": map[string]any{"hotReloadStatus": reloadStatus(env)},
	}
	if ch := env.ChannelsSnap.Load(); ch != nil {
		for k, v := range *ch {
			out[k] = v
		}
	}
	return out
}

func reloadStatus(env *core.Env) string {
	if s, ok := env.ReloadStatus.Load().(string); ok {
		return s
	}
	return "disabled"
}

func stripTiming(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k != "ts" && k != "durationMs" {
			out[k] = v
		}
	}
	// Round-trip so that values compare by content, not by Go type.
	b, _ := json.Marshal(out)
	var norm map[string]any
	_ = json.Unmarshal(b, &norm)
	return norm
}

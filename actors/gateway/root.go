package gateway

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/conn"
	"openclaw/actors/core"
	"openclaw/actors/devices"
	"openclaw/actors/health"
	"openclaw/actors/hub"
	"openclaw/actors/presence"
	"openclaw/actors/reload"
	"openclaw/actors/runs"
	"openclaw/channels"
)

type ready struct{}

// supervisor is the root actor. Its children hold the gateway's state; one
// that panics is restarted (with its state rebuilt from scratch or from
// disk) up to 10 times in 10 s, without touching the others.
type supervisor struct {
	env      *core.Env
	reload   reload.Options
	tools    map[string]*runs.Tool
	channels channels.Options
}

func rootProps(env *core.Env, ro reload.Options, tools map[string]*runs.Tool, co channels.Options) *actor.Props {
	restart := actor.NewOneForOneStrategy(10, 10*time.Second, func(reason any) actor.Directive {
		env.Log.Error("gateway actor crashed; restarting it", "panic", reason)
		return actor.RestartDirective
	})
	return actor.PropsFromProducer(func() actor.Actor { return &supervisor{env: env, reload: ro, tools: tools, channels: co} }, actor.WithSupervisor(restart))
}

func (s *supervisor) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		env := s.env
		// The hub first: the others publish to it from their first message.
		env.Hub = s.spawn(ctx, hub.Props(env, conn.Props), "hub")
		env.Devices = s.spawn(ctx, devices.Props(env), "devices")
		env.Health = s.spawn(ctx, health.Props(env), "health")
		env.Presence = s.spawn(ctx, presence.Props(env), "presence")
		env.Reload = s.spawn(ctx, reload.Props(env, s.reload), "config")
		env.Runs = s.spawn(ctx, runs.Props(env, s.tools), "runs")
		// Last: channel accounts start agent runs from their first update.
		env.Channels = s.spawn(ctx, channels.Props(env, s.channels), "channels")
	case *ready:
		ctx.Respond(true)
	}
}

func (s *supervisor) spawn(ctx actor.Context, p *actor.Props, name string) *actor.PID {
	pid, err := ctx.SpawnNamed(p, name)
	if err != nil {
		panic("gateway: spawn " + name + ": " + err.Error())
	}
	return pid
}

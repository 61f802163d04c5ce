package gateway

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"

	"openclaw/actors/channels"
	clusteractor "openclaw/actors/cluster"
	"openclaw/actors/conn"
	"openclaw/actors/core"
	cronactor "openclaw/actors/cron"
	"openclaw/actors/devices"
	"openclaw/actors/health"
	"openclaw/actors/httpapi"
	"openclaw/actors/hub"
	"openclaw/actors/logs"
	"openclaw/actors/methods"
	"openclaw/actors/nodes"
	"openclaw/actors/presence"
	"openclaw/actors/reload"
	"openclaw/actors/runs"
	"openclaw/actors/sessions"
	"openclaw/actors/store"
	"openclaw/actors/store/jsstore"
	"openclaw/actors/tools"
	"openclaw/metrics"
	"openclaw/transport/auth"
	"openclaw/transport/controlui"
	"openclaw/transport/protocol"
)

// The actor tree, as composed here:
//
//	gateway (supervisor: restarts a crashed child, alone)
//	├── hub        who is connected; tick, ping, fan-out
//	│   └── $n     one connection actor per socket
//	├── presence   the roster; system-presence, system-event
//	├── devices    paired devices and tokens, pairing at connect; device.pair.*
//	├── nodes      node registry, connected nodes, surface approval, invokes; node.*
//	├── config     the active config, the file watcher; config.*
//	├── logs       logs.tail
//	├── runs       agent runs; agent, agent.wait, chat.*
//	│   └── $n     one run actor per turn
//	├── sessions   session metadata, lists, compaction; sessions.*, chat.inject, usage.*
//	├── cron       scheduled turns and heartbeats; cron.*, wake, *-heartbeat(s)
//	├── channels   channel accounts; send, channels.pairing.*
//	│   └── <channel>:<account>
//	└── health     health and status summaries
//
// Every actor is named, so every PID is known before anything is spawned:
// each actor gets exactly the PIDs it talks to in its Deps, whatever the
// spawn order, and the edges of the picture are the Deps below.

// rootName is the supervisor's name; its children are rootName/<name>.
const rootName = "gateway"

type pids struct {
	hub, presence, devices, nodes, config, logs, runs, sessions, cron, channels, health *actor.PID
	cluster                                                                             *actor.PID // cluster mode only
}

// child is one actor of the tree, spawned in order.
type child struct {
	name  string
	props *actor.Props
}

// tree is a composed generation: its actors, and the dependencies of what
// lives outside the tree (connection actors, the HTTP APIs).
type tree struct {
	pids     pids
	children []child
	conn     *conn.Deps
	httpapi  httpapi.Deps
}

// compose builds every actor's dependencies. It is the only place that knows
// who talks to whom.
func (g *Gateway) compose(validate *protocol.Validator) *tree {
	o, sys := g.opts, g.system
	pid := func(name string) *actor.PID { return actor.NewPID(sys.Address(), rootName+"/"+name) }
	p := pids{hub: pid("hub"), presence: pid("presence"), devices: pid("devices"), nodes: pid("nodes"), config: pid("config"),
		logs: pid("logs"), runs: pid("runs"), sessions: pid("sessions"), cron: pid("cron"), channels: pid("channels"),
		health: pid("health")}
	var hubCluster hub.Forwarder
	var clusterStatus *core.Live[*protocol.ClusterStatus]
	var locker store.SessionLocker // cluster mode: a session's turns, one at a time cluster-wide
	var transient func(error) bool // cluster mode: the store's errors of an election, retried by a turn
	var clusterMetrics *metrics.Cluster
	if g.bus != nil {
		p.cluster = pid("cluster")
		clusterMetrics = g.metrics.NewCluster()
		hubCluster = clusteractor.Forwarder{Bus: g.bus, Metrics: clusterMetrics}
		clusterStatus = core.NewLive[*protocol.ClusterStatus](nil) // set by cluster
		locker, _ = g.store.(store.SessionLocker)                  // the cluster's store (jsstore)
		transient = jsstore.Transient
	}
	extraOwners := map[core.Owner]*actor.PID{}
	for owner := range o.Extra.Owners {
		extraOwners[owner] = pid("extra-" + string(owner))
	}

	// Shared state: one owner sets each, the others read.
	active := core.NewLive(o.Config)                      // set by config
	secret := core.NewLive(o.Secret)                      // set by config
	limiter := core.NewLive(auth.NewLimiter(o.RateLimit)) // set by config
	reloadStatus := core.NewLive("")                      // set by config
	roster := core.NewLive([]protocol.PresenceEntry{})    // set by presence
	healthSnap := core.NewLive(publishedHealth)           // set by health
	versions := &core.StateVersions{}                     // advanced by presence and health
	started := time.Now()
	limits := o.Limits.WithDefaults()

	toolset := tools.New(tools.Deps{Root: sys.Root, Store: g.store, Nodes: p.nodes, Channels: p.channels})
	for name, t := range o.Extra.Tools {
		toolset[name] = t
	}

	routes := core.Routes{
		core.OwnerHub: p.hub, core.OwnerPresence: p.presence, core.OwnerHealth: p.health, core.OwnerConfig: p.config,
		core.OwnerLogs: p.logs, core.OwnerDevices: p.devices, core.OwnerRuns: p.runs, core.OwnerChannels: p.channels,
		core.OwnerNodes: p.nodes, core.OwnerSessions: p.sessions, core.OwnerCron: p.cron,
	}
	for owner, pid := range extraOwners {
		routes[owner] = pid
	}
	host := hostInfo()
	t := &tree{pids: p}
	t.conn = &conn.Deps{
		Hub: p.hub, Presence: p.presence, Devices: p.devices, Nodes: p.nodes, Routes: routes,
		Methods: registry(o.Extra.Methods), Events: methods.Events(), Capabilities: methods.Capabilities,
		Validate: validate, Limits: limits, Secret: secret, Limiter: limiter, Config: active,
		Roster: roster, Health: healthSnap, Versions: versions,
		Server: conn.ServerInfo{Version: Version, BuildID: buildID(), BootID: bootID, Started: started,
			ConfigPath: o.ConfigPath, StateDir: o.StateDir, ControlUIBuildSource: o.ControlUI.buildSource()},
		Draining: &g.draining, DrainTimeout: o.DrainTimeout, MaxInflight: conn.DefaultMaxInflight, Log: o.Log,
		Metrics: g.metrics,
	}
	t.httpapi = httpapi.Deps{Root: sys.Root, Runs: p.runs, Store: g.store, Tools: toolset, Config: active,
		Secret: secret, Limiter: limiter, Log: o.Log, Metrics: g.metrics.Handler(),
		Devices: p.devices}
	if c := o.ControlUI; c != nil {
		t.httpapi.ControlUI = &httpapi.ControlUI{BasePath: controlui.NormalizeBasePath(c.BasePath), Root: c.Root,
			Version: Version, BuildID: buildID()}
	}

	t.children = []child{
		// The hub first: the others publish to it from their first message.
		{"hub", hub.Props(hub.Deps{Log: o.Log, TickInterval: limits.TickInterval, PingInterval: limits.PingInterval, Metrics: g.metrics,
			Cluster: hubCluster})},
		{"presence", presence.Props(presence.Deps{Hub: p.hub, Roster: roster, Versions: versions, TTL: o.PresenceTTL, Log: o.Log,
			Cluster: p.cluster,
			Self: presence.Self{Host: host.Host, IP: host.IP, Platform: host.Platform, DeviceFamily: host.DeviceFamily,
				Version: Version, InstanceID: uuid.NewString()}})},
		{"devices", devices.Props(devices.Deps{Hub: p.hub, Nodes: p.nodes, Store: g.store, StateDir: o.StateDir,
			AutoApproveLocal: o.AutoApproveLocal, Log: o.Log})},
		{"nodes", nodes.Props(nodes.Deps{Hub: p.hub, Store: g.store, Config: active, MaxResultBytes: limits.MaxPayload / 2,
			Log: o.Log, Cluster: p.cluster})},
		{"config", reload.Props(reload.Deps{Path: o.ConfigPath, StateDir: o.StateDir, Version: Version, Config: o.Config, Hash: o.ConfigHash,
			Restart: o.RequestRestart, Active: active, Secret: secret, Limiter: limiter, Status: reloadStatus,
			Hub: p.hub, Channels: p.channels, Cron: p.cron, Health: p.health, Log: o.Log})},
		{"logs", logs.Props(logs.Deps{File: o.LogFile})},
		{"runs", runs.Props(runs.Deps{Hub: p.hub, Channels: p.channels, Sessions: p.sessions, Store: g.store, Config: active,
			Tools: toolset, Log: o.Log, Metrics: g.metrics, Cluster: p.cluster, Node: g.ClusterNode(), Locker: locker,
			Transient: transient})},
		{"sessions", sessions.Props(sessions.Deps{Hub: p.hub, Runs: p.runs, Store: g.store, Config: active, Log: o.Log})},
		{"cron", cronactor.Props(cronactor.Deps{Hub: p.hub, Runs: p.runs, Channels: p.channels, Store: g.store, Config: active,
			InstanceID: bootID, Log: o.Log})},
		{"channels", channels.Props(channels.Deps{Drivers: o.Channels, Health: p.health, Log: o.Log, Cluster: p.cluster, Leases: g.leases,
			Account: channels.AccountDeps{Runs: p.runs, Store: g.store, Config: active, Log: o.Log, Metrics: g.metrics}})},
	}
	if g.bus != nil {
		// Right after the hub: presence hands it its rows from its start.
		cl := child{"cluster", clusteractor.Props(clusteractor.Deps{Bus: g.bus, Hub: p.hub,
			Roster: roster, Versions: versions, Status: clusterStatus, Metrics: clusterMetrics, Log: o.Log,
			Handlers: map[string]clusteractor.Handler{
				"node.invoke": clusteractor.Serve[protocol.NodeInvokeParams, protocol.NodeInvokeResult](p.nodes),
				"agent.wait":  clusteractor.Serve[protocol.AgentWaitParams, protocol.AgentWait](p.runs),
				"chat.abort":  clusteractor.Serve[protocol.ChatAbortParams, protocol.ChatAbort](p.runs),
				"send":        clusteractor.Serve[protocol.SendParams, protocol.SendResult](p.channels),
			}})}
		t.children = append(t.children[:1], append([]child{cl}, t.children[1:]...)...)
	}
	for owner, props := range o.Extra.Owners {
		t.children = append(t.children, child{"extra-" + string(owner), props})
	}
	// Last: its first summary asks the others.
	t.children = append(t.children, child{"health", health.Props(health.Deps{Hub: p.hub, Runs: p.runs, Channels: p.channels, Nodes: p.nodes, Cron: p.cron,
		Store: g.store, Config: active, Reload: reloadStatus, Published: healthSnap, Versions: versions,
		Every: o.HealthEvery, Log: o.Log, Cluster: clusterStatus,
		Process: health.Process{Version: Version, BuildID: buildID(), PID: os.Getpid(), Started: started, InstanceID: bootID,
			StateDir: o.StateDir, Port: g.Port}})})
	return t
}

// supervisor is the root actor. Its children hold the gateway's state; one
// that panics is restarted (with its state rebuilt from scratch or from
// disk) up to 10 times in 10 s, without touching the others.
type supervisor struct {
	children []child
	ready    *actor.PID // answers *health.Ready once the tree is up
	spawned  *spawnGate
}

// spawnGate holds every child's Started until the supervisor has spawned
// them all. Children address each other by name (the hub, health), and the
// actor library registers a process under its name before its mailbox has
// its dispatcher: a sibling's Started that sent to a name spawned after it
// could find the process half made (a data race in the library, seen as
// one under -race) or not find it at all (a dead letter).
type spawnGate struct {
	once sync.Once
	done chan struct{}
}

func (g *spawnGate) open() { g.once.Do(func() { close(g.done) }) }

// hold is the receiver middleware that makes a child's Started wait for
// the gate; every later message passes straight through.
func (g *spawnGate) hold(next actor.ReceiverFunc) actor.ReceiverFunc {
	return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
		if _, ok := env.Message.(*actor.Started); ok {
			<-g.done
		}
		next(c, env)
	}
}

// Restart budget of the root's children.
const (
	maxRestarts    = 10
	restartsWithin = 10 * time.Second
)

func supervisorProps(log *slog.Logger, children []child, ready *actor.PID) *actor.Props {
	restart := actor.NewOneForOneStrategy(maxRestarts, restartsWithin, func(reason any) actor.Directive {
		log.Error("gateway actor crashed; restarting it", "panic", reason)
		return actor.RestartDirective
	})
	gate := &spawnGate{done: make(chan struct{})}
	for _, c := range children {
		// A request whose handler panics is still answered.
		c.props.Configure(actor.WithReceiverMiddleware(gate.hold, core.AnswerPanics))
	}
	return actor.PropsFromProducer(func() actor.Actor { return &supervisor{children: children, ready: ready, spawned: gate} },
		actor.WithSupervisor(restart))
}

func (s *supervisor) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		defer s.spawned.open() // a failed spawn too: the ones made run
		for _, c := range s.children {
			if _, err := ctx.SpawnNamed(c.props, c.name); err != nil {
				panic(fmt.Sprintf("gateway: spawn %s: %v", c.name, err))
			}
		}
	case *health.Ready:
		// Spawned by now (Started came first): the health actor answers.
		ctx.Forward(s.ready)
	}
}

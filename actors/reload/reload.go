// Package reload is the config actor: it holds the active configuration,
// watches the file, and decides what a change means. Hot changes are applied
// in place (a rotated shared secret closes the sockets that used the old
// one, 4001; new rate-limit settings take effect at once; changed channel
// accounts restart); restart-class changes ask the Runner for an in-process
// restart. It also serves config.get, config.apply and config.patch, which
// write the file atomically and then go through the same logic.
package reload

import (
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/fsnotify/fsnotify"

	"openclaw/actors/core"
	"openclaw/actors/methods"
	"openclaw/config"
	"openclaw/transport/auth"
	"openclaw/transport/protocol"
)

// DefaultDebounce is how long the file must be quiet before a change is
// read: editors write in bursts (truncate, write, rename).
const DefaultDebounce = 300 * time.Millisecond

// Deps is what the config actor is built with.
type Deps struct {
	Path     string         // the config file
	StateDir string         // for paths the config leaves to their defaults
	Version  string         // the gateway's version (config.schema's)
	Config   *config.Config // what the running generation was built from
	Hash     string         // hash of the file those bytes came from ("" = no file)
	// Restart asks for an in-process restart (nil: log only).
	Restart func(reason string)

	// What a hot change updates.
	Active  *core.Live[*config.Config]
	Secret  *core.Live[auth.Secret]
	Limiter *core.Live[*auth.Limiter]
	// Status is the watcher's state for health: active or disabled.
	Status *core.Live[string]

	Hub      *actor.PID // closes sockets of a rotated secret
	Channels *actor.PID // restarts changed channel accounts
	Cron     *actor.PID // reschedules heartbeats
	Health   *actor.PID // told when the watcher's state changes
	Log      *slog.Logger
}

type fileEvent struct{}
type settle struct{ gen int }

// ReloadNow asks the config actor to read the file at once, as a change
// the watcher saw would (SIGHUP sends it; it works with reload.mode off
// too: the operator asked).
type ReloadNow struct{ Reason string }

type reloader struct {
	d         Deps
	timers    core.Timers
	schemaDoc *schemaDoc // config.schema's answer, built on first use
	rotated   bool       // the secret changed: sockets using the old one are to be closed
	cur       *config.Config
	hash      string
	watcher   *fsnotify.Watcher
	pending   int // debounce generation
}

// Props builds the config actor.
func Props(d Deps) *actor.Props {
	if d.Config == nil {
		d.Config = &config.Config{}
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &reloader{d: d, cur: d.Config, hash: d.Hash}
	})
}

func (r *reloader) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		r.watch(ctx)
	case *actor.Stopping:
		r.unwatch()
		r.timers.Stop()
	case *fileEvent:
		// Editors write in bursts (truncate, write, rename): act once the
		// file has been quiet for the debounce interval.
		r.pending++
		r.timers.After(ctx, r.debounce(), &settle{gen: r.pending})
	case *settle:
		if m.gen == r.pending {
			r.fileChanged(ctx)
		}
	case *ReloadNow:
		r.pending++ // a debounced read in progress is this one
		r.d.Log.Info("config reload requested", "reason", m.Reason, "path", r.d.Path)
		r.fileChanged(ctx)
	case *methods.ConfigGet:
		m.Reply(r.get(m.Caller))
	case *methods.ConfigSet:
		res, err := r.set(ctx, m.Params)
		if err != nil {
			m.Fail(err)
		} else {
			m.Reply(res)
		}
		r.closeOldSecretSockets(ctx)
	case *methods.ConfigSchema:
		m.Reply(r.schema())
	case *methods.ConfigSchemaLookup:
		res, err := r.lookup(m.Params.Path)
		if err != nil {
			m.Fail(err)
			return
		}
		m.Reply(res)
	case *methods.ChannelsLogout:
		res, err := r.logout(ctx, m.Params)
		if err != nil {
			m.Fail(err)
			return
		}
		m.Reply(res)
	case *methods.ModelsList:
		m.Reply(modelsList(r.cur, m.Params))
	case *methods.ModelsAuthStatus:
		m.Reply(authStatus(r.cur))
	case *methods.AgentsList:
		m.Reply(agentsList(r.cur, r.d.StateDir))
	case *methods.ConfigApply:
		answer(m, func() (protocol.ConfigWritten, *protocol.ErrorShape) {
			return r.write(ctx, m.Params.BaseHash, func(map[string]any) map[string]any { return m.Params.Config })
		})
		r.closeOldSecretSockets(ctx)
	case *methods.ConfigPatch:
		answer(m, func() (protocol.ConfigWritten, *protocol.ErrorShape) {
			return r.write(ctx, m.Params.BaseHash, func(current map[string]any) map[string]any {
				return config.MergePatch(current, m.Params.Patch)
			})
		})
		r.closeOldSecretSockets(ctx)
	}
}

// watch follows the file's directory, not the file: editors that save by
// writing a new file and renaming it over the old one replace the inode a
// file watch would follow.
func (r *reloader) watch(ctx actor.Context) {
	defer ctx.Send(r.d.Health, &core.HealthChanged{})
	if r.cur.Gateway.Reload.Mode == "off" {
		r.d.Status.Set("disabled")
		return
	}
	w, err := fsnotify.NewWatcher()
	if err == nil {
		err = w.Add(filepath.Dir(r.d.Path))
	}
	if err != nil {
		r.d.Log.Warn("config hot reload unavailable: cannot watch the config directory", "path", r.d.Path, "err", err)
		r.d.Status.Set("disabled")
		if w != nil {
			w.Close()
		}
		return
	}
	r.watcher = w
	r.d.Status.Set("active")
	self, sys, name := ctx.Self(), ctx.ActorSystem(), filepath.Base(r.d.Path)
	go func() {
		for {
			select {
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if filepath.Base(ev.Name) == name && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename|fsnotify.Remove) != 0 {
					sys.Root.Send(self, &fileEvent{})
				}
			case _, ok := <-w.Errors:
				if !ok {
					return
				}
			}
		}
	}()
}

func (r *reloader) fileChanged(ctx actor.Context) {
	data, err := os.ReadFile(r.d.Path)
	if errors.Is(err, fs.ErrNotExist) {
		r.d.Log.Warn("config file removed; keeping the running config", "path", r.d.Path)
		return
	}
	if err != nil {
		r.d.Log.Error("config reload: cannot read the file; keeping the running config", "path", r.d.Path, "err", err)
		return
	}
	hash := config.HashBytes(data)
	if hash == r.hash {
		return
	}
	next, err := config.Parse(r.d.Path, data)
	if err != nil {
		r.d.Log.Error("config reload: invalid file; keeping the running config", "err", err.Error())
		return
	}
	r.adopt(ctx, next, hash)
	r.closeOldSecretSockets(ctx)
}

// adopt makes next the active config and acts on what changed.
func (r *reloader) adopt(ctx actor.Context, next *config.Config, hash string) config.ReloadPlan {
	paths := config.Diff(r.cur, next)
	plan := config.Classify(paths)
	prev := r.cur
	r.cur, r.hash = next, hash
	if len(paths) == 0 {
		return plan
	}
	if plan.NeedsRestart() {
		r.d.Log.Info("config change needs a restart", "keys", strings.Join(plan.Restart, ","))
		if r.d.Restart != nil {
			r.d.Restart("config change: " + strings.Join(plan.Restart, ", "))
		}
		return plan
	}
	r.d.Log.Info("config change applied in place", "keys", strings.Join(plan.Hot, ","))
	r.d.Active.Set(next)
	r.rotateSecret(ctx, next)
	if changed(plan.Hot, "gateway.auth.rateLimit") {
		// Counts of failed attempts start over with the new limits.
		r.d.Limiter.Set(auth.NewLimiter(RateLimitFrom(next)))
	}
	if changed(plan.Hot, "gateway.reload") {
		r.rewatch(ctx)
	}
	if changed(plan.Hot, "channels.") {
		// Only the channel accounts whose settings changed restart.
		ctx.Send(r.d.Channels, &core.ConfigChanged{Prev: prev, Next: next})
	}
	if r.d.Cron != nil && (changed(plan.Hot, "agents.") || changed(plan.Hot, "cron.")) {
		// Heartbeats follow agents.*.heartbeat; scheduling follows cron.enabled.
		ctx.Send(r.d.Cron, &core.ConfigChanged{Prev: prev, Next: next})
	}
	return plan
}

// closeOldSecretSockets has the hub close the sockets that authenticated
// with a secret rotated since the last call. It runs after the answer to a
// config.apply or config.patch is sent: the caller, whose socket may be one
// of them, gets its answer first (the answer goes straight to its
// connection; the close goes through the hub, after it).
func (r *reloader) closeOldSecretSockets(ctx actor.Context) {
	if r.rotated {
		r.rotated = false
		ctx.Send(r.d.Hub, &core.SecretRotated{})
	}
}

// rotateSecret installs a changed shared secret and has the hub close the
// sockets that authenticated with the old one.
func (r *reloader) rotateSecret(ctx actor.Context, next *config.Config) {
	was := r.d.Secret.Get()
	now, err := SecretFrom(next)
	if err != nil {
		r.d.Log.Error("config reload: the new secret is unusable; keeping the old one", "err", err)
		return
	}
	if now.Generated {
		// No secret configured any more: a token nobody was shown would lock
		// every client out. Keep the one in force until the next restart.
		if !was.Generated {
			r.d.Log.Warn("gateway secret removed from the config; the old one stays in force until a restart")
		}
		return
	}
	if now.Mode == was.Mode && now.Value == was.Value {
		return
	}
	r.d.Secret.Set(now)
	r.rotated = true
}

// write validates, writes and applies a new config built by edit from the
// current one. baseHash must match the file as it is on disk now.
func (r *reloader) write(ctx actor.Context, baseHash string, edit func(current map[string]any) map[string]any) (protocol.ConfigWritten, *protocol.ErrorShape) {
	fail := func(msg string) (protocol.ConfigWritten, *protocol.ErrorShape) {
		return protocol.ConfigWritten{}, protocol.NewError(protocol.CodeInvalidRequest, msg, nil)
	}
	if err := r.checkBase(baseHash); err != nil {
		return protocol.ConfigWritten{}, err
	}
	current := config.ToMap(r.cur)
	next, err := config.RestoreRedacted(edit(current), r.cur)
	if err != nil {
		return fail("invalid config: " + err.Error())
	}
	cfg, err := config.FromMap(r.d.Path, next)
	if err != nil {
		return fail("invalid config: " + err.Error())
	}
	data, err := json.MarshalIndent(next, "", "  ")
	if err != nil {
		return fail("invalid config: " + err.Error())
	}
	data = append(data, '\n')
	return r.persist(ctx, data, cfg)
}

// persist writes a validated config file atomically and adopts cfg, the
// config it holds.
func (r *reloader) persist(ctx actor.Context, data []byte, cfg *config.Config) (protocol.ConfigWritten, *protocol.ErrorShape) {
	if err := config.WriteAtomic(r.d.Path, data); err != nil {
		return protocol.ConfigWritten{}, protocol.NewError(protocol.CodeUnavailable, "cannot write the config file: "+err.Error(), nil)
	}
	hash := config.HashBytes(data)
	r.d.Log.Info("config written over RPC", "path", r.d.Path)
	plan := r.adopt(ctx, cfg, hash)
	return protocol.ConfigWritten{OK: true, Path: r.d.Path, Hash: hash, Restart: plan.NeedsRestart(),
		Changed: append(append([]string{}, plan.Hot...), plan.Restart...)}, nil
}

// checkBase checks a write's baseHash against the file on disk now.
func (r *reloader) checkBase(baseHash string) *protocol.ErrorShape {
	onDisk := ""
	if data, err := os.ReadFile(r.d.Path); err == nil {
		onDisk = config.HashBytes(data)
	}
	if baseHash != onDisk {
		return protocol.NewError(protocol.CodeInvalidRequest, "config changed since last load",
			map[string]any{"code": "CONFIG_CHANGED", "hash": onDisk})
	}
	return nil
}

// answer replies with what write returned, or fails with its error.
func answer[P any](q *core.Request[P, protocol.ConfigWritten], write func() (protocol.ConfigWritten, *protocol.ErrorShape)) {
	res, err := write()
	if err != nil {
		q.Fail(err)
		return
	}
	q.Reply(res)
}

// changed reports whether any of the changed keys is under prefix.
func changed(keys []string, prefix string) bool {
	for _, k := range keys {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// debounce is gateway.reload.debounceMs, else DefaultDebounce.
func (r *reloader) debounce() time.Duration {
	if ms := r.cur.Gateway.Reload.DebounceMs; ms != nil {
		return time.Duration(*ms) * time.Millisecond
	}
	return DefaultDebounce
}

// unwatch stops following the file.
func (r *reloader) unwatch() {
	if r.watcher != nil {
		_ = r.watcher.Close()
		r.watcher = nil
	}
}

// rewatch applies a changed gateway.reload.mode: "off" stops following the
// file (config.apply and config.patch still work, and can turn it back on),
// "hybrid" starts again.
func (r *reloader) rewatch(ctx actor.Context) {
	r.unwatch()
	r.watch(ctx)
}

// Package reload is the config actor of DESIGN.md: it holds the active
// configuration, watches the file, and decides what a change means. Hot
// changes are applied in place (a rotated shared secret closes the sockets
// that used the old one, 4001); restart-class changes ask the Runner for an
// in-process restart. It also serves config.get, config.apply and
// config.patch, which write the file atomically and then go through the same
// logic.
package reload

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/fsnotify/fsnotify"

	"openclaw/actors/core"
	"openclaw/config"
	"openclaw/transport/protocol"
)

// Options configure the actor.
type Options struct {
	Path     string         // the config file
	Config   *config.Config // what the running generation was built from
	Hash     string         // hash of the file those bytes came from ("" = no file)
	Mode     string         // hybrid (default) or off
	Debounce time.Duration  // default 300 ms
	// Restart asks for an in-process restart (nil: log only).
	Restart func(reason string)
}

// Get, Apply and Patch are the config RPCs, sent by connection actors.
type (
	Get   struct{ core.ReqID }
	Apply struct {
		core.ReqID
		Config   map[string]any
		BaseHash string
	}
	Patch struct {
		core.ReqID
		Patch    map[string]any
		BaseHash string
	}
)

type fileEvent struct{}
type settle struct{ gen int }

type reloader struct {
	env     *core.Env
	opts    Options
	cur     *config.Config
	hash    string
	watcher *fsnotify.Watcher
	pending int // debounce generation
}

// Props builds the config actor.
func Props(env *core.Env, opts Options) *actor.Props {
	if opts.Mode == "" {
		opts.Mode = "hybrid"
	}
	if opts.Debounce <= 0 {
		opts.Debounce = 300 * time.Millisecond
	}
	if opts.Config == nil {
		opts.Config = &config.Config{}
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &reloader{env: env, opts: opts, cur: opts.Config, hash: opts.Hash}
	})
}

func (r *reloader) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		r.watch(ctx)
	case *actor.Stopping:
		if r.watcher != nil {
			_ = r.watcher.Close()
		}
	case *fileEvent:
		// Editors write in bursts (truncate, write, rename): act once the
		// file has been quiet for the debounce interval.
		r.pending++
		gen := r.pending
		self, sys := ctx.Self(), ctx.ActorSystem()
		time.AfterFunc(r.opts.Debounce, func() { sys.Root.Send(self, &settle{gen: gen}) })
	case *settle:
		if m.gen == r.pending {
			r.fileChanged()
		}
	case *Get:
		ctx.Respond(&core.Reply{ReqID: m.ID, Payload: map[string]any{
			"path": r.opts.Path, "hash": r.hash, "config": config.Redact(r.cur),
		}})
	case *Apply:
		ctx.Respond(r.write(m.ID, m.BaseHash, func(current map[string]any) map[string]any { return m.Config }))
	case *Patch:
		ctx.Respond(r.write(m.ID, m.BaseHash, func(current map[string]any) map[string]any {
			return config.MergePatch(current, m.Patch)
		}))
	}
}

// watch follows the file's directory, not the file: editors that save by
// writing a new file and renaming it over the old one replace the inode a
// file watch would follow.
func (r *reloader) watch(ctx actor.Context) {
	if r.opts.Mode == "off" {
		r.env.ReloadStatus.Store("disabled")
		return
	}
	w, err := fsnotify.NewWatcher()
	if err == nil {
		err = w.Add(filepath.Dir(r.opts.Path))
	}
	if err != nil {
		r.env.Log.Warn("config hot reload unavailable: cannot watch the config directory", "path", r.opts.Path, "err", err)
		r.env.ReloadStatus.Store("disabled")
		if w != nil {
			w.Close()
		}
		return
	}
	r.watcher = w
	r.env.ReloadStatus.Store("active")
	self, sys, name := ctx.Self(), ctx.ActorSystem(), filepath.Base(r.opts.Path)
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

func (r *reloader) fileChanged() {
	data, err := os.ReadFile(r.opts.Path)
	if errors.Is(err, fs.ErrNotExist) {
		r.env.Log.Warn("config file removed; keeping the running config", "path", r.opts.Path)
		return
	}
	if err != nil {
		r.env.Log.Error("config reload: cannot read the file; keeping the running config", "path", r.opts.Path, "err", err)
		return
	}
	hash := config.HashBytes(data)
	if hash == r.hash {
		return
	}
	next, err := config.Parse(r.opts.Path, data)
	if err != nil {
		r.env.Log.Error("config reload: invalid file; keeping the running config", "err", err.Error())
		return
	}
	r.adopt(next, hash)
}

// adopt makes next the active config and acts on what changed.
func (r *reloader) adopt(next *config.Config, hash string) config.ReloadPlan {
	paths := config.Diff(r.cur, next)
	plan := config.Classify(paths)
	prev := r.cur
	r.cur, r.hash = next, hash
	if len(paths) == 0 {
		return plan
	}
	if plan.NeedsRestart() {
		r.env.Log.Info("config change needs a restart", "keys", strings.Join(plan.Restart, ","))
		if r.opts.Restart != nil {
			r.opts.Restart("config change: " + strings.Join(plan.Restart, ", "))
		}
		return plan
	}
	r.env.Log.Info("config change applied in place", "keys", strings.Join(plan.Hot, ","))
	r.env.SetConfig(next)
	r.rotateSecret(prev, next)
	for _, k := range plan.Hot {
		if strings.HasPrefix(k, "channels.") && r.env.Channels != nil {
			// Only the channel accounts whose settings changed restart.
			r.env.System.Root.Send(r.env.Channels, &core.ConfigChanged{Prev: prev, Next: next})
			break
		}
	}
	return plan
}

// rotateSecret installs a changed shared secret and has the hub close the
// sockets that authenticated with the old one.
func (r *reloader) rotateSecret(prev, next *config.Config) {
	was := r.env.Secret()
	now, err := SecretFrom(next)
	if err != nil {
		r.env.Log.Error("config reload: the new secret is unusable; keeping the old one", "err", err)
		return
	}
	if now.Generated {
		// No secret configured any more: a token nobody was shown would lock
		// every client out. Keep the one in force until the next restart.
		if !was.Generated {
			r.env.Log.Warn("gateway secret removed from the config; the old one stays in force until a restart")
		}
		return
	}
	if now.Mode == was.Mode && now.Value == was.Value {
		return
	}
	r.env.SetSecret(now)
	r.env.System.Root.Send(r.env.Hub, &core.SecretRotated{})
}

// write validates, writes and applies a new config built by edit from the
// current one. baseHash must match the file as it is on disk now.
func (r *reloader) write(reqID, baseHash string, edit func(current map[string]any) map[string]any) *core.Reply {
	fail := func(msg string) *core.Reply {
		return &core.Reply{ReqID: reqID, Err: protocol.NewError(protocol.CodeInvalidRequest, msg, nil)}
	}
	onDisk := ""
	if data, err := os.ReadFile(r.opts.Path); err == nil {
		onDisk = config.HashBytes(data)
	}
	if baseHash != onDisk {
		return &core.Reply{ReqID: reqID, Err: protocol.NewError(protocol.CodeInvalidRequest, "config changed since last load",
			map[string]any{"code": "CONFIG_CHANGED", "hash": onDisk})}
	}
	current := config.ToMap(r.cur)
	next, err := config.RestoreRedacted(edit(current), r.cur)
	if err != nil {
		return fail("invalid config: " + err.Error())
	}
	cfg, err := config.FromMap(r.opts.Path, next)
	if err != nil {
		return fail("invalid config: " + err.Error())
	}
	data, err := json.MarshalIndent(next, "", "  ")
	if err != nil {
		return fail("invalid config: " + err.Error())
	}
	data = append(data, '\n')
	if err := config.WriteAtomic(r.opts.Path, data); err != nil {
		return &core.Reply{ReqID: reqID, Err: protocol.NewError(protocol.CodeUnavailable, "cannot write the config file: "+err.Error(), nil)}
	}
	hash := config.HashBytes(data)
	r.env.Log.Info("config written over RPC", "path", r.opts.Path)
	plan := r.adopt(cfg, hash)
	return &core.Reply{ReqID: reqID, Payload: map[string]any{
		"ok": true, "path": r.opts.Path, "hash": hash, "restart": plan.NeedsRestart(),
		"changed": append(append([]string{}, plan.Hot...), plan.Restart...),
	}}
}

// Package presence is the presence registry actor: the roster of who is
// connected (docs/PROTOCOL.md §7), its TTL and cap, the presence
// stateVersion, and the roster broadcast to readers on every change. It
// serves system-presence and system-event.
package presence

import (
	"fmt"
	"log/slog"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/core"
	"openclaw/actors/methods"
	"openclaw/transport/protocol"
)

// Deps is what the presence actor is built with.
type Deps struct {
	Hub *actor.PID // where roster broadcasts go
	// Roster and Versions are published for hello-ok's snapshot.
	Roster   *core.Live[[]protocol.PresenceEntry]
	Versions *core.StateVersions
	// TTL is how long a disconnected or event row stays.
	TTL  time.Duration
	Self Self
	Log  *slog.Logger
	// Cluster, in cluster mode, gets this gateway's rows instead of the
	// hub: the cluster actor merges every gateway's into the roster, sets
	// Roster and Versions.Presence, and broadcasts. Nil for a single
	// gateway.
	Cluster *actor.PID
}

// Self describes the gateway's own row.
type Self struct {
	Host, IP, Platform, DeviceFamily string
	Version                          string
	InstanceID                       string // per gateway generation
}

// What a client can put into the roster, which every reader receives in
// every presence event and hello-ok: each string field at most maxField
// bytes, the text maxText, each list maxItems of maxField. Longer values are
// cut (on a UTF-8 boundary, marked with …), so the roster of MaxRows rows
// stays well under a megabyte.
const (
	maxField = 256
	maxText  = 1024
	maxItems = 32
)

// DefaultTTL is how long a row outlives its connection.
const DefaultTTL = 5 * time.Minute

// maxSweep bounds the interval between expiry sweeps.
const maxSweep = 30 * time.Second

// MaxRows caps the roster; the oldest rows go first.
const MaxRows = 200

// coalesce is the shortest gap between two roster broadcasts. A burst of
// connects (a fleet reconnecting after a restart) becomes a few broadcasts
// instead of one per socket to every reader, which would be quadratic.
const coalesce = 50 * time.Millisecond

type row struct {
	entry protocol.PresenceEntry
	live  bool // a connected socket: never expires
	self  bool
	seen  time.Time
	order int64 // update counter: orders rows updated in the same millisecond
	conn  string
}

type registry struct {
	d       Deps
	rows    map[string]*row
	updates int64

	lastBroadcast time.Time
	pending       bool // a trailing broadcast is scheduled
	now           func() time.Time
	timers        core.Timers
}

type sweep struct{}
type flush struct{}

// Props builds the presence actor.
func Props(d Deps) *actor.Props {
	if d.TTL <= 0 {
		d.TTL = DefaultTTL
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &registry{d: d, rows: make(map[string]*row), now: time.Now}
	})
}

func (r *registry) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		r.addSelf()
		r.changed(ctx)
		r.every(ctx, r.d.TTL/5, &sweep{})
	case *actor.Stopping:
		r.timers.Stop()
	case *core.PresenceConnect:
		e := bounded(m.Entry)
		e.TS = r.now().UnixMilli()
		e.Reason = "connect"
		r.rows[m.Key] = &row{entry: e, live: true, seen: r.now(), order: r.next(), conn: m.ConnID}
		r.enforceCap()
		r.changed(ctx)
	case *core.PresenceDisconnect:
		if rw := r.rows[m.Key]; rw != nil && rw.live && rw.conn == m.ConnID {
			rw.live = false
			rw.seen = r.now()
			rw.order = r.next()
			rw.entry.Reason = "disconnect"
			rw.entry.TS = rw.seen.UnixMilli()
			r.changed(ctx)
		}
	case *methods.SystemPresence:
		if r.d.Cluster != nil {
			m.Reply(r.d.Roster.Get())
			return
		}
		m.Reply(r.list())
	case *methods.SystemEvent:
		r.systemEvent(m.Params)
		r.changed(ctx)
		m.Reply(protocol.OKResult{OK: true})
	case *sweep:
		if r.expire() {
			r.changed(ctx)
		}
		r.every(ctx, r.d.TTL/5, &sweep{})
	case *flush:
		r.pending = false
		r.broadcast(ctx)
	}
}

func (r *registry) every(ctx actor.Context, d time.Duration, msg any) {
	if d <= 0 || d > maxSweep {
		d = maxSweep
	}
	r.timers.After(ctx, d, msg)
}

func (r *registry) addSelf() {
	h := r.d.Self
	r.rows["self:"+h.InstanceID] = &row{self: true, live: true, seen: r.now(), entry: protocol.PresenceEntry{
		Host: h.Host, IP: h.IP, Version: h.Version, Platform: h.Platform, DeviceFamily: h.DeviceFamily,
		Mode: "gateway", Reason: "self", InstanceID: h.InstanceID, TS: r.now().UnixMilli(),
		Text: fmt.Sprintf("Gateway: %s (%s) · app %s · mode gateway · reason self", h.Host, h.IP, h.Version),
	}}
}

// systemEvent upserts the row a system-event describes, keyed by the most
// stable identity it carries.
func (r *registry) systemEvent(p protocol.SystemEventParams) {
	key := firstNonEmpty(p.DeviceID, p.InstanceID, p.Host, p.IP)
	if key == "" {
		key = p.Text
		if len(key) > 64 {
			key = key[:64]
		}
	}
	key = "event:" + cut(key, maxField)
	r.rows[key] = &row{seen: r.now(), order: r.next(), entry: bounded(protocol.PresenceEntry{
		Host: p.Host, IP: p.IP, Version: p.Version, Platform: p.Platform, DeviceFamily: p.DeviceFamily,
		ModelIdentifier: p.ModelIdentifier, Mode: p.Mode, LastInputSeconds: p.LastInputSeconds,
		Reason: p.Reason, Tags: p.Tags, Text: p.Text, TS: r.now().UnixMilli(), DeviceID: p.DeviceID,
		Roles: p.Roles, Scopes: p.Scopes, InstanceID: p.InstanceID,
	})}
	text := cut(p.Text, maxLogText) // a note can be long; the log needs the gist
	// Debug, not info: a client may post thousands, and each would be a
	// line in the log file.
	r.d.Log.Debug("system event", "text", text, "bytes", len(p.Text), "sessionKey", p.SessionKey)
	r.enforceCap()
}

// expire drops rows not refreshed within the TTL; live rows (connected
// sockets) and the gateway's own row stay.
func (r *registry) expire() bool {
	cut := r.now().Add(-r.d.TTL)
	dropped := false
	for k, rw := range r.rows {
		if !rw.live && rw.seen.Before(cut) {
			delete(r.rows, k)
			dropped = true
		}
	}
	return dropped
}

// enforceCap keeps at most MaxRows, evicting the oldest rows that are not
// connected first, then the oldest connected ones; never the self row.
func (r *registry) enforceCap() {
	for len(r.rows) > MaxRows {
		var oldestKey string
		var oldest *row
		for k, rw := range r.rows {
			if rw.self {
				continue
			}
			if oldest == nil || (oldest.live && !rw.live) || (oldest.live == rw.live && rw.order < oldest.order) {
				oldestKey, oldest = k, rw
			}
		}
		if oldest == nil {
			return
		}
		delete(r.rows, oldestKey)
	}
}

func (r *registry) next() int64 { r.updates++; return r.updates }

// list is the roster, newest first (by ts, then by update order).
func (r *registry) list() []protocol.PresenceEntry {
	rows := make([]*row, 0, len(r.rows))
	for _, rw := range r.rows {
		rows = append(rows, rw)
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].entry.TS != rows[j].entry.TS {
			return rows[i].entry.TS > rows[j].entry.TS
		}
		return rows[i].order > rows[j].order
	})
	out := make([]protocol.PresenceEntry, len(rows))
	for i, rw := range rows {
		out[i] = rw.entry
	}
	return out
}

// changed publishes the new roster snapshot and broadcasts it, at most once
// per coalesce interval (a change inside the interval is sent at its end).
func (r *registry) changed(ctx actor.Context) {
	if r.pending {
		return
	}
	wait := coalesce - r.now().Sub(r.lastBroadcast)
	if wait <= 0 {
		r.broadcast(ctx)
		return
	}
	r.pending = true
	r.timers.After(ctx, wait, &flush{})
}

func (r *registry) broadcast(ctx actor.Context) {
	r.lastBroadcast = r.now()
	roster := r.list()
	if r.d.Cluster != nil {
		ctx.Send(r.d.Cluster, &core.LocalRoster{Rows: roster})
		return
	}
	r.d.Roster.Set(roster)
	r.d.Versions.Presence.Add(1)
	ctx.Send(r.d.Hub, &core.Publish{B: methods.Presence.Broadcast(protocol.PresenceEvent{Presence: roster}, r.d.Versions.Current())})
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// maxLogText is how much of a system event's text is logged.
const maxLogText = 200

// bounded cuts an entry's fields to the roster's limits.
func bounded(e protocol.PresenceEntry) protocol.PresenceEntry {
	for _, f := range []*string{&e.Host, &e.IP, &e.Version, &e.Platform, &e.DeviceFamily, &e.ModelIdentifier,
		&e.Mode, &e.Reason, &e.DeviceID, &e.InstanceID, &e.ClientID} {
		*f = cut(*f, maxField)
	}
	e.Text = cut(e.Text, maxText)
	e.Tags, e.Roles, e.Scopes = cutList(e.Tags), cutList(e.Roles), cutList(e.Scopes)
	return e
}

func cutList(l []string) []string {
	if len(l) > maxItems {
		l = l[:maxItems]
	}
	out := make([]string, len(l))
	for i, v := range l {
		out[i] = cut(v, maxField)
	}
	if l == nil {
		return nil
	}
	return out
}

// cut shortens s to at most max bytes on a UTF-8 boundary, ending in …
// when it cut.
func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const ellipsis = "…"
	end := max - len(ellipsis)
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + ellipsis
}

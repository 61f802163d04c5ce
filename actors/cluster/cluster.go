// Package cluster is the actor that joins a gateway to the others of its
// cluster over NATS (transport/natsbus): it merges every gateway's presence
// rows into one roster (a JetStream KV bucket, whose revision is the
// cluster-wide presence stateVersion), delivers the other gateways'
// broadcasts to this gateway's hub, routes requests for what another
// gateway holds (a node, a run) through NATS request/reply, and tracks which
// gateways are alive from their heartbeats. docs/ARCHITECTURE.md "Cluster
// mode" has the subjects, buckets and failure cases.
package cluster

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"openclaw/actors/core"
	"openclaw/actors/methods"
	"openclaw/metrics"
	"openclaw/transport/natsbus"
	"openclaw/transport/protocol"
)

// Liveness: every gateway publishes a heartbeat every HeartbeatEvery; one
// not heard from for PeerTimeout is dead, and its rows are dropped at the
// next sweep (every sweepEvery). A gateway that dies has its presence rows
// gone from every other gateway within PeerTimeout + sweepEvery (+ the
// coalesced broadcast): 11 s, inside the 15 s the issue allows.
const (
	HeartbeatEvery = 2 * time.Second
	PeerTimeout    = 10 * time.Second
	sweepEvery     = time.Second
)

// retryEvery is how often the bucket's creation and a failed presence put
// are retried: while the cluster forms (JetStream needs a quorum of its
// servers) or while a JetStream leader is being elected.
const retryEvery = 500 * time.Millisecond

// opTimeout bounds one JetStream operation (a put, a delete, an info).
const opTimeout = 3 * time.Second

// statusEvery is how often the buckets' replication state is read for
// health: one JetStream API request per page of buckets.
const statusEvery = 5 * time.Second

// goneKeep is how long a gateway that left or timed out stays in status,
// not alive, so an operator sees what was lost.
const goneKeep = time.Hour

// Handler serves a request another gateway routed here: it decodes the
// params, asks the local owner (the request marked Routed) and returns the
// encoded result or the error.
type Handler func(root *actor.RootContext, caller *core.Peer, params json.RawMessage, timeout time.Duration) (json.RawMessage, *protocol.ErrorShape)

// Serve is the Handler of a method whose owner is pid.
func Serve[P, R any](pid *actor.PID) Handler {
	return func(root *actor.RootContext, caller *core.Peer, raw json.RawMessage, timeout time.Duration) (json.RawMessage, *protocol.ErrorShape) {
		var p P
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, protocol.NewError(protocol.CodeInvalidRequest, "cluster: undecodable params: "+err.Error(), nil)
		}
		res, e := core.AskRouted[P, R](root, pid, caller, p, timeout)
		if e != nil {
			return nil, e
		}
		b, err := json.Marshal(res)
		if err != nil {
			return nil, protocol.NewError(protocol.CodeUnavailable, "cluster: unencodable result: "+err.Error(), nil)
		}
		return b, nil
	}
}

// Deps is what the cluster actor is built with.
type Deps struct {
	Bus *natsbus.Bus
	Hub *actor.PID // where the other gateways' broadcasts and device closings go
	// Handlers serve routed requests, by method name ("node.invoke").
	Handlers map[string]Handler
	// Roster and Versions.Presence are set here in cluster mode (the
	// presence actor hands its rows over instead).
	Roster   *core.Live[[]protocol.PresenceEntry]
	Versions *core.StateVersions
	// Status is the cluster for health and status.
	Status *core.Live[*protocol.ClusterStatus]
	// Metrics are the per-peer and JetStream figures of /metrics (nil:
	// counted nowhere).
	Metrics *metrics.Cluster
	Log     *slog.Logger
}

// Props builds the cluster actor.
func Props(d Deps) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		if d.Metrics == nil {
			d.Metrics = metrics.New(metrics.Options{}).NewCluster()
		}
		return &clusterActor{d: d, peers: map[string]*peer{}, gone: map[string]*gonePeer{}, claims: map[string]*nats.Subscription{}}
	})
}

type peer struct {
	started  int64
	lastSeen time.Time
	rows     []protocol.PresenceEntry
	// rev is the bucket revision rows came from: a fetch answered after a
	// newer watch update must not put older rows back.
	rev uint64
}

// gonePeer is a gateway no longer alive, kept for status.
type gonePeer struct {
	started  int64
	lastSeen time.Time
	why      string // "left" or "timeout"
}

type clusterActor struct {
	d       Deps
	self    *actor.PID
	root    *actor.RootContext
	started time.Time
	local   []protocol.PresenceEntry // this gateway's rows
	peers   map[string]*peer
	gone    map[string]*gonePeer
	rev     uint64 // the presence bucket's last revision seen
	claims  map[string]*nats.Subscription
	subs    []*nats.Subscription
	writer  *writer
	bucket  *protocol.ClusterBucket  // the presence bucket's
	buckets []protocol.ClusterBucket // every bucket of the cluster
	stop    context.CancelFunc
	timers  core.Timers
}

// Messages from the actor's goroutines.
type (
	heartbeat struct {
		Node    string `json:"node"`
		Started int64  `json:"startedMs"`
		// Leaving: the gateway is stopping; the others drop its rows now
		// instead of after PeerTimeout.
		Leaving bool `json:"leaving,omitempty"`
	}
	kvReady  struct{ kv jetstream.KeyValue }
	kvUpdate struct {
		node    string
		rows    []protocol.PresenceEntry
		rev     uint64
		deleted bool
		initial bool
	}
	putDone    struct{ rev uint64 }
	bucketInfo struct{ bs []protocol.ClusterBucket }
	tick       struct{}
	sweep      struct{}
)

func (c *clusterActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		c.start(ctx)
	case *actor.Stopping:
		c.timers.Stop()
		c.stop()
		// A gateway that stops says so (a crashed one cannot: its peers
		// time it out). Nothing is waited for.
		b, _ := json.Marshal(heartbeat{Node: c.d.Bus.Node, Leaving: true})
		_ = c.d.Bus.Conn.Publish(c.d.Bus.Subject("heartbeat"), b)
		for _, s := range c.subs {
			_ = s.Unsubscribe()
		}
		for _, s := range c.claims {
			_ = s.Unsubscribe()
		}
	case *core.LocalRoster:
		c.local = m.Rows
		c.writer.set(c.local)
		if c.writer.bucket() == nil {
			// The cluster is forming: show this gateway's rows now; the
			// version moves once the bucket takes them.
			c.publish(ctx)
		}
	case *heartbeat:
		if m.Leaving {
			if c.peers[m.Node] != nil {
				c.d.Log.Info("cluster: gateway left", "node", m.Node)
				c.drop(m.Node, "left")
				c.setStatus()
				c.publish(ctx)
			} else if g := c.gone[m.Node]; g != nil && g.why != "left" {
				g.why = "left" // another gateway's delete of its rows came first
				c.setStatus()
			}
			return
		}
		p := c.peers[m.Node]
		if p == nil {
			c.d.Log.Info("cluster: gateway joined", "node", m.Node)
			p = &peer{}
			c.peers[m.Node] = p
			delete(c.gone, m.Node)
			c.fetch(m.Node) // its rows, which arrived while it was unknown
		}
		p.started, p.lastSeen = m.Started, time.Now()
		c.setStatus()
	case *kvReady:
		c.d.Log.Info("cluster: presence bucket ready", "bucket", c.d.Bus.Bucket("presence"), "replicas", c.d.Bus.Replicas)
		c.writer.ready(m.kv)
		c.writer.set(c.local)
	case *kvUpdate:
		c.apply(ctx, m)
	case *putDone:
		if m.rev > c.rev {
			c.rev = m.rev
			c.publish(ctx)
		}
	case *bucketInfo:
		c.buckets, c.bucket = m.bs, nil
		for i := range m.bs {
			if m.bs[i].Bucket == c.d.Bus.Bucket("presence") {
				c.bucket = &m.bs[i]
			}
		}
		c.setStatus()
	case *tick:
		c.beat()
		c.timers.After(ctx, HeartbeatEvery, &tick{})
	case *sweep:
		c.sweep(ctx)
		c.timers.After(ctx, sweepEvery, &sweep{})
	case *core.Claim:
		c.claim(m.Key)
	case *core.Release:
		if s := c.claims[m.Key]; s != nil {
			_ = s.Unsubscribe()
			delete(c.claims, m.Key)
		}
	case *core.Elsewhere:
		go c.route(m)
	}
}

func (c *clusterActor) start(ctx actor.Context) {
	c.self, c.root, c.started = ctx.Self(), ctx.ActorSystem().Root, time.Now()
	var bg context.Context
	bg, c.stop = context.WithCancel(context.Background())
	b := c.d.Bus
	c.writer = newWriter(b.Node, c.root, c.self, c.d.Log, c.d.Metrics)
	go c.writer.run(bg)
	sub := func(subject string, h nats.MsgHandler) {
		s, err := b.Conn.Subscribe(subject, h)
		if err != nil {
			c.d.Log.Error("cluster: subscribe", "subject", subject, "err", err)
			return
		}
		c.subs = append(c.subs, s)
	}
	// Broadcasts of the other gateways, straight to the hub: one
	// subscription delivers in the order each gateway published. The
	// last subject token names the sender (counted per peer); the
	// callbacks of one subscription run one at a time, so the map needs
	// no lock.
	prefix := b.Subject("events") + "."
	received := map[string]interface{ Inc() }{}
	sub(prefix+"*", func(msg *nats.Msg) {
		n := received[msg.Subject]
		if n == nil {
			n = c.d.Metrics.EventsReceived(strings.TrimPrefix(msg.Subject, prefix))
			received[msg.Subject] = n
		}
		n.Inc()
		bs, err := natsbus.DecodeBroadcasts(msg.Data)
		if err != nil {
			c.d.Log.Warn("cluster: dropped a malformed events message", "err", err)
			return
		}
		c.root.Send(c.d.Hub, &core.Publish{B: bs[0], Also: bs[1:], Remote: true})
	})
	sub(b.Subject("close"), func(msg *nats.Msg) {
		var cd core.CloseDevice
		if json.Unmarshal(msg.Data, &cd) == nil {
			cd.Remote = true
			c.root.Send(c.d.Hub, &cd)
		}
	})
	sub(b.Subject("heartbeat"), func(msg *nats.Msg) {
		var hb heartbeat
		if json.Unmarshal(msg.Data, &hb) == nil && hb.Node != "" && hb.Node != b.Node {
			c.root.Send(c.self, &hb)
		}
	})
	go c.open(bg)
	c.beat()
	c.setStatus()
	c.timers.After(ctx, HeartbeatEvery, &tick{})
	c.timers.After(ctx, sweepEvery, &sweep{})
}

// open creates (or finds) the presence bucket, retrying until the cluster
// has the quorum JetStream needs, then watches it.
func (c *clusterActor) open(ctx context.Context) {
	b := c.d.Bus
	cfg := jetstream.KeyValueConfig{Bucket: b.Bucket("presence"), History: 1, Storage: jetstream.MemoryStorage,
		Replicas: b.Replicas, Description: "openclaw presence rows, one key per gateway"}
	var kv jetstream.KeyValue
	for {
		octx, cancel := context.WithTimeout(ctx, opTimeout)
		var err error
		kv, err = b.JS.CreateOrUpdateKeyValue(octx, cfg)
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		c.d.Log.Debug("cluster: presence bucket not ready yet", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(retryEvery):
		}
	}
	c.root.Send(c.self, &kvReady{kv: kv})
	go c.status(ctx, kv)
	for ctx.Err() == nil {
		w, err := kv.WatchAll(ctx)
		if err != nil {
			c.d.Metrics.JetStreamError(metrics.JSWatch)
			time.Sleep(retryEvery)
			continue
		}
		initial := true
		for e := range w.Updates() {
			if e == nil { // the initial values are in
				initial = false
				continue
			}
			u := &kvUpdate{node: e.Key(), rev: e.Revision(), initial: initial,
				deleted: e.Operation() != jetstream.KeyValuePut}
			if !u.deleted && json.Unmarshal(e.Value(), &u.rows) != nil {
				continue
			}
			c.root.Send(c.self, u)
		}
		_ = w.Stop()
	}
}

// status reads the replication state of the cluster's buckets for health,
// now and then: the presence bucket and the durable state's (jsstore names
// them "<cluster>_<what>").
func (c *clusterActor) status(ctx context.Context, kv jetstream.KeyValue) {
	ours := func(name string) bool {
		return name == c.d.Bus.Bucket("presence") || strings.HasPrefix(name, c.d.Bus.Name+"_")
	}
	for {
		octx, cancel := context.WithTimeout(ctx, opTimeout)
		var bs []protocol.ClusterBucket
		l := c.d.Bus.JS.KeyValueStores(octx)
		for st := range l.Status() { // drained whole: the lister's goroutine ends with it
			js, ok := st.(*jetstream.KeyValueBucketStatus)
			if !ok || !ours(st.Bucket()) {
				continue
			}
			info := js.StreamInfo()
			b := protocol.ClusterBucket{Bucket: st.Bucket(), Replicas: info.Config.Replicas, Current: 1}
			if info.Cluster != nil {
				b.Leader = info.Cluster.Leader
				for _, r := range info.Cluster.Replicas {
					b.Lag = max(b.Lag, r.Lag)
					if r.Current {
						b.Current++
					}
				}
			}
			bs = append(bs, b)
		}
		err := l.Error()
		cancel()
		if err != nil {
			c.d.Metrics.JetStreamError(metrics.JSBucketStatus)
		} else {
			sort.Slice(bs, func(i, j int) bool { return bs[i].Bucket < bs[j].Bucket })
			c.root.Send(c.self, &bucketInfo{bs: bs})
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(statusEvery):
		}
	}
}

// fetch reads one gateway's rows (one that just joined).
func (c *clusterActor) fetch(node string) {
	kv := c.writer.bucket()
	if kv == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		e, err := kv.Get(ctx, node)
		if err != nil {
			return
		}
		u := &kvUpdate{node: node, rev: e.Revision()}
		if json.Unmarshal(e.Value(), &u.rows) == nil {
			c.root.Send(c.self, u)
		}
	}()
}

// apply takes one change of the presence bucket.
func (c *clusterActor) apply(ctx actor.Context, u *kvUpdate) {
	me := c.d.Bus.Node
	advanced := u.rev > c.rev
	if advanced {
		c.rev = u.rev
	}
	switch {
	case u.node == me:
		if u.deleted {
			// A peer took this gateway for dead (a pause, a cut): put the
			// rows back.
			c.writer.set(c.local)
			return
		}
		if !advanced {
			return // its put's answer came first and was published
		}
	case u.deleted:
		// Another gateway found it dead (or it left): so is it here. A
		// gateway that was only paused comes back with its next heartbeat
		// and puts its rows again.
		c.forget(u.node, "dropped")
		c.setStatus()
	default:
		p := c.peers[u.node]
		if p == nil {
			if !u.initial {
				return // a gateway not (or no longer) heard from
			}
			// Present before this gateway started: alive until its
			// heartbeats say otherwise, within PeerTimeout.
			p = &peer{lastSeen: time.Now()}
			c.peers[u.node] = p
		}
		if u.rev <= p.rev {
			return // older than the rows already taken (a late fetch)
		}
		p.rows, p.rev = u.rows, u.rev
	}
	c.publish(ctx)
}

// sweep drops the gateways not heard from within PeerTimeout: their rows
// go from the roster, and from the bucket (any survivor may delete them;
// the first delete wins, the others change nothing).
func (c *clusterActor) sweep(ctx actor.Context) {
	cut := time.Now().Add(-PeerTimeout)
	dropped := false
	for node, p := range c.peers {
		if p.lastSeen.Before(cut) {
			c.d.Log.Warn("cluster: gateway gone (no heartbeat)", "node", node, "timeout", PeerTimeout)
			c.drop(node, "timeout")
			dropped = true
		}
	}
	for node, g := range c.gone {
		if time.Since(g.lastSeen) > goneKeep {
			delete(c.gone, node)
		}
	}
	if dropped {
		c.setStatus()
		c.publish(ctx)
	}
}

// drop forgets a gateway and deletes its rows from the bucket.
func (c *clusterActor) drop(node, why string) {
	c.forget(node, why)
	c.writer.remove(node)
}

// forget drops a gateway from the peers; status keeps it, not alive, with
// why ("left", "timeout", or "dropped": another gateway deleted its rows
// first). A peer known only from its rows in the bucket (its heartbeats
// not heard yet: a NATS route still forming) is kept too, its start
// unknown: its rows were listed, so its going is news to the operator.
func (c *clusterActor) forget(node, why string) {
	if p := c.peers[node]; p != nil {
		c.gone[node] = &gonePeer{started: p.started, lastSeen: p.lastSeen, why: why}
	}
	delete(c.peers, node)
}

// publish merges the rows of every gateway into the roster and broadcasts
// it with the bucket's revision as its presence stateVersion.
func (c *clusterActor) publish(ctx actor.Context) {
	me := c.d.Bus.Node
	n := len(c.local)
	for _, p := range c.peers {
		n += len(p.rows)
	}
	roster := make([]protocol.PresenceEntry, 0, n)
	for _, e := range c.local {
		e.Gateway = me
		roster = append(roster, e)
	}
	for node, p := range c.peers {
		for _, e := range p.rows {
			e.Gateway = node
			roster = append(roster, e)
		}
	}
	sort.SliceStable(roster, func(i, j int) bool { return roster[i].TS > roster[j].TS })
	c.d.Roster.Set(roster)
	if int64(c.rev) > c.d.Versions.Presence.Load() {
		c.d.Versions.Presence.Store(int64(c.rev))
	}
	ctx.Send(c.d.Hub, &core.Publish{B: methods.Presence.Broadcast(protocol.PresenceEvent{Presence: roster}, c.d.Versions.Current()),
		Remote: true})
}

// beat publishes this gateway's heartbeat.
func (c *clusterActor) beat() {
	b, _ := json.Marshal(heartbeat{Node: c.d.Bus.Node, Started: c.started.UnixMilli()})
	_ = c.d.Bus.Conn.Publish(c.d.Bus.Subject("heartbeat"), b)
}

// setStatus publishes the cluster for health and status, and the view
// /metrics reports.
func (c *clusterActor) setStatus() {
	b := c.d.Bus
	s := &protocol.ClusterStatus{Name: b.Name, Node: b.Node, Presence: c.bucket, Buckets: c.buckets,
		Members: []protocol.ClusterMember{{Node: b.Node, Self: true, Alive: true, StartedMs: c.started.UnixMilli(),
			LastHeartbeatMs: time.Now().UnixMilli()}},
		NATS: protocol.ClusterNATS{Connected: b.Conn.IsConnected(), Embedded: b.Embedded(), Routes: b.Routes(),
			JetStreamLeader: b.JetStreamLeader()}}
	view := metrics.ClusterView{}
	for node, p := range c.peers {
		if p.started != 0 {
			s.Members = append(s.Members, protocol.ClusterMember{Node: node, StartedMs: p.started, Alive: true,
				LastHeartbeatMs: p.lastSeen.UnixMilli()})
			view.Peers = append(view.Peers, metrics.ClusterPeer{Name: node, LastSeen: p.lastSeen})
		}
	}
	for node, g := range c.gone {
		s.Members = append(s.Members, protocol.ClusterMember{Node: node, StartedMs: g.started,
			LastHeartbeatMs: g.lastSeen.UnixMilli(), Gone: g.why})
	}
	sort.Slice(s.Members, func(i, j int) bool { return s.Members[i].Node < s.Members[j].Node })
	c.d.Status.Set(s)
	for _, bk := range c.buckets {
		view.Buckets = append(view.Buckets, metrics.ClusterBucket{Name: bk.Bucket, Lag: bk.Lag, Replicas: bk.Replicas, Current: bk.Current})
	}
	c.d.Metrics.SetView(view)
}

// ---- routing ----

// routeRequest and routeReply are the request/reply envelopes.
type routeRequest struct {
	Method string `json:"method"`
	// From is the asking gateway, Node (in the reply) the answering one:
	// for the per-peer counts of /metrics.
	From      string          `json:"from,omitempty"`
	Caller    *wirePeer       `json:"caller,omitempty"`
	Params    json.RawMessage `json:"params"`
	TimeoutMs int64           `json:"timeoutMs"`
}

type wirePeer struct {
	ConnID   string   `json:"connId"`
	Role     string   `json:"role"`
	Scopes   []string `json:"scopes"`
	DeviceID string   `json:"deviceId,omitempty"`
}

type routeReply struct {
	Node   string               `json:"node,omitempty"`
	Result json.RawMessage      `json:"result,omitempty"`
	Error  *protocol.ErrorShape `json:"error,omitempty"`
}

// subject is where requests for key go: "<prefix>.route.<kind>.<id>", the
// id base64url-encoded (any id becomes one subject token).
func (c *clusterActor) subject(key string) string {
	kind, id, _ := strings.Cut(key, ".")
	return c.d.Bus.Subject("route", kind, base64.RawURLEncoding.EncodeToString([]byte(id)))
}

// claim answers the requests for key here.
func (c *clusterActor) claim(key string) {
	if c.claims[key] != nil {
		return
	}
	s, err := c.d.Bus.Conn.Subscribe(c.subject(key), func(msg *nats.Msg) {
		go c.serve(msg)
	})
	if err != nil {
		c.d.Log.Error("cluster: claim", "key", key, "err", err)
		return
	}
	c.claims[key] = s
}

// serve answers one routed request (on its own goroutine: it waits for
// the local owner).
func (c *clusterActor) serve(msg *nats.Msg) {
	var req routeRequest
	rep := routeReply{Node: c.d.Bus.Node}
	err := json.Unmarshal(msg.Data, &req)
	if req.From != "" {
		c.d.Metrics.Served(req.From)
	} else {
		c.d.Metrics.Served(metrics.PeerUnknown)
	}
	h := c.d.Handlers[req.Method]
	switch {
	case err != nil:
		rep.Error = protocol.NewError(protocol.CodeInvalidRequest, "cluster: malformed routed request", nil)
	case h == nil:
		rep.Error = protocol.NewError(protocol.CodeInvalidRequest, "cluster: "+req.Method+" is not routed here", nil)
	default:
		var caller *core.Peer
		if p := req.Caller; p != nil {
			caller = &core.Peer{ConnID: p.ConnID, Role: core.Role(p.Role), Scopes: core.Scopes(p.Scopes), DeviceID: p.DeviceID}
		}
		rep.Result, rep.Error = h(c.root, caller, req.Params, time.Duration(req.TimeoutMs)*time.Millisecond)
	}
	b, _ := json.Marshal(rep)
	_ = msg.Respond(b)
}

// route sends a request to the gateway that claimed its key and answers it
// from there; with no such gateway, the owner answers it as if alone.
func (c *clusterActor) route(m *core.Elsewhere) {
	params, err := json.Marshal(m.Req.RoutedParams())
	if err != nil {
		m.Req.Fail(protocol.NewError(protocol.CodeInvalidRequest, err.Error(), nil))
		return
	}
	req := routeRequest{Method: m.Method, From: c.d.Bus.Node, Params: params, TimeoutMs: m.Timeout.Milliseconds()}
	if p := m.Req.RoutedCaller(); p != nil {
		req.Caller = &wirePeer{ConnID: c.d.Bus.Node + "/" + p.ConnID, Role: string(p.Role), Scopes: p.Scopes, DeviceID: p.DeviceID}
	}
	data, _ := json.Marshal(req)
	msg, err := c.d.Bus.Conn.Request(c.subject(m.Key), data, m.Timeout)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		c.d.Metrics.Routed(metrics.PeerNone)
		m.Req.MarkRouted()
		c.root.Send(m.Back, m.Req)
		return
	case errors.Is(err, nats.ErrTimeout):
		c.d.Metrics.Routed(metrics.PeerUnknown)
		m.Req.Fail(protocol.NewError(protocol.CodeUnavailable, "cluster: the gateway holding it did not answer in time", nil))
		return
	case err != nil:
		c.d.Metrics.Routed(metrics.PeerUnknown)
		m.Req.Fail(protocol.NewError(protocol.CodeUnavailable, "cluster: "+err.Error(), nil))
		return
	}
	var rep routeReply
	if err := json.Unmarshal(msg.Data, &rep); err != nil {
		c.d.Metrics.Routed(metrics.PeerUnknown)
		m.Req.Fail(protocol.NewError(protocol.CodeUnavailable, "cluster: malformed routed answer", nil))
		return
	}
	c.d.Metrics.Routed(cmp.Or(rep.Node, metrics.PeerUnknown))
	if rep.Error != nil {
		m.Req.Fail(rep.Error)
		return
	}
	m.Req.ReplyRaw(rep.Result)
}

// ---- the presence writer ----

// writer puts this gateway's rows into the presence bucket on its own
// goroutine, latest value wins, retrying through leader elections; it also
// deletes the keys of gateways found dead.
type writer struct {
	node string
	root *actor.RootContext
	self *actor.PID
	log  *slog.Logger
	m    *metrics.Cluster

	mu      sync.Mutex
	kv      jetstream.KeyValue
	rows    []protocol.PresenceEntry
	dirty   bool
	removes []string
	wake    chan struct{}
}

func newWriter(node string, root *actor.RootContext, self *actor.PID, log *slog.Logger, m *metrics.Cluster) *writer {
	return &writer{node: node, root: root, self: self, log: log, m: m, wake: make(chan struct{}, 1)}
}

func (w *writer) bucket() jetstream.KeyValue {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.kv
}

func (w *writer) ready(kv jetstream.KeyValue) {
	w.mu.Lock()
	w.kv = kv
	w.mu.Unlock()
	w.poke()
}

func (w *writer) set(rows []protocol.PresenceEntry) {
	w.mu.Lock()
	w.rows, w.dirty = rows, true
	w.mu.Unlock()
	w.poke()
}

func (w *writer) remove(node string) {
	w.mu.Lock()
	w.removes = append(w.removes, node)
	w.mu.Unlock()
	w.poke()
}

func (w *writer) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *writer) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		}
		for !w.flush(ctx) {
			select {
			case <-ctx.Done():
				return
			case <-time.After(retryEvery):
			}
		}
	}
}

// flush writes what is pending; false when something must be retried.
func (w *writer) flush(ctx context.Context) bool {
	w.mu.Lock()
	kv, rows, dirty, removes := w.kv, w.rows, w.dirty, w.removes
	w.dirty, w.removes = false, nil
	w.mu.Unlock()
	if kv == nil {
		// Not ready yet: kept for when it is.
		w.mu.Lock()
		w.dirty = w.dirty || dirty
		w.removes = append(removes, w.removes...)
		w.mu.Unlock()
		return true
	}
	ok := true
	for i, node := range removes {
		octx, cancel := context.WithTimeout(ctx, opTimeout)
		err := kv.Delete(octx, node)
		cancel()
		if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			w.m.JetStreamError(metrics.JSPresenceDelete)
			w.mu.Lock()
			w.removes = append(removes[i:], w.removes...)
			w.mu.Unlock()
			ok = false
			break
		}
	}
	if dirty {
		b, _ := json.Marshal(rows)
		octx, cancel := context.WithTimeout(ctx, opTimeout)
		rev, err := kv.Put(octx, w.node, b)
		cancel()
		if err != nil {
			w.m.JetStreamError(metrics.JSPresencePut)
			w.log.Debug("cluster: presence put failed; retrying", "err", err)
			w.mu.Lock()
			if !w.dirty {
				w.rows, w.dirty = rows, true
			}
			w.mu.Unlock()
			return false
		}
		w.root.Send(w.self, &putDone{rev: rev})
	}
	return ok
}

// ---- the hub's side ----

// Forwarder sends what this gateway's hub published to the other gateways
// (the hub's Cluster dependency). A NATS publish copies into the
// connection's buffer and returns: the hub is not held up.
type Forwarder struct {
	Bus *natsbus.Bus
	// Metrics count the messages published (nil: not counted).
	Metrics *metrics.Cluster
}

// localOnly are the events each gateway makes for itself: its tick, its
// health, and the presence roster (merged by each gateway from the bucket).
var localOnly = map[string]bool{methods.Tick.Name: true, methods.HealthEvent.Name: true, methods.Presence.Name: true}

// Publish forwards a broadcast (and those published with it), encoded once.
func (f Forwarder) Publish(m *core.Publish) {
	if localOnly[m.B.Event] {
		return
	}
	bs := make([]*protocol.Broadcast, 0, 1+len(m.Also))
	bs = append(append(bs, m.B), m.Also...)
	// "events.<node>": the subject names the sender, for the receivers'
	// per-peer counts, at no cost per message.
	_ = f.Bus.Conn.Publish(f.Bus.Subject("events", f.Bus.Node), natsbus.EncodeBroadcasts(bs...))
	if f.Metrics != nil {
		f.Metrics.EventsPublished.Inc()
	}
}

// CloseDevice forwards a device's revocation: every gateway closes its
// sockets.
func (f Forwarder) CloseDevice(m *core.CloseDevice) {
	b, _ := json.Marshal(m)
	_ = f.Bus.Conn.Publish(f.Bus.Subject("close"), b)
}

package core

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/transport/protocol"
)

// Owner names the actor that serves a method. The composition root maps
// each owner to its actor's PID (Routes); the connection actor sends a
// checked request there.
type Owner string

// The owners.
const (
	OwnerHub      Owner = "hub"
	OwnerPresence Owner = "presence"
	OwnerHealth   Owner = "health"
	OwnerConfig   Owner = "config"
	OwnerLogs     Owner = "logs"
	OwnerDevices  Owner = "devices"
	OwnerRuns     Owner = "runs"
	OwnerChannels Owner = "channels"
	OwnerNodes    Owner = "nodes"
	OwnerSessions Owner = "sessions"
	OwnerCron     Owner = "cron"
)

// Routes maps each owner to its actor.
type Routes map[Owner]*actor.PID

// Method is one RPC the gateway serves: its name, who may call it, the
// actor that owns it, and its params and result types (the params type is
// what the JSON Schema is generated from). Methods are declared with Serve
// in actors/methods, the registry.
type Method struct {
	Name   string
	Role   Role
	Scope  Scope
	Owner  Owner
	Params reflect.Type
	Result reflect.Type
	// Request is the *Request[P, R] type its owner receives.
	Request reflect.Type
	// MaxBytes bounds a request frame of this method (DefaultMaxBytes
	// unless the registry says more): a larger one is refused before its
	// params are validated, which costs time in proportion to their size.
	MaxBytes int
	newReq   func() request
}

// DefaultMaxBytes is a method's frame limit unless it declares another:
// most methods take a few hundred bytes; the frame limit (25 MiB) is for the
// few that carry content.
const DefaultMaxBytes = 1 << 20

// WithMaxBytes returns m accepting request frames of up to n bytes.
func (m Method) WithMaxBytes(n int) Method {
	m.MaxBytes = n
	return m
}

// request is implemented by *Request[P, R]: what lets the registry build one
// without knowing P and R.
type request interface {
	bind(req *protocol.Request, caller *Peer, to *actor.PID, root *actor.RootContext) error
	types() (params, result reflect.Type)
}

// Serve declares a method whose owner receives *Q (a Request[P, R] type;
// actors/methods names one alias per method).
func Serve[Q any, PQ interface {
	*Q
	request
}](name string, role Role, scope Scope, owner Owner) Method {
	pt, rt := PQ(new(Q)).types()
	return Method{Name: name, Role: role, Scope: scope, Owner: owner, Params: pt, Result: rt, MaxBytes: DefaultMaxBytes,
		Request: reflect.TypeOf((*Q)(nil)), newReq: func() request { return PQ(new(Q)) }}
}

// Decode builds the request the owner receives from a frame whose params
// passed the method's schema. An error is the params failing to decode
// into the Go type (the schema and the type disagree: a bug the registry
// test guards against), reported to the caller as INVALID_REQUEST.
func (m *Method) Decode(req *protocol.Request, caller *Peer, to *actor.PID, root *actor.RootContext) (any, error) {
	r := m.newReq()
	if err := r.bind(req, caller, to, root); err != nil {
		return nil, err
	}
	return r, nil
}

// Registry is the method table: every method the gateway serves, by name,
// and the names it knows of without serving them.
type Registry struct {
	byName map[string]*Method
	names  []string
	// unserved are methods other gateways serve (the reference's) that
	// this one does not: a call is told so, rather than "unknown method".
	unserved map[string]bool
}

// NewRegistry builds a registry; a name declared twice panics (at start,
// where the mistake is made).
func NewRegistry(methods ...Method) *Registry {
	r := &Registry{byName: make(map[string]*Method, len(methods))}
	for i := range methods {
		m := &methods[i]
		if _, dup := r.byName[m.Name]; dup {
			panic("core: method " + m.Name + " declared twice")
		}
		r.byName[m.Name] = m
		r.names = append(r.names, m.Name)
	}
	sort.Strings(r.names)
	return r
}

// NotServed records names of methods this gateway knows of but does not
// serve; the served ones among them are ignored. It returns r.
func (r *Registry) NotServed(names []string) *Registry {
	if r.unserved == nil {
		r.unserved = map[string]bool{}
	}
	for _, n := range names {
		if _, served := r.byName[n]; !served {
			r.unserved[n] = true
		}
	}
	return r
}

// Unserved reports whether name is a method the gateway knows of and does
// not serve.
func (r *Registry) Unserved(name string) bool { return r.unserved[name] }

// UnservedNames lists the known methods not served, sorted.
func (r *Registry) UnservedNames() []string {
	out := make([]string, 0, len(r.unserved))
	for n := range r.unserved {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup finds a method by name (nil when none is served).
func (r *Registry) Lookup(name string) *Method { return r.byName[name] }

// Names lists the served methods, sorted (hello-ok.features.methods).
func (r *Registry) Names() []string { return r.names }

// Each calls fn for every method, in name order.
func (r *Registry) Each(fn func(*Method)) {
	for _, n := range r.names {
		fn(r.byName[n])
	}
}

// Peer is who sent a request: one connection's identity, fixed at
// hello-ok and shared by all its requests. Tens of thousands of idle
// operator sockets each hold one, so it stays small: what a node declared
// at connect is the nodes actor's (NodeConnected).
type Peer struct {
	ConnID   string
	Role     Role
	Scopes   Scopes
	DeviceID string
	// DeviceAuth is set when the device authenticated with its device token
	// rather than the shared secret: such a caller manages only its own
	// device's pairing.
	DeviceAuth bool
	// SessionScoped: connected with the session-scoped-events cap, it
	// gets agent and chat events only for the sessions it subscribed to.
	SessionScoped bool
}

// Request is one call of a method: the decoded params, who asked, and where
// the answer goes. The connection actor builds it (after the role, scope and
// params checks) and sends it to the method's owner; in-process callers
// build one with Ask. The owner answers it exactly once with Reply, ReplyRaw,
// Fail or FailWith, from Receive or later from any goroutine; a two-stage
// method (agent) sends Interim first.
type Request[P, R any] struct {
	ID     string
	Params P
	// Caller is nil for in-process requests.
	Caller *Peer
	// Routed is set on a request that came from another gateway of the
	// cluster, or that the cluster found no other gateway for: its owner
	// answers it from what it holds, and never sends it to the cluster
	// again (core.Elsewhere).
	Routed bool

	to       *actor.PID
	root     *actor.RootContext
	answered atomic.Bool
}

func (q *Request[P, R]) bind(req *protocol.Request, caller *Peer, to *actor.PID, root *actor.RootContext) error {
	q.ID, q.Caller, q.to, q.root = req.ID, caller, to, root
	return req.Bind(&q.Params)
}

func (q *Request[P, R]) types() (reflect.Type, reflect.Type) {
	return reflect.TypeOf((*P)(nil)).Elem(), reflect.TypeOf((*R)(nil)).Elem()
}

// Reply answers with res.
func (q *Request[P, R]) Reply(res R) { q.answer(&Reply{ReqID: q.ID, Payload: res}) }

// ReplyRaw answers with res already encoded: an owner that caches its
// answer (health) encodes it once. res must be the encoding of an R.
func (q *Request[P, R]) ReplyRaw(res json.RawMessage) {
	q.answer(&Reply{ReqID: q.ID, Payload: res})
}

// Fail answers with an error.
func (q *Request[P, R]) Fail(err *protocol.ErrorShape) { q.answer(&Reply{ReqID: q.ID, Err: err}) }

// FailWith answers with an error that carries a result too (agent's failed
// final does).
func (q *Request[P, R]) FailWith(res R, err *protocol.ErrorShape) {
	q.answer(&Reply{ReqID: q.ID, Payload: res, Err: err})
}

// Interim sends a first answer; the request stays open until the final one
// (agent's "accepted").
func (q *Request[P, R]) Interim(res R) {
	if !q.answered.Load() && q.to != nil {
		q.root.Send(q.to, &Reply{ReqID: q.ID, Payload: res, Interim: true})
	}
}

func (q *Request[P, R]) answer(r *Reply) {
	if q.answered.Swap(true) || q.to == nil {
		return
	}
	q.root.Send(q.to, r)
}

// Reply is the answer to a request, as the connection actor (or Ask)
// receives it.
type Reply struct {
	ReqID   string
	Payload any
	Err     *protocol.ErrorShape
	// Interim marks a first answer of a two-stage method: it is written, and
	// the request stays in flight until the final one.
	Interim bool
}

// ErrNoAnswer is Ask's error when the owner did not answer in time.
var ErrNoAnswer = errors.New("no answer in time")

// Ask sends a request to pid from outside any connection (an HTTP handler,
// a run's worker, a channel) and waits for the final answer. It must not be
// called inside an actor's Receive: it blocks.
func Ask[P, R any](root *actor.RootContext, pid *actor.PID, params P, timeout time.Duration) (R, *protocol.ErrorShape) {
	return ask[P, R](root, pid, nil, false, params, timeout)
}

// AskRouted is Ask for a request another gateway of the cluster forwarded:
// it carries that gateway's caller, and is Routed (answered here, never
// forwarded again).
func AskRouted[P, R any](root *actor.RootContext, pid *actor.PID, caller *Peer, params P, timeout time.Duration) (R, *protocol.ErrorShape) {
	return ask[P, R](root, pid, caller, true, params, timeout)
}

func ask[P, R any](root *actor.RootContext, pid *actor.PID, caller *Peer, routed bool, params P, timeout time.Duration) (R, *protocol.ErrorShape) {
	var zero R
	f := actor.NewFuture(root.ActorSystem(), timeout)
	q := &Request[P, R]{ID: "internal", Params: params, Caller: caller, Routed: routed, to: f.PID(), root: root}
	root.Send(pid, q)
	res, err := f.Result()
	if err != nil {
		return zero, protocol.NewError(protocol.CodeUnavailable, fmt.Sprintf("%s: %v", ownerName(pid), ErrNoAnswer), nil)
	}
	rep, ok := res.(*Reply)
	switch {
	case !ok:
		return zero, protocol.NewError(protocol.CodeUnavailable, fmt.Sprintf("unexpected answer %T", res), nil)
	case rep.Interim:
		// A future takes one message: Ask serves one-stage methods only.
		return zero, protocol.NewError(protocol.CodeUnavailable, "interim answer to Ask", nil)
	case rep.Err != nil:
		return zero, rep.Err
	}
	switch p := rep.Payload.(type) {
	case R:
		return p, nil
	case json.RawMessage:
		var out R
		if err := json.Unmarshal(p, &out); err != nil {
			return zero, protocol.NewError(protocol.CodeUnavailable, "undecodable answer: "+err.Error(), nil)
		}
		return out, nil
	case nil:
		return zero, nil
	default:
		return zero, protocol.NewError(protocol.CodeUnavailable, fmt.Sprintf("answer of type %T, want %T", p, zero), nil)
	}
}

func ownerName(pid *actor.PID) string {
	if pid == nil {
		return "nobody"
	}
	return strings.TrimPrefix(pid.Id, "gateway/")
}

// Event is an event the gateway emits, with its payload type: publishers
// encode through it, and hello-ok.features.events lists the registry's.
type Event[T any] struct {
	Name string
	// Scope is what an operator needs to receive it (NoScope: everyone).
	Scope Scope
	// Droppable events may be skipped for a socket over its backlog limit.
	Droppable bool
	// NodesToo sends it to node sockets as well.
	NodesToo bool
	// Topic limits it to the sockets that subscribed to that topic.
	Topic Topic
}

// Topic is a kind of event a socket receives only after subscribing.
type Topic = string

// The topics.
const (
	// TopicSessions: sessions.changed, after sessions.subscribe.
	TopicSessions Topic = "sessions"
)

// Subscribe asks the hub to add a topic to a connection's subscriptions.
type Subscribe struct {
	ConnID string
	Topic  Topic
}

// Broadcast encodes payload once for every recipient.
func (e Event[T]) Broadcast(payload T, sv *protocol.StateVersion) *protocol.Broadcast {
	b := protocol.NewBroadcast(e.Name, payload, sv)
	b.Droppable, b.Scope, b.NodesToo, b.Topic = e.Droppable, e.Scope, e.NodesToo, e.Topic
	return b
}

// Encode encodes payload as one seq-less event frame (for a single socket).
func (e Event[T]) Encode(payload T) []byte { return protocol.EncodeEvent(e.Name, payload) }

package core

import (
	"encoding/json"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/transport/protocol"
)

// The messages of cluster mode (actors/cluster). In a single gateway none
// is ever sent: the owners' Cluster dependency is nil.

// Routable is a request an owner can hand to the cluster when what it asks
// for (a node, a run) is not on this gateway: every *Request is one.
type Routable interface {
	RoutedParams() any
	RoutedCaller() *Peer
	ReplyRaw(json.RawMessage)
	Fail(*protocol.ErrorShape)
	// MarkRouted makes the request one the owner answers locally.
	MarkRouted()
}

// RoutedParams is the request's params, for the gateway it is routed to.
func (q *Request[P, R]) RoutedParams() any { return q.Params }

// RoutedCaller is who asked (nil in-process).
func (q *Request[P, R]) RoutedCaller() *Peer { return q.Caller }

// MarkRouted sets Routed.
func (q *Request[P, R]) MarkRouted() { q.Routed = true }

// Elsewhere asks the cluster actor to serve Req on the gateway that claimed
// Key (Claim), and answer it from there. When no gateway holds Key, Req is
// marked Routed and sent back to Back, which answers it as if alone (the
// same NOT_CONNECTED or unknown-id error as a single gateway's).
type Elsewhere struct {
	Key     string // "<kind>.<id>", e.g. "node.<nodeId>"
	Method  string // the method Req is a request of
	Req     Routable
	Back    *actor.PID
	Timeout time.Duration // how long the other gateway may take
}

// Claim tells the cluster actor that this gateway holds Key (a node
// connected here, a run running here): requests for it from other
// gateways come here. Release says it no longer does.
type Claim struct{ Key string }

// Release undoes a Claim.
type Release struct{ Key string }

// LocalRoster is this gateway's own presence rows, from the presence actor
// to the cluster actor, which merges every gateway's and publishes the
// cluster's roster.
type LocalRoster struct{ Rows []protocol.PresenceEntry }

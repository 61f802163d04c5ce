package jsstore

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStream in a cluster refuses, or does not answer, requests for a few
// seconds at a time: while a stream elects a leader (its leader's server
// was killed, paused or restarted), while the meta leader moves, while the
// client reconnects. A request made then fails with one of the errors
// below; the same request made again once the election is over succeeds.

// transientCodes are the JetStream API error codes of a cluster that is
// electing or catching up: not a verdict on the request.
var transientCodes = map[jetstream.ErrorCode]bool{
	10008: true, // JetStream system temporarily unavailable (503)
	10009: true, // JetStream cluster can not handle request (not the leader)
	10118: true, // stream is offline
	10119: true, // consumer is offline
	10194: true, // stream is offline: <reason>
}

// Transient reports whether err is a failure of the cluster that a retry
// after a short wait can outlive (no leader, no responder, a request lost
// with its responder), rather than a refusal of the request itself (a
// conflict, a missing key, a lost lock, a fenced write). A deadline is
// counted as transient: only the caller knows whether it was its own
// (the caller's context ended: give up) or one attempt's (try again).
func Transient(err error) bool {
	if err == nil {
		return false
	}
	switch {
	case errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, nats.ErrTimeout),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrDisconnected),
		errors.Is(err, jetstream.ErrNoHeartbeat):
		return true
	}
	var je jetstream.JetStreamError
	if errors.As(err, &je) {
		if ae := je.APIError(); ae != nil {
			return ae.Code == 503 || transientCodes[ae.ErrorCode]
		}
	}
	return false
}

package conn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"

	"openclaw/actors/core"
	"openclaw/transport/protocol"
)

// request checks one frame after hello-ok against the registry and sends it
// to the method's owner. The order of the checks is the reference's: frame,
// method, draining, role, scope, params.
func (c *connActor) request(ctx actor.Context, in *inbound) {
	if in.err != nil {
		if in.err.Malformed {
			c.d.Log.Debug("ignoring malformed frame", "conn", c.sock.ID, "err", in.err.Reason)
			return
		}
		c.sock.Send(protocol.FailRawID(in.err.RawID, protocol.NewError(protocol.CodeInvalidRequest, in.err.Error(), nil)))
		return
	}
	req := in.req
	if req.Method != "logs.tail" && c.d.Log.Enabled(context.Background(), slog.LevelDebug) {
		// Checked first: the arguments would be allocated per frame even
		// with debug off. A logs.tail is not recorded: a follower polling
		// the log would otherwise read its own polls back.
		c.d.Log.Debug("req", "conn", c.sock.ID, "id", req.ID, "method", req.Method)
	}
	if req.Method == "connect" {
		// Scope-checked like an admin method first, as the reference does.
		if c.peer.Role != core.RoleOperator || !c.peer.Scopes.Has(core.ScopeAdmin) {
			c.sock.Send(protocol.Fail(req.ID, missingScope(core.ScopeAdmin)))
			return
		}
		c.sock.Send(protocol.Fail(req.ID, protocol.NewError(protocol.CodeInvalidRequest, "connect is only valid as the first request", nil)))
		return
	}
	m := c.d.Methods.Lookup(req.Method)
	if m == nil && c.d.Methods.Unserved(req.Method) {
		// A method the reference serves and we do not (yet): say so, to
		// everyone, before any scope check.
		c.sock.Send(protocol.Fail(req.ID, notSupported(req.Method)))
		return
	}
	if m == nil {
		// Whatever the caller's scopes: a permission error here would send
		// people chasing the wrong problem.
		c.sock.Send(protocol.Fail(req.ID, protocol.NewError(protocol.CodeInvalidRequest, "unknown method: "+req.Method, nil)))
		return
	}
	if c.draining {
		c.sock.Send(protocol.Fail(req.ID, protocol.NewError(protocol.CodeUnavailable, "gateway is shutting down", nil).WithRetry(1000)))
		return
	}
	if m.Role != core.RoleAny && m.Role != c.peer.Role {
		c.sock.Send(protocol.Fail(req.ID, protocol.NewError(protocol.CodeInvalidRequest, "unauthorized role: "+string(c.peer.Role), nil)))
		return
	}
	if c.peer.Role == core.RoleOperator && !c.peer.Scopes.Has(m.Scope) {
		c.sock.Send(protocol.Fail(req.ID, missingScope(m.Scope)))
		return
	}
	if in.size > m.MaxBytes {
		c.sock.Send(protocol.Fail(req.ID, protocol.NewError(protocol.CodeInvalidRequest,
			fmt.Sprintf("invalid %s params: a request of %d bytes is over this method's limit of %d", req.Method, in.size, m.MaxBytes),
			map[string]any{"code": "REQUEST_TOO_LARGE", "size": in.size, "limit": m.MaxBytes})))
		return
	}
	if problem := c.d.Validate.ValidateParams(req.Method, req.Params); problem != "" {
		c.sock.Send(protocol.Fail(req.ID, invalidParams(req.Method, problem)))
		return
	}
	msg, err := m.Decode(req, c.peer, ctx.Self(), ctx.ActorSystem().Root)
	if err != nil {
		c.sock.Send(protocol.Fail(req.ID, invalidParams(req.Method, decodeProblem(err))))
		return
	}
	if c.inflight >= c.d.MaxInflight {
		c.sock.Send(protocol.Fail(req.ID, protocol.NewError(protocol.CodeUnavailable, "too many requests in flight on this connection",
			map[string]any{"code": "TOO_MANY_REQUESTS", "limit": c.d.MaxInflight}).WithRetry(inflightRetryMs)))
		return
	}
	owner := c.d.Routes[m.Owner]
	if owner == nil {
		c.sock.Send(protocol.Fail(req.ID, protocol.NewError(protocol.CodeUnavailable, req.Method+" is not available", nil)))
		return
	}
	c.inflight++
	c.timing = append(c.timing, timed{id: req.ID, obs: c.d.Metrics.Request(m.Name), at: time.Now()})
	ctx.Send(owner, msg)
}

// timed is a request in flight, for the latency histogram.
type timed struct {
	id  string
	obs prometheus.Observer
	at  time.Time
}

// keepTiming is the most in-flight slots a connection keeps once they are
// all answered: one or two is the common case; a burst's larger array is
// let go rather than held by an idle socket.
const keepTiming = 4

// answered observes the latency of the request id, answered now.
func (c *connActor) answered(id string) {
	for i := range c.timing {
		if c.timing[i].id != id {
			continue
		}
		c.timing[i].obs.Observe(time.Since(c.timing[i].at).Seconds())
		last := len(c.timing) - 1
		c.timing[i] = c.timing[last]
		c.timing[last] = timed{}
		c.timing = c.timing[:last]
		if last == 0 && cap(c.timing) > keepTiming {
			c.timing = nil
		}
		return
	}
}

// notSupported answers a method this gateway knows of but does not serve.
func notSupported(method string) *protocol.ErrorShape {
	return protocol.NewError(protocol.CodeUnavailable, method+" is not supported by this gateway",
		map[string]any{"code": "NOT_SUPPORTED", "method": method})
}

func missingScope(scope core.Scope) *protocol.ErrorShape {
	return protocol.NewError(protocol.CodeForbidden, "missing scope: "+scope, map[string]any{
		"code": "MISSING_SCOPE", "missingScope": scope, "requiredScopes": []string{scope},
	})
}

func invalidParams(method, problem string) *protocol.ErrorShape {
	return protocol.NewError(protocol.CodeInvalidRequest, "invalid "+method+" params: "+problem, nil)
}

// decodeProblem words a params value the schema accepted but the Go type
// did not, in the schema's "at <pointer>: <problem>" form.
func decodeProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "at /" + strings.ReplaceAll(te.Field, ".", "/") + ": cannot be " + te.Value
	}
	return err.Error()
}

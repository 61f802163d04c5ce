package core

import (
	"github.com/asynkron/protoactor-go/actor"

	"openclaw/transport/protocol"
)

// failer is implemented by every *Request.
type failer interface{ Fail(*protocol.ErrorShape) }

// AnswerPanics is a receiver middleware for actors that own methods: when
// handling a request panics, the caller gets an error answer (a panic never
// leaves a request unanswered), then the panic goes on to the actor's
// supervisor, which restarts the actor as usual.
func AnswerPanics(next actor.ReceiverFunc) actor.ReceiverFunc {
	return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
		defer func() {
			if r := recover(); r != nil {
				if f, ok := env.Message.(failer); ok {
					f.Fail(protocol.NewError(protocol.CodeUnavailable, "internal error", map[string]any{"code": "INTERNAL"}))
				}
				panic(r)
			}
		}()
		next(c, env)
	}
}

package logs

import (
	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/methods"
	"openclaw/transport/protocol"
)

// Deps is what the logs actor is built with.
type Deps struct {
	// File is the log file in use now ("" when the gateway writes none).
	File func() string
}

type logsActor struct{ d Deps }

// Props builds the logs actor: it answers logs.tail, reading the file off
// the actor (a read never holds up the next request).
func Props(d Deps) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &logsActor{d: d} })
}

func (a *logsActor) Receive(ctx actor.Context) {
	if m, ok := ctx.Message().(*methods.LogsTail); ok {
		file := a.d.File()
		go func() {
			if file == "" {
				m.Fail(protocol.NewError(protocol.CodeUnavailable, "this gateway writes no log file", nil))
				return
			}
			res, err := Tail(file, m.Params)
			if err != nil {
				m.Fail(protocol.NewError(protocol.CodeUnavailable, "log file unreadable: "+err.Error(), nil))
				return
			}
			m.Reply(*res)
		}()
	}
}

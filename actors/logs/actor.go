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

// maxReading bounds the logs.tail reads in progress at once, gateway-wide:
// each holds up to maxBytes (10 MiB) in memory, so thousands of pipelined
// calls cost a queue, not gigabytes.
const maxReading = 2

type logsActor struct {
	d       Deps
	reading int
	queue   []*methods.LogsTail
}

type readDone struct{}

// Props builds the logs actor: it answers logs.tail, reading the file off
// the actor, at most maxReading at once, the rest in arrival order.
func Props(d Deps) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &logsActor{d: d} })
}

func (a *logsActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *methods.LogsTail:
		a.queue = append(a.queue, m)
	case *readDone:
		a.reading--
	}
	for a.reading < maxReading && len(a.queue) > 0 {
		m := a.queue[0]
		a.queue[0] = nil
		a.queue = a.queue[1:]
		a.reading++
		a.read(ctx, m)
	}
}

func (a *logsActor) read(ctx actor.Context, m *methods.LogsTail) {
	file, self, root := a.d.File(), ctx.Self(), ctx.ActorSystem().Root
	go func() {
		defer root.Send(self, &readDone{})
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

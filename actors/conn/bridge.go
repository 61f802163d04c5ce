package conn

import (
	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/core"
	"openclaw/transport/protocol"
	"openclaw/transport/server"
)

// inbound is one frame, already parsed and checked against the frame schema
// on the socket's read goroutine (so parsing runs on every core, not in the
// actor), handed to the connection actor in order.
type inbound struct {
	req *protocol.Request
	err *protocol.FrameError
}

type socketClosed struct{}

// bridge is the transport's Handler for one socket: it turns read-loop
// callbacks into messages for the socket's actor.
type bridge struct {
	env *core.Env
	pid *actor.PID
}

// Accept spawns the actor for a new socket (as a child of the hub, which
// supervises it) and returns the handler the transport feeds its frames to.
func Accept(env *core.Env, sock *server.Socket) server.Handler {
	res, err := env.System.Root.RequestFuture(env.Hub, &core.SpawnConn{Sock: sock}, spawnTimeout).Result()
	if err != nil {
		env.Log.Error("could not spawn connection actor", "err", err)
		sock.Close(1011, "internal error")
		return nopHandler{}
	}
	return &bridge{env: env, pid: res.(*actor.PID)}
}

func (b *bridge) Frame(data []byte) {
	req, err := b.env.Validate.DecodeRequest(data)
	in := &inbound{req: req}
	if err != nil {
		in.err = err.(*protocol.FrameError)
	}
	b.env.System.Root.Send(b.pid, in)
}

func (b *bridge) Closed() { b.env.System.Root.Send(b.pid, &socketClosed{}) }

type nopHandler struct{}

func (nopHandler) Frame([]byte) {}
func (nopHandler) Closed()      {}

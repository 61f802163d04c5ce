package conn

import (
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/core"
	"openclaw/transport/protocol"
	"openclaw/transport/server"
)

// spawnTimeout bounds how long a new socket waits for the hub to spawn its
// actor (the hub is never busy for long; this only catches a stopped one).
const spawnTimeout = 5 * time.Second

// inbound is one frame, already parsed and checked against the frame schema
// on the socket's read goroutine (so parsing runs on every core, not in the
// actor), handed to the connection actor in order.
type inbound struct {
	req  *protocol.Request
	err  *protocol.FrameError
	size int // the frame's length in bytes
}

// bridge is the transport's Handler for one socket: it turns read-loop
// callbacks into messages for the socket's actor.
type bridge struct {
	root     *actor.RootContext
	validate *protocol.Validator
	pid      *actor.PID
	gone     *atomic.Bool // the socket closed
}

// Accept spawns the actor for a new socket (as a child of the hub, which
// supervises it) and returns the handler the transport feeds its frames to.
func Accept(root *actor.RootContext, d *Deps, sock *server.Socket) server.Handler {
	gone := &atomic.Bool{}
	res, err := root.RequestFuture(d.Hub, &core.SpawnConn{Props: props(d, sock, gone)}, spawnTimeout).Result()
	if err != nil {
		d.Log.Error("could not spawn connection actor", "err", err)
		sock.Close(1011, "internal error")
		return nopHandler{}
	}
	return &bridge{root: root, validate: d.Validate, pid: res.(*actor.PID), gone: gone}
}

func (b *bridge) Frame(data []byte) {
	req, err := b.validate.DecodeRequest(data)
	in := &inbound{req: req, size: len(data)}
	if err != nil {
		in.err = err.(*protocol.FrameError)
	}
	b.root.Send(b.pid, in)
}

// Closed stops the socket's actor at once: frames it has not handled yet
// are dropped (a client that pipelined thousands of requests and left does
// not keep the gateway busy with them).
func (b *bridge) Closed() {
	b.gone.Store(true)
	b.root.Stop(b.pid)
}

type nopHandler struct{}

func (nopHandler) Frame([]byte) {}
func (nopHandler) Closed()      {}

package conn

import (
	"sort"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	"openclaw/actors/core"
	"openclaw/transport/protocol"
)

// call is one request being handled. Reply and Fail may be called from any
// goroutine: they send the answer to the connection actor, which writes it.
type call struct {
	ctx  actor.Context
	self *actor.PID // captured at dispatch: the answer may come from another goroutine
	c    *connActor
	req  *protocol.Request
	done atomic.Bool
}

func (k *call) Request() *protocol.Request { return k.req }
func (k *call) Env() *core.Env             { return k.c.env }
func (k *call) Scopes() core.Scopes        { return k.c.scopes }
func (k *call) ConnID() string             { return k.c.sock.ID }

// Ask sends msg to pid with this connection as the sender; pid's
// ctx.Respond(*core.Reply) comes back to the connection's mailbox. Only valid
// while the handler runs inside the actor.
func (k *call) Ask(pid *actor.PID, msg core.ReplyTo) {
	msg.SetReqID(k.req.ID)
	k.done.Store(true)
	k.ctx.Request(pid, msg)
}

func (k *call) Reply(payload any) { k.answer(&core.Reply{ReqID: k.req.ID, Payload: payload}) }

func (k *call) Fail(err *protocol.ErrorShape) { k.answer(&core.Reply{ReqID: k.req.ID, Err: err}) }

func (k *call) answer(r *core.Reply) {
	if k.done.Swap(true) {
		return
	}
	k.c.env.System.Root.Send(k.self, r)
}

// MethodNames lists a method table's names, sorted, for hello-ok.
func MethodNames(methods map[string]*core.Method) []string {
	names := make([]string, 0, len(methods))
	for n := range methods {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

package gateway

import (
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// A child that sends to a sibling spawned after it, from its Started, is
// heard: the root holds every Started until all the children exist. A slow
// child in between (its producer runs inside the spawn) leaves the first
// child's Started ample time to run before the last is spawned.
func TestChildrenStartAfterAllAreSpawned(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet }))
	heard := make(chan any, 1)
	last := actor.NewPID(sys.Address(), rootName+"-gate/last")
	children := []child{
		{"first", actor.PropsFromFunc(func(c actor.Context) {
			if _, ok := c.Message().(*actor.Started); ok {
				c.Send(last, "hello from first")
			}
		})},
		{"slow", actor.PropsFromProducer(func() actor.Actor {
			time.Sleep(200 * time.Millisecond)
			return actor.ReceiveFunc(func(actor.Context) {})
		})},
		{"last", actor.PropsFromFunc(func(c actor.Context) {
			if s, ok := c.Message().(string); ok {
				heard <- s
			}
		})},
	}
	root, err := sys.Root.SpawnNamed(supervisorProps(quiet, children, nil), rootName+"-gate")
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Root.Stop(root)
	select {
	case m := <-heard:
		if m != "hello from first" {
			t.Fatalf("last heard %v", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first child's message to the last never arrived (sent before the last was spawned)")
	}
}

package core

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// TestTimers: a message scheduled with After arrives; one pending when Stop
// is called never does, and After after Stop schedules nothing.
func TestTimers(t *testing.T) {
	sys := actor.NewActorSystem()
	got := make(chan string, 4)
	var timers Timers
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case string:
			switch m {
			case "schedule":
				timers.After(ctx, 20*time.Millisecond, "fired")
			case "schedule-late":
				timers.After(ctx, 200*time.Millisecond, "late")
			case "stop":
				timers.Stop()
			default:
				got <- m
			}
		}
	}))
	sys.Root.Send(pid, "schedule")
	select {
	case m := <-got:
		if m != "fired" {
			t.Fatalf("got %q", m)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("scheduled message never arrived")
	}
	sys.Root.Send(pid, "schedule-late")
	sys.Root.Send(pid, "stop")
	sys.Root.Send(pid, "schedule")
	select {
	case m := <-got:
		t.Fatalf("a timer fired after Stop: %q", m)
	case <-time.After(400 * time.Millisecond):
	}
	timers.mu.Lock()
	n := len(timers.pending)
	timers.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d timers still pending after Stop", n)
	}
}

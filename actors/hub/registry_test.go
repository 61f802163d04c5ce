package hub

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// After the swap every process is found where the library looks for it: the
// ones the system made before (the event stream) and actors spawned after,
// which answer requests and leave the table when stopped.
func TestCompactRegistry(t *testing.T) {
	sys := quietSystem()
	reg := sys.ProcessRegistry
	count := func() (c int) {
		for _, m := range reg.LocalPIDs.LocalPIDs {
			c += m.Count()
		}
		return c
	}
	before := count()
	CompactRegistry(sys)
	if c := count(); c != before || c == 0 {
		t.Fatalf("%d processes after the swap, %d before", c, before)
	}
	if n := len(reg.LocalPIDs.LocalPIDs); n != registryStripes {
		t.Fatalf("%d buckets, want %d", n, registryStripes)
	}
	if _, ok := reg.GetLocal("eventstream"); !ok {
		t.Fatal("the event stream's process was lost in the swap")
	}
	echo := actor.PropsFromFunc(func(c actor.Context) {
		if s, ok := c.Message().(string); ok {
			c.Respond("echo " + s)
		}
	})
	const n = 500
	pids := make([]*actor.PID, n)
	for i := range pids {
		pids[i] = sys.Root.Spawn(echo)
	}
	if c := count(); c != before+n {
		t.Fatalf("%d processes in the table, want %d", c, before+n)
	}
	used := 0
	for _, m := range reg.LocalPIDs.LocalPIDs {
		if m.Count() > 0 {
			used++
		}
	}
	if used < registryStripes/2 {
		t.Fatalf("%d of %d buckets used: the ids are not spread", used, registryStripes)
	}
	for i, pid := range pids {
		// A PID made from the id alone: the lookup goes through the table.
		fresh := actor.NewPID(pid.Address, pid.Id)
		r, err := sys.Root.RequestFuture(fresh, fmt.Sprint(i), time.Second).Result()
		if err != nil || r != fmt.Sprintf("echo %d", i) {
			t.Fatalf("actor %d: %v %v", i, r, err)
		}
	}
	for _, pid := range pids {
		if err := sys.Root.StopFuture(pid).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if c := count(); c != before {
		t.Fatalf("%d processes left after stopping every actor, want the %d of before", c, before)
	}
}

// The start's share: an actor system with its table compacted, as the
// gateway makes one at every start and every in-process restart.
func BenchmarkNewActorSystem(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		CompactRegistry(quietSystem())
	}
}

func quietSystem() *actor.ActorSystem {
	return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
}

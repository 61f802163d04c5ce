package channels

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// backoff restarts a failed child after a delay that doubles with each
// failure (first, 2×first, … up to max) and starts over once the child has
// run for max without failing. protoactor's own backoff strategy grows
// without bound; a channel should keep trying, at a bounded pace.
type backoff struct {
	log        *slog.Logger
	first, max time.Duration
}

func newBackoff(log *slog.Logger, first, max time.Duration) actor.SupervisorStrategy {
	return &backoff{log: log, first: first, max: max}
}

func (b *backoff) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, rs *actor.RestartStatistics, reason any, _ any) {
	if rs.NumberOfFailures(b.max) == 0 {
		rs.Reset()
	}
	rs.Fail()
	delay := b.first
	for i := 1; i < rs.FailureCount() && delay < b.max; i++ {
		delay *= 2
	}
	delay = min(delay, b.max)
	b.log.Error("channel account failed; restarting it", "actor", child.Id, "reason", reason, "in", delay.String())
	time.AfterFunc(delay, func() { sup.RestartChildren(child) })
}

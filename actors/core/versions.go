package core

import (
	"sync/atomic"

	"openclaw/transport/protocol"
)

// StateVersions are the global counters presence and health events carry
// (+1 per broadcast of that kind); the presence and health actors advance
// them and hello-ok's snapshot reads them.
type StateVersions struct {
	Presence atomic.Int64
	Health   atomic.Int64
}

// Current returns both counters now.
func (v *StateVersions) Current() *protocol.StateVersion {
	return &protocol.StateVersion{Presence: v.Presence.Load(), Health: v.Health.Load()}
}

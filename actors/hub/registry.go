package hub

import (
	"github.com/asynkron/protoactor-go/actor"
	cmap "github.com/orcaman/concurrent-map"
)

// CompactRegistry swaps the actor system's table of local processes for a
// smaller one. The library's is 1,024 concurrent maps of 32 shards each:
// 32,768 Go maps, ~2.9 MB of heap before the first actor, and, until there
// are far more actors than maps, a fresh map (~400 B) for nearly every actor
// spawned. One concurrent map of 32 shards keeps lookups lock-striped (the
// shard count stays the library's) at ~40 B per actor.
//
// Call it right after actor.NewActorSystem, before anything is spawned: the
// swap itself is not synchronized.
func CompactRegistry(sys *actor.ActorSystem) {
	one := cmap.New()
	for _, m := range sys.ProcessRegistry.LocalPIDs.LocalPIDs {
		m.IterCb(func(id string, p any) { one.Set(id, p) })
	}
	sys.ProcessRegistry.LocalPIDs = &actor.SliceMap{LocalPIDs: []cmap.ConcurrentMap{one}}
}

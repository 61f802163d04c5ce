package hub

import (
	"github.com/asynkron/protoactor-go/actor"
	cmap "github.com/orcaman/concurrent-map"
)

// One shard per concurrent map, set before any actor system exists. The
// actor library's table of local processes is 1,024 concurrent maps, each
// of cmap.SHARD_COUNT shards: at the library's 32, creating it made 32,768
// Go maps, ~2.9 MB of heap and 15 ms before the first hello-ok. The shard
// count is a package variable that every map reads on each access, so it is
// set once here, in an init, and never changed: a map made with more shards
// (before this init) stays correct, it only uses its first; no map is ever
// made with fewer shards than it is read with.
func init() { cmap.SHARD_COUNT = 1 }

// registryStripes is how many locks the compacted table is striped over:
// the library's shard count, now as buckets of one shard each.
const registryStripes = 32

// CompactRegistry swaps the actor system's table of local processes for a
// smaller one: registryStripes maps instead of the library's 1,024, so that,
// until there are far more actors than maps, an actor spawned does not cost
// a fresh map (~400 B) but ~40 B. The library picks the bucket by hashing
// the id over the slice's length, so the lookups stay lock-striped.
//
// Call it right after actor.NewActorSystem, before anything is spawned: the
// swap itself is not synchronized.
func CompactRegistry(sys *actor.ActorSystem) {
	sm := &actor.SliceMap{LocalPIDs: make([]cmap.ConcurrentMap, registryStripes)}
	for i := range sm.LocalPIDs {
		sm.LocalPIDs[i] = cmap.New()
	}
	for _, m := range sys.ProcessRegistry.LocalPIDs.LocalPIDs {
		m.IterCb(func(id string, p any) { sm.GetBucket(id).Set(id, p) })
	}
	sys.ProcessRegistry.LocalPIDs = sm
}

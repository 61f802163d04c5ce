package gateway_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"openclaw/actors/gateway/gatewaytest"
	"openclaw/transport/provider/fakeprovider"
)

// BenchmarkClusterRunFanout is one agent turn of 20 deltas on gw-0 of a
// three-gateway cluster (embedded NATS on loopback, in this process),
// watched by R lean readers on each gateway. One op is one turn; reported:
// the p50 and p99, over every reader of every gateway, of the time from
// the agent request to the reader reading the run's end, and the same for
// gw-0's own readers and the others' (what the hop through NATS adds).
//
//	go test ./actors/gateway -run '^$' -bench ClusterRunFanout -benchtime 5x
func BenchmarkClusterRunFanout(b *testing.B) {
	const deltas = 20
	for _, readers := range []int{100, 1000} {
		b.Run(fmt.Sprintf("readers=3x%d", readers), func(b *testing.B) {
			words := make([]string, deltas)
			for i := range words {
				words[i] = fmt.Sprintf("w%02d ", i)
			}
			fp := fakeprovider.New(b)
			fp.KeepRequests(0)
			fp.SetDefault(fakeprovider.Reply{Text: strings.Join(words, ""), Deltas: deltas})
			gws := agentCluster(b, fp)
			formed(b, gws[1].Operator(b), gws[2].Operator(b))

			var mu sync.Mutex
			var start time.Time
			var local, remote []time.Duration
			var wg sync.WaitGroup
			var rs []*leanReader
			for g, gw := range gws {
				for range readers {
					rs = append(rs, dialLean(b, gw.URL, 1, func() {
						d := time.Since(start)
						mu.Lock()
						if g == 0 {
							local = append(local, d)
						} else {
							remote = append(remote, d)
						}
						mu.Unlock()
						wg.Done()
					})...)
				}
			}
			adm, _ := gatewaytest.MustConnect(b, gws[0].URL, gatewaytest.Admin())
			turn := func(id string) {
				marker := []byte(`"runId":"` + id + `"`)
				wg.Add(len(rs))
				for _, r := range rs {
					r.end.Store(&marker)
				}
				mu.Lock()
				start = time.Now()
				mu.Unlock()
				adm.SendJSON(map[string]any{"type": "req", "id": id, "method": "agent", "params": map[string]any{"message": "x", "idempotencyKey": id}})
				adm.Res(id)
				adm.Res(id)
				done := make(chan struct{})
				go func() { wg.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(60 * time.Second):
					b.Fatalf("turn %s: not every reader saw the end", id)
				}
			}
			turn("warm")
			local, remote = nil, nil
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				turn(fmt.Sprintf("t%d", i))
			}
			b.StopTimer()
			all := append(slices.Clone(local), remote...)
			for _, m := range []struct {
				name string
				ds   []time.Duration
			}{{"all", all}, {"gw0", local}, {"peers", remote}} {
				slices.Sort(m.ds)
				b.ReportMetric(ms(m.ds[len(m.ds)/2]), m.name+"-p50-ms")
				b.ReportMetric(ms(m.ds[len(m.ds)*99/100]), m.name+"-p99-ms")
			}
		})
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

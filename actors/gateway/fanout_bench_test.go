package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lxzan/gws"

	"openclaw/actors/gateway/gatewaytest"
	"openclaw/transport/provider/fakeprovider"
)

// leanReader is a watching socket that costs as little as a client can:
// it looks at each frame only to see whether the current run ended, so the
// benchmark measures the gateway's side of a broadcast.
type leanReader struct {
	gws.BuiltinEventHandler
	hello  chan struct{}
	frames atomic.Int64
	bytes  atomic.Int64
	end    atomic.Pointer[[]byte] // the current run's end marker
	ended  func()
}

func (r *leanReader) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	b := m.Bytes()
	r.frames.Add(1)
	r.bytes.Add(int64(len(b)))
	if r.hello != nil && bytes.Contains(b, []byte(`"hello-ok"`)) {
		close(r.hello)
		r.hello = nil
		return
	}
	if e := r.end.Load(); e != nil && bytes.Contains(b, *e) && bytes.Contains(b, []byte(`"phase":"end"`)) {
		r.end.Store(nil)
		r.ended()
	}
}

// dialLean connects n lean readers (operator.read, CLI mode: not tracked in
// presence).
func dialLean(b *testing.B, url string, n int, ended func()) []*leanReader {
	b.Helper()
	rs := make([]*leanReader, n)
	for i := range rs {
		r := &leanReader{hello: make(chan struct{}), ended: ended}
		c, _, err := gws.NewClient(r, &gws.ClientOption{Addr: url, PermessageDeflate: gws.PermessageDeflate{Enabled: false}, ReadMaxPayloadSize: 64 << 20})
		if err != nil {
			b.Fatal(err)
		}
		go c.ReadLoop()
		b.Cleanup(func() { _ = c.NetConn().Close() })
		hello := r.hello
		connect, _ := json.Marshal(map[string]any{"type": "req", "id": "c", "method": "connect", "params": gatewaytest.Client{
			ID: "cli", Mode: "cli", Token: gatewaytest.Token, Scopes: []string{"operator.read"}}.Params("")})
		if err := c.WriteMessage(gws.OpcodeText, connect); err != nil {
			b.Fatal(err)
		}
		select {
		case <-hello:
		case <-time.After(10 * time.Second):
			b.Fatalf("reader %d: no hello-ok", i)
		}
		rs[i] = r
	}
	return rs
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAgentDeltaFanout is one agent turn of 20 deltas watched by R
// sockets, the provider pausing between deltas (gap) or not at all. One op
// is one turn; reported per reader and delta ("reader-delta": one piece of
// text reaching one reader, today an agent and a chat event): the CPU time
// of the whole process (gateway, readers and provider; -cpu time is far
// less sensitive to other load on the machine than wall time), the frames
// and bytes the readers read, and the allocations.
//
//	go test ./actors/gateway -run '^$' -bench AgentDeltaFanout -benchtime 5x -count 6
func BenchmarkAgentDeltaFanout(b *testing.B) {
	const deltas = 20
	for _, c := range []struct {
		readers int
		gap     time.Duration
	}{{100, 20 * time.Millisecond}, {1000, 50 * time.Millisecond}, {1000, 0}} {
		b.Run(fmt.Sprintf("readers=%d/gap=%s", c.readers, c.gap), func(b *testing.B) {
			words := make([]string, deltas)
			for i := range words {
				words[i] = fmt.Sprintf("w%02d ", i)
			}
			fp := fakeprovider.New(b)
			fp.KeepRequests(0)
			fp.SetDefault(fakeprovider.Reply{Text: strings.Join(words, ""), Deltas: deltas, ChunkDelay: c.gap})
			gw := agentGateway(b, fp, nil)
			var pending atomic.Int64
			done := make(chan struct{}, 1)
			ended := func() {
				if pending.Add(-1) == 0 {
					done <- struct{}{}
				}
			}
			rs := dialLean(b, gw.URL, c.readers, ended)
			adm, _ := gatewaytest.MustConnect(b, gw.URL, gatewaytest.Admin())
			turn := func(id string) {
				marker := []byte(`"runId":"` + id + `"`)
				pending.Store(int64(len(rs)))
				for _, r := range rs {
					r.end.Store(&marker)
				}
				adm.SendJSON(map[string]any{"type": "req", "id": id, "method": "agent", "params": map[string]any{"message": "x", "idempotencyKey": id}})
				adm.Res(id)
				adm.Res(id)
				select {
				case <-done:
				case <-time.After(60 * time.Second):
					b.Fatalf("turn %s: %d readers did not see the end", id, pending.Load())
				}
			}
			turn("warm")
			var frames0, bytes0 int64
			for _, r := range rs {
				frames0 += r.frames.Load()
				bytes0 += r.bytes.Load()
			}
			b.ReportAllocs()
			cpu0 := cpuTime()
			b.ResetTimer()
			n := 0
			for i := 0; b.Loop(); i++ {
				turn(fmt.Sprintf("t%d", i))
				n++
			}
			b.StopTimer()
			cpu := cpuTime() - cpu0
			var frames, nbytes int64
			for _, r := range rs {
				frames += r.frames.Load()
				nbytes += r.bytes.Load()
			}
			per := float64(n * c.readers * deltas)
			b.ReportMetric(float64(cpu.Nanoseconds())/per, "cpu-ns/reader-delta")
			b.ReportMetric(float64(frames-frames0)/per, "frames/reader-delta")
			b.ReportMetric(float64(nbytes-bytes0)/per, "B-read/reader-delta")
		})
	}
}

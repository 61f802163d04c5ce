package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// series counts the series of family name in reg.
func series(t *testing.T, reg prometheus.Gatherer, name string) int {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name {
			return len(f.GetMetric())
		}
	}
	return 0
}

// What one request adds to the frame path: its frame and bytes counted
// in, the latency observed by method (two clock reads, a map lookup), its
// response's frame and bytes counted out, the backlog moved up and down.
//
//	go test -run '^$' -bench PerRequest -count 6 ./metrics/
func BenchmarkPerRequest(b *testing.B) {
	m := New(Options{Methods: []string{"health", "status", "agent"}})
	t := m.Transport
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		t.BytesIn.Add(48)
		t.FramesIn.Inc()
		at := time.Now()
		m.Request("health").Observe(time.Since(at).Seconds())
		t.Backlog.Add(900)
		t.Sent(1, 900)
		t.Backlog.Add(-900)
	}
}

// The same from both cores at once: the counters are shared by every
// socket, so this is what contention on them costs.
func BenchmarkPerRequestParallel(b *testing.B) {
	m := New(Options{Methods: []string{"health", "status", "agent"}})
	t := m.Transport
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			t.BytesIn.Add(48)
			t.FramesIn.Inc()
			at := time.Now()
			m.Request("health").Observe(time.Since(at).Seconds())
			t.Backlog.Add(900)
			t.Sent(1, 900)
			t.Backlog.Add(-900)
		}
	})
}

// Requests for a method the registry does not have share one series, so a
// peer cannot grow the label set; names the registry has get their own.
func TestRequestSeries(t *testing.T) {
	m := New(Options{Methods: []string{"health"}})
	m.Request("health").Observe(0.001)
	m.Request("no.such.method").Observe(0.001)
	m.Request("another.one").Observe(0.001)
	if n := series(t, m.Registry(), "openclaw_request_duration_seconds"); n != 2 {
		t.Fatalf("request series = %d, want 2 (health, other)", n)
	}
}

// Two generations never share a number: each has its own registry.
func TestRegistriesApart(t *testing.T) {
	a, b := New(Options{}), New(Options{Restarts: 3})
	a.RunsStarted.Inc()
	if n := series(t, a.Registry(), "openclaw_runs_started_total"); n != 1 {
		t.Fatalf("runs started series = %d", n)
	}
	fams, _ := b.Registry().Gather()
	for _, f := range fams {
		if f.GetName() == "openclaw_runs_started_total" && f.GetMetric()[0].GetCounter().GetValue() != 0 {
			t.Fatal("a run in one generation counted in another")
		}
		if f.GetName() == "openclaw_restarts_total" && f.GetMetric()[0].GetCounter().GetValue() != 3 {
			t.Fatalf("restarts = %v, want 3", f.GetMetric()[0].GetCounter().GetValue())
		}
	}
	if n := series(t, a.Registry(), "go_goroutines"); n != 0 {
		t.Fatalf("runtime collectors registered without Options.Runtime")
	}
	if n := series(t, New(Options{Runtime: true}).Registry(), "go_goroutines"); n != 1 {
		t.Fatalf("go_goroutines series = %d with Options.Runtime", n)
	}
}

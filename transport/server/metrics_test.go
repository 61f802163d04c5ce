package server_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"openclaw/metrics"
	"openclaw/transport/server"
)

func value(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// A socket dropped as a slow consumer is counted once, and the bytes it
// had queued leave the backlog total with it; what it read and what was
// written to it before are counted.
func TestSlowConsumerCounted(t *testing.T) {
	m := metrics.New(metrics.Options{}).Transport
	dropped := make(chan int, 1)
	ts := startServer(t, server.Options{Limits: server.Limits{MaxBufferedBytes: 4 << 20}, Metrics: m}, flood(dropped))
	w := dial(t, ts.addr)
	r := ts.next(t)
	w.authenticate()
	w.text("flood")
	<-dropped
	r.waitClosed(t)

	if n := value(t, m.SlowConsumers); n != 1 {
		t.Errorf("slow consumer closes = %v, want 1", n)
	}
	// The two frames the peer sent ("auth", "flood"), their bytes with
	// their (masked, 6-byte) headers.
	if n := value(t, m.FramesIn); n != 2 {
		t.Errorf("frames in = %v, want 2", n)
	}
	if n := value(t, m.BytesIn); n < float64(len("auth")+len("flood")+2*6) {
		t.Errorf("bytes in = %v", n)
	}
	// The kernel took some of the 1 MiB frames before the peer's window
	// closed: at least the first was handed to it whole.
	if n := value(t, m.BytesOut); n < 1<<20 {
		t.Errorf("bytes out = %v, want at least one 1 MiB frame", n)
	}
	// The writer lets go of the stuck write once the connection is closed.
	deadline := time.Now().Add(10 * time.Second)
	for m.Backlog.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("backlog total = %d after the only socket closed, want 0", m.Backlog.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

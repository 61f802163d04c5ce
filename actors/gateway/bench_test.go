package gateway_test

import (
	"testing"

	"openclaw/actors/gateway/gatewaytest"
)

// BenchmarkHealthRoundTrip: one authenticated socket calling health back to
// back against an in-process gateway: the per-request cost of the frame path
// (decode, registry checks, the owner's answer, the write), client included.
func BenchmarkHealthRoundTrip(b *testing.B) {
	gw := gatewaytest.Start(b, nil)
	w, _ := gatewaytest.MustConnect(b, gw.URL, gatewaytest.Admin())
	req := `{"type":"req","id":"h","method":"health"}`
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.Send(req)
		if f := w.Next(); !f.OK {
			b.Fatalf("health: %s", f.Raw)
		}
	}
}

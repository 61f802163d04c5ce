package hub

import (
	"testing"
	"time"
)

func TestBurstGCArmsOnceAfterBurstSize(t *testing.T) {
	var g burstGC
	for i := 1; i < burstSize; i++ {
		if g.handshake() {
			t.Fatalf("armed after %d handshakes", i)
		}
	}
	if !g.handshake() {
		t.Fatal("not armed after burstSize handshakes")
	}
	if g.handshake() {
		t.Fatal("armed twice")
	}
	if wait := g.settled(); wait <= 0 {
		t.Fatal("released while handshakes are still coming in")
	}
	g.last = time.Now().Add(-2 * burstQuiet) // the burst is over
	if wait := g.settled(); wait != 0 {
		t.Fatalf("not released after the quiet period (wait %v)", wait)
	}
	if g.count != 0 || g.armed {
		t.Fatalf("not reset: %+v", g)
	}
}

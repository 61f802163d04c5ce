package loopback

import (
	"net"
	"strconv"
	"testing"
)

func TestFreePort(t *testing.T) {
	lo, ok := ephemeralLow()
	seen := map[int]bool{}
	for range 50 {
		p, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
		if ok && (p < lowest || p >= lo) {
			t.Fatalf("port %d outside [%d, %d): the kernel may assign it", p, lowest, lo)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d not bindable: %v", p, err)
		}
		ln.Close()
	}
}

// A port somebody holds is never handed out.
func TestFreePortSkipsBusy(t *testing.T) {
	if _, ok := ephemeralLow(); !ok {
		t.Skip("no ephemeral range to pick below")
	}
	var held []net.Listener
	defer func() {
		for _, ln := range held {
			ln.Close()
		}
	}()
	busy := map[int]bool{}
	for p := lowest; p < lowest+200; p++ {
		if ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p)); err == nil {
			held = append(held, ln)
			busy[p] = true
		}
	}
	for range 500 {
		p, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if busy[p] {
			t.Fatalf("port %d is held, yet handed out", p)
		}
	}
}

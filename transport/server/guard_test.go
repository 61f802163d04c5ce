package server

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

// The guard sees a socket's bytes in whatever pieces the kernel hands over:
// its verdict, and how many bytes it lets through, must not depend on where
// the pieces are cut. Run with go test -fuzz FuzzFrameGuard ./transport/server.
func FuzzFrameGuard(f *testing.F) {
	masked := func(op byte, n uint64) []byte {
		h := []byte{0x80 | op}
		switch {
		case n < 126:
			h = append(h, 0x80|byte(n))
		case n <= 0xFFFF:
			h = binary.BigEndian.AppendUint16(append(h, 0x80|126), uint16(n))
		default:
			h = binary.BigEndian.AppendUint64(append(h, 0x80|127), n)
		}
		return append(h, 1, 2, 3, 4)
	}
	f.Add(append(masked(1, 5), "hello"...), []byte{1, 2, 3}, uint32(64))
	f.Add(masked(1, 1<<63), []byte{7}, uint32(1<<16))
	f.Add(append(append(masked(1, 3), "abc"...), masked(1, 70000)...), []byte{4, 9}, uint32(1<<16))
	frag := append(append(append([]byte{0x01, 0x83, 1, 2, 3, 4}, "abc"...), 0x89, 0x80, 1, 2, 3, 4), 0x80, 0x83, 1, 2, 3, 4)
	f.Add(append(frag, "def"...), []byte{5, 1, 1}, uint32(5))
	f.Fuzz(func(t *testing.T, stream, cuts []byte, limit uint32) {
		var whole frameGuard
		wantPass, wantOK := whole.scan(stream, uint64(limit))
		if wantOK && wantPass != len(stream) {
			t.Fatalf("ok but passed %d of %d bytes", wantPass, len(stream))
		}
		var g frameGuard
		passed, rest := 0, stream
		for i := 0; len(rest) > 0; i++ {
			n := len(rest)
			if i < len(cuts) && int(cuts[i]) < n {
				n = int(cuts[i])
			}
			pass, ok := g.scan(rest[:n], uint64(limit))
			passed += pass
			if !ok {
				if wantOK || passed != wantPass {
					t.Fatalf("in pieces: refused after %d bytes; whole: ok=%v after %d", passed, wantOK, wantPass)
				}
				return
			}
			rest = rest[n:]
		}
		if !wantOK {
			t.Fatalf("in pieces: all %d bytes passed; whole: refused after %d", passed, wantPass)
		}
	})
}

func TestPreauthKey(t *testing.T) {
	tests := []struct{ ip, want string }{
		{"127.0.0.1", "127.0.0.1"},
		{"127.0.0.2", "127.0.0.1"},
		{"127.255.255.254", "127.0.0.1"},
		{"::1", "127.0.0.1"},
		{"10.0.0.1", "10.0.0.1"},
		{"2001:db8::1", "2001:db8::1"},
	}
	for _, tt := range tests {
		if got := preauthKey(netip.MustParseAddr(tt.ip)); got.String() != tt.want {
			t.Errorf("preauthKey(%s) = %s, want %s", tt.ip, got, tt.want)
		}
	}
}

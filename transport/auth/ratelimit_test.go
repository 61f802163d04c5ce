package auth

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable time source for Limiter.now, so window and lockout
// arithmetic is tested exactly instead of with sleeps.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestLimiter(p RateLimit) (*Limiter, *fakeClock) {
	clock := &fakeClock{t: time.Date(2026, 9, 6, 12, 0, 0, 0, time.UTC)}
	l := NewLimiter(p)
	l.now = clock.Now
	return l, clock
}

var remote = netip.MustParseAddr("203.0.113.7")

func TestLimiterLocksAfterMaxFailures(t *testing.T) {
	l, clock := newTestLimiter(DefaultRateLimit)
	// The first nine failures, a second apart, are within the 60 s window
	// and must not lock.
	for i := 1; i < 10; i++ {
		if locked, _ := l.Fail(remote); locked {
			t.Fatalf("locked after %d failures, want 10", i)
		}
		if locked, _ := l.Locked(remote); locked {
			t.Fatalf("Locked after %d failures, want not locked", i)
		}
		clock.Advance(time.Second)
	}
	locked, d := l.Fail(remote)
	if !locked || d != 5*time.Minute {
		t.Fatalf("10th failure = (%v, %v), want (true, 5m)", locked, d)
	}
	locked, left := l.Locked(remote)
	if !locked || left != 5*time.Minute {
		t.Fatalf("Locked right after lockout = (%v, %v), want (true, 5m)", locked, left)
	}

	// Locked reports what is left of the lockout, not the full period.
	clock.Advance(2*time.Minute + 30*time.Second)
	if locked, left := l.Locked(remote); !locked || left != 2*time.Minute+30*time.Second {
		t.Fatalf("Locked 2m30s in = (%v, %v), want (true, 2m30s)", locked, left)
	}

	// Another address is unaffected by this one's lockout.
	other := netip.MustParseAddr("203.0.113.8")
	if locked, _ := l.Locked(other); locked {
		t.Fatal("an unrelated address is locked")
	}

	// At the end of the lockout the address is free again, and the failures
	// that caused it are not held against it.
	clock.Advance(2*time.Minute + 30*time.Second)
	if locked, left := l.Locked(remote); locked || left != 0 {
		t.Fatalf("Locked after the lockout = (%v, %v), want (false, 0)", locked, left)
	}
	if locked, _ := l.Fail(remote); locked {
		t.Fatal("one failure after a lockout expired locked again: the old failures were kept")
	}
}

func TestLimiterWindow(t *testing.T) {
	tests := []struct {
		name string
		// gaps[i] is how long to wait before failure i+1.
		gaps       []time.Duration
		wantLocked bool
	}{
		{
			name:       "ten within the window",
			gaps:       repeat(10, 6*time.Second), // 54 s from first to last
			wantLocked: true,
		},
		{
			name:       "ten spread past the window",
			gaps:       repeat(10, 7*time.Second), // 63 s: the first has aged out
			wantLocked: false,
		},
		{
			// Nine failures, a pause longer than the window, then nine more:
			// never ten inside any 60 s.
			name:       "bursts separated by a quiet minute",
			gaps:       append(repeat(9, 0), append([]time.Duration{61 * time.Second}, repeat(8, 0)...)...),
			wantLocked: false,
		},
		{
			name:       "bursts then one more inside the window",
			gaps:       append(repeat(9, 0), append([]time.Duration{61 * time.Second}, repeat(9, 0)...)...),
			wantLocked: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, clock := newTestLimiter(DefaultRateLimit)
			var locked bool
			for i, g := range tt.gaps {
				clock.Advance(g)
				if locked {
					t.Fatalf("locked before failure %d of %d", i+1, len(tt.gaps))
				}
				locked, _ = l.Fail(remote)
			}
			if locked != tt.wantLocked {
				t.Fatalf("after %d failures: locked = %v, want %v", len(tt.gaps), locked, tt.wantLocked)
			}
			if got, _ := l.Locked(remote); got != tt.wantLocked {
				t.Fatalf("Locked = %v, want %v", got, tt.wantLocked)
			}
		})
	}
}

func repeat(n int, d time.Duration) []time.Duration {
	s := make([]time.Duration, n)
	for i := range s {
		s[i] = d
	}
	return s
}

func TestLimiterLoopback(t *testing.T) {
	// ::ffff:127.0.0.1 is how a dual-stack listener may report an IPv4 loopback peer.
	addrs := []string{"127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"}
	tests := []struct {
		exempt     bool
		wantLocked bool
	}{
		{exempt: true, wantLocked: false},
		{exempt: false, wantLocked: true},
	}
	for _, tt := range tests {
		for _, a := range addrs {
			t.Run(fmt.Sprintf("exempt=%v/%s", tt.exempt, a), func(t *testing.T) {
				p := DefaultRateLimit
				p.ExemptLoopback = tt.exempt
				l, _ := newTestLimiter(p)
				ip := netip.MustParseAddr(a)
				for range 20 {
					l.Fail(ip)
				}
				if locked, _ := l.Locked(ip); locked != tt.wantLocked {
					t.Fatalf("after 20 failures from %s: locked = %v, want %v", a, locked, tt.wantLocked)
				}
			})
		}
	}
}

// The exemption is for loopback only; a private LAN address is a different
// machine and is limited like any other.
func TestLimiterExemptionIsLoopbackOnly(t *testing.T) {
	l, _ := newTestLimiter(DefaultRateLimit)
	for _, a := range []string{"10.0.0.5", "192.168.1.20", "fe80::1"} {
		ip := netip.MustParseAddr(a)
		for range 10 {
			l.Fail(ip)
		}
		if locked, _ := l.Locked(ip); !locked {
			t.Errorf("%s not locked after 10 failures", a)
		}
	}
}

func TestLimiterSucceedClears(t *testing.T) {
	l, _ := newTestLimiter(DefaultRateLimit)
	for range 9 {
		l.Fail(remote)
	}
	l.Succeed(remote)
	// Had the nine been kept, the next failure would be the tenth.
	for i := 1; i <= 9; i++ {
		if locked, _ := l.Fail(remote); locked {
			t.Fatalf("locked after Succeed and %d new failures", i)
		}
	}
	if locked, _ := l.Fail(remote); !locked {
		t.Fatal("not locked after Succeed and 10 new failures")
	}
	// Succeed also lifts an active lockout: a client that finally presents
	// the right secret (e.g. from another tab) is not kept out.
	l.Succeed(remote)
	if locked, _ := l.Locked(remote); locked {
		t.Fatal("still locked after Succeed")
	}
}

// A zero or negative MaxAttempts disables limiting rather than locking on the
// first failure.
func TestLimiterDisabled(t *testing.T) {
	for _, n := range []int{0, -1} {
		p := DefaultRateLimit
		p.MaxAttempts = n
		l, _ := newTestLimiter(p)
		for range 50 {
			if locked, _ := l.Fail(remote); locked {
				t.Fatalf("MaxAttempts=%d: Fail locked", n)
			}
		}
		if locked, _ := l.Locked(remote); locked {
			t.Fatalf("MaxAttempts=%d: Locked = true", n)
		}
	}
}

// The limiter is shared by every handshake; hammer it from many goroutines so
// the race detector sees the map and slices touched concurrently.
func TestLimiterConcurrent(t *testing.T) {
	l, _ := newTestLimiter(DefaultRateLimit)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ip := netip.AddrFrom4([4]byte{198, 51, 100, byte(g)})
			for range 100 {
				l.Fail(ip)
				l.Locked(ip)
				l.Fail(remote)
			}
			l.Succeed(ip)
		}()
	}
	wg.Wait()
	if locked, _ := l.Locked(remote); !locked {
		t.Fatal("800 failures from one address did not lock it")
	}
}

// Issue 16 item 3: loopback is exempt so the local CLI is never locked out,
// but a web page is on loopback too; its sockets use the Browser view, which
// counts loopback failures like any others.
func TestLimiterBrowserNotExempt(t *testing.T) {
	l, _ := newTestLimiter(DefaultRateLimit) // ExemptLoopback: true
	b := l.Browser()
	for _, ip := range []string{"127.0.0.1", "::1"} {
		lo := netip.MustParseAddr(ip)
		for i := 1; i < DefaultRateLimit.MaxAttempts; i++ {
			if locked, _ := b.Fail(lo); locked {
				t.Fatalf("%s: browser locked after %d failures", ip, i)
			}
		}
		if locked, d := b.Fail(lo); !locked || d != DefaultRateLimit.Lockout {
			t.Fatalf("%s: browser's 10th failure = (%v, %v), want locked for the lockout", ip, locked, d)
		}
		if locked, _ := l.Browser().Locked(lo); !locked {
			t.Fatalf("%s: another browser view does not see the lockout", ip)
		}
		// The CLI on the same address is still exempt.
		if locked, _ := l.Locked(lo); locked {
			t.Fatalf("%s: the non-browser limiter is locked too", ip)
		}
	}
	// A remote address counts the same for both, in one count.
	for i := 0; i < DefaultRateLimit.MaxAttempts-1; i++ {
		l.Fail(remote)
	}
	if locked, _ := b.Fail(remote); !locked {
		t.Fatal("browser and non-browser failures from one remote address are counted apart")
	}
}

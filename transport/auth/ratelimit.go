package auth

import (
	"net/netip"
	"sync"
	"time"
)

// RateLimit is the per-IP failed-authentication policy.
type RateLimit struct {
	MaxAttempts    int
	Window         time.Duration
	Lockout        time.Duration
	ExemptLoopback bool
}

// DefaultRateLimit is the reference's: 10 failures per 60 s, then 5 min out,
// loopback exempt.
var DefaultRateLimit = RateLimit{MaxAttempts: 10, Window: time.Minute, Lockout: 5 * time.Minute, ExemptLoopback: true}

// Limiter counts failed attempts per client IP. It is shared by every
// connection's handshake, so it is a small mutex-guarded map rather than an
// actor: a handshake must not wait in a queue behind thousands of others to
// learn it is locked out.
type Limiter struct {
	*counts
	// browser marks the view Browser returns: loopback is not exempt.
	browser bool
}

// counts is the state a Limiter and its Browser view share.
type counts struct {
	policy RateLimit
	now    func() time.Time

	mu      sync.Mutex
	entries map[netip.Addr]*limitEntry
}

type limitEntry struct {
	failures    []time.Time
	lockedUntil time.Time
}

// NewLimiter returns a limiter enforcing p.
func NewLimiter(p RateLimit) *Limiter {
	return &Limiter{counts: &counts{policy: p, now: time.Now, entries: make(map[netip.Addr]*limitEntry)}}
}

// Browser is the limiter for a socket a web page opened (its upgrade carried
// an Origin header): the same counts, but loopback is never exempt. Any page
// the user visits can reach 127.0.0.1, and the exemption exists for the
// local CLI, not for them.
func (l *Limiter) Browser() *Limiter { return &Limiter{counts: l.counts, browser: true} }

func (l *Limiter) exempt(ip netip.Addr) bool {
	return l.policy.MaxAttempts <= 0 || (!l.browser && l.policy.ExemptLoopback && ip.IsLoopback())
}

// Locked reports whether ip is locked out and for how much longer.
func (l *Limiter) Locked(ip netip.Addr) (bool, time.Duration) {
	if l.exempt(ip) {
		return false, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[ip]
	if e == nil {
		return false, 0
	}
	if left := e.lockedUntil.Sub(l.now()); left > 0 {
		return true, left
	}
	return false, 0
}

// Fail records a failed attempt and reports whether ip is now locked out.
func (l *Limiter) Fail(ip netip.Addr) (bool, time.Duration) {
	if l.exempt(ip) {
		return false, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	e := l.entries[ip]
	if e == nil {
		e = &limitEntry{}
		l.entries[ip] = e
	}
	cut := now.Add(-l.policy.Window)
	kept := e.failures[:0]
	for _, t := range e.failures {
		if t.After(cut) {
			kept = append(kept, t)
		}
	}
	e.failures = append(kept, now)
	if len(e.failures) >= l.policy.MaxAttempts {
		e.failures = e.failures[:0]
		e.lockedUntil = now.Add(l.policy.Lockout)
		return true, l.policy.Lockout
	}
	l.prune(now)
	return false, 0
}

// Succeed forgets ip's failures.
func (l *Limiter) Succeed(ip netip.Addr) {
	if l.exempt(ip) {
		return
	}
	l.mu.Lock()
	delete(l.entries, ip)
	l.mu.Unlock()
}

// prune drops idle entries so a scan from many addresses cannot grow the map
// without bound. Called with mu held, amortised over failures.
func (l *Limiter) prune(now time.Time) {
	if len(l.entries) < 4096 {
		return
	}
	for ip, e := range l.entries {
		if e.lockedUntil.Before(now) && (len(e.failures) == 0 || e.failures[len(e.failures)-1].Before(now.Add(-l.policy.Window))) {
			delete(l.entries, ip)
		}
	}
}

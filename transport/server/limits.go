package server

import "time"

const (
	// closeWriteTimeout bounds writing a close frame: the socket is being
	// closed anyway, so a peer that does not take it is not waited for.
	closeWriteTimeout = time.Second
	// slowConsumerGrace is how long the write in progress on a socket
	// dropped as a slow consumer may take to finish, so that the close
	// frame after it can still be read by a peer that is slow, not stuck.
	slowConsumerGrace = 2 * time.Second
	// warnEvery spaces out warnings a peer can cause at will (refused
	// origins, oversized frames), so they cannot flood the log.
	warnEvery = 10 * time.Second
)

// Limits are the transport limits of docs/PROTOCOL.md §1. Zero fields take the
// reference's defaults (see WithDefaults).
type Limits struct {
	PreAuthMaxFrame  int           // bytes; a larger frame before hello-ok closes 1009
	MaxPayload       int           // bytes; max inbound frame after auth
	MaxBufferedBytes int64         // outbound backlog per socket
	HandshakeTimeout time.Duration // no connect by then: close 1000
	MaxPreAuthPerIP  int           // more pre-auth sockets from one IP: HTTP 503
	MaxPendingFrames int           // frames held before hello-ok; one more closes 1008
	PingInterval     time.Duration // ping after auth; no pong by the next one drops the socket
	TickInterval     time.Duration // tick event period
	// WriteTimeout is how long a peer that stopped reading keeps its
	// socket. A write that blocks is given between half of it and all of
	// it (the deadline is moved only when less than half is left), so a
	// stuck peer holds no goroutine; and on Linux the kernel drops the
	// connection once bytes it already took for the peer have waited that
	// long unacknowledged (stuck_linux.go), since most writes to a stuck
	// peer return at once, into the kernel's send buffer.
	WriteTimeout time.Duration
	// MaxFrameOut is the largest frame the gateway writes, in bytes. A
	// response over it is answered with an error instead and a broadcast
	// over it is skipped; the socket stays open. Default MaxPayload: the
	// limit hello-ok.policy advertises, and the reference clients' own
	// inbound limit (they close 1009 on anything larger).
	MaxFrameOut int
}

// DefaultLimits are the reference gateway's.
var DefaultLimits = Limits{
	PreAuthMaxFrame:  64 << 10,
	MaxPayload:       25 << 20,
	MaxBufferedBytes: 50 << 20,
	HandshakeTimeout: 15 * time.Second,
	MaxPreAuthPerIP:  32,
	MaxPendingFrames: 15,
	PingInterval:     25 * time.Second,
	TickInterval:     30 * time.Second,
	WriteTimeout:     30 * time.Second,
}

// WithDefaults fills zero fields from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits
	if l.PreAuthMaxFrame <= 0 {
		l.PreAuthMaxFrame = d.PreAuthMaxFrame
	}
	if l.MaxPayload <= 0 {
		l.MaxPayload = d.MaxPayload
	}
	if l.MaxFrameOut <= 0 {
		l.MaxFrameOut = l.MaxPayload
	}
	if l.MaxBufferedBytes <= 0 {
		l.MaxBufferedBytes = d.MaxBufferedBytes
	}
	if l.HandshakeTimeout <= 0 {
		l.HandshakeTimeout = d.HandshakeTimeout
	}
	if l.MaxPreAuthPerIP <= 0 {
		l.MaxPreAuthPerIP = d.MaxPreAuthPerIP
	}
	if l.MaxPendingFrames <= 0 {
		l.MaxPendingFrames = d.MaxPendingFrames
	}
	if l.PingInterval <= 0 {
		l.PingInterval = d.PingInterval
	}
	if l.TickInterval <= 0 {
		l.TickInterval = d.TickInterval
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = d.WriteTimeout
	}
	return l
}

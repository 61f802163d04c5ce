package server

import (
	"net"
	"syscall"
	"time"
)

// tcpUserTimeout is TCP_USER_TIMEOUT (linux/tcp.h, the same on every
// architecture), which the frozen syscall package lacks; golang.org/x/sys
// has it but is only an indirect dependency of this module.
const tcpUserTimeout = 0x12

// dropWhenStuck asks the kernel to abort c once bytes it holds for the peer
// have gone unacknowledged, or waited behind a zero receive window, for d
// (TCP_USER_TIMEOUT, enforced on zero-window probes since Linux 5.11).
//
// The writer's deadline alone cannot do this: it bounds a write that
// blocks, and a write blocks only once the kernel's send buffer is full.
// That buffer grows to tcp_wmem's maximum (4 MiB by default) for a peer
// that stopped reading, and merged deltas keep a stuck reader's whole share
// of a long reply below it, so every write returned at once and the socket
// stayed open until the ping after next (up to two PingIntervals). The
// abort fails the read loop like any broken connection, so the connection
// actor and the hub hear of it the usual way.
func dropWhenStuck(c net.Conn, d time.Duration) {
	sc, ok := c.(syscall.Conn)
	if !ok || d <= 0 {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpUserTimeout, int(d.Milliseconds()))
	})
}

package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// Listeners are the bound TCP sockets of the gateway's port. They outlive a
// Server: an in-process restart stops one Server and starts the next on the
// same Listeners, so the port is never released and connections that arrive
// in between wait in the kernel's accept queue.
type Listeners struct {
	Hosts []string
	Port  int
	ls    []*net.TCPListener
}

// Listen binds every host on port (0 picks a free port, the same on all).
// A busy port is an error that says so.
func Listen(ctx context.Context, hosts []string, port int) (*Listeners, error) {
	out := &Listeners{Hosts: hosts, Port: port}
	var lc net.ListenConfig
	for _, host := range hosts {
		addr := net.JoinHostPort(host, strconv.Itoa(out.Port))
		ln, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			// ::1 is missing on hosts with IPv6 disabled; loopback on
			// 127.0.0.1 alone is still loopback.
			if host == "::1" && len(out.ls) > 0 && !isAddrInUse(err) {
				continue
			}
			out.Close()
			if isAddrInUse(err) {
				return nil, fmt.Errorf("port %d is busy on %s: another gateway or program listens there; stop it, pick another --port, or start with --force", out.Port, host)
			}
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		tl := ln.(*net.TCPListener)
		if out.Port == 0 {
			out.Port = tl.Addr().(*net.TCPAddr).Port
		}
		out.ls = append(out.ls, tl)
	}
	return out, nil
}

// Same reports whether these listeners serve exactly hosts and port.
func (l *Listeners) Same(hosts []string, port int) bool {
	if l == nil || port != l.Port || len(hosts) != len(l.Hosts) {
		return false
	}
	for i := range hosts {
		if hosts[i] != l.Hosts[i] {
			return false
		}
	}
	return true
}

// Addr is the first listener's address.
func (l *Listeners) Addr() string {
	if l == nil || len(l.ls) == 0 {
		return ""
	}
	return l.ls[0].Addr().String()
}

// Close releases the port.
func (l *Listeners) Close() {
	if l == nil {
		return
	}
	for _, ln := range l.ls {
		_ = ln.Close()
	}
	l.ls = nil
}

// lease is one Server's use of a shared listener. Closing it stops that
// Server's accept loop (by a deadline in the past) without closing the
// socket; the next lease clears the deadline.
type lease struct {
	*net.TCPListener
	done atomic.Bool
}

func newLease(l *net.TCPListener) *lease {
	_ = l.SetDeadline(time.Time{})
	return &lease{TCPListener: l}
}

func (l *lease) Accept() (net.Conn, error) {
	c, err := l.TCPListener.Accept()
	if l.done.Load() {
		if c != nil {
			// Accepted in the instant of the hand-over: the client sees a
			// reset and reconnects, as it would after any restart.
			_ = c.Close()
		}
		return nil, net.ErrClosed
	}
	return c, err
}

func (l *lease) Close() error {
	if l.done.Swap(true) {
		return nil
	}
	return l.TCPListener.SetDeadline(time.Unix(1, 0))
}

func isAddrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }

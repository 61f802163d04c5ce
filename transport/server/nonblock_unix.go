//go:build unix

package server

import (
	"net"
	"syscall"
)

// rawOf is the descriptor access of c, or nil when c has none (TLS).
func rawOf(c net.Conn) syscall.RawConn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// tryWrite writes w.buf to rc with one write that never waits for the
// peer (Go's sockets are non-blocking): it reports how much the kernel
// took, 0 with a nil error when it took nothing. It holds the
// descriptor's write lock for the call, as a net.Conn Write does.
func (w *batch) tryWrite(rc syscall.RawConn) (int, error) {
	w.n, w.err = 0, nil
	if err := rc.Write(w.writeFD); err != nil {
		return 0, err
	}
	return w.n, w.err
}

// writeFD is tryWrite's callback, a method value made once per batch so
// that a write allocates nothing.
func (w *batch) fdWrite(fd uintptr) bool {
	for {
		n, err := syscall.Write(int(fd), w.buf)
		switch err {
		case nil:
			w.n = n
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
		default:
			w.err = err
		}
		return true
	}
}

//go:build !unix

package server

import (
	"net"
	"syscall"
)

// rawOf is nil here: every socket writes from its own goroutine
// (writeLoop), as the pool's writes need a non-blocking descriptor.
func rawOf(net.Conn) syscall.RawConn { return nil }

func (w *batch) tryWrite(syscall.RawConn) (int, error) { return 0, nil }

func (w *batch) fdWrite(uintptr) bool { return true }

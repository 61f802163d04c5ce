//go:build !linux

package server

import (
	"net"
	"time"
)

// dropWhenStuck is Linux's TCP_USER_TIMEOUT (stuck_linux.go). Elsewhere a
// peer that stopped reading is dropped when a write blocks for the write
// timeout or when it misses a ping.
func dropWhenStuck(net.Conn, time.Duration) {}

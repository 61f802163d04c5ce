package client

import (
	"context"
	"errors"
	"net"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// blackHole is a loopback port that listens but never accepts, its accept
// queue full: the kernel drops every further SYN, so a connect to it waits
// (retransmitting) until its dialer gives up, as a connect does to a
// gateway whose accept queue a thundering herd filled.
func blackHole(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(sa.(*syscall.SockaddrInet4).Port)
	for range 16 { // fill the queue until a connect is dropped
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err != nil {
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatal("the accept queue never filled")
	return ""
}

// Dial's TCP connect lasts as long as the caller's context allows, not
// gws's own 5 s: a client cancelled after 6 s reports the cancellation.
func TestDialConnectFollowsTheContext(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("a full accept queue drops SYNs on Linux")
	}
	if testing.Short() {
		t.Skip("waits 6 s")
	}
	addr := blackHole(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(6*time.Second, cancel)
	_, err := Dial(ctx, Options{URL: "ws://" + addr})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Dial = %v, want it cancelled by its context (not ended by a dial timeout of its own)", err)
	}
}

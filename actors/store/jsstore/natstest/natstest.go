// Package natstest starts a real NATS server with JetStream for tests: the
// embedded nats-server on a loopback port with its store in a temp dir.
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// readyWait bounds the wait for the server to accept connections; it is
// ready in milliseconds, a loaded CI machine may take seconds.
const readyWait = 20 * time.Second

// Start runs a single-node NATS server with JetStream on 127.0.0.1 (a free
// port), stopped when the test ends.
func Start(t testing.TB) *server.Server {
	t.Helper()
	srv, err := server.NewServer(&server.Options{
		ServerName: "natstest",
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		JetStream:  true,
		StoreDir:   t.TempDir(),
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		t.Fatalf("nats server: %v", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(readyWait) {
		srv.Shutdown()
		t.Fatalf("nats server not ready after %s", readyWait)
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return srv
}

// Connect opens a client connection to srv (closed when the test ends) and
// returns its JetStream context.
func Connect(t testing.TB, srv *server.Server) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatalf("nats connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return js
}

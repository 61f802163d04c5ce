// Package natstest starts a real NATS server with JetStream for tests: the
// embedded nats-server on a loopback port with its store in a temp dir.
package natstest

import (
	"context"
	"fmt"
	"net"
	"net/url"
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

// StartCluster runs n NATS servers with JetStream routed to each other on
// loopback ports (a JetStream cluster, as n gateways' embedded servers
// make), and waits until the cluster has a meta leader. Each server is
// shut down when the test ends; the test may shut one down earlier.
func StartCluster(t testing.TB, n int) []*server.Server {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	var routes []*url.URL
	for _, p := range ports {
		routes = append(routes, &url.URL{Scheme: "nats-route", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	srvs := make([]*server.Server, n)
	for i := range srvs {
		srv, err := server.NewServer(&server.Options{
			ServerName: fmt.Sprintf("natstest-%d", i),
			Host:       "127.0.0.1",
			Port:       server.RANDOM_PORT,
			JetStream:  true,
			StoreDir:   t.TempDir(),
			Cluster:    server.ClusterOpts{Name: "natstest", Host: "127.0.0.1", Port: ports[i]},
			Routes:     routes,
			NoSigs:     true,
			NoLog:      true,
		})
		if err != nil {
			t.Fatalf("nats server %d: %v", i, err)
		}
		go srv.Start()
		t.Cleanup(func() {
			srv.Shutdown()
			srv.WaitForShutdown()
		})
		srvs[i] = srv
	}
	for i, srv := range srvs {
		if !srv.ReadyForConnections(readyWait) {
			t.Fatalf("nats server %d not ready after %s", i, readyWait)
		}
	}
	// JetStream answers once the servers have elected a meta leader (a
	// request made before that may get no answer: each try has its own
	// timeout).
	js := Connect(t, srvs[0])
	ctx, cancel := context.WithTimeout(context.Background(), readyWait)
	defer cancel()
	for {
		c, cancel := context.WithTimeout(ctx, time.Second)
		_, err := js.AccountInfo(c)
		cancel()
		if err == nil {
			return srvs
		} else if ctx.Err() != nil {
			t.Fatalf("JetStream cluster not ready after %s: %v", readyWait, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

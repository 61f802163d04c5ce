package natsbus

import (
	"net"
	"strings"
	"testing"

	"openclaw/config"
)

// A cluster port another process holds fails the start at once, saying so.
func TestEmbeddedClusterPortBusy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var c config.Cluster
	c.Enabled = true
	c.NodeName = "busy"
	c.NATS.Embedded.ClusterListen = ln.Addr().String()
	b, err := Start(Options{Config: c, StateDir: t.TempDir()})
	if err == nil {
		b.Close()
		t.Fatal("started on a port another listener holds")
	}
	if !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("error = %q, want the bind failure", err)
	}
}

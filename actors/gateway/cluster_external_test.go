package gateway_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"openclaw/actors/gateway"
	"openclaw/actors/gateway/gatewaytest"
	"openclaw/config"
)

// natsServer builds the nats-server binary of the version in go.mod into a
// temporary directory (it is not packaged in Debian) and runs it with
// JetStream on a free loopback port; it stops when the test ends.
func natsServer(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds nats-server")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "nats-server")
	build := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build nats-server: %v\n%s", err, out)
	}
	port := gatewaytest.FreePort(t)
	srv := exec.Command(bin, "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-js", "-sd", filepath.Join(dir, "js"), "-n", "external")
	srv.Stdout, srv.Stderr = os.Stderr, os.Stderr
	if os.Getenv("OPENCLAW_TEST_LOG") == "" {
		srv.Stdout, srv.Stderr = nil, nil
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return "nats://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server not listening on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClusterExternalNATS: two gateways on an external nats-server process
// (no embedded server) see each other's rows.
func TestClusterExternalNATS(t *testing.T) {
	url := natsServer(t)
	gws := make([]*gatewaytest.Gateway, 2)
	for i := range gws {
		gws[i] = gatewaytest.Start(t, func(o *gateway.Options) {
			o.Config = &config.Config{}
			o.Config.Gateway.Cluster = &config.Cluster{Enabled: true, Name: "ext", NodeName: fmt.Sprintf("gw-%d", i),
				NATS: config.ClusterNATS{URL: url}}
		})
	}
	for i, gw := range gws {
		op := gw.Operator(t)
		eventually(t, fmt.Sprintf("gw-%d sees both", i), func() string {
			h := holders(rosterOf(t, op))
			if h["self@gw-0"] != "gw-0" || h["self@gw-1"] != "gw-1" {
				return fmt.Sprint(h)
			}
			return ""
		})
	}
}

package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"openclaw/actors/cluster"
	"openclaw/actors/gateway"
	"openclaw/actors/gateway/gatewaytest"
	"openclaw/transport/auth"
	"openclaw/transport/client"
	"openclaw/transport/protocol"
)

// TestClusterMetrics scrapes the per-peer figures from a 3-gateway
// cluster: the peers and their last heartbeat, the buckets' replication,
// the broadcasts received from each peer, requests routed to and served
// for each peer.
func TestClusterMetrics(t *testing.T) {
	gws := gatewaytest.StartCluster(t, 3, func(i int, o *gateway.Options) {
		o.Config.Gateway.Nodes.Pairing.AutoApproveCommands = true
		o.AutoApproveLocal = i != 1
	})
	eventually(t, "gw-0 counts two live peers with recent heartbeats and every bucket", func() string {
		s := gatewaytest.ScrapeMetrics(t, gws[0].HTTP, "")
		if n := s.Value(t, "openclaw_cluster_peers"); n != 2 {
			return fmt.Sprintf("peers %v", n)
		}
		for _, p := range []string{"gw-1", "gw-2"} {
			if _, ok := s["openclaw_cluster_peer_last_seen_seconds"]; !ok {
				return "no last-seen family"
			}
			if age := s.Value(t, "openclaw_cluster_peer_last_seen_seconds", "peer", p); age <= 0 || age > cluster.PeerTimeout.Seconds() {
				return fmt.Sprintf("%s last seen %v s ago", p, age)
			}
		}
		if _, ok := s["openclaw_cluster_bucket_replicas"]; !ok {
			return "no bucket figures yet"
		}
		for _, b := range []string{"oc_test_presence", "test_sessions", "test_kv"} {
			if r := s.Value(t, "openclaw_cluster_bucket_replicas", "bucket", b); r != 3 {
				return fmt.Sprintf("bucket %s replicas %v", b, r)
			}
		}
		return ""
	})

	// A pairing request on gw-1 is a broadcast: published by gw-1,
	// received from gw-1 by gw-0.
	id := auth.NewIdentity()
	if _, err := dialAt(t, gws[1], client.Options{Token: gatewaytest.Token, Identity: &id, ClientID: "openclaw-control-ui",
		Mode: "ui", Scopes: []string{"operator.read"}}); errCode(err) != "PAIRING_REQUIRED" {
		t.Fatalf("connect: %v, want PAIRING_REQUIRED", err)
	}
	eventually(t, "gw-0 counts a broadcast from gw-1", func() string {
		s := gatewaytest.ScrapeMetrics(t, gws[0].HTTP, "")
		if _, ok := s["openclaw_cluster_events_received_total"]; !ok {
			return "nothing received yet"
		}
		if n := s.Value(t, "openclaw_cluster_events_received_total", "peer", "gw-1"); n < 1 {
			return fmt.Sprintf("received %v", n)
		}
		return ""
	})
	if n := gatewaytest.ScrapeMetrics(t, gws[1].HTTP, "").Value(t, "openclaw_cluster_events_published_total"); n < 1 {
		t.Fatalf("gw-1 published %v", n)
	}

	// node.invoke from gw-0 to a node on gw-2: routed to gw-2, served for
	// gw-0; one for a node nowhere: routed to none.
	nid := whichNode(t, gws[2].URL)
	op := gws[0].Operator(t)
	eventually(t, "node.invoke through the cluster", func() string {
		_, err := callCtx(op, "node.invoke", map[string]any{"nodeId": nid.ID, "command": "system.which",
			"params": map[string]any{}, "idempotencyKey": fmt.Sprint("k-", time.Now().UnixNano())})
		if err != nil {
			return err.Error()
		}
		return ""
	})
	_, _ = callCtx(op, "node.invoke", map[string]any{"nodeId": "no-such-node", "command": "system.which", "idempotencyKey": "none"})
	s0 := gatewaytest.ScrapeMetrics(t, gws[0].HTTP, "")
	if n := s0.Value(t, "openclaw_cluster_requests_routed_total", "peer", "gw-2"); n < 1 {
		t.Fatalf("gw-0 routed to gw-2: %v", n)
	}
	if n := s0.Value(t, "openclaw_cluster_requests_routed_total", "peer", "none"); n < 1 {
		t.Fatalf("gw-0 routed to none: %v", n)
	}
	if n := gatewaytest.ScrapeMetrics(t, gws[2].HTTP, "").Value(t, "openclaw_cluster_requests_served_total", "peer", "gw-0"); n < 1 {
		t.Fatalf("gw-2 served for gw-0: %v", n)
	}

	// A single gateway has none of them.
	for name := range gatewaytest.ScrapeMetrics(t, gatewaytest.Start(t, nil).HTTP, "") {
		if strings.HasPrefix(name, "openclaw_cluster_") {
			t.Fatalf("a single gateway exports %s", name)
		}
	}
}

// whichNode connects a node ("n1", linux, declaring system.which) to url
// that answers every invoke with {"ran": <command>, "on": "n1"}; it
// returns the node's identity.
func whichNode(t *testing.T, url string) auth.Identity {
	t.Helper()
	id := auth.NewIdentity()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node, err := client.Dial(ctx, client.Options{URL: url, Token: gatewaytest.Token, Identity: &id, Role: "node",
		ClientID: "node-host", Mode: "node", Platform: "linux", DeviceFamily: "Linux", DisplayName: "n1",
		Version: "2026.9.6", Caps: []string{"system"}, Commands: []string{"system.which"}, EventBuffer: 1024})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(node.Close)
	go func() {
		for e := range node.Events() {
			if e.Event != "node.invoke.request" {
				continue
			}
			var r protocol.NodeInvokeRequest
			_ = json.Unmarshal(e.Payload, &r)
			b, _ := json.Marshal(map[string]string{"ran": r.Command, "on": "n1"})
			_, _ = callCtx(node, "node.invoke.result", map[string]any{"id": r.ID, "nodeId": r.NodeID, "ok": true, "payloadJSON": string(b)})
		}
	}()
	return id
}

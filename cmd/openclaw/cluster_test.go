package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"openclaw/actors/gateway"
	"openclaw/actors/gateway/gatewaytest"
	"openclaw/actors/store"
	"openclaw/actors/store/jsstore"
	"openclaw/actors/store/jsstore/natstest"
)

// `openclaw cluster import` against a real NATS server: it refuses while the
// gateway holds the state dir, imports once, imports nothing the second
// time, and exits 1 naming a conflict, keeping the cluster's value.
func TestClusterImport(t *testing.T) {
	ctx := context.Background()
	stateDir := t.TempDir()
	src, err := store.Open(store.DefaultPath(stateDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"hello", "again"} {
		c, _ := json.Marshal(text)
		if _, err := src.Append(ctx, store.Message{SessionKey: "agent:main:main", Role: "user", Content: c}); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.Put(ctx, "devices", "d1", []byte(`{"deviceId":"d1"}`)); err != nil {
		t.Fatal(err)
	}
	src.Close()

	srv := natstest.Start(t)
	env := cleanEnv("OPENCLAW_STATE_DIR=" + stateDir)
	importCmd := func() cmdResult {
		return runCmd(t, time.Minute, env, "", testBinary, "cluster", "import", "--nats", srv.ClientURL(), "--cluster", "prod")
	}

	release, err := gateway.LockStateDir(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	if r := importCmd(); r.Code != exitConfig || !strings.Contains(r.Stderr, "stop the gateway") {
		t.Fatalf("import beside a running gateway:\n%s", r)
	}
	release()

	steps := []struct {
		name       string
		code       int
		wantOutput []string
	}{
		{"first", 0, []string{"imported into cluster prod: 1 sessions (2 messages), 1 kv entries", "already there: 0 sessions, 0 kv entries, 0 cron jobs and runs, 0 queue items"}},
		{"second", 0, []string{"imported into cluster prod: 0 sessions (0 messages), 0 kv entries", "already there: 1 sessions, 1 kv entries, 0 cron jobs and runs, 0 queue items"}},
	}
	for _, st := range steps {
		r := importCmd()
		if r.Code != st.code {
			t.Fatalf("%s import:\n%s", st.name, r)
		}
		for _, w := range st.wantOutput {
			if !strings.Contains(r.Stdout, w) {
				t.Fatalf("%s import: no %q in\n%s", st.name, w, r)
			}
		}
	}
	js := natstest.Connect(t, srv)
	dst, err := jsstore.Open(ctx, js, jsstore.Config{Cluster: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if msgs, total, err := dst.History(ctx, "agent:main:main", 0); err != nil || total != 2 || string(msgs[1].Content) != `"again"` {
		t.Fatalf("the cluster's history: %d messages, %v", total, err)
	}

	// The cluster changed a device since: a third import keeps the
	// cluster's, says so and fails.
	if err := dst.Put(ctx, "devices", "d1", []byte(`{"deviceId":"d1","role":"node"}`)); err != nil {
		t.Fatal(err)
	}
	r := importCmd()
	if r.Code != exitFailure || !strings.Contains(r.Stdout, "conflict, the cluster's kept: kv devices/d1: the cluster holds another value") ||
		!strings.Contains(r.Stderr, "1 conflicts: the cluster's values were kept") {
		t.Fatalf("import with a conflict:\n%s", r)
	}
	if v, _, _ := dst.Get(ctx, "devices", "d1"); string(v) != `{"deviceId":"d1","role":"node"}` {
		t.Fatalf("the import overwrote the cluster's device: %s", v)
	}
}

// TestGatewayStatusDeepCluster: `gateway status --deep` against a gateway
// of a real 3-gateway cluster lists the peers (alive, their heartbeat's
// age, their start), this gateway's place, and the JetStream buckets, as
// text and in --json; a peer that stopped is listed gone (left).
func TestGatewayStatusDeepCluster(t *testing.T) {
	gws := gatewaytest.StartCluster(t, 3, nil)
	s := newServiceEnv(t, "OPENCLAW_STATE_DIR="+gws[0].Dir)
	status := func(args ...string) cmdResult {
		return s.run(t, append([]string{"gateway", "status", "--deep", "--url", gws[0].URL, "--token", gatewaytest.Token}, args...)...)
	}
	// The members and the buckets show once the cluster has formed.
	var v any
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := status("--json")
		v = decodeJSON(t, r.Stdout)
		members, _ := jsonPath(v, "cluster", "members")
		buckets, _ := jsonPath(v, "cluster", "buckets")
		if ms, ok := members.([]any); ok && len(ms) == 3 {
			if bs, ok := buckets.([]any); ok && len(bs) >= 7 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("status --deep --json: no 3 members and 7 buckets:\n%s", r)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if node, _ := jsonPath(v, "cluster", "node"); node != "gw-0" {
		t.Errorf("cluster.node = %v, want gw-0", node)
	}
	members, _ := jsonPath(v, "cluster", "members")
	for i, m := range members.([]any) {
		m := m.(map[string]any)
		if m["node"] != fmt.Sprintf("gw-%d", i) || m["alive"] != true || m["startedMs"].(float64) <= 0 || m["lastHeartbeatMs"].(float64) <= 0 {
			t.Errorf("member %d: %v", i, m)
		}
	}

	r := status()
	for _, want := range []string{"Cluster: test, this gateway gw-0 (", "NATS connected, embedded, ",
		"gw-0  alive (this gateway)", "oc_test_presence", "test_sessions", "BUCKET"} {
		if r.Code != 0 || !strings.Contains(r.Stdout, want) {
			t.Errorf("gateway status --deep: no %q:\n%s", want, r)
		}
	}
	if !regexp.MustCompile(`gw-1 +alive +\d+(\.\d)?m?s ago +20\d\d-`).MatchString(r.Stdout) {
		t.Errorf("gateway status --deep: no alive gw-1 with its heartbeat's age and start:\n%s", r)
	}

	// gw-2 stops: it says so, and is listed gone.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = gws[2].Stop(ctx, "test", 0)
	deadline = time.Now().Add(30 * time.Second)
	for {
		r = status()
		if regexp.MustCompile(`gw-2 +gone \(left\)`).MatchString(r.Stdout) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway status --deep: gw-2 not listed gone after it stopped:\n%s", r)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Without --deep: no cluster section.
	if r := s.run(t, "gateway", "status", "--url", gws[0].URL, "--token", gatewaytest.Token); strings.Contains(r.Stdout, "Cluster:") {
		t.Errorf("gateway status without --deep lists the cluster:\n%s", r)
	}
}

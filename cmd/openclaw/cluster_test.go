package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"openclaw/actors/gateway"
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

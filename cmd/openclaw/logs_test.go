package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLogsFollow: `openclaw logs` prints the newest records; --follow
// prints each new one exactly once (it continues from logs.tail's cursor),
// carries on across a gateway restart, and Ctrl-C ends it with exit 0.
func TestLogsFollow(t *testing.T) {
	const token = "logs-test-token-0123456789"
	g := startGateway(t, gwOptions{Token: token, Env: []string{"OPENCLAW_SKIP_CANVAS_HOST=1"}})
	env := cleanEnv("HOME="+g.Home, "OPENCLAW_STATE_DIR="+g.StateDir)
	target := []string{"--url", g.URL, "--token", token}

	r := runCmd(t, 30*time.Second, env, "", testBinary, append([]string{"logs", "--limit", "0"}, target...)...)
	if r.Code != exitUsage {
		t.Fatalf("--limit 0:\n%s", r)
	}

	out, errOut := &lockedBuffer{}, &lockedBuffer{}
	follow := exec.Command(testBinary, append([]string{"logs", "--follow", "--plain", "--limit", "5"}, target...)...)
	follow.Env, follow.Stdout, follow.Stderr = env, out, errOut
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- follow.Wait() }()
	t.Cleanup(func() { _ = follow.Process.Kill() })
	mustWait(t, "the first lines", func() bool { return strings.Contains(out.String(), "gateway listening") })

	// Each broken config the gateway sees is one ERROR record naming the
	// unknown key: markers that must each appear once.
	cfg := filepath.Join(g.StateDir, "openclaw.json")
	write := func(i int) {
		if err := os.WriteFile(cfg, []byte(fmt.Sprintf("{marker%d: true}", i)), 0o600); err != nil {
			t.Fatal(err)
		}
		mustWait(t, fmt.Sprintf("marker%d", i), func() bool { return strings.Contains(out.String(), fmt.Sprintf("marker%d", i)) })
	}
	write(1)
	write(2)
	// A restart (SIGUSR1) drops the follower's socket: it reconnects and
	// continues from its cursor.
	if err := os.WriteFile(cfg, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	g.signal(t, syscall.SIGUSR1)
	mustWait(t, "the restart", func() bool { return strings.Contains(out.String(), "restart done") })
	write(3)
	for i := 1; i <= 3; i++ {
		if n := strings.Count(out.String(), fmt.Sprintf("unknown config key marker%d", i)); n != 1 {
			t.Errorf("marker%d printed %d times, want once:\n%s", i, n, out)
		}
	}
	if n := strings.Count(out.String(), "gateway listening"); n != 2 {
		t.Errorf("'gateway listening' printed %d times, want 2 (start and restart):\n%s", n, out)
	}
	if err := follow.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if exitCodeOf(err) != 0 {
			t.Fatalf("logs --follow after Ctrl-C: exit %d, want 0\n--- stderr:\n%s", exitCodeOf(err), errOut)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("logs --follow did not stop on Ctrl-C")
	}

	r = runCmd(t, 30*time.Second, env, "", testBinary, append([]string{"logs", "--json", "--limit", "2"}, target...)...)
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if r.Code != 0 || len(lines) != 2 {
		t.Fatalf("logs --json --limit 2:\n%s", r)
	}
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec["level"] == nil {
			t.Fatalf("not a log record: %q", l)
		}
	}
}

// mustWait polls cond for up to 20 s and fails the test without it.
func mustWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !waitFor(cond, 20*time.Second) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

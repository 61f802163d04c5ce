package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"openclaw/actors/gateway/gatewaytest"
)

// TestStateDirLock: a second gateway on the same state directory refuses to
// start with one line naming the first one's PID, and the first carries on.
func TestStateDirLock(t *testing.T) {
	first := startGateway(t, gwOptions{Token: "lock-token-123456"})
	second := launchGateway(t, gwOptions{Token: "lock-token-123456", StateDir: first.StateDir})
	code := second.wait(t, 10*time.Second)
	stderr := strings.TrimSpace(second.Stderr.String())
	want := "another gateway (pid " + strconv.Itoa(first.cmd.Process.Pid) + ") is running with state directory"
	if code != exitConfig || strings.Count(stderr, "\n") != 0 || !strings.Contains(stderr, want) {
		t.Fatalf("second gateway: exit %d, stderr %q; want %d and one line containing %q", code, stderr, exitConfig, want)
	}
	if first.exited() {
		t.Fatal("the first gateway died")
	}
	dialTest(t, first, "cli")
}

// TestProfilesSideBySide: two profiles on one host keep to their own state
// directories and ports.
func TestProfilesSideBySide(t *testing.T) {
	home := t.TempDir()
	type proc struct {
		port int
		cmd  *exec.Cmd
		out  *lockedBuffer
	}
	var procs []proc
	for _, profile := range []string{"alpha", "beta"} {
		port := gatewaytest.FreePort(t)
		out := &lockedBuffer{}
		cmd := exec.Command(testBinary, "--profile", profile, "gateway", "--port", strconv.Itoa(port), "--allow-unconfigured")
		cmd.Env = cleanEnv("HOME="+home, "OPENCLAW_GATEWAY_TOKEN=profile-token-123456")
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		procs = append(procs, proc{port, cmd, out})
	}
	for i, profile := range []string{"alpha", "beta"} {
		p := procs[i]
		g := &gatewayProc{Port: p.port, Token: "profile-token-123456", URL: "ws://127.0.0.1:" + strconv.Itoa(p.port)}
		if !waitFor(func() bool { return strings.Contains(p.out.String(), "gateway listening") }, 20*time.Second) {
			t.Fatalf("%s did not start:\n%s", profile, p.out)
		}
		dialTest(t, g, "cli")
		dir := filepath.Join(home, ".openclaw-"+profile)
		for _, f := range []string{"gateway.lock", "logs"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Fatalf("%s: %v", profile, err)
			}
		}
		pid, _ := os.ReadFile(filepath.Join(dir, "gateway.lock"))
		if strings.TrimSpace(string(pid)) != strconv.Itoa(p.cmd.Process.Pid) {
			t.Fatalf("%s lock holds pid %q, want %d", profile, pid, p.cmd.Process.Pid)
		}
	}
	if _, err := os.Stat(filepath.Join(home, ".openclaw")); err == nil {
		t.Fatal("a profile wrote into the default state directory")
	}
}

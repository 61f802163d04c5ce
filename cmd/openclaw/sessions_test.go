package main

import (
	"strings"
	"testing"
	"time"

	"openclaw/transport/provider/fakeprovider"
)

// openclaw sessions and openclaw cron against a real gateway process.
func TestSessionsAndCronCLI(t *testing.T) {
	fp := fakeprovider.New(t)
	fp.SetDefault(fakeprovider.Text("fine", 1))
	g := agentGatewayProc(t, fp)
	target := []string{"--url", g.URL, "--token", g.Token}
	env := cleanEnv("HOME=" + t.TempDir())
	cli := func(args ...string) cmdResult {
		t.Helper()
		return runCmd(t, 30*time.Second, env, "", testBinary, append(args, target...)...)
	}

	if r := cli("sessions"); r.Code != 0 || !strings.Contains(r.Stdout, "No sessions.") {
		t.Fatalf("sessions before any turn:\n%s", r)
	}
	for _, m := range []string{"one", "two"} {
		if r := cli("agent", "--message", m); r.Code != 0 {
			t.Fatalf("agent:\n%s", r)
		}
	}
	r := cli("sessions")
	if r.Code != 0 || !strings.Contains(r.Stdout, "agent:main:main") || !strings.Contains(r.Stdout, "KEY") ||
		!strings.Contains(r.Stdout, "  4  ") {
		t.Fatalf("sessions:\n%s", r)
	}
	if r := cli("sessions", "--json"); r.Code != 0 {
		t.Fatalf("sessions --json:\n%s", r)
	} else if n, _ := jsonPath(decodeJSON(t, r.Stdout), "count"); n != 1.0 {
		t.Fatalf("sessions --json count = %v", n)
	}
	if r := cli("sessions", "compact", "agent:main:main", "--max-lines", "2"); r.Code != 0 ||
		!strings.Contains(r.Stdout, "kept the newest 2 messages") {
		t.Fatalf("sessions compact --max-lines:\n%s", r)
	}
	if r := cli("sessions", "delete", "agent:main:nope"); r.Code != 1 || !strings.Contains(r.Stderr, "no session") {
		t.Fatalf("deleting a missing session:\n%s", r)
	}

	r = cli("cron", "add", "--name", "report", "--every", "1h", "--message", "daily report")
	if r.Code != 0 {
		t.Fatalf("cron add:\n%s", r)
	}
	id, _ := jsonPath(decodeJSON(t, r.Stdout), "id")
	jobID, _ := id.(string)
	if jobID == "" {
		t.Fatalf("cron add printed no id:\n%s", r)
	}
	if r := cli("cron", "list"); r.Code != 0 || !strings.Contains(r.Stdout, "report") || !strings.Contains(r.Stdout, "every 1h0m0s") {
		t.Fatalf("cron list:\n%s", r)
	}
	if r := cli("cron", "run", jobID); r.Code != 0 {
		t.Fatalf("cron run:\n%s", r)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		r = cli("cron", "runs", jobID)
		if r.Code == 0 && strings.Contains(r.Stdout, "ok") && strings.Contains(r.Stdout, "fine") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cron runs never showed the run:\n%s", r)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if r := cli("cron", "disable", jobID); r.Code != 0 || !strings.Contains(r.Stdout, `"enabled": false`) {
		t.Fatalf("cron disable:\n%s", r)
	}
	if r := cli("cron", "rm", jobID); r.Code != 0 || !strings.Contains(r.Stdout, `"removed": true`) {
		t.Fatalf("cron rm:\n%s", r)
	}
	for _, bad := range [][]string{
		{"cron", "add", "--name", "x", "--message", "m"},
		{"cron", "add", "--name", "x", "--every", "1h"},
		{"cron", "add", "--name", "x", "--every", "1h", "--cron", "* * * * *", "--message", "m"},
	} {
		if r := cli(bad...); r.Code != 2 || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
			t.Errorf("%v: want exit 2 and one line:\n%s", bad, r)
		}
	}
}

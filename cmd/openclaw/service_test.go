package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serviceEnv is a scratch user for the service commands: HOME, a state
// directory with a config, and fake systemctl/loginctl/launchctl first on
// PATH (internal/service/testdata/fakectl.sh) recording into calls.
type serviceEnv struct {
	home, state, calls string
	env                []string
}

func newServiceEnv(t *testing.T, extra ...string) *serviceEnv {
	t.Helper()
	s := &serviceEnv{home: t.TempDir()}
	s.state = filepath.Join(s.home, ".openclaw")
	if err := os.MkdirAll(s.state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.state, "openclaw.json"), []byte(`{gateway: {port: 18789}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	src, err := filepath.Abs("internal/service/testdata/fakectl.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"systemctl", "loginctl", "launchctl"} {
		if err := os.Symlink(src, filepath.Join(bin, n)); err != nil {
			t.Fatal(err)
		}
	}
	s.calls = filepath.Join(t.TempDir(), "calls")
	s.env = cleanEnv(append([]string{"HOME=" + s.home, "XDG_CONFIG_HOME=" + filepath.Join(s.home, ".config"),
		"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "FAKE_CTL_LOG=" + s.calls, "FAKE_CTL_LINGER=yes"}, extra...)...)
	return s
}

func (s *serviceEnv) run(t *testing.T, args ...string) cmdResult {
	t.Helper()
	_ = os.Remove(s.calls)
	return runCmd(t, 30*time.Second, s.env, s.home, testBinary, args...)
}

func (s *serviceEnv) called(t *testing.T) string {
	b, _ := os.ReadFile(s.calls)
	return strings.TrimSpace(string(b))
}

func TestGatewayInstallCLI(t *testing.T) {
	s := newServiceEnv(t)
	unit := filepath.Join(s.home, ".config/systemd/user/openclaw-gateway.service")

	r := s.run(t, "gateway", "install", "--token", "install-test-token-0123456789")
	if r.Code != 0 || !strings.Contains(r.Stdout, "wrote "+unit) {
		t.Fatalf("install:\n%s", r)
	}
	want := "systemctl --user show-environment\nsystemctl --user daemon-reload\nsystemctl --user enable --now openclaw-gateway.service\nloginctl show-user"
	if !strings.HasPrefix(s.called(t), want) {
		t.Errorf("install called:\n%s\nwant first:\n%s", s.called(t), want)
	}
	data, err := os.ReadFile(unit)
	if err != nil || !strings.Contains(string(data), "ExecStart="+testBinary+" gateway run\n") ||
		!strings.Contains(string(data), "EnvironmentFile="+filepath.Join(s.state, "service.env")) || strings.Contains(string(data), "install-test-token") {
		t.Fatalf("unit (%v):\n%s", err, data)
	}
	if fi, err := os.Stat(filepath.Join(s.state, "service.env")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("service.env: %v %v", err, fi)
	}

	r = s.run(t, "gateway", "install")
	if r.Code != 0 || !strings.Contains(r.Stdout, "already installed") || s.called(t) != "" {
		t.Fatalf("second install is not a no-op (calls %q):\n%s", s.called(t), r)
	}

	if err := os.WriteFile(unit, append(data, []byte("Nice=5\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	r = s.run(t, "gateway", "install", "--json")
	if r.Code != 1 || !strings.Contains(r.Stdout, `"action": "differs"`) || !strings.Contains(r.Stdout, "- Nice=5") ||
		!strings.Contains(r.Stderr, "--force") || s.called(t) != "" {
		t.Fatalf("install over an edited unit must report it and stop:\n%s", r)
	}
	r = s.run(t, "gateway", "install", "--force")
	if r.Code != 0 || !strings.Contains(s.called(t), "systemctl --user restart openclaw-gateway.service") {
		t.Fatalf("install --force (calls %q):\n%s", s.called(t), r)
	}
	if b, _ := os.ReadFile(unit); string(b) != string(data) {
		t.Fatalf("--force did not rewrite the unit:\n%s", b)
	}

	for _, verb := range []string{"stop", "start", "restart"} {
		r = s.run(t, "gateway", verb)
		if r.Code != 0 || s.called(t) != "systemctl --user "+verb+" openclaw-gateway.service" {
			t.Fatalf("gateway %s (calls %q):\n%s", verb, s.called(t), r)
		}
	}
	r = s.run(t, "gateway", "uninstall")
	if _, err := os.Stat(unit); r.Code != 0 || err == nil {
		t.Fatalf("uninstall:\n%s", r)
	}
	for _, verb := range []string{"start", "stop", "restart", "uninstall"} {
		r = s.run(t, "gateway", verb)
		if r.Code != 1 || !strings.Contains(r.Stderr, "no gateway service installed for the default profile") || strings.Count(r.Stderr, "\n") != 1 {
			t.Fatalf("gateway %s without a unit: want one line and exit 1:\n%s", verb, r)
		}
	}
}

func TestGatewayInstallProfilesAndFailures(t *testing.T) {
	s := newServiceEnv(t, "FAKE_CTL_LINGER=no", "FAKE_CTL_FAIL=loginctl enable-linger*", "FAKE_CTL_FAIL_OUT=Access denied")
	work := filepath.Join(s.home, ".openclaw-work")
	if err := os.MkdirAll(work, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "openclaw.json"), []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := s.run(t, "--profile", "work", "gateway", "install", "--port", "18800")
	unit := filepath.Join(s.home, ".config/systemd/user/openclaw-gateway-work.service")
	data, _ := os.ReadFile(unit)
	if r.Code != 0 || !strings.Contains(string(data), "gateway run --profile work\n") ||
		!strings.Contains(string(data), "Environment=OPENCLAW_GATEWAY_PORT=18800\n") ||
		!strings.Contains(string(data), "Environment=OPENCLAW_STATE_DIR="+work+"\n") {
		t.Fatalf("profile install:\n%s\n--- unit:\n%s", r, data)
	}
	if !strings.Contains(r.Stdout, "run: sudo loginctl enable-linger") || !strings.Contains(r.Stdout, "generates one per run") {
		t.Errorf("install must say lingering is off and how to turn it on, and that no token is configured:\n%s", r)
	}

	// No user bus (SSH without lingering, sudo -u): the exact fix, nothing written.
	s = newServiceEnv(t, "FAKE_CTL_FAIL=systemctl --user*", "FAKE_CTL_FAIL_OUT=Failed to connect to bus: No medium found")
	r = s.run(t, "gateway", "install")
	fix := "sudo loginctl enable-linger" // root has no user manager to linger: --system only
	if os.Getuid() == 0 {
		fix = "as root, install a system unit"
	}
	if r.Code != 1 || strings.Count(r.Stderr, "\n") != 1 || !strings.Contains(r.Stderr, "No medium found") ||
		!strings.Contains(r.Stderr, fix) || !strings.Contains(r.Stderr, "openclaw gateway install --system") {
		t.Fatalf("no user bus:\n%s", r)
	}
	if _, err := os.Stat(filepath.Join(s.home, ".config/systemd/user/openclaw-gateway.service")); err == nil {
		t.Fatal("a unit was written although systemd could not be told about it")
	}

	// No config: the service would only exit 78.
	_ = os.Remove(filepath.Join(s.state, "openclaw.json"))
	r = s.run(t, "gateway", "install")
	if r.Code != exitConfig || !strings.Contains(r.Stderr, "openclaw setup") {
		t.Fatalf("install without a config:\n%s", r)
	}
}

// TestGatewayStatusJSON: the supervisor's view and the RPC probe, reported
// apart, against a running gateway and a stopped one.
func TestGatewayStatusJSON(t *testing.T) {
	const token = "status-test-token-0123456789"
	g := startGateway(t, gwOptions{Token: token})
	s := newServiceEnv(t, "OPENCLAW_STATE_DIR="+g.StateDir,
		fmt.Sprintf("FAKE_CTL_SHOW=LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=%d\nExecMainStartTimestamp=Wed 2026-12-02 09:00:00 UTC\nExecMainStatus=0\nUnitFileState=enabled", g.cmd.Process.Pid))
	unitDir := filepath.Join(s.home, ".config/systemd/user")
	for _, name := range []string{"openclaw-gateway.service", "openclaw-gateway-work.service", "clawdbot-gateway.service"} {
		if err := os.MkdirAll(unitDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(unitDir, name), []byte("[Unit]\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	r := s.run(t, "gateway", "status", "--json", "--deep", "--url", g.URL, "--token", token)
	v := decodeJSON(t, r.Stdout)
	for _, c := range []struct {
		path []string
		want any
	}{
		{[]string{"rpc", "ok"}, true},
		{[]string{"service", "manager"}, "systemd"},
		{[]string{"service", "scope"}, "user"},
		{[]string{"service", "installed"}, true},
		{[]string{"service", "running"}, true},
		{[]string{"service", "state"}, "running"},
		{[]string{"service", "pid"}, float64(g.cmd.Process.Pid)},
		{[]string{"config", "path"}, filepath.Join(g.StateDir, "openclaw.json")},
		{[]string{"config", "exists"}, false},
		{[]string{"gateway", "probeUrl"}, g.URL},
	} {
		if got, _ := jsonPath(v, c.path...); got != c.want {
			t.Errorf("%s = %v, want %v", strings.Join(c.path, "."), got, c.want)
		}
	}
	if others, _ := jsonPath(v, "others"); r.Code != 0 || len(others.([]any)) != 2 {
		t.Fatalf("status --deep must list the work profile's and the legacy unit:\n%s", r)
	}
	r = s.run(t, "gateway", "status", "--url", g.URL, "--token", token)
	for _, want := range []string{"Service: systemd user openclaw-gateway.service: running (pid ", "Config: " + filepath.Join(g.StateDir, "openclaw.json") + " (missing)",
		"Probe target: " + g.URL, "RPC: reachable"} {
		if r.Code != 0 || !strings.Contains(r.Stdout, want) {
			t.Errorf("gateway status: no %q:\n%s", want, r)
		}
	}

	// A second gateway on the same port fails (exit 78) and logs why; once
	// the first one is gone too, the supervisor still says "activating" (it
	// restarts the unit) but nothing listens: status says so, with the
	// failed gateway's last error line.
	b := launchGateway(t, gwOptions{Token: token, Port: g.Port})
	if code := b.wait(t, 20*time.Second); code != exitConfig {
		t.Fatalf("second gateway on a busy port exited %d, want %d", code, exitConfig)
	}
	g.stop(t)
	s = newServiceEnv(t, "OPENCLAW_STATE_DIR="+b.StateDir,
		"FAKE_CTL_SHOW=LoadState=loaded\nActiveState=activating\nSubState=auto-restart\nMainPID=0\nExecMainStartTimestamp=Wed 2026-12-02 09:00:00 UTC\nExecMainStatus=78\nUnitFileState=enabled")
	r = s.run(t, "gateway", "status", "--json", "--url", g.URL, "--token", token, "--timeout", "3")
	v = decodeJSON(t, r.Stdout)
	if ok, _ := jsonPath(v, "rpc", "ok"); r.Code != 1 || ok != false {
		t.Fatalf("status of a stopped gateway: want exit 1 and rpc.ok false:\n%s", r)
	}
	if st, _ := jsonPath(v, "service", "state"); st != "activating" {
		t.Errorf("service.state = %v, want activating", st)
	}
	if code, _ := jsonPath(v, "service", "lastExitCode"); code != float64(78) {
		t.Errorf("service.lastExitCode = %v, want 78", code)
	}
	if msg, _ := jsonPath(v, "lastError", "message"); !strings.Contains(fmt.Sprint(msg), "gateway failed") {
		t.Errorf("lastError = %v, want the failed gateway's log line", msg)
	}
	r = s.run(t, "gateway", "status", "--no-probe", "--json")
	if _, hasRPC := jsonPath(decodeJSON(t, r.Stdout), "rpc"); r.Code != 0 || hasRPC {
		t.Errorf("--no-probe must not connect and exit 0:\n%s", r)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"openclaw/actors/gateway/gatewaytest"
	"openclaw/actors/store"
)

// doctorReport is `openclaw doctor --json`.
type doctorReport struct {
	OK       bool      `json:"ok"`
	Findings []finding `json:"findings"`
}

func (r doctorReport) find(check string) []finding {
	var out []finding
	for _, f := range r.Findings {
		if f.Check == check {
			out = append(out, f)
		}
	}
	return out
}

// TestDoctor breaks one thing per case and checks that doctor names it with
// its severity, a fix, and exit 1 for errors; --fix repairs what it says it
// can.
func TestDoctor(t *testing.T) {
	const token = "doctor-test-token-0123456789"
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	heldPort := held.Addr().(*net.TCPAddr).Port

	cases := []struct {
		name   string
		config string // %d is a free port
		setup  func(t *testing.T, s *serviceEnv)
		args   []string
		check  string
		sev    string
		msg    string // in the message
		code   int
		after  func(t *testing.T, s *serviceEnv, r doctorReport)
	}{
		{name: "healthy", config: `{gateway: {port: %d, auth: {token: "` + token + `"}}}`, check: "secrets", sev: "ok", msg: "not guessable"},
		{name: "config with a typo", config: "{\n  gateway: {\n    prot: %d,\n  },\n}", check: "config", sev: "error", msg: "openclaw.json:3: unknown config key gateway.prot", code: 1},
		{name: "placeholder token", config: `{gateway: {port: %d, auth: {token: "changeme"}}}`, check: "secrets", sev: "error", msg: "placeholder", code: 1},
		{name: "weak token", config: `{gateway: {port: %d, auth: {token: "abc12345"}}}`, check: "secrets", sev: "warn", msg: "weak: 8 characters"},
		{name: "auth none on lan", config: `{gateway: {port: %d, bind: "lan", auth: {mode: "none"}}}`, check: "auth", sev: "error", msg: "non-loopback bind (0.0.0.0)", code: 1},
		{name: "state dir readable by others", config: `{gateway: {port: %d, auth: {token: "` + token + `"}}}`, args: []string{"--fix"},
			setup: func(t *testing.T, s *serviceEnv) { chmod(t, s.state, 0o755) }, check: "stateDir", sev: "warn", msg: "mode 0755",
			after: func(t *testing.T, s *serviceEnv, r doctorReport) {
				if fi, _ := os.Stat(s.state); !r.find("stateDir")[0].Fixed || fi.Mode().Perm() != 0o700 {
					t.Errorf("--fix left %s at %v", s.state, fi.Mode())
				}
			}},
		{name: "lock of a dead gateway", config: `{gateway: {port: %d, auth: {token: "` + token + `"}}}`, args: []string{"--fix"},
			setup: func(t *testing.T, s *serviceEnv) {
				writeFile(t, filepath.Join(s.state, "gateway.lock"), fmt.Sprintf("%d\n", deadPID(t)))
			}, check: "lock", sev: "warn", msg: "which is not running",
			after: func(t *testing.T, s *serviceEnv, r doctorReport) {
				if b, _ := os.ReadFile(filepath.Join(s.state, "gateway.lock")); len(b) != 0 || !r.find("lock")[0].Fixed {
					t.Errorf("--fix left the lock file with %q", b)
				}
			}},
		{name: "damaged database", config: `{gateway: {port: %d, auth: {token: "` + token + `"}}}`,
			setup: func(t *testing.T, s *serviceEnv) { corruptDatabase(t, store.DefaultPath(s.state)) },
			check: "database", sev: "error", msg: "damaged", code: 1},
		{name: "port held by another process", config: fmt.Sprintf(`{gateway: {port: %d, auth: {token: "`+token+`"}}}`, heldPort),
			check: "port", sev: "error", msg: fmt.Sprintf("port %d is held by pid %d", heldPort, os.Getpid()), code: 1},
		{name: "outdated unit", config: `{gateway: {port: %d, auth: {token: "` + token + `"}}}`, args: []string{"--fix"},
			setup: func(t *testing.T, s *serviceEnv) {
				r := s.run(t, "gateway", "install")
				if r.Code != 0 {
					t.Fatalf("install:\n%s", r)
				}
				unit := filepath.Join(s.home, ".config/systemd/user/openclaw-gateway.service")
				b, _ := os.ReadFile(unit)
				writeFile(t, unit, strings.Replace(string(b), "OPENCLAW_SERVICE_VERSION=", "OPENCLAW_SERVICE_VERSION=2025.1.1-", 1))
			}, check: "service", sev: "warn", msg: "differs from what install writes",
			after: func(t *testing.T, s *serviceEnv, r doctorReport) {
				if !r.find("service")[0].Fixed || !strings.Contains(s.called(t), "systemctl --user restart openclaw-gateway.service") {
					t.Errorf("--fix did not reinstall the unit (calls %q)", s.called(t))
				}
			}},
		{name: "open-files limit too low", config: `{gateway: {port: %d, auth: {token: "` + token + `"}}}`, args: []string{"--connections", "100000"},
			check: "fdLimit", sev: "warn", msg: "below 100064"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newServiceEnv(t)
			cfg := tc.config
			if strings.Contains(cfg, "%d") {
				cfg = fmt.Sprintf(cfg, gatewaytest.FreePort(t))
			}
			writeFile(t, filepath.Join(s.state, "openclaw.json"), cfg)
			if tc.setup != nil {
				tc.setup(t, s)
			}
			r := s.run(t, append([]string{"doctor", "--json"}, tc.args...)...)
			var rep doctorReport
			if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil || r.Code != tc.code {
				t.Fatalf("want exit %d and JSON (%v):\n%s", tc.code, err, r)
			}
			var got *finding
			for _, f := range rep.find(tc.check) {
				if f.Severity == tc.sev && strings.Contains(f.Message, tc.msg) {
					got = &f
				}
			}
			if got == nil {
				t.Fatalf("no %s %q finding with %q:\n%s", tc.sev, tc.check, tc.msg, r.Stdout)
			}
			if tc.sev != "ok" && got.Fix == "" {
				t.Errorf("finding without a fix: %+v", got)
			}
			for _, f := range rep.Findings {
				if tc.name == "healthy" && (f.Severity == "warn" || f.Severity == "error") {
					t.Errorf("healthy setup: %+v", f)
				}
			}
			if tc.after != nil {
				tc.after(t, s, rep)
			}
		})
	}
}

// TestDoctorAgainstRunningGateway: with the gateway up, doctor compares
// clocks with its health timestamp, sees it hold the lock and the port, and
// leaves its database to it.
func TestDoctorAgainstRunningGateway(t *testing.T) {
	const token = "doctor-running-token-0123456789"
	s := newServiceEnv(t)
	port := gatewaytest.FreePort(t)
	writeFile(t, filepath.Join(s.state, "openclaw.json"), fmt.Sprintf(`{gateway: {port: %d, auth: {token: "%s"}}}`, port, token))
	g := startGateway(t, gwOptions{Port: port, StateDir: s.state, NoAllowUnconfigured: true, Env: []string{"OPENCLAW_SKIP_CANVAS_HOST=1"}})
	r := s.run(t, "doctor", "--json")
	var rep doctorReport
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil || r.Code != 0 {
		t.Fatalf("doctor (%v):\n%s", err, r)
	}
	for check, want := range map[string]string{
		"clock":    "clock agrees with the gateway's at ws://127.0.0.1:",
		"lock":     fmt.Sprintf("a gateway (pid %d) holds", g.cmd.Process.Pid),
		"port":     fmt.Sprintf("port %d: the gateway (pid %d) listens", port, g.cmd.Process.Pid),
		"database": "checked by the running gateway",
	} {
		if f := rep.find(check); len(f) != 1 || f[0].Severity != "ok" || !strings.Contains(f[0].Message, want) {
			t.Errorf("%s: %+v, want ok with %q", check, f, want)
		}
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// deadPID is the PID of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// corruptDatabase makes a real state database and overwrites some of its
// b-tree pages (not the header), as a disk fault would.
func corruptDatabase(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	big := []byte(`"` + strings.Repeat("x", 3000) + `"`)
	for i := 0; i < 200; i++ {
		if _, err := st.Append(context.Background(), store.Message{SessionKey: "agent:main:main", Role: "user", Content: big}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xA5, 0x5A, 0x00, 0xFF}, 4096*38/4), 4096*2); err != nil {
		t.Fatal(err)
	}
}

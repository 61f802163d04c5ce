package service

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// spec is a service as install would describe it, with awkward paths: a
// space (quoted), a % (a systemd specifier unless doubled), a $ in an
// argument (systemd would expand it in ExecStart).
func spec(profile string, system bool) Spec {
	state := "/home/alice/.openclaw"
	if profile != "" {
		state += "-" + profile
	}
	s := Spec{
		Profile: profile, Version: "2026.9.6", Exec: "/opt/open claw/bin/openclaw", Args: []string{"gateway", "run"},
		Port: 18789, StateDir: state, ConfigPath: state + "/openclaw.json", ExitConfig: 78,
		Secrets: map[string]string{"OPENCLAW_GATEWAY_TOKEN": "s3cr3t-token-with-%-and-\"quote\""},
		EnvFile: state + "/service.env", System: system, User: "alice", Home: "/home/alice",
	}
	if profile != "" {
		s.Args = append(s.Args, "--profile", profile)
		s.StateDir = "/home/alice/100% state"
		s.ConfigPath = s.StateDir + "/openclaw.json"
		s.EnvFile = s.StateDir + "/service.env"
	}
	return s
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got:\n%s\n--- want:\n%s", name, got, want)
	}
}

func TestRenderGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		m      Manager
		spec   Spec
	}{
		{"user.service", &Systemd{UnitDir: "/u"}, spec("", false)},
		{"profile.service", &Systemd{Profile: "work", UnitDir: "/u"}, spec("work", false)},
		{"system.service", &Systemd{System: true, UnitDir: "/etc/systemd/system"}, spec("", true)},
		{"gateway.plist", &Launchd{AgentDir: "/a"}, spec("", false)},
		{"profile.plist", &Launchd{Profile: "work", AgentDir: "/a"}, spec("work", false)},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			files, err := tc.m.Render(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if files[0].Path != tc.m.Path() {
				t.Errorf("first file %s, want the unit %s", files[0].Path, tc.m.Path())
			}
			golden(t, tc.golden, files[0].Data)
			for _, f := range files {
				secret := strings.Contains(string(f.Data), "s3cr3t")
				if secret && f.Mode != 0o600 {
					t.Errorf("%s holds the token with mode %o", f.Path, f.Mode)
				}
				if secret && tc.m.Kind() == "systemd" && f.Path == tc.m.Path() {
					t.Errorf("the unit holds the token inline: it belongs in the EnvironmentFile")
				}
			}
		})
	}
}

// TestEnvFileRoundTrip: what the unit's EnvironmentFile holds reads back as
// written, whatever the characters.
func TestEnvFileRoundTrip(t *testing.T) {
	secrets := map[string]string{"A": "plain", "B": `with "quotes" and \ and $HOME and spaces`}
	path := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(path, renderEnvFile(secrets), 0o600); err != nil {
		t.Fatal(err)
	}
	got := ReadEnvFile(path)
	for k, v := range secrets {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

// TestSystemdAnalyzeVerify runs systemd's own checker on the units install
// writes: it prints a line for every directive it cannot parse.
func TestSystemdAnalyzeVerify(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed (apt-get install systemd): the units are checked by their golden files only")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, system := range []bool{false, true} {
		s := spec("work", system)
		s.Exec = exe // verify checks that ExecStart is executable
		s.User = "root"
		dir := t.TempDir()
		s.EnvFile = filepath.Join(dir, "service.env")
		files, err := (&Systemd{Profile: "work", System: system, UnitDir: dir}).Render(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := Write(files); err != nil {
			t.Fatal(err)
		}
		// System mode: --user needs a running user manager, which a
		// container does not have; the directives are the same.
		out, err := exec.Command("systemd-analyze", "verify", files[0].Path).CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) != 0 {
			t.Errorf("systemd-analyze verify (system=%v): %v\n%s\n--- unit:\n%s", system, err, out, files[0].Data)
		}
	}
}

// fakes puts fakectl.sh first on PATH as systemctl, loginctl and launchctl
// and returns the file their calls are recorded in.
func fakes(t *testing.T, env ...string) (log string) {
	t.Helper()
	bin := t.TempDir()
	src, err := filepath.Abs("testdata/fakectl.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"systemctl", "loginctl", "launchctl"} {
		if err := os.Symlink(src, filepath.Join(bin, n)); err != nil {
			t.Fatal(err)
		}
	}
	log = filepath.Join(t.TempDir(), "calls")
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("FAKE_CTL_LOG", log)
	for _, kv := range []string{"FAKE_CTL_FAIL", "FAKE_CTL_FAIL_OUT", "FAKE_CTL_SHOW", "FAKE_CTL_LINGER", "FAKE_CTL_PRINT"} {
		t.Setenv(kv, "")
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return log
}

func calls(t *testing.T, log string) []string {
	t.Helper()
	b, err := os.ReadFile(log)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func TestSystemdInstallSequence(t *testing.T) {
	const unit = "openclaw-gateway-work.service"
	for _, tc := range []struct {
		name    string
		env     []string
		system  bool
		replace bool
		calls   []string
		err     error
		said    string // a line Install must log
	}{
		{name: "fresh user unit, lingering enabled here",
			calls: []string{"systemctl --user show-environment", "systemctl --user daemon-reload", "systemctl --user enable --now " + unit,
				"loginctl show-user alice --property=Linger --value", "loginctl enable-linger alice"},
			said: "enabled lingering for alice"},
		{name: "lingering already on", env: []string{"FAKE_CTL_LINGER=yes"},
			calls: []string{"systemctl --user show-environment", "systemctl --user daemon-reload", "systemctl --user enable --now " + unit,
				"loginctl show-user alice --property=Linger --value"}},
		{name: "lingering needs root", env: []string{"FAKE_CTL_FAIL=loginctl enable-linger*", "FAKE_CTL_FAIL_OUT=Access denied"},
			calls: []string{"systemctl --user show-environment", "systemctl --user daemon-reload", "systemctl --user enable --now " + unit,
				"loginctl show-user alice --property=Linger --value", "loginctl enable-linger alice"},
			said: "run: sudo loginctl enable-linger alice"},
		{name: "replacing restarts", replace: true, env: []string{"FAKE_CTL_LINGER=yes"},
			calls: []string{"systemctl --user show-environment", "systemctl --user daemon-reload", "systemctl --user enable --now " + unit,
				"systemctl --user restart " + unit, "loginctl show-user alice --property=Linger --value"}},
		{name: "no user bus", env: []string{"FAKE_CTL_FAIL=systemctl --user*", "FAKE_CTL_FAIL_OUT=Failed to connect to bus: No medium found"},
			calls: []string{"systemctl --user show-environment"}, err: ErrNoUserBus},
		{name: "system unit", system: true,
			calls: []string{"systemctl daemon-reload", "systemctl enable --now " + unit}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := fakes(t, tc.env...)
			m := &Systemd{Profile: "work", System: tc.system, UnitDir: t.TempDir(), User: "alice", UID: 1000}
			s := spec("work", tc.system)
			s.EnvFile = filepath.Join(t.TempDir(), "service.env")
			files, _ := m.Render(s)
			var said []string
			err := m.Install(files, tc.replace, func(l string) { said = append(said, l) })
			if !errors.Is(err, tc.err) {
				t.Fatalf("Install: %v, want %v", err, tc.err)
			}
			if got := calls(t, log); strings.Join(got, "\n") != strings.Join(tc.calls, "\n") {
				t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.calls, "\n"))
			}
			_, statErr := os.Stat(m.Path())
			if tc.err != nil {
				if statErr == nil {
					t.Errorf("a failed install left %s behind", m.Path())
				}
				if !strings.Contains(err.Error(), "sudo loginctl enable-linger alice && export XDG_RUNTIME_DIR=/run/user/1000") {
					t.Errorf("no-bus error does not give the fix: %v", err)
				}
				return
			}
			if statErr != nil {
				t.Errorf("unit not written: %v", statErr)
			}
			if fi, err := os.Stat(s.EnvFile); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("environment file %v, mode %v; want 0600", err, fi)
			}
			if tc.said != "" && !strings.Contains(strings.Join(said, "\n"), tc.said) {
				t.Errorf("said %q, want a line with %q", said, tc.said)
			}
		})
	}
}

func TestSystemdActions(t *testing.T) {
	log := fakes(t)
	m := &Systemd{Profile: "", UnitDir: t.TempDir(), User: "alice"}
	for name, act := range map[string]func() error{"start": m.Start, "stop": m.Stop, "restart": m.Restart,
		"uninstall": func() error { return m.Uninstall(func(string) {}) }} {
		if err := act(); !errors.Is(err, ErrNotInstalled) {
			t.Errorf("%s without a unit: %v, want ErrNotInstalled", name, err)
		}
	}
	if c := calls(t, log); len(c) != 0 {
		t.Fatalf("actions without a unit called %q", c)
	}
	if err := os.WriteFile(m.Path(), []byte("[Unit]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, act := range []func() error{m.Start, m.Stop, m.Restart, func() error { return m.Uninstall(func(string) {}) }} {
		if err := act(); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"systemctl --user start openclaw-gateway.service", "systemctl --user stop openclaw-gateway.service",
		"systemctl --user restart openclaw-gateway.service", "systemctl --user disable --now openclaw-gateway.service",
		"systemctl --user daemon-reload"}
	if got := calls(t, log); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := os.Stat(m.Path()); err == nil {
		t.Error("uninstall left the unit")
	}
}

func TestSystemdState(t *testing.T) {
	dir := t.TempDir()
	m := &Systemd{UnitDir: dir, User: "alice", UID: 1000}
	for _, tc := range []struct {
		name, show string
		installed  bool
		want       State
	}{
		{"running", "LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=4242\nExecMainStartTimestamp=Wed 2026-12-02 09:00:00 UTC\nExecMainStatus=0\nUnitFileState=enabled", true,
			State{Installed: true, Loaded: true, Enabled: true, Running: true, State: "running", PID: 4242, Since: "Wed 2026-12-02 09:00:00 UTC", LastExitCode: ptr(0)}},
		{"failed on config", "LoadState=loaded\nActiveState=failed\nSubState=failed\nMainPID=0\nExecMainStartTimestamp=Wed 2026-12-02 09:00:00 UTC\nExecMainStatus=78\nUnitFileState=enabled", true,
			State{Installed: true, Loaded: true, Enabled: true, State: "failed", Since: "Wed 2026-12-02 09:00:00 UTC", LastExitCode: ptr(78)}},
		{"not installed", "LoadState=not-found\nActiveState=inactive\nSubState=dead\nMainPID=0\nExecMainStartTimestamp=\nExecMainStatus=0\nUnitFileState=", false,
			State{State: "not-installed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fakes(t, "FAKE_CTL_SHOW="+tc.show)
			_ = os.Remove(m.Path())
			if tc.installed {
				_ = os.WriteFile(m.Path(), nil, 0o644)
			}
			if got := m.State(); !sameState(got, tc.want) {
				t.Errorf("State = %+v, want %+v", got, tc.want)
			}
		})
	}
	fakes(t, "FAKE_CTL_FAIL=systemctl*", "FAKE_CTL_FAIL_OUT=Failed to connect to bus: No medium found")
	if st := m.State(); !strings.Contains(st.Error, "sudo loginctl enable-linger alice && export XDG_RUNTIME_DIR=/run/user/1000") {
		t.Errorf("no bus: State.Error = %q, want the fix", st.Error)
	}
	root := &Systemd{UnitDir: dir, User: "root", UID: 0}
	if st := root.State(); !strings.Contains(st.Error, "as root, install a system unit: openclaw gateway install --system") {
		t.Errorf("no bus as root: State.Error = %q, want --system", st.Error)
	}
}

func ptr(n int) *int { return &n }

func sameState(a, b State) bool {
	if (a.LastExitCode == nil) != (b.LastExitCode == nil) || (a.LastExitCode != nil && *a.LastExitCode != *b.LastExitCode) {
		return false
	}
	a.LastExitCode, b.LastExitCode = nil, nil
	return a == b
}

func TestLaunchdSequence(t *testing.T) {
	log := fakes(t)
	dir := t.TempDir()
	for _, legacy := range []string{"com.openclaw.gateway.plist", "bot.molt.gateway.plist"} {
		if err := os.WriteFile(filepath.Join(dir, legacy), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := &Launchd{Profile: "work", AgentDir: dir, UID: 501}
	if got := m.Scan(); len(got) != 2 || got[0].Kind != "legacy" {
		t.Errorf("Scan before install = %+v, want the two legacy agents", got)
	}
	files, _ := m.Render(spec("work", false))
	if err := m.Install(files, false, func(string) {}); err != nil {
		t.Fatal(err)
	}
	if err := m.Restart(); err != nil { // not loaded (the fake's print fails): bootstrapped
		t.Fatal(err)
	}
	t.Setenv("FAKE_CTL_PRINT", "gui/501/ai.openclaw.work = {\n\tstate = running\n\tpid = 777\n\tlast exit code = 0\n}")
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	if st := m.State(); !st.Running || st.PID != 777 || st.LastExitCode == nil || *st.LastExitCode != 0 {
		t.Errorf("State = %+v", st)
	}
	if err := m.Uninstall(func(string) {}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"launchctl bootout gui/501/bot.molt.gateway", "launchctl bootout gui/501/com.openclaw.gateway",
		"launchctl bootstrap gui/501 " + m.Path(), "launchctl enable gui/501/ai.openclaw.work",
		"launchctl print gui/501/ai.openclaw.work", "launchctl bootstrap gui/501 " + m.Path(),
		"launchctl print gui/501/ai.openclaw.work", "launchctl kickstart -k gui/501/ai.openclaw.work",
		"launchctl print gui/501/ai.openclaw.work", "launchctl bootout gui/501/ai.openclaw.work",
	}
	if got := calls(t, log); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := m.Scan(); len(got) != 0 {
		t.Errorf("legacy agents left after install: %+v", got)
	}
}

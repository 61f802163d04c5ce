package service

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// restartSec is how long systemd waits before restarting a gateway that
// stopped: long enough not to spin on a crash, short enough to be invisible.
const restartSec = 5

// stopTimeoutSec bounds a stop: the gateway answers requests in flight for
// up to 5 s and then closes its sockets; past this systemd sends SIGKILL.
const stopTimeoutSec = 30

// OpenFiles is the open-files limit the service gets (systemd's default
// soft limit, 1024, is about as many sockets as it allows).
const OpenFiles = 65536

// Systemd manages one profile's gateway as a systemd unit.
type Systemd struct {
	Profile string
	System  bool   // system unit (systemctl without --user)
	UnitDir string // ~/.config/systemd/user or /etc/systemd/system
	User    string // the account (loginctl linger; the fix lines)
	UID     int
}

func (m *Systemd) Kind() string { return "systemd" }
func (m *Systemd) Scope() string {
	if m.System {
		return "system"
	}
	return "user"
}
func (m *Systemd) Name() string { return UnitName(m.Profile) }
func (m *Systemd) Path() string { return filepath.Join(m.UnitDir, m.Name()) }

// Render returns the unit and, when there are secrets, its 0600
// environment file.
func (m *Systemd) Render(s Spec) ([]File, error) {
	unit := renderUnit(s)
	files := []File{{Path: m.Path(), Data: unit, Mode: 0o644}}
	if len(s.Secrets) > 0 {
		files = append(files, File{Path: s.EnvFile, Data: renderEnvFile(s.Secrets), Mode: 0o600})
	}
	return files, nil
}

func renderUnit(s Spec) []byte {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	desc := "OpenClaw Gateway (v" + s.Version + ")"
	if s.Profile != "" {
		desc = "OpenClaw Gateway (profile: " + s.Profile + ", v" + s.Version + ")"
	}
	line("[Unit]")
	line("Description=%s", escapeSpecifiers(desc))
	line("Documentation=https://docs.openclaw.ai/")
	line("After=network-online.target")
	line("Wants=network-online.target")
	line("")
	line("[Service]")
	line("Type=simple")
	if s.System {
		line("User=%s", s.User)
		line("WorkingDirectory=%s", quoteUnit(s.Home, false))
	}
	cmd := make([]string, 0, len(s.Args)+1)
	for _, a := range s.Command() {
		cmd = append(cmd, quoteUnit(a, true))
	}
	line("ExecStart=%s", strings.Join(cmd, " "))
	line("Restart=always")
	line("RestartSec=%d", restartSec)
	line("# %d: the configuration cannot start; restarting would only repeat it.", s.ExitConfig)
	line("RestartPreventExitStatus=%d", s.ExitConfig)
	line("SuccessExitStatus=0 143")
	line("KillMode=control-group")
	line("TimeoutStopSec=%d", stopTimeoutSec)
	line("LimitNOFILE=%d", OpenFiles)
	for _, kv := range s.Env() {
		line("Environment=%s", quoteUnit(kv[0]+"="+kv[1], false))
	}
	if len(s.Secrets) > 0 {
		line("EnvironmentFile=%s", quoteUnit(s.EnvFile, false))
	}
	line("")
	line("[Install]")
	if s.System {
		line("WantedBy=multi-user.target")
	} else {
		line("WantedBy=default.target")
	}
	return []byte(b.String())
}

// renderEnvFile writes KEY=value lines, sorted, values quoted when needed.
func renderEnvFile(secrets map[string]string) []byte {
	keys := make([]string, 0, len(secrets))
	for k := range secrets {
		keys = append(keys, k)
	}
	sortStrings(keys)
	var b strings.Builder
	b.WriteString("# Secrets of the OpenClaw gateway service (mode 0600; written by openclaw gateway install).\n")
	for _, k := range keys {
		v := secrets[k]
		if strings.ContainsAny(v, " \t\"'\\#$`") {
			v = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "`", "\\`").Replace(v) + `"`
		}
		fmt.Fprintf(&b, "%s=%s\n", k, v)
	}
	return []byte(b.String())
}

// ReadEnvFile reads back what renderEnvFile wrote (and plain KEY=value
// files): the CLI finds the service's token in it.
func ReadEnvFile(path string) map[string]string {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		out[k] = unquoteEnv(v)
	}
	return out
}

// unquoteEnv undoes renderEnvFile's quoting: inside double quotes a
// backslash takes the next character as it is, as systemd reads it.
func unquoteEnv(v string) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	var b strings.Builder
	for i := 1; i < len(v)-1; i++ {
		if v[i] == '\\' && i+1 < len(v)-1 {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// escapeSpecifiers doubles %: systemd expands %h, %u, ... everywhere.
func escapeSpecifiers(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// quoteUnit quotes one word of a unit file line the way systemd splits it:
// double quotes when it has spaces or quotes, backslash escapes inside, %
// doubled; in ExecStart $ is doubled too (systemd expands $VAR there).
func quoteUnit(s string, exec bool) string {
	s = escapeSpecifiers(s)
	if exec {
		s = strings.ReplaceAll(s, "$", "$$")
	}
	if s != "" && !strings.ContainsAny(s, " \t\"'\\;") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func (m *Systemd) ctl(args ...string) (string, error) {
	if !m.System {
		args = append([]string{"--user"}, args...)
	}
	out, err := run("systemctl", args...)
	if err != nil && !m.System && noUserBus(out) {
		return out, m.busError(out)
	}
	return out, err
}

// noUserBus recognises systemctl's ways of saying it has no user manager
// to talk to: SSH without lingering, sudo -u, containers.
func noUserBus(out string) bool {
	for _, s := range []string{"Failed to connect to bus", "No medium found", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"} {
		if strings.Contains(out, s) {
			return true
		}
	}
	return false
}

func (m *Systemd) busError(out string) error {
	if m.UID == 0 {
		return fmt.Errorf("%w: systemctl --user cannot reach a user manager for root (%s); as root, install a system unit: openclaw gateway install --system",
			ErrNoUserBus, oneLine(out))
	}
	return fmt.Errorf("%w: systemctl --user cannot reach your user manager (%s); fix: sudo loginctl enable-linger %s && export XDG_RUNTIME_DIR=/run/user/%d, then run this again (or install a system unit: sudo openclaw gateway install --system)",
		ErrNoUserBus, oneLine(out), m.User, m.UID)
}

// Install writes the files, reloads systemd, enables and starts the unit
// (restarts it when replace), and for a user unit turns on lingering so it
// runs without a login session.
func (m *Systemd) Install(files []File, replace bool, log func(string)) error {
	if !m.System {
		// Before writing anything: a unit systemd cannot be told about is
		// a unit that "does not exist after install".
		if _, err := m.ctl("show-environment"); err != nil {
			return err
		}
	}
	if err := Write(files); err != nil {
		return err
	}
	log("wrote " + m.Path())
	if _, err := m.ctl("daemon-reload"); err != nil {
		return err
	}
	if _, err := m.ctl("enable", "--now", m.Name()); err != nil {
		return err
	}
	if replace {
		if _, err := m.ctl("restart", m.Name()); err != nil {
			return err
		}
	}
	log("enabled and started " + m.Name())
	if !m.System {
		m.linger(log)
	}
	return nil
}

// linger makes the user manager outlive the login session; without
// privileges it says the exact command.
func (m *Systemd) linger(log func(string)) {
	out, err := run("loginctl", "show-user", m.User, "--property=Linger", "--value")
	if err == nil && out == "yes" {
		return
	}
	if _, err := run("loginctl", "enable-linger", m.User); err != nil {
		log(fmt.Sprintf("lingering is off for %s: the gateway stops when you log out; run: sudo loginctl enable-linger %s", m.User, m.User))
		return
	}
	log("enabled lingering for " + m.User + " (the gateway keeps running after you log out)")
}

func (m *Systemd) installed() error {
	if _, err := os.Stat(m.Path()); err != nil {
		return fmt.Errorf("%w: no %s unit %s", ErrNotInstalled, m.Scope(), m.Path())
	}
	return nil
}

func (m *Systemd) Uninstall(log func(string)) error {
	if err := m.installed(); err != nil {
		return err
	}
	if _, err := m.ctl("disable", "--now", m.Name()); err != nil {
		if errors.Is(err, ErrNoUserBus) {
			return err
		}
		log("warning: " + err.Error())
	}
	if err := os.Remove(m.Path()); err != nil {
		return err
	}
	log("removed " + m.Path())
	_, err := m.ctl("daemon-reload")
	return err
}

func (m *Systemd) action(verb string) error {
	if err := m.installed(); err != nil {
		return err
	}
	_, err := m.ctl(verb, m.Name())
	return err
}

func (m *Systemd) Start() error   { return m.action("start") }
func (m *Systemd) Stop() error    { return m.action("stop") }
func (m *Systemd) Restart() error { return m.action("restart") }

// State asks systemctl show about the unit.
func (m *Systemd) State() State {
	st := State{State: "not-installed"}
	if m.installed() == nil {
		st.Installed, st.State = true, "unknown"
	}
	out, err := m.ctl("show", m.Name(), "--no-pager",
		"--property=LoadState,ActiveState,SubState,MainPID,ExecMainStartTimestamp,ExecMainStatus,UnitFileState")
	if err != nil {
		st.Error = err.Error()
		return st
	}
	p := parseProps(out)
	st.Loaded = p["LoadState"] == "loaded"
	st.Enabled = p["UnitFileState"] == "enabled"
	if !st.Loaded && !st.Installed {
		return st
	}
	switch p["ActiveState"] {
	case "active":
		st.State, st.Running = "running", true
	case "inactive":
		st.State = "stopped"
	case "failed":
		st.State = "failed"
	case "activating", "deactivating", "reloading":
		st.State = p["ActiveState"]
	}
	if pid, _ := strconv.Atoi(p["MainPID"]); pid > 0 {
		st.PID = pid
	}
	if t := p["ExecMainStartTimestamp"]; t != "" && t != "n/a" {
		st.Since = t
	}
	if c, err := strconv.Atoi(p["ExecMainStatus"]); err == nil && st.Since != "" {
		st.LastExitCode = &c
	}
	return st
}

// Scan lists the other gateway units in the same directory: other
// profiles' and the legacy clawdbot-gateway ones.
func (m *Systemd) Scan() []Other {
	return scanDir(m.UnitDir, func(name string) (string, bool) {
		if name == m.Name() || !strings.HasSuffix(name, ".service") {
			return "", false
		}
		switch {
		case strings.HasPrefix(name, "openclaw-gateway"):
			return "profile", true
		case strings.HasPrefix(name, "clawdbot-gateway"):
			return "legacy", true
		}
		return "", false
	})
}

package service

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"howett.net/plist"
)

// throttleSec is launchd's ThrottleInterval: the least time between two
// starts, like systemd's RestartSec.
const throttleSec = 5

// Launchd manages one profile's gateway as a LaunchAgent.
type Launchd struct {
	Profile  string
	AgentDir string // ~/Library/LaunchAgents
	UID      int
}

func (m *Launchd) Kind() string  { return "launchd" }
func (m *Launchd) Scope() string { return "user" }
func (m *Launchd) Name() string  { return Label(m.Profile) }
func (m *Launchd) Path() string  { return filepath.Join(m.AgentDir, m.Name()+".plist") }
func (m *Launchd) domain() string {
	return "gui/" + strconv.Itoa(m.UID)
}
func (m *Launchd) target() string { return m.domain() + "/" + m.Name() }

// launchAgent is the plist's dictionary. The keys are launchd.plist(5)'s.
type launchAgent struct {
	Label                string            `plist:"Label"`
	ProgramArguments     []string          `plist:"ProgramArguments"`
	EnvironmentVariables map[string]string `plist:"EnvironmentVariables"`
	WorkingDirectory     string            `plist:"WorkingDirectory"`
	RunAtLoad            bool              `plist:"RunAtLoad"`
	KeepAlive            keepAlive         `plist:"KeepAlive"`
	ThrottleInterval     int               `plist:"ThrottleInterval"`
	StandardOutPath      string            `plist:"StandardOutPath"`
	StandardErrorPath    string            `plist:"StandardErrorPath"`
	SoftResourceLimits   resourceLimits    `plist:"SoftResourceLimits"`
	HardResourceLimits   resourceLimits    `plist:"HardResourceLimits"`
}

type resourceLimits struct {
	NumberOfFiles int `plist:"NumberOfFiles"`
}

// keepAlive restarts the gateway unless it exited cleanly (a stop), like
// systemd's Restart=always with SuccessExitStatus. launchd cannot exempt
// one exit code, so a configuration error is retried every ThrottleInterval;
// the error log says why.
type keepAlive struct {
	SuccessfulExit bool `plist:"SuccessfulExit"`
}

// Render returns the plist. launchd has no environment files, so the
// secrets are in the plist itself, which is therefore mode 0600.
func (m *Launchd) Render(s Spec) ([]File, error) {
	env := map[string]string{}
	for _, kv := range s.Env() {
		env[kv[0]] = kv[1]
	}
	for k, v := range s.Secrets {
		env[k] = v
	}
	logs := filepath.Join(s.StateDir, "logs")
	doc := launchAgent{
		Label: m.Name(), ProgramArguments: s.Command(), EnvironmentVariables: env,
		WorkingDirectory: s.StateDir, RunAtLoad: true, KeepAlive: keepAlive{SuccessfulExit: false},
		ThrottleInterval: throttleSec,
		StandardOutPath:  filepath.Join(logs, "gateway.out.log"), StandardErrorPath: filepath.Join(logs, "gateway.err.log"),
		SoftResourceLimits: resourceLimits{OpenFiles}, HardResourceLimits: resourceLimits{OpenFiles},
	}
	var buf bytes.Buffer
	enc := plist.NewEncoderForFormat(&buf, plist.XMLFormat)
	enc.Indent("\t")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return []File{{Path: m.Path(), Data: buf.Bytes(), Mode: 0o600}}, nil
}

func (m *Launchd) legacy() []Other {
	return scanDir(m.AgentDir, func(name string) (string, bool) {
		for _, p := range legacyLabelPrefixes {
			if strings.HasPrefix(name, p) && strings.HasSuffix(name, ".plist") {
				return "legacy", true
			}
		}
		return "", false
	})
}

// Install removes legacy agents (com.openclaw.*, bot.molt.*), writes the
// plist and bootstraps it into the user's GUI domain.
func (m *Launchd) Install(files []File, replace bool, log func(string)) error {
	for _, o := range m.legacy() {
		_, _ = run("launchctl", "bootout", m.domain()+"/"+strings.TrimSuffix(o.Name, ".plist"))
		if err := os.Remove(o.Path); err == nil {
			log("removed the legacy launch agent " + o.Path)
		}
	}
	if replace {
		// bootstrap refuses a label that is loaded: unload the old one.
		_, _ = run("launchctl", "bootout", m.target())
	}
	if err := Write(files); err != nil {
		return err
	}
	log("wrote " + m.Path())
	if _, err := run("launchctl", "bootstrap", m.domain(), m.Path()); err != nil {
		return err
	}
	_, _ = run("launchctl", "enable", m.target())
	log("loaded " + m.Name() + " (starts at login, restarted when it exits)")
	return nil
}

func (m *Launchd) installed() error {
	if _, err := os.Stat(m.Path()); err != nil {
		return fmt.Errorf("%w: no launch agent %s", ErrNotInstalled, m.Path())
	}
	return nil
}

func (m *Launchd) Uninstall(log func(string)) error {
	if err := m.installed(); err != nil {
		return err
	}
	if _, err := run("launchctl", "bootout", m.target()); err != nil {
		log("warning: " + err.Error())
	}
	if err := os.Remove(m.Path()); err != nil {
		return err
	}
	log("removed " + m.Path())
	return nil
}

// Start loads the agent if it is not (after a stop), else kicks it.
func (m *Launchd) Start() error { return m.kick() }

// kick bootstraps an agent that is not loaded (a stop unloads it), or
// kickstarts a loaded one with flags (-k: kill the running one first).
func (m *Launchd) kick(flags ...string) error {
	if err := m.installed(); err != nil {
		return err
	}
	if _, err := run("launchctl", "print", m.target()); err != nil {
		_, err = run("launchctl", "bootstrap", m.domain(), m.Path())
		return err
	}
	_, err := run("launchctl", append(append([]string{"kickstart"}, flags...), m.target())...)
	return err
}

// Stop unloads the agent: with KeepAlive, killing it would only restart it.
func (m *Launchd) Stop() error {
	if err := m.installed(); err != nil {
		return err
	}
	_, err := run("launchctl", "bootout", m.target())
	return err
}

// Restart kills and restarts a loaded agent, or loads a stopped one.
func (m *Launchd) Restart() error { return m.kick("-k") }

// State reads `launchctl print`: "state = running", "pid = N",
// "last exit code = N".
func (m *Launchd) State() State {
	st := State{State: "not-installed"}
	if m.installed() == nil {
		st.Installed, st.State, st.Enabled = true, "stopped", true
	}
	out, err := run("launchctl", "print", m.target())
	if err != nil {
		return st // not loaded (launchctl print exits 113)
	}
	st.Loaded = true
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), " = ")
		if !ok {
			continue
		}
		switch k {
		case "state":
			if v == "running" {
				st.State, st.Running = "running", true
			} else if st.State != "running" {
				st.State = "stopped"
			}
		case "pid":
			st.PID, _ = strconv.Atoi(v)
		case "last exit code":
			if c, err := strconv.Atoi(v); err == nil {
				st.LastExitCode = &c
			}
		}
	}
	return st
}

// Scan lists other profiles' agents and legacy labels.
func (m *Launchd) Scan() []Other {
	others := scanDir(m.AgentDir, func(name string) (string, bool) {
		if name == m.Name()+".plist" || !strings.HasPrefix(name, "ai.openclaw.") || !strings.HasSuffix(name, ".plist") {
			return "", false
		}
		return "profile", true
	})
	return append(others, m.legacy()...)
}

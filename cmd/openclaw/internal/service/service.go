// Package service installs and drives the gateway as a supervised service:
// a systemd unit (user by default, or system-wide) on Linux, a LaunchAgent
// on macOS. It writes the files (Render is pure, so tests compare it with
// golden files) and runs the supervisor's own CLI (systemctl, loginctl,
// launchctl), found on PATH, so a test can put recording fakes first.
package service

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Markers are set in the service's environment: doctor and status recognise
// a unit as the gateway's by them (and by its version, an outdated one).
const (
	MarkerKey   = "OPENCLAW_SERVICE_MARKER"
	MarkerValue = "openclaw"
	KindKey     = "OPENCLAW_SERVICE_KIND"
	KindValue   = "gateway"
	VersionKey  = "OPENCLAW_SERVICE_VERSION"
)

// Spec is what one installed gateway service runs.
type Spec struct {
	Profile    string // "" for the default profile; "dev" for --dev
	Version    string // OPENCLAW_SERVICE_VERSION
	Exec       string // absolute path of the openclaw binary
	Args       []string
	Port       int
	StateDir   string
	ConfigPath string
	// Secrets go to a 0600 environment file (systemd) or the 0600 plist
	// (launchd, which has no environment files), never into the unit.
	Secrets map[string]string
	// ExitConfig is the exit code the binary returns for a configuration
	// that cannot start: the supervisor must not restart on it.
	ExitConfig int

	System  bool   // a system unit (systemd only)
	User    string // User= of a system unit
	Home    string // WorkingDirectory= of a system unit
	EnvFile string // where the secrets go (systemd)
}

// Env is the non-secret environment of the service: the markers, then the
// profile's paths and port.
func (s Spec) Env() [][2]string {
	env := [][2]string{{MarkerKey, MarkerValue}, {KindKey, KindValue}, {VersionKey, s.Version}}
	return append(env,
		[2]string{"OPENCLAW_STATE_DIR", s.StateDir},
		[2]string{"OPENCLAW_CONFIG_PATH", s.ConfigPath},
		[2]string{"OPENCLAW_GATEWAY_PORT", fmt.Sprint(s.Port)},
	)
}

// Command is the service's argv.
func (s Spec) Command() []string { return append([]string{s.Exec}, s.Args...) }

// UnitName is the systemd unit of a profile: openclaw-gateway.service, or
// openclaw-gateway-<profile>.service.
func UnitName(profile string) string {
	if profile == "" {
		return "openclaw-gateway.service"
	}
	return "openclaw-gateway-" + profile + ".service"
}

// Label is the launchd label of a profile: ai.openclaw.gateway, or
// ai.openclaw.<profile>.
func Label(profile string) string {
	if profile == "" {
		return "ai.openclaw.gateway"
	}
	return "ai.openclaw." + profile
}

// LegacyLabels are labels earlier releases installed; install removes them
// and status --deep reports them.
var legacyLabelPrefixes = []string{"com.openclaw.", "bot.molt."}

// ErrNotInstalled is returned by actions on a service that has no unit.
var ErrNotInstalled = errors.New("not installed")

// ErrNoUserBus says `systemctl --user` cannot reach the user's manager.
var ErrNoUserBus = errors.New("no user bus")

// Files are what install writes: path -> contents, with their modes.
type File struct {
	Path string
	Data []byte
	Mode os.FileMode
}

// Diff compares the files on disk with want: the paths missing and the
// paths whose contents differ.
func Diff(want []File) (missing, differ []string) {
	for _, f := range want {
		have, err := os.ReadFile(f.Path)
		switch {
		case err != nil:
			missing = append(missing, f.Path)
		case !bytes.Equal(have, f.Data):
			differ = append(differ, f.Path)
		}
	}
	return missing, differ
}

// Write writes files atomically (temp file and rename) with their modes,
// creating directories as needed.
func Write(files []File) error {
	for _, f := range files {
		if err := os.MkdirAll(filepath.Dir(f.Path), 0o755); err != nil {
			return err
		}
		tmp := f.Path + ".tmp"
		if err := os.WriteFile(tmp, f.Data, f.Mode); err != nil {
			return err
		}
		// WriteFile keeps an existing file's mode: make it exact.
		if err := os.Chmod(tmp, f.Mode); err != nil {
			return err
		}
		if err := os.Rename(tmp, f.Path); err != nil {
			return err
		}
	}
	return nil
}

// State is what the supervisor says about a service.
type State struct {
	Installed    bool   `json:"installed"`
	Loaded       bool   `json:"loaded"`
	Enabled      bool   `json:"enabled"`
	Running      bool   `json:"running"`
	State        string `json:"state"` // running, stopped, failed, activating, not-installed, unknown
	PID          int    `json:"pid,omitempty"`
	Since        string `json:"since,omitempty"`
	LastExitCode *int   `json:"lastExitCode,omitempty"`
	Error        string `json:"error,omitempty"` // why the supervisor could not be asked
}

// Other is another gateway-like service found by a deep scan.
type Other struct {
	Name string `json:"name"`
	Path string `json:"path"`
	Kind string `json:"kind"` // profile or legacy
}

// Manager drives one platform's supervisor for one service.
type Manager interface {
	Kind() string  // systemd or launchd
	Scope() string // user or system
	Name() string  // the unit or label
	Path() string  // the unit or plist file
	Render(Spec) ([]File, error)
	// Install writes files and loads and starts the service; log gets one
	// line per step worth telling.
	// replace restarts a service that was already running.
	Install(files []File, replace bool, log func(string)) error
	Uninstall(log func(string)) error
	Start() error
	Stop() error
	Restart() error
	State() State
	// Scan finds other gateway-like services (other profiles, legacy labels).
	Scan() []Other
}

// run runs a supervisor command and returns its combined output, trimmed;
// the error carries that output so it reads as one line.
func run(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	s := strings.TrimSpace(string(out))
	if err != nil {
		if s == "" {
			s = err.Error()
		}
		return s, fmt.Errorf("%s %s: %s", name, strings.Join(args, " "), oneLine(s))
	}
	return s, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// parseProps reads systemctl show's KEY=VALUE lines.
func parseProps(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			m[k] = v
		}
	}
	return m
}

// scanDir lists files in dir whose names pass keep, sorted.
func scanDir(dir string, keep func(string) (kind string, ok bool)) []Other {
	ents, _ := os.ReadDir(dir)
	var out []Other
	for _, e := range ents {
		if kind, ok := keep(e.Name()); ok {
			out = append(out, Other{Name: e.Name(), Path: filepath.Join(dir, e.Name()), Kind: kind})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func sortStrings(s []string) { sort.Strings(s) }

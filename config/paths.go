package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
)

// DefaultPort is the gateway's port when nothing else says.
const (
	DefaultPort    = 18789
	DefaultDevPort = 19001
)

var profileName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Profile selects the state directory: "" (default), "dev", or a name.
type Profile struct {
	Name string
	Dev  bool
}

// Resolve turns --dev / --profile into a profile, rejecting bad names.
func ResolveProfile(dev bool, name string) (Profile, error) {
	if dev {
		if name != "" && name != "dev" && name != "default" {
			return Profile{}, fmt.Errorf("--dev and --profile %s disagree: use one", name)
		}
		return Profile{Name: "dev", Dev: true}, nil
	}
	if name == "" || name == "default" {
		return Profile{}, nil
	}
	if !profileName.MatchString(name) {
		return Profile{}, fmt.Errorf("invalid profile name %q: use lowercase letters, digits, '-' and '_' (at most 64)", name)
	}
	return Profile{Name: name, Dev: name == "dev"}, nil
}

// Paths are where this gateway keeps its files.
type Paths struct {
	StateDir   string
	ConfigPath string
}

// ResolvePaths applies OPENCLAW_STATE_DIR and OPENCLAW_CONFIG_PATH over the
// profile's defaults.
func ResolvePaths(p Profile) (Paths, error) {
	state := os.Getenv("OPENCLAW_STATE_DIR")
	if state == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return Paths{}, fmt.Errorf("cannot find the home directory (set OPENCLAW_STATE_DIR): %v", err)
		}
		dir := ".openclaw"
		if p.Name != "" {
			dir += "-" + p.Name
		}
		state = filepath.Join(home, dir)
	}
	cfg := os.Getenv("OPENCLAW_CONFIG_PATH")
	if cfg == "" {
		cfg = filepath.Join(state, "openclaw.json")
	}
	return Paths{StateDir: state, ConfigPath: cfg}, nil
}

// PortSource says which rule picked the port, for logs and status output.
type PortSource string

// ResolvePort applies --port > OPENCLAW_GATEWAY_PORT > gateway.port > default
// (19001 for the dev profile).
func ResolvePort(flag int, c *Config, p Profile) (int, PortSource, error) {
	if flag != 0 {
		return flag, "flag", checkPort(flag, "--port")
	}
	if env := os.Getenv("OPENCLAW_GATEWAY_PORT"); env != "" {
		n, err := strconv.Atoi(env)
		if err != nil {
			return 0, "", fmt.Errorf("OPENCLAW_GATEWAY_PORT=%q is not a port number", env)
		}
		return n, "env", checkPort(n, "OPENCLAW_GATEWAY_PORT")
	}
	if c != nil && c.Gateway.Port != 0 {
		return c.Gateway.Port, "config", checkPort(c.Gateway.Port, "gateway.port")
	}
	if p.Dev {
		return DefaultDevPort, "default", nil
	}
	return DefaultPort, "default", nil
}

func checkPort(n int, from string) error {
	if n < 1 || n > 65535 {
		return fmt.Errorf("%s=%d is not a port (1-65535)", from, n)
	}
	return nil
}

// BindHosts turns gateway.bind into the addresses to listen on.
func BindHosts(c *Config) ([]string, error) {
	bind, custom := "loopback", ""
	if c != nil {
		if c.Gateway.Bind != "" {
			bind = c.Gateway.Bind
		}
		custom = c.Gateway.CustomBindHost
	}
	switch bind {
	case "loopback":
		return []string{"127.0.0.1", "::1"}, nil
	case "lan":
		return []string{"0.0.0.0"}, nil
	case "custom":
		if custom == "" {
			return nil, fmt.Errorf("gateway.bind is custom but gateway.customBindHost is empty")
		}
		return []string{custom}, nil
	}
	return nil, fmt.Errorf("gateway.bind=%q: use loopback, lan or custom", bind)
}

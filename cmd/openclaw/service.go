package main

// openclaw gateway install|uninstall|start|stop|restart: the gateway as a
// systemd unit (user by default, --system) or a LaunchAgent (macOS). The
// files come from internal/service; this file resolves what goes in them
// (profile, port, paths, secrets) and says what happened in a few lines.

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"openclaw/cmd/openclaw/internal/service"
	"openclaw/config"
)

// serviceEnvName is the service's secrets file in the state directory
// (systemd EnvironmentFile=, mode 0600).
const serviceEnvName = "service.env"

func serviceEnvPath(stateDir string) string { return filepath.Join(stateDir, serviceEnvName) }

// serviceToken is the token an installed service was given (install
// --token), for client commands of the same user that were given none.
func serviceToken(stateDir string) string {
	return service.ReadEnvFile(serviceEnvPath(stateDir))["OPENCLAW_GATEWAY_TOKEN"]
}

// ServiceScope picks the unit: the user's by default, the system's with
// --system (or when only a system unit is installed).
type ServiceScope struct {
	System bool `help:"The system-wide unit (/etc/systemd/system; needs root) instead of the user's."`
}

// serviceAccount is who the service runs as: under sudo, the user who ran
// sudo (a system unit must not run the gateway as root).
type serviceAccount struct {
	name, home string
	uid        int
}

func currentAccount() (serviceAccount, error) {
	if os.Geteuid() == 0 {
		if name := os.Getenv("SUDO_USER"); name != "" && name != "root" {
			if u, err := user.Lookup(name); err == nil {
				uid, _ := strconv.Atoi(u.Uid)
				return serviceAccount{name: u.Username, home: u.HomeDir, uid: uid}, nil
			}
		}
	}
	u, err := user.Current()
	if err != nil {
		return serviceAccount{}, fail(exitFailure, "cannot tell who you are: %v", err)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = u.HomeDir
	}
	return serviceAccount{name: u.Username, home: home, uid: os.Getuid()}, nil
}

// newManager is the supervisor of this platform for the profile.
func newManager(prof config.Profile, system bool, acct serviceAccount) (service.Manager, error) {
	if runtime.GOOS == "darwin" {
		if system {
			return nil, fail(exitUsage, "--system is for systemd; on macOS the gateway is a LaunchAgent of your user (drop --system)")
		}
		return &service.Launchd{Profile: prof.Name, AgentDir: filepath.Join(acct.home, "Library", "LaunchAgents"), UID: acct.uid}, nil
	}
	if system {
		return &service.Systemd{Profile: prof.Name, System: true, UnitDir: "/etc/systemd/system", User: acct.name, UID: acct.uid}, nil
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		dir = filepath.Join(acct.home, ".config")
	}
	return &service.Systemd{Profile: prof.Name, UnitDir: filepath.Join(dir, "systemd", "user"), User: acct.name, UID: acct.uid}, nil
}

// pickManager is the installed unit of the profile: the user's, else the
// system's; --system forces the system one.
func pickManager(g *Globals, s ServiceScope) (service.Manager, config.Profile, error) {
	prof, err := g.profile()
	if err != nil {
		return nil, prof, err
	}
	acct, err := currentAccount()
	if err != nil {
		return nil, prof, err
	}
	m, err := newManager(prof, s.System, acct)
	if err != nil || s.System || runtime.GOOS == "darwin" {
		return m, prof, err
	}
	if _, err := os.Stat(m.Path()); err != nil {
		if sys, _ := newManager(prof, true, acct); sys != nil {
			if _, err := os.Stat(sys.Path()); err == nil {
				return sys, prof, nil
			}
		}
	}
	return m, prof, nil
}

// serviceFail turns a manager's error into the CLI's one line and exit code.
func serviceFail(m service.Manager, prof config.Profile, err error) error {
	switch {
	case errors.Is(err, service.ErrNotInstalled):
		return fail(exitFailure, "no gateway service installed for %s (%s): install it with `openclaw%s gateway install`", profileLabel(prof), m.Path(), profileFlag(prof))
	case errors.Is(err, os.ErrPermission):
		return fail(exitFailure, "%v: a system unit needs root (sudo openclaw gateway ... --system)", err)
	}
	return fail(exitFailure, "%v", err)
}

func profileLabel(p config.Profile) string {
	if p.Name == "" {
		return "the default profile"
	}
	return "profile " + p.Name
}

// GatewayInstallCmd writes and starts the service.
type GatewayInstallCmd struct {
	ServiceScope
	Force bool   `help:"Rewrite the unit even when it differs from what install writes (an edited or older unit)."`
	Port  int    `help:"The port the service runs on (default: as the gateway resolves it: OPENCLAW_GATEWAY_PORT, gateway.port, the profile's)."`
	Token string `help:"The gateway token, kept in the service's 0600 environment file (default: OPENCLAW_GATEWAY_TOKEN, else the one installed before, else gateway.auth.token)."`
	JSON  bool   `name:"json" help:"Print the result as JSON."`
}

// installResult is install's --json output.
type installResult struct {
	OK      bool     `json:"ok"`
	Action  string   `json:"action"` // installed, replaced, unchanged, differs
	Manager string   `json:"manager"`
	Scope   string   `json:"scope"`
	Name    string   `json:"name"`
	Path    string   `json:"path"`
	Differs []string `json:"differs,omitempty"`
	Notes   []string `json:"notes,omitempty"`
}

func (c *GatewayInstallCmd) Run(g *Globals) error {
	prof, err := g.profile()
	if err != nil {
		return err
	}
	acct, err := currentAccount()
	if err != nil {
		return err
	}
	m, err := newManager(prof, c.System, acct)
	if err != nil {
		return err
	}
	spec, notes, err := serviceSpec(prof, acct, c.System, c.Port, c.Token)
	if err != nil {
		return err
	}
	files, err := m.Render(spec)
	if err != nil {
		return fail(exitFailure, "%v", err)
	}
	res := installResult{OK: true, Manager: m.Kind(), Scope: m.Scope(), Name: m.Name(), Path: m.Path(), Notes: notes}
	say := func(line string) {
		res.Notes = append(res.Notes, line)
		if !c.JSON {
			fmt.Println(line)
		}
	}
	if !c.JSON {
		for _, n := range notes {
			fmt.Println(n)
		}
	}
	missing, differ := service.Diff(files)
	switch {
	case len(missing) == 0 && len(differ) == 0:
		res.Action = "unchanged"
		say(fmt.Sprintf("Gateway service already installed: %s (%s %s unit, unchanged)", m.Path(), m.Scope(), m.Kind()))
		return printResult(c.JSON, res)
	case len(differ) > 0 && !c.Force:
		res.OK, res.Action, res.Differs = false, "differs", differ
		for _, p := range differ {
			if p == m.Path() {
				for _, l := range lineDiff(p, files) {
					say(l)
				}
			} else {
				say(p + " differs (secrets: contents not shown)")
			}
		}
		_ = printResult(c.JSON, res)
		return fail(exitFailure, "%s differs from what install writes (see above); `openclaw%s gateway install --force` replaces it", strings.Join(differ, " and "), profileFlag(prof))
	}
	replace := len(differ) > 0
	if err := m.Install(files, replace, say); err != nil {
		res.OK = false
		_ = printResult(c.JSON, res)
		return serviceFail(m, prof, err)
	}
	res.Action = "installed"
	if replace {
		res.Action = "replaced"
	}
	say(fmt.Sprintf("Check it with `openclaw%s gateway status`; logs: `openclaw%s logs --follow`", profileFlag(prof), profileFlag(prof)))
	return printResult(c.JSON, res)
}

func printResult(asJSON bool, v any) error {
	if !asJSON {
		return nil
	}
	return printJSON(mustJSON(v))
}

// lineDiff shows how the unit on disk differs from the one install writes:
// "- " lines only on disk, "+ " lines only in the new one.
func lineDiff(path string, files []service.File) []string {
	have, _ := os.ReadFile(path)
	var want []byte
	for _, f := range files {
		if f.Path == path {
			want = f.Data
		}
	}
	hl, wl := strings.Split(string(have), "\n"), strings.Split(string(want), "\n")
	out := []string{path + " differs from what install writes:"}
	for _, l := range hl {
		if l != "" && !slices.Contains(wl, l) {
			out = append(out, "  - "+l)
		}
	}
	for _, l := range wl {
		if l != "" && !slices.Contains(hl, l) {
			out = append(out, "  + "+l)
		}
	}
	return out
}

// serviceSpec resolves what the service runs: this binary, the profile's
// paths and port, and its secrets. The config must load: a service started
// on a broken config would only exit 78.
func serviceSpec(prof config.Profile, acct serviceAccount, system bool, port int, token string) (service.Spec, []string, error) {
	var notes []string
	paths, err := config.ResolvePaths(prof)
	if err != nil {
		return service.Spec{}, nil, fail(exitConfig, "%v", err)
	}
	if system && os.Getenv("OPENCLAW_STATE_DIR") == "" && acct.home != "" {
		// Under sudo, HOME may be root's: the state is the account's.
		dir := ".openclaw"
		if prof.Name != "" {
			dir += "-" + prof.Name
		}
		paths.StateDir = filepath.Join(acct.home, dir)
		if os.Getenv("OPENCLAW_CONFIG_PATH") == "" {
			paths.ConfigPath = filepath.Join(paths.StateDir, "openclaw.json")
		}
	}
	if _, err := os.Stat(paths.ConfigPath); err != nil {
		return service.Spec{}, nil, fail(exitConfig, "no config at %s: create one with `openclaw%s setup` first (the service runs from it)", paths.ConfigPath, profileFlag(prof))
	}
	cfg, err := config.Load(paths.ConfigPath)
	if err != nil {
		return service.Spec{}, nil, fail(exitConfig, "%v", err)
	}
	p, _, err := config.ResolvePort(port, cfg, prof)
	if err != nil {
		return service.Spec{}, nil, fail(exitConfig, "%v", err)
	}
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		return service.Spec{}, nil, fail(exitFailure, "cannot find this binary's path: %v", err)
	}
	if strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return service.Spec{}, nil, fail(exitUsage, "this binary (%s) is in Go's build cache and will go away: install it first (go install ./cmd/openclaw) and run that one", exe)
	}
	envFile := serviceEnvPath(paths.StateDir)
	secrets := map[string]string{}
	if t := firstSet(token, os.Getenv("OPENCLAW_GATEWAY_TOKEN"), service.ReadEnvFile(envFile)["OPENCLAW_GATEWAY_TOKEN"]); t != "" {
		secrets["OPENCLAW_GATEWAY_TOKEN"] = t
	}
	if pw := firstSet(os.Getenv("OPENCLAW_GATEWAY_PASSWORD"), service.ReadEnvFile(envFile)["OPENCLAW_GATEWAY_PASSWORD"]); pw != "" {
		secrets["OPENCLAW_GATEWAY_PASSWORD"] = pw
	}
	if len(secrets) == 0 && (cfg.Gateway.Auth.Token == nil || *cfg.Gateway.Auth.Token == "") && cfg.Gateway.Auth.Password == nil {
		notes = append(notes, "Note: no gateway token configured: the service generates one per run (client commands of this user read it from "+tokenFilePath(paths.StateDir)+"); pass --token or set gateway.auth.token to keep one")
	}
	args := []string{"gateway", "run"}
	switch {
	case prof.Dev:
		args = append(args, "--dev")
	case prof.Name != "":
		args = append(args, "--profile", prof.Name)
	}
	return service.Spec{
		Profile: prof.Name, Version: version(), Exec: exe, Args: args, Port: p,
		StateDir: paths.StateDir, ConfigPath: paths.ConfigPath, Secrets: secrets, ExitConfig: exitConfig,
		System: system, User: acct.name, Home: acct.home, EnvFile: envFile,
	}, notes, nil
}

// GatewayUninstallCmd stops and removes the service.
type GatewayUninstallCmd struct {
	ServiceScope
}

func (c *GatewayUninstallCmd) Run(g *Globals) error {
	m, prof, err := pickManager(g, c.ServiceScope)
	if err != nil {
		return err
	}
	if err := m.Uninstall(func(s string) { fmt.Println(s) }); err != nil {
		return serviceFail(m, prof, err)
	}
	fmt.Printf("Gateway service removed (%s)\n", m.Name())
	return nil
}

// GatewayServiceActionCmd is start, stop or restart.
type GatewayServiceActionCmd struct {
	ServiceScope
}

func (c *GatewayServiceActionCmd) act(g *Globals, done string, do func(service.Manager) error) error {
	m, prof, err := pickManager(g, c.ServiceScope)
	if err != nil {
		return err
	}
	if err := do(m); err != nil {
		return serviceFail(m, prof, err)
	}
	fmt.Printf("Gateway service %s (%s %s)\n", done, m.Kind(), m.Name())
	return nil
}

// GatewayStartCmd starts the installed service.
type GatewayStartCmd struct{ GatewayServiceActionCmd }

func (c *GatewayStartCmd) Run(g *Globals) error {
	return c.act(g, "started", service.Manager.Start)
}

// GatewayStopCmd stops the installed service.
type GatewayStopCmd struct{ GatewayServiceActionCmd }

func (c *GatewayStopCmd) Run(g *Globals) error {
	return c.act(g, "stopped", service.Manager.Stop)
}

// GatewayRestartCmd restarts the installed service.
type GatewayRestartCmd struct{ GatewayServiceActionCmd }

func (c *GatewayRestartCmd) Run(g *Globals) error {
	return c.act(g, "restarted", service.Manager.Restart)
}

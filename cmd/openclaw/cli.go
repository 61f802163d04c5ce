package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/alecthomas/kong"

	"openclaw/config"
)

// Exit codes (the README's "Exit codes" lists them). A supervisor can tell
// the two failure kinds apart: restarting on exitConfig only repeats it.
const (
	// exitFailure: something failed at run time: the gateway is not
	// reachable, a call or an agent turn failed, the gateway stopped on an
	// error after it had started.
	exitFailure = 1
	// exitUsage: the command line is wrong (an unknown command or flag, a
	// bad flag value, a missing argument).
	exitUsage = 2
	// exitConfig is EX_CONFIG from sysexits.h: the gateway cannot start as
	// configured (a config file that does not load, a busy port without
	// --force, a state directory locked by another gateway, an unusable
	// environment variable). Nothing changes until a person does.
	exitConfig = 78
)

// Globals are accepted before or after any command.
type Globals struct {
	Dev     bool             `help:"Use the isolated dev profile (~/.openclaw-dev, port 19001)."`
	Profile string           `help:"Use a named profile: state in ~/.openclaw-<name>." placeholder:"NAME"`
	Version kong.VersionFlag `help:"Print the version and exit."`
}

// profile resolves --dev / --profile.
func (g *Globals) profile() (config.Profile, error) {
	p, err := config.ResolveProfile(g.Dev, g.Profile)
	if err != nil {
		return p, fail(exitUsage, "%v", err)
	}
	return p, nil
}

// paths resolves the profile's state directory and config file.
func (g *Globals) paths() (config.Profile, config.Paths, error) {
	prof, err := g.profile()
	if err != nil {
		return prof, config.Paths{}, err
	}
	paths, err := config.ResolvePaths(prof)
	if err != nil {
		return prof, paths, fail(exitConfig, "%v", err)
	}
	return prof, paths, nil
}

// CLI is the command tree.
type CLI struct {
	Globals

	Gateway    GatewayCmd    `cmd:"" help:"Run the gateway, or talk to a running one."`
	Health     HealthCmd     `cmd:"" help:"Fetch the gateway's health over its WebSocket."`
	Status     StatusCmd     `cmd:"" help:"Fetch the gateway's status over its WebSocket."`
	Logs       LogsCmd       `cmd:"" help:"Print the gateway's log (over its WebSocket); --follow keeps printing."`
	Agent      AgentCmd      `cmd:"" help:"Run one agent turn through the gateway and print the reply as it streams."`
	Message    MessageCmd    `cmd:"" help:"Send messages through the gateway's channels."`
	Pairing    PairingCmd    `cmd:"" help:"Secure DM pairing: list and approve inbound requests."`
	Nodes      NodesCmd      `cmd:"" help:"Node hosts: pairing, status, describe and invoke."`
	Devices    DevicesCmd    `cmd:"" help:"Device pairing and device tokens."`
	Sessions   SessionsCmd   `cmd:"" help:"List, compact, reset and delete the gateway's sessions."`
	Cron       CronCmd       `cmd:"" help:"Scheduled agent turns and heartbeats."`
	Doctor     DoctorCmd     `cmd:"" help:"Check the installation: service unit, config, secrets, state, port, clock, limits; --fix repairs what it safely can."`
	Setup      SetupCmd      `cmd:"" help:"Create the profile's config (with a generated token) and workspace."`
	Completion CompletionCmd `cmd:"" help:"Print a shell completion script (bash, zsh or fish)."`
	VersionCmd VersionCmd    `cmd:"" name:"version" help:"Print the version."`
}

// GatewayCmd groups the gateway subcommands; a bare `openclaw gateway` runs it.
type GatewayCmd struct {
	Run    RunCmd           `cmd:"" default:"withargs" help:"Run the gateway in the foreground (the default)."`
	Call   CallCmd          `cmd:"" help:"Call a gateway method and print the result as JSON."`
	Health HealthCmd        `cmd:"" help:"Fetch the gateway's health."`
	Status GatewayStatusCmd `cmd:"" help:"Probe the gateway: is it reachable, who answers."`

	Install   GatewayInstallCmd   `cmd:"" help:"Install the gateway as a service (systemd user unit; --system; LaunchAgent on macOS) and start it."`
	Uninstall GatewayUninstallCmd `cmd:"" help:"Stop the gateway service and remove its unit."`
	Start     GatewayStartCmd     `cmd:"" help:"Start the installed gateway service."`
	Stop      GatewayStopCmd      `cmd:"" help:"Stop the installed gateway service."`
	Restart   GatewayRestartCmd   `cmd:"" help:"Restart the installed gateway service."`
}

// VersionCmd prints the version.
type VersionCmd struct{}

func (VersionCmd) Run() error {
	fmt.Println(version())
	return nil
}

// newParser builds the kong parser. Help goes to stdout, errors to stderr;
// exits go through exitCode panics so that run's deferred work happens.
func newParser(cli *CLI, stdout, stderr io.Writer) (*kong.Kong, error) {
	return kong.New(cli,
		kong.Name("openclaw"),
		kong.Description("OpenClaw gateway (Go). `openclaw gateway` runs it; the other commands talk to it."),
		kong.Vars{"version": version()},
		kong.Help(helpWithDefaultCommand),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exitCode(code)) }),
	)
}

func run(args []string) int {
	if len(args) > 0 && args[0] == completeCommand {
		return complete(os.Stdout, args[1:])
	}
	var cli CLI
	parser, err := newParser(&cli, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "openclaw: internal error:", err)
		return exitFailure
	}
	code := func() (code int) {
		defer func() {
			if r := recover(); r != nil {
				c, ok := r.(exitCode)
				if !ok {
					panic(r)
				}
				code = int(c)
			}
		}()
		kctx, err := parser.Parse(args)
		if err != nil {
			line := "openclaw: " + oneLine(err.Error())
			var pe *kong.ParseError
			if errors.As(err, &pe) && pe.Context != nil {
				line += " (" + whatExists(pe.Context, err) + ")"
			}
			fmt.Fprintln(os.Stderr, line)
			return exitUsage
		}
		if err := kctx.Run(&cli.Globals); err != nil {
			var ee *exitError
			if errors.As(err, &ee) {
				if ee.msg != "" {
					fmt.Fprintln(os.Stderr, "openclaw: "+oneLine(ee.msg))
				}
				return ee.code
			}
			fmt.Fprintln(os.Stderr, "openclaw: "+oneLine(err.Error()))
			return exitFailure
		}
		return 0
	}()
	return code
}

// exitCode is how kong's --help asks to exit without killing deferred work.
type exitCode int

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// whatExists is what to say after a command-line error, on the same line:
// the subcommands of the command the user was in, for an unknown flag that
// command's flags, and where the full help is. A command that runs by
// default (`gateway` runs `gateway run`) lists its parent's subcommands too,
// since `openclaw gateway install` lands in it.
func whatExists(ctx *kong.Context, err error) string {
	node := ctx.Selected()
	if node == nil {
		node = ctx.Model.Node
	}
	cmds, flags := node, node
	if node.Parent != nil && node.Parent.DefaultCmd == node {
		cmds = node.Parent
	}
	if d := node.DefaultCmd; d != nil && d.Tag.Default == "withargs" {
		flags = d // `gateway --forse` is a mistyped `gateway run` flag
	}
	var parts []string
	if names := commandNames(cmds); len(names) > 0 && !strings.HasPrefix(err.Error(), "missing flags") {
		parts = append(parts, fmt.Sprintf("commands of `%s`: %s", cmds.FullPath(), strings.Join(names, ", ")))
	}
	if strings.HasPrefix(err.Error(), "unknown flag") {
		if names := flagNames(flags, false); len(names) > 0 {
			parts = append(parts, fmt.Sprintf("flags of `%s`: %s", flags.FullPath(), strings.Join(names, ", ")))
		}
	}
	return strings.Join(append(parts, fmt.Sprintf("see `%s --help`", cmds.FullPath())), "; ")
}

// commandNames are the visible subcommands of n.
func commandNames(n *kong.Node) []string {
	var out []string
	for _, c := range n.Children {
		if c.Type == kong.CommandNode && !c.Hidden {
			out = append(out, c.Name)
		}
	}
	return out
}

// flagNames are the visible flags of n (with withAncestors, also the ones it
// inherits, like --dev), as typed: --name.
func flagNames(n *kong.Node, withAncestors bool) []string {
	groups := [][]*kong.Flag{n.Flags}
	if withAncestors {
		groups = n.AllFlags(true)
	}
	var out []string
	for _, g := range groups {
		for _, f := range g {
			if f.Name != "help" && !f.Hidden {
				out = append(out, "--"+f.Name)
			}
		}
	}
	return out
}

// helpWithDefaultCommand is kong's help, plus, for a command with a default
// subcommand that takes flags (`gateway` runs `gateway run`), that
// subcommand's help: `openclaw gateway --help` shows --port, --force, ...
func helpWithDefaultCommand(options kong.HelpOptions, ctx *kong.Context) error {
	if err := kong.DefaultHelpPrinter(options, ctx); err != nil {
		return err
	}
	node := ctx.Selected()
	if node == nil || node.DefaultCmd == nil || node.DefaultCmd.Tag.Default != "withargs" {
		return nil
	}
	args := append(strings.Fields(node.Path()), node.DefaultCmd.Name)
	dctx, err := kong.Trace(ctx.Kong, args)
	if err != nil || dctx.Error != nil {
		return nil
	}
	fmt.Fprintf(ctx.Stdout, "\n`%s` with no command runs `%s`:\n\n", node.FullPath(), node.DefaultCmd.FullPath())
	return kong.DefaultHelpPrinter(options, dctx)
}

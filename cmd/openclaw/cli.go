package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/alecthomas/kong"

	"openclaw/config"
)

// Globals are accepted before or after any command.
type Globals struct {
	Dev     bool   `help:"Use the isolated dev profile (~/.openclaw-dev, port 19001)."`
	Profile string `help:"Use a named profile: state in ~/.openclaw-<name>." placeholder:"NAME"`
}

// profile resolves --dev / --profile.
func (g *Globals) profile() (config.Profile, error) { return config.ResolveProfile(g.Dev, g.Profile) }

// CLI is the command tree.
type CLI struct {
	Globals

	Gateway  GatewayCmd  `cmd:"" help:"Run the gateway, or talk to a running one."`
	Health   HealthCmd   `cmd:"" help:"Fetch the gateway's health over its WebSocket."`
	Status   StatusCmd   `cmd:"" help:"Fetch the gateway's status over its WebSocket."`
	Agent    AgentCmd    `cmd:"" help:"Run one agent turn through the gateway and print the reply as it streams."`
	Message  MessageCmd  `cmd:"" help:"Send messages through the gateway's channels."`
	Pairing  PairingCmd  `cmd:"" help:"Secure DM pairing: list and approve inbound requests."`
	Nodes    NodesCmd    `cmd:"" help:"Node hosts: pairing, status, describe and invoke."`
	Devices  DevicesCmd  `cmd:"" help:"Device pairing and device tokens."`
	Sessions SessionsCmd `cmd:"" help:"List, compact, reset and delete the gateway's sessions."`
	Cron     CronCmd     `cmd:"" help:"Scheduled agent turns and heartbeats."`
	Setup    SetupCmd    `cmd:"" help:"Create the profile's config (with a generated token) and workspace."`
	Version  VersionCmd  `cmd:"" help:"Print the version."`
}

// GatewayCmd groups the gateway subcommands; a bare `openclaw gateway` runs it.
type GatewayCmd struct {
	Run    RunCmd           `cmd:"" default:"withargs" help:"Run the gateway in the foreground (the default)."`
	Call   CallCmd          `cmd:"" help:"Call a gateway method and print the result as JSON."`
	Health HealthCmd        `cmd:"" help:"Fetch the gateway's health."`
	Status GatewayStatusCmd `cmd:"" help:"Probe the gateway: is it reachable, who answers."`
}

// VersionCmd prints the version.
type VersionCmd struct{}

func (VersionCmd) Run() error {
	fmt.Println(version())
	return nil
}

func run(args []string) int {
	var cli CLI
	parser, err := kong.New(&cli,
		kong.Name("openclaw"),
		kong.Description("OpenClaw gateway (Go). `openclaw gateway` runs it; the other commands talk to it."),
		kong.Exit(func(code int) { panic(exitCode(code)) }),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "openclaw: internal error:", err)
		return 2
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
			fmt.Fprintln(os.Stderr, "openclaw: "+oneLine(err.Error()))
			return 2
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
			return 1
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

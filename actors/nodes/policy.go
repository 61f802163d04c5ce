package nodes

import (
	"fmt"
	"slices"
	"strings"

	"openclaw/config"
)

// The command policy: which commands a node of each platform may be sent,
// as the reference gateway (2026.9.6, with its bundled plugins) decides it.
// A node declares commands at connect; those in its platform's pairing
// allowlist become its pending surface; an operator approves them; then
// node.invoke may send an approved command the node still declares and the
// runtime allowlist permits. gateway.nodes.commands.allow adds commands
// (the only way to the dangerous ones), .deny removes them.

// Command families.
var (
	systemRunCommands     = []string{"system.run.prepare", "system.run", "system.which"}
	execApprovalsCommands = []string{"system.execApprovals.get", "system.execApprovals.set"}
	fileCommands          = []string{"fs.listDir", "terminal.upload"}
	browserProxyCommands  = []string{"browser.proxy", "browser.proxy.upload.v1"}
	mcpToolsCallCommand   = "mcp.tools.call.v1"
	agentCLIClaudeCommand = "agent.cli.claude.run.v1"
	systemNotifyCommand   = "system.notify"
	desktopStreamCommand  = "desktop.stream"
	screenCommands        = []string{"screen.snapshot"}
	computerCommands      = []string{"computer.act"}
	cameraCommands        = []string{"camera.list"}
	macCameraCommands     = []string{"camera.ptz.status"}
	locationCommands      = []string{"location.get"}
	deviceCommands        = []string{"device.info", "device.status"}
	androidDeviceCommands = []string{"device.info", "device.status", "device.permissions", "device.health", "device.apps"}
	notificationCommands  = []string{"notifications.list"}
	personalCommands      = []string{"contacts.search", "calendar.events", "reminders.list", "photos.latest",
		"motion.activity", "motion.pedometer"}
	// ollamaCommands are the bundled Ollama plugin's, on by default on
	// desktops (local inference on the node).
	ollamaCommands = []string{"ollama.models", "ollama.chat"}

	systemCommands = concat(systemRunCommands, execApprovalsCommands, fileCommands,
		[]string{systemNotifyCommand}, browserProxyCommands, []string{mcpToolsCallCommand, agentCLIClaudeCommand})

	// desktopHostCommands run things on a desktop host: not allowed by
	// default at invoke time unless the node's approved surface has them.
	desktopHostCommands = concat(systemRunCommands, execApprovalsCommands, fileCommands, browserProxyCommands,
		[]string{mcpToolsCallCommand, agentCLIClaudeCommand}, screenCommands, []string{desktopStreamCommand})

	// dangerousCommands capture or send personal data; only
	// gateway.nodes.commands.allow lets them through.
	dangerousCommands = []string{"camera.snap", "camera.clip", "camera.ptz.control", "screen.record",
		"contacts.add", "calendar.add", "reminders.add", "sms.send", "sms.search", "health.summary"}

	// privateCommands are the gateway's own controls of worker hosts; no
	// caller may send them.
	privateCommands = []string{"worker.bundle.install.v1", "worker.launch.v1", "worker.status.v1", "worker.cancel.v1",
		"worker.environment.stop.v1", "worker.workspace.exec.v1", "worker.workspace.prepare.v1",
		"worker.workspace.retain.v1", "worker.desktop.stream.v1", "worker.desktop.launch.v1",
		"worker.desktop.computer.v1", "worker.portal.stream.v1"}

	// adminOnlyCommands cross a host boundary: node.invoke of one needs
	// operator.admin.
	adminOnlyCommands = concat(browserProxyCommands, fileCommands)

	// adminApproveCommands make approving a surface that has them need
	// operator.admin.
	adminApproveCommands = concat(adminOnlyCommands, systemRunCommands, execApprovalsCommands)
)

// platformDefaults are the commands each platform gets without
// configuration.
var platformDefaults = map[string][]string{
	"ios":     concat(cameraCommands, locationCommands, deviceCommands, personalCommands, []string{systemNotifyCommand}),
	"watchos": concat(deviceCommands, []string{systemNotifyCommand}),
	"android": concat(cameraCommands, locationCommands, notificationCommands, []string{"notifications.actions", systemNotifyCommand},
		androidDeviceCommands, personalCommands, []string{"callLog.search", "mobile.ui.observe", "mobile.ui.act"}),
	"macos": concat(cameraCommands, macCameraCommands, locationCommands, deviceCommands, []string{"device.apps"},
		personalCommands, systemCommands, screenCommands, []string{desktopStreamCommand}, computerCommands, ollamaCommands),
	"linux": concat(systemCommands, screenCommands, []string{desktopStreamCommand}, computerCommands, ollamaCommands,
		cameraCommands, locationCommands),
	"windows": concat(cameraCommands, locationCommands, deviceCommands, systemCommands, screenCommands,
		[]string{desktopStreamCommand}, computerCommands, ollamaCommands),
	"unknown": concat(cameraCommands, locationCommands, []string{systemNotifyCommand}),
}

// platformID is the policy's name for a node's platform: the platform
// string when it is one of the known ones and the device family agrees,
// else what the device family says, else "unknown".
func platformID(platform, family string) string {
	p, f := strings.ToLower(strings.TrimSpace(platform)), strings.ToLower(strings.TrimSpace(family))
	switch p {
	case "ios":
		return matchOr(p, f == "" || f == "iphone" || f == "ipad" || f == "ios")
	case "watchos":
		return matchOr(p, f == "apple watch" || f == "watchos")
	case "android":
		return matchOr(p, f == "" || f == "android")
	case "macos":
		return matchOr(p, f == "mac")
	case "windows", "linux":
		return matchOr(p, f == p)
	case "":
		for _, r := range []struct{ id, token string }{{"ios", "iphone"}, {"ios", "ipad"}, {"ios", "ios"},
			{"watchos", "watch"}, {"android", "android"}, {"macos", "mac"}, {"windows", "windows"}, {"linux", "linux"}} {
			if strings.Contains(f, r.token) {
				return r.id
			}
		}
	}
	return "unknown"
}

func matchOr(id string, ok bool) string {
	if ok {
		return id
	}
	return "unknown"
}

func isDesktop(platform string) bool {
	return platform == "macos" || platform == "linux" || platform == "windows"
}

// pairingAllowlist is what a node of this platform may have approved: the
// platform's defaults with the desktop-host and the dangerous commands,
// plus gateway.nodes.commands.allow, minus .deny.
func pairingAllowlist(cfg *config.Config, platform string) map[string]bool {
	allow := setOf(platformDefaults[platform])
	for _, c := range dangerousCommands {
		allow[c] = true
	}
	nc := nodeCommands(cfg)
	for _, c := range nc.Allow {
		allow[strings.TrimSpace(c)] = true
	}
	for _, c := range nc.Deny {
		if !slices.Contains(dangerousCommands, strings.TrimSpace(c)) {
			delete(allow, strings.TrimSpace(c))
		}
	}
	for _, c := range privateCommands {
		delete(allow, c)
	}
	return allow
}

// runtimeAllowlist is what node.invoke may send a node with this approved
// surface: the platform's defaults (on desktops, the host commands only
// when approved), plus .allow, minus the dangerous ones .allow does not
// name, minus .deny.
func runtimeAllowlist(cfg *config.Config, platform string, approved []string) map[string]bool {
	allow := map[string]bool{}
	for _, c := range platformDefaults[platform] {
		if !isDesktop(platform) || !slices.Contains(desktopHostCommands, c) {
			allow[c] = true
		}
	}
	if isDesktop(platform) {
		for _, c := range approved {
			if slices.Contains(desktopHostCommands, c) {
				allow[c] = true
			}
		}
	}
	nc := nodeCommands(cfg)
	extra := map[string]bool{}
	for _, c := range nc.Allow {
		extra[strings.TrimSpace(c)] = true
	}
	for _, c := range dangerousCommands {
		if !extra[c] {
			delete(allow, c)
		}
	}
	for c := range extra {
		allow[c] = true
	}
	for _, c := range nc.Deny {
		delete(allow, strings.TrimSpace(c))
	}
	for _, c := range privateCommands {
		delete(allow, c)
	}
	return allow
}

// declaredCommands normalizes what a node declared: trimmed, without
// repeats and without the private controls, limited to the allowlist.
func declaredCommands(commands []string, allow map[string]bool) []string {
	out := []string{}
	for _, c := range commands {
		c = strings.TrimSpace(c)
		if c == "" || slices.Contains(out, c) || slices.Contains(privateCommands, c) || !allow[c] {
			continue
		}
		out = append(out, c)
	}
	return out
}

// requiredApproveScopes are the operator scopes approving a surface with
// these commands needs.
func requiredApproveScopes(commands []string) []string {
	for _, c := range commands {
		if slices.Contains(adminApproveCommands, c) {
			return []string{"operator.pairing", "operator.admin"}
		}
	}
	if len(commands) > 0 {
		return []string{"operator.pairing", "operator.write"}
	}
	return []string{"operator.pairing"}
}

// Why a command is refused (the reference's reasons, in details.reason).
const (
	reasonNotAllowlisted = "command not allowlisted"
	reasonNotDeclared    = "command not declared by node"
	reasonNoCommands     = "node did not declare commands"
)

// refusal says why node.invoke may not send command to a node whose
// effective commands are these ("" when it may).
func refusal(command string, effective []string, allow map[string]bool) string {
	switch {
	case !allow[command]:
		return reasonNotAllowlisted
	case len(effective) == 0:
		return reasonNoCommands
	case !slices.Contains(effective, command):
		return reasonNotDeclared
	}
	return ""
}

// refusalHint is the message of a refused command: what to do about it. A
// command waiting in the node's pending surface gets the approval hint
// whatever the reason (the reference gives it only when the node has no
// approved command at all, and otherwise words a pending desktop command
// as "not in the allowlist", which sends people to the wrong setting).
func refusalHint(reason, command, platform string, pending *pendingRequest, cfg *config.Config) string {
	if pending != nil && slices.Contains(pending.Commands, command) {
		return "node command not allowed: the node's declared command surface is pending approval; run " +
			"`openclaw nodes pending`, then `openclaw nodes approve " + pending.RequestID + "`"
	}
	switch reason {
	case reasonNotDeclared:
		return fmt.Sprintf("node command not allowed: the node (platform: %s) does not support %q", platform, command)
	case reasonNotAllowlisted:
		switch {
		case slices.Contains(nodeCommands(cfg).Deny, command):
			return fmt.Sprintf("node command not allowed: %q is blocked by gateway.nodes.commands.deny", command)
		case slices.Contains(dangerousCommands, command):
			return fmt.Sprintf("node command not allowed: %q requires explicit gateway.nodes.commands.allow opt-in", command)
		}
		return fmt.Sprintf("node command not allowed: %q is not in the allowlist for platform %q", command, platform)
	case reasonNoCommands:
		return "node command not allowed: the node did not declare any supported commands"
	}
	return "node command not allowed: " + reason
}

func nodeCommands(cfg *config.Config) config.NodeCommands {
	if cfg == nil {
		return config.NodeCommands{}
	}
	return cfg.Gateway.Nodes.Commands
}

func setOf(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		for _, s := range l {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

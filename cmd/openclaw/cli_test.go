package main

// The command line itself, through the real binary: what a mistyped command
// says, help, --version, completion, exit codes, and client commands next to
// a broken config file.

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cli runs the binary with a scratch HOME and state directory.
func cli(t *testing.T, args ...string) cmdResult {
	t.Helper()
	env := cleanEnv("HOME="+t.TempDir(), "OPENCLAW_STATE_DIR="+t.TempDir())
	return runCmd(t, 30*time.Second, env, "", testBinary, args...)
}

// TestCLIGuidance: a wrong command line exits 2 with one line on stderr: the
// error, then what exists instead; help and --version exit 0.
func TestCLIGuidance(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     []string // each must appear
		stderr     []string
		firstLine  string // stderr is one line that starts with this
		notStdout  []string
		oneLineOut bool // stdout is exactly one line
	}{
		{name: "a gateway command that does not exist", args: []string{"gateway", "frobnicate"}, code: exitUsage,
			firstLine: "openclaw: unexpected argument frobnicate", stderr: []string{"commands of `openclaw gateway`: run, call, health, status, install, uninstall, start, stop, restart", "openclaw gateway --help"}},
		{name: "a flag that does not exist", args: []string{"gateway", "status", "--deeep"}, code: exitUsage,
			firstLine: "openclaw: unknown flag --deeep", stderr: []string{"flags of `openclaw gateway status`: ", "--no-probe", "--json", "--deep", "openclaw gateway status --help"}},
		{name: "a run flag misspelt", args: []string{"gateway", "--forse"}, code: exitUsage,
			firstLine: "openclaw: unknown flag --forse", stderr: []string{"commands of `openclaw gateway`", "flags of `openclaw gateway run`: ", "--force", "--port"}},
		{name: "a top-level typo", args: []string{"gatway"}, code: exitUsage,
			firstLine: `openclaw: unexpected argument gatway, did you mean "gateway"?`, stderr: []string{"commands of `openclaw`: gateway, health, status, logs, agent, message, pairing, nodes, devices, sessions, cron, doctor, cluster, setup, completion, version"}},
		{name: "a group without its command", args: []string{"pairing"}, code: exitUsage,
			firstLine: "openclaw: expected one of", stderr: []string{"commands of `openclaw pairing`: list, approve"}},
		{name: "gateway --help shows the run flags", args: []string{"gateway", "--help"}, code: 0,
			stdout: []string{"gateway call <method>", "--port=INT", "--force", "--verbose", "--allow-unconfigured", "--bind"}},
		{name: "--version", args: []string{"--version"}, code: 0, stdout: []string{version()}, oneLineOut: true},
		{name: "version command", args: []string{"version"}, code: 0, stdout: []string{version()}, oneLineOut: true},
		{name: "completion needs a known shell", args: []string{"completion", "tcsh"}, code: exitUsage,
			firstLine: "openclaw: <shell> must be one of \"bash\",\"zsh\",\"fish\" but got \"tcsh\"", stderr: []string{"openclaw completion --help"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, tt.args...)
			defer logOnFailure(t, r)
			if r.Code != tt.code {
				t.Errorf("exit %d, want %d", r.Code, tt.code)
			}
			if tt.firstLine != "" {
				line := requireOneLine(t, "stderr", r.Stderr)
				if !strings.HasPrefix(line, tt.firstLine) {
					t.Errorf("stderr %q, want it to start with %q", line, tt.firstLine)
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(r.Stderr, w) {
					t.Errorf("stderr lacks %q", w)
				}
			}
			for _, w := range tt.stdout {
				if !strings.Contains(r.Stdout, w) {
					t.Errorf("stdout lacks %q", w)
				}
			}
			if tt.oneLineOut {
				requireOneLine(t, "stdout", r.Stdout)
			}
		})
	}
}

// TestCompletion: the completion answers come from the command tree, and the
// bash script, sourced in a real bash, completes through the binary.
func TestCompletion(t *testing.T) {
	tests := []struct {
		words []string
		want  []string
	}{
		{[]string{""}, []string{"gateway", "health", "status", "logs", "agent", "message", "pairing", "nodes", "devices", "sessions", "cron", "doctor", "cluster", "setup", "completion", "version"}},
		{[]string{"ga"}, []string{"gateway"}},
		{[]string{"gateway", ""}, []string{"run", "call", "health", "status", "install", "uninstall", "start", "stop", "restart"}},
		{[]string{"gateway", "--f"}, []string{"--force"}},
		{[]string{"gateway", "status", "--"}, []string{"--dev", "--profile", "--version", "--url", "--token", "--password", "--timeout", "--system", "--json", "--deep", "--no-probe", "--help"}},
		{[]string{"--dev", "pairing", "a"}, []string{"approve"}},
		{[]string{"completion", ""}, []string{"bash", "zsh", "fish"}},
		{[]string{"message", "send", "--channel", "t"}, nil}, // a free value: nothing to offer
		{[]string{"nonsense", ""}, []string{"gateway", "health", "status", "logs", "agent", "message", "pairing", "nodes", "devices", "sessions", "cron", "doctor", "cluster", "setup", "completion", "version"}},
	}
	for _, tt := range tests {
		r := cli(t, append([]string{completeCommand}, tt.words...)...)
		got := strings.Fields(r.Stdout)
		if r.Code != 0 || strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("complete %q: exit %d, %q; want %q", tt.words, r.Code, got, tt.want)
		}
	}

	for _, shell := range []string{"bash", "zsh", "fish"} {
		r := cli(t, "completion", shell)
		if r.Code != 0 || !strings.Contains(r.Stdout, "openclaw "+completeCommand) {
			t.Errorf("completion %s:\n%s", shell, r)
		}
	}

	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("bash is needed to check the bash completion: %v", err)
	}
	script := `source <(openclaw completion bash)
COMP_WORDS=(openclaw gateway sta); COMP_CWORD=2; _openclaw; echo "${COMPREPLY[*]}"
COMP_WORDS=(openclaw gateway --p); COMP_CWORD=2; _openclaw; echo "${COMPREPLY[*]}"`
	env := cleanEnv("HOME="+t.TempDir(), "PATH="+filepath.Dir(testBinary)+string(os.PathListSeparator)+os.Getenv("PATH"))
	r := runCmd(t, 30*time.Second, env, "", bash, "-c", script)
	if r.Code != 0 || r.Stdout != "status start\n--profile --port --pprof\n" {
		t.Errorf("bash completion:\n%s", r)
	}
}

// TestClientCommandsWithBrokenConfig: a config file that does not load (the
// gateway may be running on its previous good one) costs client commands a
// one-line warning, not their run, when they have the URL and token.
func TestClientCommandsWithBrokenConfig(t *testing.T) {
	g := startGateway(t, gwOptions{Token: testToken})
	state := t.TempDir()
	writeFile(t, filepath.Join(state, "openclaw.json"), "{gateway: {\n colour: 'blue'}}\n")
	env := cleanEnv("HOME="+t.TempDir(), "OPENCLAW_STATE_DIR="+state)
	for _, args := range [][]string{
		{"health", "--url", g.URL, "--token", testToken},
		{"status", "--url", g.URL, "--token", testToken},
		{"gateway", "call", "health", "--url", g.URL, "--token", testToken},
		{"gateway", "status", "--url", g.URL, "--token", testToken},
	} {
		r := runCmd(t, 30*time.Second, env, "", testBinary, args...)
		line := requireOneLine(t, "stderr", r.Stderr)
		if r.Code != 0 || !strings.HasPrefix(line, "openclaw: warning: ignoring the config file: ") || !strings.Contains(line, "openclaw.json:2: unknown config key gateway.colour") {
			t.Errorf("%s", r)
		}
	}
	// The environment is enough too.
	env = append(env, "OPENCLAW_GATEWAY_URL="+g.URL, "OPENCLAW_GATEWAY_TOKEN="+testToken)
	if r := runCmd(t, 30*time.Second, env, "", testBinary, "health"); r.Code != 0 {
		t.Errorf("%s", r)
	}
}

// TestStatusOutput: `openclaw status` prints text like health; --json the
// gateway's payload.
func TestStatusOutput(t *testing.T) {
	g := startGateway(t, gwOptions{Token: testToken})
	env := cleanEnv("HOME="+t.TempDir(), "OPENCLAW_STATE_DIR="+t.TempDir())
	r := runCmd(t, 30*time.Second, env, "", testBinary, "status", "--url", g.URL, "--token", testToken)
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "Gateway status: ok (version "+version()) || !strings.Contains(r.Stdout, "\nConnections: ") ||
		strings.Contains(r.Stdout, "{") {
		t.Errorf("status:\n%s", r)
	}
	r = runCmd(t, 30*time.Second, env, "", testBinary, "status", "--json", "--url", g.URL, "--token", testToken)
	if v, _ := decodeJSON(t, r.Stdout).(map[string]any); r.Code != 0 || v["version"] != version() || v["pid"] == nil {
		t.Errorf("status --json:\n%s", r)
	}
}

// The command line's share of a start: kong builds every command's flags
// before it parses `gateway`.
func BenchmarkNewParser(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var cli CLI
		if _, err := newParser(&cli, io.Discard, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

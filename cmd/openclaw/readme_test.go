package main

// TestREADME runs the README's commands, in order, as a new user would, so
// that the README cannot drift from what the binary does.
//
// Every line of every ```bash block of README.md is a command, and each has
// a step below that runs it with bash, as written, and checks what the text
// around it promises. A README command without a step, or a step whose
// command left the README, fails the test. Where a README shows something
// only the reader can supply, the step substitutes it and says so: a free
// port for 18789 (other gateways may run on this machine), the fake model
// provider's URL for Ollama's, the fake Bot API's token and address for a
// real bot's, the pairing code the bot actually sent. HOME is a scratch
// directory, so ~/.openclaw is the test's own.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/titanous/json5"

	"openclaw/actors/gateway/gatewaytest"
	"openclaw/channels/telegram/fakebotapi"
	"openclaw/config"
	"openclaw/transport/client"
	"openclaw/transport/provider/fakeprovider"
)

// readmeLine is one command of a bash block.
type readmeLine struct {
	cmd  string // without its trailing comment
	line int    // in README.md
}

// readmeStep runs one README command.
type readmeStep func(t *testing.T, e *readmeEnv, cmd string)

// readmeSteps are keyed by the command exactly as the README writes it.
var readmeSteps = map[string]readmeStep{
	// The two commands.
	"go tool openclaw gateway --allow-unconfigured": stepFirstGateway,
	"go tool task test": func(t *testing.T, e *readmeEnv, cmd string) {
		t.Log("the command running this suite (.ci/run runs it on a fresh clone)")
	},
	"go install ./cmd/openclaw": func(t *testing.T, e *readmeEnv, cmd string) {
		e.mustRun(t, 5*time.Minute, cmd)
		if _, err := os.Stat(filepath.Join(e.gobin, "openclaw")); err != nil {
			t.Fatalf("go install put no openclaw in GOBIN: %v", err)
		}
	},
	"openclaw gateway call health": func(t *testing.T, e *readmeEnv, cmd string) {
		// No --token: the gateway's token file.
		if v := decodeJSON(t, e.mustRun(t, time.Minute, cmd).Stdout); v.(map[string]any)["ok"] != true {
			t.Fatalf("health: %v", v)
		}
	},
	"openclaw gateway call system-presence": func(t *testing.T, e *readmeEnv, cmd string) {
		if _, ok := decodeJSON(t, e.mustRun(t, time.Minute, cmd).Stdout).([]any); !ok {
			t.Fatal("system-presence is not a list")
		}
	},

	// Your first agent turn.
	`openclaw agent --message "hi"`: func(t *testing.T, e *readmeEnv, cmd string) {
		e.configureProvider(t)
		if r := e.mustRun(t, time.Minute, cmd); r.Stdout != readmeReply+"\n" {
			t.Fatalf("the reply printed is %q, want %q", r.Stdout, readmeReply)
		}
	},
	`openclaw agent --message "hi" --json`: func(t *testing.T, e *readmeEnv, cmd string) {
		v := decodeJSON(t, e.mustRun(t, time.Minute, cmd).Stdout)
		if s, _ := jsonPath(v, "status"); s != "ok" {
			t.Fatalf("agent --json: %v", v)
		}
	},
	`openclaw gateway call chat.history --params '{"sessionKey":"agent:main:main"}'`: func(t *testing.T, e *readmeEnv, cmd string) {
		msgs, _ := jsonPath(decodeJSON(t, e.mustRun(t, time.Minute, cmd).Stdout), "messages")
		if l, _ := msgs.([]any); len(l) != 4 {
			t.Fatalf("chat.history holds %v, want the two turns", msgs)
		}
	},

	// Connect Telegram.
	"openclaw health --json": func(t *testing.T, e *readmeEnv, cmd string) {
		e.configureTelegram(t)
		v := decodeJSON(t, e.mustRun(t, time.Minute, cmd).Stdout)
		tg, _ := jsonPath(v, "channels", "telegram")
		if linked, _ := jsonPath(tg, "linked"); linked != true {
			t.Fatalf("health --json shows channels.telegram = %v, want linked", tg)
		}
	},
	"openclaw pairing list telegram": func(t *testing.T, e *readmeEnv, cmd string) {
		// "Message your bot": a stranger gets a pairing code.
		e.api.Push(tgToken, e.api.TextUpdate(tgToken, readmeChat, readmeChat, "hello bot"))
		if !e.api.WaitFor(20*time.Second, func() bool { return len(e.api.Messages(tgToken, readmeChat)) == 1 }) {
			t.Fatal("the bot sent no pairing code")
		}
		e.code = regexp.MustCompile(`(?m)^[A-Z0-9]{8}$`).FindString(e.api.Messages(tgToken, readmeChat)[0].Text)
		r := e.mustRun(t, time.Minute, cmd)
		if e.code == "" || !strings.Contains(r.Stdout, e.code) || !strings.Contains(r.Stdout, strconv.Itoa(readmeChat)) {
			t.Fatalf("pairing list does not show code %q of %d:\n%s", e.code, readmeChat, r.Stdout)
		}
	},
	"openclaw pairing approve telegram ABCD2345": func(t *testing.T, e *readmeEnv, cmd string) {
		r := e.mustRun(t, time.Minute, strings.Replace(cmd, "ABCD2345", e.code, 1))
		if !strings.Contains(r.Stdout, "Approved telegram sender "+strconv.Itoa(readmeChat)) {
			t.Fatalf("pairing approve:\n%s", r)
		}
		// "From then on each message is an agent turn".
		e.api.Push(tgToken, e.api.TextUpdate(tgToken, readmeChat, readmeChat, "and now?"))
		if !e.api.WaitFor(30*time.Second, func() bool {
			ms := e.api.Messages(tgToken, readmeChat)
			return len(ms) == 2 && ms[1].Text == readmeReply
		}) {
			t.Fatalf("the approved sender got %q", texts(e.api.Messages(tgToken, readmeChat)))
		}
	},
	`openclaw message send --channel telegram --target 12345678 --message "hi"`: func(t *testing.T, e *readmeEnv, cmd string) {
		r := e.mustRun(t, time.Minute, cmd)
		if ms := e.api.Messages(tgToken, 12345678); len(ms) != 1 || ms[0].Text != "hi" || !strings.Contains(r.Stdout, "Sent via gateway (telegram)") {
			t.Fatalf("chat 12345678 shows %q:\n%s", texts(ms), r)
		}
	},

	// Running it for real: a fresh machine, where `openclaw setup` comes
	// first. The first gateway stops here, with SIGTERM to its `go tool`
	// process, as a supervisor or an IDE would stop it.
	"openclaw setup": func(t *testing.T, e *readmeEnv, cmd string) {
		e.stopFirstGateway(t)
		e.freshMachine(t)
		e.mustRun(t, time.Minute, cmd)
		cfg, err := config.Load(filepath.Join(e.home, ".openclaw", "openclaw.json"))
		if err != nil || cfg == nil || cfg.Gateway.Auth.Token == nil {
			t.Fatalf("setup wrote %+v, %v", cfg, err)
		}
		e.setupToken = *cfg.Gateway.Auth.Token
	},
	"openclaw gateway --port 18789": func(t *testing.T, e *readmeEnv, cmd string) {
		g := e.startGateway(t, strings.Replace(cmd, "18789", strconv.Itoa(e.port), 1))
		mustDial(t, g, e.setupToken) // the token setup wrote
		e.stop(t, g)
	},
	"openclaw gateway --allow-unconfigured": func(t *testing.T, e *readmeEnv, cmd string) {
		e.stop(t, e.startGateway(t, cmd))
	},
	"openclaw gateway --verbose": func(t *testing.T, e *readmeEnv, cmd string) {
		g := e.startGateway(t, cmd)
		mustDial(t, g, e.setupToken)
		if !waitFor(func() bool { return strings.Contains(g.Stdout.String(), "level=DEBUG") }, 10*time.Second) {
			t.Fatalf("--verbose wrote no debug record:\n%s", g.Stdout)
		}
		e.verbose = g // left running for --force
	},
	"openclaw gateway --force": func(t *testing.T, e *readmeEnv, cmd string) {
		old := e.verbose
		g := e.startGateway(t, cmd)
		if code := old.wait(t, 15*time.Second); code != 0 {
			t.Errorf("the gateway --force stopped exited %d, want 0 (a SIGTERM)", code)
		}
		if !strings.Contains(g.Stdout.String(), strconv.Itoa(old.cmd.Process.Pid)) {
			t.Errorf("--force did not log the PID it stopped (%d):\n%s", old.cmd.Process.Pid, g.Stdout)
		}
		mustDial(t, g, e.setupToken)
		e.stop(t, g)
	},

	// Run it as a service. systemd does not run here: systemctl and
	// loginctl are the recording fakes (internal/service/testdata), and
	// the step plays systemd, running the unit's ExecStart with its
	// Environment= as systemd would.
	"openclaw gateway install": func(t *testing.T, e *readmeEnv, cmd string) {
		r := e.mustRun(t, time.Minute, cmd)
		if !strings.Contains(e.ctlCalls(t), "systemctl --user enable --now openclaw-gateway.service") {
			t.Fatalf("install did not enable the unit (calls %q):\n%s", e.ctlCalls(t), r)
		}
		e.startUnit(t)
	},
	"openclaw gateway status": func(t *testing.T, e *readmeEnv, cmd string) {
		r := e.mustRun(t, time.Minute, cmd)
		for _, want := range []string{fmt.Sprintf("openclaw-gateway.service: running (pid %d", e.unit.cmd.Process.Pid), "RPC: reachable"} {
			if !strings.Contains(r.Stdout, want) {
				t.Fatalf("status does not say %q:\n%s", want, r)
			}
		}
	},
	"openclaw logs --limit 20": func(t *testing.T, e *readmeEnv, cmd string) {
		if r := e.mustRun(t, time.Minute, cmd); !strings.Contains(r.Stdout, "gateway listening") {
			t.Fatalf("logs:\n%s", r)
		}
	},
	"openclaw gateway restart": func(t *testing.T, e *readmeEnv, cmd string) {
		e.mustRun(t, time.Minute, cmd)
		if !strings.Contains(e.ctlCalls(t), "systemctl --user restart openclaw-gateway.service") {
			t.Fatalf("restart called %q", e.ctlCalls(t))
		}
		e.stop(t, e.unit)
		e.startUnit(t)
	},
	"openclaw doctor": func(t *testing.T, e *readmeEnv, cmd string) {
		r := e.mustRun(t, time.Minute, cmd)
		if !strings.Contains(r.Stdout, "is what install writes") || !strings.Contains(r.Stdout, "clock agrees") {
			t.Fatalf("doctor on the installed service:\n%s", r)
		}
		e.stop(t, e.unit)
	},
	"source <(openclaw completion bash)": func(t *testing.T, e *readmeEnv, cmd string) {
		r := e.mustRun(t, time.Minute, cmd+"; complete -p openclaw")
		if !strings.Contains(r.Stdout, "-F _openclaw openclaw") {
			t.Fatalf("bash has no completion for openclaw after %q:\n%s", cmd, r)
		}
	},
	"curl -s http://127.0.0.1:18789/metrics | grep '^openclaw_'": func(t *testing.T, e *readmeEnv, cmd string) {
		// From the machine itself, no token: the connection counts are there.
		g := e.startGateway(t, "openclaw gateway --allow-unconfigured")
		defer e.stop(t, g)
		r := e.mustRun(t, time.Minute, strings.Replace(cmd, "18789", strconv.Itoa(e.port), 1))
		if !strings.Contains(r.Stdout, "openclaw_connections{") {
			t.Fatalf("no openclaw_connections in /metrics:\n%s", r)
		}
	},
}

// The fake model provider's answer, and the Telegram user of the README's
// pairing steps.
const (
	readmeReply = "Hello from the model."
	readmeChat  = 4242
)

func init() { maps.Copy(readmeSteps, readmeNodeSteps) }

func TestREADME(t *testing.T) {
	lines := readmeCommands(t)
	seen := map[string]bool{}
	for _, l := range lines {
		if readmeSteps[l.cmd] == nil {
			t.Errorf("README.md:%d: %q has no step in readmeSteps (readme_test.go): add one that runs it and checks what the README says", l.line, l.cmd)
		}
		seen[l.cmd] = true
	}
	for _, cmd := range slices.Sorted(maps.Keys(readmeSteps)) {
		if !seen[cmd] {
			t.Errorf("readmeSteps has %q, which README.md no longer shows", cmd)
		}
	}
	if t.Failed() {
		return
	}
	e := newReadmeEnv(t)
	for _, l := range lines {
		t.Logf("README.md:%d: $ %s", l.line, l.cmd)
		readmeSteps[l.cmd](t, e, l.cmd)
		if t.Failed() {
			t.Fatalf("stopped at README.md:%d: %s", l.line, l.cmd)
		}
	}
}

// readmeCommands returns the commands of README.md's bash blocks, in order,
// without trailing comments.
func readmeCommands(t *testing.T) []readmeLine {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []readmeLine
	in := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case !in && line == "```bash":
			in = true
		case in && line == "```":
			in = false
		case in:
			if cmd := stripComment(line); cmd != "" {
				out = append(out, readmeLine{cmd, n})
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("README.md has no bash block")
	}
	return out
}

// stripComment cuts a shell comment: a # outside quotes that starts a word.
func stripComment(line string) string {
	var quote rune
	for i, r := range line {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return strings.TrimSpace(line[:i])
		}
	}
	return strings.TrimSpace(line)
}

// readmeJSON5 returns the README's json5 block that contains marker.
func readmeJSON5(t *testing.T, marker string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, block := range regexp.MustCompile("(?s)```json5\n(.*?)\\s*```").FindAllStringSubmatch(string(data), -1) {
		if strings.Contains(block[1], marker) {
			return block[1]
		}
	}
	t.Fatalf("README.md has no json5 block with %q", marker)
	return ""
}

// TestREADMEConfigBlocks: every json5 block of the README that is a whole
// config (not a fragment to paste into one) loads.
func TestREADMEConfigBlocks(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, block := range regexp.MustCompile("(?s)```json5\n(.*?)\\s*```").FindAllStringSubmatch(string(data), -1) {
		body := dedent(block[1])
		if !strings.HasPrefix(body, "{") {
			continue
		}
		n++
		if _, err := config.Parse("README.md", []byte(body)); err != nil {
			t.Errorf("a json5 block of the README does not load: %v\n%s", err, body)
		}
	}
	if n < 3 {
		t.Fatalf("found %d whole-config json5 blocks, want at least 3", n)
	}
}

func dedent(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, "   ")
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// readmeEnv is the new user's machine.
type readmeEnv struct {
	repo, home, gobin string
	port              int
	goEnv             []string // GOCACHE, GOMODCACHE, GOPATH: the warm caches, whatever HOME is
	fp                *fakeprovider.Server
	api               *fakebotapi.Server

	first       *gatewayProc // the gateway of `go tool openclaw gateway`
	verbose     *gatewayProc
	code        string         // the pairing code the bot sent
	node        *client.Client // the node host of the README's nodes block
	nodeID      string
	nodeRequest string // its commands' pairing request
	setupToken  string
	configured  map[string]any // what the README had the reader write into openclaw.json

	fakeBin, ctlLog string       // fake systemctl/loginctl first on PATH, and their calls
	unit            *gatewayProc // the gateway "systemd" runs from the installed unit
}

func newReadmeEnv(t *testing.T) *readmeEnv {
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	e := &readmeEnv{repo: repo, gobin: filepath.Join(t.TempDir(), "bin"), goEnv: warmGoEnv(t)}
	e.fakeBin, e.ctlLog = t.TempDir(), filepath.Join(t.TempDir(), "ctl-calls")
	for _, n := range []string{"systemctl", "loginctl", "launchctl"} {
		if err := os.Symlink(filepath.Join(repo, "cmd/openclaw/internal/service/testdata/fakectl.sh"), filepath.Join(e.fakeBin, n)); err != nil {
			t.Fatal(err)
		}
	}
	e.fp = fakeprovider.New(t)
	e.fp.SetDefault(fakeprovider.Text(readmeReply, 3))
	e.api = startBotAPI(t)
	e.freshMachine(t)
	return e
}

// warmGoEnv is this process's Go caches and GOPATH as variables, so that a
// go command with a scratch HOME does not start from cold caches.
func warmGoEnv(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	vals := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(vals) != 3 {
		t.Fatalf("go env printed %q", out)
	}
	return []string{"GOCACHE=" + vals[0], "GOMODCACHE=" + vals[1], "GOPATH=" + vals[2]}
}

// freshMachine is a new HOME (nothing in ~/.openclaw) and a new free port.
func (e *readmeEnv) freshMachine(t *testing.T) {
	e.home = t.TempDir()
	e.port = gatewaytest.FreePort(t)
	e.configured = nil
}

// env is the user's environment: their HOME, openclaw on PATH once
// installed, and the port the README's 18789 stands for.
func (e *readmeEnv) env() []string {
	sep := string(os.PathListSeparator)
	env := cleanEnv("HOME="+e.home, "GOBIN="+e.gobin, "PATH="+e.gobin+sep+e.fakeBin+sep+os.Getenv("PATH"),
		"OPENCLAW_GATEWAY_PORT="+strconv.Itoa(e.port), "OPENCLAW_SKIP_CANVAS_HOST=1",
		"XDG_CONFIG_HOME="+filepath.Join(e.home, ".config"), "FAKE_CTL_LOG="+e.ctlLog, "FAKE_CTL_LINGER=yes")
	if e.unit != nil {
		env = append(env, fmt.Sprintf("FAKE_CTL_SHOW=LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=%d\n"+
			"ExecMainStartTimestamp=%s\nExecMainStatus=0\nUnitFileState=enabled", e.unit.cmd.Process.Pid, time.Now().Format(time.UnixDate)))
	}
	return append(env, e.goEnv...)
}

// mustRun runs cmd with bash in the repository and fails unless it exits 0.
func (e *readmeEnv) mustRun(t *testing.T, timeout time.Duration, cmd string) cmdResult {
	t.Helper()
	r := runCmd(t, timeout, e.env(), e.repo, "bash", "-c", cmd)
	if r.Code != 0 {
		t.Fatalf("%s", r)
	}
	return r
}

// startGateway runs a README gateway command in the background (exec'd by
// bash, so the process is the command itself) and waits until it listens.
func (e *readmeEnv) startGateway(t *testing.T, cmd string) *gatewayProc {
	t.Helper()
	g := &gatewayProc{Port: e.port, URL: "ws://127.0.0.1:" + strconv.Itoa(e.port), HTTP: "http://127.0.0.1:" + strconv.Itoa(e.port),
		Stdout: &lockedBuffer{}, Stderr: &lockedBuffer{}, done: make(chan struct{}), Home: e.home}
	g.cmd = exec.Command("bash", "-c", "exec "+cmd)
	g.cmd.Env, g.cmd.Dir = e.env(), e.repo
	g.cmd.Stdout, g.cmd.Stderr = g.Stdout, g.Stderr
	// A group of its own, so that a failed test can kill what `go tool`
	// started too; and Wait does not wait for pipes a leftover holds.
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	g.cmd.WaitDelay = 5 * time.Second
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { g.err = g.cmd.Wait(); close(g.done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL)
		// `go tool task` runs task in a group of its own: the gateway at the
		// end of the chain is found by its lock file (empty once it stopped).
		if pid := lockPID(g.Home); pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		<-g.done
		if t.Failed() {
			t.Logf("$ %s\n--- stdout:\n%s--- stderr:\n%s", cmd, g.Stdout, g.Stderr)
		}
	})
	// The first `go tool openclaw` may compile for a while.
	if err := g.waitListening(5 * time.Minute); err != nil {
		t.Fatalf("%s: %v\n--- stdout:\n%s--- stderr:\n%s", cmd, err, g.Stdout, g.Stderr)
	}
	return g
}

// stop sends SIGTERM and wants exit 0.
func (e *readmeEnv) stop(t *testing.T, g *gatewayProc) {
	t.Helper()
	g.stop(t)
}

// stepFirstGateway: the README's run command prints the generated token once
// and keeps it in ~/.openclaw/gateway.token for the client commands.
func stepFirstGateway(t *testing.T, e *readmeEnv, cmd string) {
	g := e.startGateway(t, cmd)
	if !waitFor(func() bool { return strings.Contains(g.Stdout.String(), "gateway token for this run: ") }, 10*time.Second) {
		t.Fatalf("no token printed:\n%s", g.Stdout)
	}
	token := regexp.MustCompile(`gateway token for this run: ([0-9a-f]+)`).FindStringSubmatch(g.Stdout.String())[1]
	if n := strings.Count(g.Stdout.String()+g.Stderr.String(), token); n != 1 {
		t.Errorf("the token is printed %d times, want once", n)
	}
	if got := readTokenFile(filepath.Join(e.home, ".openclaw")); got != token {
		t.Fatalf("~/.openclaw/gateway.token holds %q, want the printed token", got)
	}
	g.Token = token
	e.first = g
}

// TestTaskRunStopsOnSIGTERM: `go tool task run`, the README's run command
// through the task runner, is four processes deep (go tool, tools/task, task,
// go tool openclaw, the gateway); a SIGTERM to the first, as a supervisor or
// an IDE sends it, stops the gateway cleanly and the whole chain exits 0.
// (The first run builds the task runner, a few minutes on a fresh machine;
// under `go tool task test` it is already built.)
func TestTaskRunStopsOnSIGTERM(t *testing.T) {
	e := &readmeEnv{}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	e.repo, e.gobin, e.goEnv = repo, t.TempDir(), warmGoEnv(t)
	e.freshMachine(t)
	// The first `go tool task` builds the task runner (minutes on a cold
	// build cache under load: more than startGateway's wait for the port,
	// seen at load 22). `go tool task test` has built it before this test
	// runs; a bare `go test` may not have: build it outside the wait.
	e.mustRun(t, 15*time.Minute, "go tool task --version")
	e.first = e.startGateway(t, "go tool task run")
	e.stopFirstGateway(t)
}

// lockPID is the pid in home's ~/.openclaw/gateway.lock, or 0.
func lockPID(home string) int {
	b, _ := os.ReadFile(filepath.Join(home, ".openclaw", "gateway.lock"))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// stopFirstGateway sends SIGTERM to the process the README's run command
// started (`go tool …`), not to the gateway at the end of the chain: the
// gateway must stop too, cleanly.
func (e *readmeEnv) stopFirstGateway(t *testing.T) {
	t.Helper()
	g := e.first
	pid := lockPID(g.Home)
	if pid <= 0 || pid == g.cmd.Process.Pid {
		t.Fatalf("gateway.lock holds pid %d; want the pid of the gateway that `go tool` runs (not %d)", pid, g.cmd.Process.Pid)
	}
	g.signal(t, syscall.SIGTERM)
	if code := g.wait(t, 30*time.Second); code != 0 {
		t.Errorf("`go tool openclaw gateway` exited %d after SIGTERM, want 0", code)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("the gateway (pid %d) still runs after SIGTERM to `go tool`", pid)
	}
	if !strings.Contains(g.Stdout.String(), "signal received; stopping") {
		t.Errorf("the gateway did not stop on the signal:\n%s", g.Stdout)
	}
	if _, err := os.Stat(filepath.Join(g.Home, ".openclaw", tokenFileName)); !os.IsNotExist(err) {
		t.Errorf("the token file outlived the gateway: %v", err)
	}
}

// configureProvider writes the README's provider config, pointed at the
// fake provider, into ~/.openclaw/openclaw.json, and waits until the running
// gateway has applied it (the README: no restart needed).
func (e *readmeEnv) configureProvider(t *testing.T) {
	t.Helper()
	block := readmeJSON5(t, "providers")
	block = strings.Replace(block, "http://127.0.0.1:11434/v1", e.fp.URL, 1)
	e.writeConfig(t, block, "models", "providers", "local")
}

// configureTelegram adds the README's Telegram block (the fake Bot API's
// token, and apiRoot, the README's key for a self-hosted Bot API server,
// pointing at it) and waits for the bot to poll.
func (e *readmeEnv) configureTelegram(t *testing.T) {
	t.Helper()
	block := readmeJSON5(t, "botToken")
	block = strings.Replace(block, `"123456789:AA..."`, strconv.Quote(tgToken)+`, apiRoot: `+strconv.Quote(e.api.URL()), 1)
	e.writeConfig(t, block, "channels", "telegram")
	if !e.api.WaitFor(30*time.Second, func() bool { return len(e.api.Calls(tgToken, "getUpdates")) > 0 }) {
		t.Fatal("the bot never polled")
	}
}

// writeConfig merges a README json5 block into the config file, as the
// reader adds it, and waits until the gateway's config.get shows the key
// path applied.
func (e *readmeEnv) writeConfig(t *testing.T, block string, applied ...string) {
	t.Helper()
	var add map[string]any
	if err := json5.Unmarshal([]byte(dedent(block)), &add); err != nil {
		t.Fatalf("README json5 block: %v\n%s", err, block)
	}
	if e.configured == nil {
		e.configured = map[string]any{}
	}
	mergeInto(e.configured, add)
	body, _ := json.MarshalIndent(e.configured, "", "  ")
	writeFile(t, filepath.Join(e.home, ".openclaw", "openclaw.json"), string(body))
	g := e.first
	g.Token = readTokenFile(filepath.Join(e.home, ".openclaw"))
	cl := dialTest(t, g, "cli")
	defer cl.Close()
	if !waitFor(func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		raw, err := cl.Call(ctx, "config.get", map[string]any{})
		if err != nil {
			return false
		}
		var res any
		if json.Unmarshal(raw, &res) != nil {
			return false
		}
		_, ok := jsonPath(res, append([]string{"config"}, applied...)...)
		return ok
	}, 20*time.Second) {
		t.Fatalf("the running gateway did not pick up the config:\n%s", body)
	}
}

// ctlCalls is what the fake systemctl and loginctl were asked.
func (e *readmeEnv) ctlCalls(t *testing.T) string {
	b, _ := os.ReadFile(e.ctlLog)
	return string(b)
}

// startUnit does what systemd does with the installed unit: runs its
// ExecStart with its Environment= (the paths in a test have no spaces to
// unquote), and waits until the gateway listens.
func (e *readmeEnv) startUnit(t *testing.T) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(e.home, ".config/systemd/user/openclaw-gateway.service"))
	if err != nil {
		t.Fatal(err)
	}
	var argv []string
	env := cleanEnv("HOME="+e.home, "OPENCLAW_SKIP_CANVAS_HOST=1")
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "ExecStart="); ok {
			argv = strings.Fields(v)
		}
		if v, ok := strings.CutPrefix(l, "Environment="); ok {
			env = append(env, v)
		}
	}
	g := &gatewayProc{Port: e.port, URL: "ws://127.0.0.1:" + strconv.Itoa(e.port), Home: e.home,
		Stdout: &lockedBuffer{}, Stderr: &lockedBuffer{}, done: make(chan struct{})}
	g.cmd = exec.Command(argv[0], argv[1:]...)
	g.cmd.Env, g.cmd.Stdout, g.cmd.Stderr = env, g.Stdout, g.Stderr
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { g.err = g.cmd.Wait(); close(g.done) }()
	t.Cleanup(func() {
		_ = g.cmd.Process.Kill()
		<-g.done
	})
	if err := g.waitListening(time.Minute); err != nil {
		t.Fatalf("the unit's gateway: %v\n%s%s", err, g.Stdout, g.Stderr)
	}
	e.unit = g
}

// mergeInto adds src's keys to dst, object by object.
func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if sub, ok := v.(map[string]any); ok {
			if d, ok := dst[k].(map[string]any); ok {
				mergeInto(d, sub)
				continue
			}
		}
		dst[k] = v
	}
}

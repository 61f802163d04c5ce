package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
)

// The compare scenario runs the same scenarios against the reference
// gateway and ours, one gateway at a time, each load scenario on a freshly
// started gateway, every scenario in a child process of this binary (so one
// scenario's client memory never weighs on the next). It writes the raw
// JSON lines to --raw and the table to --out.

// compareStep is one scenario against one gateway.
type compareStep struct {
	key   string   // what the report looks it up by: startup, conns1, conns10, conns19, rpc, fanout, fanout10, fanout19, slow, restart, agent1, agent5, agent10, agent10x, agent19
	gw    string   // "reference" or "ours"
	label string   // e.g. "conns 1000": the same label for both gateways
	args  []string // scenario and its args, without --url/--token/--pid/--json
	load  bool     // needs a running gateway (else the scenario starts its own)
	est   time.Duration
}

// stepRecord is one line of the raw files.
type stepRecord struct {
	Gateway        string          `json:"gateway"`
	Key            string          `json:"key"`
	Step           string          `json:"step"`
	Command        string          `json:"command"`
	Started        string          `json:"started"`
	Seconds        float64         `json:"seconds"`
	GatewayReadyMs float64         `json:"gateway_ready_ms,omitempty"`
	GatewayExit    string          `json:"gateway_exit,omitempty"`
	Exit           int             `json:"exit"`
	Error          string          `json:"error,omitempty"`
	Skipped        string          `json:"skipped,omitempty"`
	Result         json.RawMessage `json:"result,omitempty"`

	m map[string]any
}

type gwSpec struct {
	name    string
	bin     string
	sub     []string
	extra   []string
	version string
	readyTO time.Duration
}

func cmdCompare(ctx context.Context, args []string) (result, *common, error) {
	fs := newFlagSet("compare")
	var cf common
	cf.register(fs)
	ours := fs.String("ours", "bin/openclaw", "our gateway binary")
	ref := fs.String("ref", "", "the reference CLI (.cache/reference/node_modules/.bin/openclaw); Node 24 must be first on PATH")
	out := fs.String("out", "docs/BENCHMARKS.md", "the Markdown report to write")
	raw := fs.String("raw", "docs/bench", "directory for the raw JSON lines")
	budget := fs.Duration("budget", 15*time.Minute, "skip the steps that would not fit in this much time")
	command := fs.String("command", "", "the command to quote in the report (default: this command line)")
	skipRef := fs.Bool("skip-ref", false, "only our gateway")
	quick := fs.Bool("quick", false, "tiny sizes (a smoke test of the whole pipeline)")
	pos, _, err := parseArgs(fs, args)
	if err != nil {
		return nil, &cf, err
	}
	if err := cf.check(); err != nil {
		return nil, &cf, err
	}
	if len(pos) > 0 {
		return nil, &cf, fmt.Errorf("unexpected argument %q", pos[0])
	}
	if *budget <= 0 || *budget > time.Hour {
		return nil, &cf, fmt.Errorf("--budget must be in (0, 1h]")
	}
	if !*skipRef && *ref == "" {
		return nil, &cf, fmt.Errorf("--ref is required (or --skip-ref)")
	}
	self, err := os.Executable()
	if err != nil {
		return nil, &cf, err
	}
	raiseNofile() // the gateways inherit it
	start := time.Now()
	wd := watchdog(*budget + 5*time.Minute)
	defer wd.Stop()
	token := cf.Token
	if token == "" {
		token = "bench-" + strings.ReplaceAll(uuid.NewString(), "-", "")
	}
	cmdline := strings.TrimSpace(*command)
	if cmdline == "" {
		cmdline = "openclaw-bench " + strings.Join(os.Args[1:], " ")
	}

	var gws []gwSpec
	if !*skipRef {
		refBin, err := absBin(*ref)
		if err != nil {
			return nil, &cf, err
		}
		gws = append(gws, gwSpec{name: "reference", bin: refBin, sub: []string{"gateway", "run"},
			extra: []string{"--bind", "loopback"}, version: refVersion(refBin), readyTO: 120 * time.Second})
	}
	oursBin, err := absBin(*ours)
	if err != nil {
		return nil, &cf, err
	}
	// The floor: a bare gws server, this binary's baseline-gateway.
	gws = append(gws, gwSpec{name: "baseline", bin: self, sub: []string{"baseline-gateway"}, version: "bare gws server (openclaw-bench baseline-gateway)",
		readyTO: 10 * time.Second})
	// Ours first: it is quick, and a broken build shows at once.
	gws = append([]gwSpec{{name: "ours", bin: oursBin, sub: []string{"gateway"}, version: oursVersion(oursBin),
		readyTO: 30 * time.Second}}, gws...)

	steps := compareSteps(*quick, !*skipRef)
	m := machineInfo()
	m["date"] = start.UTC().Format(time.RFC3339)
	m["command"] = cmdline
	m["argv"] = "openclaw-bench " + strings.Join(redact(os.Args[1:], token), " ")
	for _, g := range gws {
		m["version_"+g.name] = g.version
	}
	logf("compare: %d steps, budget %s", len(steps), *budget)

	var recs []*stepRecord
	for _, st := range steps {
		var g gwSpec
		for _, x := range gws {
			if x.name == st.gw {
				g = x
			}
		}
		if g.name == "" {
			continue
		}
		rec := &stepRecord{Gateway: st.gw, Key: st.key, Step: st.label, Started: time.Now().UTC().Format(time.RFC3339)}
		recs = append(recs, rec)
		if ctx.Err() != nil {
			rec.Skipped = "interrupted"
			continue
		}
		if left := *budget - time.Since(start); st.est > left {
			rec.Skipped = fmt.Sprintf("over the time budget (needs ~%s, %s left)", st.est.Round(time.Second), left.Round(time.Second))
			logf("compare: skip %s %s: %s", st.gw, st.label, rec.Skipped)
			continue
		}
		logf("compare: === %s: %s", st.gw, st.label)
		runStep(ctx, self, g, st, token, rec)
		if rec.Error != "" {
			logf("compare: %s %s: %s", st.gw, st.label, rec.Error)
		}
	}
	m["total_seconds"] = round(time.Since(start).Seconds(), 1)

	if err := writeRaw(*raw, m, recs); err != nil {
		return nil, &cf, err
	}
	doc := renderDoc(m, recs, !*skipRef) + keptTail(*out)
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return nil, &cf, err
	}
	if err := os.WriteFile(*out, []byte(doc), 0o644); err != nil {
		return nil, &cf, err
	}
	logf("compare: wrote %s and %s/*.json in %s", *out, *raw, time.Since(start).Round(time.Second))

	var r result
	r.add("scenario", "compare")
	r.add("out", *out)
	r.add("raw", *raw)
	failed, skipped := 0, 0
	for _, rec := range recs {
		if rec.Skipped != "" {
			skipped++
		} else if rec.Error != "" {
			failed++
		}
	}
	r.add("steps", len(recs))
	r.add("failed", failed)
	r.add("skipped", skipped)
	r.add("seconds", round(time.Since(start).Seconds(), 1))
	if ctx.Err() != nil {
		return r, &cf, fmt.Errorf("interrupted")
	}
	return r, &cf, nil
}

func compareSteps(quick, withRef bool) []compareStep {
	type sz struct {
		c1, c10, c19, rpcC, rpcS, fan, fanR, fan10, fan19, slow, slowK, restart, restartRuns int
		bigR, bigPad, bigK                                                                   int
		hold                                                                                 string
		oursRuns, refRuns                                                                    int
		// agent fan-out: readers, concurrent runs, pieces, the gap between them, turns
		ag1, ag5, ag10, ag19, agK, agDeltas int
		agGap                               string
		agTurns                             int
	}
	s := sz{1000, 10000, 19500, 100, 10, 1000, 20, 10000, 19500, 100, 10, 200, 5, 10, maxPad, 100, "5", 5, 1,
		1000, 5000, 10000, 19500, 10, 20, "50ms", 3}
	if quick {
		s = sz{20, 40, 60, 4, 1, 10, 3, 20, 30, 4, 2, 5, 2, 3, 10000, 2, "0.3", 2, 1,
			6, 8, 10, 12, 2, 3, "10ms", 1}
	}
	it := strconv.Itoa
	var quickArgs, quickSlow, quickRestart []string
	settle := "5s" // idle RSS is read this long after the first hello-ok
	if quick {
		quickArgs = []string{"--settle", "100ms"}
		quickSlow = []string{"--stuck-hold", "100ms"}
		quickRestart = []string{"--settle", "100ms"}
	}
	conns := func(n int) []string { return []string{"conns", it(n), "--hold", s.hold} }
	var steps []compareStep
	add := func(key, gw, label string, load bool, est time.Duration, args ...string) {
		steps = append(steps, compareStep{key: key, gw: gw, label: label, args: args, load: load, est: est})
	}
	rpc := []string{"rpc", it(s.rpcC), it(s.rpcS)}
	fan := []string{"fanout", it(s.fan), it(s.fanR)}
	fan10 := []string{"fanout", it(s.fan10), it(s.fanR)}
	slow := append([]string{"slow", it(s.slow), "--rounds", it(s.slowK)}, quickSlow...)
	big := append([]string{"slow", it(s.bigR), "--rounds", it(s.bigK), "--pad", it(s.bigPad)}, quickSlow...)
	// agent runs agent-fanout: it starts its own gateway (--bin, --cmd)
	// with a config naming its in-process fake provider.
	agent := func(readers int, more ...string) []string {
		return append([]string{"agent-fanout", it(readers), "--deltas", it(s.agDeltas), "--chunk-delay", s.agGap,
			"--runs", it(s.agTurns)}, more...)
	}
	label := func(args []string) string {
		if args[0] == "conns" {
			return "conns " + args[1]
		}
		if args[0] == "agent-fanout" {
			l := "agent-fanout " + args[1]
			for i, a := range args {
				if a == "--concurrent" || a == "--watch" {
					l += " " + a + " " + args[i+1]
				}
			}
			return l
		}
		if args[0] == "slow" {
			l := "slow " + args[1]
			for i, a := range args {
				if a == "--pad" {
					l += " --pad " + args[i+1]
				}
			}
			return l
		}
		return strings.Join(args, " ")
	}
	// Ours, then the reference (the same scenarios), then the floor, then
	// ours only (restart, scale points): a tight budget drops those first.
	add("startup", "ours", "startup", false, 40*time.Second,
		append([]string{"startup", "--runs", it(s.oursRuns), "--timeout", "30s", "--settle", settle}, quickArgs...)...)
	add("conns1", "ours", label(conns(s.c1)), true, 30*time.Second, conns(s.c1)...)
	add("conns10", "ours", label(conns(s.c10)), true, 45*time.Second, conns(s.c10)...)
	add("rpc", "ours", label(rpc), true, 30*time.Second, rpc...)
	add("fanout", "ours", label(fan), true, 30*time.Second, fan...)
	add("slow", "ours", label(slow), true, 30*time.Second, slow...)
	add("slowbig", "ours", label(big), true, 60*time.Second, big...)
	ag1 := agent(s.ag1)
	add("agent1", "ours", label(ag1), false, 30*time.Second, ag1...)
	if withRef {
		// The reference takes 10-30 s to accept connections, every time.
		add("startup", "reference", "startup", false, 90*time.Second,
			append(append([]string{"startup", "--runs", it(s.refRuns), "--timeout", "120s", "--settle", settle, "--cmd", "gateway run"}, quickArgs...),
				"--", "--bind", "loopback")...)
		add("conns1", "reference", label(conns(s.c1)), true, 90*time.Second, conns(s.c1)...)
		add("conns10", "reference", label(conns(s.c10)), true, 180*time.Second, conns(s.c10)...)
		add("rpc", "reference", label(rpc), true, 70*time.Second, rpc...)
		add("fanout", "reference", label(fan), true, 90*time.Second, fan...)
		add("slow", "reference", label(slow), true, 70*time.Second, slow...)
		add("slowbig", "reference", label(big), true, 120*time.Second, big...)
		add("agent1", "reference", label(ag1), false, 180*time.Second,
			append(agent(s.ag1, "--cmd", "gateway run", "--timeout", "120s", "--run-timeout", "60s"), "--", "--bind", "loopback")...)
	}
	// The same client against a bare gws server: what the machine and the
	// client allow at best.
	add("conns10", "baseline", label(conns(s.c10)), true, 30*time.Second, conns(s.c10)...)
	add("rpc", "baseline", label(rpc), true, 20*time.Second, rpc...)
	add("fanout", "baseline", label(fan), true, 15*time.Second, fan...)
	add("fanout10", "baseline", label(fan10), true, 30*time.Second, fan10...)
	ag10 := agent(s.ag10)
	add("agent1", "baseline", label(ag1), false, 30*time.Second, append(agent(s.ag1), "--cmd", "baseline-gateway")...)
	add("agent10", "baseline", label(ag10), false, 45*time.Second, append(agent(s.ag10), "--cmd", "baseline-gateway")...)
	restart := append([]string{"restart", it(s.restart), "--runs", it(s.restartRuns)}, quickRestart...)
	add("restart", "ours", "restart "+it(s.restart), true, 60*time.Second, restart...)
	add("conns19", "ours", label(conns(s.c19)), true, 60*time.Second, conns(s.c19)...)
	add("fanout10", "ours", label(fan10), true, 60*time.Second, fan10...)
	add("fanout19", "ours", label([]string{"fanout", it(s.fan19), it(s.fanR)}), true, 90*time.Second, "fanout", it(s.fan19), it(s.fanR))
	ag5, ag19 := agent(s.ag5), agent(s.ag19)
	agK := agent(s.ag10, "--concurrent", it(s.agK), "--watch", "own")
	add("agent5", "ours", label(ag5), false, 40*time.Second, ag5...)
	add("agent10", "ours", label(ag10), false, 50*time.Second, ag10...)
	add("agent10x", "ours", label(agK), false, 60*time.Second, agK...)
	add("agent19", "ours", label(ag19), false, 90*time.Second, ag19...)
	return steps
}

// runStep runs one scenario in a child process, against a fresh gateway
// when it is a load scenario, and fills rec.
func runStep(ctx context.Context, self string, g gwSpec, st compareStep, token string, rec *stepRecord) {
	t0 := time.Now()
	defer func() { rec.Seconds = round(time.Since(t0).Seconds(), 1) }()
	args := append([]string(nil), st.args...)
	var gp *gwProc
	if st.load {
		var err error
		logf("compare: starting %s gateway (%s %s)", g.name, g.bin, strings.Join(g.sub, " "))
		gp, err = startGateway(ctx, g.bin, g.sub, g.extra, token, g.readyTO)
		if err != nil {
			rec.Error = "gateway did not start: " + err.Error()
			rec.Exit = -1
			return
		}
		rec.GatewayReadyMs = round(gp.readyMs, 1)
		logf("compare: %s gateway pid %d ready on %s in %.0f ms", g.name, gp.pid, gp.url, gp.readyMs)
		args = append(args, "--url", gp.url, "--pid", strconv.Itoa(gp.pid))
		defer func() {
			rec.GatewayExit = gp.stop()
		}()
	} else {
		// startup: --bin goes before a "--" that ends the scenario's flags.
		i := len(args)
		for j, a := range args {
			if a == "--" {
				i = j
				break
			}
		}
		args = append(append(append([]string(nil), args[:i]...), "--bin", g.bin), args[i:]...)
	}
	args = insertBeforeDashDash(args, "--token", token, "--json")
	rec.Command = "openclaw-bench " + strings.Join(redact(args, token), " ")
	var stdout bytes.Buffer
	cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, self, args...)
	cmd.Env = append(os.Environ(), "OPENCLAW_BENCH_AS_TOOL=1")
	var errTail tailBuffer
	cmd.Stdout, cmd.Stderr = &stdout, io.MultiWriter(os.Stderr, &errTail)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err := cmd.Run()
	rec.Exit = 0
	if err != nil {
		rec.Exit = -1
		if ee, ok := err.(*exec.ExitError); ok {
			rec.Exit = ee.ExitCode()
		}
		rec.Error = err.Error()
		// The scenario says why on its last "openclaw-bench <scenario>:" line.
		lines := strings.Split(strings.TrimSpace(errTail.String()), "\n")
		for i := len(lines) - 1; i >= 0; i-- {
			if strings.HasPrefix(lines[i], "openclaw-bench ") {
				rec.Error = strings.TrimSpace(lines[i])
				break
			}
		}
	}
	line := bytes.TrimSpace(stdout.Bytes())
	if len(line) > 0 {
		var m map[string]any
		if jerr := json.Unmarshal(line, &m); jerr != nil {
			rec.Error = strings.TrimSpace(rec.Error + "; unreadable output: " + truncate(string(line), 200))
			return
		}
		rec.Result = json.RawMessage(line)
		rec.m = m
	}
}

// tailBuffer keeps the last 8 KiB written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - 8192; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

func insertBeforeDashDash(args []string, more ...string) []string {
	for i, a := range args {
		if a == "--" {
			return append(append(append([]string(nil), args[:i]...), more...), args[i:]...)
		}
	}
	return append(args, more...)
}

func redact(args []string, token string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == token {
			a = "$TOKEN"
		}
		if strings.ContainsAny(a, " ") {
			a = strconv.Quote(a)
		}
		out[i] = a
	}
	return out
}

func absBin(p string) (string, error) {
	bp, err := exec.LookPath(p)
	if err != nil {
		return "", err
	}
	return filepath.Abs(bp)
}

// refVersion reads node_modules/openclaw/package.json next to the .bin link.
func refVersion(cli string) string {
	nm := filepath.Dir(filepath.Dir(cli))
	var pkg struct {
		Version string `json:"version"`
	}
	data, err := os.ReadFile(filepath.Join(nm, "openclaw", "package.json"))
	if err != nil || json.Unmarshal(data, &pkg) != nil || pkg.Version == "" {
		return "unknown"
	}
	v := "openclaw " + pkg.Version
	if out, err := exec.Command("node", "--version").Output(); err == nil {
		v += " on Node " + strings.TrimSpace(string(out))
	}
	return v
}

// oursVersion is the commit (and whether the tree had changes) plus what
// the binary says.
func oursVersion(bin string) string {
	v := "unknown commit"
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		v = strings.TrimSpace(string(out))
		if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
			v += " + uncommitted changes"
		}
	}
	if out, err := exec.Command(bin, "version").Output(); err == nil {
		v += " (" + strings.TrimSpace(string(out)) + ", " + runtime.Version() + ")"
	}
	return v
}

func machineInfo() map[string]any {
	m := map[string]any{"nproc": runtime.NumCPU()}
	if kb, err := statusLineKB("/proc/meminfo", "MemTotal"); err == nil {
		m["memory_gib"] = round(float64(kb)/(1<<20), 1)
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m["kernel"] = strings.TrimSpace(string(data))
	}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m["cpu"] = strings.TrimSpace(v)
				break
			}
		}
	}
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
		m["nofile"] = rl.Cur
	}
	m["go_client"] = runtime.Version()
	m["loadavg_1m_at_start"] = loadAvg1()
	return m
}

// statusLineKB reads "Name: <n> kB" from a /proc file.
func statusLineKB(path, name string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == name {
			f := strings.Fields(v)
			if len(f) > 0 {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("%s: no %s", path, name)
}

// writeRaw writes machine.json and one file of JSON lines per gateway.
func writeRaw(dir string, machine map[string]any, recs []*stepRecord) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mj, err := json.Marshal(machine)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "machine.json"), append(mj, '\n'), 0o644); err != nil {
		return err
	}
	byGW := map[string]*bytes.Buffer{}
	for _, r := range recs {
		b := byGW[r.Gateway]
		if b == nil {
			b = &bytes.Buffer{}
			byGW[r.Gateway] = b
		}
		line, err := json.Marshal(r)
		if err != nil {
			return err
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	for gw, b := range byGW {
		if err := os.WriteFile(filepath.Join(dir, gw+".json"), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// keptMarker starts the part of the --out file that compare leaves as it
// is: series measured by hand (docs/BENCHMARKS.md's issue 17 section, with
// the load average of each row) that a regeneration must not erase.
const keptMarker = "<!-- bench:compare keeps everything below this line -->"

// keptTail is the part of the file at path from keptMarker on, after a
// blank line, or "" when there is none.
func keptTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	i := strings.Index(string(data), keptMarker)
	if i < 0 {
		return ""
	}
	return "\n" + string(data[i:])
}

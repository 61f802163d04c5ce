package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"openclaw/actors/store"
	"openclaw/cmd/openclaw/internal/service"
	"openclaw/config"
	"openclaw/transport/auth"
	"openclaw/transport/takeover"
)

// Doctor's thresholds.
const (
	// weakSecretLen: a shared secret shorter than this is guessable
	// offline; `openclaw setup` generates 48 hex characters.
	weakSecretLen = 16
	// clockSkewTolerance is how far the gateway's clock may be from this
	// one, beyond the round trip's uncertainty, before doctor warns: device
	// signatures and pairing codes carry timestamps.
	clockSkewTolerance = 2 * time.Second
	// fdReserve is the descriptors a gateway needs besides its sockets: the
	// listeners, the log file, the state database and its WAL, provider
	// and Telegram HTTP connections.
	fdReserve = 64
	// defaultConnectionTarget is how many simultaneous WebSocket
	// connections doctor checks the open-files limit against (--connections).
	defaultConnectionTarget = 1024
)

// DoctorCmd audits the installation: each finding has a severity, one
// line, and how to fix it; --fix applies the fixes that are safe to apply.
type DoctorCmd struct {
	Target
	Fix         bool `help:"Apply the safe fixes: rewrite an outdated service unit, tighten state permissions, clear a stale lock file."`
	JSON        bool `name:"json" help:"Print the findings as JSON."`
	Connections int  `default:"1024" help:"Simultaneous connections the gateway should hold (checked against the open-files limit)."`
}

// finding is one line of the report (docs/OPERATIONS.md documents the JSON).
type finding struct {
	Check    string `json:"check"`
	Severity string `json:"severity"` // ok, info, warn, error
	Message  string `json:"message"`
	Fix      string `json:"fix,omitempty"`
	Fixed    bool   `json:"fixed,omitempty"`
}

type doctor struct {
	g        *Globals
	c        *DoctorCmd
	prof     config.Profile
	paths    config.Paths
	cfg      *config.Config // nil: none, or it does not load
	running  int            // the running gateway's PID (from gateway.lock), 0: none
	findings []finding
}

func (d *doctor) add(check, sev, msg, fix string) *finding {
	d.findings = append(d.findings, finding{Check: check, Severity: sev, Message: msg, Fix: fix})
	return &d.findings[len(d.findings)-1]
}

func (c *DoctorCmd) Run(g *Globals) error {
	prof, paths, err := g.paths()
	if err != nil {
		return err
	}
	d := &doctor{g: g, c: c, prof: prof, paths: paths}
	d.checkConfig()
	d.checkSecrets()
	d.checkStateDir()
	d.checkLock()
	d.checkDatabase()
	d.checkPort()
	d.checkService()
	d.checkClock()
	d.checkFDLimit()

	worst := 0
	rank := map[string]int{"ok": 0, "info": 0, "warn": 1, "error": 2}
	for _, f := range d.findings {
		worst = max(worst, rank[f.Severity])
	}
	if c.JSON {
		_ = printJSON(mustJSON(struct {
			OK       bool      `json:"ok"`
			Findings []finding `json:"findings"`
		}{worst < 2, d.findings}))
	} else {
		for _, f := range d.findings {
			fmt.Printf("%-7s %-9s %s\n", "["+f.Severity+"]", f.Check, f.Message)
			switch {
			case f.Fixed:
				fmt.Printf("%17s fixed: %s\n", "", f.Fix)
			case f.Fix != "":
				fmt.Printf("%17s fix: %s\n", "", f.Fix)
			}
		}
	}
	if worst == 2 {
		return fail(exitFailure, "doctor found errors (see above)")
	}
	return nil
}

func (d *doctor) checkConfig() {
	p := d.paths.ConfigPath
	if _, err := os.Stat(p); err != nil {
		d.add("config", "warn", "no config at "+p+" (the gateway starts only with --allow-unconfigured)", "openclaw"+profileFlag(d.prof)+" setup")
		return
	}
	cfg, err := config.Load(p)
	if err != nil {
		d.add("config", "error", oneLine(err.Error()), "edit "+p+" at the line named; the running gateway keeps its last good config meanwhile")
		return
	}
	d.cfg = cfg
	d.add("config", "ok", p+" loads", "")
}

// checkSecrets looks at the shared secrets the gateway would use, from the
// config, the environment and the service's environment file.
func (d *doctor) checkSecrets() {
	if d.cfg == nil {
		return
	}
	a := d.cfg.Gateway.Auth
	svc := service.ReadEnvFile(serviceEnvPath(d.paths.StateDir))
	type secret struct{ kind, from, value string }
	var secrets []secret
	if a.Token != nil {
		secrets = append(secrets, secret{"token", "gateway.auth.token", *a.Token})
	}
	if a.Password != nil {
		secrets = append(secrets, secret{"password", "gateway.auth.password", *a.Password})
	}
	for _, e := range []struct{ kind, env string }{{"token", "OPENCLAW_GATEWAY_TOKEN"}, {"password", "OPENCLAW_GATEWAY_PASSWORD"}} {
		if v := os.Getenv(e.env); v != "" {
			secrets = append(secrets, secret{e.kind, e.env, v})
		}
		if v := svc[e.env]; v != "" {
			secrets = append(secrets, secret{e.kind, e.env + " in " + serviceEnvPath(d.paths.StateDir), v})
		}
	}
	n := len(d.findings)
	for _, s := range secrets {
		if err := auth.ValidateConfigured(s.kind, s.value); err != nil {
			d.add("secrets", "error", s.from+" "+strings.TrimPrefix(err.Error(), "gateway.auth."+s.kind+" "), "set a random "+s.kind+": openssl rand -hex 24")
		} else if len(strings.TrimSpace(s.value)) < weakSecretLen {
			d.add("secrets", "warn", fmt.Sprintf("%s is weak: %d characters", s.from, len(s.value)), fmt.Sprintf("use at least %d random characters: openssl rand -hex 24", weakSecretLen))
		}
	}
	if len(secrets) == 0 && (a.Mode == "" || a.Mode == "token") {
		d.add("secrets", "info", "no gateway token configured: the gateway generates one per run", "openclaw"+profileFlag(d.prof)+" gateway install --token … or set gateway.auth.token to keep one")
	}
	if a.Mode == "none" {
		hosts, err := config.BindHosts(d.cfg)
		if err == nil && !allLoopback(hosts) {
			d.add("auth", "error", fmt.Sprintf("gateway.auth.mode is none on a non-loopback bind (%s): anyone who reaches the port controls the assistant (the gateway refuses to start)", strings.Join(hosts, ", ")),
				`set gateway.auth.mode "token" with a token, or gateway.bind "loopback"`)
		}
	}
	if len(d.findings) == n && len(secrets) > 0 {
		d.add("secrets", "ok", "the shared secrets are set and not guessable placeholders", "")
	}
}

// checkStateDir: the state directory holds device keys, tokens and the
// transcripts; others must not read it.
func (d *doctor) checkStateDir() {
	dir := d.paths.StateDir
	fi, err := os.Stat(dir)
	if err != nil {
		d.add("stateDir", "info", dir+" does not exist yet (the gateway creates it)", "")
		return
	}
	check := func(path string, fi os.FileInfo, want os.FileMode) {
		if fi.Mode().Perm()&0o077 == 0 {
			return
		}
		f := d.add("stateDir", "warn", fmt.Sprintf("%s is mode %04o: other users can read it", path, fi.Mode().Perm()), fmt.Sprintf("chmod %o %s", want, path))
		if d.c.Fix && os.Chmod(path, want) == nil {
			f.Fixed = true
		}
	}
	n := len(d.findings)
	check(dir, fi, 0o700)
	if cfi, err := os.Stat(d.paths.ConfigPath); err == nil {
		check(d.paths.ConfigPath, cfi, 0o600)
	}
	if len(d.findings) == n {
		d.add("stateDir", "ok", dir+" is private to you", "")
	}
}

// stateLockPID reads the PID a gateway wrote into gateway.lock (0: none). The
// lock itself is an flock the kernel drops with the process, so a PID in
// the file with no such process is a gateway that crashed or was killed.
func stateLockPID(stateDir string) (pid int, path string) {
	path = filepath.Join(stateDir, "gateway.lock")
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, path
	}
	pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	return pid, path
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func (d *doctor) checkLock() {
	pid, path := stateLockPID(d.paths.StateDir)
	switch {
	case pid == 0:
		d.add("lock", "ok", "no gateway holds "+d.paths.StateDir, "")
	case alive(pid):
		d.running = pid
		d.add("lock", "ok", fmt.Sprintf("a gateway (pid %d) holds %s", pid, d.paths.StateDir), "")
	default:
		f := d.add("lock", "warn", fmt.Sprintf("%s names pid %d, which is not running: the gateway crashed or was killed (the lock itself was released with it; a start is not blocked)", path, pid),
			"openclaw doctor --fix clears the file")
		if d.c.Fix && os.Truncate(path, 0) == nil {
			f.Fixed = true
		}
	}
}

// checkDatabase runs the store's own integrity check (PRAGMA quick_check at
// open) on a stopped gateway's database; a running gateway checked it when
// it started and owns the writer.
func (d *doctor) checkDatabase() {
	path := store.DefaultPath(d.paths.StateDir)
	if _, err := os.Stat(path); err != nil {
		d.add("database", "ok", "no state database yet", "")
		return
	}
	if d.running != 0 {
		d.add("database", "ok", path+": checked by the running gateway when it started", "")
		return
	}
	st, err := store.Open(path)
	if err != nil {
		fix := "move it aside to start with an empty state, or recover it: sqlite3 " + path + " .recover"
		d.add("database", "error", oneLine(err.Error()), fix)
		return
	}
	_ = st.Close()
	d.add("database", "ok", path+" passes PRAGMA quick_check", "")
}

// checkPort says who listens on the gateway's port (transport/takeover).
func (d *doctor) checkPort() {
	port, _, err := config.ResolvePort(0, d.cfg, d.prof)
	if err != nil {
		d.add("port", "error", oneLine(err.Error()), "fix the port setting")
		return
	}
	rep, err := takeover.Scan(port)
	if err != nil {
		d.add("port", "info", fmt.Sprintf("port %d: cannot tell who listens (%s)", port, oneLine(err.Error())), "")
		return
	}
	switch {
	case !rep.Busy():
		d.add("port", "ok", fmt.Sprintf("port %d is free", port), "")
	case d.running != 0 && slices.Contains(rep.PIDs(), d.running):
		d.add("port", "ok", fmt.Sprintf("port %d: the gateway (pid %d) listens", port, d.running), "")
	case len(rep.Processes) > 0:
		p := rep.Processes[0]
		d.add("port", "error", fmt.Sprintf("port %d is held by %s, not by this profile's gateway", port, p),
			fmt.Sprintf("stop it (kill %d), start the gateway with --force (stops it for you), or choose another port (--port / gateway.port)", p.PID))
	default:
		d.add("port", "error", fmt.Sprintf("port %d is in use by a process this user cannot see (%s)", port, strings.Join(rep.Unowned, ", ")),
			"find it as root (ss -ltnp) or choose another port")
	}
}

// checkService compares the installed unit with what install writes today.
func (d *doctor) checkService() {
	m, _, err := pickManager(d.g, ServiceScope{})
	if err != nil {
		return
	}
	if _, err := os.Stat(m.Path()); err != nil {
		d.add("service", "info", "no gateway service installed ("+m.Path()+")", "openclaw"+profileFlag(d.prof)+" gateway install")
		return
	}
	acct, err := currentAccount()
	if err != nil {
		return
	}
	sys, ok := m.(*service.Systemd)
	spec, _, err := serviceSpec(d.prof, acct, ok && sys.System, 0, "")
	if err != nil {
		d.add("service", "info", "cannot compare the installed unit: "+oneLine(err.Error()), "")
		return
	}
	// Keep the installed port: doctor compares contents, not the choice.
	if p := installedPort(m.Path()); p != 0 {
		spec.Port = p
	}
	files, err := m.Render(spec)
	if err != nil {
		return
	}
	_, differ := service.Diff(files)
	if len(differ) == 0 {
		d.add("service", "ok", m.Path()+" is what install writes", "")
		return
	}
	f := d.add("service", "warn", strings.Join(differ, ", ")+" differs from what install writes now (an older version, or edited)",
		"openclaw"+profileFlag(d.prof)+" doctor --fix (rewrites and restarts it, as gateway install --force does)")
	if d.c.Fix {
		if err := m.Install(files, true, func(string) {}); err != nil {
			f.Message += "; --fix failed: " + oneLine(err.Error())
		} else {
			f.Fixed = true
		}
	}
}

// installedPort reads OPENCLAW_GATEWAY_PORT back from a unit or plist.
func installedPort(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	s := string(b)
	if i := strings.Index(s, "OPENCLAW_GATEWAY_PORT"); i >= 0 {
		rest := strings.TrimLeft(s[i+len("OPENCLAW_GATEWAY_PORT"):], "=</key>\n\t <string>")
		end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
		if end > 0 {
			n, _ := strconv.Atoi(rest[:end])
			return n
		}
	}
	return 0
}

// checkClock compares this host's clock with the gateway's (health's ts,
// taken while the request was in flight): no network time source is
// consulted. The error bound is half the round trip.
func (d *doctor) checkClock() {
	rt, err := resolveTarget(d.g, d.c.Target)
	if err != nil {
		return
	}
	cl, err := dialTarget(rt, 3)
	if err != nil {
		d.add("clock", "info", "clock skew not checked: no gateway answers at "+rt.url+" to compare with (doctor consults no network time source)", "")
		return
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	t0 := time.Now()
	raw, err := cl.Call(ctx, "health", map[string]any{"probe": true})
	t1 := time.Now()
	var h struct {
		TS int64 `json:"ts"`
	}
	if err != nil || json.Unmarshal(raw, &h) != nil || h.TS == 0 {
		d.add("clock", "info", "clock skew not checked: the gateway's health has no timestamp", "")
		return
	}
	mid := t0.Add(t1.Sub(t0) / 2)
	skew := time.UnixMilli(h.TS).Sub(mid)
	bound := t1.Sub(t0)/2 + time.Millisecond
	if skew.Abs() > clockSkewTolerance+bound {
		d.add("clock", "warn", fmt.Sprintf("the gateway's clock (%s) is %v off this host's", rt.url, skew.Round(time.Millisecond)),
			"enable time sync on both hosts (timedatectl set-ntp true)")
		return
	}
	d.add("clock", "ok", fmt.Sprintf("clock agrees with the gateway's at %s (%v, ±%v)", rt.url, skew.Round(time.Millisecond), bound.Round(time.Millisecond)), "")
}

// checkFDLimit: every socket is a descriptor. Go raises the soft limit to
// the hard one at start, so the hard limit is what the gateway gets.
func (d *doctor) checkFDLimit() {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return
	}
	need := uint64(d.c.Connections) + fdReserve
	if lim.Max < need {
		d.add("fdLimit", "warn", fmt.Sprintf("open-files limit %d is below %d (%d connections + %d)", lim.Max, need, d.c.Connections, fdReserve),
			"raise it: LimitNOFILE= in the unit (install writes 65536), or ulimit -Hn in the shell that starts the gateway")
		return
	}
	d.add("fdLimit", "ok", fmt.Sprintf("open-files limit %d covers %d connections", lim.Max, d.c.Connections), "")
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// cliTimeout bounds one reference CLI command (Node start is about a
// second; a command that waits on the gateway gives up by itself within
// its own timeouts, which are shorter than this).
const cliTimeout = 90 * time.Second

// cliResult is one reference CLI run.
type cliResult struct {
	args   []string
	code   int
	stdout string
	stderr string
	mark   int // tap log position before the run
	end    int // tap log position after it
	// retried is set when this is a second run after a timeout.
	retried bool
}

// runCLI runs the reference CLI with a clean environment: HOME as given,
// the gateway URL and token of the tap, plus env.
func (r *recorder) runCLI(ctx context.Context, home string, env []string, args ...string) cliResult {
	cctx, cancel := context.WithTimeout(ctx, cliTimeout)
	defer cancel()
	res := cliResult{args: args, mark: r.tap.Log.Len()}
	cmd := exec.Command(r.ref.cli, args...)
	cmd.Dir = home
	// OPENCLAW_GATEWAY_URL is what most commands use; the status family
	// (status, gateway status/probe) only looks at the local port.
	_, port, _ := strings.Cut(r.tap.Addr, ":")
	cmd.Env = r.ref.env(home, append([]string{"OPENCLAW_GATEWAY_URL=" + r.tap.URL(), "OPENCLAW_GATEWAY_PORT=" + port,
		"OPENCLAW_GATEWAY_TOKEN=" + recordToken, "OPENCLAW_STATE_DIR=" + filepath.Join(home, ".openclaw")}, env...)...)
	marker := newMarker()
	cmd.Env = append(cmd.Env, marker)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// Wait returns only when every holder of the output pipes is gone:
	// stragglers are killed by their marker after the timeout.
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		res.code, res.stderr = -1, err.Error()
		return res
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-cctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		killMarked(marker)
		err = <-done
		stderr.WriteString("\n[refrecord: killed after " + cliTimeout.String() + "]")
	}
	// Anything the CLI started goes too, in its group or not.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if n := killMarked(marker); n > 0 {
		logf("  stopped %d process(es) the CLI left running", n)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	default:
		res.code = -1
	}
	res.stdout, res.stderr = stdout.String(), stderr.String()
	// Let the tap log the closes.
	r.settle(ctx, 200*time.Millisecond)
	res.end = r.tap.Log.Len()
	return res
}

// cliDoc is the recording of one CLI run: its arguments, exit code, output
// (parsed when it is JSON) and the frames it exchanged with the gateway.
func (r *recorder) cliDoc(name string, res cliResult) *jv {
	doc := jobj("name", name, "args", res.args, "exitCode", res.code)
	if out := strings.TrimSpace(res.stdout); out != "" && json.Valid([]byte(out)) {
		doc.set("stdoutJSON", mustJSON([]byte(out)))
	} else {
		doc.set("stdout", jstr(res.stdout))
	}
	doc.set("stderr", jstr(res.stderr))
	doc.set("gateway", r.exchangesOf(r.tap.Log.Since(res.mark)[:res.end-res.mark]))
	return doc
}

// exchangesOf summarises tap entries: per connection, what it sent in
// connect, then each request with its answer and the events it received
// (by name). hello-ok is cut to its auth block: the full one is in hello/.
func (r *recorder) exchangesOf(entries []Entry) *jv {
	type connLog struct {
		connect  *jv
		hello    *jv
		requests []*jv
		byID     map[string]*jv
		events   map[string]int
		order    []string
		closes   []*jv
	}
	// Only the connections opened within these entries (the CLI's own; a
	// node host or watcher connected before is not part of the run).
	mine := map[int]bool{}
	for _, e := range entries {
		if e.HTTP != nil && e.HTTP.Upgrade {
			mine[e.Conn] = true
		}
	}
	conns := map[int]*connLog{}
	var order []int
	get := func(n int) *connLog {
		c, ok := conns[n]
		if !ok {
			c = &connLog{byID: map[string]*jv{}, events: map[string]int{}}
			conns[n] = c
			order = append(order, n)
		}
		return c
	}
	for _, e := range entries {
		if !mine[e.Conn] || (e.HTTP != nil && !e.HTTP.Upgrade) {
			continue
		}
		c := get(e.Conn)
		if e.Close != nil {
			c.closes = append(c.closes, jobj("dir", e.Dir, "code", e.Close.Code, "reason", e.Close.Reason))
			continue
		}
		if e.Frame == nil {
			continue
		}
		f := mustJSON(e.Frame)
		switch f.get("type").strValue() {
		case "req":
			if f.get("method").strValue() == "connect" {
				c.connect = f.get("params")
				c.byID[f.get("id").strValue()] = nil
				continue
			}
			x := jobj("method", f.get("method"), "params", f.get("params"))
			c.requests = append(c.requests, x)
			c.byID[f.get("id").strValue()] = x
		case "res":
			p := f.get("payload")
			if p.get("type").strValue() == "hello-ok" {
				c.hello = jobj("type", "hello-ok", "auth", p.get("auth"))
				continue
			}
			x, ok := c.byID[f.get("id").strValue()]
			if !ok {
				continue
			}
			if x == nil { // connect refused
				c.hello = jobj("ok", f.get("ok"), "error", f.get("error"))
				continue
			}
			if x.get("ok") != nil { // second response (agent)
				x.set("finalResponse", jobj("ok", f.get("ok"), "payload", p, "error", f.get("error")))
				continue
			}
			x.set("ok", f.get("ok"))
			if p != nil {
				x.set("payload", p)
			}
			if er := f.get("error"); er != nil {
				x.set("error", er)
			}
		case "event":
			ev := f.get("event").strValue()
			if ev == "connect.challenge" {
				continue
			}
			if c.events[ev] == 0 {
				c.order = append(c.order, ev)
			}
			c.events[ev]++
		}
	}
	var out []*jv
	for _, n := range order {
		c := conns[n]
		x := jobj("connect", c.connect, "hello", c.hello, "requests", jarr(c.requests...))
		ev := jobj()
		for _, name := range c.order {
			ev.set(name, toJV(c.events[name]))
		}
		x.set("events", ev)
		x.set("closes", jarr(c.closes...))
		out = append(out, x)
	}
	return jarr(out...)
}

// newCLIHome makes a fresh HOME for CLI runs under the gateway's dir.
func (r *recorder) newCLIHome(name string) (string, error) {
	home := filepath.Join(r.gw.dir, "cli-"+name)
	if err := os.MkdirAll(home, 0o700); err != nil {
		return "", err
	}
	r.sc.add(home, "<cliHome>")
	return home, nil
}

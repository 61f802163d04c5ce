package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"openclaw/cmd/openclaw/internal/service"
	"openclaw/config"
	"openclaw/transport/protocol"
)

// GatewayStatusCmd reports the supervisor's view of the service and, apart
// from it, whether the gateway answers over its WebSocket: a unit can be
// "running" while the port is closed (crash loop, wrong port), and a
// gateway can answer with no unit at all (run by hand).
type GatewayStatusCmd struct {
	Target
	ServiceScope
	JSON    bool `name:"json" help:"Print JSON (fields: see docs/OPERATIONS.md)."`
	Deep    bool `help:"Also look for other gateway services (other profiles, legacy labels: com.openclaw.*, bot.molt.*, clawdbot-gateway) and, in cluster mode, list the peers and the JetStream buckets."`
	NoProbe bool `help:"Do not connect; only print the service state and where the gateway is expected."`
}

// statusReport is `gateway status --json` (documented in docs/OPERATIONS.md).
type statusReport struct {
	CLI       map[string]string `json:"cli"`
	Service   serviceReport     `json:"service"`
	Config    configReport      `json:"config"`
	Gateway   map[string]any    `json:"gateway"`
	RPC       map[string]any    `json:"rpc,omitempty"`
	LastError *logLine          `json:"lastError,omitempty"`
	Others    []service.Other   `json:"others,omitempty"`
	// Cluster is status's cluster block (--deep, cluster mode only).
	Cluster  *protocol.ClusterStatus `json:"cluster,omitempty"`
	Warnings []string                `json:"warnings,omitempty"`
}

type serviceReport struct {
	Manager string `json:"manager"`
	Scope   string `json:"scope"`
	Name    string `json:"name"`
	Path    string `json:"path"`
	service.State
}

type configReport struct {
	Path   string `json:"path"`
	Exists bool   `json:"exists"`
	Error  string `json:"error,omitempty"`
}

func (c *GatewayStatusCmd) Run(g *Globals) error {
	_, paths, err := g.paths()
	if err != nil {
		return err
	}
	m, prof, err := pickManager(g, c.ServiceScope)
	if err != nil {
		return err
	}
	rep := statusReport{CLI: map[string]string{"version": version()}}
	rep.Service = serviceReport{Manager: m.Kind(), Scope: m.Scope(), Name: m.Name(), Path: m.Path(), State: m.State()}
	rep.Config.Path = paths.ConfigPath
	if _, err := os.Stat(paths.ConfigPath); err == nil {
		rep.Config.Exists = true
		if _, err := config.Load(paths.ConfigPath); err != nil {
			rep.Config.Error = oneLine(err.Error())
		}
	}
	if c.Deep {
		rep.Others = m.Scan()
		for _, o := range rep.Others {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("another gateway service (%s): %s", o.Kind, o.Path))
		}
	}
	rt, err := resolveTarget(g, c.Target)
	if err != nil {
		return err
	}
	rep.Gateway = map[string]any{"probeUrl": rt.url}
	var probeErr error
	if !c.NoProbe {
		rep.RPC, probeErr = probe(rt, c.Timeout)
		if probeErr != nil {
			rep.LastError = lastLogError(filepath.Join(paths.StateDir, "logs"))
		}
		if raw, ok := rep.RPC["status"].(json.RawMessage); ok && c.Deep {
			var st struct {
				Cluster *protocol.ClusterStatus `json:"cluster"`
			}
			_ = json.Unmarshal(raw, &st)
			rep.Cluster = st.Cluster
		}
	}
	if c.JSON {
		_ = printJSON(mustJSON(rep))
	} else {
		writeGatewayStatus(rep, prof)
	}
	if probeErr != nil {
		return fail(exitFailure, "gateway not reachable at %s: %v", rt.url, oneLine(probeErr.Error()))
	}
	return nil
}

// probe connects and calls status: what a client would see.
func probe(rt target, timeout int) (map[string]any, error) {
	rpc := map[string]any{"ok": false, "url": rt.url}
	start := time.Now()
	cl, err := dialTarget(rt, timeout)
	if err != nil {
		rpc["error"] = err.Error()
		return rpc, err
	}
	defer cl.Close()
	var hello struct {
		Server json.RawMessage `json:"server"`
		Auth   json.RawMessage `json:"auth"`
	}
	_ = json.Unmarshal(cl.Hello, &hello)
	rpc["ok"], rpc["server"], rpc["auth"] = true, hello.Server, hello.Auth
	rpc["connectMs"] = time.Since(start).Milliseconds()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(timeout)*time.Second)
	defer cancel()
	if st, err := cl.Call(ctx, "status", map[string]any{}); err == nil {
		rpc["status"] = st
	} else {
		rpc["statusError"] = err.Error()
	}
	return rpc, nil
}

func writeGatewayStatus(rep statusReport, prof config.Profile) {
	s := rep.Service
	line := fmt.Sprintf("Service: %s %s %s: ", s.Manager, s.Scope, s.Name)
	switch {
	case s.Error != "":
		line += "unknown (" + s.Error + ")"
	case !s.Installed && !s.Loaded:
		line += fmt.Sprintf("not installed (`openclaw%s gateway install`)", profileFlag(prof))
	default:
		var about []string
		if s.PID > 0 {
			about = append(about, fmt.Sprintf("pid %d", s.PID))
		}
		if s.Since != "" {
			about = append(about, "since "+s.Since)
		}
		if s.LastExitCode != nil && !s.Running {
			about = append(about, fmt.Sprintf("last exit %d", *s.LastExitCode))
		}
		line += s.State.State
		if len(about) > 0 {
			line += " (" + strings.Join(about, ", ") + ")"
		}
		if s.Enabled {
			line += ", enabled"
		}
	}
	fmt.Println(line)
	if s.Installed {
		fmt.Println("  unit file: " + s.Path)
	}
	cfg := rep.Config.Path
	switch {
	case !rep.Config.Exists:
		cfg += " (missing)"
	case rep.Config.Error != "":
		cfg += " (does not load: " + rep.Config.Error + ")"
	}
	fmt.Println("Config: " + cfg)
	fmt.Printf("Probe target: %s\n", rep.Gateway["probeUrl"])
	if rep.RPC != nil {
		if rep.RPC["ok"] == true {
			var srv struct {
				Version string `json:"version"`
			}
			if b, ok := rep.RPC["server"].(json.RawMessage); ok {
				_ = json.Unmarshal(b, &srv)
			}
			fmt.Printf("RPC: reachable (connect %d ms, server %s)\n", rep.RPC["connectMs"], srv.Version)
		} else {
			fmt.Printf("RPC: not reachable (%s)\n", oneLine(fmt.Sprint(rep.RPC["error"])))
		}
	}
	if e := rep.LastError; e != nil {
		fmt.Printf("Last gateway error (%s): %s %s\n", filepath.Base(e.File), e.Time, e.Message)
	}
	if rep.Cluster != nil {
		writeCluster(os.Stdout, rep.Cluster, time.Now())
	}
	for _, w := range rep.Warnings {
		fmt.Println("Warning: " + w)
	}
}

// writeCluster prints status's cluster block: this gateway's place, each
// peer (alive or gone, its last heartbeat's age, its start), each
// JetStream bucket's leader, replicas and lag. Ages are against this
// machine's clock.
func writeCluster(w io.Writer, c *protocol.ClusterStatus, now time.Time) {
	role := "JetStream follower"
	if c.NATS.JetStreamLeader {
		role = "JetStream meta leader"
	}
	link := "NATS connected"
	if !c.NATS.Connected {
		link = "NATS NOT connected"
	}
	if c.NATS.Embedded {
		link += fmt.Sprintf(", embedded, %d routes", c.NATS.Routes)
	}
	fmt.Fprintf(w, "Cluster: %s, this gateway %s (%s), %s\n", c.Name, c.Node, role, link)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  PEER\tSTATE\tLAST HEARTBEAT\tSTARTED")
	for _, m := range c.Members {
		state := "alive"
		switch {
		case m.Self:
			state = "alive (this gateway)"
		case !m.Alive:
			state = "gone (" + m.Gone + ")"
		}
		beat := "-"
		if m.LastHeartbeatMs > 0 && !m.Self {
			beat = heartbeatAge(now.Sub(time.UnixMilli(m.LastHeartbeatMs)))
		} else if m.Self {
			beat = "now"
		}
		started := "-"
		if m.StartedMs > 0 {
			started = time.UnixMilli(m.StartedMs).UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", m.Node, state, beat, started)
	}
	_ = tw.Flush()
	if len(c.Buckets) == 0 {
		fmt.Fprintln(w, "Buckets: not read yet (the cluster is forming)")
		return
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  BUCKET\tLEADER\tREPLICAS\tCURRENT\tLAG")
	for _, b := range c.Buckets {
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\n", b.Bucket, firstSet(b.Leader, "-"), b.Replicas, b.Current, b.Lag)
	}
	_ = tw.Flush()
}

// heartbeatAge is a heartbeat's age to a tenth of a second ("1.2s ago";
// ago's "just now" hides what matters here: beats come every 2 s).
func heartbeatAge(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d < time.Minute {
		return d.Round(100*time.Millisecond).String() + " ago"
	}
	return d.Round(time.Second).String() + " ago"
}

// logLine is one record of the gateway's JSON-lines log.
type logLine struct {
	Time    string `json:"time"`
	Level   string `json:"level"`
	Message string `json:"message"`
	File    string `json:"file"`
}

// lastLogError is the newest ERROR record in the newest log file: why a
// gateway that the supervisor keeps starting does not listen.
func lastLogError(dir string) *logLine {
	files, _ := filepath.Glob(filepath.Join(dir, "openclaw-*.log"))
	sort.Strings(files) // openclaw-YYYY-MM-DD.log: by name is by day
	for i := len(files) - 1; i >= 0 && i >= len(files)-2; i-- {
		f, err := os.Open(files[i])
		if err != nil {
			continue
		}
		var last *logLine
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var l struct {
				Time    string `json:"time"`
				Level   string `json:"level"`
				Message string `json:"message"`
				Msg     string `json:"msg"`
			}
			if json.Unmarshal(sc.Bytes(), &l) != nil || l.Level != "ERROR" {
				continue
			}
			last = &logLine{Time: l.Time, Level: l.Level, Message: firstSet(l.Message, l.Msg), File: files[i]}
		}
		f.Close()
		if last != nil {
			return last
		}
	}
	return nil
}

// Command openclaw-bench is the load tool for the OpenClaw gateway. It speaks
// the gateway protocol directly over github.com/lxzan/gws (no per-frame
// decoding or allocation) so that the tool is not the bottleneck, and it
// works against this gateway and the reference Node gateway alike.
//
//	openclaw-bench startup --bin PATH [--port P] [--runs N] [-- extra gateway args]
//	openclaw-bench conns N [--hold SECONDS]
//	openclaw-bench rpc C SECONDS
//	openclaw-bench echo-baseline [C] [SECONDS]
//	openclaw-bench fanout R [ROUNDS] [--cluster N --bin PATH]
//	openclaw-bench agent-fanout R --bin PATH [--cmd gateway] [--deltas 20] [--chunk-delay 50ms] [--concurrent 1] [--watch all|own] [--runs 3] [--cluster N]
//	openclaw-bench slow R [--rounds K] [--pad BYTES]
//	openclaw-bench restart N --pid P [--runs K]
//	openclaw-bench node-invoke [N]
//	openclaw-bench compare --ours BIN --ref CLI [--out docs/BENCHMARKS.md] [--raw docs/bench]
//	openclaw-bench baseline-gateway --port P
//
// Common flags: --url (a comma-separated list spreads the sockets over
// several gateways: socket i goes to URL i mod n), --token, --pid (gateway PID: RSS, fds, CPU from
// /proc), --json (one JSON line on stdout instead of a table),
// --concurrency (handshakes in flight, default 25: the gateway refuses more
// than 32 unauthenticated sockets per IP). Progress goes to stderr.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"
)

// Hard bounds: every run stops by itself.
const (
	maxConns   = 30000
	maxSeconds = 300
	maxRuns    = 50
)

const usage = `usage: openclaw-bench <scenario> [flags] [args]

scenarios:
  startup --bin PATH [--port P] [--runs N] [--timeout 60s] [--settle 2s] [--cold=true] [-- extra gateway args]
        exec "PATH gateway --port P --allow-unconfigured" in a fresh state dir; time from exec to
        the first authenticated hello-ok, idle RSS after --settle (anonymous and file-backed), again
        after 3 more handshakes and --settle, then SIGTERM; --cold drops PATH from the page cache
        before the first run (it reads from disk; the later runs find it cached as a start caches it)
  conns N [--hold SECONDS]
        open N authenticated idle sockets (N ≤ 30000), hold them (default 5 s), close them
  rpc C SECONDS
        C authenticated sockets each calling "health" back to back for SECONDS (≤ 300)
  echo-baseline [C] [SECONDS]
        the rpc loop against an in-process bare gws echo server (defaults 100 sockets, 10 s)
  fanout R [ROUNDS] [--gap 100ms] [--round-timeout 10s] [--pad BYTES]
        R reader sockets (operator.read) and one admin socket that posts system-event
        {text:"bench-<round>",host:"bench"} per round (default 20); per reader, the time from
        the request to the presence event carrying that text: p50, p99, max, delivered/expected.
        --cluster N --bin PATH: start N gateways as one cluster (embedded NATS on loopback), spread
        the readers over them, post on the first (presence crosses the cluster); --gw-logs DIR keeps
        each gateway's output in DIR/gw-<i>.log (otherwise a failed run prints their last lines)
  agent-fanout R --bin PATH [--cmd gateway] [--deltas 20] [--chunk-delay 50ms] [--concurrent 1]
        [--watch all|own] [--runs 3] [--warmup 1] [--run-timeout 60s] [-- extra gateway args]
        start an in-process fake model provider and "PATH CMD --port P" configured to use it
        (CMD "gateway run" for the reference, "baseline-gateway" with this tool as PATH for the
        floor); R reader sockets (operator.read) and one admin socket that starts --concurrent
        agent runs per turn, each in its own session; per reader and piece of text, the time from
        the provider flushing it to the reader holding it (an "agent" assistant event that carries
        it: merged or coalesced events count for every piece they carry): p50, p99, max, every
        reader holds it, held/expected, events per piece, seq gaps, RSS. --watch own splits the
        readers among the runs (session-scoped-events, sessions.messages.subscribe). --cluster N:
        N gateways of PATH as one cluster (embedded NATS on loopback), the readers spread over them,
        the runs on the first (their deltas cross the cluster); --gw-logs DIR as for fanout
  slow R [--rounds 10] [--stuck-hold 2s] [--pad BYTES]
        fanout rounds with every reader reading, then reader 0 stops reading for as many more:
        the others' p99 without and with it, then whether the stuck one was closed or saw a gap
  restart N --pid P [--runs 5] [--timeout 60s]
        N sockets, SIGUSR1 to P (in-process restart): time from the signal to each socket's
        shutdown event and close (1012), and until all N have a fresh hello-ok
  pipeline [N] [--method health] [--params '{}']
        one admin socket sends N requests (default 1000) at once without waiting: how they were
        answered (ok, refused and retryable, failed, none) and, with --pid, the gateway's RSS
  soak --bin PATH [--duration 5m] [--warmup 20s] [--restart-every 1m]
        a real gateway under everything at once (connects and leaves, pipelined bursts,
        presence notes, agent turns with watchers, SIGUSR1), then whether it holds more
        goroutines, descriptors or memory at the end than after the warmup; exit 1 if so
  node-invoke [N] [--call-timeout 30s]
        a node played by the Go client (linux, declaring system.which, answering at once) and an
        admin that approves its commands, then calls node.invoke system.which N times (default
        1000) one after another: round trip p50, p90, p99, max (20 warm-up calls not counted)
  compare --ours BIN --ref CLI [--out docs/BENCHMARKS.md] [--raw docs/bench] [--budget 15m]
        run the same scenarios against the reference gateway and ours, one after the other,
        each on a fresh gateway; write the table and the raw JSON lines
  baseline-gateway --port P
        a bare gws server with the least of the protocol the scenarios need (token from
        OPENCLAW_GATEWAY_TOKEN): what this machine and this client allow at best

common flags (before or after the arguments):
  --url ws://127.0.0.1:18789 (env OPENCLAW_GATEWAY_URL; a comma-separated list spreads the sockets
        over several gateways: socket i goes to URL i mod n)  --token T (env OPENCLAW_GATEWAY_TOKEN)
  --pid PID  gateway process to sample (RSS, fds, CPU)      --json  one JSON line on stdout
  --concurrency 25  handshakes in flight                    --open-timeout 300s
A scenario that fails exits non-zero and still prints its result, the reason in "error".
`

var (
	logMu     sync.Mutex
	logOut    io.Writer = os.Stderr
	logQuiet  bool
	startTime = time.Now()
)

// logf prints a progress line on stderr.
func logf(format string, args ...any) {
	if logQuiet {
		return
	}
	logMu.Lock()
	defer logMu.Unlock()
	fmt.Fprintf(logOut, "[%6.2fs] %s\n", time.Since(startTime).Seconds(), fmt.Sprintf(format, args...))
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(os.Stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "baseline-gateway" {
		return baselineMain(args[1:])
	}
	var (
		res result
		err error
		cf  *common
	)
	load := loadAvg1()
	switch args[0] {
	case "startup":
		res, cf, err = cmdStartup(ctx, args[1:])
	case "conns":
		res, cf, err = cmdConns(ctx, args[1:])
	case "rpc":
		res, cf, err = cmdRPC(ctx, args[1:])
	case "echo-baseline":
		res, cf, err = cmdEcho(ctx, args[1:])
	case "fanout":
		res, cf, err = cmdFanout(ctx, args[1:])
	case "agent-fanout":
		res, cf, err = cmdAgentFanout(ctx, args[1:])
	case "slow":
		res, cf, err = cmdSlow(ctx, args[1:])
	case "restart":
		res, cf, err = cmdRestart(ctx, args[1:])
	case "compare":
		res, cf, err = cmdCompare(ctx, args[1:])
	case "soak":
		res, cf, err = cmdSoak(ctx, args[1:])
	case "pipeline":
		res, cf, err = cmdPipeline(ctx, args[1:])
	case "node-invoke":
		res, cf, err = cmdNodeInvoke(ctx, args[1:])
	default:
		fmt.Fprintf(os.Stderr, "openclaw-bench: unknown scenario %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	// A failed scenario still prints its result (one JSON line with --json),
	// with the reason in "error": a caller reading the output never sees
	// a failure without its cause.
	if err != nil {
		if res == nil {
			res.add("scenario", args[0])
		}
		res.add("error", err.Error())
	}
	// Other work on the machine skews every figure: say how busy it was.
	res.add("loadavg_1m_at_start", load)
	asJSON := cf != nil && cf.JSON
	if werr := res.write(stdout, asJSON); werr != nil {
		fmt.Fprintf(os.Stderr, "openclaw-bench: %v\n", werr)
		return 1
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "openclaw-bench %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// common holds the flags every scenario takes.
type common struct {
	URL         string
	Token       string
	PID         int
	JSON        bool
	Quiet       bool
	Concurrency int
	OpenTimeout time.Duration
}

func (c *common) register(fs *flag.FlagSet) {
	url := os.Getenv("OPENCLAW_GATEWAY_URL")
	if url == "" {
		url = "ws://127.0.0.1:18789"
	}
	fs.StringVar(&c.URL, "url", url, "gateway WebSocket URL, or a comma-separated list: the sockets are spread over them")
	fs.StringVar(&c.Token, "token", os.Getenv("OPENCLAW_GATEWAY_TOKEN"), "gateway token")
	fs.IntVar(&c.PID, "pid", 0, "gateway PID to sample from /proc")
	fs.BoolVar(&c.JSON, "json", false, "print one JSON line on stdout instead of a table")
	fs.BoolVar(&c.Quiet, "quiet", false, "no progress on stderr")
	fs.IntVar(&c.Concurrency, "concurrency", 25, "handshakes in flight while opening sockets (the gateway allows 32 pre-auth per IP)")
	fs.DurationVar(&c.OpenTimeout, "open-timeout", 300*time.Second, "give up opening sockets after this long")
}

func (c *common) check() error {
	logQuiet = c.Quiet
	if c.Concurrency < 1 || c.Concurrency > 1000 {
		return fmt.Errorf("--concurrency must be 1..1000")
	}
	if c.OpenTimeout <= 0 || c.OpenTimeout > maxSeconds*time.Second {
		c.OpenTimeout = maxSeconds * time.Second
	}
	return nil
}

// parseArgs parses flags that may appear before or after positional
// arguments; everything after a bare "--" is returned as extra.
func parseArgs(fs *flag.FlagSet, args []string) (pos, extra []string, err error) {
	for i, a := range args {
		if a == "--" {
			args, extra = args[:i], args[i+1:]
			break
		}
	}
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, extra, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.Usage = func() {
		fmt.Fprint(os.Stderr, usage)
		fmt.Fprintf(os.Stderr, "\nflags of %s:\n", name)
		fs.PrintDefaults()
	}
	return fs
}

func posInt(pos []string, i int, name string, def, lo, hi int) (int, error) {
	if i >= len(pos) {
		if def < 0 {
			return 0, fmt.Errorf("missing %s", name)
		}
		return def, nil
	}
	v, err := strconv.Atoi(pos[i])
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a number", name, pos[i])
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("%s must be %d..%d", name, lo, hi)
	}
	return v, nil
}

// sleepCtx sleeps d or until ctx ends; it reports whether it slept fully.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// watchdog ends the process if a scenario overruns its bound by far (a
// stuck peer must never keep the tool alive).
func watchdog(limit time.Duration) *time.Timer {
	return time.AfterFunc(limit, func() {
		fmt.Fprintf(os.Stderr, "openclaw-bench: watchdog: still running after %s, exiting\n", limit)
		os.Exit(3)
	})
}

// result is an ordered list of figures, printed as a table or one JSON line.
type result []kv

type kv struct {
	K string
	V any
}

func (r *result) add(k string, v any) { *r = append(*r, kv{k, v}) }

func (r result) write(w io.Writer, asJSON bool) error {
	if asJSON {
		var sb strings.Builder
		sb.WriteByte('{')
		for i, e := range r {
			if i > 0 {
				sb.WriteByte(',')
			}
			k, _ := json.Marshal(e.K)
			v, err := json.Marshal(jsonValue(e.V))
			if err != nil {
				return err
			}
			sb.Write(k)
			sb.WriteByte(':')
			sb.Write(v)
		}
		sb.WriteString("}\n")
		_, err := io.WriteString(w, sb.String())
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, e := range r {
		fmt.Fprintf(tw, "%s\t%s\n", e.K, textValue(e.V))
	}
	return tw.Flush()
}

func jsonValue(v any) any {
	if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return nil
	}
	return v
}

func textValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case map[string]int64:
		if len(x) == 0 {
			return "none"
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s=%d", k, x[k])
		}
		return strings.Join(parts, " ")
	case []float64:
		parts := make([]string, len(x))
		for i, f := range x {
			parts[i] = strconv.FormatFloat(f, 'f', -1, 64)
		}
		return strings.Join(parts, " ")
	}
	return fmt.Sprint(v)
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 3) }

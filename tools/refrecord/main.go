// Command refrecord records what the reference OpenClaw gateway (npm
// openclaw@2026.9.6) answers, so that our implementation can be built and
// table-tested against real answers. It starts the reference gateway in a
// throwaway HOME and state dir (loopback only, a fake model provider), puts
// a transparent WebSocket/HTTP tap in front of it, drives it, and writes
// scrubbed JSON under testdata/reference/:
//
//	go run ./tools/refrecord [-ref DIR] [-out DIR] [-phases methods,nodehost,cli,controlui,summary] [-keep]
//	go run ./tools/refrecord tap -upstream 127.0.0.1:PORT   (print every frame through a tap, as JSON lines)
//
// Phases (each on a fresh gateway, one at a time: the reference takes about
// 30 s to start and 800 MB):
//
//	methods    hello-ok variants, the operator methods, the scope probe of every method,
//	           the reference's method table and params schemas (testdata/reference/{hello,methods,protocol})
//	nodehost   the reference headless node host through the tap, paired and invoked with the
//	           reference CLI (testdata/reference/nodehost, testdata/reference/cli/nodes-*)
//	cli        the reference CLI commands that reach a gateway (testdata/reference/cli)
//	controlui  the reference Control UI in headless Chromium, each screen's methods
//	           (testdata/reference/controlui; screenshots in -screenshots, not in git)
//	summary    testdata/reference/SUMMARY.md from the recordings (no gateway)
//	rescrub    apply the scrubber's generic rules to the recordings again (no gateway)
//
// The reference install comes from bash .ci/install-reference.sh (-ref or
// OPENCLAW_REFERENCE_DIR; default .cache/reference).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// maxRun bounds a whole recording.
const maxRun = 60 * time.Minute

func main() {
	if len(os.Args) > 1 && os.Args[1] == "tap" {
		os.Exit(runTap(os.Args[2:]))
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("refrecord", flag.ContinueOnError)
	refDir := fs.String("ref", defaultRefDir(), "reference install dir (holds node_modules/openclaw)")
	out := fs.String("out", filepath.Join("testdata", "reference"), "output dir")
	phases := fs.String("phases", "methods,nodehost,cli,controlui,summary", "comma-separated phases to run")
	keep := fs.Bool("keep", false, "keep the throwaway gateway dirs")
	chromium := fs.String("chromium", "/usr/bin/chromium", "Chromium binary for the controlui phase")
	shots := fs.String("screenshots", filepath.Join(os.TempDir(), "refrecord-screens"), "where the controlui phase saves screenshots")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var ref *reference
	needsGateway := false
	for _, p := range strings.Split(*phases, ",") {
		if p = strings.TrimSpace(p); p != "summary" && p != "rescrub" {
			needsGateway = true
		}
	}
	if needsGateway {
		var err error
		if ref, err = findReference(*refDir); err != nil {
			fmt.Fprintln(os.Stderr, "refrecord:", err)
			return 1
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), maxRun)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	failed := false
	for _, p := range strings.Split(*phases, ",") {
		p = strings.TrimSpace(p)
		if p == "rescrub" {
			n, err := phaseRescrub(*out)
			if err != nil {
				fmt.Fprintf(os.Stderr, "refrecord: phase rescrub: %v\n", err)
				failed = true
			}
			logf("rescrub: %d files changed", n)
			continue
		}
		if p == "summary" {
			if err := phaseSummary(*out); err != nil {
				fmt.Fprintf(os.Stderr, "refrecord: phase summary: %v\n", err)
				failed = true
			}
			continue
		}
		r := newRecorder(ref, *out, *keep)
		t0 := time.Now()
		logf("phase %s", p)
		var err error
		switch p {
		case "methods":
			clean(*out, "methods", "hello", "protocol")
			err = r.phaseMethods(ctx)
		case "nodehost":
			clean(*out, "nodehost")
			cleanGlob(*out, "cli/nodes-*", "cli/devices-*")
			err = r.phaseNodeHost(ctx)
		case "cli":
			cleanGlob(*out, "cli/sweep-*", "cli/sweep.json")
			err = r.phaseCLI(ctx)
		case "controlui":
			clean(*out, "controlui")
			err = r.phaseControlUI(ctx, *chromium, *shots)
		default:
			err = fmt.Errorf("unknown phase %q (methods, nodehost, cli, controlui, summary, rescrub)", p)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "refrecord: phase %s: %v\n", p, err)
			failed = true
			if ctx.Err() != nil {
				break
			}
			continue
		}
		logf("phase %s done in %.0f s, %d files", p, time.Since(t0).Seconds(), r.wrote)
	}
	if failed {
		return 1
	}
	return 0
}

func defaultRefDir() string {
	if d := os.Getenv("OPENCLAW_REFERENCE_DIR"); d != "" {
		return d
	}
	return filepath.Join(".cache", "reference")
}

func clean(out string, dirs ...string) {
	for _, d := range dirs {
		_ = os.RemoveAll(filepath.Join(out, d))
	}
}

func cleanGlob(out string, globs ...string) {
	for _, g := range globs {
		files, _ := filepath.Glob(filepath.Join(out, g))
		for _, f := range files {
			_ = os.RemoveAll(f)
		}
	}
}

// runTap is the "tap" subcommand: a tap in front of a running gateway that
// prints every entry as a JSON line until interrupted.
func runTap(args []string) int {
	fs := flag.NewFlagSet("refrecord tap", flag.ContinueOnError)
	upstream := fs.String("upstream", "127.0.0.1:18789", "gateway host:port")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	t, err := startTap(*upstream)
	if err != nil {
		fmt.Fprintln(os.Stderr, "refrecord tap:", err)
		return 1
	}
	defer t.Close()
	fmt.Fprintf(os.Stderr, "refrecord tap: %s → %s\n", t.URL(), *upstream)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	enc := json.NewEncoder(os.Stdout)
	mark := 0
	for {
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		_, _ = t.Log.Wait(wctx, mark, func(Entry) bool { return true })
		cancel()
		for _, e := range t.Log.Since(mark) {
			_ = enc.Encode(struct {
				Entry
				Client string `json:"client"`
			}{e, t.Log.Label(e.Conn)})
			mark = e.N
		}
		if ctx.Err() != nil {
			return 0
		}
	}
}

package main

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// The Markdown report the compare scenario writes.

type recIndex map[string]*stepRecord // "<gateway>/<key>"

func indexRecs(recs []*stepRecord) recIndex {
	ix := recIndex{}
	for _, r := range recs {
		ix[r.Gateway+"/"+r.Key] = r
	}
	return ix
}

// num returns a number of a step's result.
func (ix recIndex) num(gw, key, field string) (float64, bool) {
	r := ix[gw+"/"+key]
	if r == nil || r.m == nil {
		return 0, false
	}
	v, ok := r.m[field].(float64)
	return v, ok
}

func (ix recIndex) val(gw, key, field string) any {
	r := ix[gw+"/"+key]
	if r == nil || r.m == nil {
		return nil
	}
	return r.m[field]
}

func (ix recIndex) label(key string) string {
	for _, gw := range []string{"ours", "reference"} {
		if r := ix[gw+"/"+key]; r != nil {
			return r.Step
		}
	}
	return key
}

// status says why a step has no figures ("" when it has).
func (ix recIndex) status(gw, key string) string {
	r := ix[gw+"/"+key]
	switch {
	case r == nil:
		return "not run"
	case r.Skipped != "":
		return "skipped"
	case r.m == nil:
		return "failed"
	}
	return ""
}

// fmtNum prints a figure with about three significant digits.
func fmtNum(v float64) string {
	a := math.Abs(v)
	switch {
	case v == math.Trunc(v) && a < 1e7:
		return groupThousands(strconv.FormatFloat(v, 'f', 0, 64))
	case a >= 100:
		return groupThousands(strconv.FormatFloat(v, 'f', 0, 64))
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

func groupThousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if len(s) <= 4 {
		if neg {
			return "-" + s
		}
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// ratio compares the reference's figure with ours in words.
func ratio(ref, ours float64) string {
	if ref <= 0 || ours <= 0 {
		return "–"
	}
	x := ref / ours
	switch {
	case x >= 1.05:
		return fmt.Sprintf("ours %s× lower", fmtRatio(x))
	case x <= 1/1.05:
		return fmt.Sprintf("ours %s× higher", fmtRatio(1/x))
	}
	return "about the same"
}

func fmtRatio(x float64) string {
	if x >= 10 {
		return groupThousands(strconv.FormatFloat(math.Round(x), 'f', 0, 64))
	}
	return strconv.FormatFloat(x, 'f', 1, 64)
}

type docRow struct {
	label string
	key   string
	get   func(ix recIndex, gw string) (float64, string, bool) // number, or text when it is not one
	ratio bool
}

func renderDoc(m map[string]any, recs []*stepRecord, withRef bool) string {
	ix := indexRecs(recs)
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	num := func(key, name string) func(ix recIndex, gw string) (float64, string, bool) {
		return func(ix recIndex, gw string) (float64, string, bool) {
			v, ok := ix.num(gw, key, name)
			return v, "", ok
		}
	}
	heldOf := func(key string) func(ix recIndex, gw string) (float64, string, bool) {
		return func(ix recIndex, gw string) (float64, string, bool) {
			h, ok1 := ix.num(gw, key, "held_at_end")
			n, ok2 := ix.num(gw, key, "requested")
			e, _ := ix.num(gw, key, "errors")
			if !ok1 || !ok2 {
				return 0, "", false
			}
			return 0, fmt.Sprintf("%s / %s (%s errors)", fmtNum(h), fmtNum(n), fmtNum(e)), true
		}
	}
	treeOr := func(key, tree, proc string) func(ix recIndex, gw string) (float64, string, bool) {
		return func(ix recIndex, gw string) (float64, string, bool) {
			if v, ok := ix.num(gw, key, tree); ok {
				return v, "", true
			}
			v, ok := ix.num(gw, key, proc)
			return v, "", ok
		}
	}
	delivered := func(key string) func(ix recIndex, gw string) (float64, string, bool) {
		return func(ix recIndex, gw string) (float64, string, bool) {
			d, ok1 := ix.num(gw, key, "delivered")
			e, ok2 := ix.num(gw, key, "expected")
			if !ok1 || !ok2 {
				return 0, "", false
			}
			return 0, fmt.Sprintf("%s / %s", fmtNum(d), fmtNum(e)), true
		}
	}
	text := func(key, name string) func(ix recIndex, gw string) (float64, string, bool) {
		return func(ix recIndex, gw string) (float64, string, bool) {
			v := ix.val(gw, key, name)
			if v == nil {
				return 0, "", false
			}
			return 0, fmt.Sprint(v), true
		}
	}
	c1, c10 := ix.label("conns1"), ix.label("conns10")
	rows := []docRow{
		{"idle RSS after start and 3 more handshakes, gateway process (MB)", "startup", num("startup", "idle_rss_served_mb_median"), true},
		{"idle RSS after start, with its helper processes (MB)", "startup", num("startup", "idle_rss_tree_mb_median"), true},
		{"start → first authenticated hello-ok (ms, median)", "startup", num("startup", "hello_ok_ms_median"), true},
		{"the same, first run: the binary read from disk (ms)", "startup", num("startup", "hello_ok_ms_first_run"), true},
		{"SIGTERM → exit (ms, median)", "startup", num("startup", "shutdown_ms_median"), true},
		{c1 + ": sockets held / requested", "conns1", heldOf("conns1"), false},
		{c1 + ": gateway RSS with them open (MB)", "conns1", num("conns1", "gw_rss_after_mb"), true},
		{c1 + ": RSS per socket (KiB)", "conns1", num("conns1", "gw_kib_per_socket"), true},
		{c1 + ": handshake p50 (ms)", "conns1", num("conns1", "handshake_p50_ms"), true},
		{c1 + ": handshake p99 (ms)", "conns1", num("conns1", "handshake_p99_ms"), true},
		{c10 + ": sockets held / requested", "conns10", heldOf("conns10"), false},
		{c10 + ": gateway RSS with them open (MB)", "conns10", num("conns10", "gw_rss_after_mb"), true},
		{c10 + ": the same with helper processes (MB)", "conns10", treeOr("conns10", "gw_tree_rss_after_mb", "gw_rss_after_mb"), true},
		{c10 + ": RSS per socket (KiB)", "conns10", num("conns10", "gw_kib_per_socket"), true},
		{c10 + ": handshake p99 (ms)", "conns10", num("conns10", "handshake_p99_ms"), true},
		{c10 + ": sockets opened per second", "conns10", num("conns10", "open_rate_per_s"), true},
		{ix.label("rpc") + ": health round trips per second", "rpc", num("rpc", "rps"), true},
		{ix.label("rpc") + ": round trip p50 (ms)", "rpc", num("rpc", "p50_ms"), true},
		{ix.label("rpc") + ": round trip p99 (ms)", "rpc", num("rpc", "p99_ms"), true},
		{ix.label("rpc") + ": gateway CPU (% of one core)", "rpc", num("rpc", "gw_cpu_pct"), true},
		{ix.label("rpc") + ": load tool CPU (% of one core)", "rpc", num("rpc", "client_cpu_pct"), false},
		{ix.label("fanout") + ": presence event p50 (ms)", "fanout", num("fanout", "p50_ms"), true},
		{ix.label("fanout") + ": presence event p99 (ms)", "fanout", num("fanout", "p99_ms"), true},
		{ix.label("fanout") + ": presence event max (ms)", "fanout", num("fanout", "max_ms"), true},
		{ix.label("fanout") + ": every reader has it, p50 over rounds (ms)", "fanout", num("fanout", "all_readers_p50_ms"), true},
		{ix.label("fanout") + ": delivered / expected", "fanout", delivered("fanout"), false},
		{ix.label("slow") + ": the others' p99, no stuck reader (ms)", "slow", num("slow", "others_p99_ms_without_stuck"), true},
		{ix.label("slow") + ": the others' p99, one reader stuck (ms)", "slow", num("slow", "others_p99_ms_with_stuck"), true},
		{ix.label("slow") + ": the stuck reader", "slow", text("slow", "stuck_outcome"), false},
		{ix.label("slowbig") + ": the others' p99, no stuck reader (ms)", "slowbig", num("slowbig", "others_p99_ms_without_stuck"), true},
		{ix.label("slowbig") + ": the others' p99, one reader stuck (ms)", "slowbig", num("slowbig", "others_p99_ms_with_stuck"), true},
		{ix.label("slowbig") + ": the stuck reader", "slowbig", text("slowbig", "stuck_outcome"), false},
		{ix.label("agent1") + ": piece of text held, p50 (ms)", "agent1", num("agent1", "p50_ms"), true},
		{ix.label("agent1") + ": piece of text held, p99 (ms)", "agent1", num("agent1", "p99_ms"), true},
		{ix.label("agent1") + ": piece of text held, max (ms)", "agent1", num("agent1", "max_ms"), true},
		{ix.label("agent1") + ": every reader holds it, p99 over pieces (ms)", "agent1", num("agent1", "all_readers_p99_ms"), true},
		{ix.label("agent1") + ": pieces held / expected", "agent1", delivered("agent1"), false},
		{ix.label("agent1") + ": assistant events read per piece", "agent1", num("agent1", "events_per_piece"), false},
	}

	w("# Benchmarks: the reference gateway and ours\n\n")
	w("Generated by `%s` on %s. Every figure comes from the same load tool (`cmd/openclaw-bench`, Go, gws), run against each gateway in turn on the same machine, one gateway at a time (ours, then the reference, then a bare gws server as the floor, then ours alone for the restart and the scale points), each load scenario on a freshly started gateway (token auth, no channels, loopback, fresh HOME and state dir). The raw JSON lines are in [`docs/bench/`](bench/).\n\n",
		m["command"], m["date"])
	w("| | |\n|---|---|\n")
	w("| machine | %v, %v CPUs (nproc), %v GiB RAM, Linux %v |\n", m["cpu"], m["nproc"], m["memory_gib"], m["kernel"])
	w("| date | %v |\n", m["date"])
	if withRef {
		w("| reference | %v |\n", m["version_reference"])
	}
	w("| ours | %v |\n", m["version_ours"])
	w("| load tool | `%v`, fd limit %v |\n", m["go_client"], m["nofile"])
	w("| command | `%v` (runs `%v`) |\n", m["command"], m["argv"])
	w("| load average at start | %v |\n", m["loadavg_1m_at_start"])
	w("| whole run | %v s |\n\n", m["total_seconds"])

	w("## Reference vs ours\n\n")
	if withRef {
		w("| metric | reference | ours | ratio |\n|---|---:|---:|---|\n")
	} else {
		w("| metric | ours |\n|---|---:|\n")
	}
	cell := func(r docRow, gw string) (string, float64, bool) {
		if s := ix.status(gw, r.key); s != "" {
			return s, 0, false
		}
		v, t, ok := r.get(ix, gw)
		if !ok {
			return "–", 0, false
		}
		if t != "" {
			return t, 0, false
		}
		return fmtNum(v), v, true
	}
	for _, r := range rows {
		o, ov, ook := cell(r, "ours")
		if !withRef {
			w("| %s | %s |\n", r.label, o)
			continue
		}
		rf, rv, rok := cell(r, "reference")
		rt := ""
		if r.ratio && ook && rok {
			rt = ratio(rv, ov)
		}
		w("| %s | %s | %s | %s |\n", r.label, rf, o, rt)
	}
	w("\n")
	w("Ratio: the reference's figure over ours, in words (\"ours 40× lower\"): lower is better for memory and time, higher for round trips per second. ")
	w("RSS is the gateway process's VmRSS from /proc; \"with helper processes\" adds the processes it started (the reference runs a spawn broker and a sqlite worker; ours runs none). ")
	w("Before its first start the startup scenario drops the named binary's pages from the page cache (`--cold`): a binary `go build` has just written is cached in large folios that a start maps whole, which reads up to 15 MB more RSS and a faster start than the same binary read from disk; the median is over the later runs' cache, the one the first start left (the reference's named file is its launcher script, its Node binary and modules stay cached). ")
	w("RSS per socket is (RSS with the sockets open − RSS before) ÷ sockets. Handshake = TCP connect to hello-ok, 25 handshakes in flight (the gateways refuse more than 32 unauthenticated sockets per IP). ")
	w("A presence event's latency is the time from writing the `system-event` request on the admin socket to a reader reading the `presence` event whose roster carries that round's text; rounds are at least 100 ms apart (both gateways coalesce presence broadcasts), after one unmeasured warm-up round. The load tool runs on the same CPUs as the gateway: see the floor below for what that costs.\n\n")

	w("An agent piece's latency (`agent-fanout`) is the time from the fake model provider (in the load tool's process, same clock) flushing piece k of a reply to a reader reading an `agent` assistant event of that run that carries piece k (its delta ends with it or a later one: a merged or coalesced event hands over several pieces at once, each counted when it arrives); %s pieces %s apart per reply, after one unmeasured warm-up turn.\n\n",
		fmtAny(ix.val("ours", "agent1", "deltas")), fmtAny(ix.val("ours", "agent1", "chunk_delay_ms"))+" ms")

	writeFloor(&b, ix, withRef)
	writeTargets(&b, ix, withRef)
	writeAgent(&b, ix)
	writeScale(&b, ix)
	writeRestart(&b, ix)
	writeSlow(&b, ix, withRef)
	writeSteps(&b, recs)
	return b.String()
}

// writeFloor puts the bare gws server's figures beside the gateways': the
// client and the gateway share this machine's CPUs, so no gateway can beat
// what a server that does nothing but write frames gets.
func writeFloor(b *strings.Builder, ix recIndex, withRef bool) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	if ix.status("baseline", "rpc") == "not run" && ix.status("baseline", "fanout") == "not run" {
		return
	}
	w("## The floor: a bare gws server\n\n")
	w("The load tool and the gateway share this machine's CPUs. The same scenarios against `openclaw-bench baseline-gateway` (a bare gws server in Go, its own process: it answers connect, broadcasts the presence roster on system-event with one pre-built frame per socket, streams an agent reply from the same fake provider as the agent and chat event of each piece to every socket in one write, no actors, no validation, no merging) show what the machine and the client allow at best.\n\n")
	gws := []string{"baseline", "ours"}
	if withRef {
		gws = append(gws, "reference")
	}
	tableHeader(w, "metric", gws)
	for _, f := range []struct{ key, name, label string }{
		{"conns10", "gw_rss_after_mb", ix.label("conns10") + ": server RSS (MB)"},
		{"conns10", "gw_kib_per_socket", ix.label("conns10") + ": RSS per socket (KiB)"},
		{"rpc", "rps", ix.label("rpc") + ": health round trips per second"},
		{"rpc", "p50_ms", ix.label("rpc") + ": p50 (ms)"},
		{"rpc", "p99_ms", ix.label("rpc") + ": p99 (ms)"},
		{"rpc", "client_cpu_pct", ix.label("rpc") + ": load tool CPU (%)"},
		{"rpc", "gw_cpu_pct", ix.label("rpc") + ": server CPU (%)"},
		{"fanout", "p50_ms", ix.label("fanout") + ": p50 (ms)"},
		{"fanout", "p99_ms", ix.label("fanout") + ": p99 (ms)"},
		{"fanout", "max_ms", ix.label("fanout") + ": max (ms)"},
		{"fanout", "all_readers_p50_ms", ix.label("fanout") + ": every reader has it, p50 (ms)"},
		{"fanout10", "p50_ms", ix.label("fanout10") + ": p50 (ms)"},
		{"fanout10", "p99_ms", ix.label("fanout10") + ": p99 (ms)"},
		{"fanout10", "all_readers_p50_ms", ix.label("fanout10") + ": every reader has it, p50 (ms)"},
		{"agent1", "p50_ms", ix.label("agent1") + ": piece held, p50 (ms)"},
		{"agent1", "p99_ms", ix.label("agent1") + ": piece held, p99 (ms)"},
		{"agent10", "p50_ms", ix.label("agent10") + ": piece held, p50 (ms)"},
		{"agent10", "p99_ms", ix.label("agent10") + ": piece held, p99 (ms)"},
		{"agent10", "all_readers_p99_ms", ix.label("agent10") + ": every reader holds it, p99 (ms)"},
		{"agent10", "missing", ix.label("agent10") + ": pieces never held"},
		{"agent10", "gw_cpu_pct", ix.label("agent10") + ": server CPU (%)"},
	} {
		w("| %s |", f.label)
		for _, g := range gws {
			if s := ix.status(g, f.key); s != "" {
				w(" %s |", s)
				continue
			}
			w(" %s |", fmtAny(ix.val(g, f.key, f.name)))
		}
		w("\n")
	}
	w("\n")
}

func writeTargets(b *strings.Builder, ix recIndex, withRef bool) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("## Against the targets (docs/ARCHITECTURE.md)\n\n| target | ours | met |\n|---|---:|---|\n")
	check := func(name string, v float64, ok bool, unit string, pass bool) {
		if !ok {
			w("| %s | – | not measured |\n", name)
			return
		}
		mark := "yes"
		if !pass {
			mark = "**no**"
		}
		w("| %s | %s %s | %s |\n", name, fmtNum(v), unit, mark)
	}
	// After a few handshakes: ours releases its start-up pages once it
	// serves, and the first hello-ok can come before or after that.
	v, ok := ix.num("ours", "startup", "idle_rss_served_mb_median")
	check("idle RSS after start ≤ 30 MB", v, ok, "MB", v <= 30)
	v, ok = ix.num("ours", "startup", "hello_ok_ms_median")
	check("start to accepting authenticated connections ≤ 100 ms", v, ok, "ms", v <= 100)
	v, ok = ix.num("ours", "conns10", "gw_kib_per_socket")
	check("10,000 idle sockets: ≤ 10 KiB/socket", v, ok, "KiB", v <= 10)
	v, ok = ix.num("ours", "conns10", "gw_rss_after_mb")
	check("10,000 idle sockets: ≤ 150 MB total", v, ok, "MB", v <= 150)
	h, ok1 := ix.num("ours", "conns19", "held_at_end")
	e, _ := ix.num("ours", "conns19", "errors")
	n, _ := ix.num("ours", "conns19", "requested")
	if ok1 {
		mark := "yes"
		if e != 0 || h != n {
			mark = "**no**"
		}
		w("| %s sockets held with zero errors | %s held, %s errors | %s |\n", fmtNum(n), fmtNum(h), fmtNum(e), mark)
	} else {
		w("| 19,500 sockets held with zero errors | – | not measured |\n")
	}
	if withRef {
		o, ok1 := ix.num("ours", "rpc", "rps")
		r, ok2 := ix.num("reference", "rpc", "rps")
		cpu, _ := ix.num("ours", "rpc", "client_cpu_pct")
		if ok1 && ok2 && r > 0 {
			mark := "yes"
			if o/r < 40 {
				mark = "**no**"
			}
			w("| health round trips ≥ 40× the reference | %s× (load tool at %s%% CPU) | %s |\n", fmtRatio(o/r), fmtNum(cpu), mark)
		}
	}
	v, ok = ix.num("ours", "fanout", "p99_ms")
	check("one presence broadcast to 1,000 readers: p99 ≤ 20 ms", v, ok, "ms", v <= 20)
	o, ok1 := ix.num("ours", "fanout10", "p99_ms")
	f, ok2 := ix.num("baseline", "fanout10", "p99_ms")
	if ok1 && ok2 && f > 0 {
		mark := "yes"
		if o/f > 2 {
			mark = "**no**"
		}
		w("| one presence broadcast to 10,000 readers: p99 within 2× the bare gws floor | %s ms, %s× the floor's %s ms | %s |\n", fmtNum(o), fmtRatio(o/f), fmtNum(f), mark)
	} else {
		w("| one presence broadcast to 10,000 readers: p99 within 2× the bare gws floor | – | not measured |\n")
	}
	agent := func(name, key string, limit float64) {
		v, ok := ix.num("ours", key, "p99_ms")
		miss, _ := ix.num("ours", key, "missing")
		if !ok {
			w("| %s | – | not measured |\n", name)
			return
		}
		mark := "yes"
		if v > limit || miss != 0 {
			mark = "**no**"
		}
		w("| %s | %s ms, %s pieces never held | %s |\n", name, fmtNum(v), fmtNum(miss), mark)
	}
	agent("one agent delta to 1,000 readers: p99 ≤ 10 ms, nothing lost", "agent1", 10)
	agent("one agent delta to 10,000 readers: p99 ≤ 50 ms, nothing lost", "agent10", 50)
	agent("10 concurrent runs × 1,000 watchers each: p99 ≤ 50 ms, nothing lost", "agent10x", 50)
	w("\n")
}

// writeAgent is the agent fan-out at every size: the time until each reader
// holds each piece of text.
func writeAgent(b *strings.Builder, ix recIndex) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	keys := []string{"agent1", "agent5", "agent10", "agent10x", "agent19"}
	ran := false
	for _, k := range keys {
		ran = ran || ix.status("ours", k) != "not run"
	}
	if !ran {
		return
	}
	w("## Agent fan-out (ours)\n\nOne agent reply streamed to N watching sockets (`agent-fanout N`), each on a fresh gateway; `--concurrent 10 --watch own`: 10 runs at once, each in its own session, the readers split among them (each subscribed to its run's session only).\n\n")
	tableHeader(w, "", func() []string {
		var l []string
		for _, k := range keys {
			l = append(l, ix.label(k))
		}
		return l
	}())
	for _, f := range []struct{ label, name string }{
		{"piece held, p50 (ms)", "p50_ms"},
		{"p90 (ms)", "p90_ms"},
		{"p99 (ms)", "p99_ms"},
		{"max (ms)", "max_ms"},
		{"every reader holds it, p50 / p99 over pieces (ms)", "all_readers_p50_ms|all_readers_p99_ms"},
		{"first reader holds it, p50 / p99 over pieces (ms)", "first_reader_p50_ms|first_reader_p99_ms"},
		{"pieces held / expected", "delivered|expected"},
		{"watchers without the chat final", "no_final"},
		{"assistant events read per piece", "events_per_piece"},
		{"merged events read", "merged_events"},
		{"seq gaps", "seq_gaps"},
		{"errors", "errors"},
		{"gateway CPU (% of one core)", "gw_cpu_pct"},
		{"gateway RSS peak (MB)", "gw_hwm_mb"},
		{"load average at start", "loadavg_1m_at_start"},
	} {
		w("| %s |", f.label)
		for _, k := range keys {
			if s := ix.status("ours", k); s != "" {
				w(" %s |", s)
				continue
			}
			var parts []string
			for _, name := range strings.Split(f.name, "|") {
				parts = append(parts, fmtAny(ix.val("ours", k, name)))
			}
			w(" %s |", strings.Join(parts, " / "))
		}
		w("\n")
	}
	w("\n")
}

func writeScale(b *strings.Builder, ix recIndex) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	type col struct{ conns, fan string }
	cols := []col{{"conns1", "fanout"}, {"conns10", "fanout10"}, {"conns19", "fanout19"}}
	w("## Scale (ours)\n\nIdle sockets (`conns N`, held 5 s) and one presence broadcast per round to N readers (`fanout N 20`), each on a fresh gateway.\n\n")
	w("| | %s | %s | %s |\n|---|---:|---:|---:|\n", ix.label("conns1"), ix.label("conns10"), ix.label("conns19"))
	row := func(label string, f func(c col) string) {
		w("| %s |", label)
		for _, c := range cols {
			w(" %s |", f(c))
		}
		w("\n")
	}
	n := func(key, name string) string {
		if s := ix.status("ours", key); s != "" {
			return s
		}
		if v, ok := ix.num("ours", key, name); ok {
			return fmtNum(v)
		}
		return "–"
	}
	row("sockets held / errors", func(c col) string {
		if s := ix.status("ours", c.conns); s != "" {
			return s
		}
		return n(c.conns, "held_at_end") + " / " + n(c.conns, "errors")
	})
	row("gateway RSS with them open (MB)", func(c col) string { return n(c.conns, "gw_rss_after_mb") })
	row("gateway RSS peak (MB)", func(c col) string { return n(c.conns, "gw_rss_peak_mb") })
	row("RSS per socket (KiB)", func(c col) string { return n(c.conns, "gw_kib_per_socket") })
	row("gateway threads", func(c col) string { return n(c.conns, "gw_threads_after") })
	row("sockets opened per second", func(c col) string { return n(c.conns, "open_rate_per_s") })
	row("handshake p50 / p99 (ms)", func(c col) string {
		return n(c.conns, "handshake_p50_ms") + " / " + n(c.conns, "handshake_p99_ms")
	})
	row("presence event to N readers: p50 (ms)", func(c col) string { return n(c.fan, "p50_ms") })
	row("p99 (ms)", func(c col) string { return n(c.fan, "p99_ms") })
	row("max (ms)", func(c col) string { return n(c.fan, "max_ms") })
	row("every reader has it, p50 over rounds (ms)", func(c col) string { return n(c.fan, "all_readers_p50_ms") })
	row("delivered / expected", func(c col) string {
		if s := ix.status("ours", c.fan); s != "" {
			return s
		}
		return n(c.fan, "delivered") + " / " + n(c.fan, "expected")
	})
	row("load tool RSS (MB)", func(c col) string { return n(c.conns, "client_rss_mb") })
	w("\n")
}

func writeRestart(b *strings.Builder, ix recIndex) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("## In-process restart (ours only)\n\n")
	if s := ix.status("ours", "restart"); s != "" {
		w("`%s`: %s.\n\n", ix.label("restart"), s)
		return
	}
	n := func(name string) string {
		v := ix.val("ours", "restart", name)
		switch x := v.(type) {
		case nil:
			return "–"
		case float64:
			return fmtNum(x)
		case []any:
			parts := make([]string, len(x))
			for i, e := range x {
				if f, ok := e.(float64); ok {
					parts[i] = fmtNum(f)
				} else {
					parts[i] = fmt.Sprint(e)
				}
			}
			return strings.Join(parts, ", ")
		case map[string]any:
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
				parts[i] = fmt.Sprintf("%s ×%v", k, x[k])
			}
			return strings.Join(parts, ", ")
		}
		return fmt.Sprint(v)
	}
	w("`%s`: %s authenticated sockets; SIGUSR1 to the gateway; each socket reconnects as soon as it is closed, retrying every 50 ms, at most 25 handshakes in flight. The reference has no in-process restart.\n\n", ix.label("restart"), n("sockets"))
	w("| | ours |\n|---|---:|\n")
	w("| signal → all sockets back with a fresh hello-ok, p50 over %s runs (ms) | %s |\n", n("runs"), n("restart_total_ms_p50"))
	w("| each run (ms) | %s |\n", n("restart_total_ms_runs"))
	w("| signal → shutdown event, p50 (ms) | %s |\n", n("shutdown_event_ms_p50"))
	w("| signal → close, p50 (ms) / max per run | %s / %s |\n", n("close_ms_p50"), n("close_ms_max_runs"))
	w("| signal → fresh hello-ok, p50 (ms) | %s |\n", n("reconnect_hello_ms_p50"))
	w("| close codes | %s |\n", n("close_codes"))
	w("| restartExpectedMs in the shutdown event | %s |\n", n("restart_expected_ms"))
	w("| failed reconnect attempts (retried) | %s |\n", n("reconnect_retries"))
	w("| errors | %s |\n", n("errors"))
	w("| goroutines: idle / %s sockets before / after the restarts | %s / %s / %s |\n", n("sockets"), n("gw_goroutines_idle"), n("gw_goroutines_before"), n("gw_goroutines_after"))
	w("| Go heap in use (MB, from status): idle / before / after | %s / %s / %s |\n", n("gw_heap_alloc_mb_idle"), n("gw_heap_alloc_mb_before"), n("gw_heap_alloc_mb_after"))
	w("| RSS (MB): idle / before / after | %s / %s / %s |\n\n", n("gw_rss_idle_mb"), n("gw_rss_before_mb"), n("gw_rss_after_mb"))
}

func writeSlow(b *strings.Builder, ix recIndex, withRef bool) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("## A reader that stops reading\n\n")
	w("After one unmeasured warm-up round, some rounds with every reader reading, then reader 0 blocks its read loop for as many rounds more and is released a little after the last; then one more round is posted. `--pad` makes every presence event that much bigger, so that the stuck socket's backlog passes the gateway's limit.\n\n")
	for _, key := range []string{"slow", "slowbig"} {
		if ix.status("ours", key) == "not run" && ix.status("reference", key) == "not run" {
			continue
		}
		writeSlowTable(b, ix, withRef, key)
	}
	w("docs/PROTOCOL.md §6.2: presence is droppable, so a stuck socket should lose presence events (a seq gap) once its backlog passes `maxBufferedBytes` (50 MiB), or be closed 1008 for anything that is not droppable; below that the kernel's socket buffers and the gateway's queue hold everything and the reader catches up when it reads again.\n\n")
}

func writeSlowTable(b *strings.Builder, ix recIndex, withRef bool, key string) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("`%s`: %s rounds each phase, released %s s after the last.\n\n",
		ix.label(key), fmtAny(ix.val("ours", key, "rounds_each_phase")), fmtAny(ix.val("ours", key, "stuck_hold_s")))
	gws := []string{"ours"}
	if withRef {
		gws = []string{"reference", "ours"}
	}
	tableHeader(w, "", gws)
	for _, f := range []struct{ label, name string }{
		{"others' p50 / p99, no stuck reader (ms)", "others_p50_ms_without_stuck|others_p99_ms_without_stuck"},
		{"others' p50 / p99, one reader stuck (ms)", "others_p50_ms_with_stuck|others_p99_ms_with_stuck"},
		{"delivered without / with (each)", "delivered_without_stuck|delivered_with_stuck"},
		{"stuck reader closed", "stuck_closed"},
		{"its close", "stuck_close"},
		{"its seq gaps after release", "stuck_seq_gaps"},
		{"presence events it read after release", "stuck_presence_after_release"},
		{"last round it saw / the last round posted", "stuck_last_round_seen|last_round_posted"},
		{"it gets the next round after release", "stuck_got_next_round"},
		{"outcome", "stuck_outcome"},
	} {
		w("| %s |", f.label)
		for _, g := range gws {
			if s := ix.status(g, key); s != "" {
				w(" %s |", s)
				continue
			}
			var parts []string
			for _, name := range strings.Split(f.name, "|") {
				parts = append(parts, fmtAny(ix.val(g, key, name)))
			}
			w(" %s |", strings.Join(parts, " / "))
		}
		w("\n")
	}
	w("\n")
}

func fmtAny(v any) string {
	switch x := v.(type) {
	case nil:
		return "–"
	case float64:
		return fmtNum(x)
	case bool:
		if x {
			return "yes"
		}
		return "no"
	}
	return fmt.Sprint(v)
}

func writeSteps(b *strings.Builder, recs []*stepRecord) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("## Steps\n\nEach load step started the gateway fresh (`<bin> gateway --port P --allow-unconfigured` for ours, `openclaw gateway run --port P --allow-unconfigured --bind loopback` for the reference, with `OPENCLAW_GATEWAY_TOKEN`, a throwaway `HOME` and `OPENCLAW_STATE_DIR`), waited for an authenticated hello-ok, ran the command below with `--url ws://127.0.0.1:P --pid <gateway pid>`, then stopped the gateway (SIGTERM, then SIGKILL of its process group and helpers after 15 s). The startup and agent-fanout steps start their gateway themselves (`--bin`); agent-fanout writes a config naming its in-process fake provider as the default model instead of `--allow-unconfigured`.\n\n")
	w("| gateway | step | command | gateway ready (ms) | seconds | load avg | outcome |\n|---|---|---|---:|---:|---:|---|\n")
	for _, r := range recs {
		out := "ok"
		switch {
		case r.Skipped != "":
			out = "skipped: " + r.Skipped
		case r.Error != "":
			out = "exit " + strconv.Itoa(r.Exit) + ": " + r.Error
		}
		ready := "–"
		if r.GatewayReadyMs > 0 {
			ready = fmtNum(r.GatewayReadyMs)
		}
		load := "–"
		if r.m != nil {
			load = fmtAny(r.m["loadavg_1m_at_start"])
		}
		w("| %s | %s | `%s` | %s | %s | %s | %s |\n", r.Gateway, r.Step, r.Command, ready, fmtNum(r.Seconds), load, strings.ReplaceAll(out, "|", "\\|"))
	}
	w("\n")
}

// tableHeader writes a Markdown table header: a label column, then one
// right-aligned column per name.
func tableHeader(w func(format string, args ...any), first string, cols []string) {
	if first == "" {
		w("| |")
	} else {
		w("| %s |", first)
	}
	for _, c := range cols {
		w(" %s |", c)
	}
	w("\n|---|")
	for range cols {
		w("---:|")
	}
	w("\n")
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/lxzan/gws"

	"openclaw/transport/provider/fakeprovider"
)

// The agent-fanout scenario: the tool runs an instant fake model provider
// in-process and starts the gateway under test (--bin) configured to use it
// as its default model. R reader sockets (operator.read) watch; one admin
// socket (operator.admin) starts an agent run per turn. The provider streams
// --deltas text deltas --chunk-delay apart; the gateway emits one "agent"
// event with stream "assistant" per delta, in order. A reader's latency for
// delta k is the time from the provider flushing chunk k (its OnChunk hook,
// same process and monotonic clock) to the reader reading its k-th assistant
// event of that run.

type agentRunState struct {
	key       string
	provSeq   atomic.Int64   // the provider request serving this run (0: not yet)
	sent      []atomic.Int64 // per delta: readers' bench clock when the chunk was flushed
	cnt       []atomic.Int32 // per reader idx: assistant events of this run read
	recv      []atomic.Int64 // [idx*deltas+k]: bench clock when reader idx read delta k
	remaining atomic.Int64
	done      chan struct{} // every reader has every delta
	final     chan struct{} // the agent request's final response
	finalOnce atomic.Bool
	status    atomic.Pointer[string]
}

type agentFanout struct {
	readers *bench
	admin   *bench
	adminC  *bconn
	conns   []*bconn
	deltas  int

	cur       atomic.Pointer[agentRunState]
	lat       atomic.Pointer[histogram] // nil during warm-up (only the driver uses it)
	noSent    atomic.Int64              // events read before the provider's send time was known
	extra     atomic.Int64              // assistant events beyond --deltas
	agentErrs errCounter
}

func (af *agentFanout) onChunk(seq, index int, at time.Time) {
	rs := af.cur.Load()
	if rs == nil || index >= len(rs.sent) {
		return
	}
	if !rs.provSeq.CompareAndSwap(0, int64(seq)) && rs.provSeq.Load() != int64(seq) {
		return // another provider request (not this run's reply)
	}
	v := int64(at.Sub(af.readers.base))
	if v <= 0 {
		v = 1
	}
	rs.sent[index].Store(v)
}

func (af *agentFanout) onReader(c *bconn, f *frame, raw []byte) {
	if string(f.typ) != "event" || string(f.event) != "agent" {
		return
	}
	now := af.readers.now()
	rs := af.cur.Load()
	if rs == nil {
		return
	}
	p := field(raw, "payload")
	if string(unquote(field(p, "stream"))) != "assistant" || string(unquote(field(p, "runId"))) != rs.key {
		return
	}
	k := int(rs.cnt[c.idx].Add(1)) - 1
	if k >= af.deltas {
		af.extra.Add(1)
		return
	}
	rs.recv[c.idx*af.deltas+k].Store(now)
	if rs.remaining.Add(-1) == 0 {
		close(rs.done)
	}
}

func (af *agentFanout) onAdmin(_ *bconn, f *frame, raw []byte) {
	rs := af.cur.Load()
	if string(f.typ) != "res" || rs == nil || string(f.id) != rs.key {
		return
	}
	status := string(unquote(field(field(raw, "payload"), "status")))
	if f.ok == 1 && status == "accepted" {
		return
	}
	if f.ok != 1 {
		af.agentErrs.add("agent_"+string(unquote(field(f.err, "code"))), string(unquote(field(f.err, "message"))))
		status = "error"
	} else if status != "ok" && status != "" {
		af.agentErrs.add("agent_status_"+status, truncate(string(raw), 200))
	}
	if rs.finalOnce.CompareAndSwap(false, true) {
		rs.status.Store(&status)
		close(rs.final)
	}
}

// run does one agent turn and waits until every reader has every delta and
// the agent request answered finally, or timeout. It returns the deliveries
// missing and the readers that missed some.
func (af *agentFanout) run(ctx context.Context, i int, timeout time.Duration) (missing int64, missed []int) {
	rs := &agentRunState{key: fmt.Sprintf("bench-%d-%s", i, uuid.NewString()[:8]),
		sent: make([]atomic.Int64, af.deltas), done: make(chan struct{}), final: make(chan struct{})}
	maxIdx := 0
	for _, c := range af.conns {
		maxIdx = max(maxIdx, c.idx)
	}
	rs.cnt = make([]atomic.Int32, maxIdx+1)
	rs.recv = make([]atomic.Int64, (maxIdx+1)*af.deltas)
	rs.remaining.Store(int64(len(af.conns)) * int64(af.deltas))
	req, _ := json.Marshal(map[string]any{"type": "req", "id": rs.key, "method": "agent",
		"params": map[string]any{"message": "go", "idempotencyKey": rs.key}})
	af.cur.Store(rs)
	if err := af.adminC.ws.WriteMessage(gws.OpcodeText, req); err != nil {
		af.agentErrs.add("admin_write", err.Error())
		return rs.remaining.Load(), nil
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	for _, ch := range []chan struct{}{rs.done, rs.final} {
		select {
		case <-ch:
		case <-t.C:
		case <-ctx.Done():
		}
	}
	select {
	case <-rs.final:
	default:
		af.agentErrs.add("agent_no_final", "no final agent response within "+timeout.String())
	}
	// Latencies now: the provider's hook for chunk k may run after a
	// reader already has it (it reports the time the write began).
	h := af.lat.Load()
	for _, c := range af.conns {
		if int(rs.cnt[c.idx].Load()) < af.deltas {
			missed = append(missed, c.idx)
		}
		if h == nil {
			continue
		}
		for k := range af.deltas {
			recv := rs.recv[c.idx*af.deltas+k].Load()
			if recv == 0 {
				continue
			}
			if sent := rs.sent[k].Load(); sent == 0 {
				af.noSent.Add(1)
			} else {
				h.record(time.Duration(recv - sent))
			}
		}
	}
	return max(rs.remaining.Load(), 0), missed
}

// agentConfig is the gateway config: the token and the fake provider as the
// default model.
func agentConfig(token, providerURL string) []byte {
	b, _ := json.Marshal(map[string]any{
		"gateway": map[string]any{"auth": map[string]any{"token": token}},
		"models": map[string]any{"providers": map[string]any{"mock": map[string]any{
			"baseUrl": providerURL, "apiKey": "x", "api": "openai-completions",
			"models": []any{map[string]any{"id": "m", "name": "M"}},
		}}},
		"agents": map[string]any{"defaults": map[string]any{"model": map[string]any{"primary": "mock/m"}}},
	})
	return b
}

func cmdAgentFanout(ctx context.Context, args []string) (result, *common, error) {
	fs := newFlagSet("agent-fanout")
	var cf common
	cf.register(fs)
	bin := fs.String("bin", "", "gateway binary (run as: BIN gateway --port P, with a config naming the fake provider)")
	deltas := fs.Int("deltas", 50, "text deltas per reply")
	chunkDelay := fs.Duration("chunk-delay", 20*time.Millisecond, "provider pause between two chunks")
	runs := fs.Int("runs", 3, "measured agent turns")
	warmup := fs.Int("warmup", 1, "unmeasured agent turns first")
	runTimeout := fs.Duration("run-timeout", 60*time.Second, "give up on a turn's missing deliveries after this long")
	startTimeout := fs.Duration("timeout", 60*time.Second, "give up waiting for the gateway's hello-ok after this long")
	pos, _, err := parseArgs(fs, args)
	if err != nil {
		return nil, &cf, err
	}
	if err := cf.check(); err != nil {
		return nil, &cf, err
	}
	n, err := posInt(pos, 0, "R", -1, 1, maxConns)
	if err != nil {
		return nil, &cf, err
	}
	if len(pos) > 1 {
		return nil, &cf, fmt.Errorf("unexpected argument %q", pos[1])
	}
	switch {
	case *bin == "":
		return nil, &cf, fmt.Errorf("--bin is required")
	case *deltas < 1 || *deltas > 10000:
		return nil, &cf, fmt.Errorf("--deltas must be 1..10000")
	case *chunkDelay < 0 || *chunkDelay > 10*time.Second:
		return nil, &cf, fmt.Errorf("--chunk-delay must be in [0, 10s]")
	case *runs < 1 || *runs > maxRuns:
		return nil, &cf, fmt.Errorf("--runs must be 1..%d", maxRuns)
	case *warmup < 0 || *warmup > 10:
		return nil, &cf, fmt.Errorf("--warmup must be 0..10")
	case *runTimeout <= 0 || *runTimeout > maxSeconds*time.Second:
		return nil, &cf, fmt.Errorf("--run-timeout must be in (0, %ds]", maxSeconds)
	case *startTimeout <= 0 || *startTimeout > 120*time.Second:
		return nil, &cf, fmt.Errorf("--timeout must be in (0, 120s]")
	}
	binPath, err := absBinary(*bin)
	if err != nil {
		return nil, &cf, err
	}
	token := cf.Token
	if token == "" {
		token = "bench-" + strings.ReplaceAll(uuid.NewString(), "-", "")
	}
	turns := *runs + *warmup
	wd := watchdog(*startTimeout + cf.OpenTimeout + time.Duration(turns)*(*runTimeout) + 2*time.Minute)
	defer wd.Stop()

	// The provider: one reply shape for every request, kept nothing.
	prov, err := fakeprovider.Start("")
	if err != nil {
		return nil, &cf, err
	}
	defer prov.Close()
	prov.KeepRequests(0)
	words := make([]string, *deltas)
	for i := range words {
		words[i] = "w" + strconv.Itoa(i)
	}
	prov.SetDefault(fakeprovider.Reply{Text: strings.Join(words, " "), ChunkDelay: *chunkDelay})

	logf("agent-fanout: starting %s gateway (provider %s)", binPath, prov.URL)
	g, err := startGatewayConfig(ctx, binPath, []string{"gateway"}, nil, token, *startTimeout, agentConfig(token, prov.URL))
	if err != nil {
		return nil, &cf, err
	}
	defer g.stop()
	cf.URL, cf.Token, cf.PID = g.url, token, g.pid
	logf("agent-fanout: gateway pid %d on %s, ready in %.0f ms", g.pid, g.url, g.readyMs)
	checkLimits(n+1, g.pid)

	af := &agentFanout{deltas: *deltas}
	af.readers = newBench(g.url, token, false)
	af.readers.connectFrame = connectFrame(token, "operator.read")
	af.readers.hooks = &hooks{frame: af.onReader}
	af.admin = newBench(g.url, token, false)
	af.admin.base = af.readers.base
	af.admin.connectFrame = connectFrame(token, "operator.admin")
	af.admin.hooks = &hooks{frame: af.onAdmin}
	prov.OnChunk(af.onChunk)

	var r result
	r.add("scenario", "agent-fanout")
	r.add("bin", binPath)
	r.add("url", g.url)
	closeAll := func() {
		af.readers.closeAll(af.conns, 15*time.Second)
		if af.adminC != nil {
			af.admin.closeAll([]*bconn{af.adminC}, 5*time.Second)
		}
	}
	c, _, err := af.admin.dial(ctx, 10*time.Second)
	if err != nil {
		return nil, &cf, fmt.Errorf("admin socket: %w", err)
	}
	af.adminC = c
	logf("agent-fanout: opening %d readers (%d handshakes in flight)", n, cf.Concurrency)
	conns, d := af.readers.open(ctx, n, cf.Concurrency, time.Now().Add(cf.OpenTimeout), !cf.Quiet)
	af.conns = conns
	logf("agent-fanout: %d/%d readers open in %.2fs", len(conns), n, d.Seconds())
	if len(conns) == 0 {
		closeAll()
		af.readers.errs.logSamples()
		total, byKind, _ := af.readers.errs.snapshot()
		r.add("errors", total)
		r.add("errors_by_kind", byKind)
		return r, &cf, fmt.Errorf("no reader opened")
	}

	for i := 0; i < *warmup && ctx.Err() == nil; i++ {
		if m, _ := af.run(ctx, -1-i, *runTimeout); m > 0 {
			logf("  warm-up turn %d: %d deliveries missing", i+1, m)
		}
	}
	var lat histogram
	af.lat.Store(&lat)
	before := sampleGW(g.pid)
	missedReaders := map[int]bool{}
	var missing int64
	t0 := time.Now()
	ran := 0
	for i := 0; i < *runs && ctx.Err() == nil; i++ {
		ts := time.Now()
		m, missed := af.run(ctx, i, *runTimeout)
		ran++
		missing += m
		for _, idx := range missed {
			missedReaders[idx] = true
		}
		logf("  turn %d/%d: %.2fs, %d deliveries missing, %d readers missed deltas", i+1, *runs,
			time.Since(ts).Seconds(), m, len(missed))
	}
	elapsed := time.Since(t0)
	after := sampleGW(g.pid)
	af.cur.Store(nil)
	closeAll()
	af.readers.errs.logSamples()
	af.agentErrs.logSamples()
	how := g.stop()

	total, byKind, _ := af.readers.errs.snapshot()
	aTotal, aKinds, _ := af.agentErrs.snapshot()
	for k, v := range aKinds {
		byKind[k] += v
	}
	total += aTotal
	expected := int64(len(af.conns)) * int64(*deltas) * int64(ran)
	r.add("readers_requested", n)
	r.add("readers", len(af.conns))
	r.add("deltas", *deltas)
	r.add("chunk_delay_ms", ms(*chunkDelay))
	r.add("runs", ran)
	r.add("warmup_runs", *warmup)
	r.add("delivered", lat.count())
	r.add("expected", expected)
	r.add("missing", missing)
	r.add("readers_missing_deltas", len(missedReaders))
	r.add("no_send_time", af.noSent.Load())
	r.add("extra_events", af.extra.Load())
	r.add("p50_ms", lat.qms(0.50))
	r.add("p90_ms", lat.qms(0.90))
	r.add("p99_ms", lat.qms(0.99))
	r.add("max_ms", lat.maxms())
	r.add("mean_ms", ms(lat.mean()))
	r.add("provider_requests", prov.Served())
	r.add("errors", total)
	r.add("errors_by_kind", byKind)
	r.add("lost_readers", af.readers.lost.Load())
	r.add("seconds", round(elapsed.Seconds(), 3))
	r.add("handshake_p99_ms", ms(af.readers.hsLat.quantile(0.99)))
	r.add("gw_pid", g.pid)
	r.add("gw_ready_ms", round(g.readyMs, 1))
	if before.ok && after.ok {
		r.add("gw_rss_mb", mb(after.rssKB))
		r.add("gw_hwm_mb", mb(after.hwmKB))
		r.add("gw_cpu_pct", round(100*(after.cpu-before.cpu).Seconds()/elapsed.Seconds(), 1))
	}
	r.add("gw_exit", how)
	if ctx.Err() != nil {
		return r, &cf, fmt.Errorf("interrupted")
	}
	if lat.count() == 0 {
		return r, &cf, fmt.Errorf("no assistant delta delivered")
	}
	return r, &cf, nil
}

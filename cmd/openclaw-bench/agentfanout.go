package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/lxzan/gws"

	"openclaw/transport/provider/fakeprovider"
)

// The agent-fanout scenario: the tool runs an instant fake model provider
// in-process and starts the gateway under test (--bin, --cmd) configured to
// use it as its default model. R reader sockets (operator.read) watch; one
// admin socket (operator.admin) starts --concurrent agent runs per turn,
// each in its own session. The provider streams each run's reply as
// --deltas pieces ("w0", " w1", …) --chunk-delay apart.
//
// What is measured is the time until a reader holds a piece of text: from
// the provider flushing piece k (its OnChunk hook, same process and
// monotonic clock) to the reader reading an "agent" assistant event of that
// run whose delta ends with piece k or a later one. A gateway that merges
// the deltas of a reader that fell behind (docs/PROTOCOL.md §6.3), or
// coalesces them as the reference does, hands over several pieces in one
// event: each is counted when it arrives. The delta's last word names the
// last piece it carries, so the reader never parses the cumulative text.
//
// --watch all: every reader watches every run (what a gateway does for
// every operator.read socket). --watch own: the readers are split in
// --concurrent groups; each connects with the session-scoped-events cap and
// subscribes to its group's session only (sessions.messages.subscribe).

// afRun is one agent run of a turn.
type afRun struct {
	idx     int
	key     string // idempotency key = runId
	session string
	provSeq int // the provider request serving it (its position in the provider's order)
	final   chan struct{}
	once    atomic.Bool
	status  atomic.Pointer[string]
}

// afTurn is one turn: its runs and, per watching reader, the pieces held.
type afTurn struct {
	runs  []*afRun
	byKey map[string]*afRun // read-only once the turn is published
	// held[run*slots+idx]: how many pieces (0..deltas) reader idx holds
	// of run; written only by that reader's read goroutine.
	held []atomic.Int32
	// recv[(run*slots+idx)*deltas+k]: bench clock when it got piece k.
	recv      []atomic.Int64
	remaining atomic.Int64
	// final[run*slots+idx]: reader idx read run's chat final; finalsLeft
	// counts the watchers that have not.
	final      []atomic.Bool
	finalsLeft atomic.Int64
	done       chan struct{}
	doneOnce   atomic.Bool
}

// settle closes done once every watcher holds every piece and the final.
// Each counter is checked after the other is decremented, so whichever
// reaches zero last sees both at zero.
func (t *afTurn) settle() {
	if t.remaining.Load() == 0 && t.finalsLeft.Load() == 0 && t.doneOnce.CompareAndSwap(false, true) {
		close(t.done)
	}
}

type agentFanout struct {
	readers *bench
	admin   *bench
	adminC  *bconn
	conns   []*bconn
	slots   int // highest reader idx + 1
	deltas  int
	k       int  // runs per turn
	own     bool // --watch own

	cur      atomic.Pointer[afTurn]
	sentMu   sync.Mutex
	sent     map[int][]int64 // provider request seq -> per piece: bench clock when flushed
	lastSeq  []atomic.Int64  // per reader: the last frame seq
	gaps     atomic.Int64    // frame seq numbers skipped
	events   atomic.Int64    // assistant events of measured runs read
	merged   atomic.Int64    // of which stood for several run seqs (fromSeq)
	foreign  atomic.Int64    // events of runs a reader does not watch (--watch own)
	badDelta atomic.Int64    // assistant events whose delta names no piece
	subs     atomic.Int64    // subscriptions confirmed
	agentErr errCounter
	served   func() int // requests the provider has seen
}

func (af *agentFanout) watches(run, idx int) bool { return !af.own || idx%af.k == run }

func (af *agentFanout) onChunk(seq, index int, at time.Time) {
	v := int64(at.Sub(af.readers.base))
	if v <= 0 {
		v = 1
	}
	af.sentMu.Lock()
	defer af.sentMu.Unlock()
	s := af.sent[seq]
	if s == nil {
		s = make([]int64, af.deltas)
		af.sent[seq] = s
	}
	if index < len(s) {
		s[index] = v
	}
}

// lastPiece is the index of the last "w<k>" word in an assistant event's
// data.delta, or -1.
func lastPiece(payload []byte) int { return dataPiece(field(payload, "data")) }

// dataPiece is lastPiece of the event's data member.
func dataPiece(data []byte) int {
	d := field(data, "delta")
	if len(d) < 2 {
		return -1
	}
	i := len(d) - 2 // the last byte inside the quotes
	end := i + 1
	for i > 0 && d[i] >= '0' && d[i] <= '9' {
		i--
	}
	if i == end-1 || d[i] != 'w' {
		return -1
	}
	return int(atoi(d[i+1 : end]))
}

// evMembers are the members of an agent or chat event's payload the
// scenario reads, found in one pass over it: the client shares the CPUs
// with the gateway, and finding each member by its own scan of the frame
// was about a tenth of its CPU (perf, agent-fanout 10000).
type evMembers struct{ stream, runID, data, fromSeq, state []byte }

func scanEvent(p []byte) (m evMembers) {
	it, ok := newObjIter(p)
	if !ok {
		return m
	}
	for {
		k, v, ok := it.next()
		if !ok {
			return m
		}
		switch string(k) {
		case "stream":
			m.stream = unquote(v)
		case "runId":
			m.runID = unquote(v)
		case "data":
			m.data = v
		case "fromSeq":
			m.fromSeq = v
		case "state":
			m.state = unquote(v)
		}
	}
}

func (af *agentFanout) onReader(c *bconn, f *frame, raw []byte) {
	if f.seq >= 0 && c.idx < len(af.lastSeq) {
		if last := af.lastSeq[c.idx].Load(); last > 0 && f.seq > last+1 {
			af.gaps.Add(f.seq - last - 1)
		}
		af.lastSeq[c.idx].Store(f.seq)
	}
	if string(f.typ) == "res" && string(f.id) == "sub" {
		if f.ok == 1 && string(field(f.payload, "subscribed")) == "true" {
			af.subs.Add(1)
		} else {
			af.readers.errs.add("subscribe", truncate(string(raw), 200))
		}
		return
	}
	if string(f.typ) != "event" || (string(f.event) != "agent" && string(f.event) != "chat") {
		return
	}
	now := af.readers.now()
	t := af.cur.Load()
	if t == nil {
		return
	}
	p := scanEvent(f.payload)
	if string(f.event) == "chat" {
		af.onChat(c, t, &p)
		return
	}
	if string(p.stream) != "assistant" {
		return
	}
	r := t.byKey[string(p.runID)]
	if r == nil {
		return
	}
	if !af.watches(r.idx, c.idx) {
		af.foreign.Add(1)
		return
	}
	af.events.Add(1)
	if p.fromSeq != nil {
		af.merged.Add(1)
	}
	k := dataPiece(p.data)
	if k < 0 || k >= af.deltas {
		af.badDelta.Add(1)
		return
	}
	slot := r.idx*af.slots + c.idx
	h := int(t.held[slot].Load())
	if k < h {
		return
	}
	base := slot * af.deltas
	for j := h; j <= k; j++ {
		t.recv[base+j].Store(now)
	}
	t.held[slot].Store(int32(k + 1))
	if t.remaining.Add(-int64(k+1-h)) == 0 {
		t.settle()
	}
}

// onChat counts a watcher's chat final of a run once.
func (af *agentFanout) onChat(c *bconn, t *afTurn, p *evMembers) {
	if string(p.state) != "final" {
		return
	}
	r := t.byKey[string(p.runID)]
	if r == nil || !af.watches(r.idx, c.idx) {
		return
	}
	if t.final[r.idx*af.slots+c.idx].CompareAndSwap(false, true) && t.finalsLeft.Add(-1) == 0 {
		t.settle()
	}
}

func (af *agentFanout) onAdmin(_ *bconn, f *frame, raw []byte) {
	t := af.cur.Load()
	if string(f.typ) != "res" || t == nil {
		return
	}
	r := t.byKey[string(f.id)]
	if r == nil {
		return
	}
	status := string(unquote(field(field(raw, "payload"), "status")))
	if f.ok == 1 && status == "accepted" {
		return
	}
	if f.ok != 1 {
		af.agentErr.add("agent_"+string(unquote(field(f.err, "code"))), string(unquote(field(f.err, "message"))))
		status = "error"
	} else if status != "ok" && status != "" {
		af.agentErr.add("agent_status_"+status, truncate(string(raw), 200))
	}
	if r.once.CompareAndSwap(false, true) {
		r.status.Store(&status)
		close(r.final)
	}
}

// turnStats collects a measured turn's figures.
type turnStats struct {
	lat, all     histogram // per piece and watcher; per piece, until its last watcher held it
	first        histogram // per piece, until its first watcher held it: the gateway's own delay before the fan-out
	expected     int64
	missing      int64
	noFinal      int64 // watchers that never read a run's chat final
	noSend       int64
	missedReader map[int]bool
}

// turn starts the runs one after the other (each once the provider has
// seen the previous one's request, so the provider's request order names
// the run), then waits until every watcher holds every piece and every run
// answered its final, or timeout.
func (af *agentFanout) turn(ctx context.Context, id string, timeout time.Duration, st *turnStats) {
	t := &afTurn{byKey: map[string]*afRun{}, done: make(chan struct{})}
	for i := range af.k {
		r := &afRun{idx: i, key: fmt.Sprintf("bench-%s-%d-%s", id, i, uuid.NewString()[:8]),
			session: "agent:main:bench-" + strconv.Itoa(i), final: make(chan struct{})}
		t.runs = append(t.runs, r)
		t.byKey[r.key] = r
	}
	watchers := int64(0)
	for _, r := range t.runs {
		for _, c := range af.conns {
			if af.watches(r.idx, c.idx) {
				watchers++
			}
		}
	}
	t.held = make([]atomic.Int32, af.k*af.slots)
	t.recv = make([]atomic.Int64, af.k*af.slots*af.deltas)
	t.remaining.Store(watchers * int64(af.deltas))
	t.final = make([]atomic.Bool, af.k*af.slots)
	t.finalsLeft.Store(watchers)
	af.cur.Store(t)

	deadline := time.Now().Add(timeout)
	for _, r := range t.runs {
		base := af.served()
		req, _ := json.Marshal(map[string]any{"type": "req", "id": r.key, "method": "agent",
			"params": map[string]any{"message": "go", "idempotencyKey": r.key, "sessionKey": r.session}})
		if err := af.adminC.ws.WriteMessage(gws.OpcodeText, req); err != nil {
			af.agentErr.add("admin_write", err.Error())
			break
		}
		for af.served() == base && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		r.provSeq = base + 1
	}
	wait := func(ch chan struct{}) bool {
		select {
		case <-ch:
			return true
		case <-time.After(time.Until(deadline)):
		case <-ctx.Done():
		}
		return false
	}
	if watchers > 0 {
		wait(t.done)
	}
	for _, r := range t.runs {
		if !wait(r.final) {
			af.agentErr.add("agent_no_final", "no final agent response within "+timeout.String())
		}
	}
	if st == nil {
		return
	}
	// Latencies now: the provider's hook for piece k may run after a
	// reader already has it (it reports the time the write began).
	af.sentMu.Lock()
	defer af.sentMu.Unlock()
	for _, r := range t.runs {
		for _, c := range af.conns {
			if af.watches(r.idx, c.idx) && !t.final[r.idx*af.slots+c.idx].Load() {
				st.noFinal++
			}
		}
		sent := af.sent[r.provSeq]
		for k := range af.deltas {
			var last, first int64
			for _, c := range af.conns {
				if !af.watches(r.idx, c.idx) {
					continue
				}
				st.expected++
				recv := t.recv[(r.idx*af.slots+c.idx)*af.deltas+k].Load()
				switch {
				case recv == 0:
					st.missing++
					st.missedReader[c.idx] = true
				case sent == nil || sent[k] == 0:
					st.noSend++
				default:
					st.lat.record(time.Duration(recv - sent[k]))
					last = max(last, recv-sent[k])
					if first == 0 || recv-sent[k] < first {
						first = recv - sent[k]
					}
				}
			}
			if last > 0 {
				st.all.record(time.Duration(last))
				st.first.record(time.Duration(first))
			}
		}
		delete(af.sent, r.provSeq)
	}
}

// agentConfig is the gateway config: the token and the fake provider as the
// default model (gateway.mode "local": the reference will not start
// without it).
func agentConfig(token, providerURL string) []byte {
	b, _ := json.Marshal(agentConfigMap(token, providerURL))
	return b
}

// agentConfigMap is agentConfig before encoding (a cluster adds to it).
func agentConfigMap(token, providerURL string) map[string]any {
	return map[string]any{
		"gateway": map[string]any{"mode": "local", "auth": map[string]any{"token": token}},
		"models": map[string]any{"providers": map[string]any{"mock": map[string]any{
			"baseUrl": providerURL, "apiKey": "x", "api": "openai-completions",
			"models": []any{map[string]any{"id": "m", "name": "M"}},
		}}},
		"agents": map[string]any{"defaults": map[string]any{"model": map[string]any{"primary": "mock/m"}}},
	}
}

func cmdAgentFanout(ctx context.Context, args []string) (_ result, _ *common, err error) {
	fs := newFlagSet("agent-fanout")
	var cf common
	cf.register(fs)
	bin := fs.String("bin", "", "gateway binary (run as: BIN CMD --port P, with a config naming the fake provider)")
	sub := fs.String("cmd", "gateway", `the subcommand words before --port (the reference: "gateway run"; the floor: "baseline-gateway")`)
	deltas := fs.Int("deltas", 20, "text pieces per reply")
	chunkDelay := fs.Duration("chunk-delay", 50*time.Millisecond, "provider pause between two pieces")
	concurrent := fs.Int("concurrent", 1, "agent runs per turn, at once, each in its own session")
	watch := fs.String("watch", "all", `"all": every reader watches every run; "own": the readers are split among the runs (session-scoped-events + sessions.messages.subscribe)`)
	runs := fs.Int("runs", 3, "measured turns")
	warmup := fs.Int("warmup", 1, "unmeasured turns first")
	runTimeout := fs.Duration("run-timeout", 60*time.Second, "give up on a turn's missing pieces after this long")
	startTimeout := fs.Duration("timeout", 60*time.Second, "give up waiting for the gateway's hello-ok after this long")
	cluster := fs.Int("cluster", 0, "start this many gateways of --bin as one cluster (embedded NATS on loopback) and spread the readers over them; the runs start on the first")
	gwLogs := fs.String("gw-logs", "", "write each gateway's output to DIR/gw-<i>.log and keep it (default: into its throwaway dir, the last lines printed if the scenario fails)")
	pos, extra, err := parseArgs(fs, args)
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
	case *concurrent < 1 || *concurrent > 100:
		return nil, &cf, fmt.Errorf("--concurrent must be 1..100")
	case *watch != "all" && *watch != "own":
		return nil, &cf, fmt.Errorf(`--watch must be "all" or "own"`)
	case *watch == "own" && n < *concurrent:
		return nil, &cf, fmt.Errorf("--watch own needs at least one reader per run")
	case *runs < 1 || *runs > maxRuns:
		return nil, &cf, fmt.Errorf("--runs must be 1..%d", maxRuns)
	case *warmup < 0 || *warmup > 10:
		return nil, &cf, fmt.Errorf("--warmup must be 0..10")
	case *runTimeout <= 0 || *runTimeout > maxSeconds*time.Second:
		return nil, &cf, fmt.Errorf("--run-timeout must be in (0, %ds]", maxSeconds)
	case *startTimeout <= 0 || *startTimeout > 120*time.Second:
		return nil, &cf, fmt.Errorf("--timeout must be in (0, 120s]")
	case *cluster < 0 || *cluster > maxClusterGateways:
		return nil, &cf, fmt.Errorf("--cluster must be 0..%d", maxClusterGateways)
	case *cluster > 1 && (*sub != "gateway" || len(extra) > 0):
		return nil, &cf, fmt.Errorf("--cluster runs \"BIN gateway\": no --cmd, no extra gateway args")
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

	var gs gwCluster
	if *cluster > 1 {
		logf("agent-fanout: starting %d gateways of %s as a cluster (provider %s)", *cluster, binPath, prov.URL)
		gs, err = startCluster(ctx, binPath, *cluster, token, *startTimeout, agentConfigMap(token, prov.URL), *gwLogs)
	} else {
		logf("agent-fanout: starting %s %s gateway (provider %s)", binPath, *sub, prov.URL)
		var g *gwProc
		logPath := ""
		if *gwLogs != "" {
			logPath = filepath.Join(*gwLogs, "gw-0.log")
		}
		g, err = startGatewayConfig(ctx, binPath, strings.Fields(*sub), extra, token, *startTimeout, agentConfig(token, prov.URL), logPath)
		gs = gwCluster{g}
	}
	if err != nil {
		return nil, &cf, err
	}
	defer func() {
		gs.stop()
		if err != nil {
			gs.logTails()
		}
	}()
	g := gs[0] // the runs start here
	cf.URL, cf.Token, cf.PID = gs.urls(), token, g.pid
	for _, gp := range gs {
		logf("agent-fanout: gateway pid %d on %s, ready in %.0f ms", gp.pid, gp.url, gp.readyMs)
	}
	checkLimits(n+1, g.pid)

	af := &agentFanout{deltas: *deltas, k: *concurrent, own: *watch == "own", sent: map[int][]int64{}}
	af.served = prov.Served
	af.readers = newBench(gs.urls(), token, false)
	af.readers.connectFrame = connectFrame(token, "operator.read")
	if af.own {
		af.readers.connectFrame = connectFrameCaps(token, []string{"session-scoped-events"}, "operator.read")
	}
	af.readers.hooks = &hooks{frame: af.onReader}
	af.admin = newBench(g.url, token, false)
	af.admin.base = af.readers.base
	af.admin.connectFrame = connectFrame(token, "operator.admin")
	af.admin.hooks = &hooks{frame: af.onAdmin}
	af.lastSeq = make([]atomic.Int64, n)
	prov.OnChunk(af.onChunk)

	var r result
	r.add("scenario", "agent-fanout")
	r.add("bin", binPath)
	r.add("cmd", *sub)
	r.add("url", gs.urls())
	r.add("gateways", len(gs))
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
	for _, c := range conns {
		af.slots = max(af.slots, c.idx+1)
	}
	logf("agent-fanout: %d/%d readers open in %.2fs", len(conns), n, d.Seconds())
	if len(conns) == 0 {
		closeAll()
		af.readers.errs.logSamples()
		total, byKind, _ := af.readers.errs.snapshot()
		r.add("errors", total)
		r.add("errors_by_kind", byKind)
		return r, &cf, fmt.Errorf("no reader opened")
	}
	if af.own {
		for _, c := range conns {
			req, _ := json.Marshal(map[string]any{"type": "req", "id": "sub", "method": "sessions.messages.subscribe",
				"params": map[string]any{"key": "agent:main:bench-" + strconv.Itoa(c.idx%af.k)}})
			if err := c.ws.WriteMessage(gws.OpcodeText, req); err != nil {
				af.readers.errs.add("subscribe_write", err.Error())
			}
		}
		until := time.Now().Add(30 * time.Second)
		for af.subs.Load() < int64(len(conns)) && time.Now().Before(until) && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
		logf("agent-fanout: %d/%d readers subscribed to their run's session", af.subs.Load(), len(conns))
	}

	for i := 0; i < *warmup && ctx.Err() == nil; i++ {
		af.turn(ctx, "w"+strconv.Itoa(i), *runTimeout, nil)
	}
	af.events.Store(0)
	af.merged.Store(0)
	af.foreign.Store(0)
	af.gaps.Store(0)
	st := &turnStats{missedReader: map[int]bool{}}
	before := sampleGW(g.pid)
	t0 := time.Now()
	ran := 0
	for i := 0; i < *runs && ctx.Err() == nil; i++ {
		ts := time.Now()
		m0, f0 := st.missing, st.noFinal
		af.turn(ctx, strconv.Itoa(i), *runTimeout, st)
		ran++
		logf("  turn %d/%d: %.2fs, %d pieces missing, %d finals missing", i+1, *runs, time.Since(ts).Seconds(), st.missing-m0, st.noFinal-f0)
	}
	elapsed := time.Since(t0)
	after := sampleGW(g.pid)
	rssEach := gs.rssEach()
	af.cur.Store(nil)
	closeAll()
	af.readers.errs.logSamples()
	af.agentErr.logSamples()
	how := gs.stop()

	total, byKind, _ := af.readers.errs.snapshot()
	aTotal, aKinds, _ := af.agentErr.snapshot()
	for k, v := range aKinds {
		byKind[k] += v
	}
	total += aTotal
	held := st.expected - st.missing
	r.add("readers_requested", n)
	r.add("readers", len(af.conns))
	r.add("concurrent_runs", af.k)
	r.add("watch", *watch)
	r.add("deltas", *deltas)
	r.add("chunk_delay_ms", ms(*chunkDelay))
	r.add("runs", ran)
	r.add("warmup_runs", *warmup)
	r.add("expected", st.expected)
	r.add("delivered", held)
	r.add("missing", st.missing)
	r.add("no_final", st.noFinal)
	r.add("readers_missing_pieces", len(st.missedReader))
	r.add("no_send_time", st.noSend)
	r.add("p50_ms", st.lat.qms(0.50))
	r.add("p90_ms", st.lat.qms(0.90))
	r.add("p99_ms", st.lat.qms(0.99))
	r.add("max_ms", st.lat.maxms())
	r.add("mean_ms", ms(st.lat.mean()))
	r.add("all_readers_p50_ms", st.all.qms(0.50))
	r.add("all_readers_p99_ms", st.all.qms(0.99))
	r.add("first_reader_p50_ms", st.first.qms(0.50))
	r.add("first_reader_p99_ms", st.first.qms(0.99))
	r.add("assistant_events", af.events.Load())
	r.add("merged_events", af.merged.Load())
	if held > 0 {
		r.add("events_per_piece", round(float64(af.events.Load())/float64(held), 3))
	}
	r.add("seq_gaps", af.gaps.Load())
	r.add("foreign_events", af.foreign.Load())
	r.add("unreadable_deltas", af.badDelta.Load())
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
	if len(gs) > 1 {
		r.add("gw_rss_mb_each", rssEach)
	}
	r.add("gw_exit", how)
	if ctx.Err() != nil {
		return r, &cf, fmt.Errorf("interrupted")
	}
	if st.lat.count() == 0 {
		return r, &cf, fmt.Errorf("no piece of text delivered")
	}
	return r, &cf, nil
}

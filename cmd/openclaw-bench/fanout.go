package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/lxzan/gws"
)

// The fanout and slow scenarios: R reader sockets (operator.read, client id
// and mode "cli": they keep their scopes on loopback and are not themselves
// in the presence roster), one admin socket (operator.admin) that posts
// system-event {text:"bench-<round>", host:"bench"} once per round. Every
// system-event changes the roster, so the gateway broadcasts a presence
// event to every reader; a reader's latency for round r is the time from
// writing the system-event request to reading the first presence event
// whose roster carries the text "bench-<r>". A round starts only when every
// counted reader has round r-1 (or the round timed out) and at least --gap
// after the previous one: the gateway coalesces presence broadcasts to one
// per 50 ms, and a round inside that window would measure the coalescing.

// roundState is one round in flight.
type roundState struct {
	r         int64
	sentAt    int64 // readers' bench clock when the request was written
	remaining atomic.Int64
	done      chan struct{}
	lat       *histogram // per delivery to a measured reader
	all       *histogram // per round: when the last counted reader had it
	adminAck  *histogram
}

type fanoutRun struct {
	url, token string
	readers    *bench
	admin      *bench
	adminC     *bconn
	conns      []*bconn // the open readers
	pad        string   // appended to the round's text ("|xxxx…")

	cur       atomic.Pointer[roundState]
	seen      []int64 // per reader idx: the last round seen (its read goroutine only)
	lastSeq   []atomic.Int64
	gaps      atomic.Int64 // seq numbers skipped, over every reader but the stuck one
	gapEvents atomic.Int64 // frames that came after a gap

	measured func(idx int) bool // record this reader's latency
	counted  atomic.Int64       // idx not counted for completion (-1: none)

	ackErrs   errCounter
	adminErr  atomic.Pointer[kindError] // the admin socket is gone: no more rounds
	adminGone atomic.Int64              // the round in which it was found gone

	// slow: one reader (stallIdx) blocks its read loop while stalled.
	stallIdx int
	stall    atomic.Bool
	release  chan struct{}
	relOnce  sync.Once
	stuck    stuckStats
}

type stuckStats struct {
	blocked      atomic.Bool
	released     atomic.Bool
	framesAfter  atomic.Int64 // frames read after the release
	presenceAft  atomic.Int64
	gaps         atomic.Int64
	gapEvents    atomic.Int64
	maxRound     atomic.Int64
	closed       atomic.Bool
	closeKind    atomic.Pointer[string]
	closedAtNs   atomic.Int64
	lastSeqAfter atomic.Int64
}

func newFanoutRun(url, token string, n int, pad int) *fanoutRun {
	fr := &fanoutRun{url: url, token: token, stallIdx: -1, release: make(chan struct{})}
	fr.readers = newBench(url, token, false)
	fr.readers.connectFrame = connectFrame(token, "operator.read")
	fr.readers.hooks = &hooks{frame: fr.onReader, closed: fr.onReaderClosed}
	fr.admin = newBench(url, token, false)
	fr.admin.connectFrame = connectFrame(token, "operator.admin")
	fr.admin.opt.WriteMaxPayloadSize = 8 << 20 // a padded system-event
	fr.admin.hooks = &hooks{frame: fr.onAdmin, closed: func(_ *bconn, err error, wasReady bool) bool {
		if wasReady && !fr.admin.closing.Load() {
			k, msg := closeKind(err)
			fr.adminErr.Store(&kindError{kind: "admin_" + k, msg: msg})
		}
		return false
	}}
	fr.seen = make([]int64, n)
	fr.lastSeq = make([]atomic.Int64, n)
	for i := range fr.seen {
		fr.seen[i] = -1
	}
	fr.measured = func(int) bool { return true }
	fr.counted.Store(-1)
	fr.stuck.maxRound.Store(-1)
	if pad > 0 {
		fr.pad = "|" + strings.Repeat("x", pad)
	}
	return fr
}

// hasRound reports whether raw carries the text of round r: "bench-<r>"
// followed by the closing quote or the pad separator.
func hasRound(raw []byte, r int64) bool {
	var buf [32]byte
	needle := strconv.AppendInt(append(buf[:0], `"bench-`...), r, 10)
	for off := 0; ; {
		i := bytes.Index(raw[off:], needle)
		if i < 0 {
			return false
		}
		e := off + i + len(needle)
		if e < len(raw) && (raw[e] == '"' || raw[e] == '|') {
			return true
		}
		off = e
	}
}

// maxRound is the highest round whose text raw carries (-1: none).
func maxRound(raw []byte) int64 {
	best := int64(-1)
	for off := 0; ; {
		i := bytes.Index(raw[off:], []byte(`"bench-`))
		if i < 0 {
			return best
		}
		j := off + i + len(`"bench-`)
		k := j
		for k < len(raw) && raw[k] >= '0' && raw[k] <= '9' {
			k++
		}
		if k > j && k < len(raw) && (raw[k] == '"' || raw[k] == '|') {
			if v := atoi(raw[j:k]); v > best {
				best = v
			}
		}
		off = k
	}
}

func (fr *fanoutRun) onReader(c *bconn, f *frame, raw []byte) {
	i := c.idx
	stuck := i == fr.stallIdx
	if stuck {
		if fr.stall.Load() && !fr.stuck.blocked.Load() {
			fr.stuck.blocked.Store(true)
			<-fr.release // the read loop stops here: the socket's buffers fill up
			fr.stuck.released.Store(true)
		}
		if fr.stuck.released.Load() {
			fr.stuck.framesAfter.Add(1)
		}
	}
	if f.seq >= 0 {
		last := fr.lastSeq[i].Load()
		if last > 0 && f.seq > last+1 {
			if stuck {
				fr.stuck.gaps.Add(f.seq - last - 1)
				fr.stuck.gapEvents.Add(1)
			} else {
				fr.gaps.Add(f.seq - last - 1)
				fr.gapEvents.Add(1)
			}
		}
		fr.lastSeq[i].Store(f.seq)
		if stuck && fr.stuck.released.Load() {
			fr.stuck.lastSeqAfter.Store(f.seq)
		}
	}
	if string(f.typ) != "event" || string(f.event) != "presence" {
		return
	}
	if stuck && fr.stuck.released.Load() {
		fr.stuck.presenceAft.Add(1)
		if m := maxRound(raw); m > fr.stuck.maxRound.Load() {
			fr.stuck.maxRound.Store(m)
		}
	}
	rs := fr.cur.Load()
	if rs == nil || fr.seen[i] >= rs.r || !hasRound(raw, rs.r) {
		return
	}
	fr.seen[i] = rs.r
	now := fr.readers.now()
	if fr.measured(i) {
		rs.lat.record(time.Duration(now - rs.sentAt))
	}
	if int64(i) != fr.counted.Load() && rs.remaining.Add(-1) == 0 {
		rs.all.record(time.Duration(now - rs.sentAt))
		close(rs.done)
	}
}

func (fr *fanoutRun) onReaderClosed(c *bconn, err error, wasReady bool) bool {
	if c.idx != fr.stallIdx || !wasReady || fr.readers.closing.Load() {
		return false
	}
	k, msg := closeKind(err)
	if msg != "" {
		k += " " + msg
	}
	fr.stuck.closeKind.Store(&k)
	fr.stuck.closedAtNs.Store(fr.readers.now())
	fr.stuck.closed.Store(true)
	return true // a close by the gateway is a possible outcome (§6.2), not an error
}

func (fr *fanoutRun) onAdmin(_ *bconn, f *frame, _ []byte) {
	if string(f.typ) != "res" || !bytes.HasPrefix(f.id, []byte("se")) {
		return
	}
	rs := fr.cur.Load()
	if rs == nil || string(f.id[2:]) != strconv.FormatInt(rs.r, 10) {
		return
	}
	if f.ok != 1 {
		fr.ackErrs.add("system_event_"+string(unquote(field(f.err, "code"))), string(unquote(field(f.err, "message"))))
		return
	}
	rs.adminAck.record(time.Duration(fr.readers.now() - rs.sentAt))
}

// open connects the admin socket, then the readers.
func (fr *fanoutRun) open(ctx context.Context, n int, cf *common) error {
	c, _, err := fr.admin.dial(ctx, 10*time.Second)
	if err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	fr.adminC = c
	logf("fanout: opening %d readers to %s (%d handshakes in flight)", n, fr.url, cf.Concurrency)
	conns, d := fr.readers.open(ctx, n, cf.Concurrency, time.Now().Add(cf.OpenTimeout), !cf.Quiet)
	fr.conns = conns
	logf("fanout: %d/%d readers open in %.2fs", len(conns), n, d.Seconds())
	if len(conns) == 0 {
		return fmt.Errorf("no reader opened")
	}
	return nil
}

// doRound posts round r and waits until every counted reader has it or
// timeout passes; it returns how many counted readers never got it.
func (fr *fanoutRun) doRound(ctx context.Context, r int64, lat, all, ack *histogram, timeout time.Duration) int64 {
	counted := int64(len(fr.conns))
	if ex := fr.counted.Load(); ex >= 0 {
		for _, c := range fr.conns {
			if int64(c.idx) == ex {
				counted--
			}
		}
	}
	rs := &roundState{r: r, done: make(chan struct{}), lat: lat, all: all, adminAck: ack}
	rs.remaining.Store(counted)
	req, _ := json.Marshal(map[string]any{"type": "req", "id": "se" + strconv.FormatInt(r, 10), "method": "system-event",
		"params": map[string]any{"text": "bench-" + strconv.FormatInt(r, 10) + fr.pad, "host": "bench"}})
	rs.sentAt = fr.readers.now()
	fr.cur.Store(rs)
	if err := fr.adminC.ws.WriteMessage(gws.OpcodeText, req); err != nil {
		fr.ackErrs.add("admin_write", err.Error())
		fr.adminErr.CompareAndSwap(nil, &kindError{kind: "admin_write", msg: err.Error()})
		return counted
	}
	if counted <= 0 {
		return 0
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-rs.done:
		return 0
	case <-t.C:
	case <-ctx.Done():
	}
	return max(rs.remaining.Load(), 0)
}

// rounds runs k rounds starting at first, each at least gap after the
// previous one; it returns the undelivered count.
func (fr *fanoutRun) rounds(ctx context.Context, first, k int64, gap, timeout time.Duration, lat, all, ack *histogram) (missing int64) {
	var last time.Time
	for r := first; r < first+k && ctx.Err() == nil; r++ {
		if e := fr.adminErr.Load(); e != nil {
			fr.adminGone.CompareAndSwap(0, r)
			logf("  round %d: the admin socket is gone (%v): no more rounds", r, e)
			missing += (first + k - r) * int64(len(fr.conns))
			break
		}
		if !last.IsZero() {
			if w := gap - time.Since(last); w > 0 && !sleepCtx(ctx, w) {
				break
			}
		}
		last = time.Now()
		m := fr.doRound(ctx, r, lat, all, ack, timeout)
		if m > 0 {
			logf("  round %d: %d readers had no presence event within %s", r, m, timeout)
		}
		missing += m
	}
	return missing
}

// errors merges the readers', the admin's and the system-event failures.
func (fr *fanoutRun) errors() (int64, map[string]int64) {
	total, byKind, _ := fr.readers.errs.snapshot()
	ackTotal, ackKinds, _ := fr.ackErrs.snapshot()
	for k, v := range ackKinds {
		byKind[k] += v
	}
	total += ackTotal
	if e := fr.adminErr.Load(); e != nil && e.kind != "admin_write" {
		byKind[e.kind]++
		total++
		logf("  error %s: %s", e.kind, e.msg)
	}
	return total, byKind
}

// warmup runs the unmeasured rounds 0..--warmup-1 and waits the gap.
func (fr *fanoutRun) warmup(ctx context.Context, ff *flagSetFanout) {
	if ff.warmup == 0 {
		return
	}
	var lat, all, ack histogram
	if m := fr.rounds(ctx, 0, int64(ff.warmup), ff.gap, ff.timeout, &lat, &all, &ack); m > 0 {
		logf("  warm-up: %d deliveries missing", m)
	}
	sleepCtx(ctx, ff.gap)
}

func (fr *fanoutRun) releaseStuck() {
	fr.relOnce.Do(func() { close(fr.release) })
}

func (fr *fanoutRun) close() {
	fr.releaseStuck()
	fr.readers.closeAll(fr.conns, 15*time.Second)
	if fr.adminC != nil {
		fr.admin.closeAll([]*bconn{fr.adminC}, 5*time.Second)
	}
}

func fanoutFlags(name string) *flagSetFanout {
	fs := newFlagSet(name)
	ff := &flagSetFanout{fs: fs}
	ff.cf.register(fs)
	fs.DurationVar(&ff.gap, "gap", 100*time.Millisecond, "least time between two rounds (> 60ms: the gateway coalesces presence broadcasts to one per 50 ms)")
	fs.DurationVar(&ff.timeout, "round-timeout", 10*time.Second, "give up on a round's missing readers after this long")
	fs.IntVar(&ff.pad, "pad", 0, "pad each round's text with this many bytes (makes every presence event that much bigger)")
	fs.IntVar(&ff.warmup, "warmup", 1, "unmeasured rounds first (a fresh gateway's first broadcast warms it up)")
	return ff
}

// maxPad keeps a padded round's text ("bench-<round>|" + pad) within the
// 65,536 characters a system-event's text may have: a gateway refuses a
// longer one, and its readers would wait for a broadcast that never comes.
const maxPad = 65536 - 64

type flagSetFanout struct {
	fs      *flag.FlagSet
	cf      common
	gap     time.Duration
	timeout time.Duration
	pad     int
	warmup  int
}

func (ff *flagSetFanout) check() error {
	if err := ff.cf.check(); err != nil {
		return err
	}
	if ff.gap <= 60*time.Millisecond || ff.gap > 10*time.Second {
		return fmt.Errorf("--gap must be in (60ms, 10s]")
	}
	if ff.timeout <= 0 || ff.timeout > 60*time.Second {
		return fmt.Errorf("--round-timeout must be in (0, 60s]")
	}
	if ff.pad < 0 || ff.pad > maxPad {
		return fmt.Errorf("--pad must be 0..%d (a system-event's text is at most 65,536 characters)", maxPad)
	}
	if ff.warmup < 0 || ff.warmup > 100 {
		return fmt.Errorf("--warmup must be 0..100")
	}
	return nil
}

func cmdFanout(ctx context.Context, args []string) (_ result, _ *common, err error) {
	ff := fanoutFlags("fanout")
	bin := ff.fs.String("bin", "", "with --cluster: the gateway binary to start")
	cluster := ff.fs.Int("cluster", 0, "start this many gateways of --bin as one cluster (embedded NATS on loopback), spread the readers over them and post on the first (or give --url a comma-separated list of a running cluster's gateways)")
	gwLogs := ff.fs.String("gw-logs", "", "with --cluster: write each gateway's output to DIR/gw-<i>.log and keep it (default: into its throwaway dir, the last lines printed if the scenario fails)")
	pos, _, err := parseArgs(ff.fs, args)
	if err != nil {
		return nil, &ff.cf, err
	}
	if err := ff.check(); err != nil {
		return nil, &ff.cf, err
	}
	cf := &ff.cf
	n, err := posInt(pos, 0, "R", -1, 1, maxConns)
	if err != nil {
		return nil, cf, err
	}
	rounds, err := posInt(pos, 1, "ROUNDS", 20, 1, 1000)
	if err != nil {
		return nil, cf, err
	}
	switch {
	case *cluster < 0 || *cluster > maxClusterGateways:
		return nil, cf, fmt.Errorf("--cluster must be 0..%d", maxClusterGateways)
	case *cluster > 1 && *bin == "":
		return nil, cf, fmt.Errorf("--cluster needs --bin")
	}
	wd := watchdog(cf.OpenTimeout + time.Duration(rounds)*(ff.timeout+ff.gap) + 3*time.Minute)
	defer wd.Stop()
	var gs gwCluster
	if *cluster > 1 {
		binPath, err := absBinary(*bin)
		if err != nil {
			return nil, cf, err
		}
		if cf.Token == "" {
			cf.Token = "bench-" + strings.ReplaceAll(uuid.NewString(), "-", "")
		}
		logf("fanout: starting %d gateways of %s as a cluster", *cluster, binPath)
		gs, err = startCluster(ctx, binPath, *cluster, cf.Token, 60*time.Second,
			map[string]any{"gateway": map[string]any{"mode": "local", "auth": map[string]any{"token": cf.Token}}}, *gwLogs)
		if err != nil {
			return nil, cf, err
		}
		defer func() {
			gs.stop()
			if err != nil {
				gs.logTails()
			}
		}()
		cf.URL, cf.PID = gs.urls(), gs[0].pid
		for _, g := range gs {
			logf("fanout: gateway pid %d on %s, ready in %.0f ms", g.pid, g.url, g.readyMs)
		}
	}
	checkLimits(n+1, cf.PID)

	fr := newFanoutRun(cf.URL, cf.Token, n, ff.pad)
	defer fr.close()
	var r result
	r.add("scenario", "fanout")
	r.add("url", cf.URL)
	r.add("gateways", len(strings.Split(cf.URL, ",")))
	if err := fr.open(ctx, n, cf); err != nil {
		fr.readers.errs.logSamples()
		total, byKind, _ := fr.readers.errs.snapshot()
		r.add("errors", total)
		r.add("errors_by_kind", byKind)
		return r, cf, err
	}
	fr.warmup(ctx, ff)
	before := sampleGW(cf.PID)
	var lat, all, ack histogram
	logf("fanout: %d rounds, %d readers", rounds, len(fr.conns))
	t0 := time.Now()
	missing := fr.rounds(ctx, int64(ff.warmup), int64(rounds), ff.gap, ff.timeout, &lat, &all, &ack)
	elapsed := time.Since(t0)
	after := sampleGW(cf.PID)
	var rssEach []float64
	if len(gs) > 1 {
		rssEach = gs.rssEach()
	}
	fr.close()
	fr.readers.errs.logSamples()
	fr.ackErrs.logSamples()

	expected := int64(len(fr.conns)) * int64(rounds)
	total, byKind := fr.errors()
	r.add("readers_requested", n)
	r.add("readers", len(fr.conns))
	r.add("rounds", rounds)
	r.add("warmup_rounds", ff.warmup)
	r.add("gap_ms", ms(ff.gap))
	r.add("pad_bytes", ff.pad)
	r.add("delivered", lat.count())
	r.add("expected", expected)
	r.add("missing", missing)
	r.add("p50_ms", lat.qms(0.50))
	r.add("p90_ms", lat.qms(0.90))
	r.add("p99_ms", lat.qms(0.99))
	r.add("max_ms", lat.maxms())
	r.add("mean_ms", ms(lat.mean()))
	r.add("all_readers_p50_ms", all.qms(0.50))
	r.add("all_readers_max_ms", all.maxms())
	r.add("system_event_ack_p50_ms", ack.qms(0.50))
	r.add("seq_gaps", fr.gaps.Load())
	r.add("errors", total)
	r.add("errors_by_kind", byKind)
	r.add("lost_readers", fr.readers.lost.Load())
	r.add("seconds", round(elapsed.Seconds(), 3))
	r.add("handshake_p99_ms", ms(fr.readers.hsLat.quantile(0.99)))
	if before.ok && after.ok {
		r.add("gw_rss_mb", mb(after.rssKB))
		r.add("gw_cpu_pct", round(100*(after.cpu-before.cpu).Seconds()/elapsed.Seconds(), 1))
	}
	if rssEach != nil {
		r.add("gw_rss_mb_each", rssEach)
	}
	if ctx.Err() != nil {
		return r, cf, fmt.Errorf("interrupted")
	}
	if e := fr.adminErr.Load(); e != nil {
		return r, cf, fmt.Errorf("run cut short in round %d: the admin socket is gone (%v)", fr.adminGone.Load(), e)
	}
	if lat.count() == 0 {
		return r, cf, fmt.Errorf("no presence event delivered")
	}
	return r, cf, nil
}

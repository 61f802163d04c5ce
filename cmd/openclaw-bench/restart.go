package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The restart scenario (this gateway only: the reference has no in-process
// restart). N authenticated sockets are open; SIGUSR1 goes to --pid; every
// socket should get the shutdown event, then close 1012, and reconnects at
// once (retrying every 50 ms: the listening socket is kept across the
// restart, so connects queue until the new generation accepts them). One
// run's figure is the time from the signal until all N have a fresh hello-ok.

type restartState struct {
	t0        int64 // bench clock at the signal
	shutdown  []atomic.Int64
	closed    []atomic.Int64
	hello     []atomic.Int64
	again     atomic.Int64 // closed a second time within the run
	remaining atomic.Int64
	done      chan struct{}
	allAt     atomic.Int64
	codes     errCounter // how the old sockets ended
	retries   errCounter // reconnect attempts that failed
	expectMs  atomic.Int64
}

type restartRun struct {
	b     *bench
	mu    sync.Mutex
	conns []*bconn // by idx; nil: not open
	cur   atomic.Pointer[restartState]
	sem   chan struct{}
	ctx   context.Context
	wait  time.Duration
}

func (rr *restartRun) onFrame(c *bconn, f *frame, raw []byte) {
	if string(f.typ) != "event" || string(f.event) != "shutdown" {
		return
	}
	st := rr.cur.Load()
	if st == nil {
		rr.b.errs.add("shutdown_outside_run", truncate(string(raw), 120))
		return
	}
	st.shutdown[c.idx].CompareAndSwap(0, rr.b.now()-st.t0)
	if v := atoi(field(field(raw, "payload"), "restartExpectedMs")); v >= 0 {
		st.expectMs.Store(v)
	}
}

func (rr *restartRun) onClosed(c *bconn, err error, wasReady bool) bool {
	if !wasReady || rr.b.closing.Load() {
		return false
	}
	st := rr.cur.Load()
	if st == nil {
		return false // lost outside a run: an error
	}
	k, msg := closeKind(err)
	st.codes.add(k, msg)
	if k != "closed_1012" {
		rr.b.errs.add("unexpected_"+k, msg)
	}
	i := c.idx
	if !st.closed[i].CompareAndSwap(0, rr.b.now()-st.t0) || st.hello[i].Load() != 0 {
		st.again.Add(1)
		rr.b.errs.add("closed_again_in_run", k+" "+msg)
	}
	go rr.reconnect(st, i)
	return true
}

// reconnect dials socket i until it has a hello-ok, every 50 ms, with at
// most cap(sem) handshakes in flight (the gateway refuses more than 32
// pre-auth sockets per IP).
func (rr *restartRun) reconnect(st *restartState, i int) {
	deadline := time.Now().Add(rr.wait)
	for rr.ctx.Err() == nil && time.Now().Before(deadline) {
		rr.sem <- struct{}{}
		c, _, err := rr.b.dialIdx(rr.ctx, 10*time.Second, i)
		<-rr.sem
		if err == nil {
			rr.mu.Lock()
			rr.conns[i] = c
			rr.mu.Unlock()
			if st.hello[i].CompareAndSwap(0, rr.b.now()-st.t0) && st.remaining.Add(-1) == 0 {
				st.allAt.Store(rr.b.now() - st.t0)
				close(st.done)
			}
			return
		}
		st.retries.addErr(err)
		sleepCtx(rr.ctx, 50*time.Millisecond)
	}
}

func (rr *restartRun) open() []*bconn {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	var out []*bconn
	for _, c := range rr.conns {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

type restartOutcome struct {
	totalMs      float64 // signal → all reconnected (-1: not all came back)
	shutdownP50  float64
	shutdownMax  float64
	closeP50     float64
	closeMax     float64
	helloP50     float64
	noShutdown   int
	notClosed    int
	notBack      int
	again        int64
	codes        map[string]int64
	retries      map[string]int64
	retrySamples map[string]string
	expectMs     int64
}

func cmdRestart(ctx context.Context, args []string) (result, *common, error) {
	fs := newFlagSet("restart")
	var cf common
	cf.register(fs)
	runs := fs.Int("runs", 5, "restarts (the median is reported)")
	wait := fs.Duration("timeout", 60*time.Second, "per run: give up waiting for every socket to come back")
	settle := fs.Duration("settle", time.Second, "pause after each run")
	pos, _, err := parseArgs(fs, args)
	if err != nil {
		return nil, &cf, err
	}
	if err := cf.check(); err != nil {
		return nil, &cf, err
	}
	n, err := posInt(pos, 0, "N", -1, 1, maxConns)
	if err != nil {
		return nil, &cf, err
	}
	if *runs < 1 || *runs > maxRuns {
		return nil, &cf, fmt.Errorf("--runs must be 1..%d", maxRuns)
	}
	if *wait <= 0 || *wait > 120*time.Second {
		return nil, &cf, fmt.Errorf("--timeout must be in (0, 120s]")
	}
	if *settle < 0 || *settle > 60*time.Second {
		return nil, &cf, fmt.Errorf("--settle must be in [0, 60s]")
	}
	if cf.PID <= 0 {
		return nil, &cf, fmt.Errorf("--pid is required (the gateway to send SIGUSR1 to)")
	}
	if err := syscall.Kill(cf.PID, 0); err != nil {
		return nil, &cf, fmt.Errorf("--pid %d: %v", cf.PID, err)
	}
	checkLimits(n+2, cf.PID)
	wd := watchdog(cf.OpenTimeout + time.Duration(*runs)*(*wait+*settle+10*time.Second) + 2*time.Minute)
	defer wd.Stop()

	rr := &restartRun{conns: make([]*bconn, n), sem: make(chan struct{}, cf.Concurrency), ctx: ctx, wait: *wait}
	rr.b = newBench(cf.URL, cf.Token, false)
	rr.b.hooks = &hooks{frame: rr.onFrame, closed: rr.onClosed}

	var r result
	r.add("scenario", "restart")
	r.add("url", cf.URL)
	idle := fetchStatus(ctx, cf.URL, cf.Token)
	idleS := sampleGW(cf.PID)
	logf("restart: opening %d sockets to %s", n, cf.URL)
	conns, openDur := rr.b.open(ctx, n, cf.Concurrency, time.Now().Add(cf.OpenTimeout), !cf.Quiet)
	for _, c := range conns {
		rr.conns[c.idx] = c
	}
	logf("restart: %d/%d open in %.2fs", len(conns), n, openDur.Seconds())
	defer func() { rr.b.closeAll(rr.open(), 15*time.Second) }()
	if len(conns) == 0 {
		rr.b.errs.logSamples()
		total, byKind, _ := rr.b.errs.snapshot()
		r.add("errors", total)
		r.add("errors_by_kind", byKind)
		return r, &cf, fmt.Errorf("no socket opened")
	}
	sleepCtx(ctx, *settle)
	before := fetchStatus(ctx, cf.URL, cf.Token)
	beforeS := sampleGW(cf.PID)

	var outs []restartOutcome
	for run := 0; run < *runs && ctx.Err() == nil; run++ {
		idxs := []int{}
		for _, c := range rr.open() {
			idxs = append(idxs, c.idx)
		}
		st := &restartState{shutdown: make([]atomic.Int64, n), closed: make([]atomic.Int64, n),
			hello: make([]atomic.Int64, n), done: make(chan struct{})}
		st.remaining.Store(int64(len(idxs)))
		st.expectMs.Store(-1)
		st.t0 = rr.b.now()
		rr.cur.Store(st)
		logf("restart run %d/%d: SIGUSR1 → %d with %d sockets", run+1, *runs, cf.PID, len(idxs))
		if err := syscall.Kill(cf.PID, syscall.SIGUSR1); err != nil {
			return r, &cf, fmt.Errorf("SIGUSR1 %d: %v", cf.PID, err)
		}
		t := time.NewTimer(*wait + 5*time.Second)
		select {
		case <-st.done:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		rr.cur.Store(nil)
		o := summarize(st, idxs)
		if !sleepCtx(ctx, *settle) {
			break
		}
		outs = append(outs, o)
		logf("  all back in %.1f ms (shutdown event p50 %.1f ms, close p50 %.1f ms, max %.1f ms); not back %d; retries %s",
			o.totalMs, o.shutdownP50, o.closeP50, o.closeMax, o.notBack, textValue(o.retries))
		for k, v := range o.retrySamples {
			logf("    retry %s, e.g. %s", k, v)
		}
	}
	after := fetchStatus(ctx, cf.URL, cf.Token)
	afterS := sampleGW(cf.PID)
	rr.b.errs.logSamples()

	total, byKind, _ := rr.b.errs.snapshot()
	var totals, shutP50, closeP50, closeMax, helloP50 []float64
	codes, retries := map[string]int64{}, map[string]int64{}
	notBack, noShutdown, notClosed := 0, 0, 0
	expect := int64(-1)
	for _, o := range outs {
		totals = append(totals, o.totalMs)
		shutP50 = append(shutP50, o.shutdownP50)
		closeP50 = append(closeP50, o.closeP50)
		closeMax = append(closeMax, o.closeMax)
		helloP50 = append(helloP50, o.helloP50)
		for k, v := range o.codes {
			codes[k] += v
		}
		for k, v := range o.retries {
			retries[k] += v
		}
		notBack += o.notBack
		noShutdown += o.noShutdown
		notClosed += o.notClosed
		if o.expectMs >= 0 {
			expect = o.expectMs
		}
	}
	// Unexpected close codes are in byKind already (unexpected_closed_*).
	errs := total + int64(notBack+noShutdown+notClosed)
	r.add("sockets", len(conns))
	r.add("runs", len(outs))
	if len(outs) > 0 {
		r.add("restart_total_ms_p50", median(totals))
		r.add("restart_total_ms_max", maxOf(totals))
		r.add("restart_total_ms_runs", totals)
		r.add("shutdown_event_ms_p50", median(shutP50))
		r.add("close_ms_p50", median(closeP50))
		r.add("close_ms_max_runs", closeMax)
		r.add("reconnect_hello_ms_p50", median(helloP50))
	}
	r.add("restart_expected_ms", orNil(expect))
	r.add("close_codes", codes)
	r.add("reconnect_retries", retries)
	r.add("not_reconnected", notBack)
	r.add("no_shutdown_event", noShutdown)
	r.add("not_closed", notClosed)
	r.add("errors", errs)
	r.add("errors_by_kind", byKind)
	r.add("gw_goroutines_idle", orNil(idle.goroutines))
	r.add("gw_goroutines_before", orNil(before.goroutines))
	r.add("gw_goroutines_after", orNil(after.goroutines))
	r.add("gw_heap_alloc_mb_idle", mbOrNil(idle.heapBytes))
	r.add("gw_heap_alloc_mb_before", mbOrNil(before.heapBytes))
	r.add("gw_heap_alloc_mb_after", mbOrNil(after.heapBytes))
	if idleS.ok && beforeS.ok && afterS.ok {
		r.add("gw_rss_idle_mb", mb(idleS.rssKB))
		r.add("gw_rss_before_mb", mb(beforeS.rssKB))
		r.add("gw_rss_after_mb", mb(afterS.rssKB))
		r.add("gw_fds_before", beforeS.fds)
		r.add("gw_fds_after", afterS.fds)
		r.add("gw_threads_after", afterS.threads)
	}
	if ctx.Err() != nil {
		return r, &cf, fmt.Errorf("interrupted")
	}
	if len(outs) < *runs || notBack > 0 {
		return r, &cf, fmt.Errorf("%d of %d runs done, %d sockets not reconnected", len(outs), *runs, notBack)
	}
	return r, &cf, nil
}

func summarize(st *restartState, idxs []int) restartOutcome {
	var o restartOutcome
	var sh, cl, he []float64
	for _, i := range idxs {
		if v := st.shutdown[i].Load(); v > 0 {
			sh = append(sh, ms(time.Duration(v)))
		} else {
			o.noShutdown++
		}
		if v := st.closed[i].Load(); v > 0 {
			cl = append(cl, ms(time.Duration(v)))
		} else {
			o.notClosed++
		}
		if v := st.hello[i].Load(); v > 0 {
			he = append(he, ms(time.Duration(v)))
		} else {
			o.notBack++
		}
	}
	o.totalMs = -1
	if v := st.allAt.Load(); v > 0 && o.notBack == 0 {
		o.totalMs = ms(time.Duration(v))
	}
	if len(sh) > 0 {
		o.shutdownP50, o.shutdownMax = median(sh), maxOf(sh)
	}
	if len(cl) > 0 {
		o.closeP50, o.closeMax = median(cl), maxOf(cl)
	}
	if len(he) > 0 {
		o.helloP50 = median(he)
	}
	o.again = st.again.Load()
	_, o.codes, _ = st.codes.snapshot()
	_, o.retries, o.retrySamples = st.retries.snapshot()
	o.expectMs = st.expectMs.Load()
	return o
}

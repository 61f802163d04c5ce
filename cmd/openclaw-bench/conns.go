package main

import (
	"context"
	"fmt"
	"os"
	"time"
)

// gwSample is what /proc says about the gateway at one moment.
type gwSample struct {
	ok      bool
	rssKB   int64
	hwmKB   int64
	fds     int
	threads int64
	cpu     time.Duration
	treeKB  int64 // the gateway and every process below it
	procs   int
}

func sampleGW(pid int) gwSample {
	if pid <= 0 {
		return gwSample{}
	}
	rss, err := statusKB(pid, "VmRSS")
	if err != nil {
		logf("  warning: cannot read /proc/%d: %v", pid, err)
		return gwSample{}
	}
	hwm, _ := statusKB(pid, "VmHWM")
	tree, procs := treeRSSKB(pid)
	return gwSample{ok: true, rssKB: rss, hwmKB: hwm, fds: fdCount(pid), threads: threadCount(pid), cpu: cpuTime(pid),
		treeKB: tree, procs: procs}
}

// checkLimits warns when n sockets will not fit the fd limits.
func checkLimits(n int, pid int) {
	soft := raiseNofile()
	if soft > 0 && uint64(n)+64 > soft {
		logf("  warning: %d sockets need more than this process's fd limit (%d): expect fd_limit errors", n, soft)
	}
	if pid > 0 {
		if gl := nofileLimit(pid); gl > 0 && int64(n)+64 > gl {
			logf("  warning: the gateway's fd limit is %d: expect it to refuse sockets near that count", gl)
		}
	}
}

func cmdConns(ctx context.Context, args []string) (result, *common, error) {
	fs := newFlagSet("conns")
	var cf common
	cf.register(fs)
	hold := fs.Float64("hold", 5, "seconds to hold the sockets open (≤ 300)")
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
	if *hold < 0 || *hold > maxSeconds {
		return nil, &cf, fmt.Errorf("--hold must be 0..%d seconds", maxSeconds)
	}
	holdDur := time.Duration(*hold * float64(time.Second))
	if cf.Token == "" {
		logf("  warning: no --token (or OPENCLAW_GATEWAY_TOKEN): the gateway will probably refuse the connects")
	}
	checkLimits(n, cf.PID)
	wd := watchdog(cf.OpenTimeout + holdDur + 2*time.Minute)
	defer wd.Stop()

	self := os.Getpid()
	b := newBench(cf.URL, cf.Token, false)
	if cf.PID > 0 {
		// The baseline is a gateway that has served: code and tables the
		// first handshakes map in and the heap they grow once are not
		// memory per socket. A bench of its own: they count in no figure.
		if err := newBench(cf.URL, cf.Token, false).handshakes(ctx, 3); err != nil {
			return nil, &cf, fmt.Errorf("warm-up: %w", err)
		}
		sleepCtx(ctx, 500*time.Millisecond)
	}
	before := sampleGW(cf.PID)
	clientBefore := rssKB(self)
	logf("conns: opening %d sockets to %s (%d handshakes in flight)", n, cf.URL, cf.Concurrency)
	conns, openDur := b.open(ctx, n, cf.Concurrency, time.Now().Add(cf.OpenTimeout), !cf.Quiet)
	afterOpen := sampleGW(cf.PID)
	opened := len(conns)
	logf("conns: %d/%d open in %.2fs", opened, n, openDur.Seconds())

	logf("conns: holding for %s", holdDur)
	holdStart := time.Now()
	for ctx.Err() == nil {
		left := holdDur - time.Since(holdStart)
		if left <= 0 {
			break
		}
		step := min(left, 5*time.Second)
		if !sleepCtx(ctx, step) {
			break
		}
		if time.Since(holdStart) < holdDur {
			logf("  holding: %d live, %d pings answered, %d events", b.live.Load(), b.pings.Load(), b.events.Load())
		}
	}
	holdDone := time.Since(holdStart)
	afterHold := sampleGW(cf.PID)
	clientAfter := rssKB(self)
	held := b.live.Load()
	logf("conns: closing %d sockets", len(conns))
	closeDur := b.closeAll(conns, 15*time.Second)
	var afterClose gwSample
	if cf.PID > 0 {
		sleepCtx(ctx, time.Second)
		afterClose = sampleGW(cf.PID)
	}
	b.errs.logSamples()

	total, byKind, _ := b.errs.snapshot()
	var r result
	r.add("scenario", "conns")
	r.add("url", cf.URL)
	r.add("requested", n)
	r.add("opened", opened)
	r.add("held_at_end", held)
	r.add("lost_during_hold", b.lost.Load())
	r.add("errors", total)
	r.add("errors_by_kind", byKind)
	r.add("open_s", round(openDur.Seconds(), 3))
	r.add("open_rate_per_s", round(float64(opened)/openDur.Seconds(), 1))
	r.add("handshake_p50_ms", ms(b.hsLat.quantile(0.50)))
	r.add("handshake_p99_ms", ms(b.hsLat.quantile(0.99)))
	r.add("handshake_max_ms", ms(b.hsLat.maxDur()))
	r.add("hold_s", round(holdDone.Seconds(), 2))
	r.add("pings_answered", b.pings.Load())
	r.add("events", b.events.Load())
	r.add("close_s", round(closeDur.Seconds(), 3))
	if before.ok {
		r.add("gw_rss_before_mb", mb(before.rssKB))
		r.add("gw_rss_after_open_mb", mb(afterOpen.rssKB))
		r.add("gw_rss_after_mb", mb(afterHold.rssKB))
		r.add("gw_rss_peak_mb", mb(afterHold.hwmKB))
		if opened > 0 {
			r.add("gw_kib_per_socket", round(float64(afterHold.rssKB-before.rssKB)/float64(opened), 2))
		}
		r.add("gw_fds_before", before.fds)
		r.add("gw_fds_after", afterHold.fds)
		r.add("gw_threads_after", afterHold.threads)
		r.add("gw_cpu_s", round((afterHold.cpu-before.cpu).Seconds(), 2))
		if afterHold.procs > 1 {
			// The reference runs helper processes (a spawn broker, a sqlite
			// worker): their memory is part of what the gateway costs.
			r.add("gw_tree_procs", afterHold.procs)
			r.add("gw_tree_rss_before_mb", mb(before.treeKB))
			r.add("gw_tree_rss_after_mb", mb(afterHold.treeKB))
		}
		if afterClose.ok {
			r.add("gw_rss_after_close_mb", mb(afterClose.rssKB))
			r.add("gw_fds_after_close", afterClose.fds)
		}
	}
	r.add("client_rss_mb", mb(clientAfter))
	if opened > 0 {
		r.add("client_kib_per_socket", round(float64(clientAfter-clientBefore)/float64(opened), 2))
	}
	if ctx.Err() != nil {
		return r, &cf, fmt.Errorf("interrupted")
	}
	if opened == 0 {
		return r, &cf, fmt.Errorf("no socket opened")
	}
	return r, &cf, nil
}

package main

import (
	"context"
	"fmt"
	"time"
)

// cmdSlow is fanout with a stuck reader: --rounds rounds with every reader
// reading, then reader 0 stops reading (its read loop blocks, so the
// gateway's writes to it pile up in the socket buffers and then in the
// gateway's own queue) for --rounds more. The other readers' latency must
// not change (docs/PROTOCOL.md §6.2: one slow socket never delays another). Then
// the stuck reader is released and reads what is left: a seq gap means the
// gateway dropped droppable events for it, a close (1008 "slow consumer")
// means it was cut off. Whether either happens depends on how much was
// queued: with small events and a short run the kernel buffers absorb it
// all; --pad makes every presence event bigger.
func cmdSlow(ctx context.Context, args []string) (result, *common, error) {
	ff := fanoutFlags("slow")
	k := ff.fs.Int("rounds", 10, "rounds before, and again with, the stuck reader")
	hold := ff.fs.Duration("stuck-hold", 2*time.Second, "after the last round, keep the reader stuck this long before releasing it")
	pos, _, err := parseArgs(ff.fs, args)
	if err != nil {
		return nil, &ff.cf, err
	}
	if err := ff.check(); err != nil {
		return nil, &ff.cf, err
	}
	cf := &ff.cf
	n, err := posInt(pos, 0, "R", -1, 2, maxConns)
	if err != nil {
		return nil, cf, err
	}
	if *k < 1 || *k > 500 {
		return nil, cf, fmt.Errorf("--rounds must be 1..500")
	}
	if *hold < 0 || *hold > 120*time.Second {
		return nil, cf, fmt.Errorf("--stuck-hold must be in [0, 120s]")
	}
	checkLimits(n+1, cf.PID)
	wd := watchdog(cf.OpenTimeout + time.Duration(2**k)*(ff.timeout+ff.gap) + *hold + 2*time.Minute)
	defer wd.Stop()

	const stuck = 0
	fr := newFanoutRun(cf.URL, cf.Token, n, ff.pad)
	fr.stallIdx = stuck
	fr.measured = func(i int) bool { return i != stuck }
	defer fr.close()
	var r result
	r.add("scenario", "slow")
	r.add("url", cf.URL)
	if err := fr.open(ctx, n, cf); err != nil {
		fr.readers.errs.logSamples()
		total, byKind, _ := fr.readers.errs.snapshot()
		r.add("errors", total)
		r.add("errors_by_kind", byKind)
		return r, cf, err
	}
	if fr.conns[0].idx != stuck {
		return r, cf, fmt.Errorf("reader %d (the one to stall) did not open", stuck)
	}
	rounds := int64(*k)
	first := int64(ff.warmup)
	var latA, allA, ackA, latB, allB, ackB histogram
	fr.warmup(ctx, ff)
	logf("slow: %d rounds, %d readers, all reading", rounds, len(fr.conns))
	missA := fr.rounds(ctx, first, rounds, ff.gap, ff.timeout, &latA, &allA, &ackA)

	logf("slow: reader %d stops reading; %d more rounds", stuck, rounds)
	fr.counted.Store(stuck)
	fr.stall.Store(true)
	sleepCtx(ctx, ff.gap)
	missB := fr.rounds(ctx, first+rounds, rounds, ff.gap, ff.timeout, &latB, &allB, &ackB)
	blocked := fr.stuck.blocked.Load()
	closedWhileStuck := fr.stuck.closed.Load()
	sleepCtx(ctx, *hold)

	logf("slow: releasing reader %d", stuck)
	relAt := fr.readers.now()
	fr.releaseStuck()
	last := first + 2*rounds - 1
	deadline := time.Now().Add(5 * time.Second)
	seen, quiet := int64(-1), time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if fr.stuck.closed.Load() || fr.stuck.maxRound.Load() >= last {
			break
		}
		if n := fr.stuck.framesAfter.Load(); n != seen {
			seen, quiet = n, time.Now()
		} else if time.Since(quiet) > 500*time.Millisecond {
			break // it read everything the gateway kept for it
		}
		sleepCtx(ctx, 10*time.Millisecond)
	}
	sleepCtx(ctx, 100*time.Millisecond) // a close right behind the last frame
	lastSeen := fr.stuck.maxRound.Load()
	caughtUp := lastSeen >= last
	// One more round, the stuck reader counted: does it get presence again?
	recovered := false
	if !fr.stuck.closed.Load() && ctx.Err() == nil {
		fr.counted.Store(-1)
		var lat, all, ack histogram
		sleepCtx(ctx, ff.gap)
		fr.doRound(ctx, last+1, &lat, &all, &ack, 3*time.Second)
		recovered = fr.stuck.maxRound.Load() >= last+1
	}
	fr.close()
	fr.readers.errs.logSamples()
	fr.ackErrs.logSamples()

	total, byKind := fr.errors()
	others := len(fr.conns) - 1
	r.add("readers", len(fr.conns))
	r.add("warmup_rounds", ff.warmup)
	r.add("rounds_each_phase", rounds)
	r.add("pad_bytes", ff.pad)
	r.add("stuck_hold_s", round(hold.Seconds(), 3))
	r.add("others_p50_ms_without_stuck", latA.qms(0.50))
	r.add("others_p99_ms_without_stuck", latA.qms(0.99))
	r.add("others_max_ms_without_stuck", latA.maxms())
	r.add("others_p50_ms_with_stuck", latB.qms(0.50))
	r.add("others_p99_ms_with_stuck", latB.qms(0.99))
	r.add("others_max_ms_with_stuck", latB.maxms())
	if p := latA.quantile(0.99); p > 0 && latB.count() > 0 {
		r.add("p99_with_over_without", round(float64(latB.quantile(0.99))/float64(p), 2))
	}
	r.add("delivered_without_stuck", latA.count())
	r.add("delivered_with_stuck", latB.count())
	r.add("expected_each_phase", int64(others)*rounds)
	r.add("missing", missA+missB)
	r.add("others_seq_gaps", fr.gaps.Load())
	r.add("stuck_blocked", blocked)
	r.add("stuck_closed_while_stuck", closedWhileStuck)
	closed := fr.stuck.closed.Load()
	r.add("stuck_closed", closed)
	if p := fr.stuck.closeKind.Load(); p != nil {
		r.add("stuck_close", *p)
		if at := fr.stuck.closedAtNs.Load(); at > relAt {
			r.add("stuck_closed_ms_after_release", ms(time.Duration(at-relAt)))
		}
	} else {
		r.add("stuck_close", nil)
	}
	r.add("stuck_frames_after_release", fr.stuck.framesAfter.Load())
	r.add("stuck_presence_after_release", fr.stuck.presenceAft.Load())
	r.add("stuck_last_round_seen", lastSeen)
	r.add("last_round_posted", last)
	r.add("stuck_seq_gaps", fr.stuck.gaps.Load())
	r.add("stuck_caught_up", caughtUp)
	r.add("stuck_got_next_round", recovered)
	outcome := stuckOutcome(blocked, closed, fr.stuck.gaps.Load(), caughtUp, recovered)
	if e := fr.adminErr.Load(); e != nil {
		outcome = fmt.Sprintf("run cut short in round %d: the gateway dropped the admin socket (%s %s)", fr.adminGone.Load(), e.kind, e.msg)
	}
	r.add("stuck_outcome", outcome)
	r.add("errors", total)
	r.add("errors_by_kind", byKind)
	if ctx.Err() != nil {
		return r, cf, fmt.Errorf("interrupted")
	}
	if e := fr.adminErr.Load(); e != nil {
		return r, cf, fmt.Errorf("run cut short in round %d: the admin socket is gone (%v)", fr.adminGone.Load(), e)
	}
	if latA.count() == 0 || latB.count() == 0 {
		return r, cf, fmt.Errorf("no presence event delivered in a phase")
	}
	return r, cf, nil
}

func stuckOutcome(blocked, closed bool, gaps int64, caughtUp, recovered bool) string {
	switch {
	case !blocked:
		return "never stalled (no frame reached it after the stall began)"
	case closed && gaps > 0:
		return "events dropped (seq gap), then closed"
	case closed:
		return "closed"
	case (gaps > 0 || !caughtUp) && recovered:
		return "presence events dropped while it was stuck (seq gap); it gets the next one"
	case gaps > 0 || !caughtUp:
		return "presence events dropped while it was stuck (seq gap); nothing since"
	case caughtUp:
		return "everything delivered late, nothing dropped (the kernel buffers and the gateway's backlog held it all)"
	}
	return "neither closed nor caught up"
}

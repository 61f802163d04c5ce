package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/lxzan/gws"
)

func cmdRPC(ctx context.Context, args []string) (result, *common, error) {
	fs := newFlagSet("rpc")
	var cf common
	cf.register(fs)
	pos, _, err := parseArgs(fs, args)
	if err != nil {
		return nil, &cf, err
	}
	if err := cf.check(); err != nil {
		return nil, &cf, err
	}
	c, err := posInt(pos, 0, "C", -1, 1, maxConns)
	if err != nil {
		return nil, &cf, err
	}
	secs, err := posInt(pos, 1, "SECONDS", -1, 1, maxSeconds)
	if err != nil {
		return nil, &cf, err
	}
	if cf.Token == "" {
		logf("  warning: no --token (or OPENCLAW_GATEWAY_TOKEN): the gateway will probably refuse the connects")
	}
	checkLimits(c, cf.PID)
	b := newBench(cf.URL, cf.Token, false)
	var r result
	r.add("scenario", "rpc")
	r.add("url", cf.URL)
	r.add("method", "health")
	err = runRPC(ctx, b, &cf, c, time.Duration(secs)*time.Second, &r)
	return r, &cf, err
}

func cmdEcho(ctx context.Context, args []string) (result, *common, error) {
	fs := newFlagSet("echo-baseline")
	var cf common
	cf.register(fs)
	pos, _, err := parseArgs(fs, args)
	if err != nil {
		return nil, &cf, err
	}
	if err := cf.check(); err != nil {
		return nil, &cf, err
	}
	c, err := posInt(pos, 0, "C", 100, 1, maxConns)
	if err != nil {
		return nil, &cf, err
	}
	secs, err := posInt(pos, 1, "SECONDS", 10, 1, maxSeconds)
	if err != nil {
		return nil, &cf, err
	}
	checkLimits(2*c, 0)
	url, stop, err := startEchoServer()
	if err != nil {
		return nil, &cf, err
	}
	defer stop()
	cf.PID = 0 // the server is in this process
	b := newBench(url, "", true)
	var r result
	r.add("scenario", "echo-baseline")
	r.add("url", url)
	r.add("peer", "in-process gws echo server (shares this process and its CPUs)")
	err = runRPC(ctx, b, &cf, c, time.Duration(secs)*time.Second, &r)
	return r, &cf, err
}

// runRPC opens c sockets, then keeps one request in flight on each for d,
// and appends the figures to r.
func runRPC(ctx context.Context, b *bench, cf *common, c int, d time.Duration, r *result) error {
	wd := watchdog(cf.OpenTimeout + d + 2*time.Minute)
	defer wd.Stop()
	self := os.Getpid()
	logf("rpc: opening %d sockets to %s", c, b.url)
	conns, openDur := b.open(ctx, c, cf.Concurrency, time.Now().Add(cf.OpenTimeout), !cf.Quiet)
	logf("rpc: %d/%d open in %.2fs; running for %s", len(conns), c, openDur.Seconds(), d)
	if len(conns) == 0 {
		b.errs.logSamples()
		total, byKind, _ := b.errs.snapshot()
		r.add("sockets", 0)
		r.add("errors", total)
		r.add("errors_by_kind", byKind)
		return fmt.Errorf("no socket opened")
	}

	before := sampleGW(cf.PID)
	selfCPU0 := selfCPU()
	b.rpcOn.Store(true)
	t0 := time.Now()
	for _, cn := range conns {
		cn.sendNext()
	}
	var last uint64
	lastT := t0
	for ctx.Err() == nil {
		left := d - time.Since(t0)
		if left <= 0 {
			break
		}
		if !sleepCtx(ctx, min(left, time.Second)) {
			break
		}
		now := time.Now()
		n := b.completed.Load()
		logf("  %8.0f rt/s  (total %d, p99 so far %.3f ms)", float64(n-last)/now.Sub(lastT).Seconds(), n, ms(b.lat.quantile(0.99)))
		last, lastT = n, now
	}
	b.rpcOn.Store(false)
	elapsed := time.Since(t0)
	cpuUsed := selfCPU() - selfCPU0
	after := sampleGW(cf.PID)
	clientRSS := rssKB(self)

	// A request still waiting a second after the end is stalled.
	nowNs := b.now()
	var inflight, stalled int
	for _, cn := range conns {
		if s := cn.sentAt.Load(); s != 0 {
			inflight++
			if time.Duration(nowNs-s) > time.Second {
				stalled++
			}
		}
	}
	b.closeAll(conns, 15*time.Second)
	b.errs.logSamples()

	total, byKind, _ := b.errs.snapshot()
	n := b.lat.count()
	r.add("sockets", len(conns))
	r.add("seconds", round(elapsed.Seconds(), 3))
	r.add("round_trips", n)
	r.add("rps", round(float64(n)/elapsed.Seconds(), 1))
	r.add("p50_ms", ms(b.lat.quantile(0.50)))
	r.add("p90_ms", ms(b.lat.quantile(0.90)))
	r.add("p99_ms", ms(b.lat.quantile(0.99)))
	r.add("p999_ms", ms(b.lat.quantile(0.999)))
	r.add("max_ms", ms(b.lat.maxDur()))
	r.add("mean_ms", ms(b.lat.mean()))
	r.add("errors", total)
	r.add("errors_by_kind", byKind)
	r.add("in_flight_at_end", inflight)
	r.add("stalled_at_end", stalled)
	r.add("open_s", round(openDur.Seconds(), 3))
	r.add("client_cpu_pct", round(100*cpuUsed.Seconds()/elapsed.Seconds(), 1))
	r.add("client_rss_mb", mb(clientRSS))
	if before.ok && after.ok {
		r.add("gw_cpu_pct", round(100*(after.cpu-before.cpu).Seconds()/elapsed.Seconds(), 1))
		r.add("gw_rss_before_mb", mb(before.rssKB))
		r.add("gw_rss_after_mb", mb(after.rssKB))
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted")
	}
	if n == 0 {
		return fmt.Errorf("no round trip completed")
	}
	return nil
}

// echoHandler is a bare echo server: every data frame is written back.
type echoHandler struct{ gws.BuiltinEventHandler }

func (echoHandler) OnPing(s *gws.Conn, p []byte) { _ = s.WritePong(p) }

func (echoHandler) OnMessage(s *gws.Conn, m *gws.Message) {
	_ = s.WriteMessage(m.Opcode, m.Bytes())
	_ = m.Close()
}

// startEchoServer serves gws echo sockets on a free 127.0.0.1 port.
func startEchoServer() (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	up := gws.NewUpgrader(echoHandler{}, &gws.ServerOption{
		ReadBufferSize:     2048,
		ReadMaxPayloadSize: 1 << 20,
		NewSession:         func() gws.SessionStorage { return noSession{} },
	})
	var mu sync.Mutex
	socks := map[*gws.Conn]struct{}{}
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, err := up.Upgrade(w, r)
			if err != nil {
				return
			}
			mu.Lock()
			socks[s] = struct{}{}
			mu.Unlock()
			go func() {
				s.ReadLoop()
				mu.Lock()
				delete(socks, s)
				mu.Unlock()
			}()
		}),
	}
	go func() { _ = srv.Serve(ln) }()
	stop = func() {
		_ = srv.Close()
		mu.Lock()
		defer mu.Unlock()
		for s := range socks {
			_ = s.NetConn().Close()
		}
	}
	return "ws://" + ln.Addr().String(), stop, nil
}

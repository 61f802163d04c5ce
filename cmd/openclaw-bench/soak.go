package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"

	"openclaw/transport/client"
	"openclaw/transport/protocol"
	"openclaw/transport/provider/fakeprovider"
)

// The soak: a real gateway under a mix of everything it does, for a bounded
// time, then a check that it holds no more than it did at the start. Leaks
// show as growth that a short test never sees: goroutines, descriptors,
// memory.
//
// The mix, all at once: sockets that connect and leave (some mid-request,
// some mid-handshake), sockets that pipeline bursts of requests, an admin
// posting presence notes (roster broadcasts to every reader), agent turns
// streaming to watchers, and an in-process restart (SIGUSR1) every
// --restart-every. The baseline is taken after --warmup of the same load
// and a pause; the end after the load stops and the same pause.

// Growth a soak tolerates between its baseline and its end.
const (
	soakMaxGoroutines = 25
	soakMaxFDs        = 10
	soakMaxRSSMB      = 48
	soakSettle        = 3 * time.Second
)

func cmdSoak(ctx context.Context, args []string) (result, *common, error) {
	fs := newFlagSet("soak")
	var cf common
	cf.register(fs)
	bin := fs.String("bin", "", "gateway binary (run as: BIN gateway --port P, with a config naming a fake provider)")
	duration := fs.Duration("duration", 5*time.Minute, "how long the load runs after the warmup")
	warmup := fs.Duration("warmup", 20*time.Second, "load before the baseline is taken")
	restartEvery := fs.Duration("restart-every", time.Minute, "SIGUSR1 period (0: none)")
	if _, _, err := parseArgs(fs, args); err != nil {
		return nil, &cf, err
	}
	if err := cf.check(); err != nil {
		return nil, &cf, err
	}
	switch {
	case *bin == "":
		return nil, &cf, fmt.Errorf("--bin is required")
	case *duration <= 0 || *duration > 30*time.Minute:
		return nil, &cf, fmt.Errorf("--duration must be in (0, 30m]")
	case *warmup < 0 || *warmup > 5*time.Minute:
		return nil, &cf, fmt.Errorf("--warmup must be in [0, 5m]")
	}
	binPath, err := absBinary(*bin)
	if err != nil {
		return nil, &cf, err
	}
	wd := watchdog(*warmup + *duration + 5*time.Minute)
	defer wd.Stop()

	prov, err := fakeprovider.Start("")
	if err != nil {
		return nil, &cf, err
	}
	defer prov.Close()
	prov.KeepRequests(0)
	prov.SetDefault(fakeprovider.Reply{Text: "a reply in several pieces for the watchers", Deltas: 8, ChunkDelay: 10 * time.Millisecond})
	token := "soak-" + strings.ReplaceAll(uuid.NewString(), "-", "")
	g, err := startGatewayConfig(ctx, binPath, []string{"gateway"}, nil, token, time.Minute, agentConfig(token, prov.URL), "")
	if err != nil {
		return nil, &cf, err
	}
	defer g.cleanup(false)

	s := &soak{url: g.url, token: token}
	load, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	s.start(load, &wg)

	res := result{}
	res.add("scenario", "soak")
	res.add("warmup_s", warmup.Seconds())
	res.add("duration_s", duration.Seconds())
	logf("soak: warming up for %s", *warmup)
	sleepCtx(ctx, *warmup)
	pauseAndSample := func() (goroutines int, fds int, rssMB float64, err error) {
		s.paused.Store(true)
		sleepCtx(ctx, soakSettle)
		goroutines, err = s.goroutines(ctx)
		fds, rssMB = fdCount(g.pid), mb(rssKB(g.pid))
		s.paused.Store(false)
		return
	}
	g0, f0, r0, err := pauseAndSample()
	if err != nil {
		stopLoad()
		wg.Wait()
		return res, &cf, fmt.Errorf("baseline: %w", err)
	}
	logf("soak: baseline %d goroutines, %d fds, %.1f MB; running for %s", g0, f0, r0, *duration)

	end := time.Now().Add(*duration)
	restarts := 0
	for time.Now().Before(end) && ctx.Err() == nil {
		wait := time.Until(end)
		if *restartEvery > 0 && *restartEvery < wait {
			wait = *restartEvery
		}
		sleepCtx(ctx, wait)
		if *restartEvery > 0 && time.Now().Before(end) {
			_ = syscall.Kill(g.pid, syscall.SIGUSR1)
			restarts++
		}
	}
	stopLoad()
	wg.Wait()
	g1, f1, r1, err := pauseAndSample()
	if err != nil {
		return res, &cf, fmt.Errorf("end: %w", err)
	}
	res.add("restarts", restarts)
	res.add("connects", s.connects.Load())
	res.add("requests", s.requests.Load())
	res.add("agent_turns", s.turns.Load())
	res.add("presence_notes", s.notes.Load())
	res.add("calls_without_answer", s.cut.Load())
	res.add("goroutines_start", g0)
	res.add("goroutines_end", g1)
	res.add("fds_start", f0)
	res.add("fds_end", f1)
	res.add("rss_start_mb", r0)
	res.add("rss_end_mb", r1)
	var growth []string
	if g1-g0 > soakMaxGoroutines {
		growth = append(growth, fmt.Sprintf("goroutines %d -> %d", g0, g1))
	}
	if f1-f0 > soakMaxFDs {
		growth = append(growth, fmt.Sprintf("fds %d -> %d", f0, f1))
	}
	if r1-r0 > soakMaxRSSMB {
		growth = append(growth, fmt.Sprintf("RSS %.1f -> %.1f MB", r0, r1))
	}
	select {
	case werr := <-g.exited:
		g.exited <- werr // for cleanup
		growth = append(growth, "the gateway exited: "+exitString(werr))
	default:
	}
	res.add("ok", len(growth) == 0)
	if len(growth) > 0 {
		return res, &cf, fmt.Errorf("grew between the baseline and the end: %s", strings.Join(growth, "; "))
	}
	return res, &cf, nil
}

// soak drives the load.
type soak struct {
	url, token string
	paused     atomic.Bool // the load idles while a sample is taken

	connects, requests, turns, notes atomic.Int64
	// cut counts calls that ended without an answer: the load closes
	// sockets mid-request and restarts the gateway, so some are expected.
	cut atomic.Int64
}

func (s *soak) dial(ctx context.Context, scopes ...string) (*client.Client, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := client.Dial(dctx, client.Options{URL: s.url, Token: s.token, Scopes: scopes, EventBuffer: 1024})
	if err == nil {
		s.connects.Add(1)
	}
	return c, err
}

func (s *soak) call(ctx context.Context, c *client.Client, method string, params any) {
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := c.Call(cctx, method, params); err != nil && ctx.Err() == nil {
		var e *protocol.ErrorShape
		if !errors.As(err, &e) {
			s.cut.Add(1)
		}
	}
	s.requests.Add(1)
}

// goroutines asks the gateway (status) how many goroutines it runs.
func (s *soak) goroutines(ctx context.Context) (int, error) {
	for attempt := 0; attempt < 20; attempt++ {
		c, err := s.dial(ctx, "operator.read")
		if err == nil {
			var st protocol.Status
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			raw, err := c.Call(cctx, "status", nil)
			cancel()
			c.Close()
			if err == nil && json.Unmarshal(raw, &st) == nil {
				return st.Goroutines, nil
			}
		}
		sleepCtx(ctx, 500*time.Millisecond) // a restart in progress
	}
	return 0, fmt.Errorf("the gateway answers no status")
}

// loop runs fn until ctx ends, idling while paused.
func (s *soak) loop(ctx context.Context, wg *sync.WaitGroup, every time.Duration, fn func(context.Context)) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			if !s.paused.Load() {
				fn(ctx)
			}
			sleepCtx(ctx, every)
		}
	}()
}

func (s *soak) start(ctx context.Context, wg *sync.WaitGroup) {
	// Churn: connect, maybe ask something, leave; sometimes mid-request.
	for i := 0; i < 8; i++ {
		s.loop(ctx, wg, 20*time.Millisecond, func(ctx context.Context) {
			c, err := s.dial(ctx, "operator.read")
			if err != nil {
				return
			}
			if rand.IntN(2) == 0 {
				go s.call(ctx, c, "system-presence", nil)
			}
			c.Close()
		})
	}
	// Pipelined bursts.
	for i := 0; i < 2; i++ {
		s.loop(ctx, wg, 200*time.Millisecond, func(ctx context.Context) {
			c, err := s.dial(ctx, "operator.read")
			if err != nil {
				return
			}
			defer c.Close()
			var bwg sync.WaitGroup
			for j := 0; j < 64; j++ {
				bwg.Add(1)
				go func(j int) {
					defer bwg.Done()
					method := []string{"health", "status", "system-presence", "logs.tail"}[j%4]
					s.call(ctx, c, method, nil)
				}(j)
			}
			bwg.Wait()
		})
	}
	// Presence notes: roster broadcasts to every reader.
	s.loop(ctx, wg, 100*time.Millisecond, func(ctx context.Context) {
		c, err := s.dial(ctx, "operator.admin")
		if err != nil {
			return
		}
		defer c.Close()
		s.call(ctx, c, "system-event", map[string]any{"text": "soak " + strconv.Itoa(rand.IntN(50)), "host": "soak-" + strconv.Itoa(rand.IntN(50))})
		s.notes.Add(1)
	})
	// Agent turns with watchers reading their events.
	for i := 0; i < 2; i++ {
		s.loop(ctx, wg, 300*time.Millisecond, func(ctx context.Context) {
			w, err := s.dial(ctx, "operator.read")
			if err != nil {
				return
			}
			defer w.Close()
			c, err := s.dial(ctx, "operator.write")
			if err != nil {
				return
			}
			defer c.Close()
			s.call(ctx, c, "agent", map[string]any{"message": "soak", "idempotencyKey": uuid.NewString(),
				"sessionKey": "agent:main:soak-" + strconv.Itoa(rand.IntN(4))})
			s.turns.Add(1)
		})
	}
}

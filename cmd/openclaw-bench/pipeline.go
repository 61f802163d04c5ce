package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"openclaw/transport/client"
	"openclaw/transport/protocol"
)

// cmdPipeline: one admin socket sends N requests of one method at once,
// without waiting for answers (a client that pipelines, or floods), and
// reports how they were answered and what it cost the gateway in memory.
// With --pid it samples the gateway's RSS while the answers come back.
func cmdPipeline(ctx context.Context, args []string) (result, *common, error) {
	fs := newFlagSet("pipeline")
	var cf common
	cf.register(fs)
	method := fs.String("method", "health", "the method every request calls")
	params := fs.String("params", "{}", "its params (JSON)")
	timeout := fs.Duration("call-timeout", 120*time.Second, "give up on an answer after this long")
	pos, _, err := parseArgs(fs, args)
	if err != nil {
		return nil, &cf, err
	}
	if err := cf.check(); err != nil {
		return nil, &cf, err
	}
	n, err := posInt(pos, 0, "N", 1000, 1, 100000)
	if err != nil {
		return nil, &cf, err
	}
	var p any
	if err := json.Unmarshal([]byte(*params), &p); err != nil {
		return nil, &cf, fmt.Errorf("--params: %v", err)
	}
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	c, err := client.Dial(dctx, client.Options{URL: cf.URL, Token: cf.Token, Scopes: []string{"operator.admin"}})
	cancel()
	if err != nil {
		return nil, &cf, err
	}
	defer c.Close()
	var rssStart, rssPeak int64
	if cf.PID > 0 {
		rssStart = rssKB(cf.PID)
		rssPeak = rssStart
	}
	var ok, refused, failed, lost atomic.Int64
	codes := sync.Map{}
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, *timeout)
			defer cancel()
			_, err := c.Call(cctx, *method, p)
			var e *protocol.ErrorShape
			switch {
			case err == nil:
				ok.Add(1)
			case errors.As(err, &e):
				code := e.Code
				if d, _ := e.Details.(map[string]any); d != nil && d["code"] != nil {
					code += "/" + fmt.Sprint(d["code"])
				}
				v, _ := codes.LoadOrStore(code, new(atomic.Int64))
				v.(*atomic.Int64).Add(1)
				if e.Retryable != nil && *e.Retryable {
					refused.Add(1)
				} else {
					failed.Add(1)
				}
			default:
				lost.Add(1)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for sampling := true; sampling; {
		select {
		case <-done:
			sampling = false
		case <-time.After(50 * time.Millisecond):
		}
		if cf.PID > 0 {
			rssPeak = max(rssPeak, rssKB(cf.PID))
		}
	}
	r := result{}
	r.add("scenario", "pipeline")
	r.add("method", *method)
	r.add("requests", n)
	r.add("answered_ok", ok.Load())
	r.add("refused_retryable", refused.Load())
	r.add("failed", failed.Load())
	r.add("no_answer", lost.Load())
	byCode := map[string]int64{}
	codes.Range(func(k, v any) bool { byCode[k.(string)] = v.(*atomic.Int64).Load(); return true })
	r.add("errors_by_code", byCode)
	r.add("seconds", round(time.Since(start).Seconds(), 2))
	if cf.PID > 0 {
		r.add("gw_rss_start_mb", mb(rssStart))
		r.add("gw_rss_peak_mb", mb(rssPeak))
		r.add("gw_rss_after_mb", mb(rssKB(cf.PID)))
	}
	return r, &cf, nil
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"openclaw/transport/loopback"
)

// maxClusterGateways bounds --cluster: each gateway is a process with its
// own embedded NATS server.
const maxClusterGateways = 5

// gwCluster is n gateways the tool started as one cluster ("bench"), each
// with its embedded NATS server routed to the others on loopback ports.
type gwCluster []*gwProc

// clusterStartAttempts bounds startCluster's tries: the ports are picked
// free, then released until the gateways bind them, and another process
// may take one meanwhile (a busy machine's ephemeral ports).
const clusterStartAttempts = 3

// startCluster starts n gateways of bin ("bin gateway --port P", config
// base plus gateway.cluster) together: each one's start waits for the
// JetStream quorum, which needs a majority of them up. A failed start is
// tried again on fresh ports.
func startCluster(ctx context.Context, bin string, n int, token string, timeout time.Duration, base map[string]any, logDir string) (gwCluster, error) {
	var err error
	for attempt := 1; attempt <= clusterStartAttempts && ctx.Err() == nil; attempt++ {
		var gs gwCluster
		if gs, err = startClusterOnce(ctx, bin, n, token, timeout, base, logDir); err == nil {
			return gs, nil
		}
		logf("  cluster start %d/%d failed: %v", attempt, clusterStartAttempts, truncate(strings.ReplaceAll(err.Error(), "\n", " | "), 300))
	}
	return nil, err
}

func startClusterOnce(ctx context.Context, bin string, n int, token string, timeout time.Duration, base map[string]any, logDir string) (gwCluster, error) {
	listens, routes := make([]string, n), make([]string, n)
	for i := range n {
		p, err := loopback.FreePort()
		if err != nil {
			return nil, err
		}
		listens[i] = fmt.Sprintf("127.0.0.1:%d", p)
		routes[i] = "nats-route://" + listens[i]
	}
	gs := make(gwCluster, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		cfg := maps.Clone(base)
		gw, _ := cfg["gateway"].(map[string]any)
		gw = maps.Clone(gw)
		if gw == nil {
			gw = map[string]any{}
		}
		gw["cluster"] = map[string]any{"enabled": true, "name": "bench", "nodeName": fmt.Sprintf("gw-%d", i),
			"nats": map[string]any{"embedded": map[string]any{"clusterListen": listens[i], "routes": routes}}}
		cfg["gateway"] = gw
		b, err := json.Marshal(cfg)
		if err != nil {
			return nil, err
		}
		logPath := ""
		if logDir != "" {
			logPath = filepath.Join(logDir, fmt.Sprintf("gw-%d.log", i))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			gs[i], errs[i] = startGatewayConfig(ctx, bin, []string{"gateway"}, nil, token, timeout, b, logPath)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("gw-%d: %w", i, errs[i])
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		gs.stop()
		gs.logTails() // the ones that did start: what they saw of the others
		return nil, err
	}
	return gs, nil
}

// logTails prints the last lines of each stopped gateway's log on stderr:
// a failed scenario says what its gateways saw.
func (gs gwCluster) logTails() {
	for i, g := range gs {
		if g != nil && g.done {
			logf("  gw-%d (pid %d) log, last %d lines:\n%s", i, g.pid, logTailLines, g.lastLog)
		}
	}
}

// urls is the gateways' URLs as one comma-separated list (what --url
// takes to spread sockets over them).
func (gs gwCluster) urls() string {
	us := make([]string, 0, len(gs))
	for _, g := range gs {
		us = append(us, g.url)
	}
	return strings.Join(us, ",")
}

// stop stops every gateway (in parallel: each may take up to 15 s) and
// says how each ended.
func (gs gwCluster) stop() string {
	how := make([]string, len(gs))
	var wg sync.WaitGroup
	for i, g := range gs {
		if g == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			how[i] = g.stop()
		}()
	}
	wg.Wait()
	return strings.Join(how, "; ")
}

// rssEach is each gateway's resident memory now, in MB.
func (gs gwCluster) rssEach() []float64 {
	out := make([]float64, 0, len(gs))
	for _, g := range gs {
		s := sampleGW(g.pid)
		out = append(out, mb(s.rssKB))
	}
	return out
}

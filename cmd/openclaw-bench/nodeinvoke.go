package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"openclaw/transport/auth"
	"openclaw/transport/client"
	"openclaw/transport/protocol"
)

// node-invoke: the round trip of one node.invoke, operator to node and back,
// through the gateway. A node played by the project's Go client
// (transport/client: a device identity, role node, linux, declaring
// system.which) answers every node.invoke.request at once; an operator
// approves its command surface, then calls node.invoke system.which N times,
// one at a time, timing each call from send to answer. The same node and
// command work against this gateway and the reference.

// nodeInvokeWarmup calls are made and not counted.
const nodeInvokeWarmup = 20

// maxNodeInvokes bounds N.
const maxNodeInvokes = 100000

func cmdNodeInvoke(ctx context.Context, args []string) (result, *common, error) {
	fs := newFlagSet("node-invoke")
	var cf common
	cf.register(fs)
	timeout := fs.Duration("call-timeout", 30*time.Second, "give up on one call after this long")
	pos, _, err := parseArgs(fs, args)
	if err != nil {
		return nil, &cf, err
	}
	if err := cf.check(); err != nil {
		return nil, &cf, err
	}
	n, err := posInt(pos, 0, "N", 1000, 1, maxNodeInvokes)
	if err != nil {
		return nil, &cf, err
	}
	var r result
	r.add("scenario", "node-invoke")
	r.add("url", cf.URL)
	r.add("command", "system.which")
	err = runNodeInvoke(ctx, &cf, n, *timeout, &r)
	return r, &cf, err
}

func runNodeInvoke(ctx context.Context, cf *common, n int, callTimeout time.Duration, r *result) error {
	wd := watchdog(time.Duration(n+nodeInvokeWarmup)*callTimeout/10 + 5*time.Minute)
	defer wd.Stop()
	dial := func(o client.Options) (*client.Client, error) {
		dctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		o.URL, o.Token = cf.URL, cf.Token
		return client.Dial(dctx, o)
	}
	id := auth.NewIdentity()
	node, err := dial(client.Options{Identity: &id, Role: "node", ClientID: "node-host", Mode: "node", Platform: "linux",
		DeviceFamily: "Linux", DisplayName: "bench-node", Caps: []string{"system"}, Commands: []string{"system.which"},
		EventBuffer: 4096})
	if err != nil {
		return fmt.Errorf("node connect: %w", err)
	}
	defer node.Close()
	received := serveNode(node)
	op, err := dial(client.Options{Scopes: []string{"operator.admin", "operator.read", "operator.write", "operator.pairing"}})
	if err != nil {
		return fmt.Errorf("operator connect: %w", err)
	}
	defer op.Close()
	call := func(method string, params any) (json.RawMessage, error) {
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		return op.Call(cctx, method, params)
	}
	if err := approveNode(call, id.ID, callTimeout); err != nil {
		return err
	}
	logf("node-invoke: node %s approved; %d warm-up calls, then %d timed", id.ID[:12], nodeInvokeWarmup, n)

	var h histogram
	params := map[string]any{"bins": []string{"sh"}}
	fails := map[string]int64{}
	t0 := time.Now()
	for i := -nodeInvokeWarmup; i < n && ctx.Err() == nil; i++ {
		start := time.Now()
		res, err := call("node.invoke", map[string]any{"nodeId": id.ID, "command": "system.which", "params": params,
			"idempotencyKey": "bench-" + strconv.Itoa(i+nodeInvokeWarmup), "timeoutMs": callTimeout.Milliseconds()})
		d := time.Since(start)
		if err != nil {
			var e *protocol.ErrorShape
			kind := "transport"
			if errors.As(err, &e) {
				kind = e.Code
			}
			fails[kind]++
			if fails[kind] <= 3 {
				logf("  call %d: %v", i, err)
			}
			continue
		}
		var out struct {
			OK bool `json:"ok"`
		}
		if json.Unmarshal(res, &out) != nil || !out.OK {
			fails["bad_answer"]++
			continue
		}
		if i >= 0 {
			h.record(d)
		}
		if i > 0 && i%250 == 0 {
			logf("  %d calls, p50 %.3f ms, p99 %.3f ms", i, ms(h.quantile(0.5)), ms(h.quantile(0.99)))
		}
	}
	elapsed := time.Since(t0)
	var failed int64
	for _, v := range fails {
		failed += v
	}
	r.add("calls", int64(h.count()))
	r.add("failed", failed)
	r.add("failed_by_kind", fails)
	r.add("node_requests", received.Load())
	r.add("p50_ms", ms(h.quantile(0.5)))
	r.add("p90_ms", ms(h.quantile(0.9)))
	r.add("p99_ms", ms(h.quantile(0.99)))
	r.add("max_ms", ms(h.maxDur()))
	r.add("mean_ms", round(float64(h.sum.Load())/float64(max(1, h.count()))/1e6, 3))
	r.add("calls_per_s", round(float64(h.count())/elapsed.Seconds(), 1))
	if failed > 0 {
		return fmt.Errorf("%d calls failed", failed)
	}
	return nil
}

// serveNode answers every node.invoke.request on c at once; the counter
// is how many requests it received (each came to the node once: the
// gateway did not duplicate or lose one).
func serveNode(c *client.Client) *atomic.Int64 {
	var received atomic.Int64
	go func() {
		for e := range c.Events() {
			if e.Event != "node.invoke.request" {
				continue
			}
			var req protocol.NodeInvokeRequest
			if json.Unmarshal(e.Payload, &req) != nil {
				continue
			}
			received.Add(1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				_, _ = c.Call(ctx, "node.invoke.result", map[string]any{"id": req.ID, "nodeId": req.NodeID, "ok": true,
					"payloadJSON": `{"bins":{"sh":"/bin/sh"}}`})
			}()
		}
	}()
	return &received
}

// approveNode waits for the node's command surface to be pending and
// approves it.
func approveNode(call func(string, any) (json.RawMessage, error), nodeID string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		res, err := call("node.pair.list", map[string]any{})
		if err != nil {
			return fmt.Errorf("node.pair.list: %w", err)
		}
		var l struct {
			Pending []struct {
				RequestID string `json:"requestId"`
				NodeID    string `json:"nodeId"`
			} `json:"pending"`
		}
		_ = json.Unmarshal(res, &l)
		for _, p := range l.Pending {
			if p.NodeID == nodeID {
				if _, err := call("node.pair.approve", map[string]any{"requestId": p.RequestID}); err != nil {
					return fmt.Errorf("node.pair.approve: %w", err)
				}
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the node's commands never showed up as pending in node.pair.list")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"openclaw/transport/protocol"
	"openclaw/transport/provider/fakeprovider"
)

// TestSIGHUPReloads: SIGHUP rereads the config now, as NATS and Caddy do,
// instead of killing the process. With reload.mode "off" no watcher saw the
// edit, so only the signal can have applied it: the new token works, the
// old one's socket is closed 4001, and the process is the same one.
func TestSIGHUPReloads(t *testing.T) {
	g := configGateway(t, `{gateway: {reload: {mode: "off"}, auth: {token: "hup-old-token-123456"}}}`)
	old := mustDial(t, g, "hup-old-token-123456")
	writeConfig(t, g.StateDir, `{gateway: {reload: {mode: "off"}, auth: {token: "hup-new-token-123456"}}}`)
	if _, err := dialToken(g, "hup-new-token-123456"); err == nil {
		t.Fatal("the new token works before SIGHUP: the edit was not ignored as reload.mode off says")
	}
	g.signal(t, syscall.SIGHUP)
	closedWith(t, old, 4001, 5*time.Second)
	mustDial(t, g, "hup-new-token-123456")
	if g.exited() || !strings.Contains(g.Stdout.String(), "config reload requested") || !strings.Contains(g.Stdout.String(), "reason=SIGHUP") {
		t.Fatalf("after SIGHUP: exited %v\n%s", g.exited(), g.Stdout)
	}

	// A broken file on SIGHUP is logged; the running config stays.
	writeConfig(t, g.StateDir, `{gateway: {auth: {tokn: "x"}}}`)
	g.signal(t, syscall.SIGHUP)
	if !waitFor(func() bool { return strings.Contains(g.Stdout.String(), "unknown config key gateway.auth.tokn") }, 5*time.Second) {
		t.Fatalf("no log line naming the bad key:\n%s", g.Stdout)
	}
	mustDial(t, g, "hup-new-token-123456")
	g.stop(t)
}

// TestSIGTERMAnswersAgentInFlight: a real client waiting for an agent
// turn's final answer when the gateway gets SIGTERM is answered before the
// socket closes: UNAVAILABLE with details.code GATEWAY_STOPPING (retryable;
// the turn is kept and resumed by the next start). The process exits 0.
func TestSIGTERMAnswersAgentInFlight(t *testing.T) {
	slow := fakeprovider.Text("a long answer that is cut short by the stop", 10)
	slow.ChunkDelay = 200 * time.Millisecond
	fp := fakeprovider.New(t)
	fp.SetDefault(slow)
	g := agentGatewayProc(t, fp)
	c := mustDial(t, g, g.Token)
	type answer struct {
		res json.RawMessage
		err error
	}
	got := make(chan answer, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := c.CallFinal(ctx, "agent", map[string]any{"message": "take your time", "idempotencyKey": "sigterm-1"})
		got <- answer{res, err}
	}()
	for ev := range c.Events() { // streaming has begun: the turn is in flight
		if ev.Event == "agent" {
			break
		}
	}
	g.signal(t, syscall.SIGTERM)
	a := <-got
	var shape *protocol.ErrorShape
	if a.err == nil {
		// Also an answer: the turn finished within the drain window.
		if !strings.Contains(string(a.res), `"status":"ok"`) {
			t.Fatalf("the agent request in flight got %s, want its final or GATEWAY_STOPPING", a.res)
		}
	} else if !errors.As(a.err, &shape) || shape.Code != protocol.CodeUnavailable ||
		fmt.Sprint(shape.Details) != "map[code:GATEWAY_STOPPING]" || shape.Retryable == nil {
		t.Fatalf("the agent request in flight got %v (%+v), want UNAVAILABLE GATEWAY_STOPPING", a.err, shape)
	}
	if code := g.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"openclaw/actors/gateway/gatewaytest"
	"openclaw/transport/client"
	"openclaw/transport/protocol"
	"openclaw/transport/provider/fakeprovider"
)

// Cluster failover with real processes: three `openclaw gateway` processes,
// each with its embedded NATS routed to the others on loopback ports, and
// the agent's model a fake provider in this process. kill -9 is a real
// SIGKILL: no goodbye on NATS, no JetStream leader stepping down, no socket
// closed cleanly (an in-process gateway's Kill shuts its embedded NATS
// server down, which steps its raft leaders down first: a gentler loss).

// clusterToken is the shared secret of the test clusters.
const clusterToken = "cluster-token-0123456789"

// failoverWait bounds a wait for the cluster after a loss: a killed
// gateway's session locks expire after 15 s (jsstore.DefaultLockTTL), its
// turns are looked for every 5 s, and a loaded machine adds its share.
const failoverWait = 90 * time.Second

// clusterNode is one gateway process of a test cluster, restartable on the
// same port, state directory and config.
type clusterNode struct {
	name string
	opts gwOptions
	proc *gatewayProc
}

// startClusterProcs starts n gateways as cluster "fo" (nodes gw-0 …), their
// agent talking to fp, and waits until each listens. gateway is more of the
// gateway section ("limits: {…},"), or "".
func startClusterProcs(t *testing.T, n int, fp *fakeprovider.Server, gateway string) []*clusterNode {
	t.Helper()
	listens, routes := make([]string, n), make([]string, n)
	for i := range n {
		listens[i] = "127.0.0.1:" + strconv.Itoa(gatewaytest.FreePort(t))
		routes[i] = "nats-route://" + listens[i]
	}
	rj, _ := json.Marshal(routes)
	nodes := make([]*clusterNode, n)
	for i := range n {
		dir := t.TempDir()
		name := fmt.Sprintf("gw-%d", i)
		cfg := fmt.Sprintf(`{
			gateway: {%s auth: {token: %q}, cluster: {enabled: true, name: "fo", nodeName: %q,
				nats: {embedded: {clusterListen: %q, routes: %s}}}},
			models: {providers: {mock: {baseUrl: %q, apiKey: "sk-mock", api: "openai-completions", models: [{id: "m", name: "M"}]}}},
			agents: {defaults: {model: {primary: "mock/m"}}},
		}`, gateway, clusterToken, name, listens[i], rj, fp.URL)
		if err := os.WriteFile(filepath.Join(dir, "openclaw.json"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		nodes[i] = &clusterNode{name: name, opts: gwOptions{StateDir: dir, Port: gatewaytest.FreePort(t), NoAllowUnconfigured: true,
			Env: []string{"OPENCLAW_SKIP_CANVAS_HOST=1"}}}
	}
	// Together: a gateway's start waits for the JetStream quorum.
	for _, nd := range nodes {
		nd.proc = launchGateway(t, nd.opts)
		nd.proc.Token = clusterToken
	}
	for _, nd := range nodes {
		nd.wait(t)
	}
	return nodes
}

func (nd *clusterNode) wait(t *testing.T) {
	t.Helper()
	if err := nd.proc.waitListening(failoverWait); err != nil {
		t.Fatalf("%s did not start: %v\n--- stdout:\n%s--- stderr:\n%s", nd.name, err, nd.proc.Stdout, nd.proc.Stderr)
	}
}

// restart starts the gateway again on the same port, state and config.
func (nd *clusterNode) restart(t *testing.T) {
	t.Helper()
	nd.proc = launchGateway(t, nd.opts)
	nd.proc.Token = clusterToken
	nd.wait(t)
}

// within polls check until it returns "" or d passes.
func within(t *testing.T, what string, d time.Duration, check func() string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		msg := check()
		if msg == "" {
			return time.Since(start)
		}
		if time.Since(start) > d {
			t.Fatalf("%s: not within %s: %s", what, d, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func callIn(c *client.Client, d time.Duration, method string, params any) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return c.Call(ctx, method, params)
}

// clusterFormed waits until every client's gateway counts n members.
func clusterFormed(t *testing.T, n int, ops ...*client.Client) {
	t.Helper()
	within(t, "cluster formed", failoverWait, func() string {
		for _, c := range ops {
			raw, err := callIn(c, 10*time.Second, "status", nil)
			var s struct {
				Cluster *struct{ Members []struct{ Node string } }
			}
			if err != nil || json.Unmarshal(raw, &s) != nil || s.Cluster == nil || len(s.Cluster.Members) < n {
				return fmt.Sprintf("status: %v %.300s", err, raw)
			}
		}
		return ""
	})
}

// presenceRows is system-presence as (mode, instanceId, gateway) rows.
type presenceRow struct{ Mode, InstanceID, Gateway string }

func presenceRows(c *client.Client) ([]presenceRow, error) {
	raw, err := callIn(c, 10*time.Second, "system-presence", nil)
	if err != nil {
		return nil, err
	}
	var rows []presenceRow
	return rows, json.Unmarshal(raw, &rows)
}

// sessionHistory is chat.history of a session as "role:text" strings.
func sessionHistory(c *client.Client, session string) ([]string, error) {
	raw, err := callIn(c, 10*time.Second, "chat.history", map[string]any{"sessionKey": session})
	if err != nil {
		return nil, err
	}
	return gatewaytest.HistoryLines(raw)
}

// sameHistory waits until c's chat.history of session is want.
func sameHistory(t *testing.T, what string, c *client.Client, session string, want []string) {
	t.Helper()
	within(t, what, failoverWait, func() string {
		got, err := sessionHistory(c, session)
		if err != nil || !slices.Equal(got, want) {
			return fmt.Sprintf("%q %v, want %q", got, err, want)
		}
		return ""
	})
}

// waitDelta waits for an assistant delta of run on c's events.
func waitDelta(t *testing.T, c *client.Client, run string) {
	t.Helper()
	deadline := time.After(failoverWait)
	for {
		select {
		case e := <-c.Events():
			var p struct{ RunID, Stream string }
			if e.Event == "agent" && json.Unmarshal(e.Payload, &p) == nil && p.RunID == run && p.Stream == "assistant" {
				return
			}
		case <-deadline:
			t.Fatalf("no delta of %s", run)
		}
	}
}

// runOK waits until agent.wait on c says run ended ok: until a gateway
// runs it again, none holds it and agent.wait answers "timeout".
func runOK(t *testing.T, c *client.Client, run string) {
	t.Helper()
	within(t, "agent.wait "+run, failoverWait, func() string {
		raw, err := callIn(c, 15*time.Second, "agent.wait", map[string]any{"runId": run, "timeoutMs": 5000})
		if err != nil || !strings.Contains(string(raw), `"status":"ok"`) {
			return fmt.Sprintf("%v %s", err, raw)
		}
		return ""
	})
}

// TestClusterKill9AndRejoin (issue 18): a turn completed on gw-0 is read on
// gw-1; gw-0 is killed with SIGKILL in the middle of a second turn; gw-1 and
// gw-2 keep serving, gw-0's socket rows go, the second turn is run again
// once by a survivor and the client that ran it, reconnected to gw-1, reads
// the whole answer; gw-0 comes back on the same config and rejoins.
func TestClusterKill9AndRejoin(t *testing.T) {
	if testing.Short() {
		t.Skip("three gateway processes")
	}
	const second = "The second answer, run again by a survivor."
	var twos atomic.Int32
	never := make(chan struct{}) // gw-0's try of turn two hangs half way until gw-0 dies
	fp := fakeprovider.New(t)
	fp.SetResponder(func(r fakeprovider.Request) fakeprovider.Reply {
		last := r.Messages[len(r.Messages)-1].Content
		switch {
		case last == "two" && twos.Add(1) == 1:
			return fakeprovider.Reply{Text: "never finished on gw-0", Deltas: 4, Hold: never, HoldAfter: 2}
		case last == "two":
			return fakeprovider.Text(second, 4)
		}
		return fakeprovider.Text("Answer to "+last+".", 2)
	})
	nodes := startClusterProcs(t, 3, fp, "")
	ops := make([]*client.Client, 3)
	for i, nd := range nodes {
		ops[i] = dialTest(t, nd.proc, "cli")
	}
	clusterFormed(t, 3, ops...)

	// A turn completed on gw-0 is gw-1's to read.
	agentTurn(t, ops[0], "one", "t1")
	first := []string{"user:one", "assistant:Answer to one."}
	// (A gateway's reads may come from a replica a few milliseconds behind.)
	sameHistory(t, "gw-1 reads gw-0's turn", ops[1], "agent:main:main", first)

	// A UI socket on gw-0: a presence row held by gw-0, on gw-1 too.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ui, err := client.Dial(ctx, client.Options{URL: nodes[0].proc.URL, Token: clusterToken, ClientID: "openclaw-control-ui",
		Mode: "ui", InstanceID: "ui-on-gw-0", EventBuffer: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ui.Close)
	heldBy := func(c *client.Client, gateway string) (int, error) {
		rows, err := presenceRows(c)
		n := 0
		for _, r := range rows {
			if r.Gateway == gateway {
				n++
			}
		}
		return n, err
	}
	within(t, "gw-0's UI row on gw-1", failoverWait, func() string {
		rows, err := presenceRows(ops[1])
		if err != nil || !slices.Contains(rows, presenceRow{Mode: "ui", InstanceID: "ui-on-gw-0", Gateway: "gw-0"}) {
			return fmt.Sprintf("%v %+v", err, rows)
		}
		return ""
	})

	// Turn two streams on gw-0; its client sees it under way; kill -9.
	mid := dialTest(t, nodes[0].proc, "cli")
	go func() {
		_, _ = callIn(mid, failoverWait, "agent", map[string]any{"message": "two", "idempotencyKey": "t2"})
	}()
	waitDelta(t, mid, "t2")
	killed := time.Now()
	nodes[0].proc.signal(t, syscall.SIGKILL)
	nodes[0].proc.wait(t, 10*time.Second)

	// gw-1 and gw-2 keep serving.
	for i := 1; i < 3; i++ {
		if _, err := callIn(ops[i], 10*time.Second, "health", nil); err != nil {
			t.Fatalf("gw-%d after gw-0's loss: %v", i, err)
		}
	}
	// gw-0's rows go, everywhere.
	rowsGone := within(t, "gw-0's rows gone", failoverWait, func() string {
		for i := 1; i < 3; i++ {
			if n, err := heldBy(ops[i], "gw-0"); err != nil || n > 0 {
				return fmt.Sprintf("gw-%d: %d rows of gw-0 (%v)", i, n, err)
			}
		}
		return ""
	})
	// The client mid-run reconnects to gw-1 and reads the whole answer,
	// recorded once.
	again := dialTest(t, nodes[1].proc, "cli")
	want := append(slices.Clone(first), "user:two", "assistant:"+second)
	sameHistory(t, "turn two run again by a survivor", again, "agent:main:main", want)
	rerun := time.Since(killed)
	runOK(t, again, "t2")
	if n := twos.Load(); n != 2 {
		t.Fatalf("turn two reached the model %d times, want 2 (gw-0's try and one re-run)", n)
	}

	// gw-0 comes back on the same config and rejoins.
	back := time.Now()
	nodes[0].restart(t)
	ops[0] = dialTest(t, nodes[0].proc, "cli")
	rejoin := within(t, "gw-0 listed again", failoverWait, func() string {
		for i := 1; i < 3; i++ {
			rows, err := presenceRows(ops[i])
			if err != nil || !slices.ContainsFunc(rows, func(r presenceRow) bool { return r.Mode == "gateway" && r.Gateway == "gw-0" }) {
				return fmt.Sprintf("gw-%d: %+v %v", i, rows, err)
			}
		}
		return ""
	})
	sameHistory(t, "gw-0 back reads the session", ops[0], "agent:main:main", want)
	agentTurn(t, ops[0], "three", "t3")
	sameHistory(t, "gw-2 after gw-0's new turn", ops[2], "agent:main:main", append(want, "user:three", "assistant:Answer to three."))
	t.Logf("kill -9 of gw-0 → its rows gone everywhere %s, → turn two re-run and recorded %s; restart → listed again %s (start %s)",
		rowsGone.Round(100*time.Millisecond), rerun.Round(100*time.Millisecond), rejoin.Round(100*time.Millisecond),
		time.Since(back).Round(100*time.Millisecond)-rejoin.Round(100*time.Millisecond))
}

// rollingSockets is how many sockets the rolling-restart test holds
// (OPENCLAW_ROLLING_SOCKETS overrides it).
const rollingSockets = 3000

// socketPool holds authenticated sockets spread over the gateways; one
// whose gateway closes it reconnects at once to the next gateway. It
// records why every socket closed and why every failed attempt failed, so a
// reconnect that needs a second attempt says what refused the first.
type socketPool struct {
	urls, names []string
	wg          sync.WaitGroup

	connected  atomic.Int64
	reconnects atomic.Int64
	extra      atomic.Int64 // reconnects that took more than one attempt

	mu       sync.Mutex
	stopping string                     // the gateway being stopped now
	stopAt   time.Time                  // when it got SIGTERM
	gaps     []time.Duration            // socket closed → hello-ok from another gateway
	closedAt []time.Duration            // SIGTERM → the socket saw its close
	gapsBy   map[string][]time.Duration // gaps by the gateway stopped
	closes   map[string]int             // "gw-N: why" → sockets closed so
	failed   []attemptFailed            // every failed attempt (the first 100)
	nFailed  int
	failures []string // sockets given up on
}

// attemptFailed is one reconnect attempt that did not end in hello-ok.
type attemptFailed struct {
	socket, attempt int
	to              string        // the gateway dialled
	lost            time.Duration // since the socket closed
	stopping        string        // the gateway being stopped meanwhile
	sinceStop       time.Duration // since its SIGTERM
	why             string
}

func (f attemptFailed) String() string {
	return fmt.Sprintf("socket %d attempt %d to %s: %s (%s after its close, %s after %s's SIGTERM)",
		f.socket, f.attempt, f.to, f.why, f.lost.Round(time.Millisecond), f.sinceStop.Round(time.Millisecond), f.stopping)
}

// stopped notes that gateway name gets SIGTERM now.
func (p *socketPool) stopped(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopping, p.stopAt = name, time.Now()
}

// reason names what ended a dial or a socket: the connect error the
// gateway answered (code, message, details), the close frame, or the
// network error.
func reason(err error) string {
	var es *protocol.ErrorShape
	var ce *client.CloseError
	switch {
	case errors.As(err, &es):
		d, _ := json.Marshal(es.Details)
		return fmt.Sprintf("connect refused %s %q details %s", es.Code, es.Message, d)
	case errors.As(err, &ce):
		return fmt.Sprintf("closed %d %q", ce.Code, ce.Reason)
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out: " + err.Error()
	case err == nil:
		return "closed without an error"
	}
	return err.Error()
}

func (p *socketPool) dial(ctx context.Context, url string) (*client.Client, error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return client.Dial(dctx, client.Options{URL: url, Token: clusterToken, ClientID: "cli", Mode: "cli", EventBuffer: 4})
}

// hold keeps socket i connected until ctx ends.
func (p *socketPool) hold(ctx context.Context, i int, ready func()) {
	defer p.wg.Done()
	g := i % len(p.urls)
	c, err := p.dial(ctx, p.urls[g])
	if err != nil {
		p.fail(fmt.Sprintf("socket %d: first dial: %v", i, reason(err)))
		ready()
		return
	}
	p.connected.Add(1)
	ready()
	for {
		select {
		case <-ctx.Done():
			c.Close()
			return
		case <-c.Done():
		}
		lost := time.Now()
		p.connected.Add(-1)
		p.mu.Lock()
		p.closes[p.names[g]+": "+reason(c.Err())]++
		p.closedAt = append(p.closedAt, lost.Sub(p.stopAt))
		p.mu.Unlock()
		for attempt := 1; ; attempt++ {
			g = (g + 1) % len(p.urls)
			if c, err = p.dial(ctx, p.urls[g]); err == nil {
				if attempt > 1 {
					p.extra.Add(1)
				}
				break
			}
			if ctx.Err() != nil {
				return
			}
			p.attemptFailed(attemptFailed{socket: i, attempt: attempt, to: p.names[g], lost: time.Since(lost), why: reason(err)})
			if attempt == len(p.urls) {
				p.fail(fmt.Sprintf("socket %d: no gateway took it: %v", i, reason(err)))
				return
			}
		}
		p.connected.Add(1)
		p.reconnects.Add(1)
		p.mu.Lock()
		p.gaps = append(p.gaps, time.Since(lost))
		p.gapsBy[p.stopping] = append(p.gapsBy[p.stopping], time.Since(lost))
		p.mu.Unlock()
	}
}

func (p *socketPool) attemptFailed(f attemptFailed) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f.stopping, f.sinceStop = p.stopping, time.Since(p.stopAt)
	p.nFailed++
	if len(p.failed) < 100 {
		p.failed = append(p.failed, f)
	}
}

// report logs why the sockets closed, every failed attempt and the
// reconnect times (socket closed → hello-ok from a peer).
func (p *socketPool) report(t *testing.T) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, why := range slices.Sorted(maps.Keys(p.closes)) {
		t.Logf("closed by %s: %d sockets", why, p.closes[why])
	}
	for _, f := range p.failed {
		t.Log(f)
	}
	if p.nFailed > len(p.failed) {
		t.Logf("… and %d more failed attempts", p.nFailed-len(p.failed))
	}
	if len(p.gaps) == 0 {
		return
	}
	dist := func(ds []time.Duration) string {
		ds = slices.Sorted(slices.Values(ds))
		q := func(f float64) time.Duration { return ds[int(f*float64(len(ds)-1))].Round(time.Millisecond) }
		return fmt.Sprintf("p50 %s, p90 %s, p99 %s, max %s", q(0.5), q(0.9), q(0.99), q(1))
	}
	t.Logf("%d reconnects, %d of them after a failed attempt: socket closed → hello-ok from a peer %s; SIGTERM → socket closed %s",
		len(p.gaps), p.extra.Load(), dist(p.gaps), dist(p.closedAt))
	for _, name := range slices.Sorted(maps.Keys(p.gapsBy)) {
		t.Logf("%d sockets moved off %s: closed → hello-ok %s", len(p.gapsBy[name]), name, dist(p.gapsBy[name]))
	}
}

func (p *socketPool) fail(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.failures) < 5 {
		p.failures = append(p.failures, msg)
	}
}

// TestClusterRollingRestart (issue 19 item 3): 3,000 sockets over three
// gateways; each gateway in turn, with a run in flight on it, gets SIGTERM
// and is started again. Every socket the restart closes is back on another
// gateway at its first reconnect, each run finishes (re-run once by a peer,
// or by the gateway itself once back), recorded once, and at the end every
// socket is connected. `go test ./cmd/openclaw -run TestClusterRollingRestart
// -v` prints the reconnect times and the runs' outcomes.
//
// Every failed attempt is logged with its reason (the error, the gateway,
// the time after the socket's close and after the SIGTERM), so a failure
// under load says what refused the socket.
func TestClusterRollingRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("three gateway processes and 3,000 sockets")
	}
	sockets := rollingSockets
	if v, err := strconv.Atoi(os.Getenv("OPENCLAW_ROLLING_SOCKETS")); err == nil && v > 0 {
		sockets = v
	}
	began := time.Now()
	var tries sync.Map // message → *atomic.Int32
	fp := fakeprovider.New(t)
	fp.KeepRequests(0)
	fp.SetResponder(func(r fakeprovider.Request) fakeprovider.Reply {
		last := r.Messages[len(r.Messages)-1].Content
		n, _ := tries.LoadOrStore(last, new(atomic.Int32))
		if n.(*atomic.Int32).Add(1) == 1 {
			// In flight for 20 s: still streaming when its gateway stops.
			return fakeprovider.Reply{Text: "a long answer cut by the restart of its gateway", Deltas: 80, ChunkDelay: 250 * time.Millisecond}
		}
		return fakeprovider.Text("Answer to "+last+", run again.", 3)
	})
	// Every test socket comes from 127.0.0.1, as from a proxy in front of
	// the gateways: a reconnecting third of them handshakes at once. The
	// last gateway stopped holds all of them, and on two loaded cores (the
	// sockets' own process built with -race) the last of 3,000 reconnects
	// takes about 16 s from its close to hello-ok: a handshake timeout of a
	// minute, as the reference advises for loaded hosts, not its 15 s.
	nodes := startClusterProcs(t, 3, fp, fmt.Sprintf("limits: {maxPreAuthPerIP: %d, handshakeTimeoutMs: 60000},", sockets+100))
	ops := make([]*client.Client, 3)
	urls, names := make([]string, 3), make([]string, 3)
	for i, nd := range nodes {
		ops[i] = dialTest(t, nd.proc, "cli")
		urls[i], names[i] = nd.proc.URL, nd.name
	}
	clusterFormed(t, 3, ops...)

	pool := &socketPool{urls: urls, names: names, closes: map[string]int{}, gapsBy: map[string][]time.Duration{}}
	ctx, stop := context.WithCancel(context.Background())
	defer func() { stop(); pool.wg.Wait() }()
	defer pool.report(t) // also when the test fails half way
	var opened sync.WaitGroup
	sem := make(chan struct{}, 64) // handshakes in flight at once while filling
	for i := range sockets {
		pool.wg.Add(1)
		opened.Add(1)
		sem <- struct{}{}
		go pool.hold(ctx, i, func() { <-sem; opened.Done() })
	}
	opened.Wait()
	if n := pool.connected.Load(); n != int64(sockets) {
		t.Fatalf("%d of %d sockets connected: %v", n, sockets, pool.failures)
	}
	t.Logf("%d sockets connected over 3 gateways after %s", sockets, time.Since(began).Round(100*time.Millisecond))

	var outcomes []string
	for k, nd := range nodes {
		run := fmt.Sprintf("roll-%d", k)
		session := "agent:main:" + run
		// One at a time: the previous step's sockets are all back before
		// the next gateway stops (one still handshaking with it would be
		// closed again, 1012, by no fault of the restart).
		settled := within(t, "every socket back before "+nd.name+" stops", failoverWait, func() string {
			if n := pool.connected.Load(); n != int64(sockets) {
				return fmt.Sprintf("%d of %d", n, sockets)
			}
			return ""
		})
		starter := dialTest(t, nd.proc, "cli")
		go func() {
			_, _ = callIn(starter, failoverWait, "agent", map[string]any{"message": run, "idempotencyKey": run, "sessionKey": session})
		}()
		waitDelta(t, starter, run)
		stopped := time.Now()
		pool.stopped(nd.name)
		nd.proc.signal(t, syscall.SIGTERM)
		if code := nd.proc.wait(t, 30*time.Second); code != 0 {
			t.Fatalf("%s exited %d after SIGTERM", nd.name, code)
		}
		nd.restart(t)
		ops[k] = dialTest(t, nd.proc, "cli")
		clusterFormed(t, 3, ops...)
		back := time.Since(stopped)
		// The run finishes: re-run once, recorded once.
		peer := ops[(k+1)%3]
		runOK(t, peer, run)
		sameHistory(t, run+"'s transcript", peer, session, []string{"user:" + run, "assistant:Answer to " + run + ", run again."})
		n, _ := tries.Load(run)
		if tries := n.(*atomic.Int32).Load(); tries != 2 {
			t.Fatalf("%s reached the model %d times, want 2 (the cut try and one re-run)", run, tries)
		}
		outcomes = append(outcomes, fmt.Sprintf("%s: sockets settled after %s; SIGTERM → back, cluster formed %s; its run %s re-run once, ok, checked %s after the SIGTERM",
			nd.name, settled.Round(100*time.Millisecond), back.Round(100*time.Millisecond), run, time.Since(stopped).Round(100*time.Millisecond)))
	}
	within(t, "every socket connected", failoverWait, func() string {
		if n := pool.connected.Load(); n != int64(sockets) {
			return fmt.Sprintf("%d of %d", n, sockets)
		}
		return ""
	})
	for _, o := range outcomes {
		t.Log(o)
	}
	pool.mu.Lock()
	nGaps, nFailed, failures := len(pool.gaps), pool.nFailed, slices.Clone(pool.failures)
	pool.mu.Unlock()
	if len(failures) > 0 || pool.extra.Load() > 0 || nFailed > 0 {
		t.Fatalf("%d reconnects took more than one attempt, %d attempts failed (listed above); sockets given up on: %v",
			pool.extra.Load(), nFailed, failures)
	}
	if nGaps == 0 {
		t.Fatal("no socket was reconnected")
	}
	t.Logf("whole test %s", time.Since(began).Round(100*time.Millisecond))
}

package main

// One Telegram account in a cluster of three gateway processes (embedded
// NATS routed on loopback): one owner at a time by lease, its successor
// continuing from the shared JetStream queue, offset and reply progress.

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"openclaw/actors/gateway/gatewaytest"
	"openclaw/channels/telegram/fakebotapi"
	"openclaw/transport/client"
	"openclaw/transport/protocol"
	"openclaw/transport/provider/fakeprovider"
)

// clusterLeaseTTLMs is the test cluster's lease TTL: short, so that a
// takeover after kill -9 or a pause takes seconds, and long enough that a
// JetStream update slowed down by a loaded machine does not cost the owner
// its lease (at 2000 ms ownership flapped under a load average of 10).
const clusterLeaseTTLMs = 4000

// clusterWait bounds each wait for the cluster to act (forming, a takeover,
// a restart) on a loaded machine.
const clusterWait = 45 * time.Second

// tgCluster is three gateway processes sharing one Telegram account.
type tgCluster struct {
	t     *testing.T
	opts  []gwOptions
	procs []*gatewayProc
	nats  []string // each gateway's embedded NATS client URL
}

func startTelegramCluster(t *testing.T, api *fakebotapi.Server, fp *fakeprovider.Server) *tgCluster {
	const token = "cluster-token-0123456789"
	c := &tgCluster{t: t}
	routes := make([]string, 3)
	listens := make([]string, 3)
	for i := range 3 {
		listens[i] = "127.0.0.1:" + strconv.Itoa(gatewaytest.FreePort(t))
		routes[i] = strconv.Quote("nats-route://" + listens[i])
	}
	for i := range 3 {
		dir := t.TempDir()
		client := "127.0.0.1:" + strconv.Itoa(gatewaytest.FreePort(t))
		c.nats = append(c.nats, "nats://"+client)
		cluster := fmt.Sprintf(`cluster: {enabled: true, name: "tg", nodeName: "gw-%d", leaseTtlMs: %d,
			nats: {embedded: {clusterListen: %q, clientListen: %q, routes: [%s]}}}`, i, clusterLeaseTTLMs, listens[i], client,
			strings.Join(routes, ", "))
		cfg := strings.Replace(telegramConfig(api, fp, token, ""), "gateway: {auth: {token: "+strconv.Quote(token)+"}}",
			"gateway: {auth: {token: "+strconv.Quote(token)+"}, "+cluster+"}", 1)
		writeFile(t, filepath.Join(dir, "openclaw.json"), cfg)
		c.opts = append(c.opts, gwOptions{StateDir: dir, Port: gatewaytest.FreePort(t), NoAllowUnconfigured: true,
			Env: []string{"OPENCLAW_SKIP_CANVAS_HOST=1"}})
	}
	// Together: a gateway's start waits for the JetStream quorum.
	c.procs = make([]*gatewayProc, 3)
	for i := range 3 {
		c.procs[i] = launchGateway(t, c.opts[i])
		c.procs[i].Token = token
	}
	for i := range 3 {
		if err := c.procs[i].waitListening(clusterWait); err != nil {
			t.Fatalf("gw-%d: %v\n%s", i, err, c.procs[i].Stderr)
		}
	}
	return c
}

// fatal fails the test with what each live gateway is doing: its view of
// the account, and its goroutines (a Go process dumps them on SIGQUIT,
// logged with its stderr as the test ends).
func (c *tgCluster) fatal(msg string) {
	c.t.Helper()
	for i, g := range c.procs {
		if !g.exited() {
			c.t.Logf("gw-%d: %s", i, c.accountStatus(i))
			g.signal(c.t, syscall.SIGQUIT)
			g.wait(c.t, 10*time.Second)
		}
	}
	c.t.Fatal(msg)
}

// restart starts gateway i again on its port and state directory.
func (c *tgCluster) restart(i int) {
	tok := c.procs[i].Token
	c.procs[i] = launchGateway(c.t, c.opts[i])
	c.procs[i].Token = tok
	if err := c.procs[i].waitListening(clusterWait); err != nil {
		c.t.Fatalf("gw-%d restart: %v\n%s", i, err, c.procs[i].Stderr)
	}
}

// waitCurrent polls, through gateway i's NATS, until every stream of the
// cluster has a leader and all its replicas are current: a gateway just
// restarted has caught up, so losing another one leaves each stream a
// quorum.
func (c *tgCluster) waitCurrent(i int) {
	c.t.Helper()
	deadline := time.Now().Add(clusterWait)
	last := ""
	for time.Now().Before(deadline) {
		if last = c.streamsLagging(i); last == "" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.t.Fatalf("the cluster's streams not current within %s: %s", clusterWait, last)
}

// streamsLagging names a stream that is not fully replicated ("" when none).
func (c *tgCluster) streamsLagging(i int) string {
	nc, err := nats.Connect(c.nats[i], nats.Timeout(2*time.Second))
	if err != nil {
		return err.Error()
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err.Error()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l := js.ListStreams(ctx)
	n := 0
	for info := range l.Info() {
		n++
		cl := info.Cluster
		if cl == nil || cl.Leader == "" || len(cl.Replicas) != 2 {
			return fmt.Sprintf("%s: %+v", info.Config.Name, cl)
		}
		for _, r := range cl.Replicas {
			if !r.Current || r.Offline {
				return fmt.Sprintf("%s: replica %s not current", info.Config.Name, r.Name)
			}
		}
	}
	if err := l.Err(); err != nil {
		return err.Error()
	}
	if n == 0 {
		return "no streams yet"
	}
	return ""
}

// owner asks gateway i how it sees the account's lease (nil: no answer).
func (c *tgCluster) owner(i int) *protocol.ChannelOwner {
	raw, err := c.channelsStatus(i)
	if err != nil {
		return nil
	}
	return gatewaytest.ChannelOwner(raw, "telegram")
}

// channelsStatus is gateway i's answer to channels.status.
func (c *tgCluster) channelsStatus(i int) (json.RawMessage, error) {
	g := c.procs[i]
	if g.exited() {
		return nil, fmt.Errorf("gw-%d exited", i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	cl, err := client.Dial(ctx, client.Options{URL: g.URL, Token: g.Token, ClientID: "cli", Mode: "cli",
		Scopes: []string{"operator.admin"}, EventBuffer: 8})
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	return cl.Call(ctx, "channels.status", map[string]any{})
}

// accountStatus is gateway i's channels.status, for a failure's log.
func (c *tgCluster) accountStatus(i int) string {
	raw, err := c.channelsStatus(i)
	if err != nil {
		return err.Error()
	}
	return string(raw)
}

// waitOwner polls until one of the gateways in among says it owns the
// account, and every other one in among sees it as the owner.
func (c *tgCluster) waitOwner(among ...int) int {
	c.t.Helper()
	deadline := time.Now().Add(clusterWait)
	for {
		owner, last := -1, ""
		for _, i := range among {
			if o := c.owner(i); o != nil && o.Self && o.State == "owner" {
				owner = i
			}
		}
		if owner >= 0 {
			agreed := true
			for _, i := range among {
				o := c.owner(i)
				if i != owner && (o == nil || o.State != "standby" || o.Gateway != fmt.Sprintf("gw-%d", owner)) {
					agreed, last = false, fmt.Sprintf("gw-%d sees %+v", i, o)
				}
			}
			if agreed {
				return owner
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no single owner among %v within %s (%s)", among, clusterWait, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func others(n int, not ...int) []int {
	var out []int
	for i := range n {
		if !slices.Contains(not, i) {
			out = append(out, i)
		}
	}
	return out
}

// firstCallAfter is when the first call of method answered status came in
// after t0 (zero if none yet).
func firstCallAfter(api *fakebotapi.Server, method string, status int, t0 time.Time) time.Time {
	for _, c := range api.Calls(tgToken, method) {
		if c.At.After(t0) && c.Status == status {
			return c.At
		}
	}
	return time.Time{}
}

// TestTelegramClusterFailover: updates are posted continuously to one bot
// while its owner is killed (kill -9), then the next owner is stopped
// (SIGTERM), then the next one is paused (SIGSTOP) past the lease TTL and
// resumed. After all three, every update is answered exactly once, in order
// per chat (besides the documented window's leftovers), Telegram saw no 409
// storm, and the paused owner's late writes were refused. It prints the
// kill -9 failover timeline ("failover:" line, with -v).
func TestTelegramClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("three gateway processes")
	}
	api := startBotAPI(t)
	// The "hold" message's first run blocks until released: the owner
	// that runs it is paused in the middle of it.
	var holdMu sync.Mutex
	holdCalls, release := 0, make(chan struct{})
	fp := fakeprovider.New(t)
	fp.SetResponder(func(r fakeprovider.Request) fakeprovider.Reply {
		last := r.LastUser()
		if last == "hold" {
			holdMu.Lock()
			holdCalls++
			first := holdCalls == 1
			holdMu.Unlock()
			if first {
				select {
				case <-release:
				case <-time.After(2 * clusterWait):
				}
			}
		}
		return fakeprovider.Reply{Text: "echo: " + last, Deltas: 4, ChunkDelay: 30 * time.Millisecond}
	})
	c := startTelegramCluster(t, api, fp)
	owner := c.waitOwner(0, 1, 2)

	// The producer: an update every 100 ms, round robin over three chats.
	chats := []int64{2001, 2002, 2003}
	var wantMu sync.Mutex
	want := map[int64][]string{}
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			chat := chats[n%len(chats)]
			text := fmt.Sprintf("u%d", n)
			wantMu.Lock()
			want[chat] = append(want[chat], text)
			wantMu.Unlock()
			api.Push(tgToken, api.TextUpdate(tgToken, chat, chat, text))
		}
	}()
	t.Cleanup(func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-stopped
	})
	// Replies flow before the first failure.
	if !api.WaitFor(clusterWait, func() bool { return !firstCallAfter(api, "sendMessage", 200, time.Time{}).IsZero() }) {
		t.Fatal("no reply before the failures")
	}

	// 1. kill -9 of the owner: a standby takes over at the lease's expiry.
	killed := owner
	killAt := time.Now()
	c.procs[killed].signal(t, syscall.SIGKILL)
	c.procs[killed].wait(t, 10*time.Second)
	owner = c.waitOwner(others(3, killed)...)
	ownedAt := time.Now()
	var pollAt, replyAt time.Time
	if !api.WaitFor(clusterWait, func() bool {
		pollAt, replyAt = firstCallAfter(api, "getUpdates", 200, killAt), firstCallAfter(api, "sendMessage", 200, killAt)
		return !pollAt.IsZero() && !replyAt.IsZero()
	}) {
		c.fatal("the new owner neither polls nor replies")
	}
	// The first getUpdates answered after the kill may be the new owner's
	// first, or the killed one's last (answered before the fake saw it
	// go): either way the new owner polls by the first reply.
	t.Logf("failover: kill -9 -> owner seen %d ms, -> new owner polling %d ms, -> first reply %d ms (lease TTL %d ms)",
		ownedAt.Sub(killAt).Milliseconds(), pollAt.Sub(killAt).Milliseconds(), replyAt.Sub(killAt).Milliseconds(), clusterLeaseTTLMs)
	c.restart(killed)
	c.waitOwner(0, 1, 2)
	c.waitCurrent(killed)

	// 2. SIGTERM of the owner: it hands its lease over as it stops.
	termed := owner
	c.procs[termed].stop(t)
	owner = c.waitOwner(others(3, termed)...)
	c.restart(termed)
	c.waitOwner(0, 1, 2)
	c.waitCurrent(termed)

	// 3. SIGSTOP of the owner in the middle of a run, past the TTL: the
	// owner once the held run has started (the one running it).
	api.Push(tgToken, api.TextUpdate(tgToken, 2009, 2009, "hold"))
	if !api.WaitFor(clusterWait, func() bool { holdMu.Lock(); defer holdMu.Unlock(); return holdCalls >= 1 }) {
		c.fatal("the owner did not start the held run")
	}
	paused := c.waitOwner(0, 1, 2)
	c.procs[paused].signal(t, syscall.SIGSTOP)
	owner = c.waitOwner(others(3, paused)...)
	// Generous: the streams the paused server led elect new leaders first
	// (NATS: 4-9 s each, slower on a loaded machine).
	if !api.WaitFor(2*clusterWait, func() bool {
		ms := api.Messages(tgToken, 2009)
		return len(ms) > 0 && ms[len(ms)-1].Text == "echo: hold"
	}) {
		for _, i := range others(3, paused) {
			t.Logf("gw-%d: %s", i, c.accountStatus(i))
		}
		t.Fatal("the new owner did not answer the update the paused one held")
	}
	close(release)
	c.procs[paused].signal(t, syscall.SIGCONT)
	// Resumed, the paused gateway finishes its run and tries to send the
	// reply and ack the update: refused, it rejoins as a standby.
	if !api.WaitFor(clusterWait, func() bool {
		return strings.Contains(c.procs[paused].Stdout.String()+c.procs[paused].Stderr.String(), "no longer owns the account")
	}) {
		t.Fatalf("gw-%d's late writes after the pause were not refused", paused)
	}
	// Back in the cluster without a restart: all three agree on one owner
	// (usually still the successor; the resumed gateway's return may move
	// JetStream leaders and with them, rarely, the lease).
	c.waitOwner(0, 1, 2)

	close(stop)
	<-stopped
	if !answered(t, api, chats, want, clusterWait) {
		c.fatal("not every update was answered")
	}
	// Exactly once, in order: besides the replies, a chat may show only a
	// leftover of the documented window (a message Telegram accepted that
	// the owner had not recorded when it was killed, stopped or paused).
	const failures = 3
	updates, answers, left, failed := 0, 0, 0, 0
	for _, ch := range chats {
		var replies []string
		for _, w := range want[ch] {
			replies = append(replies, "echo: "+w)
		}
		updates += len(replies)
		// A run that failed while JetStream elected leaders is answered
		// with its error, once, in its place: counted, not a failure here.
		ms, errs := errorAnswers(api.Messages(tgToken, ch), replies)
		failed += errs
		orphans, err := leftovers(ms, replies)
		if err != nil {
			t.Errorf("chat %d shows\n%q\nwant, in order, %q: %v", ch, texts(ms), replies, err)
			continue
		}
		answers += len(ms) - len(orphans)
		left += len(orphans)
		if len(orphans) > failures {
			t.Errorf("chat %d: %d leftover messages %q from %d failures", ch, len(orphans), texts(orphans), failures)
		}
	}
	if ms := api.Messages(tgToken, 2009); len(ms) != 1 || ms[0].Text != "echo: hold" {
		t.Errorf("the held update's chat shows %q, want its one answer (the paused owner's late reply refused)", texts(ms))
	}
	conflicts := 0
	for _, call := range api.Calls(tgToken, "getUpdates") {
		if call.Status == 409 {
			conflicts++
		}
	}
	// At most one per handover: the new owner's first poll ends the old
	// owner's pending one, if that one is still open.
	if conflicts > failures {
		t.Errorf("%d getUpdates answered 409 over %d handovers", conflicts, failures)
	}
	t.Logf("failover: %d updates, %d answered (%d of them with a run's error), %d leftovers, %d getUpdates 409s",
		updates, answers, failed, left, conflicts)
}

// errorAnswers returns ms with each error answer ("⚠️ ...": the agent run
// failed, e.g. its transcript write found no JetStream leader during an
// election) in the place of the reply it answered, and how many there were.
// An update answered with an error is answered once, in its place: the
// exactly-once and order checks still hold for it.
func errorAnswers(ms []fakebotapi.Message, replies []string) ([]fakebotapi.Message, int) {
	out := make([]fakebotapi.Message, len(ms))
	copy(out, ms)
	j, n := 0, 0
	for i := range out {
		switch {
		case j < len(replies) && out[i].Text == replies[j]:
			j++
		case j < len(replies) && strings.HasPrefix(out[i].Text, "⚠️ "):
			out[i].Text = replies[j]
			j, n = j+1, n+1
		}
	}
	return out, n
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lxzan/gws"
)

// Socket states.
const (
	stWaitChallenge uint32 = iota
	stWaitHello
	stReady
	stClosed
)

const (
	reqPrefix = `{"type":"req","id":"`
	reqSuffix = `","method":"health"}`
)

// bench is the state shared by a set of load sockets. Per socket the tool
// keeps one bconn (a few hundred bytes), gws's Conn with its 2 KiB read
// buffer and the ReadLoop goroutine; frames are scanned in place and never
// kept.
type bench struct {
	url          string   // as given: one URL or a comma-separated list
	urls         []string // its URLs: socket idx dials urls[idx % len(urls)]
	echo         bool     // the peer is a bare echo server: no handshake, echoed requests are the responses
	connectFrame []byte   // shared, read-only
	opt          gws.ClientOption
	hsTimeout    time.Duration
	base         time.Time // monotonic origin for sentAt

	lat     histogram // rpc round trips
	hsLat   histogram // dial → hello-ok
	rpcOn   atomic.Bool
	closing atomic.Bool

	completed atomic.Uint64
	events    atomic.Uint64
	pings     atomic.Uint64
	lost      atomic.Int64 // sockets closed by the peer after hello-ok
	live      atomic.Int64
	wg        sync.WaitGroup // one per running ReadLoop

	errs errCounter

	// hooks, when set, take every frame after hello-ok instead of the rpc
	// loop (fanout, slow, restart).
	hooks *hooks
}

// hooks let a scenario see the frames and the end of its sockets. They run
// on the socket's read goroutine; raw is valid only during the call.
type hooks struct {
	frame func(c *bconn, f *frame, raw []byte)
	// closed reports whether it accounted for the close itself (otherwise
	// a close after hello-ok counts as lost, with an error).
	closed func(c *bconn, err error, wasReady bool) (handled bool)
}

// newBench makes a set of load sockets to url, or spread over several
// gateways (a cluster) when url is a comma-separated list.
func newBench(url, token string, echo bool) *bench {
	b := &bench{url: url, urls: strings.Split(url, ","), echo: echo, hsTimeout: 10 * time.Second, base: time.Now()}
	b.connectFrame = connectFrame(token, "operator.read")
	b.opt = gws.ClientOption{
		Addr:                b.urls[0],
		ReadMaxPayloadSize:  64 << 20, // the reference hello-ok is ~100 KB
		WriteMaxPayloadSize: 1 << 20,
		ReadBufferSize:      2048,
		WriteBufferSize:     2048,
		ParallelGolimit:     1,
		HandshakeTimeout:    10 * time.Second,
		RequestHeader:       http.Header{},
		NewDialer: func() (gws.Dialer, error) {
			return &net.Dialer{Timeout: 10 * time.Second}, nil
		},
		NewSession: func() gws.SessionStorage { return noSession{} },
		Logger:     stderrLogger{},
		Recovery:   func(gws.Logger) {},
	}
	return b
}

// connectFrame is the connect request of a CLI-mode operator socket with
// these scopes (client id "cli" + mode "cli" keeps its scopes on loopback
// and is not tracked in presence).
func connectFrame(token string, scopes ...string) []byte {
	return connectFrameCaps(token, []string{}, scopes...)
}

// connectFrameCaps is connectFrame declaring caps.
func connectFrameCaps(token string, caps []string, scopes ...string) []byte {
	tok, _ := json.Marshal(token)
	sc, _ := json.Marshal(scopes)
	cp, _ := json.Marshal(caps)
	return []byte(`{"type":"req","id":"c1","method":"connect","params":{"minProtocol":4,"maxProtocol":4,` +
		`"client":{"id":"cli","version":"bench","platform":"linux","mode":"cli"},"role":"operator",` +
		`"scopes":` + string(sc) + `,"caps":` + string(cp) + `,"auth":{"token":` + string(tok) + `}}}`)
}

func (b *bench) now() int64 {
	d := int64(time.Since(b.base))
	if d <= 0 {
		d = 1
	}
	return d
}

// bconn is one load socket; it is its own gws event handler.
type bconn struct {
	b      *bench
	idx    int // position in the set it was opened with
	ws     *gws.Conn
	state  atomic.Uint32
	hsSent atomic.Bool
	hs     chan error // handshake outcome, buffered 1

	req    []byte // request frame, rebuilt in place
	idEnd  int    // req[len(reqPrefix):idEnd] is the id in flight
	seq    uint64
	sentAt atomic.Int64 // b.now() when the request in flight was written; 0 = none
}

// sendNext writes the next health request. The caller owns c.req (the
// driver before the first request, the ReadLoop goroutine afterwards; the
// sentAt store/load orders the two).
func (c *bconn) sendNext() {
	c.seq++
	c.req = append(c.req[:0], reqPrefix...)
	c.req = strconv.AppendUint(c.req, c.seq, 36)
	c.idEnd = len(c.req)
	c.req = append(c.req, reqSuffix...)
	c.sentAt.Store(c.b.now())
	if err := c.ws.WriteMessage(gws.OpcodeText, c.req); err != nil {
		c.sentAt.Store(0)
		if !c.b.closing.Load() {
			c.b.errs.add("write", err.Error())
		}
	}
}

func (c *bconn) finishHandshake(err error) {
	if c.hsSent.CompareAndSwap(false, true) {
		c.hs <- err
	}
}

func (c *bconn) OnOpen(*gws.Conn) {}

func (c *bconn) OnPing(s *gws.Conn, payload []byte) {
	c.b.pings.Add(1)
	_ = s.WritePong(payload)
}

func (c *bconn) OnPong(*gws.Conn, []byte) {}

func (c *bconn) OnClose(_ *gws.Conn, err error) {
	prev := c.state.Swap(stClosed)
	if h := c.b.hooks; h != nil && h.closed != nil && h.closed(c, err, prev == stReady) {
		prev = stClosed // the scenario accounted for it
	}
	switch prev {
	case stWaitChallenge, stWaitHello:
		k, msg := closeKind(err)
		c.finishHandshake(&kindError{kind: "hs_" + k, msg: msg})
	case stReady:
		if !c.b.closing.Load() {
			k, msg := closeKind(err)
			c.b.errs.add(k, msg)
			c.b.lost.Add(1)
		}
	}
	c.b.live.Add(-1)
	c.b.wg.Done()
}

func (c *bconn) OnMessage(s *gws.Conn, m *gws.Message) {
	defer m.Close()
	var f frame
	data := m.Bytes()
	if !parseFrame(data, &f) {
		if !c.b.echo {
			c.b.errs.add("bad_frame", truncate(string(data), 120))
		}
		return
	}
	switch c.state.Load() {
	case stReady:
		if h := c.b.hooks; h != nil {
			if string(f.typ) == "event" {
				c.b.events.Add(1)
			}
			if h.frame != nil {
				h.frame(c, &f, data)
			}
			return
		}
		c.onReady(&f)
	case stWaitChallenge:
		if string(f.typ) == "event" && string(f.event) == "connect.challenge" {
			c.state.Store(stWaitHello)
			if err := s.WriteMessage(gws.OpcodeText, c.b.connectFrame); err != nil {
				c.finishHandshake(&kindError{kind: "hs_write", msg: err.Error()})
			}
		}
	case stWaitHello:
		if string(f.typ) != "res" || string(f.id) != "c1" {
			return
		}
		if f.ok == 1 {
			if c.state.CompareAndSwap(stWaitHello, stReady) {
				c.finishHandshake(nil)
			}
			return
		}
		code := string(unquote(field(f.err, "code")))
		msg := string(unquote(field(f.err, "message")))
		c.finishHandshake(&kindError{kind: "rejected_" + code, msg: msg})
	}
}

func (c *bconn) onReady(f *frame) {
	b := c.b
	if string(f.typ) == "event" {
		b.events.Add(1)
		return
	}
	sent := c.sentAt.Load()
	if sent == 0 {
		return
	}
	if !b.echo && string(f.typ) != "res" {
		return
	}
	if string(f.id) != string(c.req[len(reqPrefix):c.idEnd]) {
		b.errs.add("unexpected_id", string(f.id))
		return
	}
	lat := time.Duration(b.now() - sent)
	c.sentAt.Store(0)
	if !b.rpcOn.Load() {
		return // the run is over: neither counted nor followed up
	}
	if !b.echo && f.ok != 1 {
		b.errs.add("rpc_"+string(unquote(field(f.err, "code"))), string(unquote(field(f.err, "message"))))
	} else {
		b.lat.record(lat)
		b.completed.Add(1)
	}
	c.sendNext()
}

// dial opens one socket and, unless the peer is an echo server, completes
// the handshake. upgraded reports whether the WebSocket upgrade succeeded.
func (b *bench) dial(ctx context.Context, hsTimeout time.Duration) (c *bconn, upgraded bool, err error) {
	return b.dialIdx(ctx, hsTimeout, 0)
}

// handshakes opens and closes n authenticated sockets one after another: the
// gateway's handshake path has run (and is mapped in) before a measurement
// that should count only what the sockets it opens next hold.
func (b *bench) handshakes(ctx context.Context, n int) error {
	for i := 0; i < n; i++ {
		c, _, err := b.dial(ctx, 5*time.Second)
		if err != nil {
			return fmt.Errorf("handshake %d of %d: %w", i+1, n, err)
		}
		b.closeAll([]*bconn{c}, 5*time.Second)
	}
	return nil
}

// dialIdx is dial for the socket at position idx of a set.
func (b *bench) dialIdx(ctx context.Context, hsTimeout time.Duration, idx int) (c *bconn, upgraded bool, err error) {
	c = &bconn{b: b, idx: idx, hs: make(chan error, 1)}
	start := time.Now()
	opt := b.opt // NewClient fills defaults into its option: give it a copy
	opt.Addr = b.urls[idx%len(b.urls)]
	ws, resp, err := gws.NewClient(c, &opt)
	if err != nil {
		return nil, false, classifyDial(err, resp)
	}
	c.ws = ws
	_ = ws.SetNoDelay(true)
	b.live.Add(1)
	b.wg.Add(1)
	if b.echo {
		c.state.Store(stReady)
		go ws.ReadLoop()
		return c, true, nil
	}
	go ws.ReadLoop()
	t := time.NewTimer(hsTimeout)
	defer t.Stop()
	select {
	case err = <-c.hs:
	case <-t.C:
		err = &kindError{kind: "hs_timeout", msg: "no hello-ok within " + hsTimeout.String()}
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		_ = ws.NetConn().Close()
		return nil, true, err
	}
	b.hsLat.record(time.Since(start))
	return c, true, nil
}

// open opens n sockets with at most conc handshakes in flight, stopping at
// deadline or when ctx ends. Failures are counted in b.errs.
func (b *bench) open(ctx context.Context, n, conc int, deadline time.Time, progress bool) ([]*bconn, time.Duration) {
	conns := make([]*bconn, n)
	var next, opened, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	stopProgress := make(chan struct{})
	var pwg sync.WaitGroup
	if progress {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			tk := time.NewTicker(time.Second)
			defer tk.Stop()
			for {
				select {
				case <-stopProgress:
					return
				case <-tk.C:
					o := opened.Load()
					logf("  opening: %d/%d open, %d failed, %.0f/s", o, n, failed.Load(),
						float64(o)/time.Since(start).Seconds())
				}
			}
		}()
	}
	if conc < 1 {
		conc = 1
	}
	if conc > n {
		conc = n
	}
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				c, _, err := b.dialIdx(ctx, b.hsTimeout, int(i))
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					failed.Add(1)
					b.errs.addErr(err)
					continue
				}
				conns[i] = c
				opened.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopProgress)
	pwg.Wait()
	if a := next.Load(); a < int64(n) {
		b.errs.addN("not_attempted", "open deadline or interrupt", int64(n)-a)
	}
	out := conns[:0]
	for _, c := range conns {
		if c != nil {
			out = append(out, c)
		}
	}
	return out, elapsed
}

// closeAll sends a close frame on every socket and waits (bounded) for the
// read loops to end.
func (b *bench) closeAll(conns []*bconn, wait time.Duration) time.Duration {
	b.closing.Store(true)
	start := time.Now()
	for _, c := range conns {
		_ = c.ws.WriteClose(1000, nil)
	}
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(wait):
		logf("  close: %d read loops still running after %s", b.live.Load(), wait)
	}
	return time.Since(start)
}

// kindError is an error with a short, bounded category.
type kindError struct{ kind, msg string }

func (e *kindError) Error() string { return e.kind + ": " + e.msg }

func classifyDial(err error, resp *http.Response) error {
	if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
		return &kindError{kind: "http_" + strconv.Itoa(resp.StatusCode), msg: err.Error()}
	}
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return &kindError{kind: "refused", msg: err.Error()}
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return &kindError{kind: "fd_limit", msg: err.Error()}
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return &kindError{kind: "no_local_port", msg: err.Error()}
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return &kindError{kind: "reset", msg: err.Error()}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &kindError{kind: "eof", msg: err.Error()}
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return &kindError{kind: "dial_timeout", msg: err.Error()}
	}
	return &kindError{kind: "dial_other", msg: err.Error()}
}

// closeKind names why a socket ended.
func closeKind(err error) (string, string) {
	var ce *gws.CloseError
	if errors.As(err, &ce) {
		return "closed_" + strconv.Itoa(int(ce.Code)), truncate(string(ce.Reason), 120)
	}
	switch {
	case err == nil:
		return "closed", ""
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "closed_eof", err.Error()
	case errors.Is(err, syscall.ECONNRESET):
		return "closed_reset", err.Error()
	case errors.Is(err, net.ErrClosed):
		return "closed_local", err.Error()
	}
	return "closed_other", err.Error()
}

// errCounter counts errors by kind and keeps the first message of each.
type errCounter struct {
	mu     sync.Mutex
	counts map[string]int64
	sample map[string]string
}

func (e *errCounter) addN(kind, msg string, n int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.counts == nil {
		e.counts = map[string]int64{}
		e.sample = map[string]string{}
	}
	if _, ok := e.sample[kind]; !ok {
		e.sample[kind] = msg
	}
	e.counts[kind] += n
}

func (e *errCounter) add(kind, msg string) { e.addN(kind, msg, 1) }

func (e *errCounter) addErr(err error) {
	var ke *kindError
	if errors.As(err, &ke) {
		e.add(ke.kind, ke.msg)
		return
	}
	e.add("other", err.Error())
}

func (e *errCounter) snapshot() (total int64, byKind map[string]int64, samples map[string]string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	byKind = map[string]int64{}
	samples = map[string]string{}
	for k, v := range e.counts {
		byKind[k] = v
		samples[k] = e.sample[k]
		total += v
	}
	return total, byKind, samples
}

// logSamples prints one example message per error kind on stderr.
func (e *errCounter) logSamples() {
	_, counts, samples := e.snapshot()
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		logf("  error %s ×%d, e.g. %s", k, counts[k], samples[k])
	}
}

type noSession struct{}

func (noSession) Len() int                     { return 0 }
func (noSession) Load(string) (any, bool)      { return nil, false }
func (noSession) Delete(string)                {}
func (noSession) Store(string, any)            {}
func (noSession) Range(func(string, any) bool) {}

type stderrLogger struct{}

func (stderrLogger) Error(v ...any) { logf("gws: %s", strings.TrimSpace(fmt.Sprintln(v...))) }

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Package server is the gateway's one port: plain HTTP routes (probes now;
// APIs, canvas and the control UI later) and the WebSocket upgrade, on the
// same listener (docs/PROTOCOL.md §1, §8).
//
// The server knows nothing of the protocol beyond frame sizes: each accepted
// socket is handed to Options.Accept, which returns the Handler (in the
// gateway, a connection actor) that receives its frames.
package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"

	"github.com/google/uuid"
	"github.com/lxzan/gws"

	"openclaw/metrics"
)

// Handler receives one socket's traffic. Frame is called on the socket's read
// goroutine, in order; data is only valid during the call.
type Handler interface {
	Frame(data []byte)
	Closed()
}

// Options configure a Server.
type Options struct {
	// Listeners are the bound port. When nil, Start binds Hosts and Port
	// itself and Stop releases them.
	Listeners *Listeners
	Hosts     []string // addresses to bind, e.g. 127.0.0.1 and ::1
	Port      int      // 0 picks a free port (tests)
	Limits    Limits
	// Accept is called for every upgraded socket before its first frame.
	Accept func(*Socket) Handler
	// AllowedOrigins are the web origins besides the gateway's own whose
	// pages may open a WebSocket (gateway.controlUi.allowedOrigins; "*"
	// allows any). An upgrade whose Origin is neither gets HTTP 403.
	AllowedOrigins []string
	// Failing lists what keeps the gateway from being ready (empty = ready).
	Failing func() []string
	// Info adds fields (version, uptimeMs) to the /startupz answer.
	Info func() map[string]any
	// Routes adds HTTP handlers by pattern; the WebSocket upgrade answers on
	// every path none of them claims.
	Routes map[string]http.Handler
	Log    *slog.Logger
	// Metrics are the transport's counters (nil: counted where nothing
	// exports them).
	Metrics *metrics.Transport
}

// Server is the listener, the HTTP server and the WebSocket upgrader.
type Server struct {
	opts     Options
	limits   Limits
	log      *slog.Logger
	upgrader *gws.Upgrader
	http     *http.Server
	m        *metrics.Transport

	mu      sync.Mutex
	ls      *Listeners
	ownsLs  bool // bound by Start, so released by Stop
	leases  []*lease
	preauth map[netip.Addr]int // unauthenticated sockets by preauthKey

	refusedOrigins, oversize sometimes // rate-limit their warnings

	pool *writerPool // writes the sockets' queues (pool.go)
}

// New builds a server; Start binds it.
func New(opts Options) *Server {
	s := &Server{opts: opts, limits: opts.Limits.WithDefaults(), log: opts.Log, preauth: make(map[netip.Addr]int), m: opts.Metrics, pool: newWriterPool()}
	if s.m == nil {
		s.m = metrics.Or(nil).Transport
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.upgrader = gws.NewUpgrader(&events{s: s}, &gws.ServerOption{
		// The guard (guard.go) refuses larger frames by their header, with
		// the socket's own limit; this is gws's own check behind it.
		ReadMaxPayloadSize: s.limits.MaxPayload,
		// gws closes a socket 1001 when asked to write a frame over this
		// (16 MiB by default, below what clients may send). Socket never
		// asks: it checks MaxFrameOut first and answers an error instead.
		WriteMaxPayloadSize: s.limits.MaxFrameOut,
		// Small read buffers: most sockets sit idle and every byte here is
		// multiplied by tens of thousands. gws reads only frame headers and
		// small frames through it: a payload is read into a pooled buffer
		// (straight from the socket once the buffered bytes are used), so a
		// frame larger than this costs one more read, no copy. 256 B holds a
		// whole request frame like health. Measured with openclaw-bench conns
		// 10000: 18.6 KiB per socket at 2 KiB, 17.1 at 1 KiB, 15.0-15.6 ->
		// 13.6-13.7 going from 1 KiB to 256 B (same round trips per CPU-second
		// in rpc 100 10).
		ReadBufferSize:    256,
		ParallelEnabled:   false, // frames of one socket stay in order
		PermessageDeflate: gws.PermessageDeflate{Enabled: false},
		CheckUtf8Enabled:  true,
		// The upgrade, like the rest of the handshake, has the gateway's
		// handshake timeout (below).
		HandshakeTimeout: s.limits.HandshakeTimeout,
		Recovery:         gws.Recovery,
		Logger:           gwsLogger{s.log},
		NewSession:       func() gws.SessionStorage { return &slot{} },
	})
	mux := http.NewServeMux()
	probe := func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "status": "live"})
	}
	ready := func(w http.ResponseWriter, r *http.Request) {
		failing := []string{}
		if s.opts.Failing != nil {
			failing = append(failing, s.opts.Failing()...)
		}
		code := http.StatusOK
		if len(failing) > 0 {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, map[string]any{"ready": len(failing) == 0, "failing": failing})
	}
	// /startupz is what the reference CLI polls before connecting; anything
	// but a 503 "starting" lets it go on.
	mux.HandleFunc("GET /startupz", func(w http.ResponseWriter, r *http.Request) {
		body := map[string]any{"ok": true, "status": "started"}
		if s.opts.Info != nil {
			for k, v := range s.opts.Info() {
				body[k] = v
			}
		}
		writeJSON(w, http.StatusOK, body)
	})
	mux.HandleFunc("GET /health", probe)
	mux.HandleFunc("GET /healthz", probe)
	mux.HandleFunc("GET /ready", ready)
	mux.HandleFunc("GET /readyz", ready)
	for pattern, h := range opts.Routes {
		mux.Handle(pattern, h)
	}
	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if isUpgrade(r) {
			if _, pattern := mux.Handler(r); pattern == "" || pattern == "/" {
				s.upgrade(w, r)
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
	// A socket's whole handshake has one budget, HandshakeTimeout
	// (gateway.limits.handshakeTimeoutMs, the reference's 15 s), from its
	// upgrade request to its connect: with 10 s for the request alone, a
	// gateway raising it for a loaded host still dropped sockets at 10 s
	// (a rolling restart's reconnecting herd: EOF before the 101).
	s.http = &http.Server{Handler: root, ReadHeaderTimeout: s.limits.HandshakeTimeout, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	return s
}

// Start serves on Options.Listeners, or binds Hosts and Port first. A busy
// port is an error naming it, so the caller can say what to do.
func (s *Server) Start(ctx context.Context) error {
	ls := s.opts.Listeners
	if ls == nil {
		var err error
		if ls, err = Listen(ctx, s.opts.Hosts, s.opts.Port); err != nil {
			return err
		}
		s.ownsLs = true
	}
	s.mu.Lock()
	s.ls = ls
	for _, tl := range ls.ls {
		s.leases = append(s.leases, newLease(tl))
	}
	leases := s.leases
	s.mu.Unlock()
	for _, l := range leases {
		go func(l *lease) {
			if err := s.http.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("http serve", "addr", l.Addr().String(), "err", err)
			}
		}(l)
	}
	return nil
}

// Port is the bound port (useful when Options.Port was 0).
func (s *Server) Port() int { return s.ls.Port }

// Addr is host:port of the first listener.
func (s *Server) Addr() string { return s.ls.Addr() }

// Stop stops accepting and closes idle HTTP connections; the listeners are
// released only if Start bound them. WebSockets are not touched: the gateway
// closes them itself, after the shutdown event.
func (s *Server) Stop(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.leases {
		_ = l.Close()
	}
	if s.ownsLs {
		s.ls.Close()
	}
	return err
}

func (s *Server) upgrade(w http.ResponseWriter, r *http.Request) {
	ip := remoteIP(r.RemoteAddr)
	// Refusals that cost nothing come before the pre-auth count, so a web
	// page that may not connect cannot take the local CLI's slots.
	origins := r.Header.Values("Origin")
	origin := ""
	if len(origins) > 0 {
		origin = origins[0]
	}
	if len(origins) > 1 || (origin != "" && !originAllowed(origin, r.Host, s.opts.AllowedOrigins)) {
		if ok, more := s.refusedOrigins.allow(); ok {
			s.log.Warn("refusing upgrade: origin not allowed", "ip", ip.String(), "origin", origin, "host", r.Host, "heldBack", more)
		}
		http.Error(w, "origin not allowed (open the page from the gateway itself or list its origin in gateway.controlUi.allowedOrigins)", http.StatusForbidden)
		return
	}
	if !validKey(r.Header.Get("Sec-WebSocket-Key")) {
		// gws answers 101 to any non-empty key; RFC 6455 §4.2.1 wants the
		// base64 of 16 bytes, and the reference answers 400 with this text.
		http.Error(w, "Missing or invalid Sec-WebSocket-Key header", http.StatusBadRequest)
		return
	}
	key := preauthKey(ip)
	s.mu.Lock()
	if s.preauth[key] >= s.limits.MaxPreAuthPerIP {
		s.mu.Unlock()
		s.log.Warn("refusing upgrade: too many pre-auth sockets", "ip", ip.String())
		http.Error(w, "too many unauthenticated connections from this address", http.StatusServiceUnavailable)
		return
	}
	s.preauth[key]++
	s.mu.Unlock()
	sock := &Socket{ID: uuid.NewString(), IP: ip, Local: ip.IsLoopback(), Origin: origin, srv: s, limits: &s.limits, preauthC: true}
	conn, err := s.upgrader.Upgrade(guardedWriter{ResponseWriter: w, sock: sock}, r)
	if err != nil {
		s.releasePreAuth(sock)
		s.log.Debug("upgrade failed", "ip", ip.String(), "err", err)
		return
	}
	sock.conn = conn
	conn.Session().Store("", sock)
	// The read loop gets its own goroutine so this handler can return: run
	// inside it, net/http's per-connection state (buffers, request,
	// headers, a deep stack) would stay alive for the socket's whole life,
	// about half of each idle socket's memory.
	go conn.ReadLoop()
}

func (s *Server) releasePreAuth(sock *Socket) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !sock.preauthC {
		return
	}
	sock.preauthC = false
	key := preauthKey(sock.IP)
	if n := s.preauth[key] - 1; n > 0 {
		s.preauth[key] = n
	} else {
		delete(s.preauth, key)
	}
}

// loopbackKey stands for every loopback address in the pre-auth count:
// 127.0.0.2 and ::1 are the same machine as 127.0.0.1, and counting them
// apart gave a local attacker 32 more sockets per address.
var loopbackKey = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// preauthKey is the address an unauthenticated socket counts against.
func preauthKey(ip netip.Addr) netip.Addr {
	if ip.IsLoopback() {
		return loopbackKey
	}
	return ip
}

// validKey reports whether a Sec-WebSocket-Key is the base64 of 16 bytes
// (RFC 6455 §4.1).
func validKey(k string) bool {
	if len(k) != 24 {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(k)
	return err == nil && len(b) == 16
}

// events bridges gws callbacks to the socket's Handler.
type events struct{ s *Server }

type attached struct {
	sock *Socket
	h    Handler
}

func (e *events) OnOpen(c *gws.Conn) {
	v, _ := c.Session().Load("")
	sock := v.(*Socket)
	h := e.s.opts.Accept(sock)
	c.Session().Store("", &attached{sock: sock, h: h})
}

func (e *events) get(c *gws.Conn) *attached {
	v, _ := c.Session().Load("")
	a, _ := v.(*attached)
	return a
}

func (e *events) OnClose(c *gws.Conn, err error) {
	a := e.get(c)
	if a == nil {
		return
	}
	a.sock.closing.Store(true)
	a.sock.mu.Lock()
	a.sock.dropQueueLocked() // nothing queued can be written any more
	a.sock.mu.Unlock()
	e.s.releasePreAuth(a.sock)
	a.h.Closed()
}

func (e *events) OnPing(c *gws.Conn, payload []byte) {
	if a := e.get(c); a != nil {
		a.sock.Pong(payload)
	}
}

func (e *events) OnPong(c *gws.Conn, payload []byte) {
	if a := e.get(c); a != nil {
		a.sock.pong()
	}
}

func (e *events) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	a := e.get(c)
	if a == nil {
		return
	}
	// The frame's size was checked against the socket's limit before gws
	// read it (guard.go). Binary frames are handed on like text, as the
	// reference does: its clients only send text, and a binary frame that
	// is not valid JSON gets the same answer as a text one.
	e.s.m.FramesIn.Inc()
	a.h.Frame(m.Bytes())
}

// slot is a one-value gws.SessionStorage: the default is a mutex-guarded map
// per connection, which is memory we do not need.
type slot struct {
	mu sync.RWMutex
	v  any
}

func (s *slot) Len() int { s.mu.RLock(); defer s.mu.RUnlock(); return boolInt(s.v != nil) }
func (s *slot) Load(string) (any, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.v, s.v != nil
}
func (s *slot) Delete(string)         { s.mu.Lock(); s.v = nil; s.mu.Unlock() }
func (s *slot) Store(_ string, v any) { s.mu.Lock(); s.v = v; s.mu.Unlock() }
func (s *slot) Range(f func(string, any) bool) {
	if v, ok := s.Load(""); ok {
		f("", v)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

type gwsLogger struct{ l *slog.Logger }

func (g gwsLogger) Error(v ...any) { g.l.Error("websocket", "err", fmt.Sprint(v...)) }

func isUpgrade(r *http.Request) bool {
	return r.Method == http.MethodGet && headerHas(r.Header, "Connection", "upgrade") && headerHas(r.Header, "Upgrade", "websocket")
}

func headerHas(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for _, part := range splitComma(v) {
			if equalFold(part, token) {
				return true
			}
		}
	}
	return false
}

func remoteIP(addr string) netip.Addr {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

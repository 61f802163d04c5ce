// Package server is the gateway's one port: plain HTTP routes (probes now;
// APIs, canvas and the control UI later) and the WebSocket upgrade, on the
// same listener (PROTOCOL.md §1, §8).
//
// The server knows nothing of the protocol beyond frame sizes: each accepted
// socket is handed to Options.Accept, which returns the Handler (in the
// gateway, a connection actor) that receives its frames.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/lxzan/gws"
)

// Handler receives one socket's traffic. Frame is called on the socket's read
// goroutine, in order; data is only valid during the call.
type Handler interface {
	Frame(data []byte)
	Closed()
}

// Options configure a Server.
type Options struct {
	Hosts  []string // addresses to bind, e.g. 127.0.0.1 and ::1
	Port   int      // 0 picks a free port (tests)
	Limits Limits
	// Accept is called for every upgraded socket before its first frame.
	Accept func(*Socket) Handler
	// Failing lists what keeps the gateway from being ready (empty = ready).
	Failing func() []string
	// Info adds fields (version, uptimeMs) to the /startupz answer.
	Info func() map[string]any
	// Routes adds HTTP handlers by pattern; the WebSocket upgrade answers on
	// every path none of them claims.
	Routes map[string]http.Handler
	Log    *slog.Logger
}

// Server is the listener, the HTTP server and the WebSocket upgrader.
type Server struct {
	opts     Options
	limits   Limits
	log      *slog.Logger
	upgrader *gws.Upgrader
	http     *http.Server

	mu        sync.Mutex
	listeners []net.Listener
	preauth   map[netip.Addr]int
	done      chan struct{}
}

// New builds a server; Start binds it.
func New(opts Options) *Server {
	s := &Server{opts: opts, limits: opts.Limits.WithDefaults(), log: opts.Log, preauth: make(map[netip.Addr]int), done: make(chan struct{})}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.upgrader = gws.NewUpgrader(&events{s: s}, &gws.ServerOption{
		ReadMaxPayloadSize: s.limits.MaxPayload,
		// Small read buffers: most sockets sit idle and every byte here is
		// multiplied by tens of thousands.
		ReadBufferSize:    2048,
		ParallelEnabled:   false, // frames of one socket stay in order
		PermessageDeflate: gws.PermessageDeflate{Enabled: false},
		CheckUtf8Enabled:  true,
		HandshakeTimeout:  10 * time.Second,
		Recovery:          gws.Recovery,
		Logger:            gwsLogger{s.log},
		NewSession:        func() gws.SessionStorage { return &slot{} },
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
	s.http = &http.Server{Handler: root, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	return s
}

// Start binds every host on the port and serves until Stop. A busy port is
// an error naming the address, so the caller can say what to do.
func (s *Server) Start(ctx context.Context) error {
	port := s.opts.Port
	var lc net.ListenConfig
	for _, host := range s.opts.Hosts {
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		ln, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			// ::1 is missing on hosts with IPv6 disabled; loopback on
			// 127.0.0.1 alone is still loopback.
			if host == "::1" && len(s.listeners) > 0 && !isAddrInUse(err) {
				s.log.Debug("skipping IPv6 loopback", "err", err)
				continue
			}
			s.closeListeners()
			if isAddrInUse(err) {
				return fmt.Errorf("port %d is busy on %s: another gateway or program listens there; stop it or pick another --port", port, host)
			}
			return fmt.Errorf("listen on %s: %w", addr, err)
		}
		if port == 0 {
			port = ln.Addr().(*net.TCPAddr).Port
		}
		s.mu.Lock()
		s.listeners = append(s.listeners, ln)
		s.mu.Unlock()
	}
	s.opts.Port = port
	for _, ln := range s.listeners {
		go func(ln net.Listener) {
			if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("http serve", "addr", ln.Addr().String(), "err", err)
			}
		}(ln)
	}
	return nil
}

// Port is the bound port (useful when Options.Port was 0).
func (s *Server) Port() int { return s.opts.Port }

// Addr is host:port of the first listener.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.listeners) == 0 {
		return ""
	}
	return s.listeners[0].Addr().String()
}

// Stop closes the listeners and idle HTTP connections. WebSockets are not
// touched: the gateway closes them itself, after the shutdown event.
func (s *Server) Stop(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	s.closeListeners()
	return err
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ln := range s.listeners {
		_ = ln.Close()
	}
	s.listeners = nil
}

func (s *Server) upgrade(w http.ResponseWriter, r *http.Request) {
	ip := remoteIP(r.RemoteAddr)
	s.mu.Lock()
	if s.preauth[ip] >= s.limits.MaxPreAuthPerIP {
		s.mu.Unlock()
		s.log.Warn("refusing upgrade: too many pre-auth sockets", "ip", ip.String())
		http.Error(w, "too many unauthenticated connections from this address", http.StatusServiceUnavailable)
		return
	}
	s.preauth[ip]++
	s.mu.Unlock()
	sock := &Socket{ID: uuid.NewString(), IP: ip, Local: ip.IsLoopback(), srv: s, limits: &s.limits, preauthC: true}
	conn, err := s.upgrader.Upgrade(w, r)
	if err != nil {
		s.releasePreAuth(sock)
		s.log.Debug("upgrade failed", "ip", ip.String(), "err", err)
		return
	}
	sock.conn = conn
	conn.Session().Store("", sock)
	// The handler goroutine becomes the socket's read loop: no extra
	// goroutine per connection.
	conn.ReadLoop()
}

func (s *Server) releasePreAuth(sock *Socket) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !sock.preauthC {
		return
	}
	sock.preauthC = false
	if n := s.preauth[sock.IP] - 1; n > 0 {
		s.preauth[sock.IP] = n
	} else {
		delete(s.preauth, sock.IP)
	}
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
	e.s.releasePreAuth(a.sock)
	a.h.Closed()
}

func (e *events) OnPing(c *gws.Conn, payload []byte) { _ = c.WritePong(payload) }

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
	data := m.Bytes()
	if !a.sock.authed.Load() && len(data) > e.s.limits.PreAuthMaxFrame {
		a.sock.closing.Store(true)
		_ = c.WriteClose(1009, []byte("frame too large"))
		return
	}
	a.h.Frame(data)
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

func isAddrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }

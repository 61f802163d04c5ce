package canvas

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options configure a Server.
type Options struct {
	Hosts []string     // addresses to bind; empty means 127.0.0.1
	Port  int          // canvasHost.port; 0 picks a free port (tests)
	Root  string       // <workspace>/canvas; need not exist yet
	Log   *slog.Logger // nil discards
}

// Server is the canvas host on its own port: Handler at Prefix, 404
// everywhere else.
type Server struct {
	opts Options
	log  *slog.Logger

	mu   sync.Mutex
	http *http.Server
	lns  []net.Listener
	port int
	done chan struct{} // closed when the serving goroutines of this start end
}

// New returns a Server; Start binds it.
func New(opts Options) *Server {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(opts.Hosts) == 0 {
		opts.Hosts = []string{"127.0.0.1"}
	}
	return &Server{opts: opts, log: log.With("subsystem", "canvas")}
}

// Handler is the Server's whole HTTP handler: the canvas at Prefix, 404
// elsewhere.
func (s *Server) Handler() http.Handler {
	canvas := Handler(s.opts.Root)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.EscapedPath()
		if strings.HasPrefix(p, Prefix) || p+"/" == Prefix {
			canvas.ServeHTTP(w, r)
			return
		}
		setHeaders(w)
		notFound(w)
	})
}

// Start binds every host on the port (0: a free port, the same on all) and
// serves in the background until Stop. ctx bounds the binding only. A busy
// port is an error naming it. A missing ::1 (IPv6 disabled) is skipped when
// another host is bound.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.http != nil {
		return errors.New("canvas: already started")
	}
	if s.opts.Root == "" {
		return errors.New("canvas: no root directory")
	}
	if s.opts.Port < 0 || s.opts.Port > 65535 {
		return fmt.Errorf("canvas: invalid port %d", s.opts.Port)
	}
	port := s.opts.Port
	var lns []net.Listener
	closeAll := func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}
	var lc net.ListenConfig
	for _, host := range s.opts.Hosts {
		ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			if host == "::1" && len(lns) > 0 && !errors.Is(err, syscall.EADDRINUSE) {
				s.log.Debug("canvas host: skipping ::1", "err", err)
				continue
			}
			closeAll()
			if errors.Is(err, syscall.EADDRINUSE) {
				return fmt.Errorf("canvas: port %d is busy on %s: another program listens there; stop it or set canvasHost.port", port, host)
			}
			return fmt.Errorf("canvas: listen on %s: %w", net.JoinHostPort(host, strconv.Itoa(port)), err)
		}
		if port == 0 {
			port = ln.Addr().(*net.TCPAddr).Port
		}
		lns = append(lns, ln)
	}
	if len(lns) == 0 {
		return errors.New("canvas: no host to bind")
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	s.http, s.lns, s.port, s.done = srv, lns, port, done
	var serving sync.WaitGroup
	for _, ln := range lns {
		serving.Go(func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("canvas host stopped serving", "addr", ln.Addr().String(), "err", err)
			}
		})
	}
	go func() {
		serving.Wait()
		close(done)
	}()
	if _, err := os.Stat(s.opts.Root); err != nil {
		s.log.Info("canvas root does not exist yet; serving 404 until it does", "root", s.opts.Root)
	}
	for _, ln := range lns {
		s.log.Info("canvas host listening", "url", "http://"+ln.Addr().String()+Prefix, "root", s.opts.Root)
	}
	return nil
}

// Stop shuts the server down, waiting for requests in flight until ctx ends
// (then it closes their connections). Stopping a stopped Server is a no-op;
// it can be started again.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	srv, done := s.http, s.done
	s.http, s.lns, s.done = nil, nil, nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	if err != nil {
		_ = srv.Close()
	}
	<-done
	return err
}

// Port is the bound port (0 before the first Start).
func (s *Server) Port() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.port
}

// Addrs are the bound addresses (host:port), empty when stopped.
func (s *Server) Addrs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, ln := range s.lns {
		out = append(out, ln.Addr().String())
	}
	return out
}

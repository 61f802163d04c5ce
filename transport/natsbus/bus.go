// Package natsbus is the NATS side of cluster mode (docs/ARCHITECTURE.md
// "Cluster mode"): the embedded NATS server a gateway runs, or the external
// NATS it connects to, the connection and its JetStream handle, and the
// names of the subjects and buckets, each prefixed with the cluster's name
// so several clusters can share one NATS. It knows nothing of actors.
package natsbus

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"openclaw/config"
)

// DefaultName is the cluster's name when gateway.cluster.name is empty.
const DefaultName = "openclaw"

// readyWait bounds how long the embedded server may take to accept its
// in-process connection: its client side is up in milliseconds; what takes
// longer (routes, JetStream's meta leader) is waited for elsewhere, in the
// background, so a gateway serves its own sockets while its peers come up.
const readyWait = 10 * time.Second

// The embedded server pings its peers (and clients) every peerPingInterval
// and drops one that leaves peerMaxPingsOut pings unanswered: a paused or
// cut-off peer is out of the routes within 4-6 s, well inside a channel
// lease's TTL plus the time its successor needs.
const (
	peerPingInterval = 2 * time.Second
	peerMaxPingsOut  = 2
)

// connectWait bounds the first connection to an external NATS.
const connectWait = 10 * time.Second

// Options are what Start needs, from gateway.cluster and the gateway.
type Options struct {
	Config   config.Cluster
	StateDir string // the embedded JetStream store defaults to <StateDir>/nats
	Port     int    // the gateway's port: the default node name is host-port
	Log      *slog.Logger
}

// Bus is a gateway's link to the cluster: the NATS connection (with
// JetStream), the embedded server when it runs one, and the names.
type Bus struct {
	Name     string // the cluster's name
	Node     string // this gateway's name
	Replicas int    // JetStream replicas of the cluster's buckets
	Conn     *nats.Conn
	JS       jetstream.JetStream
	server   *server.Server // nil with an external NATS
	close    sync.Once
}

// Start runs the embedded NATS server (when no URL is configured) and
// connects to it, or connects to the external NATS.
func Start(o Options) (*Bus, error) {
	c := o.Config
	b := &Bus{Name: c.Name, Node: c.NodeName}
	if b.Name == "" {
		b.Name = DefaultName
	}
	if b.Node == "" {
		b.Node = DefaultNodeName(o.Port)
	}
	nopts := []nats.Option{
		nats.Name("openclaw-gateway " + b.Node),
		// A gateway never needs its own publishes back: it delivered them
		// locally before publishing (events, heartbeats).
		nats.NoEcho(),
		// Keep trying: a peer's NATS restarting is not this gateway's end.
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
	}
	servers := 1
	if c.NATS.URL == "" {
		srv, err := b.embedded(c, o)
		if err != nil {
			return nil, err
		}
		b.server = srv
		servers += len(c.NATS.Embedded.Routes)
		nopts = append(nopts, nats.InProcessServer(srv))
	} else {
		if c.NATS.Credentials != "" {
			nopts = append(nopts, nats.UserCredentials(c.NATS.Credentials))
		}
		if c.NATS.Token != "" {
			nopts = append(nopts, nats.Token(c.NATS.Token))
		}
		if t := c.NATS.TLS; t.CA != "" {
			nopts = append(nopts, nats.RootCAs(t.CA))
		}
		if t := c.NATS.TLS; t.Cert != "" {
			nopts = append(nopts, nats.ClientCert(t.Cert, t.Key))
		}
		nopts = append(nopts, nats.Timeout(connectWait))
	}
	nc, err := nats.Connect(c.NATS.URL, nopts...)
	if err != nil {
		b.shutdownServer()
		return nil, fmt.Errorf("cluster: connect to NATS: %w", err)
	}
	if c.NATS.URL != "" {
		servers = max(1, len(nc.Servers()))
	}
	b.Conn = nc
	b.Replicas = c.Replicas
	if b.Replicas == 0 {
		b.Replicas = min(3, servers)
	}
	if b.JS, err = jetstream.New(nc); err != nil {
		b.Close()
		return nil, fmt.Errorf("cluster: JetStream: %w", err)
	}
	return b, nil
}

// embedded starts this gateway's NATS server: JetStream on, routes to the
// peers when a cluster port is set, no client port unless asked.
func (b *Bus) embedded(c config.Cluster, o Options) (*server.Server, error) {
	e := c.NATS.Embedded
	dir := e.StoreDir
	if dir == "" {
		dir = filepath.Join(o.StateDir, "nats")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cluster: NATS store %s: %w", dir, err)
	}
	so := &server.Options{
		ServerName: b.Node,
		JetStream:  true,
		StoreDir:   dir,
		NoSigs:     true, // the gateway owns the process's signals
		NoLog:      true,
		DontListen: e.ClientListen == "",
		// A peer that stops answering (paused, or cut off without a
		// reset) is dropped from the routes after MaxPingsOut unanswered
		// pings: until then its subscriptions stay in the interest graph
		// and requests queued to it (JetStream direct gets, routed
		// requests) wait for their timeouts. NATS's default is 2 minutes.
		PingInterval: peerPingInterval,
		MaxPingsOut:  peerMaxPingsOut,
	}
	if e.ClientListen != "" {
		host, port, err := splitHostPort(e.ClientListen)
		if err != nil {
			return nil, fmt.Errorf("cluster: clientListen: %w", err)
		}
		so.Host, so.Port = host, port
	}
	if e.ClusterListen != "" {
		host, port, err := splitHostPort(e.ClusterListen)
		if err != nil {
			return nil, fmt.Errorf("cluster: clusterListen: %w", err)
		}
		// NoAdvertise: the client URLs stay out of what clients learn (it
		// does not change what routes gossip: Advertise does).
		so.Cluster = server.ClusterOpts{Name: b.Name, Host: host, Port: port, NoAdvertise: true, Advertise: e.Advertise}
		so.Routes = server.RoutesFromStr(strings.Join(e.Routes, ","))
		if so.DontListen {
			// NATS starts routing only once its client listener is up
			// (v2.15: with DontListen the routes never start), so a routed
			// server without clientListen gets one on a random loopback
			// port, which nothing is told of.
			so.DontListen, so.Host, so.Port = false, "127.0.0.1", server.RANDOM_PORT
		}
	}
	srv, err := server.NewServer(so)
	if err != nil {
		return nil, fmt.Errorf("cluster: embedded NATS: %w", err)
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	nl := &natsLogger{l: log.With("subsystem", "nats")}
	srv.SetLoggerV2(nl, false, false, false)
	srv.Start()
	// NATS reports a listener it could not bind only to its log, and keeps
	// waiting for it: a fatal record ends the wait with its reason.
	deadline := time.Now().Add(readyWait)
	for !srv.ReadyForConnections(100 * time.Millisecond) {
		if why := nl.fatal.Load(); why != nil {
			srv.Shutdown()
			return nil, fmt.Errorf("cluster: embedded NATS did not start: %s", *why)
		}
		if time.Now().After(deadline) {
			srv.Shutdown()
			return nil, errors.New("cluster: embedded NATS did not start (is the cluster port free?)")
		}
	}
	return srv, nil
}

func splitHostPort(hp string) (string, int, error) {
	h, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("%q: bad port", hp)
	}
	return h, n, nil
}

// DefaultNodeName is the host name and the gateway's port, with every
// character a subject token cannot hold replaced by '-'.
func DefaultNodeName(port int) string {
	h, _ := os.Hostname()
	if h == "" {
		h = "gateway"
	}
	return Token(h + "-" + strconv.Itoa(port))
}

// Token makes s usable as one NATS subject token and in a bucket name:
// letters, digits, '-' and '_' stay; everything else becomes '-'.
func Token(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, s)
}

// Subject is a subject of this cluster: "oc.<name>.<parts…>".
func (b *Bus) Subject(parts ...string) string {
	return "oc." + b.Name + "." + strings.Join(parts, ".")
}

// Bucket is the name of one of this cluster's KV buckets:
// "oc_<name>_<what>".
func (b *Bus) Bucket(what string) string { return "oc_" + b.Name + "_" + what }

// Embedded reports whether this gateway runs the NATS server itself.
func (b *Bus) Embedded() bool { return b.server != nil }

// Routes is how many peer NATS servers the embedded server is routed to
// (0 with an external NATS).
func (b *Bus) Routes() int {
	if b.server == nil {
		return 0
	}
	return b.server.NumRoutes()
}

// JetStreamLeader reports whether this gateway's embedded server leads
// JetStream's meta group (false with an external NATS).
func (b *Bus) JetStreamLeader() bool {
	return b.server != nil && b.server.JetStreamIsLeader()
}

// Close drains nothing: it closes the connection and stops the embedded
// server. Peers see the routes drop at once.
func (b *Bus) Close() {
	b.close.Do(func() {
		if b.Conn != nil {
			b.Conn.Close()
		}
		b.shutdownServer()
	})
}

func (b *Bus) shutdownServer() {
	if b.server != nil {
		b.server.Shutdown()
		b.server.WaitForShutdown()
	}
}

// natsLogger sends the embedded server's warnings and errors to the
// gateway's log (its notices are chatty: every route, every election), and
// keeps the last fatal one: the reason a start failed.
type natsLogger struct {
	l     *slog.Logger
	fatal atomic.Pointer[string]
}

func (n *natsLogger) Noticef(string, ...any) {}
func (n *natsLogger) Warnf(format string, v ...any) {
	n.l.Warn(fmt.Sprintf(format, v...))
}
func (n *natsLogger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	n.fatal.Store(&msg)
	n.l.Error(msg)
}
func (n *natsLogger) Errorf(format string, v ...any) { n.l.Error(fmt.Sprintf(format, v...)) }
func (n *natsLogger) Debugf(string, ...any)          {}
func (n *natsLogger) Tracef(string, ...any)          {}

// Package metrics is what the gateway measures about itself, exported at
// GET /metrics in the Prometheus text format (the table of names and labels
// is in docs/METRICS.md).
//
// One Metrics per gateway generation, with its own registry: nothing is
// registered in the library's global default registry, so several gateways
// in one process (tests, the in-process restart) never see each other's
// numbers. Every part of the gateway that counts something is handed the
// collectors it updates (the actors in their Deps, the transport in its
// Options).
//
// The hot paths stay cheap: a counter is an atomic add, and every labelled
// series a hot path touches (a role, a method, a direction) is resolved to
// its child once, here, never per frame.
package metrics

import (
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace prefixes every gateway metric.
const namespace = "openclaw"

// Label values that are fixed sets.
const (
	RoleOperator        = "operator"
	RoleNode            = "node"
	RoleUnauthenticated = "unauthenticated"

	HandshakeOK         = "ok"
	HandshakeAuthFailed = "auth_failed"
	HandshakeRejected   = "rejected"
	HandshakeTimeout    = "timeout"

	DirectionIn  = "in"
	DirectionOut = "out"
)

// Latency buckets, in seconds. Requests and commits are mostly sub-
// millisecond; an agent request lasts a whole turn, so the top buckets
// reach minutes.
var (
	requestBuckets  = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}
	providerBuckets = []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600}
	commitBuckets   = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}
)

// Metrics are one gateway generation's collectors and the registry they are
// exported from.
type Metrics struct {
	reg *prometheus.Registry

	// Transport is what the WebSocket server counts (transport/server).
	Transport *Transport

	// Connections are the open sockets by role (the hub sets them);
	// unauthenticated ones have not finished the handshake.
	ConnOperator, ConnNode, ConnUnauthenticated prometheus.Gauge

	// Handshakes by result; AuthFailures by the reason the client is told
	// (details.authReason).
	HandshakeOK, HandshakeAuthFailed, HandshakeRejected, HandshakeTimeout prometheus.Counter
	authFailures                                                          *prometheus.CounterVec

	// requests are the request latency histogram's children by method,
	// resolved at construction; unknown names share otherRequest.
	requests     map[string]prometheus.Observer
	otherRequest prometheus.Observer

	// Runs.
	RunsStarted  prometheus.Counter
	RunsActive   prometheus.Gauge
	runsFinished *prometheus.CounterVec

	// Provider latency by provider id: to the first text delta, and the
	// whole streamed request.
	providerFirstToken *prometheus.HistogramVec
	providerRequest    *prometheus.HistogramVec

	// channelUpdates are channel traffic by channel and direction.
	channelUpdates *prometheus.CounterVec

	// StoreCommit is the latency of one group commit of the state database
	// (BEGIN to COMMIT, every write queued with it).
	StoreCommit prometheus.Observer
}

// Transport is what the WebSocket server counts on its hot paths.
type Transport struct {
	FramesIn, FramesOut prometheus.Counter
	BytesIn, BytesOut   prometheus.Counter
	// Dropped are droppable events skipped for a reader over its backlog
	// limit, Merged deltas merged into one still queued.
	Dropped, Merged prometheus.Counter
	SlowConsumers   prometheus.Counter
	// Backlog is the bytes queued on every socket and not yet written. A
	// plain atomic (exported through a GaugeFunc): it moves twice per
	// frame, and a Gauge's float add is a compare-and-swap loop.
	Backlog atomic.Int64
}

// Sent counts one write of frames that put n bytes on the wire.
func (t *Transport) Sent(frames int, n int64) {
	t.FramesOut.Add(float64(frames))
	t.BytesOut.Add(float64(n))
}

// Options configure New.
type Options struct {
	// Methods are the method names the request histogram has a series for
	// (the registry's); a request for another name counts as "other".
	Methods []string
	// Restarts is how many in-process restarts came before this
	// generation (the Runner counts them across generations).
	Restarts int64
	// Runtime adds the Go runtime and process collectors (go_*, process_*).
	Runtime bool
}

// New builds a generation's collectors in a registry of their own.
func New(o Options) *Metrics {
	reg := prometheus.NewRegistry()
	f := factory{reg}
	m := &Metrics{reg: reg, Transport: &Transport{}}
	t := m.Transport

	conns := f.gaugeVec("connections", "Open WebSocket connections by role (unauthenticated: handshake not finished).", "role")
	m.ConnOperator = conns.WithLabelValues(RoleOperator)
	m.ConnNode = conns.WithLabelValues(RoleNode)
	m.ConnUnauthenticated = conns.WithLabelValues(RoleUnauthenticated)

	hs := f.counterVec("handshakes_total", "WebSocket handshakes by result: ok, auth_failed, rejected (bad first frame, params, role, protocol, draining), timeout.", "result")
	m.HandshakeOK = hs.WithLabelValues(HandshakeOK)
	m.HandshakeAuthFailed = hs.WithLabelValues(HandshakeAuthFailed)
	m.HandshakeRejected = hs.WithLabelValues(HandshakeRejected)
	m.HandshakeTimeout = hs.WithLabelValues(HandshakeTimeout)
	m.authFailures = f.counterVec("auth_failures_total", "Failed connect authentications by reason (the authReason the client is told).", "reason")

	t.FramesIn = f.counter("frames_received_total", "WebSocket frames received (data frames handed to the gateway).")
	t.FramesOut = f.counter("frames_sent_total", "WebSocket frames written (responses, events, pings).")
	t.BytesIn = f.counter("received_bytes_total", "Bytes read from WebSocket connections, frame headers included.")
	t.BytesOut = f.counter("sent_bytes_total", "Bytes written to WebSocket connections by the outbound queues, frame headers included.")
	t.Dropped = f.counter("events_dropped_total", "Droppable events (tick, presence, health) skipped for a reader over its backlog limit.")
	t.Merged = f.counter("deltas_merged_total", "Agent and chat deltas merged into one still queued for a slow reader.")
	t.SlowConsumers = f.counter("slow_consumer_closes_total", "Sockets closed 1008 \"slow consumer\" (backlog limit passed by a frame that may not be dropped).")
	f.gaugeFunc("backlog_bytes", "Bytes queued on all sockets and not yet written.", func() float64 { return float64(t.Backlog.Load()) })

	req := f.histogramVec("request_duration_seconds", "Time from a request's dispatch to its final response, by method (agent: the whole turn).", requestBuckets, "method")
	m.requests = make(map[string]prometheus.Observer, len(o.Methods))
	for _, name := range o.Methods {
		m.requests[name] = req.WithLabelValues(name)
	}
	m.otherRequest = req.WithLabelValues("other")

	m.RunsStarted = f.counter("runs_started_total", "Agent runs started.")
	m.RunsActive = f.gauge("runs_active", "Agent runs in progress.")
	m.runsFinished = f.counterVec("runs_finished_total", "Agent runs finished, by status: ok, aborted, timeout, error (failed: every status but ok).", "status")

	m.providerFirstToken = f.histogramVec("provider_first_token_seconds", "Time from sending a model request to its first text delta, by provider.", providerBuckets, "provider")
	m.providerRequest = f.histogramVec("provider_request_duration_seconds", "Time of a whole streamed model request, by provider and outcome (ok, error).", providerBuckets, "provider", "outcome")

	m.channelUpdates = f.counterVec("channel_updates_total", "Channel traffic: updates received (in) and messages sent or edited (out), by channel.", "channel", "direction")

	m.StoreCommit = f.histogram("store_commit_duration_seconds", "Latency of one group commit of the state database (BEGIN to COMMIT).", commitBuckets)

	restarts := o.Restarts
	f.counterFunc("restarts_total", "In-process restarts of this process (SIGUSR1, a restart-class config change).", func() float64 { return float64(restarts) })

	if o.Runtime {
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return m
}

// Or returns m, or, when m is nil, collectors of their own that nothing
// exports: what a part built without metrics (a unit test) counts into.
func Or(m *Metrics) *Metrics {
	if m == nil {
		return New(Options{})
	}
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Registry is the generation's registry (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Request is the latency histogram's series of a method.
func (m *Metrics) Request(method string) prometheus.Observer {
	if o, ok := m.requests[method]; ok {
		return o
	}
	return m.otherRequest
}

// AuthFailure counts a failed connect authentication. reason comes from a
// fixed set in the code (authReason), so the series stay few.
func (m *Metrics) AuthFailure(reason string) {
	m.HandshakeAuthFailed.Inc()
	m.authFailures.WithLabelValues(reason).Inc()
}

// RunFinished counts a run's end by its status (ok, aborted, timeout,
// error).
func (m *Metrics) RunFinished(status string) { m.runsFinished.WithLabelValues(status).Inc() }

// ProviderFirstToken and ProviderRequest observe a model request's latency
// (provider is its models.providers id: configured, so bounded).
func (m *Metrics) ProviderFirstToken(provider string) prometheus.Observer {
	return m.providerFirstToken.WithLabelValues(provider)
}

// ProviderRequest is the whole-request histogram's series.
func (m *Metrics) ProviderRequest(provider, outcome string) prometheus.Observer {
	return m.providerRequest.WithLabelValues(provider, outcome)
}

// ChannelUpdates is the traffic counter of a channel in one direction.
func (m *Metrics) ChannelUpdates(channel, direction string) prometheus.Counter {
	return m.channelUpdates.WithLabelValues(channel, direction)
}

// factory registers every collector it builds in one registry.
type factory struct{ reg *prometheus.Registry }

// register adds c to reg and returns it.
func register[C prometheus.Collector](reg *prometheus.Registry, c C) C {
	reg.MustRegister(c)
	return c
}

func (f factory) counter(name, help string) prometheus.Counter {
	return register(f.reg, prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}))
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return register(f.reg, prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels))
}

func (f factory) counterFunc(name, help string, fn func() float64) {
	register(f.reg, prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, fn))
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	return register(f.reg, prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}))
}

func (f factory) gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	return register(f.reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, labels))
}

func (f factory) gaugeFunc(name, help string, fn func() float64) {
	register(f.reg, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, fn))
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	return register(f.reg, prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets}))
}

func (f factory) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	return register(f.reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets}, labels))
}

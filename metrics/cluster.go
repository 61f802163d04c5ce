package metrics

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Cluster is what a gateway in cluster mode counts about its peers (the
// other gateways) and JetStream. Only a gateway in cluster mode makes
// one, so a single gateway's /metrics has no openclaw_cluster_* series.
type Cluster struct {
	// EventsPublished counts the broadcast messages this gateway
	// published to the others (one message may carry a delta's agent and
	// chat events together).
	EventsPublished prometheus.Counter

	eventsReceived *prometheus.CounterVec // by peer
	routed         *prometheus.CounterVec // by the peer that answered
	served         *prometheus.CounterVec // by the peer that asked
	jsErrors       *prometheus.CounterVec // by operation

	// children made once per label value: the events subscription looks
	// its peer's counter up per message.
	children sync.Map // string -> prometheus.Counter

	view atomic.Pointer[ClusterView]
}

// ClusterView is the cluster as the cluster actor last saw it, read at
// each scrape.
type ClusterView struct {
	// Peers are the other gateways heard from within the liveness bound,
	// with when each was last heard from.
	Peers []ClusterPeer
	// Buckets are the cluster's JetStream buckets with their replication
	// lag.
	Buckets []ClusterBucket
}

// ClusterPeer is one other gateway.
type ClusterPeer struct {
	Name     string
	LastSeen time.Time
}

// ClusterBucket is one JetStream bucket's replication state.
type ClusterBucket struct {
	Name string
	// Lag is the largest number of operations a replica is behind its
	// leader; Replicas the copies it keeps; Current the replicas (leader
	// included) that are current.
	Lag               uint64
	Replicas, Current int
}

// Peer labels that are not a gateway's name.
const (
	// PeerNone: a routed request no gateway held (NATS "no responders").
	PeerNone = "none"
	// PeerUnknown: a routed request that failed before any gateway
	// answered (timeout, connection lost).
	PeerUnknown = "unknown"
)

// JetStream operations whose failures are counted.
const (
	JSPresencePut    = "presence_put"
	JSPresenceDelete = "presence_delete"
	JSBucketStatus   = "bucket_status"
	JSWatch          = "watch"
)

var (
	descPeers = prometheus.NewDesc(namespace+"_cluster_peers",
		"Other gateways of the cluster heard from within the liveness bound.", nil, nil)
	descLastSeen = prometheus.NewDesc(namespace+"_cluster_peer_last_seen_seconds",
		"Seconds since the peer's last heartbeat.", []string{"peer"}, nil)
	descLag = prometheus.NewDesc(namespace+"_cluster_bucket_lag",
		"Operations the most lagging replica of a JetStream bucket is behind its leader.", []string{"bucket"}, nil)
	descReplicas = prometheus.NewDesc(namespace+"_cluster_bucket_replicas",
		"Replicas a JetStream bucket keeps.", []string{"bucket"}, nil)
	descCurrent = prometheus.NewDesc(namespace+"_cluster_bucket_replicas_current",
		"Replicas of a JetStream bucket (leader included) that are current.", []string{"bucket"}, nil)
)

// NewCluster registers the cluster collectors in m's registry. Call it
// once per generation, in cluster mode only.
func (m *Metrics) NewCluster() *Cluster {
	f := factory{m.reg}
	c := &Cluster{
		EventsPublished: f.counter("cluster_events_published_total", "Broadcast messages published to the other gateways."),
		eventsReceived:  f.counterVec("cluster_events_received_total", "Broadcast messages received from another gateway, by peer.", "peer"),
		routed: f.counterVec("cluster_requests_routed_total",
			"Requests this gateway routed to another (node.invoke, agent.wait, chat.abort, send), by the peer that answered (none: no gateway held it; unknown: no answer).", "peer"),
		served:   f.counterVec("cluster_requests_served_total", "Requests another gateway routed here, by the peer that asked.", "peer"),
		jsErrors: f.counterVec("cluster_jetstream_errors_total", "Failed JetStream operations of the cluster actor, by operation (presence_put, presence_delete, bucket_status, watch).", "op"),
	}
	c.view.Store(&ClusterView{})
	m.reg.MustRegister(clusterCollector{c})
	return c
}

// SetView replaces what the per-peer and per-bucket gauges report.
func (c *Cluster) SetView(v ClusterView) { c.view.Store(&v) }

// EventsReceived is the received-events counter of a peer.
func (c *Cluster) EventsReceived(peer string) prometheus.Counter {
	return c.child(peer, func() prometheus.Counter { return c.eventsReceived.WithLabelValues(peer) })
}

// Routed counts a request routed to another gateway, answered by peer.
func (c *Cluster) Routed(peer string) { c.routed.WithLabelValues(peer).Inc() }

// Served counts a request routed here by peer.
func (c *Cluster) Served(peer string) { c.served.WithLabelValues(peer).Inc() }

// JetStreamError counts a failed JetStream operation (op: JS*).
func (c *Cluster) JetStreamError(op string) { c.jsErrors.WithLabelValues(op).Inc() }

func (c *Cluster) child(key string, make func() prometheus.Counter) prometheus.Counter {
	if v, ok := c.children.Load(key); ok {
		return v.(prometheus.Counter)
	}
	v, _ := c.children.LoadOrStore(key, make())
	return v.(prometheus.Counter)
}

// clusterCollector reports the view's gauges at scrape time: a peer that
// is gone has no series any more, and last-seen ages are current.
type clusterCollector struct{ c *Cluster }

func (cc clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPeers, descLastSeen, descLag, descReplicas, descCurrent} {
		ch <- d
	}
}

func (cc clusterCollector) Collect(ch chan<- prometheus.Metric) {
	v := cc.c.view.Load()
	now := time.Now()
	ch <- prometheus.MustNewConstMetric(descPeers, prometheus.GaugeValue, float64(len(v.Peers)))
	for _, p := range v.Peers {
		ch <- prometheus.MustNewConstMetric(descLastSeen, prometheus.GaugeValue, now.Sub(p.LastSeen).Seconds(), p.Name)
	}
	for _, b := range v.Buckets {
		ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(b.Lag), b.Name)
		ch <- prometheus.MustNewConstMetric(descReplicas, prometheus.GaugeValue, float64(b.Replicas), b.Name)
		ch <- prometheus.MustNewConstMetric(descCurrent, prometheus.GaugeValue, float64(b.Current), b.Name)
	}
}

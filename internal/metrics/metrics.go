// Package metrics holds Parley's Prometheus collectors. One *Metrics is
// created per server and handed to the components that record into it; a nil
// *Metrics records nothing, so components and tests need no special case.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the set of collectors, registered on its own registry.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec

	connections   prometheus.Gauge     // open, authenticated WebSocket connections
	messagesIn    prometheus.Counter   // messages committed by this node
	deliveries    prometheus.Counter   // frames queued to local connections
	queueDrops    prometheus.Counter   // connections closed as slow consumers
	commitBatch   prometheus.Histogram // operations per group commit
	commitTime    prometheus.Histogram // seconds per group commit
	loginFailures prometheus.Counter

	notifyEnqueued prometheus.Counter
	notifySent     *prometheus.CounterVec // by channel
	notifyFailed   *prometheus.CounterVec // by channel
	notifyRetried  *prometheus.CounterVec // by channel
	notifySkipped  *prometheus.CounterVec // by channel and reason
}

// New returns collectors registered on a fresh registry, with the Go runtime
// and process collectors included.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_http_requests_total", Help: "HTTP requests by route pattern and status."},
		[]string{"route", "status"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "parley_http_request_duration_seconds", Help: "HTTP request duration by route pattern.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10)}, []string{"route"})
	m.connections = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "parley_ws_connections", Help: "Open authenticated WebSocket connections on this node."})
	m.messagesIn = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parley_messages_committed_total", Help: "Messages committed through this node."})
	m.deliveries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parley_deliveries_total", Help: "Event frames queued to local WebSocket connections."})
	m.queueDrops = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parley_slow_consumer_disconnects_total", Help: "Connections closed because their outbound queue was full."})
	m.commitBatch = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "parley_commit_batch_ops", Help: "Operations (messages, edits, receipts, membership changes) per group commit.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 11)})
	m.commitTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "parley_commit_seconds", Help: "Duration of one group commit, from BEGIN to the durable COMMIT.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14)})
	m.loginFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parley_login_failures_total", Help: "Failed sign-in attempts."})
	m.notifyEnqueued = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parley_notifications_enqueued_total", Help: "Notification queue entries enqueued or collapsed into pending ones."})
	m.notifySent = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_notifications_sent_total", Help: "Notifications delivered, counted per device, by channel."},
		[]string{"channel"})
	m.notifyFailed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_notifications_failed_total", Help: "Notifications given up (permanent failure or out of attempts), by channel."},
		[]string{"channel"})
	m.notifyRetried = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_notifications_retried_total", Help: "Notification deliveries that failed and were rescheduled with backoff, by channel."},
		[]string{"channel"})
	m.notifySkipped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_notifications_skipped_total", Help: "Notifications settled without sending (read meanwhile, a focused device, …), by channel and reason."},
		[]string{"channel", "reason"})
	m.reg.MustRegister(m.httpRequests, m.httpDuration, m.connections, m.messagesIn, m.deliveries,
		m.queueDrops, m.commitBatch, m.commitTime, m.loginFailures,
		m.notifyEnqueued, m.notifySent, m.notifyFailed, m.notifyRetried, m.notifySkipped,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// ObserveHTTP records one finished HTTP request.
func (m *Metrics) ObserveHTTP(route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.httpRequests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(route).Observe(d.Seconds())
}

// AddConnections adds delta to the open-connection gauge.
func (m *Metrics) AddConnections(delta int) {
	if m != nil {
		m.connections.Add(float64(delta))
	}
}

// AddMessagesIn counts n committed messages.
func (m *Metrics) AddMessagesIn(n int) {
	if m != nil {
		m.messagesIn.Add(float64(n))
	}
}

// AddDeliveries counts n frames queued to local connections.
func (m *Metrics) AddDeliveries(n int) {
	if m != nil {
		m.deliveries.Add(float64(n))
	}
}

// IncQueueDrops counts one slow-consumer disconnect.
func (m *Metrics) IncQueueDrops() {
	if m != nil {
		m.queueDrops.Inc()
	}
}

// ObserveCommitBatch records one group commit: its size (operations
// committed together with one fsync) and its duration.
func (m *Metrics) ObserveCommitBatch(n int, d time.Duration) {
	if m != nil {
		m.commitBatch.Observe(float64(n))
		m.commitTime.Observe(d.Seconds())
	}
}

// IncLoginFailures counts one failed sign-in.
func (m *Metrics) IncLoginFailures() {
	if m != nil {
		m.loginFailures.Inc()
	}
}

// NotifyEnqueued counts n notification queue entries written.
func (m *Metrics) NotifyEnqueued(n int) {
	if m != nil {
		m.notifyEnqueued.Add(float64(n))
	}
}

// NotifySent counts n devices a notification reached on channel.
func (m *Metrics) NotifySent(channel string, n int) {
	if m != nil {
		m.notifySent.WithLabelValues(channel).Add(float64(n))
	}
}

// NotifyFailed counts one notification given up.
func (m *Metrics) NotifyFailed(channel string) {
	if m != nil {
		m.notifyFailed.WithLabelValues(channel).Inc()
	}
}

// NotifyRetried counts one failed delivery rescheduled.
func (m *Metrics) NotifyRetried(channel string) {
	if m != nil {
		m.notifyRetried.WithLabelValues(channel).Inc()
	}
}

// NotifySkipped counts one notification settled without sending, and why.
func (m *Metrics) NotifySkipped(channel, why string) {
	if m != nil {
		m.notifySkipped.WithLabelValues(channel, why).Inc()
	}
}

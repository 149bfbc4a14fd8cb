package gateway

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/internal/cors"
	"github.com/portcullis/portcullis/internal/function"
	"github.com/portcullis/portcullis/internal/gwresponse"
	"github.com/portcullis/portcullis/internal/jwtauth"
	"github.com/portcullis/portcullis/internal/lambdaauth"
	"github.com/portcullis/portcullis/internal/state"
	"github.com/portcullis/portcullis/internal/throttle"
)

// Metrics are the gateway's Prometheus collectors. They outlive reloads: one
// set per process, registered once. Labels are bounded: the route label is a
// configured route key (or "none"), never a raw path.
type Metrics struct {
	requests  *prometheus.CounterVec   // route, status, mode
	cuts      *prometheus.CounterVec   // route, reason
	duration  *prometheus.HistogramVec // route, mode
	decisions *prometheus.CounterVec   // authorizer, outcome, reason, mode
	JWT       *jwtauth.Metrics
	Lambda    *lambdaauth.Metrics
	Functions *function.Metrics
	Responses *gwresponse.Metrics
	CORS      *cors.Metrics
	State     *state.Metrics
	Throttle  *throttle.Metrics
}

// NewMetrics registers the gateway's collectors (and the JWT authorizers')
// with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_requests_total",
			Help: "Requests answered, by route key, HTTP status and mode (gateway: served; forward_auth, ext_authz: decided for a proxy through the decision API).",
		}, []string{"route", "status", "mode"}),
		cuts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_responses_cut_total",
			Help: "Responses cut short after their status and headers were sent (counted in portcullis_requests_total with that status), by route key and reason.",
		}, []string{"route", "reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "portcullis_request_duration_seconds",
			Help:    "Time from receiving a request to the end of its response, by route key and mode.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "mode"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_authorizer_decisions_total",
			Help: "Authorizer decisions, by authorizer, outcome (allow, deny), reason and mode.",
		}, []string{"authorizer", "outcome", "reason", "mode"}),
	}
	reg.MustRegister(m.requests, m.cuts, m.duration, m.decisions)
	m.JWT = jwtauth.NewMetrics(reg)
	m.Lambda = lambdaauth.NewMetrics(reg)
	m.Functions = function.NewMetrics(reg)
	m.Responses = gwresponse.NewMetrics(reg)
	m.CORS = cors.NewMetrics(reg)
	m.State = state.NewMetrics(reg)
	m.Throttle = throttle.NewMetrics(reg)
	return m
}

// routeMetrics holds one route's collectors in one mode, looked up once at
// build time so the request path does not hash label values. The series of
// each status and of allowed decisions are resolved on first use (a series
// appears in /metrics once it counts something) and kept.
type routeMetrics struct {
	requests  *prometheus.CounterVec                     // curried with the route and mode
	cuts      *prometheus.CounterVec                     // curried with the route
	decisions *prometheus.CounterVec                     // curried with the route's authorizer and the mode; nil: no authorizer
	durations prometheus.ObserverVec                     // curried with the route and mode
	duration  atomic.Pointer[prometheus.Observer]        // durations' one series, resolved on first use
	statuses  [statusSlots]atomic.Pointer[statusCounter] // requests' series by status % statusSlots, first come
	allowed   atomic.Pointer[prometheus.Counter]         // decisions' "allow", "ok" series
}

// statusSlots is the size of a route's cache of status series: with 21,
// the statuses the gateway answers with itself and the usual ones of
// backends (200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 413, 429,
// 499, 500, 502, 503, 504) each have a slot of their own. Another status
// whose slot is taken is looked up by its labels each time.
const statusSlots = 21

// statusCounter is the requests series of one status.
type statusCounter struct {
	status  int
	counter prometheus.Counter
}

func (rt *Route) observe(m *Metrics) {
	if m == nil {
		return
	}
	cuts := m.cuts.MustCurryWith(prometheus.Labels{"route": rt.label})
	for mode := range rt.m {
		name := Mode(mode).String()
		rm := &rt.m[mode]
		rm.requests = m.requests.MustCurryWith(prometheus.Labels{"route": rt.label, "mode": name})
		rm.cuts = cuts
		rm.durations = m.duration.MustCurryWith(prometheus.Labels{"route": rt.label, "mode": name})
		if rt.auth != nil {
			rm.decisions = m.decisions.MustCurryWith(prometheus.Labels{"authorizer": rt.auth.name(), "mode": name})
		}
	}
}

// statusLabels avoids formatting the status on every request.
var statusLabels = func() (s [600]string) {
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

func (m *routeMetrics) count(status int, elapsed time.Duration) {
	if m.requests == nil {
		return
	}
	m.requestsOf(status).Inc()
	m.observer().Observe(elapsed.Seconds())
}

// observer returns the route's duration series in this mode, made on the
// first request: a histogram made at build time would put a dozen idle
// series per route in /metrics for each decision-API mode nobody uses.
func (m *routeMetrics) observer() prometheus.Observer {
	if o := m.duration.Load(); o != nil {
		return *o
	}
	o := m.durations.WithLabelValues()
	m.duration.Store(&o)
	return o
}

// requestsOf returns the requests series of status, from the cache when
// its slot holds it.
func (m *routeMetrics) requestsOf(status int) prometheus.Counter {
	slot := &m.statuses[uint(status)%statusSlots]
	if c := slot.Load(); c != nil && c.status == status {
		return c.counter
	}
	label := "other"
	if status >= 0 && status < len(statusLabels) {
		label = statusLabels[status]
	}
	c := m.requests.WithLabelValues(label)
	if slot.Load() == nil {
		slot.CompareAndSwap(nil, &statusCounter{status: status, counter: c})
	}
	return c
}

// countDecision counts the route's authorizer's decision: allowed, or
// denied for reason.
func (m *routeMetrics) countDecision(allow bool, reason string) {
	if m.decisions == nil {
		return
	}
	if !allow {
		m.decisions.WithLabelValues("deny", reason).Inc()
		return
	}
	c := m.allowed.Load()
	if c == nil {
		c = new(prometheus.Counter)
		*c = m.decisions.WithLabelValues("allow", "ok")
		m.allowed.Store(c)
	}
	(*c).Inc()
}

// countCut counts a response cut short after its headers were sent; the
// request itself is counted by count.
func (m *routeMetrics) countCut(reason string) {
	if m.cuts != nil {
		m.cuts.WithLabelValues(reason).Inc()
	}
}

package gateway

import (
	"strconv"
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
// build time so the request path does not hash label values.
type routeMetrics struct {
	requests *prometheus.CounterVec // curried with the route and mode
	cuts     *prometheus.CounterVec // curried with the route
	duration prometheus.Observer
}

func (rt *Route) observe(m *Metrics) {
	if m == nil {
		return
	}
	cuts := m.cuts.MustCurryWith(prometheus.Labels{"route": rt.label})
	for mode := range rt.m {
		name := Mode(mode).String()
		rt.m[mode] = routeMetrics{
			requests: m.requests.MustCurryWith(prometheus.Labels{"route": rt.label, "mode": name}),
			cuts:     cuts,
			duration: m.duration.WithLabelValues(rt.label, name),
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
	label := "other"
	if status >= 0 && status < len(statusLabels) {
		label = statusLabels[status]
	}
	m.requests.WithLabelValues(label).Inc()
	m.duration.Observe(elapsed.Seconds())
}

// countCut counts a response cut short after its headers were sent; the
// request itself is counted by count.
func (m *routeMetrics) countCut(reason string) {
	if m.cuts != nil {
		m.cuts.WithLabelValues(reason).Inc()
	}
}

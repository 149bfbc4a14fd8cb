package cors

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/internal/metrics"
)

// Metrics holds the CORS collectors: one per process (NewMetrics), shared by
// the policies that reloads build. Series are labelled by a fixed set of
// kinds and outcomes, never by the Origin.
type Metrics struct {
	requests *prometheus.CounterVec // kind, outcome
}

// NewMetrics creates the collectors and registers them with reg (if not
// nil); equal collectors already registered there are reused.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portcullis_cors_requests_total",
		Help: "Requests carrying an Origin header, by kind (preflight, request) and outcome (allowed, origin_not_allowed, method_not_allowed, headers_not_allowed).",
	}, []string{"kind", "outcome"})}
	if reg != nil {
		m.requests = metrics.Register(reg, m.requests)
	}
	return m
}

// The outcomes of Check, in the order of policyMetrics' arrays.
const (
	outcomeAllowed = iota
	outcomeOrigin
	outcomeMethod
	outcomeHeaders
	outcomes
)

var outcomeLabels = [outcomes]string{"allowed", "origin_not_allowed", "method_not_allowed", "headers_not_allowed"}

// policyMetrics are the series resolved once, so that counting neither
// hashes labels nor allocates. A nil value counts nothing.
type policyMetrics struct {
	preflight, request [outcomes]prometheus.Counter
}

func (m *Metrics) forPolicy() *policyMetrics {
	if m == nil {
		return nil
	}
	pm := &policyMetrics{}
	for i, o := range outcomeLabels {
		pm.preflight[i] = m.requests.WithLabelValues("preflight", o)
		pm.request[i] = m.requests.WithLabelValues("request", o)
	}
	return pm
}

func (m *policyMetrics) count(preflight bool, outcome int) {
	switch {
	case m == nil:
	case preflight:
		m.preflight[outcome].Inc()
	default:
		m.request[outcome].Inc()
	}
}

package lambdaauth

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/internal/metrics"
)

// Metrics holds the Lambda authorizer collectors. Create one per process
// with NewMetrics and share it between authorizers; series are labelled by
// authorizer name and a small fixed set of results, never by request data.
type Metrics struct {
	cache       *prometheus.CounterVec
	invocations *prometheus.CounterVec
}

// NewMetrics creates the collectors and registers them with reg (if not
// nil). Already registered equal collectors are reused, so a second call
// with the same registry (a configuration reload) is harmless.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_lambda_authorizer_cache_total",
			Help: "Lambda authorizer result cache lookups by result (hit, miss).",
		}, []string{"authorizer", "result"}),
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_lambda_authorizer_invocations_total",
			Help: "Lambda authorizer invocations by result (ok, unauthorized, function_error, timeout, bad_response, invocation_error).",
		}, []string{"authorizer", "result"}),
	}
	if reg != nil {
		m.cache = metrics.Register(reg, m.cache)
		m.invocations = metrics.Register(reg, m.invocations)
	}
	return m
}

// authorizerMetrics are one authorizer's series. A nil value records
// nothing.
type authorizerMetrics struct {
	hits, misses prometheus.Counter
	invocations  map[string]prometheus.Counter
}

func (m *Metrics) forAuthorizer(name string) *authorizerMetrics {
	if m == nil {
		return nil
	}
	// The result label's values, resolved once to keep label hashing off
	// the request path.
	results := []string{
		ReasonOK, ReasonUnauthorized, ReasonFunctionError, ReasonTimeout, ReasonBadResponse, ReasonInvocationError,
	}
	am := &authorizerMetrics{
		hits:        m.cache.WithLabelValues(name, "hit"),
		misses:      m.cache.WithLabelValues(name, "miss"),
		invocations: make(map[string]prometheus.Counter, len(results)),
	}
	for _, r := range results {
		am.invocations[r] = m.invocations.WithLabelValues(name, r)
	}
	return am
}

func (m *authorizerMetrics) cacheHit() {
	if m != nil {
		m.hits.Inc()
	}
}

func (m *authorizerMetrics) cacheMiss() {
	if m != nil {
		m.misses.Inc()
	}
}

func (m *authorizerMetrics) invoked(result string) {
	if m == nil {
		return
	}
	if c, ok := m.invocations[result]; ok {
		c.Inc()
	}
}

package state

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the state backend's collectors, one set per process,
// registered once; every Store opened with them reports through them. A
// nil *Metrics measures nothing.
type Metrics struct {
	backendUp *prometheus.GaugeVec // backend
	fallbacks prometheus.Counter
	restores  *prometheus.CounterVec // hash
}

// NewMetrics registers the collectors with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		backendUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "portcullis_state_backend_up",
			Help: "1 while the state backend (label backend: memory or redis) answers, 0 while limits fall back to the fail_open policy.",
		}, []string{"backend"}),
		fallbacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "portcullis_state_fallbacks_total",
			Help: "Decisions made without the state backend (Redis down or slower than its timeout), by the fail_open policy.",
		}),
		restores: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_state_hash_restores_total",
			Help: "Shared hashes (label hash: revocations) that Redis had lost, written back by this replica from its copy.",
		}, []string{"hash"}),
	}
	reg.MustRegister(m.backendUp, m.fallbacks, m.restores)
	return m
}

func (m *Metrics) up(backend string, up bool) {
	if m == nil {
		return
	}
	v := 0.0
	if up {
		v = 1
	}
	m.backendUp.WithLabelValues(backend).Set(v)
}

func (m *Metrics) fallback() {
	if m == nil {
		return
	}
	m.fallbacks.Inc()
}

func (m *Metrics) restored(hash string) {
	if m == nil {
		return
	}
	m.restores.WithLabelValues(hash).Inc()
}

// reset shows only backend, up: a reload may have changed the backend.
func (m *Metrics) reset(backend string) {
	if m == nil {
		return
	}
	m.backendUp.Reset()
	m.backendUp.WithLabelValues(backend).Set(1)
}

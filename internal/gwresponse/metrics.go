package gwresponse

import "github.com/prometheus/client_golang/prometheus"

// Metrics counts the gateway's own answers by response type. One set per
// process, registered once; a nil *Metrics counts nothing.
type Metrics struct {
	sent [numTypes]prometheus.Counter // by type, resolved once so counting hashes nothing
}

// NewMetrics registers portcullis_gateway_responses_total with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portcullis_gateway_responses_total",
		Help: "Answers the gateway gave by itself (denials, unknown routes, integration failures), by AWS gateway response type, whether or not gateway_responses changed them.",
	}, []string{"type"})
	reg.MustRegister(vec)
	m := &Metrics{}
	for t := Type(1); t < numTypes; t++ {
		if t != Default4XX && t != Default5XX { // fallbacks, never an answer's own type
			m.sent[t] = vec.WithLabelValues(t.String())
		}
	}
	return m
}

// Count counts one answer of type t.
func (m *Metrics) Count(t Type) {
	if m == nil || t == 0 || t >= numTypes || m.sent[t] == nil {
		return
	}
	m.sent[t].Inc()
}

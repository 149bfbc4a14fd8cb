package function

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/internal/metrics"
)

// Metrics holds the Prometheus collectors shared by all functions; the
// function name is a label. A nil *Metrics records nothing, so runtimes need
// no nil checks at call sites.
type Metrics struct {
	invocations *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	restarts    *prometheus.CounterVec
}

// Result label values of portcullis_function_invocations_total.
const (
	resultOK            = "ok"
	resultFunctionError = "function_error"
	resultTimeout       = "timeout"
	resultError         = "error"
)

// NewMetrics creates the collectors and registers them with reg (nil: not
// registered). Registering twice with the same registry reuses the
// collectors already there, so a config reload that builds new runtimes does
// not panic on duplicate registration.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_function_invocations_total",
			Help: "Function invocations by result (ok, function_error, timeout, error).",
		}, []string{"function", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "portcullis_function_duration_seconds",
			Help:    "Time from Invoke to its return, including queueing.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"function"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_function_restarts_total",
			Help: "Function processes relaunched after an exit, crash, timeout kill or failed start.",
		}, []string{"function"}),
	}
	if reg != nil {
		m.invocations = metrics.Register(reg, m.invocations)
		m.duration = metrics.Register(reg, m.duration)
		m.restarts = metrics.Register(reg, m.restarts)
	}
	return m
}

// observe records one finished invocation.
func (m *Metrics) observe(name string, start time.Time, err error) {
	if m == nil {
		return
	}
	m.invocations.WithLabelValues(name, resultOf(err)).Inc()
	m.duration.WithLabelValues(name).Observe(time.Since(start).Seconds())
}

// restart records one relaunch of a process.
func (m *Metrics) restart(name string) {
	if m == nil {
		return
	}
	m.restarts.WithLabelValues(name).Inc()
}

func resultOf(err error) string {
	var fe *Error
	switch {
	case err == nil:
		return resultOK
	case errors.As(err, &fe):
		return resultFunctionError
	case errors.Is(err, ErrTimeout):
		return resultTimeout
	default:
		return resultError
	}
}

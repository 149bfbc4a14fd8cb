package gateway

import (
	"maps"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestRouteMetricsCounts: a route's cached series count what the labels
// say, for statuses with a slot of their own, a status whose slot another
// took first (425 after 404), an out-of-range status ("other"), and
// allowed and denied decisions, in each mode.
func TestRouteMetricsCounts(t *testing.T) {
	reg := prometheus.NewRegistry()
	rt := &Route{label: "GET /orders/{id}", auth: &jwtAuthorizer{label: "users"}}
	rt.observe(NewMetrics(reg))
	gw, fa := &rt.m[ModeGateway], &rt.m[ModeForwardAuth]
	for _, s := range []int{200, 404, 200, 425, 500, 404, 425, 200, 700, 700} {
		gw.count(s, time.Millisecond)
	}
	fa.count(200, time.Millisecond)
	for _, allow := range []bool{true, false, true, true} {
		gw.countDecision(allow, "insufficient_scope")
	}
	fa.countDecision(true, "")
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		labels []string // in label name order
		want   float64
	}{
		{"portcullis_requests_total", []string{"gateway", "GET /orders/{id}", "200"}, 3},
		{"portcullis_requests_total", []string{"gateway", "GET /orders/{id}", "404"}, 2},
		{"portcullis_requests_total", []string{"gateway", "GET /orders/{id}", "425"}, 2},
		{"portcullis_requests_total", []string{"gateway", "GET /orders/{id}", "500"}, 1},
		{"portcullis_requests_total", []string{"gateway", "GET /orders/{id}", "other"}, 2},
		{"portcullis_requests_total", []string{"forward_auth", "GET /orders/{id}", "200"}, 1},
		{"portcullis_authorizer_decisions_total", []string{"users", "gateway", "allow", "ok"}, 3},
		{"portcullis_authorizer_decisions_total", []string{"users", "gateway", "deny", "insufficient_scope"}, 1},
		{"portcullis_authorizer_decisions_total", []string{"users", "forward_auth", "allow", "ok"}, 1},
	} {
		if got := metricValue(families, tc.name, tc.labels); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	if rt.m[ModeExtAuthz].allowed.Load() != nil {
		t.Error("an ext_authz series was resolved without a decision")
	}
	// Durations: a series for each mode that served a request, none for
	// ext_authz, which served none (a histogram per route and idle mode
	// would fill /metrics).
	durations := map[string]uint64{}
	for _, f := range families {
		if f.GetName() != "portcullis_request_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "mode" {
					durations[l.GetValue()] = m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	if want := map[string]uint64{"gateway": 10, "forward_auth": 1}; !maps.Equal(durations, want) {
		t.Errorf("portcullis_request_duration_seconds samples by mode: %v, want %v", durations, want)
	}
}

// TestStatusSlots: the usual statuses each have a slot of their own, so a
// route answering with several of them never looks one up by its labels.
func TestStatusSlots(t *testing.T) {
	seen := map[int]int{}
	for _, s := range []int{200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 413, 429, 499, 500, 502, 503, 504} {
		slot := s % statusSlots
		if other, ok := seen[slot]; ok {
			t.Errorf("statuses %d and %d share slot %d", other, s, slot)
		}
		seen[slot] = s
	}
}

// TestRouteMetricsAllocs: counting a request and an allowed decision on a
// route allocates nothing once their series are resolved.
func TestRouteMetricsAllocs(t *testing.T) {
	rt := &Route{label: "GET /x", auth: &jwtAuthorizer{label: "users"}}
	rt.observe(NewMetrics(prometheus.NewRegistry()))
	m := &rt.m[ModeGateway]
	m.count(200, time.Millisecond)
	m.countDecision(true, "")
	if n := testing.AllocsPerRun(100, func() {
		m.count(200, time.Millisecond)
		m.countDecision(true, "")
	}); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}

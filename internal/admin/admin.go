// Package admin serves the operator endpoints on their own listener:
// /healthz (the process is alive), /readyz (every JWT authorizer holds keys
// and the process is not shutting down) and /metrics (Prometheus).
package admin

import (
	"encoding/json"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options are what the endpoints report on.
type Options struct {
	Gatherer prometheus.Gatherer
	// NotReady names what keeps the gateway from being ready; an empty
	// answer means ready.
	NotReady func() []string
	// Draining reports that the process is shutting down: /readyz answers
	// 503 at once, so that load balancers stop sending before the
	// listener closes. nil: never.
	Draining func() bool
}

// Handler returns the admin endpoints.
func Handler(o Options) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if o.Draining != nil && o.Draining() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "shutting down"})
			return
		}
		if waiting := o.NotReady(); len(waiting) > 0 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "waiting_for_keys": waiting})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{}))
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

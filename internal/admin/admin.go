// Package admin serves the operator endpoints on their own listener:
// /healthz (the process is alive), /readyz (every JWT authorizer holds keys
// and the process is not shutting down; 200 "degraded" while Redis is down)
// and /metrics (Prometheus).
package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/portcullis/portcullis/internal/config"
)

// Options are what the endpoints report on.
type Options struct {
	Gatherer prometheus.Gatherer
	// NotReady names what keeps the gateway from being ready; an empty
	// answer means ready.
	NotReady func() []string
	// Degraded names the parts that do not work while the gateway still
	// serves (such as "redis" while limits fall back), each with why:
	// /readyz answers 200 {"status":"degraded", PART: WHY, ...}. nil or an
	// empty answer: not degraded.
	Degraded func(ctx context.Context) map[string]string
	// Draining reports that the process is shutting down: /readyz answers
	// 503 at once, so that load balancers stop sending before the
	// listener closes. nil: never.
	Draining func() bool
	// Token returns the admin token that POST /reload requires as a Bearer
	// token; "" (or a nil Token) turns POST /reload off.
	Token func() string
	// Reload reloads the configuration; its error says why a reload was
	// refused.
	Reload func(ctx context.Context) error
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
		if o.Degraded != nil {
			if parts := o.Degraded(r.Context()); len(parts) > 0 {
				body := map[string]any{"status": "degraded"}
				for part, why := range parts {
					body[part] = why
				}
				writeJSON(w, http.StatusOK, body)
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
	})
	mux.HandleFunc("POST /reload", o.reload)
	mux.Handle("GET /metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{}))
	return mux
}

// reload is POST /reload. Without a configured token it answers 404, as if
// it did not exist; a wrong or missing token is 401. The token is compared
// in constant time (as SHA-256 digests, so its length does not leak either).
func (o Options) reload(w http.ResponseWriter, r *http.Request) {
	token := ""
	if o.Token != nil {
		token = o.Token()
	}
	if token == "" || o.Reload == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "reload over HTTP is off: set admin_token"})
		return
	}
	given, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	a, b := sha256.Sum256([]byte(given)), sha256.Sum256([]byte(token))
	if !ok || subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Unauthorized"})
		return
	}
	if err := o.Reload(r.Context()); err != nil {
		var problems []string
		var es *config.Errors
		if errors.As(err, &es) {
			for _, e := range *es {
				problems = append(problems, e.Error())
			}
		} else {
			problems = []string{err.Error()}
		}
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"status": "refused; the running configuration keeps serving", "problems": problems})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "reloaded"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

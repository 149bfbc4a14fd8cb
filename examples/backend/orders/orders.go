// Package orders is the demo backend of the quickstart: a tiny orders API
// that trusts nothing that reaches it. Every request's token is verified
// again with package verify, and the answer shows who the caller is and what
// the gateway forwarded.
package orders

import (
	"encoding/json"
	"net/http"

	"github.com/portcullis/portcullis/verify"
)

// Handler serves GET /orders/{id} and DELETE /orders/{id} behind v.
// DELETE needs the orders:admin scope, checked here as well as at the gateway.
func Handler(v *verify.Verifier) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		c, _ := verify.ClaimsFrom(r.Context())
		writeJSON(w, http.StatusOK, map[string]any{
			"order": r.PathValue("id"),
			"verified_by_backend": map[string]any{
				"sub":    c.Subject,
				"scopes": c.Scopes,
				"tenant": c.Values["tenant"],
				"roles":  c.Values["roles"],
			},
			"forwarded_by_gateway": map[string]string{
				"x-user-id":    r.Header.Get("X-User-Id"),
				"x-tenant":     r.Header.Get("X-Tenant"),
				"x-request-id": r.Header.Get("X-Request-Id"),
			},
		})
	})
	mux.HandleFunc("DELETE /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		c, _ := verify.ClaimsFrom(r.Context())
		if !c.HasAnyScope("orders:admin") {
			writeJSON(w, http.StatusForbidden, map[string]string{"message": "Forbidden"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"deleted": r.PathValue("id"), "by": c.Subject})
	})
	return v.Middleware(mux)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portcullis/portcullis/internal/testbackend"
	"github.com/portcullis/portcullis/internal/testissuer"
)

// BenchmarkDecide measures the decision path as the decision API runs it
// (Decide), beside the same requests served (ServeHTTP, as in
// BenchmarkServe): routing, the JWT authorizer with a warm cache, metrics
// and the JSON access log. "mapped" adds the identity mapping of one
// claim; the gateway's counterpart is the mapping inside the http_proxy
// integration (BenchmarkServe/jwt-proxy). Decide must allocate no more
// than ServeHTTP for the same request.
func BenchmarkDecide(b *testing.B) {
	iss := testissuer.New(b)
	g := benchGateway(b, iss, "127.0.0.1:1", `  - route: GET /mapped/{id}
    authorizer: users
    authorization_scopes: [orders:read]
    integration:
      type: http_proxy
      uri: http://127.0.0.1:1/{id}
      request_parameters: {"overwrite:header.x-user": $context.authorizer.claims.sub}
`, Deps{})
	tok := iss.Mint(b, "k1", map[string]any{"scope": "orders:read"})

	for _, bc := range []struct {
		name, path, auth string
		want             int
		serve            bool // compare with ServeHTTP (not for mapped: it would reach the backend)
	}{
		{"public", "/public", "", 200, true},
		{"jwt-cached", "/orders/1", "Bearer " + tok, 200, true},
		{"jwt-missing", "/orders/1", "", 401, true},
		{"jwt-mapped", "/mapped/1", "Bearer " + tok, 200, false},
	} {
		req := httptest.NewRequest("GET", bc.path, nil)
		if bc.auth != "" {
			req.Header.Set("Authorization", bc.auth)
		}
		b.Run("decide/"+bc.name, func(b *testing.B) {
			w := &testbackend.DiscardWriter{H: http.Header{}}
			v := g.Decide(w, req, "192.0.2.1", ModeForwardAuth) // warm the cache
			if status := map[bool]int{true: 200, false: w.Status}[v.Allowed]; status != bc.want {
				b.Fatalf("status %d, want %d", status, bc.want)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.H)
				g.Decide(w, req, "192.0.2.1", ModeForwardAuth)
			}
		})
		if !bc.serve {
			continue
		}
		b.Run("serve/"+bc.name, func(b *testing.B) {
			w := &testbackend.DiscardWriter{H: http.Header{}}
			g.ServeHTTP(w, req)
			if w.Status != bc.want {
				b.Fatalf("status %d, want %d", w.Status, bc.want)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.H)
				g.ServeHTTP(w, req)
			}
		})
	}
}

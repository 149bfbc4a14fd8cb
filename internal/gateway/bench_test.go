package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/testissuer"
)

// BenchmarkServe measures the whole request path in-process (no network):
// routing, the JWT authorizer with a warm verified-token cache, metrics, the
// JSON access log (written to io.Discard) and a mock integration.
func BenchmarkServe(b *testing.B) {
	iss := testissuer.New(b)
	f, err := config.Parse("bench.yaml", []byte(fmt.Sprintf(`listen: 127.0.0.1:0
authorizers:
  users: {type: jwt, issuer: %q, audience: [test-api]}
routes:
  - route: GET /public
    integration: {type: mock, body: ok}
  - route: GET /orders/{id}
    authorizer: users
    authorization_scopes: [orders:read]
    integration: {type: mock, body: ok}
`, iss.URL)), os.LookupEnv)
	if err != nil {
		b.Fatal(err)
	}
	g, err := Build(f, Deps{Metrics: NewMetrics(prometheus.NewRegistry()), Logger: slogJSON(io.Discard)})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g.Start(ctx)
	tok := iss.Mint(b, "k1", map[string]any{"scope": "orders:read"})

	for _, bc := range []struct {
		name, path, auth string
		want             int
	}{
		{"public", "/public", "", 200},
		{"jwt-cached", "/orders/1", "Bearer " + tok, 200},
		{"jwt-missing", "/orders/1", "", 401},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", bc.path, nil)
			if bc.auth != "" {
				req.Header.Set("Authorization", bc.auth)
			}
			w := &discardWriter{h: http.Header{}}
			g.ServeHTTP(w, req) // warm the cache
			if w.status != bc.want {
				b.Fatalf("status %d, want %d", w.status, bc.want)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				g.ServeHTTP(w, req)
			}
		})
	}
}

type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }

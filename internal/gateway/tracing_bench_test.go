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
	"github.com/portcullis/portcullis/internal/tracing"
)

// BenchmarkServeTraced is BenchmarkServe with tracing on and every trace
// sampled, spans exported over OTLP/HTTP to a loopback receiver that
// discards them: what tracing adds to a request (compare with
// BenchmarkServe, where tracing is off).
func BenchmarkServeTraced(b *testing.B) {
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	tr, err := tracing.New(context.Background(), config.Tracing{Enabled: true, Endpoint: collector.URL, Protocol: tracing.ProtocolHTTP}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Shutdown(context.Background())
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
  - route: GET /proxied/{id}
    authorizer: users
    authorization_scopes: [orders:read]
    integration: {type: http_proxy, uri: "http://%s/hello/{id}"}
`, iss.URL, rawBackend(b))), os.LookupEnv)
	if err != nil {
		b.Fatal(err)
	}
	g, err := Build(f, Deps{Metrics: NewMetrics(prometheus.NewRegistry()), Logger: slogJSON(io.Discard), Tracer: tr})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g.Start(ctx)
	tok := iss.Mint(b, "k1", map[string]any{"scope": "orders:read"})
	for _, bc := range []struct{ name, path, auth string }{
		{"public", "/public", ""},
		{"jwt-cached", "/orders/1", "Bearer " + tok},
		{"jwt-proxy", "/proxied/1", "Bearer " + tok},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", bc.path, nil)
			if bc.auth != "" {
				req.Header.Set("Authorization", bc.auth)
			}
			w := &discardWriter{h: http.Header{}}
			g.ServeHTTP(w, req)
			if w.status != 200 {
				b.Fatalf("status %d", w.status)
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

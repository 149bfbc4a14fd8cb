package decision

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/gateway"
	"github.com/portcullis/portcullis/internal/testissuer"
)

// BenchmarkDecisionAPI measures one decision for a cached token through
// each API layer, in-process (no network): the HTTP handler in the nginx
// and Envoy http_service dialects, and the ext_authz Check method with a
// CheckRequest as Envoy sends it. gateway.BenchmarkDecide measures the
// decision path under them.
func BenchmarkDecisionAPI(b *testing.B) {
	iss := testissuer.New(b)
	f, err := config.Parse("bench.yaml", fmt.Appendf(nil, `listen: 127.0.0.1:0
authorizers:
  users: {type: jwt, issuer: %q, audience: [test-api]}
routes:
  - route: GET /orders/{id}
    authorizer: users
    authorization_scopes: [orders:read]
    integration:
      type: http_proxy
      uri: http://127.0.0.1:1/{id}
      request_parameters: {"overwrite:header.x-user": $context.authorizer.claims.sub}
`, iss.URL), os.LookupEnv)
	if err != nil {
		b.Fatal(err)
	}
	g, err := gateway.Build(f, gateway.Deps{Metrics: gateway.NewMetrics(prometheus.NewRegistry()), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), AccessLog: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g.Start(ctx)
	current := func() *gateway.Gateway { return g }
	auth := "Bearer " + iss.Mint(b, "k1", map[string]any{"scope": "orders:read"})

	h := NewHTTP(current, nil)
	for _, bc := range []struct {
		name string
		req  func() *http.Request
	}{
		{"http-nginx", func() *http.Request {
			r := httptest.NewRequest("GET", PathNginx, nil)
			r.Header.Set("Authorization", auth)
			r.Header.Set("X-Original-Method", "GET")
			r.Header.Set("X-Original-Uri", "/orders/1")
			return r
		}},
		{"http-envoy", func() *http.Request {
			r := httptest.NewRequest("GET", PathEnvoy+"/orders/1", nil)
			r.Header.Set("Authorization", auth)
			return r
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, bc.req())
			if w.Code != 200 || w.Header().Get("X-User") != "alice" {
				b.Fatalf("status %d, X-User %q", w.Code, w.Header().Get("X-User"))
			}
			reqs := make([]*http.Request, 0, 1)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				reqs = append(reqs[:0], bc.req()) // the handler takes the request's headers over
				w := &nullWriter{h: http.Header{}}
				b.StartTimer()
				h.ServeHTTP(w, reqs[0])
			}
		})
	}
	b.Run("grpc-check", func(b *testing.B) {
		x := NewExtAuthz(current)
		req := envoyCheck("GET", "/orders/1", http.Header{"Authorization": {auth}})
		resp, err := x.Check(ctx, req)
		if err != nil || resp.GetOkResponse() == nil {
			b.Fatalf("not allowed: %v %v", resp, err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			_, _ = x.Check(ctx, req)
		}
	})
}

type nullWriter struct{ h http.Header }

func (w *nullWriter) Header() http.Header         { return w.h }
func (w *nullWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nullWriter) WriteHeader(int)             {}

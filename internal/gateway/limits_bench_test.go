package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/testbackend"
	"github.com/portcullis/portcullis/internal/testissuer"
	"github.com/portcullis/portcullis/internal/testredis"
)

// BenchmarkServeLimits measures what one rate limit adds to a request with
// a cached token: the same route without a limit, with a per-user limit
// kept in the process, and kept in a real Redis (one EVALSHA round trip).
// Besides ns/op it reports the process's CPU per request (cpu-ns/op:
// user+system time of this process only, so Redis's own work is not
// counted, and neither is waiting for it).
func BenchmarkServeLimits(b *testing.B) {
	iss := testissuer.New(b)
	srv := testredis.Start(b)
	tok := iss.Mint(b, "k1", map[string]any{"scope": "orders:read"})
	const routes = `routes:
  - route: GET /orders/{id}
    authorizer: users
    integration: {type: mock, body: ok}
`
	limit := `rate_limits:
  - {name: per-user, key: $context.authorizer.claims.sub, rate: 1000000000, burst: 1000000000}
`
	for _, bc := range []struct{ name, extra string }{
		{"jwt-cached", ""},
		{"jwt-cached-limit-memory", limit},
		{"jwt-cached-limit-redis", limit + "state: {redis: {addresses: [" + srv.Addr + "], timeout: 5s}}\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			src := fmt.Sprintf("listen: 127.0.0.1:0\nauthorizers:\n  users: {type: jwt, issuer: %q, audience: [test-api]}\n%s%s", iss.URL, routes, bc.extra)
			f, err := config.Parse("bench.yaml", []byte(src), os.LookupEnv)
			if err != nil {
				b.Fatal(err)
			}
			g, err := Build(f, Deps{Metrics: NewMetrics(prometheus.NewRegistry()), Logger: slogJSON(io.Discard), AccessLog: io.Discard})
			if err != nil {
				b.Fatal(err)
			}
			defer g.Close(nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			g.Start(ctx)
			req := httptest.NewRequest("GET", "/orders/1", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			w := &testbackend.DiscardWriter{H: http.Header{}}
			g.ServeHTTP(w, req)
			if w.Status != 200 {
				b.Fatalf("status %d", w.Status)
			}
			b.ReportAllocs()
			cpu0 := processCPU()
			b.ResetTimer()
			for b.Loop() {
				clear(w.H)
				g.ServeHTTP(w, req)
			}
			b.StopTimer()
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
			if w.Status != 200 {
				b.Fatalf("status %d", w.Status)
			}
		})
	}
}

// processCPU is this process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

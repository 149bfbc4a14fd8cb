package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/testbackend"
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
	g := benchGateway(b, iss, testbackend.Fixed(b), "", Deps{Tracer: tr})
	tok := iss.Mint(b, "k1", map[string]any{"scope": "orders:read"})
	benchCases(b, g, "", []benchCase{
		{"public", "GET", "/public", "", 200},
		{"jwt-cached", "GET", "/orders/1", "Bearer " + tok, 200},
		{"jwt-proxy", "GET", "/proxied/1", "Bearer " + tok, 200},
	})
}

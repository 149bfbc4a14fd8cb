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
	"github.com/portcullis/portcullis/internal/testbackend"
	"github.com/portcullis/portcullis/internal/testissuer"
)

// BenchmarkServe measures the whole request path in-process (no network):
// routing, the JWT authorizer with a warm verified-token cache, metrics, the
// JSON access log (written to io.Discard) and a mock integration.
func BenchmarkServe(b *testing.B) {
	iss := testissuer.New(b)
	backend := testbackend.Fixed(b)
	tok := iss.Mint(b, "k1", map[string]any{"scope": "orders:read"})
	plain := benchGateway(b, iss, backend, "", Deps{})
	benchCases(b, plain, "", servedCases(tok))
	// The same requests from a browser, with CORS configured: an exact
	// origin, a pattern origin, a denial and a preflight the gateway answers.
	withCORS := benchGateway(b, iss, backend, `cors:
  allowOrigins: [https://app.example.com, "https://*.example.org"]
  allowMethods: [GET, POST]
  allowHeaders: [authorization, content-type]
  exposeHeaders: [x-request-id]
  maxAge: 300
  allowCredentials: true
`, Deps{})
	benchCases(b, withCORS, "https://app.example.com", []benchCase{
		{"cors-jwt-cached", "GET", "/orders/1", "Bearer " + tok, 200},
		{"cors-jwt-missing", "GET", "/orders/1", "", 401},
		{"cors-jwt-proxy", "GET", "/proxied/1", "Bearer " + tok, 200},
		{"cors-preflight", "OPTIONS", "/orders/1", "", 204},
	})
	benchCases(b, withCORS, "https://shop.example.org", []benchCase{
		{"cors-pattern-jwt-cached", "GET", "/orders/1", "Bearer " + tok, 200},
	})
	benchCases(b, withCORS, "", []benchCase{
		{"cors-no-origin-jwt-cached", "GET", "/orders/1", "Bearer " + tok, 200},
	})
}

// BenchmarkServeAccessLog is BenchmarkServe with a configured access log
// format (the JSON example, with a claim), written to io.Discard.
func BenchmarkServeAccessLog(b *testing.B) {
	iss := testissuer.New(b)
	tok := iss.Mint(b, "k1", map[string]any{"scope": "orders:read"})
	g := benchGateway(b, iss, testbackend.Fixed(b), `access_log:
  format: '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","requestTime":"$context.requestTime","routeKey":"$context.routeKey","status":"$context.status","responseLength":"$context.responseLength","latency":"$context.responseLatency","sub":"$context.authorizer.claims.sub"}'
`, Deps{AccessLog: io.Discard})
	benchCases(b, g, "", servedCases(tok))
}

// servedCases are the requests BenchmarkServe and BenchmarkServeAccessLog
// both measure.
func servedCases(tok string) []benchCase {
	return []benchCase{
		{"public", "GET", "/public", "", 200},
		{"public-proxy", "GET", "/public-proxy/1", "", 200},
		{"jwt-cached", "GET", "/orders/1", "Bearer " + tok, 200},
		{"jwt-missing", "GET", "/orders/1", "", 401},
		{"jwt-proxy", "GET", "/proxied/1", "Bearer " + tok, 200},
		{"jwt-issuers-cached", "GET", "/multi/1", "Bearer " + tok, 200},
	}
}

// benchGateway builds and starts the benchmark's gateway, with extra
// configuration appended (top-level keys, or more routes indented as the
// routes list is). deps may bring an access log writer or a tracer; metrics
// and the JSON logger to io.Discard are set here.
func benchGateway(b *testing.B, iss *testissuer.Issuer, backend, extra string, deps Deps) *Gateway {
	f, err := config.Parse("bench.yaml", []byte(fmt.Sprintf(`listen: 127.0.0.1:0
authorizers:
  users: {type: jwt, issuer: %[1]q, audience: [test-api]}
  multi:
    type: jwt
    issuers:
      - {issuer: "https://other.example", audience: [other-api], jwks_uri: "https://other.example/keys"}
      - {issuer: %[1]q, audience: [test-api], additional_claims: [{name: sub, required: true}]}
routes:
  - route: GET /public
    integration: {type: mock, body: ok}
  - route: GET /public-proxy/{id}
    integration: {type: http_proxy, uri: "http://%[2]s/hello/{id}"}
  - route: GET /orders/{id}
    authorizer: users
    authorization_scopes: [orders:read]
    integration: {type: mock, body: ok}
  - route: GET /proxied/{id}
    authorizer: users
    authorization_scopes: [orders:read]
    integration: {type: http_proxy, uri: "http://%[2]s/hello/{id}"}
  - route: GET /multi/{id}
    authorizer: multi
    authorization_scopes: [orders:read]
    integration: {type: mock, body: ok}
`, iss.URL, backend)+extra), os.LookupEnv)
	if err != nil {
		b.Fatal(err)
	}
	deps.Metrics = NewMetrics(prometheus.NewRegistry())
	deps.Logger = slogJSON(io.Discard)
	if deps.AccessLog == nil {
		deps.AccessLog = io.Discard // the default JSON line, as the server writes it
	}
	g, err := Build(f, deps)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	g.Start(ctx)
	return g
}

type benchCase struct {
	name, method, path, auth string
	want                     int
}

// benchCases runs each case as a sub-benchmark; origin, when set, is sent
// as the Origin header (and a preflight asks for GET with Authorization).
func benchCases(b *testing.B, g *Gateway, origin string, cases []benchCase) {
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(bc.method, bc.path, nil)
			if bc.auth != "" {
				req.Header.Set("Authorization", bc.auth)
			}
			if origin != "" {
				req.Header.Set("Origin", origin)
			}
			if bc.method == "OPTIONS" {
				req.Header.Set("Access-Control-Request-Method", "GET")
				req.Header.Set("Access-Control-Request-Headers", "authorization")
			}
			w := &testbackend.DiscardWriter{H: http.Header{}}
			g.ServeHTTP(w, req) // warm the cache
			if w.Status != bc.want {
				b.Fatalf("status %d, want %d", w.Status, bc.want)
			}
			if origin != "" && w.H.Get("Access-Control-Allow-Origin") != origin {
				b.Fatalf("Access-Control-Allow-Origin %q, want %q", w.H.Get("Access-Control-Allow-Origin"), origin)
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

package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/cors"
	"github.com/portcullis/portcullis/internal/testissuer"
)

const corsConfig = `listen: 127.0.0.1:0
authorizers:
  users: {type: jwt, issuer: %[1]q, audience: [test-api]}
functions:
  fn: {runtime: http, url: "%[3]s"}
cors:
  allowOrigins: [https://app.example.com, "https://*.example.org"]
  allowMethods: [GET, POST, DELETE]
  allowHeaders: [authorization, content-type]
  exposeHeaders: [x-request-id]
  maxAge: 300
  allowCredentials: true
routes:
  - route: GET /orders/{id}
    authorizer: users
    authorization_scopes: [orders:read]
    integration: {type: http_proxy, uri: "%[2]s/orders/{id}"}
  - route: POST /upload
    integration: {type: http_proxy, uri: "%[2]s/upload"}
  - route: ANY /any/{rest+}
    authorizer: users
    integration: {type: http_proxy, uri: "%[2]s/any/{rest}"}
  - route: OPTIONS /opts/{x}
    integration:
      type: mock
      status: 200
      body: mine
      headers: {Access-Control-Allow-Origin: "*", Access-Control-Allow-Methods: PUT}
  - route: GET /fn
    integration: {type: lambda_proxy, function: fn}
  - route: GET /down
    integration: {type: http_proxy, uri: "http://127.0.0.1:1/nothing"}
  - route: GET /slow
    integration: {type: http_proxy, uri: "%[2]s/slow", timeout: 100ms}
server:
  max_body_bytes: 16
`

// corsBackend answers with CORS headers of its own, which the gateway must
// replace, and counts the requests it gets.
func corsBackend(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/slow" {
			<-r.Context().Done()
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Allow-Methods", "PUT")
		h.Set("Access-Control-Expose-Headers", "x-internal")
		h.Set("Vary", "Accept-Encoding")
		h.Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "backend %s %s", r.Method, r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// corsFunction is a runtime: http function whose answer sets CORS headers
// of its own, in the case a function may write them.
func corsFunction(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"statusCode":200,"headers":{"access-control-allow-origin":"*","Access-Control-Allow-Credentials":"false","access-control-max-age":"9"},"body":"function"}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func corsGateway(t *testing.T, conf string, args ...any) (*httptest.Server, *prometheus.Registry) {
	t.Helper()
	f, err := config.Parse("cors.yaml", []byte(fmt.Sprintf(conf, args...)), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	g, err := Build(f, Deps{Metrics: NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	g.Start(ctx)
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return srv, reg
}

// TestCORSPreflightToDefaultRoute: $default matches every method and path
// no other route takes, OPTIONS included, so with an authorizer on it
// preflights meet that authorizer, as on AWS, unless an OPTIONS route
// (AWS's fix: OPTIONS /{proxy+} without authorization) outranks it.
func TestCORSPreflightToDefaultRoute(t *testing.T) {
	iss := testissuer.New(t)
	gw, _ := corsGateway(t, `listen: 127.0.0.1:0
authorizers:
  users: {type: jwt, issuer: %q, audience: [test-api]}
cors: {allowOrigins: [https://app.example.com], allowMethods: [GET]}
routes:
  - {route: GET /open, integration: {type: mock, body: open}}
  - {route: "OPTIONS /public/{proxy+}", integration: {type: mock, status: 204}}
  - {route: $default, authorizer: users, integration: {type: mock, body: default}}
`, iss.URL)
	preflight := http.Header{"Origin": {"https://app.example.com"}, "Access-Control-Request-Method": {"GET"}}
	for _, tc := range []struct {
		path   string
		status int
		body   string
	}{
		{"/open", 401, `{"message":"Unauthorized"}`},    // GET /open does not take OPTIONS: $default does
		{"/nowhere", 401, `{"message":"Unauthorized"}`}, // only $default matches
		{"/public/x", 204, ""},                          // an OPTIONS route outranks $default
	} {
		resp, body := send(t, "OPTIONS", gw.URL+tc.path, preflight, nil)
		if resp.StatusCode != tc.status || body != tc.body {
			t.Errorf("preflight %s: %d %q, want %d %q", tc.path, resp.StatusCode, body, tc.status, tc.body)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://app.example.com" {
			t.Errorf("preflight %s: Access-Control-Allow-Origin %q", tc.path, got)
		}
	}
}

// TestCORS: preflights are answered before any authorizer unless a route
// takes OPTIONS for the path; every answer to an allowed Origin, the
// gateway's own 401/403/404/413/502/504 included, carries the configured
// headers, and a backend's CORS headers never reach the browser.
func TestCORS(t *testing.T) {
	iss := testissuer.New(t)
	be, hits := corsBackend(t)
	fn := corsFunction(t)
	gw, reg := corsGateway(t, corsConfig, iss.URL, be.URL, fn.URL)
	good := iss.Mint(t, "k1", map[string]any{"scope": "orders:read"})
	noScope := iss.Mint(t, "k1", nil)
	const app = "https://app.example.com"
	preflight := func(origin, method, headers string) http.Header {
		h := http.Header{"Origin": {origin}, "Access-Control-Request-Method": {method}}
		if headers != "" {
			h.Set("Access-Control-Request-Headers", headers)
		}
		return h
	}
	withOrigin := func(origin string, h http.Header) http.Header {
		if h == nil {
			h = http.Header{}
		}
		h.Set("Origin", origin)
		return h
	}
	// What each kind of answer carries.
	request := http.Header{
		"Access-Control-Allow-Origin":      {app},
		"Access-Control-Allow-Credentials": {"true"},
		"Access-Control-Expose-Headers":    {"x-request-id"},
	}
	preflightOK := http.Header{
		"Access-Control-Allow-Origin":      {app},
		"Access-Control-Allow-Credentials": {"true"},
		"Access-Control-Allow-Methods":     {"GET,POST,DELETE"},
		"Access-Control-Allow-Headers":     {"authorization,content-type"},
		"Access-Control-Max-Age":           {"300"},
	}
	none := http.Header{}
	for _, tc := range []struct {
		name, method, path string
		header             http.Header
		body               string
		status             int
		cors               http.Header // exactly the Access-Control-* headers expected
		backend            bool        // the backend is reached
		vary               string
	}{
		{"preflight answered before the authorizer", "OPTIONS", "/orders/1", preflight(app, "GET", "authorization"), "", 204, preflightOK, false, "Origin"},
		{"preflight for a path no route has", "OPTIONS", "/nowhere", preflight(app, "DELETE", ""), "", 204, preflightOK, false, "Origin"},
		{"preflight from a pattern origin", "OPTIONS", "/orders/1", preflight("https://shop.example.org", "GET", ""), "", 204, http.Header{
			"Access-Control-Allow-Origin":      {"https://shop.example.org"},
			"Access-Control-Allow-Credentials": {"true"},
			"Access-Control-Allow-Methods":     {"GET,POST,DELETE"},
			"Access-Control-Allow-Headers":     {"authorization,content-type"},
			"Access-Control-Max-Age":           {"300"},
		}, false, "Origin"},
		{"preflight from another origin", "OPTIONS", "/orders/1", preflight("https://evil.test", "GET", ""), "", 204, none, false, "Origin"},
		{"preflight for a method not allowed", "OPTIONS", "/orders/1", preflight(app, "PUT", ""), "", 204, none, false, "Origin"},
		{"preflight for a header not allowed", "OPTIONS", "/orders/1", preflight(app, "GET", "x-debug"), "", 204, none, false, "Origin"},
		{"preflight to an ANY route hits its authorizer (as on AWS)", "OPTIONS", "/any/x", preflight(app, "GET", ""), `{"message":"Unauthorized"}`, 401, preflightOK, false, "Origin"},
		{"preflight to an OPTIONS route: the route answers, CORS headers are the gateway's", "OPTIONS", "/opts/1", preflight(app, "GET", ""), "mine", 200, preflightOK, false, "Origin"},
		{"OPTIONS without Access-Control-Request-Method is no preflight", "OPTIONS", "/orders/1", withOrigin(app, nil), `{"message":"Not Found"}`, 404, request, false, "Origin"},
		{"allowed", "GET", "/orders/1", withOrigin(app, bearer(good)), "backend GET /orders/1", 200, request, true, "Accept-Encoding,Origin"},
		{"no token: 401", "GET", "/orders/1", withOrigin(app, nil), `{"message":"Unauthorized"}`, 401, request, false, "Origin"},
		{"insufficient scope: 403", "GET", "/orders/1", withOrigin(app, bearer(noScope)), `{"message":"Forbidden"}`, 403, request, false, "Origin"},
		{"no route: 404", "GET", "/nowhere", withOrigin(app, nil), `{"message":"Not Found"}`, 404, request, false, "Origin"},
		{"body too large: 413", "POST", "/upload", withOrigin(app, nil), `{"message":"Request Entity Too Large"}`, 413, request, false, "Origin"},
		{"backend down: 502", "GET", "/down", withOrigin(app, nil), `{"message":"Bad Gateway"}`, 502, request, false, "Origin"},
		{"backend slow: 504", "GET", "/slow", withOrigin(app, nil), `{"message":"Endpoint request timed out"}`, 504, request, true, "Origin"},
		{"bad path: 400", "GET", "/orders/a%2Fb", withOrigin(app, nil), `{"message":"Bad Request"}`, 400, request, false, "Origin"},
		{"function's CORS headers replaced", "GET", "/fn", withOrigin(app, nil), "function", 200, request, false, "Origin"},
		{"other origin: backend's CORS headers removed", "GET", "/orders/1", withOrigin("https://evil.test", bearer(good)), "backend GET /orders/1", 200, none, true, "Accept-Encoding,Origin"},
		{"no Origin: backend's CORS headers removed", "GET", "/orders/1", bearer(good), "backend GET /orders/1", 200, none, true, "Accept-Encoding,Origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.status == 413 {
				body = strings.NewReader(strings.Repeat("x", 100))
			}
			before := hits.Load()
			resp, got := send(t, tc.method, gw.URL+tc.path, tc.header, body)
			if resp.StatusCode != tc.status || got != tc.body {
				t.Fatalf("answer %d %q, want %d %q", resp.StatusCode, got, tc.status, tc.body)
			}
			for k, v := range resp.Header {
				if strings.HasPrefix(k, "Access-Control-") && tc.cors.Get(k) == "" {
					t.Errorf("unexpected %s: %q", k, v)
				}
			}
			for k := range tc.cors {
				if got := resp.Header.Values(k); len(got) != 1 || got[0] != tc.cors.Get(k) {
					t.Errorf("%s = %q, want %q", k, got, tc.cors.Get(k))
				}
			}
			if v := strings.Join(resp.Header.Values("Vary"), ","); v != tc.vary {
				t.Errorf("Vary = %q, want %q", v, tc.vary)
			}
			if resp.Header.Get(RequestIDResponseHeader) == "" {
				t.Error("no request id")
			}
			if reached := hits.Load() > before; reached != tc.backend {
				t.Errorf("backend reached: %v, want %v", reached, tc.backend)
			}
		})
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		kind, outcome string
		want          float64
	}{
		{"preflight", "allowed", 5},
		{"preflight", "origin_not_allowed", 1},
		{"preflight", "method_not_allowed", 1},
		{"preflight", "headers_not_allowed", 1},
		{"request", "allowed", 10},
		{"request", "origin_not_allowed", 1},
	} {
		if got := metricValue(families, "portcullis_cors_requests_total", []string{m.kind, m.outcome}); got != m.want {
			t.Errorf("portcullis_cors_requests_total{kind=%q,outcome=%q} = %v, want %v", m.kind, m.outcome, got, m.want)
		}
	}
	// A gateway-answered preflight is counted as no route, status 204.
	if got := metricValue(families, "portcullis_requests_total", []string{"gateway", "none", "204"}); got != 6 {
		t.Errorf("portcullis_requests_total{route=none,status=204} = %v, want 6", got)
	}
}

// TestCORSUnset: without `cors:` nothing changes: preflights are ordinary
// requests and a backend's CORS headers pass as they are.
func TestCORSUnset(t *testing.T) {
	iss := testissuer.New(t)
	be, _ := corsBackend(t)
	conf := strings.Replace(corsConfig, "cors:\n", "unused_cors:\n", 1)
	conf = conf[:strings.Index(conf, "unused_cors:")] + conf[strings.Index(conf, "routes:"):]
	gw, reg := corsGateway(t, conf, iss.URL, be.URL, "http://127.0.0.1:1/")
	good := iss.Mint(t, "k1", map[string]any{"scope": "orders:read"})
	resp, _ := send(t, "OPTIONS", gw.URL+"/orders/1", http.Header{"Origin": {"https://app.example.com"}, "Access-Control-Request-Method": {"GET"}}, nil)
	if resp.StatusCode != 404 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight without cors: %d, Access-Control-Allow-Origin %q; want 404 and none", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	header := bearer(good)
	header.Set("Origin", "https://app.example.com")
	resp, _ = get(t, gw.URL+"/orders/1", header)
	if got := resp.Header.Get("Access-Control-Allow-Origin"); resp.StatusCode != 200 || got != "*" {
		t.Errorf("without cors: %d, Access-Control-Allow-Origin %q; want 200 and the backend's *", resp.StatusCode, got)
	}
	if got := resp.Header.Values("Vary"); len(got) != 1 || got[0] != "Accept-Encoding" {
		t.Errorf("without cors: Vary = %q, want the backend's alone", got)
	}
	if n := testutil.CollectAndCount(reg, "portcullis_cors_requests_total"); n != 0 {
		t.Errorf("%d cors series without cors", n)
	}
}

// TestCORSStampOnWrite: a response whose integration writes its body
// without WriteHeader gets the gateway's CORS headers as well.
func TestCORSStampOnWrite(t *testing.T) {
	f, err := config.Parse("cors.yaml", []byte("cors: {allowOrigins: [https://app.example.com]}\n"), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := cors.Setup(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Origin", "https://app.example.com")
	rec := httptest.NewRecorder()
	rec.Header().Set("Access-Control-Allow-Origin", "*")
	w := statusWriter{ResponseWriter: rec, requestID: "id", cors: p.Check(r)}
	if _, err := w.Write([]byte("body")); err != nil {
		t.Fatal(err)
	}
	if got := rec.Result().Header.Values("Access-Control-Allow-Origin"); len(got) != 1 || got[0] != "https://app.example.com" {
		t.Errorf("Access-Control-Allow-Origin = %q, want the allowed origin alone", got)
	}
}

// silentIntegration writes nothing: net/http then sends a 200 with the
// headers as they are when the handler returns.
type silentIntegration struct{}

func (silentIntegration) serve(http.ResponseWriter, *http.Request, *exchange) {}
func (silentIntegration) bodyTimeout() time.Duration                          { return 0 }

// TestCORSNothingWritten: an answer nobody wrote still carries the CORS
// headers.
func TestCORSNothingWritten(t *testing.T) {
	f, err := config.Parse("cors.yaml", []byte(`listen: 127.0.0.1:0
cors: {allowOrigins: [https://app.example.com]}
routes:
  - route: GET /quiet
    integration: {type: mock}
`), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Build(f, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	g.routes[0].integration = silentIntegration{}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	resp, _ := get(t, srv.URL+"/quiet", http.Header{"Origin": {"https://app.example.com"}})
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("%d, Access-Control-Allow-Origin %q; want 200 with the origin", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

// TestCORSNotInDecisions: the decision API leaves CORS to the proxy: a
// preflight the gateway itself answers with 204 is, asked as a decision,
// an ordinary request with no route (a denial, never an allow), and no
// decision carries CORS headers.
func TestCORSNotInDecisions(t *testing.T) {
	f, err := config.Parse("cors.yaml", []byte(`listen: 127.0.0.1:0
cors: {allowOrigins: [https://app.example.com], allowMethods: [GET], allowHeaders: [authorization]}
routes:
  - route: GET /public
    integration: {type: mock, body: ok}
`), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Build(f, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	preflight := func() *http.Request {
		r := httptest.NewRequest("OPTIONS", "/public", nil)
		r.Header.Set("Origin", "https://app.example.com")
		r.Header.Set("Access-Control-Request-Method", "GET")
		return r
	}
	served := httptest.NewRecorder()
	g.ServeHTTP(served, preflight())
	if served.Code != http.StatusNoContent || served.Header().Get("Access-Control-Allow-Origin") == "" {
		t.Fatalf("served preflight: %d %v, want 204 with CORS headers", served.Code, served.Header())
	}
	for _, mode := range []Mode{ModeForwardAuth, ModeExtAuthz} {
		w := httptest.NewRecorder()
		if v := g.Decide(w, preflight(), "192.0.2.1", mode); v.Allowed {
			t.Errorf("%v: a preflight decided as allowed", mode)
		}
		if w.Code != http.StatusNotFound || w.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%v: decision %d %v, want the 404 of no route and no CORS header", mode, w.Code, w.Header())
		}
		r := httptest.NewRequest("GET", "/public", nil)
		r.Header.Set("Origin", "https://app.example.com")
		w = httptest.NewRecorder()
		if v := g.Decide(w, r, "192.0.2.1", mode); !v.Allowed || w.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%v: GET decided %v with headers %v, want allowed without CORS headers", mode, v.Allowed, w.Header())
		}
	}
}

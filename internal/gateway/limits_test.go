package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/testissuer"
)

// limitsConfig throttles with rates so low that no token comes back while
// a test runs: what passes is the burst, whatever the machine's speed.
const limitsConfig = `listen: 127.0.0.1:0
authorizers:
  users: {type: jwt, issuer: %q, audience: [test-api]}
throttling:
  default: {rate: 0.001, burst: 3}
  routes:
    "GET /orders/{id}": {burst: 1}
    "GET /free": {rate: 1000000, burst: 1000000}
    "GET /reports": {rate: 1000000, burst: 1000000}
rate_limits:
  - name: per-tenant
    routes: ["GET /reports"]
    key: $context.authorizer.claims.tenant
    rate: 0.001
    burst: 2
routes:
  - route: GET /orders/{id}
    authorizer: users
    integration: {type: mock, body: order}
  - route: GET /reports
    authorizer: users
    integration: {type: mock, body: report}
  - route: GET /free
    integration: {type: mock, body: free}
  - route: GET /other
    integration: {type: mock, body: other}
`

func limitsGateway(t *testing.T) (*Gateway, *testissuer.Issuer, *prometheus.Registry) {
	t.Helper()
	iss := testissuer.New(t)
	f, err := config.Parse("limits.yaml", []byte(fmt.Sprintf(limitsConfig, iss.URL)), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	g, err := Build(f, Deps{Metrics: NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); g.Close(nil) })
	g.Start(ctx)
	return g, iss, reg
}

func serveOnce(g *Gateway, path, token string) *http.Response {
	req := httptest.NewRequest("GET", path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	g.ServeHTTP(w, req)
	return w.Result()
}

func TestThrottlingPerRoute(t *testing.T) {
	g, _, reg := limitsGateway(t)
	// The stage default gives /other its own bucket of 3; /free's override
	// never runs dry.
	for i := range 3 {
		if resp := serveOnce(g, "/other", ""); resp.StatusCode != 200 {
			t.Fatalf("/other request %d: %d", i+1, resp.StatusCode)
		}
	}
	resp := serveOnce(g, "/other", "")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 429 || string(body) != `{"message":"Too Many Requests"}` || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("4th /other: %d %q %v; want AWS's 429", resp.StatusCode, body, resp.Header)
	}
	if et := resp.Header.Get("X-Amzn-ErrorType"); et != "TooManyRequestsException" {
		t.Errorf("x-amzn-ErrorType %q, want AWS's TooManyRequestsException", et)
	}
	ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 1000 {
		t.Errorf("Retry-After %q; want the seconds until a token (at most 1000 at 0.001/s)", resp.Header.Get("Retry-After"))
	}
	for i := range 10 {
		if resp := serveOnce(g, "/free", ""); resp.StatusCode != 200 {
			t.Fatalf("/free request %d: %d: its override is not applied", i+1, resp.StatusCode)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if got := metricValue(families, "portcullis_throttled_total", []string{"GET /other", "throttling"}); got != 1 {
		t.Errorf("portcullis_throttled_total{route=GET /other,rule=throttling} = %v, want 1", got)
	}
}

// AWS's order (ours for HTTP APIs): throttling before the authorizer, so a
// request without a token spends the route's token too.
func TestThrottlingBeforeAuthorizer(t *testing.T) {
	g, iss, _ := limitsGateway(t)
	tok := iss.Mint(t, "k1", map[string]any{"aud": "test-api"})
	if resp := serveOnce(g, "/orders/1", ""); resp.StatusCode != 401 {
		t.Fatalf("no token: %d, want 401", resp.StatusCode)
	}
	if resp := serveOnce(g, "/orders/1", tok); resp.StatusCode != 429 {
		t.Fatalf("valid token after the bucket (burst 1, partial override) was spent: %d, want 429", resp.StatusCode)
	}
}

// rate_limits come after the authorizer: per key value, requests without
// the key are not limited by the rule, and refused tokens spend nothing.
func TestRateLimitsPerIdentity(t *testing.T) {
	g, iss, reg := limitsGateway(t)
	a := iss.Mint(t, "k1", map[string]any{"aud": "test-api", "tenant": "a"})
	b := iss.Mint(t, "k1", map[string]any{"aud": "test-api", "tenant": "b"})
	none := iss.Mint(t, "k1", map[string]any{"aud": "test-api"})
	for i := range 2 {
		if resp := serveOnce(g, "/reports", "garbage"); resp.StatusCode != 401 {
			t.Fatalf("bad token %d: %d", i, resp.StatusCode)
		}
	}
	steps := []struct {
		who    string
		tok    string
		status int
	}{
		{"a", a, 200}, {"a", a, 200}, {"a", a, 429},
		{"b", b, 200}, {"b", b, 200}, {"b", b, 429},
		{"no tenant", none, 200}, {"no tenant", none, 200}, {"no tenant", none, 200},
	}
	for i, st := range steps {
		resp := serveOnce(g, "/reports", st.tok)
		if resp.StatusCode != st.status {
			t.Fatalf("step %d (%s): %d, want %d", i+1, st.who, resp.StatusCode, st.status)
		}
		if st.status == 429 && resp.Header.Get("Retry-After") == "" {
			t.Errorf("step %d: no Retry-After", i+1)
		}
		if et := resp.Header.Get("X-Amzn-ErrorType"); (st.status == 429) != (et == "TooManyRequestsException") {
			t.Errorf("step %d: status %d with x-amzn-ErrorType %q", i+1, resp.StatusCode, et)
		}
	}
	// Other routes are not under the rule.
	if resp := serveOnce(g, "/orders/1", a); resp.StatusCode != 200 {
		t.Errorf("tenant a on /orders/1: %d, want 200", resp.StatusCode)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if got := metricValue(families, "portcullis_throttled_total", []string{"GET /reports", "per-tenant"}); got != 2 {
		t.Errorf("portcullis_throttled_total{route=GET /reports,rule=per-tenant} = %v, want 2", got)
	}
}

func TestLimitsSetupErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown throttled route", `throttling:
  routes:
    "GET /nope": {rate: 1, burst: 1}`, `limits.yaml:3:5: throttling.routes.GET /nope: no route has the key "GET /nope"`},
		{"default without burst", `throttling:
  default: {rate: 1}`, `limits.yaml:2:12: throttling.default: rate and burst are both required`},
		{"override without default", `throttling:
  routes:
    "GET /open": {rate: 5}`, `limits.yaml:3:5: throttling.routes.GET /open: rate and burst are both required`},
		{"negative burst", `throttling:
  default: {rate: 1, burst: -1}`, `limits.yaml:2:29: throttling.default.burst: burst must be 0 or more`},
		{"rule without name", `rate_limits:
  - {key: $context.identity.sourceIp, rate: 1, burst: 1}`, `limits.yaml:2:5: rate_limits[0]: name is required`},
		{"rule key not context", `rate_limits:
  - {name: r, key: $request.header.x, rate: 1, burst: 1}`, `limits.yaml:2:20: rate_limits[0].key: key must be one $context variable`},
		{"claims without jwt", `rate_limits:
  - {name: r, key: $context.authorizer.claims.sub, routes: ["GET /open"], rate: 1, burst: 1}`, `rate_limits[0].key: on route GET /open: $context.authorizer.claims.sub needs a jwt authorizer`},
		{"unknown variable", `rate_limits:
  - {name: r, key: $context.nope, rate: 1, burst: 1}`, `is not a context variable`},
		{"unknown rule route", `rate_limits:
  - {name: r, key: $context.identity.sourceIp, routes: ["GET /x"], rate: 1, burst: 1}`, `limits.yaml:2:57: rate_limits[0].routes[0]: no route has the key "GET /x"`},
		{"twice", `rate_limits:
  - {name: r, key: $context.identity.sourceIp, rate: 1, burst: 1}
  - {name: r, key: $context.identity.sourceIp, rate: 1, burst: 1}`, `limits.yaml:3:12: rate_limits[1].name: rate limit "r" is defined twice`},
		{"refill too slow", `rate_limits:
  - {name: r, key: $context.identity.sourceIp, rate: 0.000001, burst: 1000}`, `takes more than`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.yaml + `
listen: 127.0.0.1:0
routes:
  - route: GET /open
    integration: {type: mock}
`
			err := buildError(t, "limits.yaml", src)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v; want one holding %q", err, tc.want)
			}
		})
	}
}

// An unconfigured gateway has no limits on any route: the request path
// pays a nil check.
func TestNoLimitsWhenUnconfigured(t *testing.T) {
	f, err := config.Parse("x.yaml", []byte("listen: 127.0.0.1:0\nroutes:\n  - route: GET /a\n    integration: {type: mock}\n"), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Build(f, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close(nil)
	for _, rt := range g.routes {
		if rt.limits != nil {
			t.Errorf("route %s has limits", rt.label)
		}
	}
}

// A reload with the same state settings keeps the store: buckets spent
// before the reload stay spent, and closing the old gateway leaves the
// store to the new one. A changed state block gets a new store.
func TestReloadKeepsBuckets(t *testing.T) {
	src := "listen: 127.0.0.1:0\nthrottling:\n  default: {rate: 0.001, burst: 1}\nroutes:\n  - route: GET /a\n    integration: {type: mock}\n"
	f, err := config.Parse("r.yaml", []byte(src), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	g1, err := Build(f, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if resp := serveOnce(g1, "/a", ""); resp.StatusCode != 200 {
		t.Fatalf("first: %d", resp.StatusCode)
	}
	g2, err := Build(f, Deps{Previous: g1})
	if err != nil {
		t.Fatal(err)
	}
	g1.Close(g2)
	if g2.state != g1.state {
		t.Fatal("the reload opened a new store for the same settings")
	}
	if resp := serveOnce(g2, "/a", ""); resp.StatusCode != 429 {
		t.Fatalf("after reload: %d; want 429 (the spent bucket kept)", resp.StatusCode)
	}
	prefix := "other:"
	f3, err := config.Parse("r.yaml", []byte(src+"state: {redis: {addresses: [127.0.0.1:1], key_prefix: "+prefix+"}}\n"), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	g3, err := Build(f3, Deps{Previous: g2})
	if err != nil {
		t.Fatal(err)
	}
	defer g3.Close(nil)
	if g3.state == g2.state || !g3.state.Remote() {
		t.Fatal("a changed state block kept the old store")
	}
	g2.Close(g3)
}

// Explain says which limit refused a request: the route's throttling or the
// rate_limits rule by name.
func TestLimitsExplainNamesRule(t *testing.T) {
	g, iss, _ := limitsGateway(t)
	tok := iss.Mint(t, "k1", map[string]any{"aud": "test-api", "tenant": "a"})
	traced := func(path, token string) *Trace {
		req := httptest.NewRequest("GET", path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		tr := &Trace{}
		g.ServeTraced(httptest.NewRecorder(), req, tr)
		return tr
	}
	for _, tc := range []struct{ path, token, want string }{
		{"/orders/1", "", "refused by throttling: throttled"},
		{"/reports", tok, "refused by per-tenant: rate_limited"},
	} {
		var tr *Trace
		for range 4 { // past the burst
			tr = traced(tc.path, tc.token)
		}
		found := false
		for _, n := range tr.Notes {
			if n.Stage == "limits" && strings.HasPrefix(n.Detail, tc.want) {
				found = true
			}
		}
		if tr.Reason == "" || !found {
			t.Errorf("%s: reason %q, notes %+v; want a limits note %q", tc.path, tr.Reason, tr.Notes, tc.want)
		}
	}
}

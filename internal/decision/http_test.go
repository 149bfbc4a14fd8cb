package decision

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/gateway"
)

// dialect builds the decision request a proxy sends for the original
// request method target with the client's headers.
type dialect struct {
	name  string
	build func(base, method, target string, h http.Header) *http.Request
}

var dialects = []dialect{
	{"nginx", func(base, method, target string, h http.Header) *http.Request {
		r, _ := http.NewRequest("GET", base+PathNginx, nil)
		r.Header = h.Clone()
		r.Header.Set("X-Original-Method", method)
		r.Header.Set("X-Original-URI", target)
		r.Header.Set("X-Forwarded-Host", "api.example.com")
		r.Header.Set("X-Forwarded-For", "198.51.100.7")
		return r
	}},
	{"traefik", func(base, method, target string, h http.Header) *http.Request {
		r, _ := http.NewRequest("GET", base+PathTraefik, nil)
		r.Header = h.Clone()
		r.Header.Set("X-Forwarded-Method", method)
		r.Header.Set("X-Forwarded-Proto", "https")
		r.Header.Set("X-Forwarded-Host", "api.example.com")
		r.Header.Set("X-Forwarded-Uri", target)
		r.Header.Set("X-Forwarded-For", "198.51.100.7")
		return r
	}},
	{"caddy", func(base, method, target string, h http.Header) *http.Request {
		r, _ := http.NewRequest("GET", base+PathCaddy, nil)
		r.Header = h.Clone()
		r.Header.Set("X-Forwarded-Method", method)
		r.Header.Set("X-Forwarded-Uri", target)
		r.Header.Set("X-Forwarded-Proto", "https")
		r.Header.Set("X-Forwarded-Host", "api.example.com")
		r.Header.Set("X-Forwarded-For", "198.51.100.7")
		return r
	}},
	{"envoy-http", func(base, method, target string, h http.Header) *http.Request {
		r, _ := http.NewRequest(method, base+PathEnvoy+target, nil)
		r.Header = h.Clone()
		r.Host = "api.example.com"
		return r
	}},
}

// decisionCase is one original request and what the gateway answers it.
type decisionCase struct {
	name          string
	method        string
	target        string
	header        http.Header
	status        int
	body          string            // denials: the gateway's body
	challenge     string            // the WWW-Authenticate prefix a denial carries; "" none
	identity      map[string]string // allowed: the identity headers set ("" = must be absent)
	removeSpoofed string            // allowed: the spoofed header the proxy must drop (Envoy)
}

func decisionCases(t *testing.T, h *harness) []decisionCase {
	good := "Bearer " + h.token(t, nil)
	noScope := "Bearer " + h.token(t, map[string]any{"scope": "pets:read"})
	return []decisionCase{
		{name: "allowed", method: "GET", target: "/orders/1", header: http.Header{"Authorization": {good}},
			status: 200, identity: map[string]string{"X-User": "alice", "X-Tenant": ""}},
		{name: "spoofed identity replaced", method: "GET", target: "/orders/1",
			header: http.Header{"Authorization": {good}, "X-User": {"mallory"}, "X-Tenant": {"evil"}},
			status: 200, identity: map[string]string{"X-User": "alice", "X-Tenant": ""}, removeSpoofed: "x-tenant"},
		{name: "missing token", method: "GET", target: "/orders/1", header: http.Header{},
			status: 401, body: `{"message":"Unauthorized"}`, challenge: "Bearer"},
		{name: "bad token", method: "GET", target: "/orders/1", header: http.Header{"Authorization": {"Bearer not.a.token"}},
			status: 401, body: `{"message":"Unauthorized"}`, challenge: `Bearer error="invalid_token"`},
		{name: "insufficient scope", method: "GET", target: "/orders/1", header: http.Header{"Authorization": {noScope}},
			status: 403, body: `{"message":"Forbidden"}`, challenge: `Bearer error="insufficient_scope"`},
		{name: "original method decides the route", method: "DELETE", target: "/orders/1", header: http.Header{"Authorization": {good}},
			status: 404, body: `{"message":"Not Found"}`},
		{name: "public", method: "GET", target: "/public", header: http.Header{}, status: 200},
		{name: "dot segments refused", method: "GET", target: "/public/../orders/1", header: http.Header{},
			status: 400, body: `{"message":"Bad Request"}`},
		{name: "lambda request authorizer reads the query", method: "GET", target: "/pets/7?tenant=t1",
			header: http.Header{"X-Api-Key": {"let-me-in"}, "X-Principal": {"spoofed"}},
			status: 200, identity: map[string]string{"X-Principal": "api-client-t1", "X-Quota": "100"}},
		{name: "lambda policy denies", method: "GET", target: "/pets/secret?tenant=t1", header: http.Header{"X-Api-Key": {"let-me-in"}},
			status: 403, body: `{"Message":"User is not authorized to access this resource with an explicit deny"}`},
		{name: "lambda identity source missing from the query", method: "GET", target: "/pets/7", header: http.Header{"X-Api-Key": {"let-me-in"}},
			status: 401, body: `{"message":"Unauthorized"}`},
	}
}

// TestForwardAuthDialects decides each case through each HTTP dialect and
// through the gateway itself: the status, body and challenge are the
// gateway's, and the identity headers are those the gateway's backend
// receives.
func TestForwardAuthDialects(t *testing.T) {
	h := newHarness(t)
	for _, c := range decisionCases(t, h) {
		// The gateway's own answer for the same request.
		req, _ := http.NewRequest(c.method, h.gateway+c.target, nil)
		req.Header = c.header.Clone()
		gw := do(t, req)
		if gw.status != c.status {
			t.Fatalf("%s: gateway answered %d, want %d (%s)", c.name, gw.status, c.status, gw.body)
		}
		var seen http.Header // what the gateway's backend received
		if c.status == 200 {
			if err := json.Unmarshal([]byte(gw.body), &seen); err != nil {
				t.Fatalf("%s: backend echo: %v", c.name, err)
			}
		}
		for _, d := range dialects {
			t.Run(c.name+"/"+d.name, func(t *testing.T) {
				hits := h.backend.count()
				got := do(t, d.build(h.decision, c.method, c.target, c.header))
				if h.backend.count() != hits {
					t.Error("the decision API reached the backend")
				}
				if got.status != c.status {
					t.Fatalf("status %d, want %d (%s)", got.status, c.status, got.body)
				}
				if got.header.Get("Apigw-Requestid") == "" {
					t.Error("no request id")
				}
				if c.status != 200 {
					if got.body != gw.body || got.body != c.body {
						t.Errorf("body %q, gateway's %q, want %q", got.body, gw.body, c.body)
					}
					if ch := got.header.Get("WWW-Authenticate"); ch != gw.header.Get("WWW-Authenticate") || !strings.HasPrefix(ch, c.challenge) || (c.challenge == "") != (ch == "") {
						t.Errorf("WWW-Authenticate %q, gateway's %q, want %q...", ch, gw.header.Get("WWW-Authenticate"), c.challenge)
					}
					return
				}
				if got.body != "" {
					t.Errorf("allowed with a body %q", got.body)
				}
				for name, want := range c.identity {
					if v := got.header.Get(name); v != want || v != seen.Get(name) {
						t.Errorf("%s = %q, gateway's backend saw %q, want %q", name, v, seen.Get(name), want)
					}
				}
				remove := got.header.Get(EnvoyHeadersToRemove)
				if d.name == "envoy-http" && remove != c.removeSpoofed {
					t.Errorf("%s = %q, want %q", EnvoyHeadersToRemove, remove, c.removeSpoofed)
				}
				if d.name != "envoy-http" && remove != "" {
					t.Errorf("%s sent to a forward-auth proxy", EnvoyHeadersToRemove)
				}
			})
		}
	}
	// Every decision was counted and logged with its mode.
	if n := metric(t, h, "portcullis_requests_total", map[string]string{"mode": "forward_auth", "route": "GET /orders/{id}", "status": "401"}); n != 2*float64(len(dialects)) {
		t.Errorf("forward_auth 401s on GET /orders/{id} = %v, want %d", n, 2*len(dialects))
	}
	if n := metric(t, h, "portcullis_requests_total", map[string]string{"mode": "gateway", "route": "GET /orders/{id}", "status": "401"}); n != 2 {
		t.Errorf("gateway 401s on GET /orders/{id} = %v, want 2", n)
	}
	if n := metric(t, h, "portcullis_authorizer_decisions_total", map[string]string{"authorizer": "users", "outcome": "allow", "reason": "ok", "mode": "forward_auth"}); n != 2*float64(len(dialects)) {
		t.Errorf("forward_auth allows by users = %v, want %d", n, 2*len(dialects))
	}
	if !strings.Contains(h.log.String(), `"mode":"forward_auth","method":"DELETE","path":"/orders/1","route":"none","status":404`) {
		t.Errorf("no forward_auth access-log line for the DELETE:\n%s", h.log.String())
	}
}

// TestForwardAuthDialectHeadersOnly: each dialect reads only its own
// headers, so a client cannot choose the decided request with another
// dialect's (the proxies copy the client's headers into the decision
// request), and a proxy that sends none of them, or one of them twice,
// gets a denial, never an allow.
func TestForwardAuthDialectHeadersOnly(t *testing.T) {
	h := newHarness(t)
	for _, c := range []struct {
		name   string
		path   string
		header http.Header
		status int
	}{
		{"traefik ignores X-Original-URI", PathTraefik, http.Header{"X-Original-Uri": {"/public"}, "X-Original-Method": {"GET"}, "X-Forwarded-Method": {"GET"}, "X-Forwarded-Uri": {"/orders/1"}}, 401},
		{"nginx ignores X-Forwarded-Uri", PathNginx, http.Header{"X-Forwarded-Uri": {"/public"}, "X-Forwarded-Method": {"GET"}, "X-Original-Method": {"GET"}, "X-Original-Uri": {"/orders/1"}}, 401},
		{"nginx without the method", PathNginx, http.Header{"X-Original-Uri": {"/public"}}, 500},
		{"caddy without the URI", PathCaddy, http.Header{"X-Forwarded-Method": {"GET"}}, 500},
		{"a URI that is not a path", PathTraefik, http.Header{"X-Forwarded-Method": {"GET"}, "X-Forwarded-Uri": {"http://evil/public"}}, 500},
		{"a method that is not a token", PathNginx, http.Header{"X-Original-Method": {"GET /public"}, "X-Original-Uri": {"/public"}}, 500},
		{"a method with a delimiter", PathTraefik, http.Header{"X-Forwarded-Method": {"GET(1)"}, "X-Forwarded-Uri": {"/public"}}, 500},
		{"a method in UTF-8", PathCaddy, http.Header{"X-Forwarded-Method": {"GÉT"}, "X-Forwarded-Uri": {"/public"}}, 500},
		{"a method over 32 bytes", PathNginx, http.Header{"X-Original-Method": {strings.Repeat("G", 33)}, "X-Original-Uri": {"/public"}}, 500},
		{"unknown path", "/other", http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/public"}}, 404},
		// A proxy that adds its header after the client's (HAProxy's
		// add-header, Apache's RequestHeader add) sends two: whichever
		// was read, the client's could be the one decided.
		{"nginx with the client's URI first", PathNginx, http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/public", "/orders/1"}}, 500},
		{"nginx with the proxy's URI first", PathNginx, http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/orders/1", "/public"}}, 500},
		{"traefik with two URIs", PathTraefik, http.Header{"X-Forwarded-Method": {"GET"}, "X-Forwarded-Uri": {"/public", "/orders/1"}}, 500},
		{"caddy with two methods", PathCaddy, http.Header{"X-Forwarded-Method": {"GET", "DELETE"}, "X-Forwarded-Uri": {"/public"}}, 500},
		{"nginx with two hosts", PathNginx, http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/public"}, "X-Forwarded-Host": {"evil.example", "api.example"}}, 500},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", h.decision+c.path, nil)
			for k, v := range c.header {
				req.Header[k] = v
			}
			if got := do(t, req); got.status != c.status {
				t.Errorf("status %d, want %d (%s)", got.status, c.status, got.body)
			}
		})
	}
}

func TestClientIP(t *testing.T) {
	for _, c := range []struct {
		header     http.Header
		remote, ip string
	}{
		{http.Header{"X-Forwarded-For": {"203.0.113.9, 198.51.100.7"}}, "127.0.0.1:1", "198.51.100.7"},
		{http.Header{"X-Forwarded-For": {"203.0.113.9", "198.51.100.8"}}, "127.0.0.1:1", "198.51.100.8"},
		{http.Header{"X-Real-Ip": {"198.51.100.9"}}, "127.0.0.1:1", "198.51.100.9"},
		{http.Header{}, "127.0.0.1:1234", "127.0.0.1"},
	} {
		r := &http.Request{Header: c.header, RemoteAddr: c.remote}
		if got := ClientIP(r); got != c.ip {
			t.Errorf("ClientIP(%v, %s) = %q, want %q", c.header, c.remote, got, c.ip)
		}
	}
}

// TestOriginalHasNoTLS: the decision request's TLS state is the proxy's
// connection, never the client's, so the original request carries none (a
// certificate-bound token or a clientCert could otherwise be matched
// against the proxy's certificate).
func TestOriginalHasNoTLS(t *testing.T) {
	r := httptest.NewRequest("GET", "https://decision.local"+PathNginx, nil)
	r.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{{Raw: []byte("proxy")}}}}
	r.Header.Set("X-Original-Method", "GET")
	r.Header.Set("X-Original-Uri", "/orders/1")
	orig, err := forwarded(r, "X-Original-Method", "X-Original-Uri")
	if err != nil {
		t.Fatal(err)
	}
	if orig.TLS != nil {
		t.Errorf("the original request has the proxy connection's TLS state: %+v", orig.TLS)
	}
}

// TestExampleConfig: examples/decision-api.yaml builds, and decides as its
// comments say.
func TestExampleConfig(t *testing.T) {
	f, err := config.Load("../../examples/decision-api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.Build(f, gateway.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ds := httptest.NewServer(NewHTTP(func() *gateway.Gateway { return g }, nil))
	defer ds.Close()
	for target, want := range map[string]int{"/status": 200, "/orders/1": 401} {
		if got := do(t, dialects[0].build(ds.URL, "GET", target, http.Header{})); got.status != want {
			t.Errorf("GET %s: %d, want %d", target, got.status, want)
		}
	}
}

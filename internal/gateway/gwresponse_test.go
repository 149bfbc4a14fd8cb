package gateway

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/gwresponse"
	"github.com/portcullis/portcullis/internal/testbackend"
	"github.com/portcullis/portcullis/internal/testissuer"
)

// gwConfig has a route for every case the gateway answers by itself. The
// lambda_proxy timeout's function has a route of its own, so that a hang
// holds no process another case needs.
const gwConfig = `listen: 127.0.0.1:0
functions:
  faulty: {runtime: process, command: [%[1]s], timeout: 30s, concurrency: 2}
  hang: {runtime: process, command: [%[1]s], timeout: 1s}
  simpleauth: {runtime: process, command: [%[2]s]}
authorizers:
  users: {type: jwt, issuer: %[3]s, audience: [test-api]}
  nokeys: {type: jwt, issuer: %[3]s, audience: [test-api], jwks_uri: "http://127.0.0.1:1/keys"}
  faulty: {type: lambda, function: faulty, payload_format_version: "1.0", event_type: TOKEN, identity_source: [method.request.header.Authorization], result_ttl: 0s, timeout: 30s}
  simple: {type: lambda, function: simpleauth, payload_format_version: "2.0", enable_simple_responses: true, identity_source: [$request.header.Authorization], result_ttl: 0s}
routes:
  - {route: "GET /orders/{id}", authorizer: users, authorization_scopes: [orders:read], integration: {type: http_proxy, uri: "%[4]s/orders/{id}"}}
  - {route: GET /nokeys, authorizer: nokeys, integration: {type: mock, body: ok}}
  - {route: GET /lambda, authorizer: faulty, integration: {type: mock, body: ok}}
  - {route: GET /simple, authorizer: simple, integration: {type: mock, body: ok}}
  - {route: POST /upload, integration: {type: http_proxy, uri: "%[4]s/upload"}}
  - {route: GET /slow, integration: {type: http_proxy, uri: "%[4]s/slow", timeout: 200ms}}
  - {route: GET /down, integration: {type: http_proxy, uri: "http://127.0.0.1:1/nothing"}}
  - {route: "GET /fn/{fault}", integration: {type: lambda_proxy, function: faulty, timeout: 30s}}
  - {route: "GET /hang/{fault}", integration: {type: lambda_proxy, function: hang, timeout: 1s}}
server: {max_body_bytes: 1024}
`

type gwHarness struct {
	base string
	iss  *testissuer.Issuer
	reg  *prometheus.Registry
}

// newGWHarness serves gwConfig with block (a gateway_responses: block, or
// "") appended.
func newGWHarness(t *testing.T, block string) *gwHarness {
	t.Helper()
	iss := testissuer.New(t)
	be, _ := backend(t)
	cfg := fmt.Sprintf(gwConfig, faulty(t), lambdaFunctions.Path(t, "simpleauth"), iss.URL, be.URL) + block
	reg := prometheus.NewRegistry()
	srv, _, _ := gatewayServer(t, cfg, Deps{Metrics: NewMetrics(reg)})
	return &gwHarness{base: srv.URL, iss: iss, reg: reg}
}

// gwCase is one answer the gateway gives by itself.
type gwCase struct {
	name, typ   string
	method      string
	path        string
	header      http.Header
	body        string // request body
	raw         string // a raw HTTP/1.1 request instead
	status      int    // built-in
	builtinBody string
}

func gwCases(good, noScope string) []gwCase {
	auth := func(v string) http.Header { return http.Header{"Authorization": {v}} }
	return []gwCase{
		{name: "bad path", typ: "BAD_REQUEST_PARAMETERS", path: "/orders/%2e%2e/admin", status: 400, builtinBody: `{"message":"Bad Request"}`},
		{name: "no route", typ: "MISSING_AUTHENTICATION_TOKEN", path: "/nothing/here", status: 404, builtinBody: `{"message":"Not Found"}`},
		{name: "body too large", typ: "REQUEST_TOO_LARGE", method: "POST", path: "/upload", body: strings.Repeat("x", 2048), status: 413, builtinBody: `{"message":"Request Entity Too Large"}`},
		{name: "malformed chunked body", typ: "BAD_REQUEST_BODY", raw: "POST /upload HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\nzz\r\n", status: 400, builtinBody: `{"message":"Bad Request"}`},
		{name: "jwt missing", typ: "UNAUTHORIZED", path: "/orders/1", status: 401, builtinBody: `{"message":"Unauthorized"}`},
		{name: "jwt invalid", typ: "UNAUTHORIZED", path: "/orders/1", header: auth("Bearer " + good[:len(good)-4] + "AAAA"), status: 401, builtinBody: `{"message":"Unauthorized"}`},
		{name: "jwt without the scope", typ: "ACCESS_DENIED", path: "/orders/1", header: auth("Bearer " + noScope), status: 403, builtinBody: `{"message":"Forbidden"}`},
		{name: "jwt keys unavailable", typ: "AUTHORIZER_FAILURE", path: "/nokeys", header: auth("Bearer " + good), status: 401, builtinBody: `{"message":"Unauthorized"}`},
		{name: "lambda identity missing", typ: "UNAUTHORIZED", path: "/lambda", status: 401, builtinBody: `{"message":"Unauthorized"}`},
		{name: "lambda denies", typ: "ACCESS_DENIED", path: "/simple", header: auth("wrong"), status: 403, builtinBody: `{"message":"Forbidden"}`},
		{name: "lambda authorizer fails", typ: "AUTHORIZER_CONFIGURATION_ERROR", path: "/lambda", header: auth("Bearer error"), status: 500, builtinBody: `{"message":null}`},
		{name: "backend unreachable", typ: "INTEGRATION_FAILURE", path: "/down", status: 502, builtinBody: `{"message":"Bad Gateway"}`},
		{name: "backend timeout", typ: "INTEGRATION_TIMEOUT", path: "/slow", status: 504, builtinBody: `{"message":"Endpoint request timed out"}`},
		{name: "function error", typ: "INTEGRATION_FAILURE", path: "/fn/error", status: 500, builtinBody: `{"message":"Internal Server Error"}`},
		{name: "function junk", typ: "INTEGRATION_FAILURE", path: "/fn/junk", status: 502, builtinBody: `{"message":"Internal server error"}`},
		{name: "function timeout", typ: "INTEGRATION_TIMEOUT", path: "/hang/hang", status: 504, builtinBody: `{"message":"Endpoint request timed out"}`},
	}
}

// gwResult is an answer as the client got it.
type gwResult struct {
	status int
	header http.Header
	body   string
}

func (h *gwHarness) send(t *testing.T, c gwCase) gwResult {
	t.Helper()
	if c.raw != "" {
		conn, err := net.DialTimeout("tcp", strings.TrimPrefix(h.base, "http://"), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(time.Minute)) // a bound on hanging, not on speed
		if _, err := io.WriteString(conn, c.raw); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return gwResult{resp.StatusCode, resp.Header, string(b)}
	}
	method := c.method
	if method == "" {
		method = "GET"
	}
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(method, h.base+c.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(c.path, "%") {
		req.URL.RawPath = c.path
		req.URL.Opaque = c.path // sent as written, not cleaned
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	client := &http.Client{Timeout: time.Minute} // a bound on hanging, not on speed
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return gwResult{resp.StatusCode, resp.Header, string(b)}
}

// everyTypeBlock configures every type Portcullis produces with a header
// and a body naming it.
func everyTypeBlock() string {
	var b strings.Builder
	b.WriteString("gateway_responses:\n")
	for _, typ := range []string{"BAD_REQUEST_PARAMETERS", "BAD_REQUEST_BODY", "MISSING_AUTHENTICATION_TOKEN", "REQUEST_TOO_LARGE", "UNAUTHORIZED", "ACCESS_DENIED", "AUTHORIZER_FAILURE", "AUTHORIZER_CONFIGURATION_ERROR", "INTEGRATION_FAILURE", "INTEGRATION_TIMEOUT"} {
		fmt.Fprintf(&b, "  %s:\n    headers: {x-gw-type: \"'%s'\", x-gw-id: context.requestId}\n", typ, typ)
		b.WriteString(`    body: '{"type":"$context.error.responseType","message":$context.error.messageString,"requestId":"$context.requestId","route":"$context.routeKey"}'` + "\n")
	}
	return b.String()
}

// TestGatewayResponseEveryType: each answer the gateway gives by itself,
// through real backends, functions and authorizers, is of its AWS type:
// unconfigured it is the built-in answer byte for byte; configured it has
// the type's headers and body, with the built-in status and message.
func TestGatewayResponseEveryType(t *testing.T) {
	for _, configured := range []bool{false, true} {
		t.Run(fmt.Sprintf("configured=%v", configured), func(t *testing.T) {
			block := ""
			if configured {
				block = everyTypeBlock()
			}
			h := newGWHarness(t, block)
			good := h.iss.Mint(t, "k1", map[string]any{"scope": "orders:read"})
			noScope := h.iss.Mint(t, "k1", map[string]any{"scope": "other"})
			for _, c := range gwCases(good, noScope) {
				t.Run(c.name, func(t *testing.T) {
					got := h.send(t, c)
					if got.status != c.status {
						t.Fatalf("status %d, want %d: %s", got.status, c.status, got.body)
					}
					if !configured {
						if got.body != c.builtinBody || got.header.Get("X-Gw-Type") != "" {
							t.Errorf("built-in answer changed: %s (x-gw-type %q), want %s", got.body, got.header.Get("X-Gw-Type"), c.builtinBody)
						}
						return
					}
					var body struct {
						Type, RequestID, Route string
						Message                *string
					}
					if err := json.Unmarshal([]byte(got.body), &body); err != nil {
						t.Fatalf("body %s: %v", got.body, err)
					}
					var builtin struct{ Message *string }
					_ = json.Unmarshal([]byte(strings.Replace(c.builtinBody, `"Message"`, `"message"`, 1)), &builtin)
					id := got.header.Get(RequestIDResponseHeader)
					switch {
					case body.Type != c.typ || got.header.Get("X-Gw-Type") != c.typ:
						t.Errorf("type %q / header %q, want %s", body.Type, got.header.Get("X-Gw-Type"), c.typ)
					case id == "" || body.RequestID != id || got.header.Get("X-Gw-Id") != id:
						t.Errorf("requestId %q, header %q, want %q", body.RequestID, got.header.Get("X-Gw-Id"), id)
					case (body.Message == nil) != (builtin.Message == nil) || body.Message != nil && *body.Message != *builtin.Message:
						t.Errorf("message %v, want the built-in %s", body.Message, c.builtinBody)
					case got.header.Get("Content-Type") != "application/json":
						t.Errorf("Content-Type %q", got.header.Get("Content-Type"))
					}
				})
			}
			if configured {
				if n := h.sent(t, "INTEGRATION_FAILURE"); n != 3 {
					t.Errorf("portcullis_gateway_responses_total{type=INTEGRATION_FAILURE} = %v, want 3", n)
				}
			}
		})
	}
}

// sent is portcullis_gateway_responses_total for typ.
func (h *gwHarness) sent(t *testing.T, typ string) float64 {
	t.Helper()
	families, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "portcullis_gateway_responses_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if m.GetLabel()[0].GetValue() == typ {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no series for %s", typ)
	return 0
}

// TestGatewayResponsePrecedence: a type's own response wins over
// DEFAULT_4XX/DEFAULT_5XX, which win over the built-in answer; a status set
// on a default applies to the types it covers; a response's headers replace
// the built-in ones of the same name and leave the others.
func TestGatewayResponsePrecedence(t *testing.T) {
	h := newGWHarness(t, `gateway_responses:
  UNAUTHORIZED:
    status: 401
    headers: {WWW-Authenticate: 'Bearer realm="orders"'}
    body: '{"error":"unauthorized","message":$context.error.messageString,"requestId":"$context.requestId"}'
  DEFAULT_4XX:
    status: 400
    headers: {Access-Control-Allow-Origin: "'*'"}
  DEFAULT_5XX:
    headers: {Retry-After: "'5'"}
    body: '{"message":"try later","type":"$context.error.responseType"}'
  INTEGRATION_TIMEOUT:
    status: 503
`)
	noScope := h.iss.Mint(t, "k1", map[string]any{"scope": "other"})
	for _, tc := range []struct {
		name   string
		c      gwCase
		status int
		body   string
		header map[string]string
	}{
		{"type's own", gwCase{path: "/orders/1"}, 401, "", map[string]string{"Www-Authenticate": `Bearer realm="orders"`, "Access-Control-Allow-Origin": ""}},
		{"DEFAULT_4XX, built-in body and headers kept", gwCase{path: "/orders/1", header: bearer(noScope)}, 400, `{"message":"Forbidden"}`,
			map[string]string{"Access-Control-Allow-Origin": "*", "Www-Authenticate": `Bearer error="insufficient_scope", error_description="the token has none of the scopes this route requires"`}},
		{"DEFAULT_4XX for no route", gwCase{path: "/nothing"}, 400, `{"message":"Not Found"}`, map[string]string{"Access-Control-Allow-Origin": "*"}},
		{"DEFAULT_5XX", gwCase{path: "/down"}, 502, `{"message":"try later","type":"INTEGRATION_FAILURE"}`, map[string]string{"Retry-After": "5", "Access-Control-Allow-Origin": ""}},
		{"DEFAULT_5XX keeps x-amzn-ErrorType", gwCase{path: "/lambda", header: http.Header{"Authorization": {"Bearer error"}}}, 500, `{"message":"try later","type":"AUTHORIZER_CONFIGURATION_ERROR"}`, map[string]string{"X-Amzn-Errortype": "AuthorizerConfigurationException"}},
		{"status override, built-in body", gwCase{path: "/slow"}, 503, `{"message":"Endpoint request timed out"}`, map[string]string{"Retry-After": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := h.send(t, tc.c)
			if got.status != tc.status {
				t.Errorf("status %d, want %d", got.status, tc.status)
			}
			if tc.body != "" && got.body != tc.body {
				t.Errorf("body %s, want %s", got.body, tc.body)
			}
			if tc.body == "" && !strings.HasPrefix(got.body, `{"error":"unauthorized","message":"Unauthorized","requestId":"`) {
				t.Errorf("body %s", got.body)
			}
			for k, want := range tc.header {
				if v := got.header.Get(k); v != want {
					t.Errorf("%s = %q, want %q", k, v, want)
				}
			}
		})
	}
}

// TestGatewayResponseHostileValues: a path and a claim holding quotes,
// backslashes, newlines and markup stay inside their JSON strings, and
// cannot add header lines.
func TestGatewayResponseHostileValues(t *testing.T) {
	h := newGWHarness(t, `gateway_responses:
  ACCESS_DENIED:
    headers: {x-sub: context.authorizer.claims.sub, x-path: "path=$context.path"}
    body: '{"sub":"$context.authorizer.claims.sub","path":"$context.path","admin":false}'
  DEFAULT_4XX:
    headers: {x-path: "path=$context.path"}
    body: '{"path":"$context.path","admin":false}'
`)
	sub := "a\",\"admin\":true,\"x\":\"\\\r\nX-Injected: 1\n</script>"
	tok := h.iss.Mint(t, "k1", map[string]any{"scope": "other", "sub": sub})
	check := func(t *testing.T, got gwResult, want map[string]any) {
		t.Helper()
		var body map[string]any
		if err := json.Unmarshal([]byte(got.body), &body); err != nil {
			t.Fatalf("not JSON: %s: %v", got.body, err)
		}
		for k, v := range want {
			if body[k] != v {
				t.Errorf("%s = %#v, want %#v (body %s)", k, body[k], v, got.body)
			}
		}
		if got.header.Get("X-Injected") != "" || strings.Contains(got.body, "</script>") {
			t.Errorf("injected: header %q, body %s", got.header.Get("X-Injected"), got.body)
		}
	}

	t.Run("claim", func(t *testing.T) {
		got := h.send(t, gwCase{path: "/orders/1", header: bearer(tok)})
		if got.status != 403 {
			t.Fatalf("status %d: %s", got.status, got.body)
		}
		check(t, got, map[string]any{"sub": sub, "admin": false, "path": "/orders/1"})
		if want := strings.NewReplacer("\r", "", "\n", "").Replace(sub); got.header.Get("X-Sub") != want {
			t.Errorf("x-sub %q, want %q", got.header.Get("X-Sub"), want)
		}
	})
	t.Run("path with quotes", func(t *testing.T) {
		got := h.send(t, gwCase{path: `/no/%22,%22admin%22:true,%22x%22:%22%3C/script%3E`})
		if got.status != 404 {
			t.Fatalf("status %d: %s", got.status, got.body)
		}
		check(t, got, map[string]any{"path": `/no/","admin":true,"x":"</script>`, "admin": false})
	})
	t.Run("path with a newline", func(t *testing.T) {
		got := h.send(t, gwCase{path: "/no/a%0D%0AX-Injected:%201"})
		if got.status != 400 {
			t.Fatalf("status %d: %s", got.status, got.body)
		}
		check(t, got, map[string]any{"path": "/no/a\r\nX-Injected: 1", "admin": false})
		if got.header.Get("X-Path") != "path=/no/aX-Injected: 1" {
			t.Errorf("x-path %q", got.header.Get("X-Path"))
		}
	})
}

// TestGatewayResponseNoLeak: a template using every variable a gateway
// response may read shows none of the request's credentials (the bearer
// token, a cookie, an API key, a token in the query string), and the
// variables that could show them are refused by check with their place.
func TestGatewayResponseNoLeak(t *testing.T) {
	var body, headers strings.Builder
	body.WriteString(`'{`)
	headers.WriteString("{")
	for i, name := range append(gwresponse.ContextVariables(), "authorizer.claims.sub", "authorizer.claims.scope", "error.message", "error.responseType") {
		fmt.Fprintf(&body, `"%s":"$context.%s",`, name, name)
		if i > 0 {
			headers.WriteString(", ")
		}
		fmt.Fprintf(&headers, "x-v%d: context.%s", i, name)
	}
	body.WriteString(`"m":$context.error.messageString}'`)
	headers.WriteString("}")
	block := "gateway_responses:\n  DEFAULT_4XX:\n    headers: " + headers.String() + "\n    body: " + body.String() + "\n"
	h := newGWHarness(t, block)
	tok := h.iss.Mint(t, "k1", map[string]any{"scope": "other", "sub": "alice"})
	secrets := []string{tok, "cookie-secret-1", "api-key-secret-2", "query-token-3", "lambda-secret-4"}
	for _, c := range []gwCase{
		{path: "/orders/1?access_token=query-token-3", header: http.Header{"Authorization": {"Bearer " + tok}, "Cookie": {"session=cookie-secret-1"}, "X-Api-Key": {"api-key-secret-2"}}},
		{path: "/orders/1?access_token=query-token-3", header: http.Header{"Authorization": {"Bearer " + tok[:len(tok)-3] + "xyz"}}},
		{path: "/simple?access_token=query-token-3", header: http.Header{"Authorization": {"lambda-secret-4"}, "Cookie": {"session=cookie-secret-1"}}},
		{path: "/nothing?access_token=query-token-3", header: http.Header{"Authorization": {"Bearer " + tok}, "X-Api-Key": {"api-key-secret-2"}}},
	} {
		got := h.send(t, c)
		if got.status < 400 || got.status > 499 || !json.Valid([]byte(got.body)) || !strings.Contains(got.body, `"requestId":"`) {
			t.Fatalf("%s: %d %s", c.path, got.status, got.body)
		}
		var all strings.Builder
		all.WriteString(got.body)
		for k, vs := range got.header {
			fmt.Fprintf(&all, "\n%s: %s", k, strings.Join(vs, ","))
		}
		for _, s := range secrets {
			for _, piece := range []string{s, s[len(s)/2:]} {
				if strings.Contains(all.String(), piece) {
					t.Errorf("%s: the answer shows %q:\n%s", c.path, piece, all.String())
				}
			}
		}
	}

	// What could show a credential is refused, at its line.
	for _, tc := range []struct{ value, want string }{
		{`x-t: method.request.header.Authorization`, `never shows the request's headers or query string`},
		{`x-t: method.request.querystring.access_token`, `never shows the request's headers or query string`},
		{`x-t: method.request.header.Cookie`, `never shows the request's headers or query string`},
		{`x-t: context.identity.apiKey`, `an API key is a secret`},
		{`x-t: context.authorizer.token`, `a Lambda authorizer's context is for the backend`},
		{`x-t: "$context.identity.userAgent"`, `an authorizer reads its identity from User-Agent`},
	} {
		cfg := "listen: 127.0.0.1:0\nauthorizers:\n  ua: {type: lambda, function: f, payload_format_version: \"2.0\", identity_source: [$request.header.User-Agent]}\nfunctions:\n  f: {runtime: http, url: \"http://127.0.0.1:1/\"}\nroutes:\n  - {route: GET /x, authorizer: ua, integration: {type: mock}}\ngateway_responses:\n  UNAUTHORIZED:\n    headers: {" + tc.value + "}\n"
		err := buildError(t, filepath.Join(t.TempDir(), "leak.yaml"), cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "leak.yaml:10:") {
			t.Errorf("%s: %v, want %q at leak.yaml:10", tc.value, err, tc.want)
		}
	}
}

// TestGatewayResponseVariablesProvided: every variable a gateway response
// may read is one the gateway provides.
func TestGatewayResponseVariablesProvided(t *testing.T) {
	for _, name := range gwresponse.ContextVariables() {
		if !slices.Contains(contextNames, name) && !strings.HasPrefix(name, "authorizer.") {
			t.Errorf("$context.%s is allowed in gateway responses but the gateway does not provide it", name)
		}
	}
}

// BenchmarkGatewayResponse is the cost of a configured gateway response:
// a request without a token, answered with a templated UNAUTHORIZED
// (compare BenchmarkServe/jwt-missing, the built-in answer).
func BenchmarkGatewayResponse(b *testing.B) {
	iss := testissuer.New(b)
	f, err := config.Parse("bench.yaml", []byte(fmt.Sprintf(`listen: 127.0.0.1:0
authorizers:
  users: {type: jwt, issuer: %q, audience: [test-api]}
routes:
  - {route: "GET /orders/{id}", authorizer: users, integration: {type: mock, body: ok}}
gateway_responses:
  UNAUTHORIZED:
    headers: {WWW-Authenticate: 'Bearer realm="orders"', Access-Control-Allow-Origin: "'*'"}
    body: '{"message":$context.error.messageString,"requestId":"$context.requestId","path":"$context.path"}'
`, iss.URL)), os.LookupEnv)
	if err != nil {
		b.Fatal(err)
	}
	g, err := Build(f, Deps{Metrics: NewMetrics(prometheus.NewRegistry()), Logger: slogJSON(io.Discard)})
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "/orders/1", nil)
	req.RemoteAddr = "192.0.2.1:1234"
	w := &testbackend.DiscardWriter{H: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.H)
		g.ServeHTTP(w, req)
	}
	if w.Status != 401 {
		b.Fatalf("status %d", w.Status)
	}
}

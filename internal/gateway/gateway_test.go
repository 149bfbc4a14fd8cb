package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/testissuer"
	"github.com/portcullis/portcullis/internal/testlog"
)

// seen is what the backend received.
type seen struct {
	Method, Path, RawPath, Query string
	Header                       http.Header
	Body                         string
}

// backend is a real HTTP server that echoes what it received as JSON.
func backend(t *testing.T) (*httptest.Server, chan seen) {
	t.Helper()
	got := make(chan seen, 64) // room for every request a test sends before it reads
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s := seen{r.Method, r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.Header.Clone(), string(body)}
		got <- s
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Backend", "yes")
		_ = json.NewEncoder(w).Encode(s)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, got
}

const testConfig = `listen: 127.0.0.1:0
authorizers:
  users:
    type: jwt
    issuer: %[1]s
    audience: [test-api, other-api]
  query:
    type: jwt
    identity_source: $request.querystring.access_token
    issuer: %[1]s
    audience: [test-api]
routes:
  - route: GET /orders/{id}
    authorizer: users
    authorization_scopes: [orders:read, orders:admin]
    integration:
      type: http_proxy
      uri: %[2]s/backend/orders/{id}
      request_parameters:
        "overwrite:header.x-user-id": $context.authorizer.claims.sub
        "overwrite:header.x-tenant": "t-${context.authorizer.claims.tenant}"
        "append:querystring.via": gateway
        "remove:header.x-debug": ""
  - route: ANY /files/{path+}
    authorizer: users
    integration:
      type: http_proxy
      uri: %[2]s/store/{path}
  - route: POST /upload
    integration: {type: http_proxy, uri: "%[2]s/upload"}
  - route: GET /q
    authorizer: query
    integration: {type: http_proxy, uri: "%[2]s/q"}
  - route: GET /slow
    integration: {type: http_proxy, uri: "%[2]s/slow", timeout: 200ms}
  - route: GET /down
    integration: {type: http_proxy, uri: "http://127.0.0.1:1/nothing"}
  - route: GET /status
    integration: {type: mock, status: 200, body: '{"ok":true}', headers: {content-type: application/json}}
server:
  max_body_bytes: 1024
`

type harness struct {
	gw      *httptest.Server
	iss     *testissuer.Issuer
	backend chan seen
	reg     *prometheus.Registry
	logs    *testlog.Buffer
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	iss := testissuer.New(t)
	be, got := backend(t)
	f, err := config.Parse("test.yaml", []byte(fmt.Sprintf(testConfig, iss.URL, be.URL)), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	logs := &testlog.Buffer{}
	g, err := Build(f, Deps{Metrics: NewMetrics(reg), Logger: slogJSON(logs), AccessLog: logs})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	g.Start(ctx)
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return &harness{gw: srv, iss: iss, backend: got, reg: reg, logs: logs}
}

func (h *harness) do(t *testing.T, method, path string, header http.Header, body io.Reader) (*http.Response, string) {
	t.Helper()
	return send(t, method, h.gw.URL+path, header, body)
}

// get is send for a GET without a body.
func get(t *testing.T, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	return send(t, http.MethodGet, url, header, nil)
}

// send makes one request to url with header and returns the response, its
// body read and closed; any transport error fails the test.
func send(t *testing.T, method, url string, header http.Header, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func TestAnswers(t *testing.T) {
	h := newHarness(t)
	good := h.iss.Mint(t, "k1", map[string]any{"scope": "orders:read", "tenant": "acme"})
	cases := []struct {
		name, method, path string
		header             http.Header
		status             int
		body               string
		wwwAuth            string // substring of WWW-Authenticate
	}{
		{"mock", "GET", "/status", nil, 200, `{"ok":true}`, ""},
		{"no route", "GET", "/nothing", nil, 404, `{"message":"Not Found"}`, ""},
		{"method not routed", "DELETE", "/status", nil, 404, `{"message":"Not Found"}`, ""},
		{"missing token", "GET", "/orders/1", nil, 401, `{"message":"Unauthorized"}`, "Bearer"},
		{"garbage token", "GET", "/orders/1", bearer("not-a-jwt"), 401, `{"message":"Unauthorized"}`, `error="invalid_token"`},
		{"expired", "GET", "/orders/1", bearer(h.iss.Mint(t, "k1", map[string]any{"scope": "orders:read", "exp": time.Now().Add(-time.Hour).Unix()})), 401, `{"message":"Unauthorized"}`, `error_description="`},
		{"wrong audience", "GET", "/orders/1", bearer(h.iss.Mint(t, "k1", map[string]any{"scope": "orders:read", "aud": "nope"})), 401, `{"message":"Unauthorized"}`, `invalid_token`},
		{"wrong issuer", "GET", "/orders/1", bearer(h.iss.Mint(t, "k1", map[string]any{"scope": "orders:read", "iss": "https://evil"})), 401, `{"message":"Unauthorized"}`, `invalid_token`},
		{"no scope", "GET", "/orders/1", bearer(h.iss.Mint(t, "k1", nil)), 403, `{"message":"Forbidden"}`, `insufficient_scope`},
		{"other scope", "GET", "/orders/1", bearer(h.iss.Mint(t, "k1", map[string]any{"scp": []string{"x", "orders:admin"}})), 200, "", ""},
		{"lower-case bearer", "GET", "/orders/1", http.Header{"Authorization": {"bearer " + good}}, 200, "", ""},
		{"bare token", "GET", "/orders/1", http.Header{"Authorization": {good}}, 200, "", ""},
		{"two authorization headers", "GET", "/orders/1", http.Header{"Authorization": {"Bearer " + good, "Bearer " + good}}, 401, `{"message":"Unauthorized"}`, ""},
		{"query identity source", "GET", "/q?access_token=" + good, nil, 200, "", ""},
		{"query identity missing", "GET", "/q", bearer(good), 401, `{"message":"Unauthorized"}`, ""},
		{"dot segment", "GET", "/files/a/../../status", bearer(good), 400, `{"message":"Bad Request"}`, ""},
		{"encoded slash", "GET", "/orders/a%2Fb", bearer(good), 400, `{"message":"Bad Request"}`, ""},
		{"encoded dot segment", "GET", "/files/%2e%2e/x", bearer(good), 400, `{"message":"Bad Request"}`, ""},
		{"backend down", "GET", "/down", nil, 502, `{"message":"Bad Gateway"}`, ""},
		{"backend slow", "GET", "/slow", nil, 504, `{"message":"Endpoint request timed out"}`, ""},
		{"body too large", "POST", "/upload", http.Header{"Content-Type": {"text/plain"}}, 413, `{"message":"Request Entity Too Large"}`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader
			if c.status == 413 {
				body = strings.NewReader(strings.Repeat("x", 2000))
			}
			resp, got := h.do(t, c.method, c.path, c.header, body)
			if resp.StatusCode != c.status {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, c.status, got)
			}
			if c.body != "" && got != c.body {
				t.Errorf("body = %s, want %s", got, c.body)
			}
			if c.body != "" && c.status >= 400 && resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("content-type = %q", resp.Header.Get("Content-Type"))
			}
			if wa := resp.Header.Get("WWW-Authenticate"); !strings.Contains(wa, c.wwwAuth) || (c.wwwAuth == "" && c.status == 401 && wa == "") {
				t.Errorf("WWW-Authenticate = %q, want it to contain %q", wa, c.wwwAuth)
			}
			if len(resp.Header.Get(RequestIDResponseHeader)) != 16 {
				t.Errorf("request id header = %q", resp.Header.Get(RequestIDResponseHeader))
			}
			// Drain what the backend saw so later cases read their own.
			for len(h.backend) > 0 {
				<-h.backend
			}
		})
	}
}

func TestDescriptionNeverEchoesToken(t *testing.T) {
	h := newHarness(t)
	tok := h.iss.Mint(t, "k1", map[string]any{"exp": time.Now().Add(-time.Hour).Unix()})
	resp, body := h.do(t, "GET", "/orders/1", bearer(tok), nil)
	wa := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != 401 || !strings.Contains(wa, "expired") {
		t.Fatalf("status %d, WWW-Authenticate %q", resp.StatusCode, wa)
	}
	parts := strings.Split(tok, ".")
	for _, s := range []string{wa, body, h.logs.String()} {
		if strings.Contains(s, parts[1]) || strings.Contains(s, parts[2]) {
			t.Errorf("token material leaked into %q", s)
		}
	}
}

func TestForwardedRequest(t *testing.T) {
	h := newHarness(t)
	tok := h.iss.Mint(t, "k1", map[string]any{"sub": "user-7", "scope": "orders:read", "tenant": "acme"})
	header := bearer(tok)
	// Everything a client might try to smuggle in.
	header.Set("X-User-Id", "admin")
	header.Set("X-Tenant", "root")
	header.Set("X-Debug", "1")
	header.Set("X-Forwarded-For", "6.6.6.6")
	header.Set("X-Forwarded-Host", "evil.example")
	header.Set("Forwarded", "for=6.6.6.6")
	header.Set("X-Request-Id", "spoofed")
	header.Set("Connection", "X-User-Id, X-Request-Id, X-Forwarded-For")
	header.Set("X-Other", "kept")
	resp, body := h.do(t, "GET", "/orders/42?a=1&a=2", header, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if resp.Header.Get("X-Backend") != "yes" {
		t.Error("backend response header not passed back")
	}
	s := <-h.backend
	want := map[string]string{
		"X-User-Id":         "user-7",
		"X-Tenant":          "t-acme",
		"X-Debug":           "",
		"X-Forwarded-For":   "127.0.0.1",
		"X-Forwarded-Host":  strings.TrimPrefix(h.gw.URL, "http://"),
		"X-Forwarded-Proto": "http",
		"X-Real-Ip":         "127.0.0.1",
		"Forwarded":         "",
		"X-Request-Id":      resp.Header.Get(RequestIDResponseHeader),
		"Authorization":     "Bearer " + tok,
		"X-Other":           "kept",
	}
	for k, v := range want {
		if got := strings.Join(s.Header.Values(k), ","); got != v {
			t.Errorf("backend header %s = %q, want %q", k, got, v)
		}
	}
	if s.Path != "/backend/orders/42" || s.Query != "a=1&a=2&via=gateway" {
		t.Errorf("backend got path %q query %q", s.Path, s.Query)
	}
}

func TestGreedyPathAndStreaming(t *testing.T) {
	h := newHarness(t)
	hdr := bearer(h.iss.Mint(t, "k1", nil))
	resp, body := h.do(t, "PUT", "/files/a/b%20c/d.txt", hdr, strings.NewReader("hello"))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	s := <-h.backend
	if s.Path != "/store/a/b c/d.txt" || s.Method != "PUT" || s.Body != "hello" {
		t.Errorf("backend saw %+v", s)
	}

	// A chunked body over the limit is cut off with 413, never forwarded whole.
	pr, pw := io.Pipe()
	go func() {
		for range 10 {
			pw.Write(bytes.Repeat([]byte("y"), 200))
		}
		pw.Close()
	}()
	resp, body = h.do(t, "POST", "/upload", nil, pr)
	if resp.StatusCode != 413 && resp.StatusCode != 502 {
		t.Errorf("chunked over-limit body: status %d %s", resp.StatusCode, body)
	}
	select {
	case s := <-h.backend:
		if len(s.Body) > 1024 {
			t.Errorf("backend received %d bytes, over the 1024 limit", len(s.Body))
		}
	default:
	}
}

func TestHopByHopCannotStripInjectedHeaders(t *testing.T) {
	h := newHarness(t)
	tok := h.iss.Mint(t, "k1", map[string]any{"scope": "orders:read", "tenant": "acme"})
	// Raw request: a Connection header naming the injected headers.
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.gw.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /orders/9 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nConnection: keep-alive, x-user-id, x-request-id, x-forwarded-for\r\n\r\n", tok)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s := <-h.backend
	if s.Header.Get("X-User-Id") != "alice" || s.Header.Get("X-Request-Id") == "" || s.Header.Get("X-Forwarded-For") == "" {
		t.Errorf("injected headers stripped by Connection: %v", s.Header)
	}
}

func TestMetricsAndLogs(t *testing.T) {
	h := newHarness(t)
	tok := h.iss.Mint(t, "k1", map[string]any{"scope": "orders:read"})
	h.do(t, "GET", "/orders/1", bearer(tok), nil)
	<-h.backend
	h.do(t, "GET", "/orders/1", bearer(tok), nil)
	<-h.backend
	h.do(t, "GET", "/orders/1", nil, nil)
	h.do(t, "GET", "/nope/at/all", nil, nil)

	checks := []struct {
		metric string
		labels []string
		want   float64
	}{
		{"portcullis_requests_total", []string{"gateway", "GET /orders/{id}", "200"}, 2},
		{"portcullis_requests_total", []string{"gateway", "GET /orders/{id}", "401"}, 1},
		{"portcullis_requests_total", []string{"gateway", "none", "404"}, 1},
		{"portcullis_authorizer_decisions_total", []string{"users", "gateway", "allow", "ok"}, 2},
		{"portcullis_authorizer_decisions_total", []string{"users", "gateway", "deny", "missing_identity"}, 1},
		{"portcullis_jwt_token_cache_total", []string{"users", "hit"}, 1},
	}
	families, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		if got := metricValue(families, c.metric, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.metric, c.labels, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(h.reg, "portcullis_request_duration_seconds"); n < 2 {
		t.Errorf("duration histogram series = %d", n)
	}

	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 4 {
		t.Fatalf("%d access log lines, want 4:\n%s", len(lines), h.logs)
	}
	first := lines[0]
	for _, k := range []string{"time", "request_id", "method", "route", "status", "latency_ms", "authorizer", "principal"} {
		if _, ok := first[k]; !ok {
			t.Errorf("access log lacks %q: %v", k, first)
		}
	}
	if lines[2]["reason"] != "missing_identity" || lines[3]["route"] != "none" {
		t.Errorf("denial lines: %v / %v", lines[2], lines[3])
	}
	if strings.Contains(h.logs.String(), strings.Split(tok, ".")[2]) {
		t.Error("token signature in logs")
	}
}

func metricValue(families []*dto, name string, labels []string) float64 {
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			var vals []string
			for _, l := range m.GetLabel() {
				vals = append(vals, l.GetValue())
			}
			if len(vals) != len(labels) {
				continue
			}
			for i := range vals {
				if vals[i] != labels[i] {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// buildError parses yaml as the configuration file name (a parse error fails
// the test) and returns Build's error: for configurations Build must refuse.
func buildError(t *testing.T, name, yaml string) error {
	t.Helper()
	f, err := config.Parse(name, []byte(yaml), os.LookupEnv)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	_, err = Build(f, Deps{})
	return err
}

func TestBuildErrors(t *testing.T) {
	dir := t.TempDir()
	pem := filepath.Join(dir, "missing.pem")
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown authorizer", "listen: :0\nroutes:\n  - route: GET /a\n    authorizer: nobody\n    integration: {type: mock}\n",
			[]string{`c.yaml:4:17: routes[0].authorizer: unknown authorizer "nobody" (defined: none)`}},
		{"bad route key", "listen: :0\nroutes:\n  - route: get /a\n    integration: {type: mock}\n",
			[]string{"c.yaml:3:12: routes[0].route:", "upper-case"}},
		{"bad uri", "listen: :0\nroutes:\n  - route: GET /a\n    integration: {type: http_proxy, uri: 'ftp://x/y'}\n",
			[]string{"c.yaml:4:42: routes[0].integration.uri:"}},
		{"undeclared uri param", "listen: :0\nroutes:\n  - route: GET /a\n    integration: {type: http_proxy, uri: 'http://x/{id}'}\n",
			[]string{"routes[0].integration.uri", "{id}"}},
		{"reserved mapping", "listen: :0\nroutes:\n  - route: GET /a\n    integration:\n      type: http_proxy\n      uri: http://x/\n      request_parameters: {'overwrite:header.authorization': x}\n",
			[]string{"c.yaml:7:27: routes[0].integration.request_parameters:", "reserved"}},
		{"claims without authorizer", "listen: :0\nroutes:\n  - route: GET /a\n    integration:\n      type: http_proxy\n      uri: http://x/\n      request_parameters: {'overwrite:header.x-sub': $context.authorizer.claims.sub}\n",
			[]string{"needs a jwt authorizer"}},
		{"unknown context", "listen: :0\nroutes:\n  - route: GET /a\n    integration:\n      type: http_proxy\n      uri: http://x/\n      request_parameters: {'overwrite:header.x-sub': $context.nosuch}\n",
			[]string{"$context.nosuch is not a context variable"}},
		{"mapped path parameter the route lacks", "listen: :0\nroutes:\n  - route: GET /a/{id}\n    integration:\n      type: http_proxy\n      uri: http://x/\n      request_parameters: {'overwrite:header.x-id': $request.path.idd}\n",
			[]string{`c.yaml:7:27: routes[0].integration.request_parameters: $request.path.idd: route "GET /a/{id}" has no path parameter "idd" (its parameters: id)`}},
		{"mapped path parameter on $default", "listen: :0\nroutes:\n  - route: $default\n    integration:\n      type: http_proxy\n      uri: http://x/\n      request_parameters: {'overwrite:path': '/v1/${request.path.proxy}'}\n",
			[]string{`has no path parameter "proxy" (its parameters: none)`}},
		{"scopes without authorizer", "listen: :0\nroutes:\n  - route: GET /a\n    authorization_scopes: [a]\n    integration: {type: mock}\n",
			[]string{"routes[0].authorization_scopes: authorization_scopes need a jwt authorizer"}},
		{"duplicate route", "listen: :0\nroutes:\n  - route: GET /a/{x}\n    integration: {type: mock}\n  - route: GET /a/{y}\n    integration: {type: mock}\n",
			[]string{"c.yaml:", "routes:"}},
		{"mock fields on proxy", "listen: :0\nroutes:\n  - route: GET /a\n    integration: {type: http_proxy, uri: 'http://x/', status: 200}\n",
			[]string{"status does not apply to a http_proxy integration"}},
		{"unknown integration", "listen: :0\nroutes:\n  - route: GET /a\n    integration: {type: lambada}\n",
			[]string{`unknown integration type "lambada"`}},
		{"unknown authorizer type", "listen: :0\nauthorizers:\n  a: {type: saml}\nroutes:\n  - route: GET /a\n    integration: {type: mock}\n",
			[]string{`c.yaml:3:13: authorizers.a.type: unknown authorizer type "saml"`}},
		{"jwt without issuer", "listen: :0\nauthorizers:\n  a: {type: jwt, audience: [x]}\nroutes:\n  - route: GET /a\n    integration: {type: mock}\n",
			[]string{"c.yaml:3:6: authorizers.a.issuer: issuer is required"}},
		{"jwt hs without secret", "listen: :0\nauthorizers:\n  a: {type: jwt, issuer: 'https://i', audience: [x], algorithms: [HS256]}\nroutes:\n  - route: GET /a\n    integration: {type: mock}\n",
			[]string{"c.yaml:3:67: authorizers.a.algorithms[0]: algorithm HS256 requires an HMAC secret"}},
		{"jwt missing key file", "listen: :0\nauthorizers:\n  a: {type: jwt, issuer: 'https://i', audience: [x], jwks_file: '" + pem + "'}\nroutes:\n  - route: GET /a\n    integration: {type: mock}\n",
			[]string{"c.yaml:3:65: authorizers.a.jwks_file:", "missing.pem"}},
		{"bad identity source", "listen: :0\nauthorizers:\n  a: {type: jwt, issuer: 'https://i', audience: [x], identity_source: $request.body.x}\nroutes:\n  - route: GET /a\n    integration: {type: mock}\n",
			[]string{"authorizers.a.identity_source:"}},
		{"pass a header that is not removed", "listen: :0\nroutes:\n  - route: GET /a\n    integration:\n      type: http_proxy\n      uri: http://x/\n      pass_client_headers: [x-http-method-override, X-Custom]\n",
			[]string{`c.yaml:7:53: routes[0].integration.pass_client_headers[1]: "X-Custom" is not a header the gateway removes`}},
		{"pass X-Real-IP", "listen: :0\nfunctions:\n  f: {runtime: http, url: 'http://x/'}\nroutes:\n  - route: GET /a\n    integration: {type: lambda_proxy, function: f, pass_client_headers: [x-real-ip]}\n",
			[]string{"c.yaml:6:74: routes[0].integration.pass_client_headers[0]: X-Real-IP cannot be passed"}},
		{"pass a mapped header", "listen: :0\nroutes:\n  - route: GET /a\n    integration:\n      type: http_proxy\n      uri: http://x/\n      request_parameters: {'overwrite:header.true-client-ip': $context.identity.sourceIp}\n      pass_client_headers: [True-Client-IP]\n",
			[]string{`c.yaml:8:29: routes[0].integration.pass_client_headers[0]: "True-Client-IP" is mapped by request_parameters`}},
		{"mock header name with a space", "listen: :0\nroutes:\n  - route: GET /a\n    integration: {type: mock, headers: {'x a': b}}\n",
			[]string{`routes[0].integration.headers: header "x a": invalid name or value`}},
		{"mock header name with a delimiter", "listen: :0\nroutes:\n  - route: GET /a\n    integration: {type: mock, headers: {'x(a)': b}}\n",
			[]string{`routes[0].integration.headers: header "x(a)": invalid name or value`}},
		{"mock header name in UTF-8", "listen: :0\nroutes:\n  - route: GET /a\n    integration: {type: mock, headers: {x-ä: b}}\n",
			[]string{`routes[0].integration.headers: header "x-ä": invalid name or value`}},
		{"mock header value with a line break", "listen: :0\nroutes:\n  - route: GET /a\n    integration: {type: mock, headers: {x-a: \"b\\r\\nx-b: c\"}}\n",
			[]string{`routes[0].integration.headers: header "x-a": invalid name or value`}},
		{"mock header value with a control byte", "listen: :0\nroutes:\n  - route: GET /a\n    integration: {type: mock, headers: {x-a: \"b\\x01\"}}\n",
			[]string{`routes[0].integration.headers: header "x-a": invalid name or value`}},
		{"mock header value with DEL", "listen: :0\nroutes:\n  - route: GET /a\n    integration: {type: mock, headers: {x-a: \"b\\x7f\"}}\n",
			[]string{`routes[0].integration.headers: header "x-a": invalid name or value`}},
		{"pass on a mock", "listen: :0\nroutes:\n  - route: GET /a\n    integration: {type: mock, pass_client_headers: [X-Method-Override]}\n",
			[]string{"routes[0].integration.pass_client_headers: pass_client_headers does not apply to a mock integration"}},
		{"no routes", "listen: :0\n", []string{"at least one route"}},
		{"no listen", "routes:\n  - route: GET /a\n    integration: {type: mock}\n", []string{"listen is required"}},
		{"several at once", "listen: :0\nroutes:\n  - route: GET a\n    integration: {type: mock}\n  - route: GET /b\n    authorizer: x\n    integration: {type: mock}\n",
			[]string{"routes[0].route", "routes[1].authorizer"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := buildError(t, "c.yaml", c.yaml)
			if err == nil {
				t.Fatal("Build succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

// TestPathMappingStripsPrefixAsAWS: AWS's way to strip a path prefix,
// "overwrite:path": "/$request.path.proxy" on ANY /v1/app/{proxy+}, sends
// /v1/app/user/add to the backend as /user/add: the inline expression is
// read, and the greedy parameter keeps its slashes.
func TestPathMappingStripsPrefixAsAWS(t *testing.T) {
	be, got := backend(t)
	srv, _, _ := gatewayServer(t, fmt.Sprintf(`listen: 127.0.0.1:0
routes:
  - route: ANY /v1/app/{proxy+}
    integration:
      type: http_proxy
      uri: %[1]s/v1/app/{proxy}
      request_parameters: {"overwrite:path": "/$request.path.proxy", "overwrite:header.x-id": "user-$request.path.proxy"}
`, be.URL), Deps{})
	for _, tc := range []struct{ path, want, wantRaw string }{
		{"/v1/app/user/add", "/user/add", ""},
		{"/v1/app/a%20b/c", "/a b/c", ""},
		{"/v1/app/x%3Fy", "/x?y", ""}, // escaped again: still one segment, no query
	} {
		if resp, body := get(t, srv.URL+tc.path, nil); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", tc.path, resp.StatusCode, body)
		}
		s := <-got
		if s.Path != tc.want || s.RawPath != tc.wantRaw {
			t.Errorf("%s reached the backend as %q (raw %q), want %q (raw %q)", tc.path, s.Path, s.RawPath, tc.want, tc.wantRaw)
		}
	}
}

package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/testbin"
	"github.com/portcullis/portcullis/internal/testissuer"
)

// lambdaFunctions are the aws-lambda-go programs in testdata/lambda.
var lambdaFunctions = testbin.New("testdata/lambda", "tokenauth", "requestauth", "simpleauth", "panicauth", "sleepauth", "junkauth", "faulty")

// lambdaBinaries is the directory of the built lambdaFunctions.
func lambdaBinaries(t *testing.T) string { return lambdaFunctions.Dir(t) }

const lambdaConfig = `listen: 127.0.0.1:0
api: {id: petsapi, stage: prod, region: eu-west-1, account_id: "123456789012"}
functions:
  tokenauth: {runtime: process, command: [%[1]s/tokenauth], env: {JWKS_URL: "%[2]s/keys"}, concurrency: 2}
  requestauth: {runtime: process, command: [%[1]s/requestauth]}
  simpleauth: {runtime: process, command: [%[1]s/simpleauth]}
  panicauth: {runtime: process, command: [%[1]s/panicauth]}
  sleepauth: {runtime: process, command: [%[1]s/sleepauth], timeout: 300ms}
  junkauth: {runtime: process, command: [%[1]s/junkauth]}
authorizers:
  token:
    type: lambda
    function: tokenauth
    payload_format_version: "1.0"
    event_type: TOKEN
    identity_source: [method.request.header.Authorization]
    identity_validation_expression: "Bearer [-0-9a-zA-Z._~+/]+=*"
    result_ttl: 300s
  token-nocache: {type: lambda, function: tokenauth, payload_format_version: "1.0", event_type: TOKEN, identity_source: [method.request.header.Authorization], result_ttl: 0s}
  request:
    type: lambda
    function: requestauth
    payload_format_version: "1.0"
    identity_source: [$request.header.X-Api-Key, $request.querystring.tenant]
  simple:
    type: lambda
    function: simpleauth
    payload_format_version: "2.0"
    enable_simple_responses: true
    identity_source: [$request.header.Authorization]
    result_ttl: 60s
  panics: {type: lambda, function: panicauth, payload_format_version: "1.0", event_type: TOKEN, identity_source: [method.request.header.Authorization], result_ttl: 0s}
  sleeps: {type: lambda, function: sleepauth, payload_format_version: "1.0", event_type: TOKEN, identity_source: [method.request.header.Authorization], result_ttl: 0s}
  junk: {type: lambda, function: junkauth, payload_format_version: "1.0", event_type: TOKEN, identity_source: [method.request.header.Authorization], result_ttl: 0s}
routes:
  - route: GET /orders/{id}
    authorizer: token
    integration:
      type: http_proxy
      uri: %[3]s/orders/{id}
      request_parameters:
        "overwrite:header.x-principal": $context.authorizer.principalId
        "overwrite:header.x-tenant": $context.authorizer.tenant
  - route: GET /nocache
    authorizer: token-nocache
    integration: {type: mock, body: ok}
  - route: ANY /pets/{id}
    authorizer: request
    integration:
      type: http_proxy
      uri: %[3]s/pets/{id}
      request_parameters:
        "overwrite:header.x-quota": $context.authorizer.quota
        "overwrite:header.x-beta": $context.authorizer.beta
        "overwrite:header.x-principal": $context.authorizer.principalId
  - route: GET /simple/{proxy+}
    authorizer: simple
    integration:
      type: http_proxy
      uri: %[3]s/simple/{proxy}
      request_parameters: {"overwrite:header.x-user": $context.authorizer.user}
  - {route: GET /panic, authorizer: panics, integration: {type: mock}}
  - {route: GET /sleep, authorizer: sleeps, integration: {type: mock}}
  - {route: GET /junk, authorizer: junk, integration: {type: mock}}
`

type lambdaHarness struct {
	*harness
	g *Gateway
}

func newLambdaHarness(t *testing.T) *lambdaHarness {
	t.Helper()
	bins := lambdaBinaries(t)
	iss := testissuer.New(t)
	be, got := backend(t)
	f, err := config.Parse(filepath.Join(t.TempDir(), "l.yaml"), []byte(fmt.Sprintf(lambdaConfig, bins, iss.URL, be.URL)), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	g, err := Build(f, Deps{Metrics: NewMetrics(reg), Logger: slogJSON(io.Discard)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	g.Start(ctx)
	t.Cleanup(func() { cancel(); g.Close(nil) })
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return &lambdaHarness{harness: &harness{gw: srv, iss: iss, backend: got, reg: reg}, g: g}
}

// invocations counts the authorizer's function invocations so far.
func (h *lambdaHarness) invocations(t *testing.T, authorizer string) float64 {
	t.Helper()
	families, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, f := range families {
		if f.GetName() != "portcullis_lambda_authorizer_invocations_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "authorizer" && l.GetValue() == authorizer {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

func TestLambdaAuthorizers(t *testing.T) {
	h := newLambdaHarness(t)
	alice := h.iss.Mint(t, "k1", map[string]any{"sub": "alice", "tenant": "acme"})
	blocked := h.iss.Mint(t, "k1", map[string]any{"sub": "blocked"})
	cases := []struct {
		name, method, path string
		header             http.Header
		status             int
		body               string
		backend            map[string]string // headers the backend must have received
	}{
		{"token allowed", "GET", "/orders/1", bearer(alice), 200, "", map[string]string{"X-Principal": "alice", "X-Tenant": "acme"}},
		{"token bad signature", "GET", "/orders/1", bearer(alice[:len(alice)-4] + "AAAA"), 401, `{"message":"Unauthorized"}`, nil},
		{"token missing", "GET", "/orders/1", nil, 401, `{"message":"Unauthorized"}`, nil},
		{"token fails the validation expression", "GET", "/orders/1", http.Header{"Authorization": {"Basic abc"}}, 401, `{"message":"Unauthorized"}`, nil},
		{"explicit deny", "GET", "/orders/1", bearer(blocked), 403, `{"Message":"User is not authorized to access this resource with an explicit deny"}`, nil},
		{"request allowed", "GET", "/pets/7?tenant=t1", http.Header{"X-Api-Key": {"let-me-in"}}, 200, "", map[string]string{"X-Quota": "100", "X-Beta": "true", "X-Principal": "api-client-t1"}},
		{"request denied by statement", "GET", "/pets/secret?tenant=t1", http.Header{"X-Api-Key": {"let-me-in"}}, 403, `{"Message":"User is not authorized to access this resource with an explicit deny"}`, nil},
		{"request no matching allow", "DELETE", "/pets/7?tenant=t1", http.Header{"X-Api-Key": {"let-me-in"}}, 403, `{"Message":"User is not authorized to access this resource"}`, nil},
		{"request one source missing", "GET", "/pets/7", http.Header{"X-Api-Key": {"let-me-in"}}, 401, `{"message":"Unauthorized"}`, nil},
		{"request wrong key", "GET", "/pets/7?tenant=t1", http.Header{"X-Api-Key": {"nope"}}, 401, `{"message":"Unauthorized"}`, nil},
		{"simple allowed", "GET", "/simple/a/b", http.Header{"Authorization": {"secret"}}, 200, "", map[string]string{"X-User": "u1"}},
		{"simple denied", "GET", "/simple/a/b", http.Header{"Authorization": {"wrong"}}, 403, `{"message":"Forbidden"}`, nil},
		{"function panics", "GET", "/panic", http.Header{"Authorization": {"x"}}, 500, `{"message":null}`, nil},
		{"function times out", "GET", "/sleep", http.Header{"Authorization": {"x"}}, 500, `{"message":null}`, nil},
		{"function returns junk", "GET", "/junk", http.Header{"Authorization": {"x"}}, 500, `{"message":null}`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := h.do(t, c.method, c.path, c.header, nil)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			if c.body != "" && body != c.body {
				t.Errorf("body %s, want %s", body, c.body)
			}
			if c.status == 500 && resp.Header.Get("X-Amzn-Errortype") != "AuthorizerConfigurationException" {
				t.Errorf("x-amzn-ErrorType = %q", resp.Header.Get("X-Amzn-Errortype"))
			}
			if c.status == 200 {
				s := <-h.backend
				for k, v := range c.backend {
					if got := s.Header.Get(k); got != v {
						t.Errorf("backend %s = %q, want %q", k, got, v)
					}
				}
			}
		})
	}
}

func TestLambdaAuthorizerCache(t *testing.T) {
	h := newLambdaHarness(t)
	tok := bearer(h.iss.Mint(t, "k1", map[string]any{"sub": "carol"}))

	// Cached by identity: the second request does not invoke the function.
	for range 2 {
		if resp, body := h.do(t, "GET", "/orders/5", tok, nil); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		<-h.backend
	}
	if n := h.invocations(t, "token"); n != 1 {
		t.Errorf("%v invocations for two requests with one identity, want 1", n)
	}

	// result_ttl 0: every request invokes.
	for range 2 {
		h.do(t, "GET", "/nocache", tok, nil)
	}
	if n := h.invocations(t, "token-nocache"); n != 2 {
		t.Errorf("%v invocations with result_ttl 0, want 2", n)
	}

	// A cached policy is evaluated again for each request's ARN.
	key := http.Header{"X-Api-Key": {"let-me-in"}}
	if resp, _ := h.do(t, "GET", "/pets/1?tenant=z", key, nil); resp.StatusCode != 200 {
		t.Fatalf("first pets request: %d", resp.StatusCode)
	}
	<-h.backend
	if resp, _ := h.do(t, "GET", "/pets/secret?tenant=z", key, nil); resp.StatusCode != 403 {
		t.Errorf("same identity, denied ARN: %d, want 403", resp.StatusCode)
	}
	if n := h.invocations(t, "request"); n != 1 {
		t.Errorf("%v invocations, want 1 (the policy is cached, the ARN re-evaluated)", n)
	}
	// Another identity value is another cache entry.
	h.do(t, "GET", "/pets/1?tenant=y", key, nil)
	<-h.backend
	if n := h.invocations(t, "request"); n != 2 {
		t.Errorf("%v invocations after a second tenant, want 2", n)
	}

	// Concurrent requests with one new identity cause one invocation.
	tok2 := bearer(h.iss.Mint(t, "k1", map[string]any{"sub": "dave"}))
	before := h.invocations(t, "token")
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", h.gw.URL+"/orders/9", nil)
			req.Header = tok2.Clone()
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("concurrent request: %d", resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	for len(h.backend) > 0 {
		<-h.backend
	}
	if n := h.invocations(t, "token") - before; n != 1 {
		t.Errorf("%v invocations for 20 concurrent requests with one identity, want 1", n)
	}
	// Errors are not cached: the panicking authorizer is invoked every time.
	for range 2 {
		h.do(t, "GET", "/panic", http.Header{"Authorization": {"same"}}, nil)
	}
	if n := h.invocations(t, "panics"); n != 2 {
		t.Errorf("%v invocations of a failing authorizer, want 2", n)
	}
}

func TestLambdaConfigErrors(t *testing.T) {
	bins := lambdaBinaries(t)
	cases := []struct {
		name, yaml string
		want       string
	}{
		{"unknown function", "authorizers:\n  a: {type: lambda, function: nope, payload_format_version: '1.0', identity_source: [$request.header.A]}\n", `unknown function "nope"`},
		{"missing binary", "functions:\n  f: {runtime: process, command: [./no-such-binary]}\nauthorizers:\n  a: {type: lambda, function: f, payload_format_version: '1.0', identity_source: [$request.header.A]}\n", "no-such-binary"},
		{"bad regex", "functions:\n  f: {runtime: process, command: [" + bins + "/tokenauth]}\nauthorizers:\n  a: {type: lambda, function: f, payload_format_version: '1.0', event_type: TOKEN, identity_source: [$request.header.A], identity_validation_expression: '('}\n", "validation expression"},
		{"ttl too long", "functions:\n  f: {runtime: process, command: [" + bins + "/tokenauth]}\nauthorizers:\n  a: {type: lambda, function: f, payload_format_version: '1.0', identity_source: [$request.header.A], result_ttl: 2h}\n", "result TTL"},
		{"jwt field on lambda", "functions:\n  f: {runtime: http, url: 'http://127.0.0.1:1/'}\nauthorizers:\n  a: {type: lambda, function: f, payload_format_version: '2.0', identity_source: [$request.header.A], issuer: x}\n", "issuer applies to jwt authorizers"},
		{"unknown runtime", "functions:\n  f: {runtime: docker}\n", `unknown runtime "docker"`},
		{"invoke without name", "functions:\n  f: {runtime: invoke}\n", "function_name is required"},
		{"scopes on lambda route", "functions:\n  f: {runtime: http, url: 'http://127.0.0.1:1/'}\nauthorizers:\n  a: {type: lambda, function: f, payload_format_version: '2.0', identity_source: [$request.header.A]}\nroutes:\n  - {route: GET /x, authorizer: a, authorization_scopes: [s], integration: {type: mock}}\n", "authorization_scopes need a jwt authorizer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			yaml := "listen: :0\n" + c.yaml
			if !strings.Contains(yaml, "routes:") {
				yaml += "routes:\n  - {route: GET /x, integration: {type: mock}}\n"
			}
			f, err := config.Parse(filepath.Join(t.TempDir(), "c.yaml"), []byte(yaml), os.LookupEnv)
			if err != nil {
				t.Fatal(err)
			}
			g, err := Build(f, Deps{})
			if err == nil {
				g.Close(nil)
				t.Fatal("Build succeeded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q\nlacks %q", err, c.want)
			}
		})
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	lambdaFunctions.Remove()
	os.Exit(code)
}

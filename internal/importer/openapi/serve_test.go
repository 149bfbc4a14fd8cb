package openapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/cli"
	"github.com/portcullis/portcullis/internal/server"
	"github.com/portcullis/portcullis/internal/testissuer"
)

// backend answers with the path and the headers the gateway set.
func backend(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s user=%s source=%s", r.Method, r.URL.Path, r.Header.Get("X-User"), r.Header.Get("X-Source"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// importAndServe imports file with `portcullis import`, checks that the
// stderr lists each of notes, and serves the result.
func importAndServe(t *testing.T, file string, notes ...string) (base, text string) {
	t.Helper()
	return importPrepareAndServe(t, file, nil, notes...)
}

// importPrepareAndServe is importAndServe with prepare run on the written
// configuration's path before it is checked and served.
func importPrepareAndServe(t *testing.T, file string, prepare func(cfg string), notes ...string) (base, text string) {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "portcullis.yaml")
	var out, errOut bytes.Buffer
	if code := cli.Main([]string{"import", file, "-o", cfg}, nil, &out, &errOut); code != 0 {
		t.Fatalf("import: exit %d\n%s", code, errOut.String())
	}
	for _, n := range notes {
		if !strings.Contains(errOut.String(), n) {
			t.Errorf("stderr lacks %q:\n%s", n, errOut.String())
		}
	}
	data, _ := os.ReadFile(cfg)
	data = bytes.Replace(data, []byte("listen: 127.0.0.1:3000"), []byte("listen: 127.0.0.1:0"), 1)
	os.WriteFile(cfg, data, 0o644)
	if prepare != nil {
		prepare(cfg)
		data, _ = os.ReadFile(cfg)
	}
	if code := cli.Main([]string{"check", "-c", cfg}, nil, &out, &errOut); code != 0 {
		t.Fatalf("check refused the import:\n%s\n%s", errOut.String(), data)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done, started := make(chan error, 1), make(chan string, 1)
	go func() {
		done <- server.Run(ctx, server.Options{ConfigPath: cfg, Started: func(l, _ net.Addr) { started <- "http://" + l.String() }})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case base = <-started:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	return base, string(data)
}

func do(t *testing.T, method, url string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestServeHTTPAPIDefinition: an HTTP API definition (OpenAPI 3) with a JWT
// authorizer as the document's default, scopes, an http_proxy with
// parameter mapping, an integration by $ref under a greedy ANY route, a
// public route, a SigV4 route left out, ${NAME} values read from the
// environment when the configuration loads, and x-amazon-apigateway-cors as
// `cors:`, answering preflights.
func TestServeHTTPAPIDefinition(t *testing.T) {
	iss := testissuer.New(t)
	t.Setenv("ISSUER_URL", iss.URL)
	t.Setenv("BACKEND_URL", backend(t))
	base, text := importAndServe(t, "testdata/http-api.yaml", "route POST /billing left out: IAM")
	if !strings.Contains(text, "cors:\n  allowOrigins: ['https://shop.example.com']\n  allowMethods: [GET]\n  maxAge: 300\n") {
		t.Errorf("x-amazon-apigateway-cors did not become cors:\n%s", text)
	}
	if strings.Contains(text, "NOT CARRIED OVER (cors)") {
		t.Errorf("CORS is still noted as not carried over:\n%s", text)
	}
	code, h, _ := do(t, "OPTIONS", base+"/status", "Origin", "https://shop.example.com", "Access-Control-Request-Method", "GET")
	if code != 204 || h.Get("Access-Control-Allow-Origin") != "https://shop.example.com" || h.Get("Access-Control-Max-Age") != "300" {
		t.Errorf("preflight = %d %v; want 204 with the imported CORS headers", code, h)
	}
	if !strings.Contains(text, "function_name: reports") || !strings.Contains(text, "qualifier: live") {
		t.Errorf("the Lambda ARN did not become an invoke function:\n%s", text)
	}
	reader := "Bearer " + iss.Mint(t, "k1", map[string]any{"scope": "orders/read", "sub": "bob"})
	other := "Bearer " + iss.Mint(t, "k1", map[string]any{"scope": "x"})
	for _, c := range []struct {
		method, path, auth string
		status             int
		body               string
	}{
		{"GET", "/orders/7", reader, 200, "GET /orders/7 user=bob source="},
		{"GET", "/orders/7", other, 403, `{"message":"Forbidden"}`},
		{"GET", "/orders/7", "", 401, `{"message":"Unauthorized"}`},
		{"DELETE", "/orders/a/b", other, 200, "DELETE /a/b user= source="},
		{"GET", "/status", "", 200, "GET /health user= source="},
		{"POST", "/billing", reader, 404, `{"message":"Not Found"}`},
	} {
		var h []string
		if c.auth != "" {
			h = []string{"Authorization", c.auth}
		}
		if code, _, body := do(t, c.method, base+c.path, h...); code != c.status || body != c.body {
			t.Errorf("%s %s = %d %q; want %d %q", c.method, c.path, code, body, c.status, c.body)
		}
	}
}

// TestServeRESTDefinition: a REST API export (Swagger 2.0): a mock
// integration with its status, body and static header; an http_proxy whose
// REST request parameters rename a path parameter and add headers; routes
// and an AWS service integration left out.
func TestServeRESTDefinition(t *testing.T) {
	t.Setenv("BACKEND_URL", backend(t))
	base, text := importAndServe(t, "testdata/rest-api.json", "route POST /legacy left out")
	for _, w := range []string{"function_name: token-auth", "event_type: TOKEN", "result_ttl: 60s", "identity_validation_expression: ^Bearer .+$",
		"gateway_responses:", "DEFAULT_4XX:", "Access-Control-Allow-Origin: '''*'''"} {
		if !strings.Contains(text, w) {
			t.Errorf("output lacks %q:\n%s", w, text)
		}
	}
	if code, h, body := do(t, "GET", base+"/ping"); code != 202 || body != `{"pong":true}` || h.Get("X-Mock") != "yes" {
		t.Errorf("GET /ping = %d %q %v", code, body, h)
	}
	if code, _, body := do(t, "GET", base+"/pets/5"); code != 200 || body != "GET /pets/5 user= source=portcullis" {
		t.Errorf("GET /pets/5 = %d %q", code, body)
	}
	for _, p := range []string{"/legacy"} {
		// The definition's DEFAULT_4XX gateway response adds its CORS
		// header to the gateway's own 404.
		if code, h, _ := do(t, "GET", base+p); code != 404 || h.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("GET %s = %d, Access-Control-Allow-Origin %q; want 404 (left out) with DEFAULT_4XX's *", p, code, h.Get("Access-Control-Allow-Origin"))
		}
	}
	if _, h, _ := do(t, "GET", base+"/ping"); h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("GET /ping has Access-Control-Allow-Origin %q: a gateway response header on an integration's answer", h.Get("Access-Control-Allow-Origin"))
	}
}

// TestServeAPIKeyDefinition: a REST API export whose method requires an API
// key (security api_key, x-amazon-apigateway-api-key-source) is served
// with api_key_required once the user has made a usage plan and a key as
// the import's notes say: no key or a wrong one is 403, the key 200.
func TestServeAPIKeyDefinition(t *testing.T) {
	var key string
	prepare := func(cfg string) {
		f, _ := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
		f.WriteString("usage_plans:\n  basic: {quota: {limit: 100, period: DAY}}\n")
		f.Close()
		var out, errOut bytes.Buffer
		if code := cli.Main([]string{"apikey", "create", "-c", cfg, "--name", "ci", "--plan", "basic"}, nil, &out, &errOut); code != 0 {
			t.Fatalf("apikey create: exit %d\n%s", code, errOut.String())
		}
		key = strings.TrimSpace(out.String())
	}
	base, text := importPrepareAndServe(t, "testdata/rest-api-keys.yaml", prepare,
		"portcullis apikey create -c CONFIG --name NAME --plan PLAN", "add one under usage_plans")
	for _, w := range []string{"- route: GET /reports\n    api_key_required: true\n", "api_keys:\n  source: HEADER\n", "  keys_file: api-keys.yaml\n"} {
		if !strings.Contains(text, w) {
			t.Errorf("output lacks %q:\n%s", w, text)
		}
	}
	for _, c := range []struct {
		path, key string
		status    int
		body      string
	}{
		{"/reports", "", 403, `{"message":"Forbidden"}`},
		{"/reports", "wrong-key-0123456789abcdefghij", 403, `{"message":"Forbidden"}`},
		{"/reports", key, 200, `{"reports":[]}`},
		{"/status", "", 200, ""},
	} {
		var h []string
		if c.key != "" {
			h = []string{"X-Api-Key", c.key}
		}
		if code, _, body := do(t, "GET", base+c.path, h...); code != c.status || body != c.body {
			t.Errorf("GET %s (key %t) = %d %q; want %d %q", c.path, c.key != "", code, body, c.status, c.body)
		}
	}
}

package sam_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/cli"
	"github.com/portcullis/portcullis/internal/server"
	"github.com/portcullis/portcullis/internal/testissuer"
)

// importFile runs `portcullis import FILE -o DIR/portcullis.yaml ARGS...`
// and returns the written file and stderr.
func importFile(t *testing.T, file string, args ...string) (cfg, stderr string) {
	t.Helper()
	cfg = filepath.Join(t.TempDir(), "portcullis.yaml")
	var out, errOut bytes.Buffer
	code := cli.Main(append([]string{"import", file, "-o", cfg}, args...), nil, &out, &errOut)
	if code != 0 {
		t.Fatalf("import %s: exit %d\n%s", file, code, errOut.String())
	}
	return cfg, errOut.String()
}

// serve starts the gateway on the configuration cfg (listening on a free
// port) and returns its base URL.
func serve(t *testing.T, cfg string) string {
	t.Helper()
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte("listen: 127.0.0.1:3000"), []byte("listen: 127.0.0.1:0"), 1)
	if err := os.WriteFile(cfg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code := cli.Main([]string{"check", "-c", cfg}, nil, &out, &out); code != 0 {
		t.Fatalf("check refused the imported configuration:\n%s\n%s", out.String(), data)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := make(chan string, 1)
	go func() {
		done <- server.Run(ctx, server.Options{ConfigPath: cfg, Started: func(l, _ net.Addr) { started <- "http://" + l.String() }})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case base := <-started:
		return base
	case err := <-done:
		t.Fatalf("serve: %v\n%s", err, data)
	}
	return ""
}

type exchange struct {
	method, path string
	header       []string
	status       int
	body         string // the whole body, or a part of it when contains is set
	contains     bool
}

func check(t *testing.T, base string, cases []exchange) {
	t.Helper()
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, base+c.path, nil)
		for i := 0; i+1 < len(c.header); i += 2 {
			req.Header.Set(c.header[i], c.header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := strings.TrimSpace(string(b))
		if resp.StatusCode != c.status || (!c.contains && body != c.body) || (c.contains && !strings.Contains(body, c.body)) {
			t.Errorf("%s %s %v = %d %s; want %d %s", c.method, c.path, c.header, resp.StatusCode, body, c.status, c.body)
		}
	}
}

// TestServeHTTPAPIWithJWT: an HTTP API with a JWT authorizer as default, a
// public route and scopes, Go functions (provided.al2023) built from
// source at start; the table the functions are told about is a
// placeholder filled from the environment.
func TestServeHTTPAPIWithJWT(t *testing.T) {
	iss := testissuer.New(t)
	cfg, stderr := importFile(t, "testdata/http-jwt/template.yaml",
		"--parameter", "IssuerUrl="+iss.URL, "--parameter", "Audience="+testissuer.Audience)
	for _, want := range []string{"Schedule event", "PetsTable", "Architectures, Policies"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not list %q:\n%s", want, stderr)
		}
	}
	wantText(t, cfg, "\ncors:\n  allowOrigins: ['https://pets.example.com']\n  allowMethods: [GET, POST]\n  allowHeaders: [authorization]\n  maxAge: 600\n")
	t.Setenv("PetsTable", "pets-local")
	base := serve(t, cfg)
	reader := "Bearer " + iss.Mint(t, "k1", map[string]any{"scope": "pets/read"})
	nobody := "Bearer " + iss.Mint(t, "k1", map[string]any{"scope": "other"})
	check(t, base, []exchange{
		{"GET", "/health", nil, 200, `{"route":"GET /health","stage":"dev-us-east-1","table":"pets-local"}`, false},
		// CorsConfiguration: the gateway answers the preflight itself.
		{"OPTIONS", "/health", []string{"Origin", "https://pets.example.com", "Access-Control-Request-Method", "POST"}, 204, "", false},
		{"GET", "/pets", nil, 401, `{"message":"Unauthorized"}`, false},
		{"GET", "/pets", []string{"Authorization", nobody}, 403, `{"message":"Forbidden"}`, false},
		{"GET", "/pets", []string{"Authorization", reader}, 200, `{"route":"GET /pets","stage":"dev-us-east-1","sub":"alice","table":"pets-local"}`, false},
		{"GET", "/pets/7", []string{"Authorization", nobody}, 200, `{"id":"7","route":"GET /pets/{id}","stage":"dev-us-east-1","sub":"alice","table":"pets-local"}`, false},
		{"POST", "/pets", []string{"Authorization", reader}, 404, `{"message":"Not Found"}`, false},
	})
}

// TestServeRESTTokenAuthorizer: a REST API whose default authorizer is a
// Lambda TOKEN authorizer (go1.x, built from source), with a public route,
// a greedy ANY route, and an IAM route that is left out (404, never open).
func TestServeRESTTokenAuthorizer(t *testing.T) {
	cfg, stderr := importFile(t, "testdata/rest-token/template.yaml")
	if !strings.Contains(stderr, "route POST /admin left out: IAM") {
		t.Errorf("stderr does not say the IAM route is left out:\n%s", stderr)
	}
	base := serve(t, cfg)
	check(t, base, []exchange{
		{"GET", "/", []string{"Authorization", "Bearer allow-alice"}, 200, `{"principal":"alice","resource":"/","user":"alice"}`, false},
		{"GET", "/", []string{"Authorization", "Bearer deny-bob"}, 403, `{"Message":"User is not authorized to access this resource with an explicit deny"}`, false},
		{"GET", "/", nil, 401, `{"message":"Unauthorized"}`, false},
		{"GET", "/", []string{"Authorization", "Bearer nobody"}, 401, `{"message":"Unauthorized"}`, false},
		{"GET", "/", []string{"Authorization", "Basic x"}, 401, `{"message":"Unauthorized"}`, false},
		{"GET", "/", []string{"Authorization", "Bearer fail"}, 500, `{"message":null}`, false},
		{"DELETE", "/items/a/b", []string{"Authorization", "Bearer allow-carol"}, 200, `{"principal":"carol","proxy":"a/b","resource":"/items/{proxy+}","user":"carol"}`, false},
		{"GET", "/public", nil, 200, `{"principal":null,"resource":"/public","user":null}`, false},
		{"POST", "/admin", []string{"Authorization", "Bearer allow-alice"}, 404, `{"message":"Not Found"}`, false},
	})
}

// TestServeHTTPAPILambdaAuthorizer: the implicit HTTP API of a JSON
// template (long-form intrinsics), its default authorizer from Globals a
// Lambda REQUEST authorizer with simple responses; a $default route.
func TestServeHTTPAPILambdaAuthorizer(t *testing.T) {
	cfg, stderr := importFile(t, "testdata/http-lambda/template.json", "--strict")
	if stderr != "" {
		t.Errorf("stderr: %s", stderr)
	}
	base := serve(t, cfg)
	check(t, base, []exchange{
		{"GET", "/things/a", []string{"x-api-token", "letmein"}, 200, `{"path":"/things/a","route":"ANY /things/{proxy+}","user":"alice"}`, false},
		{"PUT", "/elsewhere", []string{"x-api-token", "letmein"}, 200, `{"path":"/elsewhere","route":"$default","user":"alice"}`, false},
		{"GET", "/things/a", []string{"x-api-token", "wrong"}, 403, `{"message":"Forbidden"}`, false},
		{"GET", "/things/a", nil, 401, `{"message":"Unauthorized"}`, false},
	})
}

// TestServeRESTInclude: a REST API whose Swagger definition is a separate
// file brought in with the AWS::Include transform, its intrinsics resolved
// against the template (function ARNs, the authorizer's role), with a
// Lambda TOKEN authorizer and Go functions (go1.x, built from source); the
// value imported from another stack is a placeholder the test sets.
func TestServeRESTInclude(t *testing.T) {
	cfg, stderr := importFile(t, "testdata/rest-include/template.yaml")
	wantText(t, cfg, "identity_validation_expression: ^Bearer .+$", "result_ttl: 300s", "stage: Prod",
		"USER_POOL_ID: ${ImportValue_USER_POOL_ID}", "allowHeaders: [Content-Type, Authorization]",
		"DEFAULT_4XX:", "Access-Control-Allow-Origin: '''*'''")
	wantStderr(t, stderr, "a REST API's Cors only answers preflights",
		"authorizerCredentials (an IAM role to invoke the function) is not needed locally")
	if strings.Contains(stderr, "gateway-responses") {
		t.Errorf("the gateway responses were not carried over:\n%s", stderr)
	}
	if strings.Contains(stderr, "AuthorizerRole_Arn") {
		t.Errorf("the authorizer's role became a placeholder to set, though nothing local uses it:\n%s", stderr)
	}
	t.Setenv("ImportValue_USER_POOL_ID", "us-east-1_Example")
	base := serve(t, cfg)
	check(t, base, []exchange{
		{"GET", "/", []string{"Authorization", "Bearer allow-alice"}, 200, `{"principal":"alice","resource":"/","user":"alice"}`, false},
		{"GET", "/", []string{"Authorization", "Bearer deny-bob"}, 403, explicitDeny, false},
		{"GET", "/", nil, 401, unauthorized, false},
		{"GET", "/", []string{"Authorization", "Basic x"}, 401, unauthorized, false},
		{"GET", "/", []string{"Authorization", "Bearer fail"}, 500, authFailed, false},
		{"DELETE", "/items/a/b", []string{"Authorization", "Bearer allow-carol"}, 200, `{"principal":"carol","proxy":"a/b","resource":"/items/{proxy+}","user":"carol"}`, false},
		{"GET", "/public", nil, 200, `{"principal":null,"resource":"/public","user":null}`, false},
	})
	// The definition's DEFAULT_4XX gateway response puts its CORS header on
	// the authorizer's 401 and 403.
	for _, auth := range []string{"", "Bearer deny-bob"} {
		req, _ := http.NewRequest("GET", base+"/", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 4 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("GET / (%q) = %d, Access-Control-Allow-Origin %q", auth, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	}
}

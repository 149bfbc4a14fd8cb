package sam_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/cli"
	"github.com/portcullis/portcullis/internal/testbin"
)

// python3OnPath puts the directory of the real python3 executable first in
// PATH, so that the imported configuration's default interpreter (python3
// from PATH) is the real one: a pyenv shim takes about a second to start,
// which each function's first invocation would wait for.
func python3OnPath(t *testing.T) {
	t.Helper()
	py := testbin.Tool(t, "", "python3", "apt-get install python3")
	out, err := exec.Command(py, "-c", "import sys; print(sys.executable)").Output()
	exe := strings.TrimSpace(string(out))
	if err != nil || exe == "" {
		t.Fatalf("%s does not run: %v", py, err)
	}
	dir := t.TempDir()
	if err := os.Symlink(exe, filepath.Join(dir, "python3")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// wantText checks that the file at path holds each of want.
func wantText(t *testing.T, path string, want ...string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !strings.Contains(string(data), w) {
			t.Errorf("%s lacks %q:\n%s", filepath.Base(path), w, data)
		}
	}
}

func wantStderr(t *testing.T, stderr string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
}

const (
	unauthorized = `{"message":"Unauthorized"}`
	explicitDeny = `{"Message":"User is not authorized to access this resource with an explicit deny"}`
	authFailed   = `{"message":null}`
)

// TestServePython: a REST API with Python functions (python3.12, the
// handlers in testdata/python): a Lambda REQUEST authorizer whose identity
// is a header and a query string, cached for REST's default 300 s, and a
// Cognito authorizer whose pool and app client are placeholders; the SSM
// value the functions get is a placeholder too. Each is set by the test, as
// a user would, and the gateway runs the functions in real python3
// processes with the timeout and memory size the template gives them.
func TestServePython(t *testing.T) {
	python3OnPath(t)
	cfg, stderr := importFile(t, "testdata/python/template.yaml")
	wantText(t, cfg,
		"runtime: python3.12", "handler: app.lambda_handler", "/testdata/python/hello_world\n",
		"handler: app.handler", "/testdata/python/authorizer\n", "memory_mb: 256", "timeout: 3s",
		"event_type: REQUEST", "identity_source: [method.request.header.Authorization, method.request.querystring.auth]", "result_ttl: 300s",
		"issuer: https://cognito-idp.us-east-1.amazonaws.com/${UserPool}", "audience: ['${UserPoolClient}']",
		"authorization_scopes: [email]", "PARAM: ${SSM__pets_param}", "payload_format_version: \"1.0\"",
	)
	wantStderr(t, stderr, "placeholder", "SSM__pets_param", "UserPoolClient", "AWS::Cognito::UserPool is not created")
	t.Setenv("SSM__pets_param", "from-ssm")
	t.Setenv("UserPool", "us-east-1_Example")
	t.Setenv("UserPoolClient", "example-client")
	base := serve(t, cfg)

	allow := []string{"Authorization", "Bearer allow-alice"}
	hello := func(calls, tenant string) string {
		return `{"authorizer_calls":"` + calls + `","memory":"256","param":"from-ssm","principal":"alice","resource":"/hello",` +
			`"stage":"dev","tenant":"` + tenant + `","timeout":"3","user":"alice"}`
	}
	check(t, base, []exchange{
		{"GET", "/hello?auth=acme", allow, 200, hello("1", "acme"), false},
		// The same identity (header and query string) within 300 s: the
		// cached answer, the authorizer is not called again.
		{"GET", "/hello?auth=acme", allow, 200, hello("1", "acme"), false},
		{"GET", "/hello?auth=other", allow, 200, hello("2", "other"), false},
		{"GET", "/hello?auth=acme", []string{"Authorization", "Bearer deny-bob"}, 403, explicitDeny, false},
		{"GET", "/hello?auth=acme", []string{"Authorization", "Bearer nobody"}, 401, unauthorized, false},
		{"GET", "/hello?auth=acme", []string{"Authorization", "Bearer fail"}, 500, authFailed, false},
		// An identity source missing: 401 without calling the authorizer.
		{"GET", "/hello", allow, 401, unauthorized, false},
		{"GET", "/hello?auth=acme", nil, 401, unauthorized, false},
		// The Cognito authorizer: no token, and a token that is no JWT.
		{"GET", "/me", nil, 401, unauthorized, false},
		{"GET", "/me", []string{"Authorization", "Bearer not-a-jwt"}, 401, unauthorized, false},
	})
}

// TestServeNode: the implicit HTTP API with Node.js functions (nodejs20.x,
// the handlers in testdata/node, an ES module and a CommonJS file): a
// Lambda authorizer answering simple responses as default, with no
// ReauthorizeEvery, so it is called for every request; a Cognito JWT
// authorizer with scopes whose pool id is a parameter without default; a
// public route; a table name that is a placeholder; a Java function that is
// invoked on AWS instead and so is not called here.
func TestServeNode(t *testing.T) {
	testbin.Tool(t, "", "node", "apt-get install nodejs")
	cfg, stderr := importFile(t, "testdata/node/template.yaml")
	wantText(t, cfg,
		"runtime: nodejs20.x", "handler: handlers/items.getAll", "handler: handlers/auth.handler", "/testdata/node/src\n",
		"memory_mb: 512", "timeout: 5s", "TABLE_NAME: ${ItemsTable}",
		"payload_format_version: \"2.0\"", "enable_simple_responses: true", "result_ttl: 0s",
		"issuer: https://cognito-idp.us-east-1.amazonaws.com/${UserPoolId}", "audience: [abc123]",
		"authorization_scopes: [items/read]", "runtime: invoke", "function_name: Report",
		"\ncors:\n  allowOrigins: ['*']\n",
	)
	wantStderr(t, stderr, "runtime java21 is not run locally", "parameter UserPoolId has no default", "ItemsTable")
	if strings.Contains(stderr, "CorsConfiguration") {
		t.Errorf("CorsConfiguration: true is still noted as not carried over:\n%s", stderr)
	}
	t.Setenv("ItemsTable", "items-local")
	t.Setenv("UserPoolId", "us-east-1_Example")
	base := serve(t, cfg)

	allow := []string{"Authorization", "Bearer allow-alice"}
	items := func(route, id, user, calls string) string {
		return `{"route":"` + route + `","id":` + id + `,"user":` + user + `,"authorizerCalls":` + calls +
			`,"table":"items-local","timeout":"5","memory":"512"}`
	}
	check(t, base, []exchange{
		{"GET", "/items", allow, 200, items("GET /items", "null", `"alice"`, "1"), false},
		// No TTL: the same token calls the authorizer again.
		{"GET", "/items", allow, 200, items("GET /items", "null", `"alice"`, "2"), false},
		{"GET", "/items/7", allow, 200, items("GET /items/{id}", `"7"`, `"alice"`, "3"), false},
		{"GET", "/items/7?crash=1", allow, 500, `{"message":"Internal Server Error"}`, false},
		{"GET", "/items", []string{"Authorization", "Bearer deny-bob"}, 403, `{"message":"Forbidden"}`, false},
		{"GET", "/items", []string{"Authorization", "Bearer nobody"}, 401, unauthorized, false},
		{"GET", "/items", []string{"Authorization", "Bearer fail"}, 500, authFailed, false},
		{"GET", "/items", nil, 401, unauthorized, false},
		{"GET", "/health", nil, 200, items("GET /health", "null", "null", "null"), false},
		{"GET", "/me", nil, 401, unauthorized, false},
		{"GET", "/me", []string{"Authorization", "Bearer not-a-jwt"}, 401, unauthorized, false},
		{"POST", "/items", allow, 404, `{"message":"Not Found"}`, false},
	})
}

// TestImportStrict: with --strict, anything not carried over is exit 1 and
// nothing is written; an unknown --parameter is an error too.
func TestImportStrict(t *testing.T) {
	out := filepath.Join(t.TempDir(), "portcullis.yaml")
	var stdout, stderr bytes.Buffer
	if code := cli.Main([]string{"import", "testdata/http-jwt/template.yaml", "--strict", "-o", out}, nil, &stdout, &stderr); code != 1 {
		t.Errorf("--strict with notes: exit %d, want 1\n%s", code, stderr.String())
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("--strict wrote the file anyway")
	}
	if code := cli.Main([]string{"import", "testdata/http-jwt/template.yaml", "--parameter", "Nope=1"}, nil, &stdout, &stderr); code != 1 {
		t.Errorf("unknown parameter: exit %d, want 1", code)
	}
	if code := cli.Main([]string{"import"}, nil, &stdout, &stderr); code != 2 {
		t.Errorf("no file: exit %d, want 2", code)
	}
}

// TestServePythonHTTPPayload1: an HTTP API whose default authorizer is a
// Python Lambda authorizer on payload format 1.0 (it answers with an IAM
// policy) invoked through a role, the shape of AWS's serverless-samples
// bookings API: handlers in a package path with no CodeUri, payload 1.0
// written as a number, the table a placeholder the test sets.
func TestServePythonHTTPPayload1(t *testing.T) {
	python3OnPath(t)
	cfg, stderr := importFile(t, "testdata/python-http/template.yaml")
	wantText(t, cfg, "handler: src/api/locations.lambda_handler", "payload_format_version: \"1.0\"", "event_type: REQUEST",
		"identity_source: [$request.header.Authorization]", "result_ttl: 0s", "timeout: 100s", "LOCATIONS_TABLE: ${LocationsTable}")
	wantStderr(t, stderr, "FunctionInvokeRole (at authorizers.LambdaAuthorizer): an IAM role to invoke the function is not needed locally", "AccessLogSettings.DestinationArn (at access_log.output): DestinationArn: the access log goes to stderr")
	wantText(t, cfg, `format: '{ "requestId":"$context.requestId", "status":"$context.status" }'`)
	t.Setenv("LocationsTable", "locations-local")
	base := serve(t, cfg)
	check(t, base, []exchange{
		{"GET", "/locations/7", []string{"Authorization", "Bearer allow-alice"}, 200,
			`{"location":"7","route":"GET /locations/{locationid}","table":"locations-local","user":"alice"}`, false},
		{"GET", "/locations", []string{"Authorization", "Bearer allow-bob"}, 200,
			`{"location":null,"route":"GET /locations","table":"locations-local","user":"bob"}`, false},
		{"GET", "/locations", []string{"Authorization", "Bearer deny-eve"}, 403, explicitDeny, false},
		{"GET", "/locations", []string{"Authorization", "Bearer nobody"}, 401, unauthorized, false},
		{"GET", "/locations", []string{"Authorization", "Bearer fail"}, 500, authFailed, false},
		{"GET", "/locations", nil, 401, unauthorized, false},
	})
}

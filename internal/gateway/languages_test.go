package gateway

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testbin"
	"github.com/portcullis/portcullis/internal/testissuer"
	"github.com/portcullis/portcullis/internal/testlog"
)

// pythonWithJWT is a python3 that can import PyJWT and cryptography:
// PORTCULLIS_PYTHON_JWT, else Debian's /usr/bin/python3 (where
// python3-jwt and python3-cryptography install them).
func pythonWithJWT(t *testing.T) string {
	t.Helper()
	py := os.Getenv("PORTCULLIS_PYTHON_JWT")
	if py == "" {
		py = "/usr/bin/python3"
	}
	if err := exec.Command(py, "-c", "import jwt, cryptography").Run(); err != nil {
		testbin.Missing(t, "MISSING: a python3 with PyJWT and cryptography at "+py+
			" (Debian: apt-get install python3-jwt python3-cryptography), or set PORTCULLIS_PYTHON_JWT: "+err.Error())
	}
	return py
}

// python3Tool is python3 from PATH resolved to the real executable (a
// pyenv shim takes about a second to start, which a function's first
// invocation would wait for).
func python3Tool(t *testing.T) string {
	t.Helper()
	py := testbin.Tool(t, "", "python3", "apt-get install python3")
	out, err := exec.Command(py, "-c", "import sys; print(sys.executable)").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("%s does not run: %v", py, err)
	}
	return strings.TrimSpace(string(out))
}

func nodeTool(t *testing.T) string {
	t.Helper()
	return testbin.Tool(t, "", "node", "apt-get install nodejs")
}

// writeFiles writes files under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSeedPythonAuthorizer runs the seed article's PyJWT authorizer, as
// printed, against a real issuer, set up as the article's AWS API is: a REST
// TOKEN authorizer on the Authorization header with API Gateway's default
// result cache (300 s), a Lambda backend for GET /items reading the
// authorizer's context, and the article's method ARN
// (arn:aws:execute-api:us-east-1:123456789012:your-api-id/prod/GET/items).
// The article's code fetches the JWKS on every invocation, so the issuer's
// JWKS fetches count the authorizer's invocations. Its own error messages
// are "Unauthorized: <reason>", not exactly "Unauthorized", so for a bad
// token API Gateway answers 500, and so does Portcullis.
func TestSeedPythonAuthorizer(t *testing.T) {
	t.Parallel()
	code := pythonSeed(t)
	py := pythonWithJWT(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"authorizer/lambda_function.py": code,
		// The article's backend is a Lambda function; on AWS (a REST API,
		// payload 1.0) a Lambda authorizer's context is at
		// requestContext.authorizer.KEY.
		"backend/app.py": `import json
def lambda_handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"]["authorizer"], sort_keys=True)}
`,
	})
	iss := testissuer.New(t)
	iss.AddKey(t, "k2", "rsa")
	iss.Unpublish("k2")
	be, got := backend(t)
	srv, _, _ := gatewayServer(t, fmt.Sprintf(`listen: 127.0.0.1:0
api: {id: your-api-id, stage: prod, region: us-east-1, account_id: "123456789012"}
functions:
  seed:
    runtime: python3.12
    handler: lambda_function.lambda_handler
    code: %[1]q
    interpreter: %[2]s
    env: {JWKS_URL: "%[3]s/keys", EXPECTED_AUDIENCE: %[4]s, EXPECTED_ISSUER: "%[3]s"}
  items: {runtime: python3.12, handler: app.lambda_handler, code: %[5]q, interpreter: %[2]s}
authorizers:
  seed: {type: lambda, function: seed, payload_format_version: "1.0", event_type: TOKEN, identity_source: [method.request.header.Authorization]}
routes:
  - route: GET /items
    authorizer: seed
    integration: {type: lambda_proxy, function: items, payload_format_version: "1.0"}
  - route: GET /items/{id}
    authorizer: seed
    integration:
      type: http_proxy
      uri: %[6]s/items/{id}
      request_parameters:
        "overwrite:header.x-user": $context.authorizer.userId
        "overwrite:header.x-tenant": $context.authorizer.tenantId
        "overwrite:header.x-roles": $context.authorizer.roles
`, filepath.Join(dir, "authorizer"), py, iss.URL, testissuer.Audience, filepath.Join(dir, "backend"), be.URL), Deps{})
	h := &harness{gw: srv}
	invocations := func() int64 { return iss.JWKSFetches.Load() }

	valid := bearer(iss.Mint(t, "k1", map[string]any{"sub": "alice", "tenant_id": "acme", "roles": []string{"admin", "editor"}}))
	want := `{"principalId": "alice", "roles": "admin,editor", "tenantId": "acme", "userId": "alice"}`
	for i := range 2 {
		if resp, body := h.do(t, "GET", "/items", valid, nil); resp.StatusCode != 200 || body != want {
			t.Fatalf("valid token, request %d: %d %s, want 200 %s", i+1, resp.StatusCode, body, want)
		}
	}
	if n := invocations(); n != 1 {
		t.Errorf("the authorizer ran %d times for two requests with one token; API Gateway's default cache runs it once", n)
	}
	// The cached policy allows only the ARN it was returned for.
	if resp, body := h.do(t, "GET", "/items/42", valid, nil); resp.StatusCode != 403 ||
		body != `{"Message":"User is not authorized to access this resource"}` {
		t.Errorf("cached policy for /GET/items on /items/42: %d %s, want AWS's 403", resp.StatusCode, body)
	}
	if n := invocations(); n != 1 {
		t.Errorf("a cached token invoked the authorizer again (%d invocations)", n)
	}
	// Another token is allowed for /items/42 (its methodArn), and the
	// context reaches an http_proxy backend through parameter mapping.
	other := bearer(iss.Mint(t, "k1", map[string]any{"sub": "bob"}))
	if resp, body := h.do(t, "GET", "/items/42", other, nil); resp.StatusCode != 200 {
		t.Fatalf("a second token on /items/42: %d %s", resp.StatusCode, body)
	}
	if s := <-got; s.Path != "/items/42" || s.Header.Get("X-User") != "bob" || s.Header.Get("X-Tenant") != "default" || s.Header.Get("X-Roles") != "user" {
		t.Errorf("context to the backend: %s %v", s.Path, s.Header)
	}

	before := invocations()
	cases := map[string]http.Header{
		"unpublished key": bearer(iss.Mint(t, "k2", nil)),
		"expired":         bearer(iss.Mint(t, "k1", map[string]any{"exp": time.Now().Add(-time.Hour).Unix()})),
		"wrong audience":  bearer(iss.Mint(t, "k1", map[string]any{"aud": "other"})),
		"wrong issuer":    bearer(iss.Mint(t, "k1", map[string]any{"iss": "https://your-auth-provider.com/"})),
		"no sub":          bearer(iss.Mint(t, "k1", map[string]any{"sub": nil})),
		"not a jwt":       bearer("not-a-jwt"),
		"not bearer":      {"Authorization": {"Basic YWxpY2U6cw=="}},
	}
	for name, hdr := range cases {
		resp, body := h.do(t, "GET", "/items", hdr, nil)
		if resp.StatusCode != 500 || body != `{"message":null}` || resp.Header.Get("x-amzn-ErrorType") != "AuthorizerConfigurationException" {
			t.Errorf("%s: %d %s %v; want AWS's 500 (the seed's messages are not exactly Unauthorized)", name, resp.StatusCode, body, resp.Header)
		}
	}
	// "not bearer" fails before the code fetches the JWKS.
	if n := invocations() - before; n != int64(len(cases)-1) {
		t.Errorf("%d JWKS fetches for %d failing tokens that reach the fetch", n, len(cases)-1)
	}
	// Invoked without a token, the code would raise "Unauthorized: Missing
	// authorization token" (a 500): the 401 shows it was not invoked.
	if resp, body := h.do(t, "GET", "/items", nil, nil); resp.StatusCode != 401 || body != `{"message":"Unauthorized"}` {
		t.Errorf("no token: %d %s", resp.StatusCode, body)
	}
}

// TestSeedNodeAuthorizer runs the seed article's Node.js authorizer, with
// the bracket lines its page lost restored and nothing else changed, set up
// as the article does on AWS: a Node.js 10.x function as a Lambda (TOKEN)
// authorizer on GET / of a REST API, token source Authorization, no
// validation expression and no cache.
func TestSeedNodeAuthorizer(t *testing.T) {
	t.Parallel()
	code := nodeSeed(t)
	nd := nodeTool(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"authorizer/index.js": code})
	srv, _, _ := gatewayServer(t, fmt.Sprintf(`listen: 127.0.0.1:0
api: {stage: Prod}
functions:
  seed: {runtime: nodejs10.x, handler: index.handler, code: %q, interpreter: %s}
authorizers:
  lambda-authorizer-test: {type: lambda, function: seed, payload_format_version: "1.0", event_type: TOKEN, identity_source: [method.request.header.Authorization], result_ttl: 0s}
routes:
  - {route: GET /, authorizer: lambda-authorizer-test, integration: {type: mock, body: hello}}
`, filepath.Join(dir, "authorizer"), nd), Deps{})
	h := &harness{gw: srv}
	const explicitDeny = `{"Message":"User is not authorized to access this resource with an explicit deny"}`
	for _, tc := range []struct {
		name   string
		header http.Header
		status int
		body   string
	}{
		// allowPolicy: principalId "", an Allow on the methodArn.
		{"OK", http.Header{"Authorization": {"OK"}}, 200, "hello"},
		// The article's console test and its Postman call: denyAllPolicy.
		{"NOT OK", http.Header{"Authorization": {"NOT OK"}}, 403, explicitDeny},
		// The raw header value is the token: a Bearer prefix is not "OK".
		{"Bearer OK", bearer("OK"), 403, explicitDeny},
		{"OK again", http.Header{"Authorization": {"OK"}}, 200, "hello"},
		// No token source, no invocation: API Gateway's own 401.
		{"no header", nil, 401, `{"message":"Unauthorized"}`},
	} {
		if resp, body := h.do(t, "GET", "/", tc.header, nil); resp.StatusCode != tc.status || body != tc.body {
			t.Errorf("%s: %d %s, want %d %s", tc.name, resp.StatusCode, body, tc.status, tc.body)
		}
	}
}

// TestLanguageFunctions: Python and Node.js authorizers and lambda_proxy
// backends through the gateway: every answer of the authorizer contract,
// the authorizer's context reaching the backend function, and an init
// error answered as AWS does.
func TestLanguageFunctions(t *testing.T) {
	t.Parallel()
	py := python3Tool(t)
	nd := nodeTool(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"py/auth.py": `def handler(event, context):
    token = event["identitySource"][0]
    if token == "fail":
        raise RuntimeError("directory down")
    if token not in ("alice", "mallory"):
        raise Exception("Unauthorized")
    effect = "Allow" if token == "alice" else "Deny"
    return {"principalId": token, "policyDocument": {"Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["routeArn"]}]},
            "context": {"lang": "python", "user": token}}
`,
		"py/backend.py": `import json
def handler(event, context):
    auth = event["requestContext"]["authorizer"]["lambda"]
    return {"statusCode": 201, "headers": {"x-lang": "python"},
            "body": json.dumps({"user": auth["user"], "via": auth["lang"], "path": event["rawPath"]})}
`,
		"py/broken.py": "import no_such_module_anywhere\n",
		"js/auth.js": `exports.handler = (event, context, callback) => {
  const token = event.identitySource[0];
  if (token === 'fail') return callback(new Error('directory down'));
  if (token !== 'alice' && token !== 'mallory') return callback('Unauthorized');
  callback(null, { principalId: token, policyDocument: { Version: '2012-10-17',
    Statement: [{ Action: 'execute-api:Invoke', Effect: token === 'alice' ? 'Allow' : 'Deny', Resource: event.routeArn }] },
    context: { lang: 'node', user: token } });
};
`,
		"js/backend.mjs": `export const handler = async (event) => ({ statusCode: 201, headers: { 'x-lang': 'node' },
  body: JSON.stringify({ user: event.requestContext.authorizer.lambda.user, via: event.requestContext.authorizer.lambda.lang, path: event.rawPath }) });
`,
		"js/broken.js": "exports.handler = async () => {\n",
	})
	srv, _, _ := gatewayServer(t, fmt.Sprintf(`listen: 127.0.0.1:0
functions:
  py-auth: {runtime: python3.12, handler: auth.handler, code: %[3]s/py, interpreter: %[1]s}
  py-backend: {runtime: python3.12, handler: backend.handler, code: %[3]s/py, interpreter: %[1]s}
  py-broken: {runtime: python3.13, handler: broken.handler, code: %[3]s/py, interpreter: %[1]s}
  js-auth: {runtime: nodejs20.x, handler: auth.handler, code: %[3]s/js, interpreter: %[2]s}
  js-backend: {runtime: nodejs22.x, handler: backend.handler, code: %[3]s/js, interpreter: %[2]s}
  js-broken: {runtime: nodejs20.x, handler: broken.handler, code: %[3]s/js, interpreter: %[2]s}
authorizers:
  py: {type: lambda, function: py-auth, payload_format_version: "2.0", identity_source: [$request.header.Authorization], result_ttl: 0s}
  js: {type: lambda, function: js-auth, payload_format_version: "2.0", identity_source: [$request.header.Authorization], result_ttl: 0s}
  py-broken: {type: lambda, function: py-broken, payload_format_version: "1.0", event_type: TOKEN, identity_source: [method.request.header.Authorization], result_ttl: 0s}
routes:
  - {route: "GET /py/{x}", authorizer: py, integration: {type: lambda_proxy, function: py-backend}}
  - {route: "GET /js/{x}", authorizer: js, integration: {type: lambda_proxy, function: js-backend}}
  - {route: GET /py-broken, authorizer: py-broken, integration: {type: mock}}
  - {route: GET /js-broken, integration: {type: lambda_proxy, function: js-broken}}
`, py, nd, dir), Deps{})
	h := &harness{gw: srv}
	for _, lang := range []string{"py", "js"} {
		want := map[string]string{"py": "python", "js": "node"}[lang]
		for _, tc := range []struct {
			token  string
			status int
			body   string
		}{
			{"alice", 201, `{"user": "alice", "via": "python", "path": "/py/1"}`},
			{"mallory", 403, `{"Message":"User is not authorized to access this resource with an explicit deny"}`},
			{"nobody", 401, `{"message":"Unauthorized"}`},
			{"fail", 500, `{"message":null}`},
		} {
			body := tc.body
			if lang == "js" && tc.status == 201 {
				body = `{"user":"alice","via":"node","path":"/js/1"}`
			}
			resp, got := h.do(t, "GET", "/"+lang+"/1", http.Header{"Authorization": {tc.token}}, nil)
			if resp.StatusCode != tc.status || got != body {
				t.Errorf("%s %s: %d %s, want %d %s", lang, tc.token, resp.StatusCode, got, tc.status, body)
			}
			if tc.status == 201 && resp.Header.Get("X-Lang") != want {
				t.Errorf("%s: x-lang %q", lang, resp.Header.Get("X-Lang"))
			}
		}
	}
	if resp, body := h.do(t, "GET", "/py-broken", http.Header{"Authorization": {"alice"}}, nil); resp.StatusCode != 500 || body != `{"message":null}` {
		t.Errorf("authorizer failing at import: %d %s", resp.StatusCode, body)
	}
	if resp, body := h.do(t, "GET", "/js-broken", nil, nil); resp.StatusCode != 500 || !strings.Contains(body, "Internal Server Error") {
		t.Errorf("backend failing at import: %d %s", resp.StatusCode, body)
	}
}

// TestFunctionFailureNamesTheInvocation: when a Python function fails, as
// the seed article's authorizer does for every bad token, the gateway's
// line about the failure (which carries the request id the client got as
// apigw-requestid) names the invocation whose id labels the function's own
// output, so the function's print() lines and traceback can be found from
// the failed request; for an authorizer and for a lambda_proxy backend.
func TestFunctionFailureNamesTheInvocation(t *testing.T) {
	t.Parallel()
	py := python3Tool(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"auth.py": "def handler(event, context):\n    print('checking the token')\n    raise RuntimeError('directory down')\n",
		"app.py":  "def handler(event, context):\n    print('loading the order')\n    raise KeyError('claims')\n",
	})
	logger, logs := testlog.New()
	srv, _, _ := gatewayServer(t, fmt.Sprintf(`listen: 127.0.0.1:0
functions:
  auth: {runtime: python3.12, handler: auth.handler, code: %[1]q, interpreter: %[2]s}
  app: {runtime: python3.12, handler: app.handler, code: %[1]q, interpreter: %[2]s}
authorizers:
  tokens: {type: lambda, function: auth, payload_format_version: "1.0", event_type: TOKEN, identity_source: [method.request.header.Authorization]}
routes:
  - {route: GET /authorized, authorizer: tokens, integration: {type: mock}}
  - {route: GET /orders, integration: {type: lambda_proxy, function: app}}
`, dir, py), Deps{Logger: logger})
	h := &harness{gw: srv}
	for _, tc := range []struct {
		path, printed, failure string
		status                 int
	}{
		{"/authorized", "checking the token", "lambda authorizer: function returned an error", 500},
		{"/orders", "loading the order", "lambda proxy: function returned an error", 500},
	} {
		resp, body := h.do(t, "GET", tc.path, http.Header{"Authorization": {"token"}}, nil)
		if resp.StatusCode != tc.status {
			t.Fatalf("%s: %d %s", tc.path, resp.StatusCode, body)
		}
		gatewayID := resp.Header.Get("Apigw-Requestid")
		// The function's output is copied from its process's pipes and
		// may be logged after the answer: wait for it.
		var invocation string
		for invocation == "" {
			for _, r := range logs.Records() {
				if r["msg"] == "function output" && r["line"] == tc.printed {
					invocation, _ = r["request_id"].(string)
				}
			}
			if invocation == "" {
				time.Sleep(10 * time.Millisecond)
			}
		}
		var found bool
		for _, r := range logs.Records() {
			if r["msg"] != tc.failure || r["request_id"] != gatewayID {
				continue
			}
			found = true
			if r["function_request_id"] != invocation {
				t.Errorf("%s: the failure line %v does not name the invocation %s whose output says %q", tc.path, r, invocation, tc.printed)
			}
			if r["error_type"] == nil {
				t.Errorf("%s: the failure line %v has no error_type", tc.path, r)
			}
		}
		if !found {
			t.Errorf("%s: no %q line with request_id %s in\n%s", tc.path, tc.failure, gatewayID, logs.String())
		}
	}
}

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
// printed, against a real issuer. Its own error messages are
// "Unauthorized: <reason>", not exactly "Unauthorized", so for a bad token
// API Gateway answers 500, and so does Portcullis.
func TestSeedPythonAuthorizer(t *testing.T) {
	t.Parallel()
	code := pythonSeed(t)
	py := pythonWithJWT(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"authorizer/lambda_function.py": code})
	iss := testissuer.New(t)
	iss.AddKey(t, "k2", "rsa")
	iss.Unpublish("k2")
	be, got := backend(t)
	srv, _, _ := gatewayServer(t, fmt.Sprintf(`listen: 127.0.0.1:0
functions:
  seed:
    runtime: python3.12
    handler: lambda_function.lambda_handler
    code: %q
    interpreter: %s
    env: {JWKS_URL: "%s/keys", EXPECTED_AUDIENCE: %s, EXPECTED_ISSUER: "%s"}
authorizers:
  seed: {type: lambda, function: seed, payload_format_version: "1.0", event_type: TOKEN, identity_source: [method.request.header.Authorization], result_ttl: 0s}
routes:
  - route: GET /items
    authorizer: seed
    integration:
      type: http_proxy
      uri: %s/items
      request_parameters:
        "overwrite:header.x-user": $context.authorizer.userId
        "overwrite:header.x-tenant": $context.authorizer.tenantId
        "overwrite:header.x-roles": $context.authorizer.roles
`, filepath.Join(dir, "authorizer"), py, iss.URL, testissuer.Audience, iss.URL, be.URL), Deps{})
	h := &harness{gw: srv}
	valid := iss.Mint(t, "k1", map[string]any{"sub": "alice", "tenant_id": "acme", "roles": []string{"admin", "editor"}})
	if resp, body := h.do(t, "GET", "/items", bearer(valid), nil); resp.StatusCode != 200 {
		t.Fatalf("valid token: %d %s", resp.StatusCode, body)
	}
	if s := <-got; s.Header.Get("X-User") != "alice" || s.Header.Get("X-Tenant") != "acme" || s.Header.Get("X-Roles") != "admin,editor" {
		t.Errorf("context to the backend: %v", s.Header)
	}
	for name, hdr := range map[string]http.Header{
		"unpublished key": bearer(iss.Mint(t, "k2", nil)),
		"expired":         bearer(iss.Mint(t, "k1", map[string]any{"exp": time.Now().Add(-time.Hour).Unix()})),
		"wrong audience":  bearer(iss.Mint(t, "k1", map[string]any{"aud": "other"})),
		"not bearer":      {"Authorization": {"Basic YWxpY2U6cw=="}},
	} {
		resp, body := h.do(t, "GET", "/items", hdr, nil)
		if resp.StatusCode != 500 || body != `{"message":null}` || resp.Header.Get("x-amzn-ErrorType") != "AuthorizerConfigurationException" {
			t.Errorf("%s: %d %s %v; want AWS's 500 (the seed's messages are not exactly Unauthorized)", name, resp.StatusCode, body, resp.Header)
		}
	}
	if resp, _ := h.do(t, "GET", "/items", nil, nil); resp.StatusCode != 401 {
		t.Errorf("no token: %d", resp.StatusCode)
	}
}

// TestSeedNodeAuthorizer runs the seed article's Node.js authorizer, with
// the bracket lines its page lost restored and nothing else changed.
func TestSeedNodeAuthorizer(t *testing.T) {
	t.Parallel()
	code := nodeSeed(t)
	nd := nodeTool(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"authorizer/index.js": code})
	srv, _, _ := gatewayServer(t, fmt.Sprintf(`listen: 127.0.0.1:0
functions:
  seed: {runtime: nodejs20.x, handler: index.handler, code: %q, interpreter: %s}
authorizers:
  seed: {type: lambda, function: seed, payload_format_version: "1.0", event_type: TOKEN, identity_source: [method.request.header.Authorization]}
routes:
  - {route: GET /, authorizer: seed, integration: {type: mock, body: hello}}
`, filepath.Join(dir, "authorizer"), nd), Deps{})
	h := &harness{gw: srv}
	if resp, body := h.do(t, "GET", "/", http.Header{"Authorization": {"OK"}}, nil); resp.StatusCode != 200 || body != "hello" {
		t.Errorf("OK: %d %s", resp.StatusCode, body)
	}
	if resp, body := h.do(t, "GET", "/", http.Header{"Authorization": {"NOT OK"}}, nil); resp.StatusCode != 403 ||
		body != `{"Message":"User is not authorized to access this resource with an explicit deny"}` {
		t.Errorf("NOT OK: %d %s", resp.StatusCode, body)
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

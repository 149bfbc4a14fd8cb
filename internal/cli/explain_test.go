package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/explain"
	"github.com/portcullis/portcullis/internal/testbin"
	"github.com/portcullis/portcullis/internal/testissuer"
)

// explainFunctions are the aws-lambda-go authorizers in testdata.
var explainFunctions = testbin.New("testdata", "arnauth")

func TestMain(m *testing.M) {
	code := m.Run()
	explainFunctions.Remove()
	os.Exit(code)
}

const explainJWTConfig = `listen: 127.0.0.1:0
authorizers:
  orders:
    type: jwt
    issuer: %[1]s
    audience: [%[2]s]
  query:
    type: jwt
    identity_source: $request.querystring.access_token
    issuer: %[1]s
    audience: [%[2]s]
routes:
  - route: GET /q
    authorizer: query
    integration: {type: http_proxy, uri: "http://127.0.0.1:9/q"}
  - route: GET /orders/{id}
    authorizer: orders
    authorization_scopes: [orders:read]
    integration:
      type: http_proxy
      uri: http://127.0.0.1:9/orders/{id}
      request_parameters:
        "overwrite:header.x-user": $context.authorizer.claims.sub
  - route: GET /{proxy+}
    integration: {type: mock, status: 200, body: public}
cors:
  allowOrigins: [https://app.example.com]
  allowMethods: [GET]
  allowHeaders: [authorization]
gateway_responses:
  ACCESS_DENIED:
    status: 403
    headers: {X-Denied: "'scope'"}
    body: '{"error":"forbidden","type":"$context.error.responseType"}'
`

// TestExplainJWT explains requests to routes with a jwt authorizer whose
// keys come from a real issuer: every check, the decision, what the backend
// would receive, and never the token.
func TestExplainJWT(t *testing.T) {
	iss := testissuer.New(t)
	cfg := filepath.Join(t.TempDir(), "jwt.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, explainJWTConfig, iss.URL, testissuer.Audience), 0o644); err != nil {
		t.Fatal(err)
	}
	good := iss.Mint(t, "k1", map[string]any{"scope": "orders:read"})
	noScope := iss.Mint(t, "k1", nil)
	expired := iss.Mint(t, "k1", map[string]any{"scope": "orders:read", "exp": 1000})
	for _, tt := range []struct {
		name  string
		args  []string
		code  int
		token string
		want  []string
	}{
		{"allowed", []string{"GET /orders/1", "-H", "Authorization: Bearer " + good}, exitOK, good, []string{
			"cors        · no Origin header: no CORS headers",
			"route       ✓ GET /orders/{id}: a path with {name} parameters",
			`path parameter id = "1"`, "also matching, and beaten: GET /{proxy+}",
			"authorizer  · orders (jwt)", "identity    ✓ $request.header.Authorization = <secret: ",
			"signature   ✓ valid RS256 signature", `kid "k1"`,
			"scopes      ✓ the route needs one of [orders:read]; the token has [orders:read]",
			"decision    ✓ ALLOW", "GET http://127.0.0.1:9/orders/1", "X-User: alice",
			"Authorization: Bearer <secret: ",
		}},
		{"no token: 401 without the authorizer", []string{"GET /orders/1"}, exitFailed, "", []string{
			"identity    ✗ $request.header.Authorization is missing or empty: 401 without calling the authorizer",
			`decision    ✗ DENY 401 {"message":"Unauthorized"}`, "reason: missing_identity",
		}},
		{"scope missing: the configured gateway response applies", []string{"GET /orders/1", "-H", "Authorization: Bearer " + noScope}, exitFailed, noScope, []string{
			"scopes      ✗ the route needs one of [orders:read]; the token has []",
			`DENY 403 {"error":"forbidden","type":"ACCESS_DENIED"}`, "insufficient_scope",
			`gw response · ACCESS_DENIED: the configured gateway response (the type's own entry, else DEFAULT_4XX/DEFAULT_5XX) replaced the built-in 403 {"message":"Forbidden"}`,
			"X-Denied: scope",
		}},
		{"expired", []string{"GET /orders/1", "-H", "Authorization: Bearer " + expired}, exitFailed, expired, []string{
			"claims      ✗ expired", `DENY 401 {"message":"Unauthorized"}`, "Www-Authenticate: Bearer error=\"invalid_token\"",
			"gw response · UNAUTHORIZED: the built-in answer (gateway_responses has no entry for it, nor DEFAULT_4XX/DEFAULT_5XX)",
		}},
		{"public greedy route", []string{"GET /elsewhere/a/b", "--query", "x=1"}, exitOK, "", []string{
			"route       ✓ GET /{proxy+}: a greedy {name+} path", `path parameter proxy = "elsewhere/a/b"`,
			"authorizer  · none: a public route", "the mock integration answers 200 public",
		}},
		{"bad path", []string{"GET /orders/%2e%2e/x"}, exitFailed, "", []string{"refused before route selection", "DENY 400"}},
		{"CORS preflight answered before the authorizer", []string{"OPTIONS /orders/1", "-H", "Origin: https://app.example.com", "-H", "Access-Control-Request-Method: GET"}, exitOK, "", []string{
			"route       · no route takes OPTIONS /orders/1; the gateway answered it itself: a CORS preflight",
			"decision    ✓ ANSWERED by the gateway itself: 204", "cors        · preflight from https://app.example.com allowed",
			"Access-Control-Allow-Methods: GET",
		}},
		{"CORS preflight for a method not allowed", []string{"OPTIONS /orders/1", "-H", "Origin: https://app.example.com", "-H", "Access-Control-Request-Method: DELETE"}, exitOK, "", []string{
			"cors        · preflight from https://app.example.com refused",
		}},
		{"CORS headers on the gateway's own 401", []string{"GET /orders/1", "-H", "Origin: https://app.example.com"}, exitFailed, "", []string{
			"cors        · origin https://app.example.com allowed: the response, the gateway's own answers included",
			"Access-Control-Allow-Origin: https://app.example.com", `DENY 401 {"message":"Unauthorized"}`,
		}},
		{"CORS origin not allowed", []string{"GET /orders/1", "-H", "Origin: https://evil.example", "-H", "Authorization: Bearer " + good}, exitOK, good, []string{
			"cors        · origin https://evil.example is not allowed: no CORS headers", "decision    ✓ ALLOW",
		}},
		{"token in the query string", []string{"GET /q", "--query", "access_token=" + good}, exitOK, good, []string{
			"request     · GET /q?access_token=<secret: ", "identity    ✓ $request.querystring.access_token = <secret: ",
			"decision    ✓ ALLOW", "GET http://127.0.0.1:9/q?access_token=<secret: ",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkRun(t, append([]string{"explain", "-c", cfg}, tt.args...), tt.code, tt.want, nil, tt.token)
		})
	}
}

// TestTokenVerifyIsExplain: token verify puts the token where the route's
// jwt authorizer reads it (a header, the query string) and explains with the
// same path; a Lambda-authorized route is sent to explain.
func TestTokenVerifyIsExplain(t *testing.T) {
	iss := testissuer.New(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "jwt.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, explainJWTConfig, iss.URL, testissuer.Audience), 0o644); err != nil {
		t.Fatal(err)
	}
	lambdaCfg := filepath.Join(dir, "lambda.yaml")
	conf := fmt.Sprintf(`listen: 127.0.0.1:0
functions:
  arnauth: {runtime: process, command: [%s]}
authorizers:
  arn: {type: lambda, function: arnauth, payload_format_version: "1.0", event_type: TOKEN, identity_source: [method.request.header.Authorization]}
routes:
  - {route: GET /a, authorizer: arn, integration: {type: mock}}
`, explainFunctions.Path(t, "arnauth"))
	if err := os.WriteFile(lambdaCfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	good := iss.Mint(t, "k1", map[string]any{"scope": "orders:read"})
	for _, tt := range []struct {
		name, cfg, route string
		code             int
		want             []string
	}{
		{"header", cfg, "GET /orders/3", exitOK, []string{"token from $request.header.Authorization", "signature  ✓", "decision   ✓ ALLOW",
			"would receive GET http://127.0.0.1:9/orders/3", "Authorization: Bearer <secret: ", "X-User: alice"}},
		{"query", cfg, "GET /q", exitOK, []string{"token from $request.querystring.access_token", "decision   ✓ ALLOW",
			"would receive GET http://127.0.0.1:9/q?access_token=<secret: "}},
		{"lambda route", lambdaCfg, "GET /a", exitFailed, []string{"authorizer arn is a lambda authorizer: token verify checks jwt authorizers; `portcullis explain`"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkRun(t, []string{"token", "verify", "-c", tt.cfg, "--route", tt.route, good}, tt.code, tt.want, nil, good)
		})
	}
}

// checkRun runs the command line args and checks its exit code, that its
// TestWriteVerifyAllowsOnlyAnAllowedOutcome: token verify prints ALLOW and
// exits 0 only for an explanation whose outcome is Allowed; any other
// outcome, an unknown one included, is no pass (fail closed).
func TestWriteVerifyAllowsOnlyAnAllowedOutcome(t *testing.T) {
	for _, tt := range []struct {
		outcome explain.Outcome
		code    int
		want    string
	}{
		{explain.Allowed, exitOK, "decision   ✓ ALLOW"},
		{explain.Denied, exitFailed, "decision   ✗ DENY: 403"},
		{explain.Undecided, exitUndecided, "decision   · UNDECIDED"},
		{"", exitFailed, "decision   ✗ DENY: 403"},
		{"unknown", exitFailed, "decision   ✗ DENY: 403"},
	} {
		t.Run(string(tt.outcome), func(t *testing.T) {
			rep := &explain.Report{
				Route:    explain.RoutePart{Matched: true, Key: "GET /a"},
				Outcome:  tt.outcome,
				Decision: "UNDECIDED: ALLOW unless the token is revoked",
				Response: explain.ResponsePart{Status: 403, Body: `{"message":"Forbidden"}`},
			}
			var out strings.Builder
			if code := writeVerify(&out, "GET", "/a", rep); code != tt.code {
				t.Errorf("exit %d, want %d\n%s", code, tt.code, out.String())
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, out.String())
			}
		})
	}
}

// output holds every want and no absent, and that it never shows secret.
func checkRun(t *testing.T, args []string, wantCode int, want, absent []string, secret string) {
	t.Helper()
	out, errOut, code := runMain(t, "", args...)
	if code != wantCode {
		t.Errorf("exit %d, want %d\n%s%s", code, wantCode, out, errOut)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	for _, w := range absent {
		if strings.Contains(out, w) {
			t.Errorf("output has %q:\n%s", w, out)
		}
	}
	assertNoSecret(t, out, secret)
}

// assertNoSecret fails when out holds secret, or any part of a JWT.
func assertNoSecret(t *testing.T, out, secret string) {
	t.Helper()
	if secret == "" {
		return
	}
	for _, part := range append([]string{secret}, strings.Split(secret, ".")...) {
		if len(part) >= 6 && strings.Contains(out, part) {
			t.Errorf("the output shows the secret %q", part)
		}
	}
}

const explainLambdaConfig = `listen: 127.0.0.1:0
api: {id: shop, stage: prod, region: eu-west-1, account_id: "123456789012"}
functions:
  arnauth: {runtime: process, command: [%[1]s]}
  simpleauth: {runtime: python3.12, handler: lambda_function.lambda_handler, code: %[2]s, interpreter: %[3]s}
  backend: {runtime: python3.12, handler: lambda_function.lambda_handler, code: %[2]s, interpreter: %[3]s}
authorizers:
  arn:
    type: lambda
    function: arnauth
    payload_format_version: "1.0"
    event_type: TOKEN
    identity_source: [method.request.header.Authorization]
    identity_validation_expression: "Bearer [a-z-]+"
    result_ttl: 300s
  twosources:
    type: lambda
    function: simpleauth
    payload_format_version: "1.0"
    identity_source: [$request.header.X-Api-Key, $request.querystring.tenant]
  simple:
    type: lambda
    function: simpleauth
    payload_format_version: "2.0"
    enable_simple_responses: true
    identity_source: [$request.header.X-Api-Key]
    result_ttl: 60s
routes:
  - route: GET /orders/{id}
    authorizer: arn
    integration:
      type: http_proxy
      uri: http://127.0.0.1:9/orders/{id}
      request_parameters: {"overwrite:header.x-user": $context.authorizer.user}
  - route: DELETE /orders/{id}
    authorizer: arn
    integration: {type: mock, status: 204}
  - route: ANY /admin
    authorizer: arn
    integration: {type: mock}
  - route: GET /reports/{proxy+}
    authorizer: simple
    integration: {type: lambda_proxy, function: backend}
  - route: GET /tenants
    authorizer: twosources
    integration: {type: mock}
  - route: GET /status
    integration: {type: mock, body: up}
`

// TestExplainLambda explains requests to routes with Lambda authorizers run
// as serve runs them (an aws-lambda-go binary, a Python function): the event,
// and with --invoke the answer, the policy statement by statement, the
// cache entry and the other routes that entry would deny.
func TestExplainLambda(t *testing.T) {
	py := explainPython(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "lambda.yaml")
	code, err := filepath.Abs("testdata/simpleauth")
	if err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(explainLambdaConfig, explainFunctions.Path(t, "arnauth"), code, py)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	const arn = "arn:aws:execute-api:eu-west-1:123456789012:shop/prod/"
	for _, tt := range []struct {
		name   string
		args   []string
		code   int
		secret string
		want   []string
		absent []string
	}{
		{"event only without --invoke", []string{"GET /orders/1", "-H", "Authorization: Bearer exact-alice"}, exitUndecided, "exact-alice", []string{
			"authorizer  · arn (lambda)", "identity    ✓ method.request.header.Authorization = Bearer <secret: 11 chars, sha256:",
			"method arn  · " + arn + "GET/orders/1", "TOKEN event, payload 1.0",
			`"authorizationToken": "Bearer <secret: 11 chars`, `"methodArn": "` + arn + `GET/orders/1"`,
			"not invoked: run with --invoke", "UNDECIDED", "response    · not decided",
		}, []string{"the function answered"}},
		{"the answer's usageIdentifierKey is an API key: concealed", []string{"GET /orders/1", "-H", "Authorization: Bearer exact-dave", "--invoke"}, exitOK, "usage-key-of-dave", []string{
			`"usageIdentifierKey": "<secret: 17 chars`, "decision    ✓ ALLOW",
		}, nil},
		{"missing identity: 401, no event", []string{"GET /orders/1", "--invoke"}, exitFailed, "", []string{
			"identity    ✗ method.request.header.Authorization is missing or empty: 401 without calling the authorizer",
			`DENY 401 {"message":"Unauthorized"}`,
		}, []string{"event ", "invoke"}},
		{"token fails the validation expression: 401, no event", []string{"GET /orders/1", "-H", "Authorization: Bearer NOT-valid!", "--invoke"}, exitFailed, "NOT-valid!", []string{
			`validation  ✗ the token does not match "Bearer [a-z-]+": 401 without calling the authorizer`,
			`DENY 401 {"message":"Unauthorized"}`, "reason: invalid_identity",
		}, []string{"event ", "invoke"}},
		{"one of two identity sources missing: 401, no event", []string{"GET /tenants", "-H", "X-Api-Key: open-sesame", "--invoke"}, exitFailed, "open-sesame", []string{
			"identity    ✓ $request.header.X-Api-Key = <secret: 11 chars",
			"identity    ✗ $request.querystring.tenant is missing or empty: 401 without calling the authorizer",
			`DENY 401 {"message":"Unauthorized"}`, "reason: missing_identity",
		}, []string{"event ", "invoke"}},
		{"exact ARN: the cached policy denies the other routes", []string{"GET /orders/1", "-H", "Authorization: Bearer exact-alice", "--invoke"}, exitOK, "exact-alice", []string{
			"invoke      ✓ the function answered:", `"echo": "Bearer <secret: 11 chars`,
			`policy      · principal "alice"; statements against ` + arn + "GET/orders/1",
			"1. Allow s3:GetObject on *: ignored, no action covers execute-api:Invoke",
			"2. Allow execute-api:Invoke on " + arn + "GET/orders/1: MATCHES",
			"evaluation  ✓ allow: an Allow statement matches the ARN and no Deny does",
			"cache       · stores the policy and context, re-evaluated against each request's ARN for 300s",
			"(key sha256:",
			`✗ GET /orders/{id}: DENIED 403 {"Message":"User is not authorized to access this resource"}`,
			`✗ DELETE /orders/{id}: DENIED 403`, `✗ POST /admin: DENIED 403`, `✗ OPTIONS /admin: DENIED 403`,
			"3 routes with another authorizer or none are not affected",
			"decision    ✓ ALLOW", "GET http://127.0.0.1:9/orders/1", "X-User: alice",
		}, []string{"✓ GET /orders/{id}: allowed"}},
		{"explicit deny wins over the stage-wide allow", []string{"DELETE /orders/7", "-H", "Authorization: Bearer nodelete-bob", "--invoke"}, exitFailed, "nodelete-bob", []string{
			"1. Allow execute-api:Invoke on " + arn + "*: MATCHES",
			"2. Deny execute-api:* on " + arn + "DELETE/*: MATCHES",
			"evaluation  ✗ deny: a Deny statement matches the ARN (an explicit Deny wins over any Allow)",
			"✓ GET /orders/{id}: allowed", "✗ DELETE /orders/{id}: DENIED 403 {\"Message\":\"User is not authorized to access this resource with an explicit deny\"}",
			"✓ GET /admin: allowed", "✗ DELETE /admin: DENIED",
			`decision    ✗ DENY 403 {"Message":"User is not authorized to access this resource with an explicit deny"}`,
			"reason: explicit_deny",
		}, nil},
		{"Unauthorized from the function", []string{"GET /orders/1", "-H", "Authorization: Bearer nobody", "--invoke"}, exitFailed, "nobody", []string{
			`invoke      ✗ the function failed with "Unauthorized"`,
			"stores nothing: failures and Unauthorized are never cached",
			`DENY 401 {"message":"Unauthorized"}`,
		}, nil},
		{"function failure: 500, its message concealed", []string{"GET /orders/1", "-H", "Authorization: Bearer fail", "--invoke"}, exitFailed, "", []string{
			// A secret is masked wherever it appears, even inside a word.
			`invoke      ✗ the function failed with "the authorizer <secret: 4 chars`, `for Bearer <secret: 4 chars`,
			`DENY 500 {"message":null}`, "X-Amzn-Errortype: AuthorizerConfigurationException", "reason: function_error",
			"gw response · AUTHORIZER_CONFIGURATION_ERROR: the built-in answer",
		}, nil},
		{"simple response, python, 2.0: lambda_proxy event not invoked", []string{"GET /reports/q1/x", "-H", "X-Api-Key: open-sesame", "--invoke"}, exitOK, "open-sesame", []string{
			"authorizer  · simple (lambda)", "REQUEST event, payload 2.0, simple responses",
			`"routeArn": "` + arn + `GET/reports/q1/x"`, `"x-api-key": "<secret: 11 chars`,
			`"isAuthorized": true`, "evaluation  ✓ allow: the simple response says isAuthorized true",
			"the simple response, which decides every request with the same identity alike for 60s",
			"✓ GET /reports/{proxy}: allowed",
			"backend     · function backend: not invoked: this is the event the function would receive",
			`"rawPath": "/reports/q1/x"`,
		}, nil},
		{"simple response false", []string{"GET /reports/q1", "-H", "X-Api-Key: wrong-key", "--invoke"}, exitFailed, "wrong-key", []string{
			`"isAuthorized": false`, "evaluation  ✗ deny: the simple response says isAuthorized false",
			"✗ GET /reports/{proxy}: DENIED 403 {\"message\":\"Forbidden\"}",
			`DENY 403 {"message":"Forbidden"}`,
		}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkRun(t, append([]string{"explain", "-c", cfg}, tt.args...), tt.code, tt.want, tt.absent, tt.secret)
		})
	}
}

// TestExplainJSON checks the machine form: the same facts, as JSON, and no
// secret in it either.
func TestExplainJSON(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "lambda.yaml")
	conf := fmt.Sprintf(`listen: 127.0.0.1:0
functions:
  arnauth: {runtime: process, command: [%s]}
authorizers:
  arn:
    type: lambda
    function: arnauth
    payload_format_version: "1.0"
    event_type: TOKEN
    identity_source: [method.request.header.Authorization]
routes:
  - {route: "GET /a/{id}", authorizer: arn, integration: {type: mock}}
  - {route: GET /b, authorizer: arn, integration: {type: mock}}
`, explainFunctions.Path(t, "arnauth"))
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runMain(t, "", "explain", "-c", cfg, "--json", "--invoke", "GET /a/1", "-H", "Authorization: Bearer exact-carol")
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	assertNoSecret(t, out, "exact-carol")
	var rep struct {
		Outcome string `json:"outcome"`
		Route   struct {
			Key    string `json:"key"`
			Params []struct{ Name, Value string }
		} `json:"route"`
		Lambda struct {
			MethodARN  string `json:"method_arn"`
			Statements []struct {
				Effect   string   `json:"effect"`
				Counts   bool     `json:"counts"`
				Matching []string `json:"matching"`
			} `json:"statements"`
			Cache struct {
				TTLSeconds int `json:"ttl_seconds"`
				Routes     []struct {
					Route  string `json:"route"`
					Allow  bool   `json:"allow"`
					Status int    `json:"status"`
				} `json:"routes"`
			} `json:"cache"`
		} `json:"lambda"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if rep.Outcome != "allowed" || rep.Route.Key != "GET /a/{id}" || len(rep.Route.Params) != 1 || rep.Route.Params[0].Value != "1" {
		t.Errorf("outcome/route: %+v", rep)
	}
	if len(rep.Lambda.Statements) != 2 || rep.Lambda.Statements[0].Counts || len(rep.Lambda.Statements[1].Matching) != 1 {
		t.Errorf("statements: %+v", rep.Lambda.Statements)
	}
	// AWS's default TTL applies; both routes are denied by the exact-ARN policy.
	if c := rep.Lambda.Cache; c.TTLSeconds != 300 || len(c.Routes) != 2 || c.Routes[0].Allow || c.Routes[1].Allow || c.Routes[1].Status != 403 {
		t.Errorf("cache: %+v", c)
	}
}

func TestExplainUsage(t *testing.T) {
	for _, args := range [][]string{
		{"explain"}, {"explain", "-c", "x.yaml"}, {"explain", "-c", "x.yaml", "orders"},
		{"explain", "-c", "x.yaml", "GET /a", "-H", "no colon"}, {"explain", "-c", "x.yaml", "GET /a", "--query", "novalue"},
		{"explain", "GET /a", "GET /b"},
	} {
		out, errOut, code := runMain(t, "", args...)
		if code != exitUsage || errOut == "" {
			t.Errorf("%q: exit %d, want 2 with the problem on stderr\nstdout: %s\nstderr: %s", args, code, out, errOut)
		}
	}
}

// explainPython is python3 resolved to its executable (a pyenv shim is slow
// to start).
func explainPython(t *testing.T) string {
	t.Helper()
	py := testbin.Tool(t, "", "python3", "apt-get install python3")
	out, err := exec.Command(py, "-c", "import sys; print(sys.executable)").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("%s does not run: %v", py, err)
	}
	return strings.TrimSpace(string(out))
}

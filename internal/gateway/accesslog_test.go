package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/testissuer"
	"github.com/portcullis/portcullis/internal/testlog"
)

const accessLogConfig = `listen: 127.0.0.1:0
access_log:
  format: %[3]s
authorizers:
  users: {type: jwt, issuer: %[1]q, audience: [test-api]}
routes:
  - route: GET /orders/{id}
    authorizer: users
    authorization_scopes: [orders:read]
    integration: {type: http_proxy, uri: "%[2]s/backend/orders/{id}"}
  - route: GET /down
    integration: {type: http_proxy, uri: "http://127.0.0.1:1/nothing"}
`

// accessLogGateway serves accessLogConfig with format on a server that
// serve starts (httptest.NewServer or NewTLSServer), its access log written
// to the returned buffer and its process log, at warn, to the other.
func accessLogGateway(t *testing.T, format string, serve func(http.Handler) *httptest.Server) (*httptest.Server, *testissuer.Issuer, *testlog.Buffer, *testlog.Buffer) {
	t.Helper()
	iss := testissuer.New(t)
	be, _ := backend(t)
	f, err := config.Parse("test.yaml", []byte(fmt.Sprintf(accessLogConfig, iss.URL, be.URL, format)), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	access, logs := &testlog.Buffer{}, &testlog.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	g, err := Build(f, Deps{Metrics: NewMetrics(prometheus.NewRegistry()), Logger: logger, AccessLog: access})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	g.Start(ctx)
	srv := serve(g)
	t.Cleanup(srv.Close)
	return srv, iss, access, logs
}

// TestAccessLogFormat serves requests with a JSON format of many variables
// and reads them back, hostile values included.
func TestAccessLogFormat(t *testing.T) {
	format := `'{"requestId":"$context.requestId","ext":"$context.extendedRequestId","ip":"$context.identity.sourceIp","status":"$context.status",` +
		`"len":"$context.responseLength","route":"$context.routeKey","resource":"$context.resourcePath","sub":"$context.authorizer.claims.sub",` +
		`"tenant":"$context.authorizer.claims.tenant","principal":"$context.authorizer.principalId","err":"$context.error.message",` +
		`"errString":$context.error.messageString,"authStatus":"$context.authorizer.status","authError":"$context.authorizer.error",` +
		`"intStatus":"$context.integrationStatus","intError":"$context.integration.error","ua":"$context.identity.userAgent",` +
		`"lat":"$context.responseLatency","intLat":"$context.integrationLatency","method":"$context.httpMethod","prefix":"$context.domainPrefix","type":"$context.error.responseType"}'`
	srv, iss, access, logs := accessLogGateway(t, format, httptest.NewServer)
	tok := iss.Mint(t, "k1", map[string]any{"scope": "orders:read", "sub": "user-1", "tenant": "a\"c\nme\\"})
	hostileUA := "evil\"agent\\ {\"x\":1}\t\xff" // a client cannot send a newline in a header; the tenant claim has one

	r1, _ := get(t, srv.URL+"/orders/7", http.Header{"Authorization": {"Bearer " + tok}, "User-Agent": {hostileUA}})
	r2, _ := get(t, srv.URL+"/orders/7", nil)
	r3, _ := get(t, srv.URL+"/nothing", nil)
	r4, _ := get(t, srv.URL+"/down", nil)

	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(access.String(), "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line is not JSON: %v\n%s", err, l)
		}
		lines = append(lines, m)
	}
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4:\n%s", len(lines), access)
	}
	for i, want := range []map[string]any{
		{"requestId": r1.Header.Get(RequestIDResponseHeader), "status": "200", "route": "GET /orders/{id}", "resource": "/orders/{id}",
			"sub": "user-1", "tenant": "a\"c\nme\\", "principal": "user-1", "err": "-", "errString": nil, "authStatus": "200", "authError": "-",
			"intStatus": "200", "intError": "-", "ua": "evil\"agent\\ {\"x\":1}\t\uFFFD", "ip": "127.0.0.1", "method": "GET", "prefix": "127.0.0.1", "type": "-"},
		{"requestId": r2.Header.Get(RequestIDResponseHeader), "status": "401", "sub": "-", "principal": "-", "err": "Unauthorized",
			"errString": "Unauthorized", "authStatus": "401", "authError": "missing_identity", "intStatus": "-", "len": "26", "intLat": "-", "type": "UNAUTHORIZED"},
		{"requestId": r3.Header.Get(RequestIDResponseHeader), "status": "404", "route": "-", "resource": "-", "err": "Not Found", "authStatus": "-", "type": "MISSING_AUTHENTICATION_TOKEN"},
		{"requestId": r4.Header.Get(RequestIDResponseHeader), "status": "502", "err": "Bad Gateway", "intStatus": "-", "authStatus": "-", "type": "INTEGRATION_FAILURE"},
	} {
		for k, v := range want {
			if lines[i][k] != v {
				t.Errorf("line %d: %s = %q, want %q", i+1, k, lines[i][k], v)
			}
		}
		if lines[i]["requestId"] != lines[i]["ext"] {
			t.Errorf("line %d: extendedRequestId %q differs from requestId", i+1, lines[i]["ext"])
		}
		for _, k := range []string{"lat", "len"} {
			if v, _ := lines[i][k].(string); v == "" || v == "-" || strings.Trim(v, "0123456789") != "" {
				t.Errorf("line %d: %s = %q, want a number", i+1, k, v)
			}
		}
	}
	if v, _ := lines[0]["intLat"].(string); v == "-" || strings.Trim(v, "0123456789") != "" {
		t.Errorf("integrationLatency = %q, want a number", v)
	}
	if v, _ := lines[3]["intError"].(string); !strings.Contains(v, "connect") {
		t.Errorf("integration.error = %q, want the connection failure", v)
	}
	if strings.Contains(access.String(), strings.Split(tok, ".")[2]) {
		t.Error("token signature in the access log")
	}
	// The process log is at warn: the configured format's lines go to the
	// access log only, and nothing else is written for these requests.
	if strings.Contains(logs.String(), `"msg":"request"`) {
		t.Errorf("request lines in the process log:\n%s", logs)
	}
}

// TestAccessLogDefaultAtWarn: with no format, the request line is today's
// JSON line, written through the process logger even at --log-level warn.
func TestAccessLogDefaultAtWarn(t *testing.T) {
	iss := testissuer.New(t)
	f, err := config.Parse("test.yaml", []byte(fmt.Sprintf(`listen: 127.0.0.1:0
authorizers:
  users: {type: jwt, issuer: %q, audience: [test-api]}
routes:
  - route: GET /orders/{id}
    authorizer: users
    integration: {type: mock, body: ok}
`, iss.URL)), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testlog.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	g, err := Build(f, Deps{Logger: logger, AccessLog: logs})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g.Start(ctx)
	tok := iss.Mint(t, "k1", map[string]any{"sub": "user-1"})
	req := httptest.NewRequest("GET", "/orders/1", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	g.ServeHTTP(w, req)
	recs := logs.Records()
	if len(recs) != 1 {
		t.Fatalf("%d log records at warn, want the request line:\n%s", len(recs), logs)
	}
	var keys []string
	for k := range recs[0] {
		keys = append(keys, k)
	}
	want := "authorizer bytes client_ip latency_ms level method mode msg path principal request_id route status time"
	if got := strings.Join(sorted(keys), " "); got != want {
		t.Errorf("keys %s\nwant %s", got, want)
	}
	if recs[0]["level"] != "INFO" || recs[0]["msg"] != "request" || recs[0]["principal"] != "user-1" {
		t.Errorf("line %v", recs[0])
	}
	// The fields in today's order: the line is unchanged byte for byte
	// apart from the values.
	line := logs.String()
	order := []string{`{"time":`, `,"level":"INFO","msg":"request","request_id":`, `,"method":"GET","path":"/orders/1","route":"GET /orders/{id}","status":200,"latency_ms":`, `,"client_ip":"192.0.2.1","bytes":2,"authorizer":"users","principal":"user-1"}`}
	at := 0
	for _, o := range order {
		i := strings.Index(line[at:], o)
		if i < 0 {
			t.Fatalf("line lacks %s after offset %d:\n%s", o, at, line)
		}
		at += i + len(o)
	}
}

func sorted(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

func TestAccessLogCheck(t *testing.T) {
	for _, tc := range []struct {
		name, block, want string
	}{
		{"claims need jwt", `access_log: {format: '$context.requestId $context.authorizer.claims.sub'}`, "test.yaml:2:22: access_log.format: $context.authorizer.claims.sub needs a jwt authorizer"},
		{"lambda key needs lambda", `access_log: {format: '$context.requestId $context.authorizer.tenant'}`, "$context.authorizer.tenant needs a lambda authorizer"},
		{"aws only", `access_log: {format: '$context.requestId $context.xrayTraceId'}`, "test.yaml:2:22: access_log.format: $context.xrayTraceId is an AWS variable Portcullis cannot know"},
		{"typo", `access_log: {format: '$context.requestid'}`, "$context.requestid is not a variable Portcullis provides"},
		{"api key value", `access_log: {format: '$context.requestId $context.identity.apiKey'}`, "$context.identity.apiKey is the caller's API key, a secret, and is never logged"},
		{"input", `access_log: {format: '$input.body'}`, "may hold only $context variables"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := buildError(t, "test.yaml", "listen: 127.0.0.1:0\n"+tc.block+"\nroutes:\n  - route: GET /x\n    integration: {type: mock}\n")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build = %v\nwant %q", err, tc.want)
			}
		})
	}
}

// TestAccessLogDefaultToOutput: with an output but no format, the default
// JSON line goes to the output, not to the process log.
func TestAccessLogDefaultToOutput(t *testing.T) {
	f, err := config.Parse("test.yaml", []byte("listen: 127.0.0.1:0\nroutes:\n  - route: GET /x\n    integration: {type: mock, body: ok}\n"), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	access, logs := &testlog.Buffer{}, &testlog.Buffer{}
	g, err := Build(f, Deps{Logger: slogJSON(logs), AccessLog: access})
	if err != nil {
		t.Fatal(err)
	}
	g.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
	recs := access.Records()
	if len(recs) != 1 || recs[0]["msg"] != "request" || recs[0]["route"] != "GET /x" || recs[0]["level"] != "INFO" {
		t.Fatalf("access output: %s", access)
	}
	if logs.String() != "" {
		t.Errorf("process log: %s", logs)
	}
}

// TestAccessLogTLS: over TLS the line names the protocol version and cipher
// suite as AWS spells the version; over plain HTTP both are "-".
func TestAccessLogTLS(t *testing.T) {
	for _, tc := range []struct {
		name  string
		serve func(http.Handler) *httptest.Server
		want  []string
	}{
		// The suite depends on the CPU (AES-GCM or ChaCha20): any TLS 1.3 one.
		{"tls", httptest.NewTLSServer, []string{"TLSv1.3", "TLS_"}},
		{"plain", httptest.NewServer, []string{"-", "-"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _, access, _ := accessLogGateway(t, `'$context.tlsVersion $context.cipherSuite'`, tc.serve)
			resp, err := srv.Client().Get(srv.URL + "/down")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := strings.TrimSpace(access.String())
			if version, suite, _ := strings.Cut(got, " "); version != tc.want[0] || !strings.HasPrefix(suite, tc.want[1]) {
				t.Errorf("line %q, want %q and a suite starting %q", got, tc.want[0], tc.want[1])
			}
		})
	}
}

// TestAccessLogLambdaDenialMessage: $context.error.message of a Lambda
// authorizer's denials is the message of AWS's body, whose key is spelled
// "Message" for the two IAM denials; a 500's null message is absent.
func TestAccessLogLambdaDenialMessage(t *testing.T) {
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e struct {
			AuthorizationToken string `json:"authorizationToken"`
		}
		_ = json.NewDecoder(r.Body).Decode(&e)
		switch tok := strings.TrimPrefix(e.AuthorizationToken, "Bearer "); tok {
		case "junk":
			_, _ = io.WriteString(w, `{"principalId":`)
		default: // "Deny" everything, or "Allow" another resource: no matching Allow
			resource := "*"
			if tok == "Allow" {
				resource = "arn:aws:execute-api:*:*:*/*/GET/other"
			}
			_ = json.NewEncoder(w).Encode(map[string]any{
				"principalId":    "u",
				"policyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Action": "execute-api:Invoke", "Effect": tok, "Resource": resource}}},
			})
		}
	}))
	t.Cleanup(fn.Close)
	access := &testlog.Buffer{}
	srv, _, _ := gatewayServer(t, fmt.Sprintf(`listen: 127.0.0.1:0
access_log:
  format: '$context.status|$context.error.message|$context.error.messageString|$context.error.responseType'
functions:
  auth: {runtime: http, url: %q}
authorizers:
  lam: {type: lambda, function: auth, payload_format_version: "1.0", event_type: TOKEN, identity_source: [method.request.header.Authorization], result_ttl: 0s}
routes:
  - {route: GET /pets, authorizer: lam, integration: {type: mock, body: ok}}
`, fn.URL), Deps{AccessLog: access})
	cases := []struct {
		token, want string
	}{
		{"Deny", `403|User is not authorized to access this resource with an explicit deny|"User is not authorized to access this resource with an explicit deny"|ACCESS_DENIED`},
		{"Allow", `403|User is not authorized to access this resource|"User is not authorized to access this resource"|ACCESS_DENIED`},
		{"junk", `500|-|-|AUTHORIZER_CONFIGURATION_ERROR`},
	}
	for _, c := range cases {
		if resp, body := get(t, srv.URL+"/pets", bearer(c.token)); resp.StatusCode == 200 {
			t.Fatalf("%s: allowed: %s", c.token, body)
		}
	}
	lines := strings.Split(strings.TrimSuffix(access.String(), "\n"), "\n")
	if len(lines) != len(cases) {
		t.Fatalf("%d access log lines, want %d:\n%s", len(lines), len(cases), access)
	}
	for i, c := range cases {
		if lines[i] != c.want {
			t.Errorf("%s: access log line\n%s\nwant\n%s", c.token, lines[i], c.want)
		}
	}
}

// TestAccessLogConsoleFormats: each format AWS's console offers, for HTTP
// and for REST APIs, is accepted as it is and renders one line per request.
// The REST ones log the IAM caller and user, which AWS writes as "-" for a
// request not signed with SigV4, as every request Portcullis authorizes
// is. Before, check refused the REST formats for naming them, though the
// README says the console formats work unchanged.
func TestAccessLogConsoleFormats(t *testing.T) {
	const (
		id  = "REQUESTID"
		clf = `[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} \+0000`
	)
	for _, tc := range []struct {
		name, format, want string
	}{
		{"http clf", `$context.identity.sourceIp - - [$context.requestTime] "$context.httpMethod $context.routeKey $context.protocol" $context.status $context.responseLength $context.requestId`,
			`^127\.0\.0\.1 - - \[` + clf + `\] "GET GET /orders/\{id\} HTTP/1\.1" 401 26 ` + id + `$`},
		{"http json", `{ "requestId":"$context.requestId", "ip": "$context.identity.sourceIp", "requestTime":"$context.requestTime", "httpMethod":"$context.httpMethod","routeKey":"$context.routeKey", "status":"$context.status","protocol":"$context.protocol", "responseLength":"$context.responseLength" }`,
			`^\{ "requestId":"` + id + `", "ip": "127\.0\.0\.1", "requestTime":"` + clf + `", "httpMethod":"GET","routeKey":"GET /orders/\{id\}", "status":"401","protocol":"HTTP/1\.1", "responseLength":"26" \}$`},
		{"http csv", `$context.identity.sourceIp,$context.requestTime,$context.httpMethod,$context.routeKey,$context.protocol,$context.status,$context.responseLength,$context.requestId`,
			`^127\.0\.0\.1,` + clf + `,GET,GET /orders/\{id\},HTTP/1\.1,401,26,` + id + `$`},
		{"http xml", `<request id="$context.requestId"> <ip>$context.identity.sourceIp</ip> <requestTime>$context.requestTime</requestTime> <httpMethod>$context.httpMethod</httpMethod> <routeKey>$context.routeKey</routeKey> <status>$context.status</status> <protocol>$context.protocol</protocol> <responseLength>$context.responseLength</responseLength> </request>`,
			`^<request id="` + id + `"> <ip>127\.0\.0\.1</ip> <requestTime>` + clf + `</requestTime> <httpMethod>GET</httpMethod> <routeKey>GET /orders/\{id\}</routeKey> <status>401</status> <protocol>HTTP/1\.1</protocol> <responseLength>26</responseLength> </request>$`},
		{"rest clf", `$context.identity.sourceIp $context.identity.caller $context.identity.user [$context.requestTime] "$context.httpMethod $context.resourcePath $context.protocol" $context.status $context.responseLength $context.requestId $context.extendedRequestId`,
			`^127\.0\.0\.1 - - \[` + clf + `\] "GET /orders/\{id\} HTTP/1\.1" 401 26 ` + id + ` ` + id + `$`},
		{"rest json", `{ "requestId":"$context.requestId", "extendedRequestId":"$context.extendedRequestId", "ip": "$context.identity.sourceIp", "caller":"$context.identity.caller", "user":"$context.identity.user", "requestTime":"$context.requestTime", "httpMethod":"$context.httpMethod", "resourcePath":"$context.resourcePath", "status":"$context.status", "protocol":"$context.protocol", "responseLength":"$context.responseLength" }`,
			`^\{ "requestId":"` + id + `", "extendedRequestId":"` + id + `", "ip": "127\.0\.0\.1", "caller":"-", "user":"-", "requestTime":"` + clf + `", "httpMethod":"GET", "resourcePath":"/orders/\{id\}", "status":"401", "protocol":"HTTP/1\.1", "responseLength":"26" \}$`},
		{"rest csv", `$context.identity.sourceIp,$context.identity.caller,$context.identity.user,$context.requestTime,$context.httpMethod,$context.resourcePath,$context.protocol,$context.status,$context.responseLength,$context.requestId,$context.extendedRequestId`,
			`^127\.0\.0\.1,-,-,` + clf + `,GET,/orders/\{id\},HTTP/1\.1,401,26,` + id + `,` + id + `$`},
		{"rest xml", `<request id="$context.requestId"> <ip>$context.identity.sourceIp</ip> <caller>$context.identity.caller</caller> <user>$context.identity.user</user> <requestTime>$context.requestTime</requestTime> <httpMethod>$context.httpMethod</httpMethod> <resourcePath>$context.resourcePath</resourcePath> <status>$context.status</status> <protocol>$context.protocol</protocol> <responseLength>$context.responseLength</responseLength> </request>`,
			`^<request id="` + id + `"> <ip>127\.0\.0\.1</ip> <caller>-</caller> <user>-</user> <requestTime>` + clf + `</requestTime> <httpMethod>GET</httpMethod> <resourcePath>/orders/\{id\}</resourcePath> <status>401</status> <protocol>HTTP/1\.1</protocol> <responseLength>26</responseLength> </request>$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			quoted, _ := json.Marshal(tc.format)
			srv, _, access, _ := accessLogGateway(t, string(quoted), httptest.NewServer)
			resp, _ := get(t, srv.URL+"/orders/7", nil) // no token: 401
			line := strings.TrimSuffix(access.String(), "\n")
			reqID := resp.Header.Get(RequestIDResponseHeader)
			if reqID == "" || strings.Contains(line, "\n") {
				t.Fatalf("request id %q, access log:\n%s", reqID, access)
			}
			want := regexp.MustCompile(strings.ReplaceAll(tc.want, id, regexp.QuoteMeta(reqID)))
			if !want.MatchString(line) {
				t.Errorf("line:\n%s\nwant it to match\n%s", line, want)
			}
		})
	}
}

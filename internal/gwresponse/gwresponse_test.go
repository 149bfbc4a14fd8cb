package gwresponse

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/internal/answer"
	"github.com/portcullis/portcullis/internal/config"
)

// source is a request's $context variables and path parameters.
type source struct {
	ctx    map[string]string
	params map[string]string
}

func (s source) RequestHeader(string) string { return "" }
func (s source) RequestQuery(string) string  { return "" }
func (s source) RequestPath() string         { return s.ctx["path"] }
func (s source) PathParam(n string) string   { return s.params[n] }
func (s source) Context(n string) string     { return s.ctx[n] }

func setup(t *testing.T, yaml string, o Options) (*Responses, error) {
	t.Helper()
	f, err := config.Parse("gw.yaml", []byte(yaml), os.LookupEnv)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return Setup(f, o)
}

func TestSetupRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		ident      []string
		want       string // in the error, after gw.yaml:LINE
	}{
		{"unknown type", "gateway_responses:\n  UNAUTHORISED: {status: 401}\n", nil, `gw.yaml:2:17: gateway_responses.UNAUTHORISED: unknown gateway response type "UNAUTHORISED"`},
		{"lower case", "gateway_responses:\n  default_4xx: {status: 400}\n", nil, `(did you mean DEFAULT_4XX?)`},
		{"status 200", "gateway_responses:\n  UNAUTHORIZED:\n    status: 200\n", nil, `gw.yaml:3:13: gateway_responses.UNAUTHORIZED.status: status 200`},
		{"status 600", "gateway_responses:\n  UNAUTHORIZED:\n    status: 600\n", nil, `status 600`},
		{"bad header name", "gateway_responses:\n  UNAUTHORIZED:\n    headers: {\"x y\": \"'a'\"}\n", nil, `"x y" is not a valid header name`},
		{"header name with a delimiter", "gateway_responses:\n  UNAUTHORIZED:\n    headers: {\"x(y)\": \"'a'\"}\n", nil, `"x(y)" is not a valid header name`},
		{"header name in UTF-8", "gateway_responses:\n  UNAUTHORIZED:\n    headers: {\"x-é\": \"'a'\"}\n", nil, `"x-é" is not a valid header name`},
		{"same header twice", "gateway_responses:\n  UNAUTHORIZED:\n    headers: {x-a: \"'a'\", X-A: \"'b'\"}\n", nil, `also set as`},
		{"content-length", "gateway_responses:\n  UNAUTHORIZED:\n    headers: {content-length: \"'5'\"}\n", nil, `Content-Length is the gateway's own`},
		{"request id header", "gateway_responses:\n  UNAUTHORIZED:\n    headers: {apigw-requestid: \"'x'\"}\n", nil, `Apigw-Requestid is the gateway's own`},
		{"authorization header value", "gateway_responses:\n  UNAUTHORIZED:\n    headers: {x-token: method.request.header.Authorization}\n", nil, `gw.yaml:3:24: gateway_responses.UNAUTHORIZED.headers.x-token: "method.request.header.Authorization": a gateway response never shows the request's headers`},
		{"query value", "gateway_responses:\n  UNAUTHORIZED:\n    headers: {x-q: method.request.querystring.access_token}\n", nil, `never shows the request's headers or query string`},
		{"stage variable header", "gateway_responses:\n  UNAUTHORIZED:\n    headers: {x-s: stageVariables.env}\n", nil, `no stage variables`},
		{"api key", "gateway_responses:\n  THROTTLED:\n    body: '{\"key\":\"$context.identity.apiKey\"}'\n", nil, `gw.yaml:3:11: gateway_responses.THROTTLED.body: $context.identity.apiKey: an API key is a secret`},
		{"lambda context", "gateway_responses:\n  ACCESS_DENIED:\n    body: '$context.authorizer.downstreamToken'\n", nil, `a Lambda authorizer's context is for the backend`},
		{"unknown context", "gateway_responses:\n  ACCESS_DENIED:\n    body: '$context.requestID'\n", nil, `$context.requestID is not a variable a gateway response may read`},
		{"context header form", "gateway_responses:\n  ACCESS_DENIED:\n    headers: {x-a: context.identity.apiKey}\n", nil, `an API key is a secret`},
		{"context header form with text", "gateway_responses:\n  ACCESS_DENIED:\n    headers: {x-a: context.requestId and more}\n", nil, `a context variable is context.NAME alone`},
		{"validation error", "gateway_responses:\n  BAD_REQUEST_BODY:\n    body: '$context.error.validationErrorString'\n", nil, `no request validators`},
		{"VTL", "gateway_responses:\n  DEFAULT_5XX:\n    body: '$input.body'\n", nil, `substitutes $context variables only`},
		{"stage variable body", "gateway_responses:\n  DEFAULT_5XX:\n    body: '${stageVariables.x}'\n", nil, `no stage variables`},
		{"unterminated", "gateway_responses:\n  DEFAULT_5XX:\n    body: 'a ${context.requestId'\n", nil, `unterminated "${"`},
		{"empty context", "gateway_responses:\n  DEFAULT_5XX:\n    body: 'a $context. b'\n", nil, `needs a name`},
		{"unknown root", "gateway_responses:\n  DEFAULT_5XX:\n    body: 'costs $USD'\n", nil, `$USD at offset 6: unknown variable`},
		{"content type expression", "gateway_responses:\n  DEFAULT_5XX:\n    headers: {content-type: context.requestId}\n", nil, `Content-Type must be a static value`},
		{"content type invalid", "gateway_responses:\n  DEFAULT_5XX:\n    headers: {content-type: \"'/'\"}\n", nil, `Content-Type "/"`},
		{"control character", "gateway_responses:\n  DEFAULT_5XX:\n    headers: {x-a: \"'a\\r\\nb'\"}\n", nil, `control character`},
		{"escape character", "gateway_responses:\n  DEFAULT_5XX:\n    headers: {x-a: \"'a\\eb'\"}\n", nil, `control character`},
		{"DEL", "gateway_responses:\n  DEFAULT_5XX:\n    headers: {x-a: \"'a\\x7Fb'\"}\n", nil, `control character`},
		{"user agent is an identity source", "gateway_responses:\n  UNAUTHORIZED:\n    body: '$context.identity.userAgent'\n", []string{"user-agent"}, `an authorizer reads its identity from User-Agent`},
		{"host is an identity source", "gateway_responses:\n  UNAUTHORIZED:\n    body: '$context.domainName'\n", []string{"host"}, `an authorizer reads its identity from Host`},
		{"template too long", "gateway_responses:\n  UNAUTHORIZED:\n    body: '" + strings.Repeat("a", MaxTemplateBytes+1) + "'\n", nil, `longer than 65536 bytes`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := setup(t, tc.yaml, Options{IdentityHeaders: tc.ident})
			if err == nil {
				t.Fatalf("accepted: %+v", rs)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestSetupAccepts(t *testing.T) {
	rs, err := setup(t, `gateway_responses:
  UNAUTHORIZED:
    status: 401
    headers: {WWW-Authenticate: 'Bearer realm="orders"', x-path: method.request.path.id, x-id: context.requestId, x-mixed: "id=$context.requestId."}
    body: '{"error":"unauthorized","message":$context.error.messageString,"requestId":"$context.requestId","sub":"${context.authorizer.claims.sub}","cost":"$5"}'
  DEFAULT_4XX:
    headers: {Access-Control-Allow-Origin: "'*'"}
  WAF_FILTERED: {}
`, Options{IdentityHeaders: []string{"Authorization"}})
	if err != nil {
		t.Fatal(err)
	}
	if rs == nil || rs.byType[Unauthorized] == nil || rs.byType[Default4XX] == nil || rs.byType[WAFFiltered] == nil {
		t.Fatalf("responses not set up: %+v", rs)
	}
	none, err := setup(t, "listen: x\n", Options{})
	if err != nil || none != nil {
		t.Fatalf("no block: %v, %v; want nil, nil", none, err)
	}
}

const builtin401 = `{"message":"Unauthorized"}`

func TestWrite(t *testing.T) {
	src := source{
		ctx: map[string]string{
			"requestId": "req-1", "path": "/orders/\"1\"\n<x>", "httpMethod": "GET",
			"authorizer.claims.sub": "a\"b\\c\r\nd\u2028</script>",
		},
		params: map[string]string{"id": "7\r\nX-Injected: yes\x01\x1b\x7f\tcafé"},
	}
	conf := `gateway_responses:
  UNAUTHORIZED:
    status: 418
    headers: {WWW-Authenticate: 'Bearer realm="orders"', x-path: method.request.path.id, x-id: context.requestId, x-type: "$context.error.responseType", x-empty: context.authorizer.claims.none}
    body: '{"message":$context.error.messageString,"raw":"$context.error.message","type":"$context.error.responseType","requestId":"${context.requestId}","path":"$context.path","sub":"$context.authorizer.claims.sub","cost":"$5"}'
  ACCESS_DENIED:
    headers: {x-only: "'headers'"}
  DEFAULT_4XX:
    status: 400
    headers: {Access-Control-Allow-Origin: "'*'"}
    body: '{"default4xx":"$context.error.message"}'
  INTEGRATION_TIMEOUT:
    headers: {content-type: "'text/html; charset=utf-8'"}
    body: '<p>$context.path ($context.error.message)</p>'
  INTEGRATION_FAILURE:
    headers: {content-type: "'text/plain'"}
    body: 'failed: $context.path $context.error.messageString'
`
	rs, err := setup(t, conf, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		rs         *Responses
		typ        Type
		status     int
		body       string
		method     string
		preset     http.Header
		wantStatus int
		wantBody   string
		wantHeader map[string]string // "" means absent
	}{
		{
			name: "not configured: built-in, byte for byte", rs: nil, typ: Unauthorized, status: 401, body: builtin401,
			wantStatus: 401, wantBody: builtin401, wantHeader: map[string]string{"Content-Type": "application/json", "Content-Length": "26"},
		},
		{
			name: "specific type: status, headers, escaped body", rs: rs, typ: Unauthorized, status: 401, body: builtin401,
			preset:     http.Header{"Www-Authenticate": {"Bearer"}, "X-Amzn-Errortype": {"kept"}},
			wantStatus: 418,
			wantBody:   `{"message":"Unauthorized","raw":"Unauthorized","type":"UNAUTHORIZED","requestId":"req-1","path":"/orders/\"1\"\n\u003cx\u003e","sub":"a\"b\\c\r\nd\u2028\u003c/script\u003e","cost":"$5"}`,
			wantHeader: map[string]string{
				"Www-Authenticate": `Bearer realm="orders"`, "X-Amzn-Errortype": "kept", "X-Path": "7X-Injected: yes\tcafé", // controls dropped, tab and UTF-8 kept
				"X-Id": "req-1", "X-Type": "UNAUTHORIZED", "X-Empty": "", "Access-Control-Allow-Origin": "",
				"Content-Type": "application/json",
			},
		},
		{
			name: "specific type with headers only keeps the built-in status and body", rs: rs, typ: AccessDenied, status: 403,
			body:       `{"Message":"User is not authorized to access this resource"}`,
			wantStatus: 403, wantBody: `{"Message":"User is not authorized to access this resource"}`,
			wantHeader: map[string]string{"X-Only": "headers", "Access-Control-Allow-Origin": ""},
		},
		{
			name: "DEFAULT_4XX for a 4xx type not configured", rs: rs, typ: MissingAuthenticationToken, status: 404, body: answer.NotFound,
			wantStatus: 400, wantBody: `{"default4xx":"Not Found"}`,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": "*"},
		},
		{
			name: "DEFAULT_4XX by the built-in status, whatever AWS's status of the type", rs: rs, typ: AuthorizerFailure, status: 401, body: builtin401,
			wantStatus: 400, wantBody: `{"default4xx":"Unauthorized"}`,
		},
		{
			name: "no DEFAULT_5XX: a 5xx type not configured is built-in", rs: rs, typ: AuthorizerConfigurationError, status: 500, body: `{"message":null}`,
			wantStatus: 500, wantBody: `{"message":null}`, wantHeader: map[string]string{"Access-Control-Allow-Origin": ""},
		},
		{
			name: "HTML body escapes markup", rs: rs, typ: IntegrationTimeout, status: 504, body: answer.TimedOut,
			wantStatus: 504, wantBody: `<p>/orders/&#34;1&#34;` + "\n" + `&lt;x&gt; (Endpoint request timed out)</p>`,
			wantHeader: map[string]string{"Content-Type": "text/html; charset=utf-8"},
		},
		{
			name: "plain text body: values as they are, messageString quoted", rs: rs, typ: IntegrationFailure, status: 502, body: answer.BadGateway,
			wantStatus: 502, wantBody: "failed: /orders/\"1\"\n<x> \"Bad Gateway\"",
			wantHeader: map[string]string{"Content-Type": "text/plain"},
		},
		{
			name: "HEAD: headers, no body", rs: rs, typ: Unauthorized, status: 401, body: builtin401, method: http.MethodHead,
			wantStatus: 418, wantBody: "", wantHeader: map[string]string{"X-Id": "req-1"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			rec := httptest.NewRecorder()
			for k, v := range tc.preset {
				rec.Header()[k] = v
			}
			tc.rs.Write(rec, httptest.NewRequest(method, "/x", nil), src, tc.typ, tc.status, tc.body)
			if rec.Code != tc.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tc.wantStatus)
			}
			if got := rec.Body.String(); got != tc.wantBody {
				t.Errorf("body\n%s\nwant\n%s", got, tc.wantBody)
			}
			if rec.Header().Get("Content-Type") != "" && method == http.MethodGet && strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && !json.Valid(rec.Body.Bytes()) {
				t.Errorf("body is not JSON: %s", rec.Body)
			}
			for k, want := range tc.wantHeader {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestTemplateParsing(t *testing.T) {
	src := source{ctx: map[string]string{"requestId": "R", "stage": "S"}}
	for _, tc := range []struct{ in, want string }{
		{"id $context.requestId.", "id R."},
		{"$context.requestId$context.stage", "RS"},
		{"${context.requestId}x", "Rx"},
		{"$5 and $ and $$ and $-", "$5 and $ and $$ and $-"},
		{"end $", "end $"},
		{"a.$context.stage..b", "a.S..b"},
		{"", ""},
	} {
		tpl, err := parseTemplate(tc.in, nil)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := string(tpl.render(nil, src, &errorInfo{}, escNone)); got != tc.want {
			t.Errorf("%q rendered %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMessageOf(t *testing.T) {
	for _, tc := range []struct {
		body, msg string
		null      bool
	}{
		{`{"message":"Unauthorized"}`, "Unauthorized", false},
		{`{"Message":"User is not authorized to access this resource with an explicit deny"}`, "User is not authorized to access this resource with an explicit deny", false},
		{`{"message":null}`, "", true},
		{`{"message":"Internal Server Error"}`, "Internal Server Error", false},
		{`not json`, "", true},
		{`{"message":"`, "", true},
	} {
		e := messageOf(tc.body)
		if e.message != tc.msg || e.null != tc.null {
			t.Errorf("messageOf(%s) = %q, %v; want %q, %v", tc.body, e.message, e.null, tc.msg, tc.null)
		}
	}
}

func TestTypes(t *testing.T) {
	if len(Types()) != 21 {
		t.Fatalf("%d types, want AWS's 21", len(Types()))
	}
	for _, typ := range Types() {
		back, ok := ParseType(typ.String())
		if !ok || back != typ {
			t.Errorf("%v does not parse back", typ)
		}
		if (typ.AWSStatus() == 0) != (typ == Default4XX || typ == Default5XX) {
			t.Errorf("%v: AWS status %d", typ, typ.AWSStatus())
		}
	}
	for f, want := range map[answer.Failure]Type{
		answer.FailureTooLarge: RequestTooLarge, answer.FailureBodyRead: BadRequestBody,
		answer.FailureBackend: IntegrationFailure, answer.FailureTimeout: IntegrationTimeout,
	} {
		if got := FromFailure(f); got != want {
			t.Errorf("FromFailure(%d) = %v, want %v", f, got, want)
		}
	}
}

// FuzzJSONEscape: whatever a value holds, it stays inside its JSON string.
func FuzzJSONEscape(f *testing.F) {
	for _, s := range []string{"", `"`, `\`, "\n\r\t", "\x00\x7f", "</script>", "\u2028\u2029", "\xff\xfe", `","admin":true,"x":"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		doc := appendEscaped([]byte(`{"v":"`), v, escJSON)
		doc = append(doc, `"}`...)
		var out struct{ V string }
		if err := json.Unmarshal(doc, &out); err != nil {
			t.Fatalf("%q gave invalid JSON %s: %v", v, doc, err)
		}
		if utf8.ValidString(v) && out.V != v {
			t.Fatalf("%q came back as %q", v, out.V)
		}
		if strings.Contains(string(doc[6:len(doc)-2]), "<") {
			t.Fatalf("%q: a raw < in %s", v, doc)
		}
	})
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.Count(Unauthorized)
	m.Count(Unauthorized)
	m.Count(Default4XX) // never an answer's own type: not counted
	m.Count(0)
	var nilMetrics *Metrics
	nilMetrics.Count(Unauthorized)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			got[s.GetLabel()[0].GetValue()] = s.GetCounter().GetValue()
		}
	}
	if got["UNAUTHORIZED"] != 2 || len(got) != 19 {
		t.Errorf("series %v: want UNAUTHORIZED 2 and the 19 types that can be an answer's own", got)
	}
	if _, ok := got["DEFAULT_4XX"]; ok {
		t.Errorf("DEFAULT_4XX has a series")
	}
}

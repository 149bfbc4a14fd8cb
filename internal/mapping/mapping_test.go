package mapping

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// testSource implements Source from the client's original request plus
// route parameters and context variables, as the gateway would.
type testSource struct {
	r      *http.Request
	query  url.Values
	params map[string]string
	ctx    map[string]string
}

func newSource(r *http.Request, params, ctx map[string]string) *testSource {
	return &testSource{r: r, query: r.URL.Query(), params: params, ctx: ctx}
}

func (s *testSource) RequestHeader(name string) string {
	return strings.Join(s.r.Header.Values(name), ",")
}
func (s *testSource) RequestQuery(name string) string { return strings.Join(s.query[name], ",") }
func (s *testSource) RequestPath() string             { return s.r.URL.Path }
func (s *testSource) PathParam(name string) string    { return s.params[name] }
func (s *testSource) Context(name string) string      { return s.ctx[name] }

var defaultCtx = map[string]string{
	"requestId":              "req-1",
	"authorizer.claims.sub":  "user-42",
	"authorizer.principalId": "p-7",
	"authorizer.claims.evil": "x\r\nX-Admin: true",
	"authorizer.claims.nul":  "a\x00b",
	"authorizer.claims.ctl":  "a\x01b",
	"authorizer.claims.tab":  "a\tb",
}

var defaultParams = map[string]string{"id": "17", "proxy": "a/b/c"}

// request builds the client's request; headers alternate name, value.
func request(target string, headers ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}

// run parses params and applies them to a clone of r, returning the clone.
func run(t *testing.T, params map[string]string, r *http.Request) *http.Request {
	t.Helper()
	m, err := Parse(params)
	if err != nil {
		t.Fatalf("Parse(%v): %v", params, err)
	}
	out := r.Clone(r.Context())
	m.Apply(out, newSource(r, defaultParams, defaultCtx))
	return out
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]string
		want   []string // substrings of the error
	}{
		{"no colon", map[string]string{"header.x": "a"}, []string{`"header.x"`, "ACTION:TARGET"}},
		{"unknown action", map[string]string{"set:header.x": "a"}, []string{`"set:header.x"`, `unknown action "set"`}},
		{"action case-sensitive", map[string]string{"Overwrite:header.x": "a"}, []string{`unknown action "Overwrite"`}},
		{"unknown target", map[string]string{"overwrite:body.x": "a"}, []string{`unknown target "body.x"`}},
		{"header without dot", map[string]string{"overwrite:header": "a"}, []string{`unknown target "header"`}},
		{"path with name", map[string]string{"overwrite:path.x": "a"}, []string{`unknown target "path.x"`}},
		{"append path", map[string]string{"append:path": "/a"}, []string{`"append:path"`, "append is not supported for path"}},
		{"remove path", map[string]string{"remove:path": ""}, []string{"remove is not supported for path"}},
		{"empty header name", map[string]string{"overwrite:header.": "a"}, []string{"header name is empty"}},
		{"empty query name", map[string]string{"overwrite:querystring.": "a"}, []string{"query parameter name is empty"}},
		{"invalid header name", map[string]string{"overwrite:header.x y": "a"}, []string{`"x y" is not a valid HTTP header name`}},
		{"header name with colon", map[string]string{"overwrite:header.x:y": "a"}, []string{"not a valid HTTP header name"}},
		{"header name with a delimiter", map[string]string{"overwrite:header.x(y)": "a"}, []string{`"x(y)" is not a valid HTTP header name`}},
		{"header name in UTF-8", map[string]string{"append:header.x-é": "a"}, []string{`"x-é" is not a valid HTTP header name`}},
		{"query name ctl", map[string]string{"overwrite:querystring.a\nb": "a"}, []string{"control character"}},
		{"query name DEL", map[string]string{"overwrite:querystring.a\x7fb": "a"}, []string{"control character"}},
		{"query name escape", map[string]string{"append:querystring.a\x1bb": "a"}, []string{"control character"}},
		{"reserved", map[string]string{"overwrite:header.host": "a"}, []string{`request_parameters "overwrite:header.host": header "Host" is reserved and cannot be mapped`}},
		{"reserved remove", map[string]string{"remove:header.authorization": ""}, []string{`header "Authorization" is reserved`}},
		{"reserved amz", map[string]string{"append:header.x-amz-foo": "a"}, []string{`header "X-Amz-Foo" is reserved`}},
		{"conflict append overwrite", map[string]string{"append:header.x-a": "a", "overwrite:header.X-A": "b"}, []string{`"overwrite:header.X-A"`, `"append:header.x-a"`, `header "X-A" is also mapped`}},
		{"conflict remove overwrite", map[string]string{"remove:header.x-a": "", "overwrite:header.x-a": "b"}, []string{`header "X-A" is also mapped`}},
		{"conflict same action case", map[string]string{"append:header.x-a": "a", "append:header.X-a": "b"}, []string{"also mapped"}},
		{"conflict query", map[string]string{"append:querystring.t": "a", "remove:querystring.t": ""}, []string{`query parameter "t" is also mapped`}},
		{"remove with value", map[string]string{"remove:header.x-a": "a"}, []string{`"remove:header.x-a"`, "remove takes no value"}},
		{"remove query with value", map[string]string{"remove:querystring.a": "$request.path"}, []string{"remove takes no value"}},
		{"overwrite empty", map[string]string{"overwrite:header.x-a": ""}, []string{"overwrite needs a value"}},
		{"append empty", map[string]string{"append:querystring.a": ""}, []string{"append needs a value"}},
		{"path empty", map[string]string{"overwrite:path": ""}, []string{"overwrite needs a value"}},
		{"unterminated", map[string]string{"overwrite:header.x-a": "a${request.path"}, []string{`unterminated "${" at offset 1`}},
		{"empty braces", map[string]string{"overwrite:header.x-a": "a${}b"}, []string{`empty "${}"`}},
		{"body interp", map[string]string{"overwrite:header.x-a": "a${request.body.x}"}, []string{`"${request.body.x}"`, "request body values are not supported yet"}},
		{"body single", map[string]string{"overwrite:header.x-a": "$request.body.x"}, []string{`"$request.body.x"`, "not supported yet"}},
		{"stage vars interp", map[string]string{"overwrite:header.x-a": "${stageVariables.x}"}, []string{`"${stageVariables.x}"`, "stage variables are not supported yet"}},
		{"stage vars single", map[string]string{"overwrite:header.x-a": "$stageVariables.x"}, []string{"stage variables are not supported yet"}},
		{"unknown root", map[string]string{"overwrite:header.x-a": "${foo.bar}"}, []string{`unknown source "foo"`}},
		{"typo single", map[string]string{"overwrite:header.x-a": "$contxt.authorizer.claims.sub"}, []string{`unknown source "contxt"`}},
		{"unknown request source", map[string]string{"overwrite:header.x-a": "${request.cookie.x}"}, []string{`unknown request source "request.cookie"`}},
		{"request alone", map[string]string{"overwrite:header.x-a": "$request"}, []string{"incomplete"}},
		{"empty header expr", map[string]string{"overwrite:header.x-a": "${request.header.}"}, []string{"header name is empty"}},
		{"header expr no name", map[string]string{"overwrite:header.x-a": "${request.header}"}, []string{"header name is empty"}},
		{"bad header expr", map[string]string{"overwrite:header.x-a": "$request.header.X-Tenant,foo"}, []string{`"X-Tenant,foo" is not a valid HTTP header name`}},
		{"header expr with a delimiter", map[string]string{"overwrite:header.x-a": "${request.header.x[0]}"}, []string{`"x[0]" is not a valid HTTP header name`}},
		{"header expr in UTF-8", map[string]string{"overwrite:header.x-a": "${request.header.x-é}"}, []string{`"x-é" is not a valid HTTP header name`}},
		{"query expr ctl", map[string]string{"overwrite:header.x-a": "${request.querystring.a\x7fb}"}, []string{"control character"}},
		{"empty query expr", map[string]string{"overwrite:header.x-a": "${request.querystring.}"}, []string{"query parameter name is empty"}},
		{"empty path param", map[string]string{"overwrite:header.x-a": "$request.path."}, []string{"path parameter name is empty"}},
		{"bad path param", map[string]string{"overwrite:header.x-a": "${request.path.a/b}"}, []string{"not a valid path parameter name"}},
		{"empty context", map[string]string{"overwrite:header.x-a": "$context"}, []string{"context variable name is empty"}},
		{"empty context dot", map[string]string{"overwrite:header.x-a": "${context.}"}, []string{"context variable name is empty"}},
		{"context empty segment", map[string]string{"overwrite:header.x-a": "$context.a..b"}, []string{"empty segment"}},
		{"context space", map[string]string{"overwrite:header.x-a": "$context.a b"}, []string{"contains a space"}},
		{"nested", map[string]string{"overwrite:header.x-a": "${request.header.${x}}"}, []string{"not a valid HTTP header name"}},
		{"literal newline", map[string]string{"overwrite:header.x-a": "a\r\nX-Admin: 1"}, []string{"control character"}},
		{"literal DEL", map[string]string{"overwrite:header.x-a": "a\x7f"}, []string{`control character '\x7f'`}},
		{"literal escape", map[string]string{"append:querystring.a": "\x1b[31m"}, []string{`control character '\x1b'`}},
		{"path query literal", map[string]string{"overwrite:path": "/a?b=1"}, []string{`must not contain "?" or "#"`}},
		{"path dot literal", map[string]string{"overwrite:path": "/a/../${request.path}"}, []string{`"." or ".."`}},
		{"path dot relative", map[string]string{"overwrite:path": "./${request.header.x}"}, []string{`"." or ".."`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(tt.params)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want error", tt.params, m)
			}
			if m != nil {
				t.Errorf("Parse returned a Mapping with an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseFirstErrorDeterministic(t *testing.T) {
	params := map[string]string{"b:header.x": "a", "a:header.x": "a", "c:header.x": "a"}
	for range 20 {
		_, err := Parse(params)
		if err == nil || !strings.Contains(err.Error(), `"a:header.x"`) {
			t.Fatalf("error = %v, want the first key in order", err)
		}
	}
}

func TestParseValid(t *testing.T) {
	valid := []map[string]string{
		{"overwrite:header.x-a": "$request.header.X-Tenant"},
		{"overwrite:header.x-a": "$request.querystring.tenant"},
		{"overwrite:header.x-a": "$request.path"},
		{"overwrite:header.x-a": "$request.path.id"},
		{"overwrite:header.x-a": "$context.authorizer.claims.sub"},
		{"overwrite:header.x-a": "$context.authorizer.claims.cognito:groups"},
		{"overwrite:header.x-a": "price $5 and $ and $$"},
		{"overwrite:header.x-a": "$5"},
		{"overwrite:header.x-a": "$"},
		{"overwrite:header.x-a": "a$context.x"}, // an expression inside text, as on AWS
		{"overwrite:header.x-a": "}{"},
		{"overwrite:header.x-a": "tab\there"},
		{"overwrite:header.x-a": "café"},           // UTF-8 is not a control character
		{"overwrite:querystring.café": "x"},        // nor in a query name
		{"append:header.!#$%&'*+-.^_`|~09az": "a"}, // every tchar
		{"overwrite:header.x-a": "${request.header.!#$%&'*+-.^_`|~09AZ}"},
		{"overwrite:header.content-type": "application/json"},
		{"append:header.x_under": "a"},
		{"overwrite:querystring.a b&c": "x"},
		{"overwrite:path": "relative/${request.path}"},
		{"overwrite:path": "/a/..b/.c/${request.header.x}"},
		{"remove:querystring.x": "", "remove:querystring.X": ""}, // query names are case-sensitive
	}
	for _, p := range valid {
		if _, err := Parse(p); err != nil {
			t.Errorf("Parse(%q): %v", p, err)
		}
	}
}

func TestReserved(t *testing.T) {
	reservedNames := []string{
		"Authorization", "Connection", "Content-Length", "Content-Encoding",
		"Expect", "Host", "Keep-Alive", "Max-Forwards", "Proxy-Authenticate",
		"Proxy-Authorization", "Proxy-Connection", "TE", "Trailer",
		"Transfer-Encoding", "Upgrade", "Via", "Forwarded", "X-Forwarded-For",
		"X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port", "X-Request-Id",
		"x-amz-foo", "X-Amz-Date", "x-amzn-trace-id", "X-AMZN-REQUESTID", "x-amz-",
	}
	for _, h := range reservedNames {
		for _, name := range []string{h, strings.ToLower(h), strings.ToUpper(h)} {
			if !Reserved(name) {
				t.Errorf("Reserved(%q) = false", name)
			}
			for _, act := range []string{"append", "overwrite", "remove"} {
				key := act + ":header." + name
				val := "v"
				if act == "remove" {
					val = ""
				}
				_, err := Parse(map[string]string{key: val})
				if err == nil || !strings.Contains(err.Error(), "is reserved and cannot be mapped") {
					t.Errorf("Parse(%q): err = %v, want reserved", key, err)
				}
			}
		}
	}
	for _, h := range []string{"Content-Type", "content-type", "X-User-Id", "X-Amzfoo", "X-Amz", "Accept", "Cookie", "X-Forwarded", ""} {
		if Reserved(h) {
			t.Errorf("Reserved(%q) = true", h)
		}
	}
}

func TestApplyHeaders(t *testing.T) {
	tests := []struct {
		name    string
		params  map[string]string
		headers []string            // client's request headers
		want    map[string][]string // expected outbound values; nil slice = absent
	}{
		{
			name:   "overwrite from context",
			params: map[string]string{"overwrite:header.x-user-id": "$context.authorizer.claims.sub"},
			want:   map[string][]string{"X-User-Id": {"user-42"}},
		},
		{
			name:    "overwrite replaces client values",
			params:  map[string]string{"overwrite:header.x-user-id": "$context.authorizer.principalId"},
			headers: []string{"X-User-Id", "forged", "X-User-Id", "forged2"},
			want:    map[string][]string{"X-User-Id": {"p-7"}},
		},
		{
			name:    "overwrite from header joins repeats",
			params:  map[string]string{"overwrite:header.x-t": "$request.header.x-tenant"},
			headers: []string{"X-Tenant", "a", "X-Tenant", "b"},
			want:    map[string][]string{"X-T": {"a,b"}},
		},
		{
			name:   "querystring, path, path param, requestId",
			params: map[string]string{"overwrite:header.x-q": "$request.querystring.tenant", "overwrite:header.x-p": "$request.path", "overwrite:header.x-id": "$request.path.id", "overwrite:header.x-r": "$context.requestId"},
			want:   map[string][]string{"X-Q": {"t1,t2"}, "X-P": {"/orders/17"}, "X-Id": {"17"}, "X-R": {"req-1"}},
		},
		{
			name:    "append to client values",
			params:  map[string]string{"append:header.x-tags": "user-${context.authorizer.claims.sub}-${request.querystring.tenant}"},
			headers: []string{"X-Tags", "client"},
			want:    map[string][]string{"X-Tags": {"client", "user-user-42-t1,t2"}},
		},
		{
			name:   "literal with dollar",
			params: map[string]string{"overwrite:header.x-a": "cost $5 ${request.path.id}$"},
			want:   map[string][]string{"X-A": {"cost $5 17$"}},
		},
		{
			name:    "remove",
			params:  map[string]string{"remove:header.x-debug": ""},
			headers: []string{"X-Debug", "1", "X-Keep", "1"},
			want:    map[string][]string{"X-Debug": nil, "X-Keep": {"1"}},
		},
		{
			name:    "empty overwrite removes",
			params:  map[string]string{"overwrite:header.x-user-id": "$request.header.x-missing"},
			headers: []string{"X-User-Id", "forged"},
			want:    map[string][]string{"X-User-Id": nil},
		},
		{
			name:    "empty append adds nothing",
			params:  map[string]string{"append:header.x-tags": "$context.nope"},
			headers: []string{"X-Tags", "client"},
			want:    map[string][]string{"X-Tags": {"client"}},
		},
		{
			name:   "interpolation of empty values is not empty",
			params: map[string]string{"overwrite:header.x-a": "u-${context.nope}"},
			want:   map[string][]string{"X-A": {"u-"}},
		},
		{
			name:    "CRLF from header dropped",
			params:  map[string]string{"overwrite:header.x-a": "$request.header.x-in", "append:header.x-b": "v=${request.header.x-in}"},
			headers: []string{"X-A", "forged", "X-B", "client"},
			want:    map[string][]string{"X-A": nil, "X-B": {"client"}},
		},
		{
			name:   "CRLF NUL CTL from context dropped, tab kept",
			params: map[string]string{"overwrite:header.x-a": "$context.authorizer.claims.evil", "overwrite:header.x-b": "$context.authorizer.claims.nul", "overwrite:header.x-c": "$context.authorizer.claims.ctl", "overwrite:header.x-d": "$context.authorizer.claims.tab"},
			want:   map[string][]string{"X-A": nil, "X-B": nil, "X-C": nil, "X-D": {"a\tb"}},
		},
		{
			name:    "sources read the original request",
			params:  map[string]string{"overwrite:header.x-a": "$request.header.x-b", "overwrite:header.x-b": "new", "remove:header.x-c": "", "overwrite:header.x-d": "$request.header.x-c"},
			headers: []string{"X-A", "oldA", "X-B", "oldB", "X-C", "oldC"},
			want:    map[string][]string{"X-A": {"oldB"}, "X-B": {"new"}, "X-C": nil, "X-D": {"oldC"}},
		},
		{
			name:   "content-type may be mapped",
			params: map[string]string{"overwrite:header.content-type": "application/json"},
			want:   map[string][]string{"Content-Type": {"application/json"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := append([]string{"X-In", "evil\r\nX-Admin: true"}, tt.headers...)
			r := request("/orders/17?tenant=t1&tenant=t2", h...)
			out := run(t, tt.params, r)
			for name, want := range tt.want {
				if got := out.Header[name]; !reflect.DeepEqual(got, want) {
					t.Errorf("header %s = %q, want %q", name, got, want)
				}
			}
			if got := out.Header.Get("X-Admin"); got != "" {
				t.Errorf("injected X-Admin = %q", got)
			}
		})
	}
}

func TestApplyDoesNotMutateSource(t *testing.T) {
	r := request("/", "X-Tags", "client", "X-User-Id", "forged")
	// Share value slices with spare capacity between the original and
	// outbound request, as a shallow header copy would.
	r.Header["X-Tags"] = append(make([]string, 0, 4), "client")
	out := r.Clone(r.Context())
	out.Header["X-Tags"] = r.Header["X-Tags"]
	out.Header["X-User-Id"] = r.Header["X-User-Id"]
	m, err := Parse(map[string]string{"append:header.x-tags": "a", "overwrite:header.x-user-id": "b"})
	if err != nil {
		t.Fatal(err)
	}
	m.Apply(out, newSource(r, nil, nil))
	if got := r.Header["X-Tags"][:cap(r.Header["X-Tags"])][1]; got != "" {
		t.Errorf("append wrote into the original's backing array: %q", got)
	}
	if got := r.Header.Get("X-User-Id"); got != "forged" {
		t.Errorf("overwrite changed the original: %q", got)
	}
}

func TestApplyQuery(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]string
		target string
		want   string // RawQuery
	}{
		{"overwrite", map[string]string{"overwrite:querystring.tenant": "$request.header.X-Tenant"}, "/?tenant=a&tenant=b&z=1", "tenant=hdr&z=1"},
		{"overwrite adds", map[string]string{"overwrite:querystring.tenant": "x"}, "/?z=1", "tenant=x&z=1"},
		{"append to repeats", map[string]string{"append:querystring.tenant": "${context.authorizer.claims.sub}"}, "/?tenant=a&tenant=b", "tenant=a&tenant=b&tenant=user-42"},
		{"remove repeats", map[string]string{"remove:querystring.tenant": ""}, "/?tenant=a&z=1&tenant=b", "z=1"},
		{"remove case-sensitive", map[string]string{"remove:querystring.Tenant": ""}, "/?tenant=a", "tenant=a"},
		{"remove absent keeps raw", map[string]string{"remove:querystring.x": ""}, "/?b=2&a=1", "b=2&a=1"},
		{"empty overwrite removes", map[string]string{"overwrite:querystring.tenant": "$request.header.x-missing"}, "/?tenant=forged&a=1", "a=1"},
		{"empty append adds nothing", map[string]string{"append:querystring.tenant": "$request.header.x-missing"}, "/?b=2&a=1", "b=2&a=1"},
		{"encoding", map[string]string{"overwrite:querystring.a b": "x&y=z"}, "/", "a+b=x%26y%3Dz"},
		{"reads original", map[string]string{"overwrite:querystring.a": "$request.querystring.b", "remove:querystring.b": ""}, "/?a=1&b=2", "a=2"},
		{"all three", map[string]string{"overwrite:querystring.o": "1", "append:querystring.a": "2", "remove:querystring.r": ""}, "/?a=0&r=9&o=0&o=5", "a=0&a=2&o=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := run(t, tt.params, request(tt.target, "X-Tenant", "hdr"))
			if out.URL.RawQuery != tt.want {
				t.Errorf("RawQuery = %q, want %q", out.URL.RawQuery, tt.want)
			}
		})
	}
}

func TestApplyPath(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		target  string
		headers []string
		want    string // what Go sends: URL.EscapedPath()
		wantDec string // URL.Path
	}{
		{"prefix request path", "/v2${request.path}", "/orders/17", nil, "/v2/orders/17", "/v2/orders/17"},
		{"single request path", "$request.path", "/orders/17", nil, "/orders/17", "/orders/17"},
		{"request path keeps slashes, escapes spaces", "/v2${request.path}", "/a%20b/c", nil, "/v2/a%20b/c", "/v2/a b/c"},
		{"path param", "/items/${request.path.id}", "/orders/17", nil, "/items/17", "/items/17"},
		{"proxy param slashes escaped", "/p/${request.path.proxy}", "/x", nil, "/p/a%2Fb%2Fc", "/p/a/b/c"},
		{"header a/b is one segment", "/users/${request.header.x-u}/x", "/", []string{"X-U", "a/b"}, "/users/a%2Fb/x", "/users/a/b/x"},
		{"header with space", "/users/${request.header.x-u}", "/", []string{"X-U", "a b"}, "/users/a%20b", "/users/a b"},
		{"header with query chars", "/users/${request.header.x-u}", "/", []string{"X-U", "a?b#c%"}, "/users/a%3Fb%23c%25", "/users/a?b#c%"},
		{"header ../admin not applied", "/users/${request.header.x-u}", "/orig", []string{"X-U", "../admin"}, "/orig", "/orig"},
		{"header .. not applied", "/users/${request.header.x-u}/x", "/orig", []string{"X-U", ".."}, "/orig", "/orig"},
		{"single header .. not applied", "$request.header.x-u", "/orig", []string{"X-U", ".."}, "/orig", "/orig"},
		{"empty header makes . segment", "/a/.${request.header.x-missing}", "/orig", nil, "/orig", "/orig"},
		{"header leading slash", "$request.header.x-u", "/orig", []string{"X-U", "/admin"}, "/%2Fadmin", "//admin"},
		{"relative gets slash", "v2${request.path}", "/orders", nil, "/v2/orders", "/v2/orders"},
		{"literal escaped", "/a b/c;d${request.path}", "/x", nil, "/a%20b/c%3Bd/x", "/a b/c;d/x"},
		{"literal dots allowed", "/a/..b/.c", "/x", nil, "/a/..b/.c", "/a/..b/.c"},
		{"empty value", "${request.header.x-missing}", "/x", nil, "/", "/"},
		{"context", "/u/${context.authorizer.claims.sub}", "/x", nil, "/u/user-42", "/u/user-42"},
		{"query kept", "/v2${request.path}", "/o?a=1", nil, "/v2/o", "/v2/o"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request(tt.target, tt.headers...)
			wantQuery := r.URL.RawQuery
			out := run(t, map[string]string{"overwrite:path": tt.value}, r)
			if got := out.URL.EscapedPath(); got != tt.want {
				t.Errorf("EscapedPath = %q, want %q", got, tt.want)
			}
			if out.URL.Path != tt.wantDec {
				t.Errorf("Path = %q, want %q", out.URL.Path, tt.wantDec)
			}
			if out.URL.RawQuery != wantQuery {
				t.Errorf("RawQuery = %q, want %q", out.URL.RawQuery, wantQuery)
			}
			// Path and RawPath must agree, or Go would ignore RawPath.
			if p, err := url.PathUnescape(out.URL.EscapedPath()); err != nil || p != out.URL.Path {
				t.Errorf("EscapedPath %q does not decode to Path %q", out.URL.EscapedPath(), out.URL.Path)
			}
		})
	}
}

func TestOrder(t *testing.T) {
	m, err := Parse(map[string]string{
		"append:header.b":      "1",
		"append:header.a":      "1",
		"overwrite:path":       "/x",
		"overwrite:header.c":   "1",
		"remove:querystring.z": "",
		"remove:header.d":      "",
		"append:querystring.a": "1",
	})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range m.ops {
		keys = append(keys, o.key)
	}
	want := []string{
		"remove:header.d", "remove:querystring.z",
		"overwrite:header.c", "overwrite:path",
		"append:header.a", "append:header.b", "append:querystring.a",
	}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("order = %q, want %q", keys, want)
	}
}

func TestAccessors(t *testing.T) {
	m, err := Parse(map[string]string{
		"overwrite:header.x-user-id":  "$context.authorizer.claims.sub",
		"append:header.X-TAGS":        "u-${context.authorizer.claims.sub}-${context.requestId}",
		"remove:header.x-debug":       "",
		"overwrite:querystring.t":     "${context.authorizer.principalId}",
		"overwrite:path":              "/v2${request.path}",
		"overwrite:header.x-from-hdr": "$request.header.x-a",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Headers(), []string{"X-Debug", "X-From-Hdr", "X-Tags", "X-User-Id"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Headers() = %q, want %q", got, want)
	}
	if got, want := m.ContextNames(), []string{"authorizer.claims.sub", "authorizer.principalId", "requestId"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ContextNames() = %q, want %q", got, want)
	}
	if m.Empty() {
		t.Error("Empty() = true")
	}

	for name, m := range map[string]*Mapping{"nil": nil, "zero": {}, "Parse(nil)": must(Parse(nil)), "Parse(empty)": must(Parse(map[string]string{}))} {
		if !m.Empty() || m.Headers() != nil || m.ContextNames() != nil {
			t.Errorf("%s: Empty=%v Headers=%q ContextNames=%q", name, m.Empty(), m.Headers(), m.ContextNames())
		}
		r := request("/a?b=1", "X-A", "1")
		out := r.Clone(r.Context())
		m.Apply(out, newSource(r, nil, nil))
		if !reflect.DeepEqual(out.Header, r.Header) || out.URL.String() != r.URL.String() {
			t.Errorf("%s: Apply changed the request", name)
		}
	}
}

func must(m *Mapping, err error) *Mapping {
	if err != nil {
		panic(err)
	}
	return m
}

func TestApplyNilHeaderAndURL(t *testing.T) {
	m := must(Parse(map[string]string{
		"overwrite:header.x-a":    "a",
		"append:header.x-b":       "b",
		"remove:header.x-c":       "",
		"overwrite:querystring.q": "q",
		"overwrite:path":          "/p",
	}))
	src := newSource(request("/"), nil, nil)
	out := &http.Request{}
	m.Apply(out, src) // must not panic
	if out.Header.Get("X-A") != "a" || out.Header.Get("X-B") != "b" {
		t.Errorf("Header = %v", out.Header)
	}
}

func TestApplyAllocs(t *testing.T) {
	r := request("/orders/17?tenant=t1", "X-Tenant", "acme")
	src := newSource(r, defaultParams, defaultCtx)
	out := r.Clone(r.Context())
	for _, m := range []*Mapping{nil, {}} {
		if n := testing.AllocsPerRun(100, func() { m.Apply(out, src) }); n != 0 {
			t.Errorf("nil/empty Apply allocates %v times", n)
		}
	}
	m := must(Parse(threeHeaders))
	n := testing.AllocsPerRun(100, func() {
		m.Apply(out, src)
		delete(out.Header, "X-Tags")
	})
	t.Logf("3 header mappings: %v allocs/op", n)
	if n > 3 {
		t.Errorf("3 header mappings allocate %v times, want <= 3", n)
	}
}

var threeHeaders = map[string]string{
	"overwrite:header.x-user-id": "$context.authorizer.claims.sub",
	"overwrite:header.x-tenant":  "$request.header.X-Tenant",
	"append:header.x-tags":       "user-${context.authorizer.claims.sub}-${request.querystring.tenant}",
}

// TestInlineExpressions: as on AWS, $request.* and $context.* are
// expressions inside text too, not only in ${...} (AWS's own answer for
// stripping a path prefix is "overwrite:path": "/$request.path.proxy").
// A name runs over letters, digits, "_", "-", ":" and inner dots; a value
// that starts with "$" is still one whole expression.
func TestInlineExpressions(t *testing.T) {
	for _, tc := range []struct {
		value, want string
	}{
		{"u-$request.path.id", "u-17"},
		{"id $request.path.id, request $context.requestId.", "id 17, request req-1."},
		{"t=$request.header.x-tenant@$context.authorizer.claims.sub", "t=t1@user-42"},
		{"a$context.requestId$request.path.id", "areq-117"},
		{"cost $5 and $HOME and $request", "cost $5 and $HOME and $request"}, // not a source: text
	} {
		out := run(t, map[string]string{"overwrite:header.x-a": tc.value}, request("/orders/17", "X-Tenant", "t1"))
		if got := out.Header.Get("X-A"); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.value, got, tc.want)
		}
	}
	// A value starting with "$" is still one whole expression.
	for _, bad := range []string{"a-$request.nope.x", "a-$context.", "/$stageVariables.v", "$contxt.sub", "$request.path.id/x"} {
		if _, err := Parse(map[string]string{"overwrite:header.x-a": bad}); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", bad)
		}
	}
}

// TestPathGreedyParam: the route's {name+} value is a run of segments, so
// overwrite:path keeps its "/" as it keeps $request.path's: AWS's
// "/$request.path.proxy" turns /v1/app/user/add into /user/add. Other
// values stay one segment each.
func TestPathGreedyParam(t *testing.T) {
	for _, tc := range []struct {
		name, value, greedy, want, wantDec string
	}{
		{"greedy keeps slashes", "/$request.path.proxy", "proxy", "/a/b/c", "/a/b/c"},
		{"greedy in ${}", "/v2/${request.path.proxy}", "proxy", "/v2/a/b/c", "/v2/a/b/c"},
		{"not the greedy param", "/$request.path.proxy", "other", "/a%2Fb%2Fc", "/a/b/c"},
		{"no greedy param", "/$request.path.proxy", "", "/a%2Fb%2Fc", "/a/b/c"},
		{"one-segment param", "/items/$request.path.id", "proxy", "/items/17", "/items/17"},
	} {
		m, err := ParseWith(map[string]string{"overwrite:path": tc.value}, Options{GreedyParam: tc.greedy})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		r := request("/x")
		out := r.Clone(r.Context())
		m.Apply(out, newSource(r, map[string]string{"id": "17", "proxy": "a/b/c"}, defaultCtx))
		if got := out.URL.EscapedPath(); got != tc.want || out.URL.Path != tc.wantDec {
			t.Errorf("%s: path %q (%q), want %q (%q)", tc.name, got, out.URL.Path, tc.want, tc.wantDec)
		}
	}
	// A greedy value with a space or a "?" is escaped within its segments.
	m, err := ParseWith(map[string]string{"overwrite:path": "/$request.path.proxy"}, Options{GreedyParam: "proxy"})
	if err != nil {
		t.Fatal(err)
	}
	r := request("/x")
	out := r.Clone(r.Context())
	m.Apply(out, newSource(r, map[string]string{"proxy": "a b/c?d"}, defaultCtx))
	if got := out.URL.EscapedPath(); got != "/a%20b/c%3Fd" {
		t.Errorf("escaped greedy path %q, want /a%%20b/c%%3Fd", got)
	}
}

package cors

import (
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/portcullis/portcullis/internal/config"
)

func policy(t *testing.T, yaml string, m *Metrics) *Policy {
	t.Helper()
	f, err := config.Parse("cors.yaml", []byte(yaml), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Setup(f, m)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSetupAbsent(t *testing.T) {
	f, err := config.Parse("cors.yaml", []byte("listen: 127.0.0.1:0\n"), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Setup(f, nil)
	if p != nil || err != nil {
		t.Fatalf("Setup without cors: = %v, %v; want nil, nil", p, err)
	}
}

// TestSetupErrors: every mistake is reported at its line, with a message
// that says what to write instead.
func TestSetupErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string // "LINE:COL: text" parts of each error, in order
	}{
		{"credentials with any origin", `cors:
  allowOrigins:
    - https://app.example.com
    - "*"
  allowCredentials: true
`, []string{`cors.yaml:4:7: cors.allowOrigins[1]: allowOrigins ` + "`*`" + ` cannot go with allowCredentials: true`}},
		{"trailing slash", `cors:
  allowOrigins: [https://app.example.com/]
`, []string{`cors.yaml:2:18: cors.allowOrigins[0]: origin "https://app.example.com/" ends with '/': an origin has no path; write https://app.example.com`}},
		{"path", `cors:
  allowOrigins: [https://app.example.com/x]
`, []string{`has a path`}},
		{"no scheme", `cors:
  allowOrigins: [app.example.com]
`, []string{`is not scheme://host[:port]`}},
		{"null origin", `cors:
  allowOrigins: ["null"]
`, []string{`origin "null" is what sandboxed frames`}},
		{"star inside host", `cors:
  allowOrigins: ["https://app-*.example.com", "https://*.*.example.com", "https://*."]
`, []string{"`*` may only stand for", "`*` may only stand for", "`*` may only stand for"}},
		{"bad port", `cors:
  allowOrigins: ["https://app.example.com:99999", "https://app.example.com:x"]
`, []string{`port "99999" is not a number`, `port "x" is not a number`}},
		{"bad method and headers", `cors:
  allowOrigins: [https://app.example.com]
  allowMethods: [GET, "PO ST"]
  allowHeaders: ["x:y"]
  exposeHeaders: ["a b"]
`, []string{`cors.yaml:3:23: cors.allowMethods[1]: method "PO ST"`, `cors.yaml:4:18: cors.allowHeaders[0]: header "x:y"`, `cors.yaml:5:19: cors.exposeHeaders[0]: header "a b"`}},
		{"methods and headers with delimiters or UTF-8", `cors:
  allowOrigins: [https://app.example.com]
  allowMethods: ["GET,POST", "PÜT"]
  allowHeaders: ["x-a,x-b", "x-é"]
  exposeHeaders: ["x(y)", "x-ü"]
`, []string{
			`cors.allowMethods[0]: method "GET,POST" is not an HTTP method name`, `cors.allowMethods[1]: method "PÜT"`,
			`cors.allowHeaders[0]: header "x-a,x-b" is not an HTTP header name`, `cors.allowHeaders[1]: header "x-é"`,
			`cors.exposeHeaders[0]: header "x(y)" is not an HTTP header name`, `cors.exposeHeaders[1]: header "x-ü"`,
		}},
		{"max age", `cors:
  allowOrigins: [https://app.example.com]
  maxAge: 86401
`, []string{`cors.yaml:3:11: cors.maxAge: maxAge 86401 is outside AWS's range of -1 to 86400 seconds`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := config.Parse("cors.yaml", []byte(tc.yaml), os.LookupEnv)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Setup(f, nil)
			if err == nil {
				t.Fatalf("Setup accepted it: %+v", p)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(lines), len(tc.want), err)
			}
			for i, w := range tc.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("error %d = %q, want it to contain %q", i, lines[i], w)
				}
			}
		})
	}
}

// TestOrigins: which Origin headers get an Access-Control-Allow-Origin, and
// which value.
func TestOrigins(t *testing.T) {
	list := policy(t, `cors:
  allowOrigins:
    - https://App.Example.com
    - http://localhost:3000
    - https://legacy.example.net:443
    - "https://*.example.org"
    - "https://*.example.io:8443"
    - "http://*"
    - "http://[::1]:8080"
`, nil)
	any := policy(t, `cors: {allowOrigins: ["*"]}`, nil)
	for _, tc := range []struct {
		name   string
		p      *Policy
		origin []string
		want   string // "" for no header
	}{
		{"exact, written in upper case", list, []string{"https://app.example.com"}, "https://app.example.com"},
		{"exact with port", list, []string{"http://localhost:3000"}, "http://localhost:3000"},
		{"other port", list, []string{"http://localhost:3001"}, "http://localhost:3001"}, // http://* allows it
		{"default port left out", list, []string{"https://legacy.example.net"}, "https://legacy.example.net"},
		{"other scheme", list, []string{"http://app.example.com"}, "http://app.example.com"}, // http://*
		{"https other host", list, []string{"https://evil.example.com"}, ""},
		{"suffix lookalike", list, []string{"https://app.example.com.evil.net"}, ""},
		{"pattern, one label", list, []string{"https://shop.example.org"}, "https://shop.example.org"},
		{"pattern, two labels", list, []string{"https://a.b.example.org"}, "https://a.b.example.org"},
		{"pattern, bare domain", list, []string{"https://example.org"}, ""},
		{"pattern, empty label", list, []string{"https://.example.org"}, ""},
		{"pattern, glued", list, []string{"https://evilexample.org"}, ""},
		{"pattern, port not in pattern", list, []string{"https://shop.example.org:8443"}, ""},
		{"pattern with port", list, []string{"https://shop.example.io:8443"}, "https://shop.example.io:8443"},
		{"pattern with port, no port", list, []string{"https://shop.example.io"}, ""},
		{"ipv6", list, []string{"http://[::1]:8080"}, "http://[::1]:8080"},
		{"null", list, []string{"null"}, ""},
		{"empty", list, []string{""}, ""},
		{"two Origin headers", list, []string{"https://app.example.com", "https://app.example.com"}, ""},
		{"any", any, []string{"https://whoever.test"}, "*"},
		{"any, null", any, []string{"null"}, "*"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/x", nil)
			r.Header["Origin"] = tc.origin
			c := tc.p.Check(r)
			h := http.Header{}
			c.Stamp(h)
			if got := h.Get("Access-Control-Allow-Origin"); got != tc.want {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tc.want)
			}
			if got := h.Values("Vary"); !slices.Equal(got, []string{"Origin"}) {
				t.Errorf("Vary = %q, want Origin", got)
			}
		})
	}
}

const fullConfig = `cors:
  allowOrigins: [https://app.example.com]
  allowMethods: [GET, POST, DELETE]
  allowHeaders: [Authorization, content-type]
  exposeHeaders: [x-request-id, date]
  maxAge: 300
  allowCredentials: true
`

// TestStamp: the headers each kind of request gets, and that a backend's
// CORS headers never survive.
func TestStamp(t *testing.T) {
	full := policy(t, fullConfig, nil)
	wild := policy(t, `cors:
  allowOrigins: ["https://*"]
  allowMethods: ["*"]
  allowHeaders: ["*"]
  exposeHeaders: ["*"]
`, nil)
	backend := http.Header{
		"Access-Control-Allow-Origin":      {"*"},
		"Access-Control-Allow-Credentials": {"true"},
		"Access-Control-Allow-Methods":     {"PUT"},
		"Access-Control-Allow-Headers":     {"x-anything"},
		"Access-Control-Expose-Headers":    {"x-secret"},
		"Access-Control-Max-Age":           {"86400"},
		"Content-Type":                     {"application/json"},
	}
	for _, tc := range []struct {
		name    string
		p       *Policy
		method  string
		header  map[string]string
		pre     bool
		backend http.Header
		want    http.Header // the whole response header afterwards
	}{
		{"allowed request", full, "GET", map[string]string{"Origin": "https://app.example.com"}, false, nil, http.Header{
			"Access-Control-Allow-Origin":      {"https://app.example.com"},
			"Access-Control-Allow-Credentials": {"true"},
			"Access-Control-Expose-Headers":    {"x-request-id,date"},
			"Vary":                             {"Origin"},
		}},
		{"allowed request, backend's CORS headers replaced", full, "GET", map[string]string{"Origin": "https://app.example.com"}, false, backend, http.Header{
			"Access-Control-Allow-Origin":      {"https://app.example.com"},
			"Access-Control-Allow-Credentials": {"true"},
			"Access-Control-Expose-Headers":    {"x-request-id,date"},
			"Content-Type":                     {"application/json"},
			"Vary":                             {"Origin"},
		}},
		{"disallowed origin, backend's CORS headers removed", full, "GET", map[string]string{"Origin": "https://evil.test"}, false, backend, http.Header{
			"Content-Type": {"application/json"},
			"Vary":         {"Origin"},
		}},
		{"no Origin, backend's CORS headers removed", full, "GET", nil, false, backend, http.Header{
			"Content-Type": {"application/json"},
			"Vary":         {"Origin"},
		}},
		{"backend's Vary kept", full, "GET", map[string]string{"Origin": "https://app.example.com"}, false, http.Header{"Vary": {"Accept-Encoding"}}, http.Header{
			"Access-Control-Allow-Origin":      {"https://app.example.com"},
			"Access-Control-Allow-Credentials": {"true"},
			"Access-Control-Expose-Headers":    {"x-request-id,date"},
			"Vary":                             {"Accept-Encoding", "Origin"},
		}},
		{"backend's Vary has origin", full, "GET", nil, false, http.Header{"Vary": {"accept-encoding, origin"}}, http.Header{
			"Vary": {"accept-encoding, origin"},
		}},
		{"preflight", full, "OPTIONS", map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "DELETE", "Access-Control-Request-Headers": "authorization,Content-Type"}, true, nil, http.Header{
			"Access-Control-Allow-Origin":      {"https://app.example.com"},
			"Access-Control-Allow-Credentials": {"true"},
			"Access-Control-Allow-Methods":     {"GET,POST,DELETE"},
			"Access-Control-Allow-Headers":     {"Authorization,content-type"},
			"Access-Control-Max-Age":           {"300"},
			"Vary":                             {"Origin"},
		}},
		{"preflight, safelisted method not listed", full, "OPTIONS", map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "HEAD"}, true, nil, http.Header{
			"Access-Control-Allow-Origin":      {"https://app.example.com"},
			"Access-Control-Allow-Credentials": {"true"},
			"Access-Control-Allow-Methods":     {"GET,POST,DELETE"},
			"Access-Control-Allow-Headers":     {"Authorization,content-type"},
			"Access-Control-Max-Age":           {"300"},
			"Vary":                             {"Origin"},
		}},
		{"preflight, method not allowed", full, "OPTIONS", map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT"}, true, backend, http.Header{
			"Content-Type": {"application/json"},
			"Vary":         {"Origin"},
		}},
		{"preflight, method case matters", full, "OPTIONS", map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "delete"}, true, nil, http.Header{
			"Vary": {"Origin"},
		}},
		{"preflight, header not allowed", full, "OPTIONS", map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization, x-debug"}, true, nil, http.Header{
			"Vary": {"Origin"},
		}},
		{"preflight, origin not allowed", full, "OPTIONS", map[string]string{"Origin": "https://evil.test", "Access-Control-Request-Method": "GET"}, true, nil, http.Header{
			"Vary": {"Origin"},
		}},
		{"OPTIONS without Access-Control-Request-Method is a request", full, "OPTIONS", map[string]string{"Origin": "https://app.example.com"}, false, nil, http.Header{
			"Access-Control-Allow-Origin":      {"https://app.example.com"},
			"Access-Control-Allow-Credentials": {"true"},
			"Access-Control-Expose-Headers":    {"x-request-id,date"},
			"Vary":                             {"Origin"},
		}},
		{"wildcards: preflight echoes what it asks", wild, "OPTIONS", map[string]string{"Origin": "https://a.test", "Access-Control-Request-Method": "PURGE", "Access-Control-Request-Headers": "authorization,x-trace"}, true, nil, http.Header{
			"Access-Control-Allow-Origin":  {"https://a.test"},
			"Access-Control-Allow-Methods": {"PURGE"},
			"Access-Control-Allow-Headers": {"authorization,x-trace"},
			"Vary":                         {"Origin"},
		}},
		{"wildcards: request", wild, "GET", map[string]string{"Origin": "https://a.test"}, false, nil, http.Header{
			"Access-Control-Allow-Origin":   {"https://a.test"},
			"Access-Control-Expose-Headers": {"*"},
			"Vary":                          {"Origin"},
		}},
		{"wildcards: http origin", wild, "GET", map[string]string{"Origin": "http://a.test"}, false, nil, http.Header{
			"Vary": {"Origin"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/x", nil)
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			c := tc.p.Check(r)
			if !c.Active() || c.Preflight() != tc.pre {
				t.Fatalf("Active %v, Preflight %v; want true, %v", c.Active(), c.Preflight(), tc.pre)
			}
			h := tc.backend.Clone()
			if h == nil {
				h = http.Header{}
			}
			c.Stamp(h)
			if len(h) != len(tc.want) {
				t.Errorf("headers = %v\nwant %v", h, tc.want)
			}
			for k, v := range tc.want {
				if !slices.Equal(h[k], v) {
					t.Errorf("%s = %q, want %q", k, h[k], v)
				}
			}
			if c.Allowed() != (tc.want.Get("Access-Control-Allow-Origin") != "") {
				t.Errorf("Allowed() = %v", c.Allowed())
			}
			// The header values are shared; adding to them must copy.
			h.Add("Vary", "Accept")
			h.Add("Access-Control-Allow-Origin", "x")
			if o := r.Header.Get("Origin"); o != tc.header["Origin"] {
				t.Errorf("the request's Origin changed to %q", o)
			}
			if got := tc.p.vary; !slices.Equal(got, []string{"Origin"}) {
				t.Errorf("the policy's Vary changed to %q", got)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	if again := NewMetrics(reg); again.requests != m.requests {
		t.Error("a second NewMetrics on the same registry did not reuse the collector")
	}
	p := policy(t, fullConfig, m)
	for _, h := range []map[string]string{
		{"Origin": "https://app.example.com"},
		{"Origin": "https://app.example.com"},
		{"Origin": "https://evil.test"},
		{}, // no Origin: not counted
		{"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"},
		{"Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT"},
		{"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-no"},
		{"Origin": "https://evil.test", "Access-Control-Request-Method": "GET"},
	} {
		method := "GET"
		if h["Access-Control-Request-Method"] != "" {
			method = "OPTIONS"
		}
		r := httptest.NewRequest(method, "/", nil)
		for k, v := range h {
			r.Header.Set(k, v)
		}
		p.Check(r)
	}
	for _, tc := range []struct {
		kind, outcome string
		want          float64
	}{
		{"request", "allowed", 2},
		{"request", "origin_not_allowed", 1},
		{"preflight", "allowed", 1},
		{"preflight", "method_not_allowed", 1},
		{"preflight", "headers_not_allowed", 1},
		{"preflight", "origin_not_allowed", 1},
	} {
		if got := testutil.ToFloat64(m.requests.WithLabelValues(tc.kind, tc.outcome)); got != tc.want {
			t.Errorf("portcullis_cors_requests_total{kind=%q,outcome=%q} = %v, want %v", tc.kind, tc.outcome, got, tc.want)
		}
	}
}

// TestCheckStampAllocs: an allowed request costs no allocation.
func TestCheckStampAllocs(t *testing.T) {
	p := policy(t, `cors:
  allowOrigins: [https://app.example.com, "https://*.example.org"]
  exposeHeaders: [x-request-id]
  allowCredentials: true
`, nil)
	for _, origin := range []string{"https://app.example.com", "https://shop.example.org", "https://evil.test"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Origin", origin)
		h := http.Header{"Content-Type": {"text/plain"}}
		allocs := testing.AllocsPerRun(100, func() {
			c := p.Check(r)
			c.Stamp(h)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per request, want 0", origin, allocs)
		}
	}
}

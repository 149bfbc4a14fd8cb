package apigwevent

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFormatTime(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	for _, c := range []struct {
		name string
		t    time.Time
		want string
	}{
		{"utc", time.Date(2026, 11, 24, 23, 15, 31, 250e6, time.UTC), "24/Nov/2026:23:15:31 +0000"},
		{"other zone becomes utc", time.Date(2026, 11, 25, 0, 15, 31, 0, cet), "24/Nov/2026:23:15:31 +0000"},
		{"single-digit day", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "02/Jan/2026:03:04:05 +0000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := FormatTime(c.t); got != c.want {
				t.Errorf("FormatTime = %q, want %q", got, c.want)
			}
		})
	}
}

func TestParts(t *testing.T) {
	for _, c := range []struct {
		name     string
		p        Parts
		defaults Parts
		errs     []string // substrings, one per expected error, in order
	}{
		{"empty takes defaults", Parts{}, Parts{"us-east-1", "000000000000", "portcullis", "$default"}, nil},
		{"set parts kept", Parts{"eu-west-1", "123456789012", "abc123", "prod"}, Parts{"eu-west-1", "123456789012", "abc123", "prod"}, nil},
		{"some set", Parts{Stage: "prod"}, Parts{"us-east-1", "000000000000", "portcullis", "prod"}, nil},
		{"colon in region", Parts{Region: "a:b"}, Parts{"a:b", "000000000000", "portcullis", "$default"}, []string{`region "a:b"`}},
		{"slash and whitespace", Parts{AccountID: "1 2", APIID: "x\ty", Stage: "a/b"}, Parts{"us-east-1", "1 2", "x\ty", "a/b"},
			[]string{`account id "1 2"`, `API id "x\ty"`, `stage "a/b"`}},
		{"newline", Parts{Stage: "a\n"}, Parts{"us-east-1", "000000000000", "portcullis", "a\n"}, []string{"stage"}},
		{"dollar and dash allowed", Parts{Region: "eu-west-1", Stage: "$default"}, Parts{"eu-west-1", "000000000000", "portcullis", "$default"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.p.WithDefaults(); got != c.defaults {
				t.Errorf("WithDefaults = %+v, want %+v", got, c.defaults)
			}
			errs := c.p.Errors()
			if len(errs) != len(c.errs) {
				t.Fatalf("Errors = %v, want %d errors", errs, len(c.errs))
			}
			for i, err := range errs {
				msg := err.Error()
				if !strings.Contains(msg, c.errs[i]) || !strings.HasSuffix(msg, "must not contain ':', '/' or whitespace") {
					t.Errorf("error %d = %q, want it to name %s", i, msg, c.errs[i])
				}
			}
		})
	}
}

func TestRouteKeyAndResource(t *testing.T) {
	for _, c := range []struct {
		resource, routeKey    string
		wantKey, wantResource string
	}{
		{"", "", "$default", "$default"},
		{"", "$default", "$default", "$default"},
		{"", "GET /pets/{id}", "GET /pets/{id}", "/pets/{id}"},
		{"/custom", "GET /pets/{id}", "GET /pets/{id}", "/custom"},
		{"$default", "", "$default", "$default"},
		{"", "ANY /{proxy+}", "ANY /{proxy+}", "/{proxy+}"},
	} {
		t.Run(c.routeKey+"|"+c.resource, func(t *testing.T) {
			if got := RouteKey(c.routeKey); got != c.wantKey {
				t.Errorf("RouteKey(%q) = %q, want %q", c.routeKey, got, c.wantKey)
			}
			if got := Resource(c.resource, c.routeKey); got != c.wantResource {
				t.Errorf("Resource(%q, %q) = %q, want %q", c.resource, c.routeKey, got, c.wantResource)
			}
		})
	}
}

func TestSourceIP(t *testing.T) {
	for _, c := range []struct {
		name, given, remote, want string
	}{
		{"given wins", "198.51.100.7", "203.0.113.9:51234", "198.51.100.7"},
		{"host of remote", "", "203.0.113.9:51234", "203.0.113.9"},
		{"ipv6 remote", "", "[2001:db8::1]:443", "2001:db8::1"},
		{"remote without port", "", "203.0.113.9", "203.0.113.9"},
		{"no remote", "", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: c.remote}
			if got := SourceIP(c.given, r); got != c.want {
				t.Errorf("SourceIP = %q, want %q", got, c.want)
			}
		})
	}
}

func TestDomain(t *testing.T) {
	for _, c := range []struct {
		name, target         string
		noHost               bool // Request.Host empty: the URL's host counts
		wantName, wantPrefix string
	}{
		{"host with port", "http://api.example.com:8443/", false, "api.example.com", "api"},
		{"host without port", "http://api.example.com/", false, "api.example.com", "api"},
		{"single label", "http://localhost:8080/", false, "localhost", "localhost"},
		{"ipv4", "http://192.0.2.1:8080/", false, "192.0.2.1", "192.0.2.1"},
		{"ipv6", "http://[2001:db8::1]:8080/", false, "2001:db8::1", "2001:db8::1"},
		{"url host when Host is empty", "http://u.example.org/", true, "u.example.org", "u"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, c.target, nil)
			if c.noHost {
				r.Host = ""
			}
			name := DomainName(r)
			if name != c.wantName {
				t.Errorf("DomainName = %q, want %q", name, c.wantName)
			}
			if got := DomainPrefix(name); got != c.wantPrefix {
				t.Errorf("DomainPrefix(%q) = %q, want %q", name, got, c.wantPrefix)
			}
		})
	}
}

// request returns a request for target with the header lines kv (name,
// value, name, value, ...) added in order.
func request(target string, kv ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(kv); i += 2 {
		r.Header.Add(kv[i], kv[i+1])
	}
	return r
}

func TestHeadersV1(t *testing.T) {
	for _, c := range []struct {
		name       string
		r          *http.Request
		wantSingle map[string]string
		wantMulti  map[string][]string
	}{
		{"host only", request("http://h.example/"),
			map[string]string{"host": "h.example"},
			map[string][]string{"host": {"h.example"}}},
		// HTTP APIs send lower-case names in payload 1.0 too, so a function
		// written for AWS finds event["headers"]["x-api-key"].
		{"lower-case names", request("http://h.example/", "X-Api-Key", "k", "X-Custom-Thing", "v", "Content-Type", "text/plain"),
			map[string]string{"host": "h.example", "x-api-key": "k", "x-custom-thing": "v", "content-type": "text/plain"},
			map[string][]string{"host": {"h.example"}, "x-api-key": {"k"}, "x-custom-thing": {"v"}, "content-type": {"text/plain"}}},
		{"repeats: last value, all values", request("http://h.example/", "X-Multi", "one", "X-Multi", "two", "Cookie", "a=1"),
			map[string]string{"host": "h.example", "x-multi": "two", "cookie": "a=1"},
			map[string][]string{"host": {"h.example"}, "x-multi": {"one", "two"}, "cookie": {"a=1"}}},
		{"no host", func() *http.Request {
			r := request("/", "A", "1")
			r.Host = ""
			return r
		}(),
			map[string]string{"a": "1"},
			map[string][]string{"a": {"1"}}},
		{"empty value list skipped", func() *http.Request {
			r := request("http://h.example/")
			r.Header["X-Empty"] = nil
			return r
		}(),
			map[string]string{"host": "h.example"},
			map[string][]string{"host": {"h.example"}}},
		{"already lower case (HTTP/2)", func() *http.Request {
			r := request("/")
			r.Host = ""
			r.Header["x-api-key"] = []string{"k"}
			return r
		}(),
			map[string]string{"x-api-key": "k"},
			map[string][]string{"x-api-key": {"k"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			single, multi := HeadersV1(c.r)
			if !reflect.DeepEqual(single, c.wantSingle) {
				t.Errorf("headers = %v, want %v", single, c.wantSingle)
			}
			if !reflect.DeepEqual(multi, c.wantMulti) {
				t.Errorf("multiValueHeaders = %v, want %v", multi, c.wantMulti)
			}
		})
	}
}

func TestQuery(t *testing.T) {
	for _, c := range []struct {
		name       string
		raw        string
		wantSingle map[string]string
		wantMulti  map[string][]string
		wantV2     map[string]string
	}{
		{"none", "", nil, nil, nil},
		{"only separators", "&&", nil, nil, nil},
		{"repeats", "q=1&q=2&name=a%20b",
			map[string]string{"q": "2", "name": "a b"},
			map[string][]string{"q": {"1", "2"}, "name": {"a b"}},
			map[string]string{"q": "1,2", "name": "a b"}},
		{"empty value", "t=", map[string]string{"t": ""}, map[string][]string{"t": {""}}, map[string]string{"t": ""}},
		{"case-sensitive names", "T=1&t=2",
			map[string]string{"T": "1", "t": "2"},
			map[string][]string{"T": {"1"}, "t": {"2"}},
			map[string]string{"T": "1", "t": "2"}},
		{"malformed pair dropped", "a=%zz&b=1", map[string]string{"b": "1"}, map[string][]string{"b": {"1"}}, map[string]string{"b": "1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			single, multi := QueryV1(c.raw)
			if !reflect.DeepEqual(single, c.wantSingle) {
				t.Errorf("QueryV1 single = %#v, want %#v", single, c.wantSingle)
			}
			if !reflect.DeepEqual(multi, c.wantMulti) {
				t.Errorf("QueryV1 multi = %#v, want %#v", multi, c.wantMulti)
			}
			if got := QueryV2(c.raw); !reflect.DeepEqual(got, c.wantV2) {
				t.Errorf("QueryV2 = %#v, want %#v", got, c.wantV2)
			}
		})
	}
}

func TestHeadersV2(t *testing.T) {
	for _, c := range []struct {
		name        string
		r           *http.Request
		wantHeaders map[string]string
		wantCookies []string
	}{
		{"lower-case names, host added", request("http://h.example/", "X-Api-Key", "k"),
			map[string]string{"host": "h.example", "x-api-key": "k"}, nil},
		{"repeats comma-joined", request("http://h.example/", "X-Multi", "one", "X-Multi", "two"),
			map[string]string{"host": "h.example", "x-multi": "one,two"}, nil},
		{"cookies moved out and split", request("http://h.example/", "Cookie", "a=1; b=2", "Cookie", "c=3;;  "),
			map[string]string{"host": "h.example"}, []string{"a=1", "b=2", "c=3"}},
		{"already lower case (HTTP/2)", func() *http.Request {
			r := request("/")
			r.Host = ""
			r.Header["content-type"] = []string{"text/plain"}
			return r
		}(), map[string]string{"content-type": "text/plain"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			headers, cookies := HeadersV2(c.r)
			if !reflect.DeepEqual(headers, c.wantHeaders) {
				t.Errorf("headers = %v, want %v", headers, c.wantHeaders)
			}
			if !slices.Equal(cookies, c.wantCookies) {
				t.Errorf("cookies = %q, want %q", cookies, c.wantCookies)
			}
		})
	}
}

// TestHeadersV2CaseVariants: names differing only in case (which
// net/http's server never produces) share one key; map order decides which
// values come first.
func TestHeadersV2CaseVariants(t *testing.T) {
	r := request("/")
	r.Host = ""
	r.Header["x-a"] = []string{"1"}
	r.Header["X-A"] = []string{"2", "3"}
	headers, _ := HeadersV2(r)
	if got := headers["x-a"]; len(headers) != 1 || (got != "1,2,3" && got != "2,3,1") {
		t.Errorf("headers = %v, want x-a with all three values", headers)
	}
}

// TestHeadersV1CaseVariants: names differing only in case (which
// net/http's server never produces) share one key with every value; map
// order decides which come first. The request's own slices are not changed.
func TestHeadersV1CaseVariants(t *testing.T) {
	r := request("/")
	r.Host = ""
	r.Header["x-a"] = []string{"1"}
	r.Header["X-A"] = []string{"2", "3"}
	single, multi := HeadersV1(r)
	if got := multi["x-a"]; len(multi) != 1 || (!slices.Equal(got, []string{"1", "2", "3"}) && !slices.Equal(got, []string{"2", "3", "1"})) {
		t.Errorf("multiValueHeaders = %v, want x-a with all three values", multi)
	}
	if got := single["x-a"]; len(single) != 1 || len(multi["x-a"]) != 3 || got != multi["x-a"][2] {
		t.Errorf("headers = %v, want x-a with the last of %v", single, multi["x-a"])
	}
	if !slices.Equal(r.Header["x-a"], []string{"1"}) || !slices.Equal(r.Header["X-A"], []string{"2", "3"}) {
		t.Errorf("request headers changed: %v", r.Header)
	}
}

// TestLowerName: every name in lowerName's table is the lower case of its
// canonical form, and lowering one allocates nothing.
func TestLowerName(t *testing.T) {
	for _, name := range []string{"Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control",
		"Connection", "Content-Length", "Content-Type", "Cookie", "Host", "If-Modified-Since", "If-None-Match",
		"Origin", "Pragma", "Referer", "User-Agent", "X-Amzn-Trace-Id", "X-Api-Key", "X-Forwarded-For",
		"X-Forwarded-Proto", "X-Request-Id", "X-Not-In-The-Table"} {
		if got, want := lowerName(name), strings.ToLower(name); got != want {
			t.Errorf("lowerName(%q) = %q, want %q", name, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = lowerName("User-Agent") }); n != 0 {
		t.Errorf("lowerName of a common name: %v allocations, want 0", n)
	}
}

func TestLowerASCII(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"content-type", "content-type"},
		{"Content-Type", "content-type"},
		{"X-API-KEY", "x-api-key"},
	} {
		if got := lowerASCII(c.in); got != c.want {
			t.Errorf("lowerASCII(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = lowerASCII("already-lower") }); n != 0 {
		t.Errorf("lowerASCII of a lower-case name: %v allocations, want 0", n)
	}
}

func TestNewContextV2(t *testing.T) {
	r := request("http://api.example.com:8443/pets/a%2Fb?x=1", "User-Agent", "curl/8.0")
	r.Method = http.MethodPost
	tm := time.Date(2026, 11, 24, 23, 15, 31, 250e6, time.UTC)
	p := Parts{Region: "eu-west-1", AccountID: "123456789012", APIID: "abc123", Stage: "prod"}
	got, err := json.Marshal(NewContextV2(r, p, "POST /pets/{id}", "req-1", "203.0.113.9", tm))
	if err != nil {
		t.Fatal(err)
	}
	// authentication is omitted, as AWS omits it without mTLS.
	want := `{"routeKey":"POST /pets/{id}","accountId":"123456789012","stage":"prod","requestId":"req-1",` +
		`"apiId":"abc123","domainName":"api.example.com","domainPrefix":"api","time":"24/Nov/2026:23:15:31 +0000",` +
		`"timeEpoch":1795562131250,"http":{"method":"POST","path":"/pets/a/b","protocol":"HTTP/1.1",` +
		`"sourceIp":"203.0.113.9","userAgent":"curl/8.0"}}`
	if string(got) != want {
		t.Errorf("requestContext\n got %s\nwant %s", got, want)
	}
}

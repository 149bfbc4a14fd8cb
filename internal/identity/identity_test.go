package identity

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		expr string
		kind Kind
		name string
		bad  bool
	}{
		{"$request.header.Authorization", Header, "Authorization", false},
		{"$request.header.x-token", Header, "X-Token", false},
		{"method.request.header.authorization", Header, "Authorization", false},
		{"$request.querystring.token", Query, "token", false},
		{"method.request.querystring.Token", Query, "Token", false},
		{"$request.cookie.session", Cookie, "session", false},
		{"$request.body.token", 0, "", true},
		{"$request.header.", 0, "", true},
		{"$request.header", 0, "", true},
		{"header.Authorization", 0, "", true},
		{"", 0, "", true},
		{"$context.authorizer", 0, "", true},
	}
	for _, c := range cases {
		s, err := Parse(c.expr)
		if c.bad {
			if err == nil {
				t.Errorf("Parse(%q) succeeded, want error", c.expr)
			}
			continue
		}
		if err != nil || s.Kind != c.kind || s.Name != c.name {
			t.Errorf("Parse(%q) = %+v, %v; want kind %d name %q", c.expr, s, err, c.kind, c.name)
		}
	}
}

func TestValue(t *testing.T) {
	req := func(target string, h map[string][]string) *http.Request {
		r := httptest.NewRequest("GET", target, nil)
		for k, vs := range h {
			for _, v := range vs {
				r.Header.Add(k, v)
			}
		}
		return r
	}
	hdr, _ := Parse("$request.header.Authorization")
	qs, _ := Parse("$request.querystring.token")
	ck, _ := Parse("$request.cookie.session")
	cases := []struct {
		name string
		src  Source
		r    *http.Request
		want string
		ok   bool
	}{
		{"header", hdr, req("/", map[string][]string{"authorization": {"Bearer a"}}), "Bearer a", true},
		{"header missing", hdr, req("/", nil), "", false},
		{"header empty", hdr, req("/", map[string][]string{"Authorization": {""}}), "", false},
		{"header twice is ambiguous", hdr, req("/", map[string][]string{"Authorization": {"Bearer a", "Bearer b"}}), "", false},
		{"query", qs, req("/?token=abc&x=1", nil), "abc", true},
		{"query case-sensitive", qs, req("/?Token=abc", nil), "", false},
		{"query twice", qs, req("/?token=a&token=b", nil), "", false},
		{"cookie", ck, req("/", map[string][]string{"Cookie": {"a=1; session=s3"}}), "s3", true},
		{"cookie twice", ck, req("/", map[string][]string{"Cookie": {"session=1; session=2"}}), "", false},
		{"cookie missing", ck, req("/", map[string][]string{"Cookie": {"a=1"}}), "", false},
	}
	for _, c := range cases {
		got, ok := c.src.Value(c.r)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: Value = %q, %v; want %q, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

func TestBearerToken(t *testing.T) {
	cases := map[string]string{
		"Bearer abc":   "abc",
		"bearer abc":   "abc",
		"BEARER  abc ": "abc",
		"abc":          "abc",
		"Bearer":       "Bearer",
		"Basic abc":    "Basic abc",
		" Bearer x.y":  "x.y",
	}
	for in, want := range cases {
		if got := BearerToken(in); got != want {
			t.Errorf("BearerToken(%q) = %q, want %q", in, got, want)
		}
	}
}

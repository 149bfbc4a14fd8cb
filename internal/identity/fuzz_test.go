package identity

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzSourceValue: for any expression that parses and any header, query and
// cookie values, Value never panics, and a value it finds is non-empty and
// is the one value present: one header value, one query value, one cookie.
// BearerToken returns a part of its input.
func FuzzSourceValue(f *testing.F) {
	f.Add("$request.header.Authorization", "Authorization", "Bearer abc", "", "")
	f.Add("$request.header.x-token", "X-Token", "a\nb", "", "")
	f.Add("method.request.header.authorization", "authorization", "", "", "")
	f.Add("$request.querystring.token", "", "", "token=abc&x=1", "")
	f.Add("$request.querystring.token", "", "", "token=a&token=b", "")
	f.Add("$request.querystring.t%20k", "", "", "t%20k=1;t k=2", "")
	f.Add("method.request.querystring.Token", "", "", "Token=%zz&Token", "")
	f.Add("$request.cookie.session", "", "", "", "session=abc; other=1")
	f.Add("$request.cookie.session", "", "", "", `session="quoted"; session=two`)
	f.Add("$request.cookie.s", "", "", "", "s=;s")
	f.Add("$request.header.", "", "", "", "")
	f.Add("$request.body.x", "", "", "", "")
	f.Fuzz(func(t *testing.T, expr, hname, hvalues, rawQuery, cookie string) {
		src, err := Parse(expr)
		if err != nil {
			if src != (Source{}) {
				t.Fatalf("Parse(%q) failed but returned %+v", expr, src)
			}
			return
		}
		if src.Name == "" || src.Expr != expr || src.Kind < Header || src.Kind > Cookie {
			t.Fatalf("Parse(%q) = %+v", expr, src)
		}
		r := &http.Request{Method: "GET", URL: &url.URL{Path: "/", RawQuery: rawQuery}, Header: http.Header{}}
		given := map[string]bool{}
		if hname != "" {
			for _, v := range strings.Split(hvalues, "\n") {
				r.Header.Add(hname, v)
				given[v] = true
			}
		}
		if cookie != "" {
			r.Header.Add("Cookie", cookie)
		}
		v, ok := src.Value(r)
		if !ok {
			if v != "" {
				t.Fatalf("not found but returned %q", v)
			}
		} else if v == "" {
			t.Fatal("found an empty value")
		}
		switch src.Kind {
		case Header:
			vs := r.Header[src.Name]
			want := len(vs) == 1 && vs[0] != ""
			if ok != want {
				t.Fatalf("header %q values %q: found=%v", src.Name, vs, ok)
			}
			if ok && (v != vs[0] || (src.Name != "Cookie" && !given[v])) {
				t.Fatalf("header value %q was not given", v)
			}
		case Query:
			q, _ := url.ParseQuery(rawQuery)
			vs := q[src.Name]
			want := len(vs) == 1 && vs[0] != ""
			if ok != want {
				t.Fatalf("query %q values %q: found=%v", src.Name, vs, ok)
			}
			if ok && v != vs[0] {
				t.Fatalf("query value %q, present %q", v, vs[0])
			}
		case Cookie:
			n := 0
			for _, c := range r.Cookies() {
				if c.Name == src.Name {
					n++
				}
			}
			if ok && n != 1 {
				t.Fatalf("cookie %q found with %d cookies of that name", src.Name, n)
			}
			if ok && !strings.Contains(cookie, v) {
				t.Fatalf("cookie value %q is not in the Cookie header %q", v, cookie)
			}
		}
		if ok {
			tok := BearerToken(v)
			if !strings.Contains(v, tok) {
				t.Fatalf("BearerToken(%q) = %q, not part of the value", v, tok)
			}
			if utf8.ValidString(v) && !utf8.ValidString(tok) {
				t.Fatalf("BearerToken split a UTF-8 sequence: %q", tok)
			}
		}
	})
}

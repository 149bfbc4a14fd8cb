package route

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestParseTemplateValid(t *testing.T) {
	tests := []struct {
		uri                 string
		scheme, host, query string
		params              []string
	}{
		{"http://backend", "http", "backend", "", nil},
		{"https://backend:8443/", "https", "backend:8443", "", nil},
		{"HTTPS://Backend/v1/{proxy}", "https", "Backend", "", []string{"proxy"}},
		{"http://10.0.0.1:8080/a/{id}/b/{rest+}?stage=prod&x=1", "http", "10.0.0.1:8080", "stage=prod&x=1", []string{"id", "rest"}},
		{"http://[::1]:9000/{a}/{a}/{b}", "http", "[::1]:9000", "", []string{"a", "b"}},
		{"http://h/items-{id}.json", "http", "h", "", []string{"id"}},
		{"http://h/a%20b/{x}?", "http", "h", "", []string{"x"}},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			tpl, err := ParseTemplate(tt.uri)
			if err != nil {
				t.Fatal(err)
			}
			u := tpl.URL()
			if u.Scheme != tt.scheme || u.Host != tt.host || u.RawQuery != tt.query || u.Path != "" || u.User != nil {
				t.Errorf("URL() = %#v", u)
			}
			if !slices.Equal(tpl.Params(), tt.params) {
				t.Errorf("Params() = %q, want %q", tpl.Params(), tt.params)
			}
			// URL returns a copy each time.
			u.Host = "changed"
			if tpl.URL().Host == "changed" {
				t.Error("URL() shares state")
			}
		})
	}
}

func TestParseTemplateInvalid(t *testing.T) {
	tests := []struct{ uri, wantErr string }{
		{"", "absolute http or https URL"},
		{"/relative/{proxy}", "absolute http or https URL"},
		{"backend:8080/x", "absolute http or https URL"},
		{"ftp://h/x", `scheme "ftp" is not supported`},
		{"://h/x", `scheme "" is not supported`},
		{"http:///x", "host is required"},
		{"http://", "host is required"},
		{"http://user:pw@h/x", "userinfo"},
		{"http://{host}/x", "only in the path, not in the host"},
		{"http://h:{port}/x", "only in the path, not in the host"},
		{"http://h/x?a={b}", "only in the path, not in the query"},
		{"http://h/x#{frag}", "fragment"},
		{"http://h/x#top", "fragment"},
		{"http://h/a b", "whitespace"},
		{"http://h/a\x00", "control"},
		{"http://h:port/x", "invalid port"},
		{"http://h/{proxy", `unterminated placeholder "{proxy"`},
		{"http://h/{}", `invalid placeholder "{}"`},
		{"http://h/{+}", `invalid placeholder "{+}"`},
		{"http://h/{a b}", "whitespace"},
		{"http://h/{a/b}", `invalid placeholder "{a/b}"`},
		{"http://h/{a{b}}", `invalid placeholder "{a{b}"`},
		{"http://h/a}", `unexpected "}"`},
		{"http://h/a%zz", "invalid percent-escape"},
		{"http://h/a%2", "invalid percent-escape"},
		{"http://h/a\"b", "must be percent-encoded"},
		{"http://h/caf\u00e9", "must be percent-encoded"},
		{"http://h/x?a=%zz", "invalid query"},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			tpl, err := ParseTemplate(tt.uri)
			if err == nil {
				t.Fatalf("ParseTemplate(%q) = %+v, want error containing %q", tt.uri, tpl, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	tests := []struct {
		name, route, tpl, method, path string
		want                           string // Expand result
		wantURL                        string // ExpandURL(...).String()
	}{
		{"plain", "GET /pets/{id}", "http://b/api/pets/{id}", "GET", "/pets/7",
			"/api/pets/7", "http://b/api/pets/7"},
		{"space escaped", "GET /pets/{id}", "http://b/p/{id}", "GET", "/pets/a b",
			"/p/a%20b", "http://b/p/a%20b"},
		{"greedy keeps slashes", "ANY /{proxy+}", "https://b/v1/{proxy}?stage=prod", "POST", "/x/y z",
			"/v1/x/y%20z", "https://b/v1/x/y%20z?stage=prod"},
		{"greedy plus form", "ANY /{proxy+}", "https://b/{proxy+}", "GET", "/x/y z/",
			"/x/y%20z/", "https://b/x/y%20z/"},
		{"greedy special chars", "ANY /{proxy+}", "http://b/{proxy}", "GET", "/a?b/c#d/%e/;f,g",
			"/a%3Fb/c%23d/%25e/%3Bf%2Cg", "http://b/a%3Fb/c%23d/%25e/%3Bf%2Cg"},
		{"missing param is empty", "GET /pets/{id}", "http://b/p/{other}/x", "GET", "/pets/1",
			"/p//x", "http://b/p//x"},
		{"repeated and mid-segment", "GET /f/{name}", "http://b/{name}/{name}.json", "GET", "/f/r&d",
			"/r&d/r&d.json", "http://b/r&d/r&d.json"},
		{"literal escapes kept", "GET /f/{n}", "http://b/a%20b/{n}", "GET", "/f/c",
			"/a%20b/c", "http://b/a%20b/c"},
		{"empty path", "GET /f", "http://b", "GET", "/f", "/", "http://b/"},
		{"unicode", "GET /f/{n}", "http://b/{n}", "GET", "/f/café", "/caf%C3%A9", "http://b/caf%C3%A9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, _ := mustTable(t, tt.route)
			tpl, err := ParseTemplate(tt.tpl)
			if err != nil {
				t.Fatal(err)
			}
			var p Params
			if tab.Match(tt.method, tt.path, &p) < 0 {
				t.Fatalf("%s did not match %s", tt.path, tt.route)
			}
			if got := tpl.Expand(&p); got != tt.want {
				t.Errorf("Expand = %q, want %q", got, tt.want)
			}
			if got := tpl.ExpandURL(&p).String(); got != tt.wantURL {
				t.Errorf("ExpandURL = %q, want %q", got, tt.wantURL)
			}
		})
	}
}

// TestExpandSingleSegmentSlash covers a "/" inside a single-segment value,
// which a matched request never produces but a decoded %2F in a literal
// path could: it must stay one segment.
func TestExpandSingleSegmentSlash(t *testing.T) {
	tab, _ := mustTable(t, "GET /pets/{id}")
	var p Params
	if tab.Match("GET", "/pets/x", &p) < 0 {
		t.Fatal("no match")
	}
	p.values[0] = "a/b"
	tpl, err := ParseTemplate("http://b/p/{id}")
	if err != nil {
		t.Fatal(err)
	}
	if got := tpl.Expand(&p); got != "/p/a%2Fb" {
		t.Fatalf("Expand = %q, want /p/a%%2Fb", got)
	}
	u := tpl.ExpandURL(&p)
	if u.Path != "/p/a/b" || u.RawPath != "/p/a%2Fb" || u.EscapedPath() != "/p/a%2Fb" {
		t.Fatalf("ExpandURL: Path %q RawPath %q EscapedPath %q", u.Path, u.RawPath, u.EscapedPath())
	}
	if got := u.String(); got != "http://b/p/a%2Fb" {
		t.Fatalf("String = %q", got)
	}
	// The caller appends the client's query.
	u.RawQuery = "q=1"
	if got := u.String(); got != "http://b/p/a%2Fb?q=1" {
		t.Fatalf("String = %q", got)
	}
}

func TestExpandNilParams(t *testing.T) {
	tpl, err := ParseTemplate("http://b/a/{x}/{y+}")
	if err != nil {
		t.Fatal(err)
	}
	if got := tpl.Expand(nil); got != "/a//" {
		t.Fatalf("Expand(nil) = %q", got)
	}
}

func TestExpandURLRoundTrip(t *testing.T) {
	tab, _ := mustTable(t, "ANY /{proxy+}")
	tpl, err := ParseTemplate("http://b/{proxy}?k=v")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/a", "/a b/c", "/ü/%/?/#/+/&", "/x//y/"} {
		var p Params
		if tab.Match("GET", path, &p) < 0 {
			t.Fatalf("%q: no match", path)
		}
		u, err := url.Parse(tpl.ExpandURL(&p).String())
		if err != nil {
			t.Fatal(err)
		}
		if u.Path != path || u.RawQuery != "k=v" {
			t.Errorf("%q: reparsed Path %q query %q", path, u.Path, u.RawQuery)
		}
	}
}

func TestTemplateCheckKey(t *testing.T) {
	tpl, err := ParseTemplate("http://b/{proxy}/{id}")
	if err != nil {
		t.Fatal(err)
	}
	if err := tpl.CheckKey(Key{"GET", "/{id}/{proxy+}"}); err != nil {
		t.Errorf("CheckKey: %v", err)
	}
	err = tpl.CheckKey(Key{"GET", "/{id}"})
	if err == nil || !strings.Contains(err.Error(), "{proxy}") {
		t.Errorf("CheckKey = %v, want missing {proxy}", err)
	}
	if err := tpl.CheckKey(Key{}); err == nil {
		t.Error("CheckKey($default) = nil, want error")
	}
}

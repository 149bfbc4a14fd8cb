package route

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseKeyValid(t *testing.T) {
	tests := []struct {
		in     string
		want   Key
		params []string
	}{
		{"$default", Key{}, nil},
		{"GET /", Key{"GET", "/"}, nil},
		{"GET /pets", Key{"GET", "/pets"}, nil},
		{"POST /pets/{id}", Key{"POST", "/pets/{id}"}, []string{"id"}},
		{"PUT /a/{b}/c/{d}", Key{"PUT", "/a/{b}/c/{d}"}, []string{"b", "d"}},
		{"PATCH /x", Key{"PATCH", "/x"}, nil},
		{"DELETE /x", Key{"DELETE", "/x"}, nil},
		{"HEAD /x", Key{"HEAD", "/x"}, nil},
		{"OPTIONS /x", Key{"OPTIONS", "/x"}, nil},
		{"ANY /{proxy+}", Key{"ANY", "/{proxy+}"}, []string{"proxy"}},
		{"GET /pets/{id}/{rest+}", Key{"GET", "/pets/{id}/{rest+}"}, []string{"id", "rest"}},
		{"GET /{a.b_c-D9}", Key{"GET", "/{a.b_c-D9}"}, []string{"a.b_c-D9"}},
		{"GET /.well-known/x", Key{"GET", "/.well-known/x"}, nil},
		{"GET /caf\u00e9/a:b@c", Key{"GET", "/caf\u00e9/a:b@c"}, nil},
		{"GET /a+b/*", Key{"GET", "/a+b/*"}, nil},
		{"GET /" + manyParams(16), Key{"GET", "/" + manyParams(16)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			k, err := ParseKey(tt.in)
			if err != nil {
				t.Fatalf("ParseKey: %v", err)
			}
			if k != tt.want {
				t.Fatalf("got %#v, want %#v", k, tt.want)
			}
			if k.String() != tt.in {
				t.Errorf("String() = %q, want %q", k.String(), tt.in)
			}
			if k.IsDefault() != (tt.in == "$default") {
				t.Errorf("IsDefault() = %v", k.IsDefault())
			}
			if tt.params != nil && !slices.Equal(k.ParamNames(), tt.params) {
				t.Errorf("ParamNames() = %q, want %q", k.ParamNames(), tt.params)
			}
		})
	}
}

// manyParams returns n parameter segments joined by "/".
func manyParams(n int) string {
	var s []string
	for i := range n {
		s = append(s, "{p"+string(rune('a'+i))+"}")
	}
	return strings.Join(s, "/")
}

func TestParseKeyInvalid(t *testing.T) {
	tests := []struct {
		in, wantErr string
	}{
		{"", "is empty"},
		{"$DEFAULT", `only special route key is "$default"`},
		{"$default ", `only special route key`},
		{"GET", `want "METHOD /path"`},
		{"GET/pets", `want "METHOD /path"`},
		{" /pets", "missing method"},
		{"get /pets", `method "get" must be upper-case ("GET")`},
		{"Get /pets", `must be upper-case`},
		{"any /pets", `must be upper-case ("ANY")`},
		{"TRACE /pets", `unsupported method "TRACE"`},
		{"FETCH /pets", `unsupported method`},
		{"GET ", "missing path"},
		{"GET  /pets", "exactly one space"},
		{"GET pets", `must start with "/"`},
		{"GET /pets ", "whitespace"},
		{"GET /pe ts", "whitespace"},
		{"GET /pe\tts", "whitespace"},
		{"GET /pe\u00a0ts", "whitespace"},
		{"GET /pe\x01ts", "control character"},
		{"GET /pe\x7fts", "control character"},
		{"GET /pe\xffts", "not valid UTF-8"},
		{"GET /pets?x=1", `must not contain '?'`},
		{"GET /pets#x", `must not contain '#'`},
		{"GET /pe%20ts", `must not contain "%"`},
		{"GET /pets/", "must not end with"},
		{"GET //pets", "empty segment"},
		{"GET /a//b", "empty segment"},
		{"GET /a/./b", "dot segment"},
		{"GET /a/..", "dot segment"},
		{"GET /a/{b", `unterminated parameter in segment "{b"`},
		{"GET /a/{b+", `unterminated parameter in segment "{b+"`},
		{"GET /a/b}", `unexpected "}" in segment "b}"`},
		{"GET /a/}b{", `unexpected "}" in segment "}b{"`},
		{"GET /a/x{b}", `segment "x{b}" mixes literal text and a parameter`},
		{"GET /a/{b}x", `mixes literal text and a parameter`},
		{"GET /a/{b}{c}", `more than one pair of braces`},
		{"GET /a/{{b}}", `more than one pair of braces`},
		{"GET /a/{}", `empty parameter name in segment "{}"`},
		{"GET /a/{+}", `empty parameter name in segment "{+}"`},
		{"GET /a/{b c}", "whitespace"},
		{"GET /a/{b*}", `invalid parameter name "b*"`},
		{"GET /a/{b++}", `invalid parameter name "b+"`},
		{"GET /a/{é}", `invalid parameter name "é"`},
		{"GET /{a}/{a}", `duplicate parameter name "a"`},
		{"GET /{a}/{a+}", `duplicate parameter name "a"`},
		{"GET /{a+}/b", `greedy parameter {a+} must be the last segment`},
		{"GET /{a+}/{b}", `greedy parameter {a+} must be the last segment`},
		{"GET /" + manyParams(17), "too many parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			k, err := ParseKey(tt.in)
			if err == nil {
				t.Fatalf("ParseKey(%q) = %#v, want error containing %q", tt.in, k, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
			if prefix := "route key " + strconv.Quote(tt.in) + ": "; !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error %q does not start with %q", err, prefix)
			}
		})
	}
}

func TestParseKeyExampleMessage(t *testing.T) {
	_, err := ParseKey("GET /a/{b")
	want := `route key "GET /a/{b": unterminated parameter in segment "{b"`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

func mustKeys(t testing.TB, ss ...string) []Key {
	t.Helper()
	keys := make([]Key, len(ss))
	for i, s := range ss {
		k, err := ParseKey(s)
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = k
	}
	return keys
}

func mustTable(t testing.TB, ss ...string) (*Table, []Key) {
	t.Helper()
	keys := mustKeys(t, ss...)
	tab, err := NewTable(keys)
	if err != nil {
		t.Fatal(err)
	}
	return tab, keys
}

func TestNewTableErrors(t *testing.T) {
	tests := []struct {
		name    string
		keys    []Key
		wantErr string
	}{
		{"same key twice", []Key{{"GET", "/a"}, {"GET", "/a"}}, `route key "GET /a" (index 1) duplicates "GET /a" (index 0)`},
		{"param names ignored", []Key{{"GET", "/a/{x}"}, {"GET", "/a/{y}"}}, `"GET /a/{y}" (index 1) duplicates "GET /a/{x}"`},
		{"greedy names ignored", []Key{{"ANY", "/{a+}"}, {"ANY", "/{b+}"}}, "duplicates"},
		{"two defaults", []Key{{}, {"GET", "/"}, {}}, "route keys 0 and 2 are both $default"},
		{"hand-built invalid method", []Key{{"get", "/a"}}, "must be upper-case"},
		{"hand-built empty method", []Key{{"", "/a"}}, "missing method"},
		{"hand-built empty path", []Key{{"GET", ""}}, "missing path"},
		{"hand-built bad path", []Key{{"GET", "/a/"}}, "must not end"},
		{"hand-built space in method", []Key{{"GE T", "/a"}}, "unsupported method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewTable(tt.keys)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewTable error = %v, want containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewTableNoConflict(t *testing.T) {
	for _, keys := range [][]string{
		{"GET /x", "ANY /x"},
		{"GET /x", "POST /x"},
		{"GET /a/{x}", "GET /a/{x+}"},
		{"GET /a/{x}", "GET /a/b"},
		{"GET /a/{x}", "GET /{x}/a"},
		{"GET /", "ANY /", "$default"},
		{},
	} {
		if _, err := NewTable(mustKeys(t, keys...)); err != nil {
			t.Errorf("NewTable(%q): %v", keys, err)
		}
	}
}

type matchCase struct {
	method, path string
	want         string // route key string, or "" for no match
	params       map[string]string
}

func runMatch(t *testing.T, routes []string, cases []matchCase) {
	t.Helper()
	tab, keys := mustTable(t, routes...)
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			var p Params
			i := tab.Match(c.method, c.path, &p)
			got := ""
			if i >= 0 {
				got = keys[i].String()
			}
			if got != c.want {
				t.Fatalf("Match(%q, %q) = %q, want %q", c.method, c.path, got, c.want)
			}
			if p.Len() != len(c.params) {
				t.Fatalf("Len() = %d, want %d (%v)", p.Len(), len(c.params), c.params)
			}
			for i := 0; i < p.Len(); i++ {
				want, ok := c.params[p.Name(i)]
				if !ok || p.Value(i) != want {
					t.Errorf("param %q = %q, want %q", p.Name(i), p.Value(i), want)
				}
				if v, ok := p.Get(p.Name(i)); !ok || v != p.Value(i) {
					t.Errorf("Get(%q) = %q, %v", p.Name(i), v, ok)
				}
			}
			if i >= 0 && !slices.Equal(keys[i].ParamNames(), paramNames(&p)) {
				t.Errorf("names %q do not follow the key %q", paramNames(&p), keys[i])
			}
			// Matching without Params must select the same route.
			if j := tab.Match(c.method, c.path, nil); j != i {
				t.Errorf("Match with nil Params = %d, want %d", j, i)
			}
		})
	}
}

func paramNames(p *Params) []string {
	var n []string
	for i := 0; i < p.Len(); i++ {
		n = append(n, p.Name(i))
	}
	return n
}

func TestMatchAWSExamples(t *testing.T) {
	// From the AWS HTTP API documentation, "Routing API requests".
	runMatch(t, []string{"GET /pets/dog/1", "GET /pets/dog/{id}", "GET /pets/{proxy+}", "ANY /{proxy+}"}, []matchCase{
		{"GET", "/pets/dog/1", "GET /pets/dog/1", nil},
		{"GET", "/pets/dog/2", "GET /pets/dog/{id}", map[string]string{"id": "2"}},
		{"GET", "/pets/cat/1", "GET /pets/{proxy+}", map[string]string{"proxy": "cat/1"}},
		{"POST", "/test/5", "ANY /{proxy+}", map[string]string{"proxy": "test/5"}},
		{"POST", "/pets/dog/1", "ANY /{proxy+}", map[string]string{"proxy": "pets/dog/1"}},
		{"GET", "/pets", "ANY /{proxy+}", map[string]string{"proxy": "pets"}},
		{"GET", "/", "", nil},
	})
}

func TestMatchSpecificity(t *testing.T) {
	runMatch(t, []string{
		"GET /a/{x+}",
		"GET /a/b/{y+}",
		"GET /a/{x}/c",
		"GET /a/b/c",
		"GET /{p}/b/c",
		"GET /{p}/{q}/{r}",
		"GET /m/{id}",
		"GET /m/{id}/{rest+}",
		"GET /n/{x}/{y+}",
		"GET /n/{z+}",
	}, []matchCase{
		{"GET", "/a/b/c", "GET /a/b/c", nil},
		{"GET", "/a/b/d", "GET /a/b/{y+}", map[string]string{"y": "d"}},
		{"GET", "/a/z/c", "GET /a/{x}/c", map[string]string{"x": "z"}},
		{"GET", "/a/z/d", "GET /a/{x+}", map[string]string{"x": "z/d"}},
		{"GET", "/a/b/c/d", "GET /a/b/{y+}", map[string]string{"y": "c/d"}},
		{"GET", "/a/b", "GET /a/{x+}", map[string]string{"x": "b"}},
		{"GET", "/z/b/c", "GET /{p}/b/c", map[string]string{"p": "z"}},
		{"GET", "/z/y/x", "GET /{p}/{q}/{r}", map[string]string{"p": "z", "q": "y", "r": "x"}},
		{"GET", "/m/1", "GET /m/{id}", map[string]string{"id": "1"}},
		{"GET", "/m/1/2/3", "GET /m/{id}/{rest+}", map[string]string{"id": "1", "rest": "2/3"}},
		{"GET", "/n/1/2", "GET /n/{x}/{y+}", map[string]string{"x": "1", "y": "2"}},
		{"GET", "/n/1", "GET /n/{z+}", map[string]string{"z": "1"}},
		{"GET", "/a", "", nil},
		{"GET", "/m", "", nil},
	})
}

func TestMatchMethods(t *testing.T) {
	runMatch(t, []string{
		"GET /x",
		"ANY /x",
		"ANY /y",
		"HEAD /h",
		"GET /g",
		"ANY /{p}",
		"DELETE /d/{id}",
		"OPTIONS /{proxy+}",
	}, []matchCase{
		{"GET", "/x", "GET /x", nil},
		{"POST", "/x", "ANY /x", nil},
		{"HEAD", "/x", "ANY /x", nil},
		{"PROPFIND", "/x", "ANY /x", nil},
		{"get", "/x", "ANY /x", nil}, // request methods are case-sensitive
		{"GET", "/y", "ANY /y", nil},
		{"HEAD", "/h", "HEAD /h", nil},
		{"GET", "/h", "ANY /{p}", map[string]string{"p": "h"}},
		// HEAD does not fall back to GET routes.
		{"HEAD", "/g", "ANY /{p}", map[string]string{"p": "g"}},
		{"GET", "/g", "GET /g", nil},
		// A more specific path beats an explicit method.
		{"PUT", "/q", "ANY /{p}", map[string]string{"p": "q"}},
		{"DELETE", "/d/1", "DELETE /d/{id}", map[string]string{"id": "1"}},
		{"GET", "/d/1", "", nil},
		{"OPTIONS", "/d/1", "OPTIONS /{proxy+}", map[string]string{"proxy": "d/1"}},
		{"OPTIONS", "/x", "ANY /x", nil},
	})
}

func TestMatchPathBeforeMethod(t *testing.T) {
	runMatch(t, []string{"GET /a/{x}", "ANY /a/b", "GET /c/{x+}", "ANY /c/{x}"}, []matchCase{
		{"GET", "/a/b", "ANY /a/b", nil},
		{"GET", "/a/c", "GET /a/{x}", map[string]string{"x": "c"}},
		{"GET", "/c/d", "ANY /c/{x}", map[string]string{"x": "d"}},
		{"GET", "/c/d/e", "GET /c/{x+}", map[string]string{"x": "d/e"}},
	})
}

func TestMatchHeadOnlyGet(t *testing.T) {
	runMatch(t, []string{"GET /x"}, []matchCase{
		{"GET", "/x", "GET /x", nil},
		{"HEAD", "/x", "", nil},
	})
}

func TestMatchSlashesAndRoot(t *testing.T) {
	runMatch(t, []string{
		"GET /",
		"GET /pets",
		"GET /pets/{id}",
		"GET /files/{path+}",
		"GET /{proxy+}",
		"POST /{proxy+}",
	}, []matchCase{
		{"GET", "/", "GET /", nil},
		{"POST", "/", "", nil}, // /{proxy+} does not match the root
		{"GET", "/pets", "GET /pets", nil},
		{"GET", "/pets/", "GET /{proxy+}", map[string]string{"proxy": "pets/"}},
		{"POST", "/pets/", "POST /{proxy+}", map[string]string{"proxy": "pets/"}},
		{"GET", "/pets/1", "GET /pets/{id}", map[string]string{"id": "1"}},
		{"GET", "/pets/1/", "GET /{proxy+}", map[string]string{"proxy": "pets/1/"}},
		{"GET", "/Pets", "GET /{proxy+}", map[string]string{"proxy": "Pets"}},
		{"GET", "/files/a/b.txt", "GET /files/{path+}", map[string]string{"path": "a/b.txt"}},
		{"GET", "/files/a/", "GET /files/{path+}", map[string]string{"path": "a/"}},
		{"GET", "/files/", "GET /{proxy+}", map[string]string{"proxy": "files/"}},
		{"GET", "/files//a", "GET /{proxy+}", map[string]string{"proxy": "files//a"}},
		{"GET", "//", "", nil},
		{"GET", "//pets", "", nil},
		{"GET", "", "", nil},
		{"GET", "*", "", nil},
		{"GET", "pets", "", nil},
	})
}

func TestMatchEmptySegments(t *testing.T) {
	runMatch(t, []string{"GET /a/{x}/b", "GET /{x}", "GET /c/{x}"}, []matchCase{
		{"GET", "/a//b", "", nil},
		{"GET", "/", "", nil},
		{"GET", "/c/", "", nil},
		{"GET", "/c/d", "GET /c/{x}", map[string]string{"x": "d"}},
		{"GET", "/a/ /b", "GET /a/{x}/b", map[string]string{"x": " "}},
		{"GET", "/a/%2F/b", "GET /a/{x}/b", map[string]string{"x": "%2F"}},
	})
}

func TestMatchDefault(t *testing.T) {
	runMatch(t, []string{"GET /a", "$default", "GET /b/{id}"}, []matchCase{
		{"GET", "/a", "GET /a", nil},
		{"GET", "/b/1", "GET /b/{id}", map[string]string{"id": "1"}},
		{"POST", "/a", "$default", nil},
		{"GET", "/", "$default", nil},
		{"GET", "/b/1/2", "$default", nil},
		{"GET", "", "$default", nil},
	})
	runMatch(t, []string{"$default"}, []matchCase{
		{"GET", "/", "$default", nil},
		{"DELETE", "/x/y", "$default", nil},
	})
	runMatch(t, nil, []matchCase{{"GET", "/", "", nil}})
}

func TestMatchIndexIsKeyOrder(t *testing.T) {
	// Index refers to the caller's slice, not the internal order.
	tab, _ := mustTable(t, "ANY /{p+}", "GET /a/{b}", "GET /a/b", "$default")
	for path, want := range map[string]int{"/a/b": 2, "/a/c": 1, "/x": 0} {
		if got := tab.Match("GET", path, nil); got != want {
			t.Errorf("Match(GET %s) = %d, want %d", path, got, want)
		}
	}
}

func TestParamsReuseAndReset(t *testing.T) {
	tab, _ := mustTable(t, "GET /a/{x}/{y}", "GET /b")
	var p Params
	tab.Match("GET", "/a/1/2", &p)
	if v, ok := p.Get("y"); !ok || v != "2" {
		t.Fatalf("Get(y) = %q, %v", v, ok)
	}
	if _, ok := p.Get("z"); ok {
		t.Fatal("Get(z) found a value")
	}
	if tab.Match("GET", "/b", &p) < 0 || p.Len() != 0 {
		t.Fatalf("after second match Len() = %d", p.Len())
	}
	if _, ok := p.Get("x"); ok {
		t.Fatal("stale parameter visible after a new match")
	}
	tab.Match("GET", "/a/1/2", &p)
	if tab.Match("GET", "/nope", &p) != -1 || p.Len() != 0 {
		t.Fatal("failed match left parameters")
	}
	tab.Match("GET", "/a/1/2", &p)
	p.Reset()
	if p.Len() != 0 || p.names != nil || p.values != ([MaxParams]string{}) {
		t.Fatal("Reset did not clear")
	}
}

func TestParamsIsGreedy(t *testing.T) {
	tab, _ := mustTable(t, "GET /{a}/{b+}", "GET /x/{c}")
	var p Params
	tab.Match("GET", "/1/2/3", &p)
	if p.IsGreedy(0) || !p.IsGreedy(1) || p.IsGreedy(2) {
		t.Fatal("IsGreedy wrong for greedy route")
	}
	tab.Match("GET", "/x/1", &p)
	if p.IsGreedy(0) {
		t.Fatal("IsGreedy true for {c}")
	}
	p.Reset()
	if p.IsGreedy(-1) || p.IsGreedy(0) {
		t.Fatal("IsGreedy true on empty Params")
	}
}

// TestMatchAgainstBruteForce cross-checks the bucketed matcher against a
// plain scan in specificity order, so bucketing can never change the result.
func TestMatchAgainstBruteForce(t *testing.T) {
	keys := realisticKeys(t)
	tab, err := NewTable(keys)
	if err != nil {
		t.Fatal(err)
	}
	var all []*compiled
	def := -1
	for i, k := range keys {
		if k.IsDefault() {
			def = i
			continue
		}
		segs, _ := parsePath(k.Path)
		c := &compiled{index: i, segs: segs, method: slices.Index(methods[:], k.Method)}
		all = append(all, c)
	}
	slices.SortStableFunc(all, func(a, b *compiled) int {
		if less(a, b) {
			return -1
		}
		if less(b, a) {
			return 1
		}
		return 0
	})
	brute := func(method, path string) int {
		for _, c := range all {
			if c.method != anyMethod && methods[c.method] != method {
				continue
			}
			if c.match(path, nil) {
				return c.index
			}
		}
		return def
	}
	paths := []string{"/", "//", "/v1", "/v1/", "/x/y/z/w/v/u/t", "/health"}
	for _, k := range keys {
		if k.IsDefault() {
			continue
		}
		p := k.Path
		for _, r := range []string{"1", "a/b", "x"} {
			q := p
			for _, n := range k.ParamNames() {
				q = strings.Replace(q, "{"+n+"+}", r, 1)
				q = strings.Replace(q, "{"+n+"}", "1", 1)
			}
			paths = append(paths, q, q+"/", q+"/extra", strings.TrimSuffix(q, "/"+lastSeg(q)))
		}
	}
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"} {
		for _, p := range paths {
			if got, want := tab.Match(m, p, nil), brute(m, p); got != want {
				t.Errorf("Match(%s %s) = %d, brute force %d", m, p, got, want)
			}
		}
	}
}

func lastSeg(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

// realisticKeys is a ~50-route API used by the allocation test, the
// benchmarks and the brute-force cross-check.
func realisticKeys(t testing.TB) []Key {
	return mustKeys(t,
		"GET /",
		"GET /health",
		"GET /version",
		"GET /v1/users",
		"POST /v1/users",
		"GET /v1/users/me",
		"GET /v1/users/{userId}",
		"PUT /v1/users/{userId}",
		"PATCH /v1/users/{userId}",
		"DELETE /v1/users/{userId}",
		"GET /v1/users/{userId}/orders",
		"POST /v1/users/{userId}/orders",
		"GET /v1/users/{userId}/orders/{orderId}",
		"DELETE /v1/users/{userId}/orders/{orderId}",
		"GET /v1/users/{userId}/orders/{orderId}/items",
		"GET /v1/users/{userId}/orders/{orderId}/items/{itemId}",
		"GET /v1/users/{userId}/settings",
		"PUT /v1/users/{userId}/settings",
		"GET /v1/products",
		"POST /v1/products",
		"GET /v1/products/search",
		"GET /v1/products/{productId}",
		"PUT /v1/products/{productId}",
		"DELETE /v1/products/{productId}",
		"GET /v1/products/{productId}/reviews",
		"POST /v1/products/{productId}/reviews",
		"GET /v1/products/{productId}/reviews/{reviewId}",
		"GET /v1/products/{productId}/images/{imagePath+}",
		"GET /v1/categories",
		"GET /v1/categories/{categoryId}",
		"GET /v1/categories/{categoryId}/products",
		"GET /v1/orders",
		"GET /v1/orders/{orderId}",
		"POST /v1/orders/{orderId}/cancel",
		"POST /v1/orders/{orderId}/refund",
		"GET /v1/orders/{orderId}/invoice.pdf",
		"POST /v1/auth/login",
		"POST /v1/auth/logout",
		"POST /v1/auth/refresh",
		"GET /v1/auth/.well-known/jwks.json",
		"POST /v1/webhooks/{provider}",
		"GET /v1/search",
		"GET /v2/users/{userId}",
		"ANY /v2/{proxy+}",
		"GET /static/{path+}",
		"GET /docs",
		"GET /docs/{page}",
		"OPTIONS /{proxy+}",
		"HEAD /health",
		"ANY /legacy/{proxy+}",
		"GET /{tenant}/dashboard",
		"$default",
	)
}

func TestMatchAllocs(t *testing.T) {
	tab, err := NewTable(realisticKeys(t))
	if err != nil {
		t.Fatal(err)
	}
	var p Params
	for _, c := range benchCases {
		allocs := testing.AllocsPerRun(100, func() {
			tab.Match(c.method, c.path, &p)
		})
		if allocs != 0 {
			t.Errorf("Match(%s %s): %v allocs, want 0", c.method, c.path, allocs)
		}
		allocs = testing.AllocsPerRun(100, func() {
			tab.Match(c.method, c.path, nil)
		})
		if allocs != 0 {
			t.Errorf("Match(%s %s, nil): %v allocs, want 0", c.method, c.path, allocs)
		}
	}
}

var benchCases = []struct{ name, method, path string }{
	{"literal", "GET", "/v1/products/search"},
	{"param", "GET", "/v1/users/42/orders/1001/items/7"},
	{"greedy", "GET", "/v1/products/p-9/images/2024/06/front.jpg"},
	{"any", "POST", "/v2/widgets/12/parts"},
	{"miss", "GET", "/v1/nothing/here"},
	{"default", "PATCH", "/zzz"},
	{"root", "GET", "/"},
}

func TestGreedyParam(t *testing.T) {
	for in, want := range map[string]string{
		"$default": "", "GET /": "", "GET /pets/{id}": "", "ANY /{proxy+}": "proxy",
		"GET /pets/{id}/{rest+}": "rest", "GET /a+b/*": "",
	} {
		k, err := ParseKey(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := k.GreedyParam(); got != want {
			t.Errorf("%q: GreedyParam = %q, want %q", in, got, want)
		}
	}
}

package mapping

import (
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	seeds := [][2]string{
		{"overwrite:header.x-user-id", "$context.authorizer.claims.sub"},
		{"append:header.x-tags", "user-${context.authorizer.claims.sub}-${request.querystring.tenant}"},
		{"remove:header.x-debug", ""},
		{"overwrite:querystring.tenant", "$request.header.X-Tenant"},
		{"append:querystring.tenant", "${request.path.id}"},
		{"overwrite:path", "/v2${request.path}"},
		{"overwrite:path", "/u/${request.header.x-evil}/${request.path.proxy}"},
		{"overwrite:path", "${request.header.x-slash}"},
		{"overwrite:header.x-a", "${request.header.x-evil}"},
		{"overwrite:header.x-a", "a${"},
		{"overwrite:header.host", "x"},
		{"append:path", "/"},
		{"overwrite:header.x-a", "$$ ${} $"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	r := request("/orders/17?tenant=t1&tenant=t2",
		"X-Evil", "a\r\nX-Admin: 1",
		"X-Slash", "/../admin",
		"X-Tenant", "acme",
	)
	ctx := map[string]string{"authorizer.claims.sub": "u\n1", "requestId": "r"}
	params := map[string]string{"id": "..", "proxy": "a/b"}
	f.Fuzz(func(t *testing.T, key, value string) {
		m, err := Parse(map[string]string{key: value})
		if err != nil {
			if m != nil {
				t.Fatal("Mapping returned with an error")
			}
			return
		}
		src := &fuzzSource{newSource(r, params, ctx)}
		out := r.Clone(r.Context())
		for _, h := range m.Headers() { // as the gateway does
			delete(out.Header, h)
		}
		m.Apply(out, src)
		// The client's own headers may hold anything; the ones the
		// mapping writes must not.
		for _, name := range m.Headers() {
			for _, v := range out.Header[name] {
				if strings.ContainsAny(v, "\r\n\x00") {
					t.Fatalf("header %s has value %q", name, v)
				}
			}
		}
		if hasDotSegment(out.URL.Path) {
			t.Fatalf("Path %q has a dot segment", out.URL.Path)
		}
		if !strings.HasPrefix(out.URL.EscapedPath(), "/") {
			t.Fatalf("EscapedPath %q is not absolute", out.URL.EscapedPath())
		}
		for _, h := range m.Headers() {
			if Reserved(h) {
				t.Fatalf("reserved header %q mapped", h)
			}
		}
	})
}

// fuzzSource echoes the requested names back for unknown headers and
// context variables, so fuzzed names produce fuzzed values.
type fuzzSource struct{ *testSource }

func (s *fuzzSource) RequestHeader(name string) string {
	if v := s.testSource.RequestHeader(name); v != "" {
		return v
	}
	return name + "\r\n"
}

func (s *fuzzSource) Context(name string) string {
	if v := s.testSource.Context(name); v != "" {
		return v
	}
	return "../" + name
}

func BenchmarkApply(b *testing.B) {
	r := request("/orders/17?tenant=t1", "X-Tenant", "acme")
	src := newSource(r, defaultParams, defaultCtx)
	full := map[string]string{"overwrite:querystring.tenant": "$request.header.X-Tenant", "overwrite:path": "/v2${request.path}"}
	for k, v := range threeHeaders {
		full[k] = v
	}
	for _, bc := range []struct {
		name   string
		params map[string]string
	}{
		{"nil", nil},
		{"3headers", threeHeaders},
		{"3headers+query+path", full},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var m *Mapping
			if bc.params != nil {
				m = must(Parse(bc.params))
			}
			out := r.Clone(r.Context())
			path, query := out.URL.Path, out.URL.RawQuery
			b.ReportAllocs()
			for b.Loop() {
				m.Apply(out, src)
				// Undo the append and URL changes so every iteration
				// does the same work; none of this allocates.
				delete(out.Header, "X-Tags")
				out.URL.Path, out.URL.RawPath, out.URL.RawQuery = path, "", query
			}
		})
	}
}

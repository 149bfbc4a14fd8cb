package route

import (
	"strings"
	"testing"
)

// fuzzRoutes mixes every segment kind, overlapping shapes and the root so
// the fuzzer exercises the specificity order as well as the parser.
var fuzzRoutes = []string{
	"GET /",
	"GET /a",
	"GET /a/b",
	"GET /a/{x}",
	"GET /a/{x}/c",
	"GET /a/{x+}",
	"GET /a/b/{y+}",
	"GET /{p}/{q}",
	"ANY /{proxy+}",
	"POST /p/{id}/{rest+}",
}

func FuzzMatch(f *testing.F) {
	for _, s := range []string{"/", "/a", "/a/", "/a/b", "/a/b/c", "/a/z/c", "//", "/a//b", "", "x", "/p/1/2/3", "/p/1", "/é/ü", "/a/b/"} {
		f.Add("GET", s)
		f.Add("POST", s)
	}
	keys := mustKeys(f, fuzzRoutes...)
	tab, err := NewTable(keys)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		var p Params
		i := tab.Match(method, path, &p)
		if i < 0 {
			if p.Len() != 0 {
				t.Fatalf("no match but Len() = %d", p.Len())
			}
			return
		}
		k := keys[i]
		if k.Method != "ANY" && k.Method != method {
			t.Fatalf("%s %q matched %q", method, path, k)
		}
		if got := rebuild(t, k, &p); got != path {
			t.Fatalf("%s %q matched %q but rebuilds as %q", method, path, k, got)
		}
	})
}

// rebuild reassembles a path from k's literal segments and p's values.
func rebuild(t *testing.T, k Key, p *Params) string {
	segs, err := parsePath(k.Path)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) == 0 {
		return "/"
	}
	var b strings.Builder
	n := 0
	for _, s := range segs {
		b.WriteByte('/')
		if s.kind == literal {
			b.WriteString(s.lit)
			continue
		}
		if p.Name(n) != s.lit {
			t.Fatalf("param %d is %q, key says %q", n, p.Name(n), s.lit)
		}
		v := p.Value(n)
		if v == "" || (s.kind == param && strings.Contains(v, "/")) || v[0] == '/' {
			t.Fatalf("bad value %q for %v", v, s)
		}
		b.WriteString(v)
		n++
	}
	if n != p.Len() {
		t.Fatalf("Len() = %d, key has %d params", p.Len(), n)
	}
	return b.String()
}

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{
		"$default", "GET /", "GET /pets/{id}", "ANY /{proxy+}", "get /x", "GET /a/{b",
		"GET  /a", "GET /a/", "GET /{a}/{a}", "GET /{a+}/b", "POST /a/{b.c-d_e}/{f+}", "GET /a%20",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKey(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "route key ") {
				t.Fatalf("error %q lacks the key", err)
			}
			return
		}
		if k.String() != s {
			t.Fatalf("ParseKey(%q).String() = %q", s, k.String())
		}
		k2, err := ParseKey(k.String())
		if err != nil || k2 != k {
			t.Fatalf("reparse of %q: %#v, %v", k, k2, err)
		}
		if len(k.ParamNames()) > MaxParams {
			t.Fatalf("%q has %d params", s, len(k.ParamNames()))
		}
		tpl := "http://h"
		for _, n := range k.ParamNames() {
			tpl += "/{" + n + "}"
		}
		if _, err := NewTable([]Key{k}); err != nil {
			t.Fatalf("NewTable rejects parsed key %q: %v", s, err)
		}
		if tp, err := ParseTemplate(tpl); err != nil {
			t.Fatalf("ParseTemplate(%q): %v", tpl, err)
		} else if err := tp.CheckKey(k); err != nil {
			t.Fatalf("CheckKey: %v", err)
		}
	})
}

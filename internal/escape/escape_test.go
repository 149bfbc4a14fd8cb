package escape

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestAppend(t *testing.T) {
	for _, tt := range []struct {
		name, in, json, jsonHTML, markup, markupLine string
	}{
		{"plain", "abc é", "abc é", "abc é", "abc é", "abc é"},
		{"quotes", `a"b\c'`, `a\"b\\c'`, `a\"b\\c'`, `a&#34;b\c&#39;`, `a&#34;b\c&#39;`},
		{"markup", "<a&b>", "<a&b>", `\u003ca\u0026b\u003e`, "&lt;a&amp;b&gt;", "&lt;a&amp;b&gt;"},
		{"lines", "a\nb\tc\r", `a\nb\tc\r`, `a\nb\tc\r`, "a\nb\tc\r", "a&#10;b&#9;c&#13;"},
		{"controls", "\x00\x1f\x7f", `\u0000\u001f\u007f`, `\u0000\u001f\u007f`, "\uFFFD\uFFFD\uFFFD", "\uFFFD\uFFFD\uFFFD"},
		{"separators", "\u2028\u2029", `\u2028\u2029`, `\u2028\u2029`, "\u2028\u2029", "\u2028\u2029"},
		{"invalid UTF-8", "a\xffb\xe2\x82", `a\ufffdb\ufffd\ufffd`, `a\ufffdb\ufffd\ufffd`, "a\uFFFDb\uFFFD\uFFFD", "a\uFFFDb\uFFFD\uFFFD"},
		{"4-byte rune at the end", "x😀", "x😀", "x😀", "x😀", "x😀"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			check := func(what, got, want string) {
				t.Helper()
				if got != want {
					t.Errorf("%s(%q) = %q, want %q", what, tt.in, got, want)
				}
			}
			check("AppendJSON", string(AppendJSON(nil, tt.in, false)), tt.json)
			check("AppendJSON []byte", string(AppendJSON(nil, []byte(tt.in), false)), tt.json)
			check("AppendJSON html", string(AppendJSON(nil, tt.in, true)), tt.jsonHTML)
			check("AppendMarkup", string(AppendMarkup(nil, tt.in, false)), tt.markup)
			check("AppendMarkup []byte", string(AppendMarkup(nil, []byte(tt.in), false)), tt.markup)
			check("AppendMarkup oneLine", string(AppendMarkup(nil, tt.in, true)), tt.markupLine)
			var back string
			if err := json.Unmarshal([]byte(`"`+tt.json+`"`), &back); err != nil {
				t.Errorf("AppendJSON(%q) is not the inside of a JSON string: %v", tt.in, err)
			}
		})
	}
}

// The access log escapes every value of every line: no allocation beyond
// growing dst, for []byte values too.
func TestAppendAllocs(t *testing.T) {
	v := []byte("a\"b\n<é>\u2028\xff😀")
	dst := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() {
		dst = AppendJSON(dst[:0], v, false)
		dst = AppendMarkup(dst[:0], v, true)
	}); n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}

// TestAppendJSONRoundTrip: for strings mixing plain runs with every kind of
// byte that needs an escape, the output is a JSON string's inside that
// decodes to the input (each invalid byte as U+FFFD) and holds no raw
// control character, quote or HTML character when htmlSafe.
func TestAppendJSONRoundTrip(t *testing.T) {
	parts := []string{"abc", "é", "😀", "\"", "\\", "\n", "\x00", "\x1f", "\x7f", "<", "&", "\u2028", "\xff", "\xe2\x82", " ", "plain text run"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		var b strings.Builder
		for range rng.IntN(8) {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		in := b.String()
		checkAppendJSON(t, in)
	}
}

// FuzzAppendJSON holds AppendJSON, a hand-written escaper, to the round
// trip through encoding/json on any input.
func FuzzAppendJSON(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c", "\x00\x1f\x7f", "<&>", "\u2028\u2029", "\xff\xe2\x82", "é😀"} {
		f.Add(s)
	}
	f.Fuzz(checkAppendJSON)
}

// checkAppendJSON: AppendJSON's output, with and without htmlSafe, is a
// JSON string's inside that decodes to in (each invalid byte as U+FFFD)
// and holds no raw control character, nor an HTML character when
// htmlSafe.
func checkAppendJSON(t *testing.T, in string) {
	for _, html := range []bool{false, true} {
		out := AppendJSON([]byte("x"), in, html)[1:]
		var back string
		if err := json.Unmarshal([]byte(`"`+string(out)+`"`), &back); err != nil {
			t.Fatalf("AppendJSON(%q, %v) = %q: %v", in, html, out, err)
		}
		if want := string([]rune(in)); back != want {
			t.Fatalf("AppendJSON(%q, %v) = %q, decodes to %q", in, html, out, back)
		}
		if i := bytes.IndexFunc(out, func(r rune) bool { return r < 0x20 || r == 0x7f || html && strings.ContainsRune("<>&", r) }); i >= 0 {
			t.Fatalf("AppendJSON(%q, %v) = %q holds %q raw", in, html, out, out[i])
		}
	}
}

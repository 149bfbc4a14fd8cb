package accesslog

import (
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
)

// values is a Source from a map.
type values map[string]string

func (v values) AppendContext(dst []byte, name string) []byte { return append(dst, v[name]...) }

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, format, want string
	}{
		{"empty", "  ", "empty"},
		{"no variables", "hello", "no $context variable"},
		{"input", `{"body":"$input.body","id":"$context.requestId"}`, "$input at offset 9: an access log format may hold only $context variables"},
		{"stage variables", `$context.requestId $stageVariables.x`, "$stageVariables"},
		{"util", `$context.requestId $util.escapeJavaScript`, "$util"},
		{"bare context", `$context. $context.requestId`, "not followed by a variable name"},
		{"newline inside", "$context.requestId\n$context.status", "control character"},
		{"too long", "$context.requestId " + strings.Repeat("x", MaxFormatBytes), "AWS allows at most 3072"},
		{"invalid utf-8", "$context.requestId \xff", "not valid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.format)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Compile(%q) = %v, want an error with %q", tc.format, err, tc.want)
			}
		})
	}
}

func TestCompileNames(t *testing.T) {
	for _, tc := range []struct {
		format string
		names  []string
		kind   Kind
	}{
		{`{"id":"$context.requestId","sub":"$context.authorizer.claims.sub","id2":"$context.requestId"}`, []string{"requestId", "authorizer.claims.sub"}, JSON},
		{`$context.identity.sourceIp - - [$context.requestTime] "$context.httpMethod $context.routeKey $context.protocol" $context.status.`, []string{"identity.sourceIp", "requestTime", "httpMethod", "routeKey", "protocol", "status"}, Text},
		{`$context.identity.sourceIp,$context.requestTime,$context.status`, []string{"identity.sourceIp", "requestTime", "status"}, CSV},
		{`<request id="$context.requestId"> <status>$context.status</status> </request>`, []string{"requestId", "status"}, XML},
		{"$context.authorizer.claims.cognito:groups $context.requestId\n", []string{"authorizer.claims.cognito:groups", "requestId"}, Text},
		{`price $5 $context.requestId`, []string{"requestId"}, Text},
	} {
		f, err := Compile(tc.format)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tc.format, err)
		}
		if got := f.Names(); strings.Join(got, "|") != strings.Join(tc.names, "|") {
			t.Errorf("Compile(%q).Names() = %q, want %q", tc.format, got, tc.names)
		}
		if f.Kind() != tc.kind {
			t.Errorf("Compile(%q).Kind() = %v, want %v", tc.format, f.Kind(), tc.kind)
		}
	}
}

// hostile are values that must not break a line out of its format.
var hostile = []string{
	`plain`,
	`quote " and backslash \ and \"`,
	"new\nline\r\n and tab\t and NUL\x00 and DEL\x7f",
	"invalid \xff\xfe utf-8 \xc0\xae",
	`</status><injected>x</injected>&amp;`,
	`a,b,"c"`,
	"line\u2028separator é 日本",
	`{"message":"x"}`,
	`'single'`,
}

// validUTF8 replaces each invalid byte with U+FFFD, as the escapers do.
func validUTF8(s string) string {
	var b strings.Builder
	for _, r := range s { // range yields U+FFFD for each invalid byte
		b.WriteRune(r)
	}
	return b.String()
}

func render(t *testing.T, format string, v values) string {
	t.Helper()
	f, err := Compile(format)
	if err != nil {
		t.Fatal(err)
	}
	line, _ := f.Append(nil, nil, v)
	return string(line)
}

func TestRenderJSONStaysJSON(t *testing.T) {
	for _, h := range hostile {
		line := render(t, `{"id":"$context.requestId","ua":"$context.identity.userAgent","n":"$context.status"}`, values{"requestId": "r1", "identity.userAgent": h})
		var m map[string]string
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("value %q: line %s is not JSON: %v", h, line, err)
		}
		want := validUTF8(h)
		if m["ua"] != want || m["id"] != "r1" || m["n"] != "-" {
			t.Errorf("value %q: decoded %q, want ua %q, id r1, n -", h, m, want)
		}
		if strings.ContainsAny(line, "\n\r\u2028") {
			t.Errorf("value %q: line holds a line break: %q", h, line)
		}
	}
}

func TestRenderXMLStaysXML(t *testing.T) {
	for _, h := range hostile {
		line := render(t, `<request id="$context.requestId"> <ua>$context.identity.userAgent</ua> </request>`, values{"requestId": h, "identity.userAgent": h})
		var doc struct {
			ID string `xml:"id,attr"`
			UA string `xml:"ua"`
		}
		if err := xml.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("value %q: line %s is not XML: %v", h, line, err)
		}
		if strings.ContainsAny(line, "\n\r") {
			t.Errorf("value %q: line holds a line break: %q", h, line)
		}
		// Control characters XML cannot hold, and invalid UTF-8, become U+FFFD.
		want := strings.Map(func(r rune) rune {
			if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f {
				return '\uFFFD'
			}
			return r
		}, validUTF8(h))
		want = strings.ReplaceAll(want, "\r\n", "\n") // XML parsers normalise line ends
		got := strings.ReplaceAll(doc.UA, "\r\n", "\n")
		if got != want || strings.ReplaceAll(doc.ID, "\r\n", "\n") != want {
			t.Errorf("value %q: decoded id %q ua %q, want %q", h, doc.ID, doc.UA, want)
		}
	}
}

func TestRenderText(t *testing.T) {
	format := `$context.identity.sourceIp - - [$context.requestTime] "$context.httpMethod $context.routeKey $context.protocol" $context.status $context.responseLength $context.requestId`
	for _, tc := range []struct {
		ua, want string
	}{
		{`plain`, `10.0.0.1 - - [-] "plain - HTTP/1.1" 200 - r1`},
		{`q " b \`, `10.0.0.1 - - [-] "q \" b \\ - HTTP/1.1" 200 - r1`},
		{"n\nr\r\x00\x7f", `10.0.0.1 - - [-] "n\x0ar\x0d\x00\x7f - HTTP/1.1" 200 - r1`},
		{"bad \xff\xc0\xae é", `10.0.0.1 - - [-] "bad \xff\xc0\xae é - HTTP/1.1" 200 - r1`},
		{"cut \xe2\x80\"\xe2\\é\\", `10.0.0.1 - - [-] "cut \xe2\x80\"\xe2\\é\\ - HTTP/1.1" 200 - r1`},
	} {
		line := render(t, format, values{"identity.sourceIp": "10.0.0.1", "httpMethod": tc.ua, "protocol": "HTTP/1.1", "status": "200", "requestId": "r1"})
		if line != tc.want {
			t.Errorf("value %q:\n got %s\nwant %s", tc.ua, line, tc.want)
		}
	}
}

func TestRenderCSV(t *testing.T) {
	format := `$context.identity.sourceIp,$context.httpMethod,$context.status`
	for _, tc := range []struct {
		v, want string
	}{
		{"GET", `1.2.3.4,GET,200`},
		{`a,b`, `1.2.3.4,"a,b",200`},
		{`say "hi"`, `1.2.3.4,"say ""hi""",200`},
		{"two\nlines", `1.2.3.4,"two\x0alines",200`},
		{"bad\xff", `1.2.3.4,bad\xff,200`},
		{"", `1.2.3.4,-,200`},
	} {
		line := render(t, format, values{"identity.sourceIp": "1.2.3.4", "httpMethod": tc.v, "status": "200"})
		if line != tc.want {
			t.Errorf("value %q:\n got %s\nwant %s", tc.v, line, tc.want)
		}
	}
}

func TestRenderCutsLongValues(t *testing.T) {
	long := strings.Repeat("é", MaxValueBytes) // 2 bytes each: the cut falls inside one at an odd limit
	line := render(t, `$context.identity.userAgent|`, values{"identity.userAgent": "x" + long})
	v := strings.TrimSuffix(line, "|")
	if len(v) > MaxValueBytes || len(v) < MaxValueBytes-4 {
		t.Fatalf("value cut to %d bytes, want about %d", len(v), MaxValueBytes)
	}
	if !strings.HasPrefix(v, "x") || strings.ContainsRune(v, '\uFFFD') || strings.Contains(v, `\x`) {
		t.Fatalf("value cut inside a character: ...%q", v[len(v)-8:])
	}
}

// TestAppendAllocatesNothing: a line whose values fit in warmed buffers
// costs no allocation.
func TestAppendAllocatesNothing(t *testing.T) {
	f, err := Compile(`{"id":"$context.requestId","ua":"$context.identity.userAgent","s":"$context.status"}`)
	if err != nil {
		t.Fatal(err)
	}
	src := values{"requestId": "abc", "identity.userAgent": "curl \"8\"\n", "status": "200"}
	line, scratch := make([]byte, 0, 256), make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { line, scratch = f.Append(line[:0], scratch[:0], src) }); n != 0 {
		t.Fatalf("Append allocates %v times per line", n)
	}
}

func TestRenderMessageStringIsQuoted(t *testing.T) {
	for _, tc := range []struct {
		format, msg, want string
	}{
		{`{"m":$context.error.messageString,"id":"$context.requestId"}`, `Unauthorized`, `{"m":"Unauthorized","id":"r"}`},
		{`{"m":$context.error.messageString,"id":"$context.requestId"}`, `say "no"`, `{"m":"say \"no\"","id":"r"}`},
		{`{"m":$context.error.messageString,"id":"$context.requestId"}`, ``, `{"m":null,"id":"r"}`},
		{`$context.requestId $context.error.messageString`, `Not Found`, `r "Not Found"`},
		{`$context.requestId $context.error.messageString`, ``, `r -`},
	} {
		if got := render(t, tc.format, values{"requestId": "r", "error.messageString": tc.msg}); got != tc.want {
			t.Errorf("%s with %q: got %s, want %s", tc.format, tc.msg, got, tc.want)
		}
	}
}

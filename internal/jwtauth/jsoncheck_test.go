package jwtauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestJSONScan(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	objs := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	members := func(n int, extra string) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			b.WriteString(`"m` + itoa(int64(i)) + `":` + itoa(int64(i)) + ",")
		}
		return b.String() + extra + "}"
	}
	const (
		ok       = ""
		syntax   = "syntax"
		repeated = "repeated"
		tooDeep  = "deep"
		trailing = "trailing"
	)
	for _, tt := range []struct {
		name, in, want string
	}{
		{"object", `{"a":1,"b":[true,false,null],"c":{"d":"e"}}`, ok},
		{"whitespace everywhere", " \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } } \n", ok},
		{"scalars", `[0,-0,1.5,-2e10,3E+2,4e-2,"",true,false,null]`, ok},
		{"top-level scalar", `"x"`, ok},
		{"top-level number", `12`, ok},
		{"empty input", ``, syntax},
		{"only whitespace", " \n", syntax},
		{"truncated object", `{"a":1`, syntax},
		{"truncated string", `{"a":"x`, syntax},
		{"missing colon", `{"a" 1}`, syntax},
		{"name not a string", `{a:1}`, syntax},
		{"trailing comma in object", `{"a":1,}`, syntax},
		{"trailing comma in array", `[1,]`, syntax},
		{"leading zero", `[01]`, syntax},
		{"plus sign", `[+1]`, syntax},
		{"bare minus", `[-]`, syntax},
		{"dot without digits", `[1.]`, syntax},
		{"leading dot", `[.5]`, syntax},
		{"exponent without digits", `[1e+]`, syntax},
		{"hex", `[0x10]`, syntax},
		{"NaN", `[NaN]`, syntax},
		{"short literal", `[tru]`, syntax},
		{"literal with suffix", `[truex]`, syntax},
		{"control character in string", "[\"a\x01\"]", syntax},
		{"bad escape", `["\x"]`, syntax},
		{"short unicode escape", `["\u12"]`, syntax},
		{"non-hex unicode escape", `["\u12g4"]`, syntax},
		{"single quote escape", `["\'"]`, syntax},
		{"mismatched close", `[1}`, syntax},
		{"invalid UTF-8 is allowed", "[\"\xff\xfe\"]", ok},
		{"DEL is allowed", "[\"\x7f\"]", ok},
		{"trailing value", `{} {}`, trailing},
		{"trailing garbage", `{}x`, trailing},
		{"trailing after number", `1x`, trailing},
		{"repeat", `{"a":1,"a":2}`, repeated},
		{"repeat, same value", `{"a":1,"a":1}`, repeated},
		{"repeat via escape", `{"a":1,"\u0061":2}`, repeated},
		{"repeat, both escaped", `{"\u0061":1,"\u0061":2}`, repeated},
		{"repeat via escaped slash", `{"/":1,"\/":2}`, repeated},
		{"repeat of empty name", `{"":1,"":2}`, repeated},
		{"repeat nested in array", `[{"a":1},{"a":1,"a":2}]`, repeated},
		{"repeat deep", `{"x":{"y":{"z":1,"z":2}}}`, repeated},
		{"repeat after a nested object", `{"a":{"b":1},"a":2}`, repeated},
		{"invalid UTF-8 names decode alike", "{\"\xff\":1,\"\xfe\":2}", repeated},
		{"invalid UTF-8 and U+FFFD", "{\"\xff\":1,\"\uFFFD\":2}", repeated},
		{"lone surrogates decode alike", `{"\ud800":1,"\udc00":2}`, repeated},
		{"surrogate pair vs its rune", `{"\ud83d\ude00":1,"😀":2}`, repeated},
		{"same names, sibling objects", `{"a":{"x":1},"b":{"x":1},"c":[{"x":1},{"x":2}]}`, ok},
		{"case differs", `{"a":1,"A":2}`, repeated},
		{"case differs, escaped", `{"sub":1,"\u0053ub":2}`, repeated},
		{"case differs, nested", `{"x":{"Role":1,"role":2}}`, repeated},
		{"case differs, Kelvin sign", `{"kid":1,"\u212aid":2}`, repeated},
		{"case differs, long s", `{"sub":1,"ſub":2}`, repeated},
		{"case differs, dotless i", `{"iss":1,"ıss":2}`, repeated},
		{"case differs in sibling objects", `{"x":{"a":1},"y":{"A":1}}`, ok},
		{"sharp s is not ss", `{"ß":1,"ss":2,"SS":3}`, repeated},
		{"sharp s and ss only", `{"ß":1,"ss":2}`, ok},
		{"many members, case repeat", members(200, `"M150":0`), repeated},
		{"prefix names", `{"a":1,"ab":2,"abc":3}`, ok},
		{"many members", members(200, `"z":0`), ok},
		{"many members, repeat", members(200, `"m150":0`), repeated},
		{"many members in a nested object, repeat", `{"x":` + members(40, `"m3":0`) + `}`, repeated},
		{"depth 64", deep(64), ok},
		{"depth 65", deep(65), tooDeep},
		{"objects depth 64", objs(64), ok},
		{"objects depth 65", objs(65), tooDeep},
		{"depth 10000", deep(10000), tooDeep},
		{"depth 10001", deep(10001), syntax},
		{"unbalanced", strings.Repeat("[", 20000), syntax},
		{"too deep, then trailing data", deep(70) + "x", tooDeep},
		{"deep, then truncated", `[` + deep(70), syntax},
		{"repeat then truncated", `{"a":1,"a":2`, syntax},
		{"repeat before too deep", `{"a":1,"a":` + deep(70) + `}`, repeated},
		{"too deep before repeat", `{"x":` + deep(70) + `,"a":1,"a":2}`, tooDeep},
		{"repeat in outer object found after inner depth", `{"a":1,"a":{"b":` + deep(70) + `}}`, repeated},
		{"repeat and trailing data", `{"a":1,"a":2} x`, repeated},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var s jsonScan
			got := ok
			switch {
			case !s.scan([]byte(tt.in)):
				got = syntax
			case errors.Is(s.semErr, errRepeatedMember):
				got = repeated
			case errors.Is(s.semErr, errTooDeep):
				got = tooDeep
			case s.trailing([]byte(tt.in)):
				got = trailing
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// The top-level members, their decoded names and their values' text, are
// what encoding/json would give.
func TestJSONScanMembers(t *testing.T) {
	for _, in := range []string{
		`{}`,
		`{"iss":"x","aud":["a", "b"],"exp":17e8,"n":null,"o":{"k":{"j":[1]}},"t":true}`,
		` { "a" : 1 , "b\u00e9\n" : "c\"d" , "\ud83d\ude00" : -0.5 } `,
		`{"\u0069ss":"x","sub":"\u0073","aud":null,"client_id":1,"exp":[],"nbf":{},"iat":true,"scope":"","scp":["a"]}`,
		"{\"\xff\":\"\xfe\",\"\\ud800x\":1}",
		`{"m0":0,"m1":1,"m2":2,"m3":3,"m4":4,"m5":5,"m6":6,"m7":7,"m8":8,"m9":9,"m10":10,"m11":11,"m12":12,"m13":13,"m14":14,"m15":15,"m16":16,"m17":17,"m18":18,"m19":19,"m20":20,"m21":21,"m22":22,"m23":23,"m24":24,"m25":25,"m26":26,"m27":27,"m28":28,"m29":29,"m30":30,"m31":31,"m32":{"x":1},"m33":33,"\u006d34":34}`,
	} {
		checkMembers(t, []byte(in))
	}
}

// checkMembers compares the scan of a valid object without repeats with
// encoding/json's reading of it.
func checkMembers(t *testing.T, data []byte) {
	t.Helper()
	var want map[string]json.RawMessage
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatalf("%q: %v", data, err)
	}
	var s jsonScan
	if !s.scan(data) || s.semErr != nil || s.top != '{' {
		t.Fatalf("%q: not scanned as a valid object", data)
	}
	if s.members() != len(want) {
		t.Fatalf("%q: %d members, want %d", data, s.members(), len(want))
	}
	src := string(data)
	for i := range s.members() {
		name, raw := s.claimAt(src, i)
		w, ok := want[name]
		if !ok || raw != string(w) {
			t.Fatalf("%q: member %q = %q, want %q (present %v)", data, name, raw, w, ok)
		}
		var str string
		gotStr, isStr := jsonString(raw)
		if err := json.Unmarshal(w, &str); (err == nil && w[0] != 'n') != isStr || gotStr != str {
			t.Fatalf("%q: jsonString(%s) = %q, %v; encoding/json: %q, %v", data, raw, gotStr, isStr, str, err)
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(w))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if got, want := string(appendClaimText(nil, raw)), refStringifyClaim(v); got != want {
			t.Fatalf("%q: appendClaimText(%s) = %q, want %q", data, raw, got, want)
		}
	}
	r := s.registered(src)
	for name, got := range map[string]string{
		"iss": r.iss, "sub": r.sub, "aud": r.aud, "client_id": r.clientID, "exp": r.exp,
		"nbf": r.nbf, "iat": r.iat, "scope": r.scope, "scp": r.scp,
	} {
		if got != string(want[name]) {
			t.Fatalf("%q: registered %s = %q, want %q", data, name, got, want[name])
		}
	}
}

func TestJSONScanAllocations(t *testing.T) {
	payload := []byte(`{"iss":"https://issuer.example","aud":["api","other"],"sub":"user-1","exp":1700003600,"iat":1699999940,"scope":"read write","email":"u@example.com","x":{"a":[1,{"b":null}]}}`)
	allocs := testing.AllocsPerRun(100, func() {
		var s jsonScan
		if !s.scan(payload) || s.semErr != nil {
			t.Fatal("not valid")
		}
	})
	if allocs != 0 {
		t.Fatalf("scanning allocates %v times", allocs)
	}
}

// FuzzJSONScan holds the scanner to encoding/json: the same texts are valid,
// the first value ends at the same offset, the verdict on repeats and depth
// is that of a walk with encoding/json's token API, and members, strings and
// stringified claims decode the same.
func FuzzJSONScan(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"b":[true,false,null],"c":{"d":"e"}}`, `{"a":1,"\u0061":2}`, `[{"a":1},{"a":2}]`,
		"{\"\xff\":1,\"\xfe\":2}", `{"\ud800":1,"\udc00x":"\ud83d\ude00"}`, `1.5e-3`,
		`{"sub":1,"Sub":2}`, `{"a":{"kid":1,"\u212aid":2}}`, `{"iss":1,"ıss":2,"İss":3}`, `{"ς":1,"σ":2}`, `-0`, `{} x`, `[[[[[[[[[[]]]]]]]]]]`,
		`{"iss":"x","aud":["a","b"],"scp":["r",1,"w"],"o":{"z":1,"a":[1,"<&>"]},"n":null}`, `"\u2028\\\/\b\f\n\r\t"`, ``, ` `, `[1,]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s jsonScan
		first := s.scan(data)

		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber() // as golang-jwt decoded claims: 1e400 is a number, not an error
		var v any
		decErr := dec.Decode(&v)
		if first != (decErr == nil) {
			t.Fatalf("%q: scan %v, json.Decoder %v", data, first, decErr)
		}
		if !first {
			if json.Valid(data) {
				t.Fatalf("%q: json.Valid, scan refused", data)
			}
			return
		}
		if s.end != int(dec.InputOffset()) {
			t.Fatalf("%q: value ends at %d, json.Decoder at %d", data, s.end, dec.InputOffset())
		}
		whole := !s.trailing(data)
		if whole != json.Valid(data) {
			t.Fatalf("%q: whole %v, json.Valid %v", data, whole, !whole)
		}
		if want := refCheckJSONMembers(data[:s.end]); !errors.Is(want, s.semErr) && (want != nil || s.semErr != nil) {
			t.Fatalf("%q: %v, reference %v", data, s.semErr, want)
		}
		if s.top == '{' && s.semErr == nil {
			checkMembers(t, data[:s.end])
		}
	})
}

// refCheckJSONMembers is the encoding/json token walk that the scanner
// replaced, kept as the reference for its verdict on valid JSON; names are
// compared as refFoldName folds them.
func refCheckJSONMembers(data []byte) error {
	type frame struct {
		obj     int
		wantKey bool
	}
	type member struct {
		obj  int
		name string
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var (
		stack []frame
		seen  = map[member]struct{}{}
		objs  int
	)
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		top := len(stack) - 1
		if top >= 0 && stack[top].obj >= 0 && stack[top].wantKey {
			if name, ok := tok.(string); ok {
				m := member{stack[top].obj, refFoldName(name)}
				if _, dup := seen[m]; dup {
					return errRepeatedMember
				}
				seen[m] = struct{}{}
				stack[top].wantKey = false
				continue
			}
			stack = stack[:top] // '}'
		} else {
			if top >= 0 && stack[top].obj >= 0 {
				stack[top].wantKey = true
			}
			switch tok {
			case json.Delim('{'), json.Delim('['):
				if len(stack) >= maxJSONDepth {
					return errTooDeep
				}
				obj := -1
				if tok == json.Delim('{') {
					obj, objs = objs, objs+1
				}
				stack = append(stack, frame{obj: obj, wantKey: obj >= 0})
			case json.Delim(']'):
				stack = stack[:top]
			}
		}
		if len(stack) == 0 {
			break
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return errTrailingData
	}
	return nil
}

// refStringifyClaim is the stringification of encoding/json-decoded claims
// that appendClaimText replaced.
func refStringifyClaim(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return string(x)
	case bool:
		if x {
			return "true"
		}
		return "false"
	case nil:
		return ""
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = refStringifyClaim(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(x); err != nil {
			return ""
		}
		return strings.TrimSuffix(buf.String(), "\n")
	}
}

// BenchmarkJSONScan is the scanner alone, on the claims of an ordinary
// access token and on a header, the work every cold verification does twice.
func BenchmarkJSONScan(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"claims", `{"iss":"https://issuer.example","aud":["api","other"],"sub":"user-1","exp":1700003600,"iat":1699999940,"scope":"read write","email":"u@example.com","client_id":"cli","jti":"0f8e2a","tenant":"acme","roles":["reader","writer"]}`},
		{"header", `{"alg":"RS256","typ":"at+jwt","kid":"key-2026-01"}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			data := []byte(bc.in)
			b.ReportAllocs()
			for b.Loop() {
				var s jsonScan
				if !s.scan(data) || s.semErr != nil {
					b.Fatal("not valid")
				}
			}
		})
	}
}

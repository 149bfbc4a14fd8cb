package httpheader

import (
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
)

// TestValidValue: the bytes every former copy of the check (internal/proxy,
// internal/mapping, internal/lambdaproxy, gwresponse's header values)
// refused are refused, and those they let through pass, in the eight-byte
// words and in the tail after them.
func TestValidValue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		c    byte
		ok   bool
	}{
		{"CR", '\r', false},
		{"LF", '\n', false},
		{"NUL", 0x00, false},
		{"SOH", 0x01, false},
		{"backspace", 0x08, false},
		{"vertical tab", 0x0b, false},
		{"form feed", 0x0c, false},
		{"escape", 0x1b, false},
		{"unit separator", 0x1f, false},
		{"DEL", 0x7f, false},
		{"tab", '\t', true},
		{"space", ' ', true},
		{"tilde", '~', true},
		{"obs-text 0x80", 0x80, true},
		{"obs-text 0xff", 0xff, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, v := range []string{
				string(tc.c),                                  // alone, in the tail
				"Bearer " + string(tc.c) + "abcdefgh",         // in the first word
				"abcdefgh" + string(tc.c),                     // in the tail after a word
				strings.Repeat("x", 15) + string(tc.c) + "yy", // last byte of the second word
			} {
				if got := ValidValue(v); got != tc.ok {
					t.Errorf("ValidValue(%q) = %v, want %v", v, got, tc.ok)
				}
			}
		})
	}
	if !ValidValue("") {
		t.Error("the empty value refused")
	}
}

// ValidValue must refuse exactly what httpguts.ValidHeaderFieldValue
// refuses: every byte value at every position of the words it reads eight
// at a time and of the tail after them, and next to a tab (allowed, but it
// sends the word to the byte-wise check).
func TestValidValueMatchesHTTPGuts(t *testing.T) {
	t.Parallel()
	const plain = "Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig-_"
	for _, base := range []string{plain, strings.Repeat("a\t", 12), "\x7e\x80\xff \x20!~"} {
		for n := 0; n <= len(base); n++ {
			for pos := 0; pos < n; pos++ {
				for c := 0; c < 256; c++ {
					b := []byte(base[:n])
					b[pos] = byte(c)
					v := string(b)
					if got, want := ValidValue(v), httpguts.ValidHeaderFieldValue(v); got != want {
						t.Fatalf("%q: ValidValue %v, httpguts %v", v, got, want)
					}
				}
			}
		}
	}
}

// FuzzValidValue holds ValidValue, a hand-written word-at-a-time check, to
// httpguts.ValidHeaderFieldValue's verdict on any input.
func FuzzValidValue(f *testing.F) {
	for _, s := range []string{"", "Bearer abc.def.ghi", "a\tb", "x\x7fy", "12345678\x1f", "\x80\xff~ !"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if got, want := ValidValue(v), httpguts.ValidHeaderFieldValue(v); got != want {
			t.Fatalf("%q: ValidValue %v, httpguts %v", v, got, want)
		}
	})
}

// TestValidName: an RFC 9110 token passes, as a string and as a []byte;
// the empty name, and a name with any byte outside tchar anywhere in it,
// are refused. The cases are those the former copies (the proxy's, the
// Lambda proxy's, parameter mapping's, CORS's, gateway responses', mock
// integrations', the decision API's) each refused or let through.
func TestValidName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"X-Tenant", true},
		{"x", true},
		{"0", true},
		{"Access-Control-Request-Private-Network", true}, // longer than a method's 32 bytes
		{"!#$%&'*+-.^_`|~", true},                        // every tchar that is not a letter or digit
		{"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", true},
		{"", false},
		{" ", false},
		{"X Tenant", false},
		{"X-Tenant ", false},
		{" X-Tenant", false},
		{"X-Tenant:", false},
		{"X-Tenant\r\nX-Evil", false},
		{"X-Tenant\n", false},
		{"X\tTenant", false},
		{"X\x00", false},
		{"X\x7f", false},
		{"X-Ténant", false}, // UTF-8
		{"X-\x80", false},   // obs-text: a value's byte, never a name's
		{"X-\xff", false},
		{`"X"`, false},
		{"(X)", false},
		{"X,Y", false},
		{"X/Y", false},
		{"X;Y", false},
		{"<X>", false},
		{"X=Y", false},
		{"X?", false},
		{"X@Y", false},
		{"[X]", false},
		{`X\Y`, false},
		{"{X}", false},
	} {
		if got := ValidName(tc.name); got != tc.ok {
			t.Errorf("ValidName(%q) = %v, want %v", tc.name, got, tc.ok)
		}
		if got := ValidName([]byte(tc.name)); got != tc.ok {
			t.Errorf("ValidName([]byte(%q)) = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

// ValidName refuses exactly what httpguts.ValidHeaderFieldName refuses:
// every byte value, alone, first, in the middle and last of a name.
func TestValidNameMatchesHTTPGuts(t *testing.T) {
	t.Parallel()
	for c := 0; c < 256; c++ {
		b := string([]byte{byte(c)})
		for _, v := range []string{b, b + "-Name", "X-" + b + "-Name", "X-Name" + b} {
			want := httpguts.ValidHeaderFieldName(v)
			if got := ValidName(v); got != want {
				t.Errorf("ValidName(%q) = %v, httpguts %v", v, got, want)
			}
			if got := ValidName([]byte(v)); got != want {
				t.Errorf("ValidName([]byte(%q)) = %v, httpguts %v", v, got, want)
			}
		}
	}
}

// ValidValueByte is ValidValue's verdict on each byte alone.
func TestValidValueByte(t *testing.T) {
	t.Parallel()
	for c := 0; c < 256; c++ {
		if got, want := ValidValueByte(byte(c)), ValidValue(string([]byte{byte(c)})); got != want {
			t.Errorf("ValidValueByte(%#x) = %v, ValidValue %v", c, got, want)
		}
	}
}

// FuzzValidName holds ValidName to httpguts.ValidHeaderFieldName's verdict
// on any input, as a string and as a []byte.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"", "X-Tenant", "x tenant", "a:b", "\x80", "~|`^_.-+*'&%$#!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		want := httpguts.ValidHeaderFieldName(v)
		if got := ValidName(v); got != want {
			t.Fatalf("ValidName(%q) = %v, httpguts %v", v, got, want)
		}
		if got := ValidName([]byte(v)); got != want {
			t.Fatalf("ValidName([]byte(%q)) = %v, httpguts %v", v, got, want)
		}
	})
}

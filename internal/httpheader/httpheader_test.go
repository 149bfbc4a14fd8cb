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

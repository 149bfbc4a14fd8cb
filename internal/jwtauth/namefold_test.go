package jwtauth

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// Member names that differ only in case are one name to the backends that
// matter: encoding/json matches struct fields ignoring case (so golang-jwt's
// RegisteredClaims, and any typed claims struct in a Go backend, read the
// last spelling), .NET's typed models and Java's equalsIgnoreCase likewise.
// The gateway reads names exactly, so {"sub":"alice","Sub":"admin"} would
// forward alice while the backend reads admin. Refused, however spelled.
func TestHostileCaseVariantMembers(t *testing.T) {
	h := newHostileAuthorizers(t)
	k := sharedKeys()
	sign := func(header, payload string) string {
		return signRaw(t, jwt.SigningMethodRS256, k.rsa, header, payload)
	}
	hdr := `{"alg":"RS256","kid":"rsa"}`
	exp := itoa(t0.Add(time.Hour).Unix())
	many := func(extra string) string {
		var b strings.Builder
		for i := range 40 {
			b.WriteString(`"m` + itoa(int64(i)) + `":1,`)
		}
		return b.String() + extra
	}
	cases := []hostileCase{
		{"sub then Sub", sign(hdr, rawClaims(`"Sub":"admin"`)), ReasonMalformed},
		{"SUB", sign(hdr, rawClaims(`"SUB":"admin"`)), ReasonMalformed},
		{"sUb", sign(hdr, rawClaims(`"sUb":"admin"`)), ReasonMalformed},
		{"Sub first", sign(hdr, `{"Sub":"admin","iss":"issuer-x","aud":"api","sub":"s","exp":`+exp+`}`), ReasonMalformed},
		{"escaped \\u0053ub", sign(hdr, rawClaims(`"\u0053ub":"admin"`)), ReasonMalformed},
		{"all escaped \\u0053\\u0055\\u0042", sign(hdr, rawClaims(`"\u0053\u0055\u0042":"admin"`)), ReasonMalformed},
		{"escaped lower case, the other spelled plainly", sign(hdr, `{"SUB":"admin","iss":"issuer-x","aud":"api","\u0073ub":"s","exp":`+exp+`}`), ReasonMalformed},
		{"ISS", sign(hdr, rawClaims(`"ISS":"evil"`)), ReasonMalformed},
		{"Aud", sign(hdr, rawClaims(`"Aud":"other"`)), ReasonMalformed},
		{"Exp", sign(hdr, rawClaims(`"Exp":1`)), ReasonMalformed},
		{"scope and Scope", sign(hdr, rawClaims(`"scope":"read","Scope":"admin"`)), ReasonMalformed},
		{"scp and SCP", sign(hdr, rawClaims(`"scp":["read"],"SCP":["admin"]`)), ReasonMalformed},
		{"client_id and Client_ID", sign(hdr, rawClaims(`"client_id":"a","Client_ID":"b"`)), ReasonMalformed},
		// Unicode simple folding, as encoding/json: ſ (U+017F) folds to s,
		// the Kelvin sign (U+212A) to k, final sigma to sigma.
		{"long s in iss", sign(hdr, rawClaims(`"iſs":"evil"`)), ReasonMalformed},
		{"long s escaped", sign(hdr, rawClaims(`"i\u017fs":"evil"`)), ReasonMalformed},
		{"Kelvin sign", sign(hdr, rawClaims(`"kind":"user","\u212aind":"admin"`)), ReasonMalformed},
		{"Kelvin sign raw", sign(hdr, rawClaims(`"kind":"user","`+"\u212a"+`ind":"admin"`)), ReasonMalformed},
		{"final sigma and capital sigma", sign(hdr, rawClaims(`"ς":1,"Σ":2`)), ReasonMalformed},
		{"sigma escaped", sign(hdr, rawClaims(`"\u03c3":1,"\u03a3":2`)), ReasonMalformed},
		// Upper- and lower-casing (Java's equalsIgnoreCase, .NET's
		// ToUpperInvariant): dotless ı and dotted İ are i.
		{"dotless i", sign(hdr, rawClaims(`"ıss":"evil"`)), ReasonMalformed},
		{"dotted capital I", sign(hdr, rawClaims(`"\u0130SS":"evil"`)), ReasonMalformed},
		{"nested object", sign(hdr, rawClaims(`"x":{"role":"user","Role":"admin"}`)), ReasonMalformed},
		{"object in array", sign(hdr, rawClaims(`"x":[{"a":1},{"a":1,"A":2}]`)), ReasonMalformed},
		{"many members", sign(hdr, rawClaims(many(`"M17":2`))), ReasonMalformed},
		{"many members, Unicode", sign(hdr, rawClaims(many(`"\u212a":1,"k":2`))), ReasonMalformed},
		{"header ALG and alg", sign(`{"alg":"RS256","ALG":"none","kid":"rsa"}`, rawClaims("")), ReasonMalformed},
		{"header Alg first", sign(`{"Alg":"none","alg":"RS256","kid":"rsa"}`, rawClaims("")), ReasonMalformed},
		{"header KID", sign(`{"alg":"RS256","kid":"rsa","KID":"other"}`, rawClaims("")), ReasonMalformed},
		{"header escaped \\u004bid", sign(`{"alg":"RS256","kid":"rsa","\u004bid":"other"}`, rawClaims("")), ReasonMalformed},
		{"header Kelvin kid", sign(`{"alg":"RS256","kid":"rsa","\u212aid":"other"}`, rawClaims("")), ReasonMalformed},
		{"header typ and Typ", sign(`{"alg":"RS256","kid":"rsa","typ":"JWT","Typ":"at+jwt"}`, rawClaims("")), ReasonMalformed},
		{"header nested", sign(`{"alg":"RS256","kid":"rsa","x":{"a":1,"A":1}}`, rawClaims("")), ReasonMalformed},
	}
	runHostile(t, h.jwks, cases)
	d := wantDenied(t, h.jwks, cases[0].token, ReasonMalformed)
	if !strings.Contains(d.Description, "repeated") || !strings.Contains(d.Description, "case") || !strings.Contains(d.Description, "claims") {
		t.Fatalf("description %q does not say a claim name is repeated ignoring case", d.Description)
	}
	if strings.Contains(d.Error(), "Sub") || strings.Contains(d.Description, "Sub") {
		t.Fatal("the denial quotes a member name from the token")
	}

	// Controls: the same name in different objects, names that no
	// common library folds together (ß is not ss to simple folding,
	// underscores count), and a lone variant, which is just another claim.
	wantOK(t, h.jwks, sign(hdr, rawClaims(`"x":{"a":1},"y":{"A":2},"z":[{"a":1},{"A":2}]`)))
	wantOK(t, h.jwks, sign(hdr, rawClaims(`"ß":1,"ss":2,"a_b":3,"ab":4,"a-b":5`)))
	wantOK(t, h.jwks, sign(hdr, rawClaims(`"Role":"admin"`)))
	wantOK(t, h.jwks, sign(hdr, rawClaims(many(`"m40":2`))))
}

// What the test above defends against, shown with the real library: a Go
// backend decoding the same claims into golang-jwt's RegisteredClaims (or
// any struct) reads the last case variant, not what the gateway read.
func TestEncodingJSONMatchesCaseVariants(t *testing.T) {
	for _, tt := range []struct{ payload, want string }{
		{`{"sub":"alice","Sub":"admin"}`, "admin"},
		{`{"sub":"alice","\u0053ub":"admin"}`, "admin"},
		{`{"sub":"alice","ſub":"admin"}`, "admin"},
		{`{"sub":"alice","SUB":"admin"}`, "admin"},
	} {
		var c jwt.RegisteredClaims
		if err := json.Unmarshal([]byte(tt.payload), &c); err != nil {
			t.Fatal(err)
		}
		if c.Subject != tt.want {
			t.Fatalf("%s: encoding/json read sub %q, want %q", tt.payload, c.Subject, tt.want)
		}
		var s jsonScan
		if !s.scan([]byte(tt.payload)) || s.semErr == nil {
			t.Fatalf("%s: the scanner does not refuse it", tt.payload)
		}
	}
	var kelvin struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal([]byte(`{"kind":"user","\u212aind":"admin"}`), &kelvin); err != nil || kelvin.Kind != "admin" {
		t.Fatalf("encoding/json: %q, %v; want the Kelvin-sign spelling to fill kind", kelvin.Kind, err)
	}
}

// refFoldRune is the reference for foldRune, written differently: the
// smallest rune of the simple-fold orbit (encoding/json's foldRune) of the
// rune upper-cased after lower-casing (which adds ı and İ to I).
func refFoldRune(r rune) rune {
	r = unicode.ToUpper(unicode.ToLower(r))
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// refFoldName folds a decoded (valid UTF-8) name rune by rune.
func refFoldName(name string) string {
	var b strings.Builder
	for _, r := range name {
		b.WriteRune(refFoldRune(r))
	}
	return b.String()
}

// Every rune: foldRune is the reference; runes that encoding/json folds
// together (bytes.EqualFold: one simple-fold orbit), or that upper- or
// lower-casing makes equal (Java's equalsIgnoreCase), fold alike.
func TestFoldRuneAllRunes(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if utf16Surrogate(r) {
			continue
		}
		k := foldRune(r)
		if want := refFoldRune(r); k != want {
			t.Fatalf("foldRune(%U) = %U, want %U", r, k, want)
		}
		for _, o := range [...]rune{unicode.SimpleFold(r), unicode.ToUpper(r), unicode.ToLower(r), unicode.ToTitle(r)} {
			if foldRune(o) != k {
				t.Fatalf("%U and %U are one name to a common library, fold to %U and %U", r, o, k, foldRune(o))
			}
		}
		if r < utf8.RuneSelf && k != unicode.ToUpper(r) {
			t.Fatalf("ASCII %q folds to %q, not its upper case", r, k)
		}
	}
}

func utf16Surrogate(r rune) bool { return 0xd800 <= r && r < 0xe000 }

func TestFoldEqual(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"", "", true},
		{"sub", "sub", true},
		{"sub", "SUB", true},
		{"sub", "sUb", true},
		{"sub", "su", false},
		{"sub", "subs", false},
		{"sub", "sib", false},
		{"kid", "\u212aid", true},
		{"\u212aid", "KID", true},
		{"iss", "iſs", true},
		{"iss", "ıss", true},
		{"iss", "İss", true},
		{"ıss", "İSS", true},
		{"σ", "ς", true},
		{"Σ", "ς", true},
		{"ß", "ss", false},
		{"ß", "ẞ", true},
		{"a_b", "ab", false},
		{"a-b", "a_b", false},
		{"é", "É", true},
		{"é", "e", false},
		{"\uFFFD", "\uFFFD", true},
		{"@", "`", false}, // 0x40 and 0x60 differ only in the case bit
		{"[", "{", false},
	} {
		if got := foldEqual([]byte(tt.a), []byte(tt.b)); got != tt.want {
			t.Errorf("foldEqual(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := foldEqual([]byte(tt.b), []byte(tt.a)); got != tt.want {
			t.Errorf("foldEqual(%q, %q) = %v, want %v", tt.b, tt.a, got, tt.want)
		}
		if tt.want && foldHash([]byte(tt.a)) != foldHash([]byte(tt.b)) {
			t.Errorf("%q and %q fold alike but hash differently", tt.a, tt.b)
		}
	}
}

// FuzzFoldEqual holds foldEqual and foldHash to the reference folding.
func FuzzFoldEqual(f *testing.F) {
	for _, s := range [][2]string{{"sub", "SUB"}, {"kid", "\u212aid"}, {"ıss", "İSS"}, {"ß", "ss"}, {"σ", "ς"}, {"a", "ab"}, {"", ""}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		// Names reach foldEqual decoded: valid UTF-8.
		a, b = strings.ToValidUTF8(a, "\uFFFD"), strings.ToValidUTF8(b, "\uFFFD")
		want := refFoldName(a) == refFoldName(b)
		if got := foldEqual([]byte(a), []byte(b)); got != want {
			t.Fatalf("foldEqual(%q, %q) = %v, want %v", a, b, got, want)
		}
		if want && foldHash([]byte(a)) != foldHash([]byte(b)) {
			t.Fatalf("%q and %q fold alike but hash differently", a, b)
		}
	})
}

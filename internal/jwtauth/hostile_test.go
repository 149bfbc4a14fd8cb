package jwtauth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

// Hostile tokens: each case names the exact denial reason, and nothing in
// this file is ever accepted (wantDenied fails on acceptance). The
// authorizers read their keys from files, so no case can cause a fetch.

// hostileSecret is the HMAC secret of the authorizers that allow HS*.
var hostileSecret = bytes.Repeat([]byte("h"), 32)

type hostileCase struct {
	name, token, reason string
}

// hostileAuthorizers: a JWKS file with every test key under its kid, with
// and without an HMAC secret, and a PEM file (kid-less RSA key) likewise.
type hostileAuthorizers struct {
	jwks, jwksHMAC, pem, pemHMAC *Authorizer
}

func newHostileAuthorizers(t *testing.T) hostileAuthorizers {
	t.Helper()
	k := sharedKeys()
	body, err := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{
		publicJWK(t, k.rsa.Public(), "rsa", "", ""),
		publicJWK(t, k.ec256.Public(), "ec256", "", ""),
		publicJWK(t, k.ec384.Public(), "ec384", "", ""),
		publicJWK(t, k.ec521.Public(), "ec521", "", ""),
		publicJWK(t, k.ed.Public(), "ed", "", ""),
	}})
	if err != nil {
		t.Fatal(err)
	}
	pkixRSA, err := x509.MarshalPKIXPublicKey(k.rsa.Public())
	if err != nil {
		t.Fatal(err)
	}
	jwksPath := writeFile(t, body)
	pemPath := writeFile(t, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkixRSA}))
	mk := func(path string, secret []byte) *Authorizer {
		s := fileSettings(path)
		s.HMACSecret = secret
		s.CacheSize = -1 // every case takes the full path
		return newTestAuthorizer(t, s, Options{})
	}
	return hostileAuthorizers{
		jwks: mk(jwksPath, nil), jwksHMAC: mk(jwksPath, hostileSecret),
		pem: mk(pemPath, nil), pemHMAC: mk(pemPath, hostileSecret),
	}
}

func (h hostileAuthorizers) all() []*Authorizer {
	return []*Authorizer{h.jwks, h.jwksHMAC, h.pem, h.pemHMAC}
}

// b64 is base64url without padding.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// signRaw signs exactly the header and payload JSON given, byte for byte,
// so that tokens golang-jwt would never produce (duplicate members, odd
// numbers, nesting) carry a genuine signature.
func signRaw(t testing.TB, method jwt.SigningMethod, key any, header, payload string) string {
	t.Helper()
	input := b64([]byte(header)) + "." + b64([]byte(payload))
	sig, err := method.Sign(input, key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return input + "." + b64(sig)
}

// withSig replaces a token's signature segment.
func withSig(tok string, sig []byte) string {
	return tok[:strings.LastIndexByte(tok, '.')+1] + b64(sig)
}

// nonCanonical sets an unused low bit in the last character of a base64url
// segment: it decodes to the same bytes with a lenient decoder, so accepting
// it would give one signature many token strings (and cache keys).
func nonCanonical(t testing.TB, seg string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	if len(seg)%4 == 0 || len(seg)%4 == 1 {
		t.Fatalf("segment of length %d has no unused bits", len(seg))
	}
	v := strings.IndexByte(alphabet, seg[len(seg)-1])
	if v&1 != 0 {
		t.Fatalf("segment already non-canonical")
	}
	return seg[:len(seg)-1] + string(alphabet[v|1])
}

// rawClaims is fileClaims as JSON text with extra members appended.
func rawClaims(extra string) string {
	s := `{"iss":"issuer-x","aud":"api","sub":"s","exp":` + itoa(t0.Add(time.Hour).Unix())
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

func itoa(n int64) string { return big.NewInt(n).String() }

func runHostile(t *testing.T, a *Authorizer, cases []hostileCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			d := wantDenied(t, a, tc.token, tc.reason)
			// A bound on runaway work (exponential parsing, say), not on
			// speed: the keys are in a file, nothing is waited for, and a
			// loaded machine passes. Speed: BenchmarkVerify*.
			if el := time.Since(start); el > hangGuard {
				t.Fatalf("denial took %v", el)
			}
			if len(tc.token) > 16 && (strings.Contains(d.Error(), tc.token) || strings.Contains(d.Description, tc.token)) {
				t.Fatal("denial echoes the token")
			}
		})
	}
}

// HS256/384/512 tokens "signed" with public key material an attacker can
// get. The public key must never be used as an HMAC secret: without a
// secret HS* is not allowed at all; with one, only the secret verifies.
func TestHostileKeyConfusion(t *testing.T) {
	h := newHostileAuthorizers(t)
	k := sharedKeys()
	pkixRSA, _ := x509.MarshalPKIXPublicKey(k.rsa.Public())
	pkixEC, _ := x509.MarshalPKIXPublicKey(k.ec256.Public())
	pkixEd, _ := x509.MarshalPKIXPublicKey(k.ed.Public())
	ecPoint, err := k.ec256.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	jwkOf := func(pub any, kid string) []byte {
		b, err := json.Marshal(publicJWK(t, pub, kid, "", ""))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	jwksOf := func(pub any, kid string) []byte {
		b, err := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{publicJWK(t, pub, kid, "", "")}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	pemOf := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	secrets := map[string][]byte{
		"RSA PKIX PEM":       pemOf("PUBLIC KEY", pkixRSA),
		"RSA PKIX PEM no LF": bytes.TrimSuffix(pemOf("PUBLIC KEY", pkixRSA), []byte("\n")),
		"RSA PKCS1 PEM":      pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey)),
		"RSA PKIX DER":       pkixRSA,
		"RSA PKCS1 DER":      x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey),
		"RSA JWK JSON":       jwkOf(k.rsa.Public(), "rsa"),
		"RSA JWKS JSON":      jwksOf(k.rsa.Public(), "rsa"),
		"RSA modulus":        k.rsa.N.Bytes(),
		"EC PKIX PEM":        pemOf("PUBLIC KEY", pkixEC),
		"EC point":           ecPoint,
		"EC JWK JSON":        jwkOf(k.ec256.Public(), "ec256"),
		"Ed25519 raw":        []byte(k.ed.Public().(ed25519.PublicKey)),
		"Ed25519 PKIX PEM":   pemOf("PUBLIC KEY", pkixEd),
		"Ed25519 JWK JSON":   jwkOf(k.ed.Public(), "ed"),
	}
	methods := []jwt.SigningMethod{jwt.SigningMethodHS256, jwt.SigningMethodHS384, jwt.SigningMethodHS512}
	for _, tc := range []struct {
		name   string
		a      *Authorizer
		reason string
	}{
		{"JWKS without HMAC", h.jwks, ReasonAlgNotAllowed},
		{"JWKS with HMAC", h.jwksHMAC, ReasonBadSignature},
		{"PEM without HMAC", h.pem, ReasonAlgNotAllowed},
		{"PEM with HMAC", h.pemHMAC, ReasonBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cases []hostileCase
			for name, secret := range secrets {
				for _, m := range methods {
					for _, kid := range []string{"", "rsa", "ec256", "ed"} {
						cases = append(cases, hostileCase{name + "/" + m.Alg() + "/kid=" + kid,
							mint(t, m, secret, kid, fileClaims(), nil), tc.reason})
					}
				}
			}
			runHostile(t, tc.a, cases)
		})
	}
	// Control: the configured secret itself works, so the denials above are
	// about the key, not about HS* being broken.
	wantOK(t, h.jwksHMAC, mint(t, jwt.SigningMethodHS384, hostileSecret, "rsa", fileClaims(), nil))
}

// Psychic signatures (CVE-2022-21449 and relatives): ECDSA r = s = 0,
// all-zero signatures, and r or s equal to the curve order n, which a
// verifier must reject before any arithmetic. Go's crypto/ecdsa does; this
// pins it together with golang-jwt's length checks.
func TestHostilePsychicSignatures(t *testing.T) {
	h := newHostileAuthorizers(t)
	k := sharedKeys()
	var cases []hostileCase
	for _, ec := range []struct {
		method *jwt.SigningMethodECDSA
		key    *ecdsa.PrivateKey
		kid    string
	}{
		{jwt.SigningMethodES256, k.ec256, "ec256"},
		{jwt.SigningMethodES384, k.ec384, "ec384"},
		{jwt.SigningMethodES512, k.ec521, "ec521"},
	} {
		size := ec.method.KeySize
		genuine := mint(t, ec.method, ec.key, ec.kid, fileClaims(), nil)
		n := ec.key.Curve.Params().N
		fixed := func(r, s *big.Int) []byte {
			out := make([]byte, 2*size)
			r.FillBytes(out[:size])
			s.FillBytes(out[size:])
			return out
		}
		zero, one := big.NewInt(0), big.NewInt(1)
		nMinus1 := new(big.Int).Sub(n, one)
		nPlus1 := new(big.Int).Add(n, one)
		alg := ec.method.Alg()
		// A genuine DER (ASN.1) signature of the same input: JWS wants r||s.
		input := genuine[:strings.LastIndexByte(genuine, '.')]
		hash := ec.method.Hash.New()
		hash.Write([]byte(input))
		der, err := ecdsa.SignASN1(rand.Reader, ec.key, hash.Sum(nil))
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases,
			hostileCase{alg + " r=s=0", withSig(genuine, fixed(zero, zero)), ReasonBadSignature},
			hostileCase{alg + " all zero bytes", withSig(genuine, make([]byte, 2*size)), ReasonBadSignature},
			hostileCase{alg + " r=0 s=1", withSig(genuine, fixed(zero, one)), ReasonBadSignature},
			hostileCase{alg + " r=1 s=0", withSig(genuine, fixed(one, zero)), ReasonBadSignature},
			hostileCase{alg + " r=n s=n", withSig(genuine, fixed(n, n)), ReasonBadSignature},
			hostileCase{alg + " r=n s=1", withSig(genuine, fixed(n, one)), ReasonBadSignature},
			hostileCase{alg + " r=1 s=n", withSig(genuine, fixed(one, n)), ReasonBadSignature},
			hostileCase{alg + " r=n-1 s=n-1", withSig(genuine, fixed(nMinus1, nMinus1)), ReasonBadSignature},
			hostileCase{alg + " r=n+1 s=1", withSig(genuine, fixed(nPlus1, one)), ReasonBadSignature},
			hostileCase{alg + " one byte short", withSig(genuine, make([]byte, 2*size-1)), ReasonBadSignature},
			hostileCase{alg + " one byte long", withSig(genuine, make([]byte, 2*size+1)), ReasonBadSignature},
			hostileCase{alg + " DER instead of r||s", withSig(genuine, der), ReasonBadSignature},
			hostileCase{alg + " empty", withSig(genuine, nil), ReasonBadSignature},
		)
	}
	rsaTok := mint(t, jwt.SigningMethodRS256, k.rsa, "rsa", fileClaims(), nil)
	edTok := mint(t, jwt.SigningMethodEdDSA, k.ed, "ed", fileClaims(), nil)
	identityR := make([]byte, 64)
	identityR[0] = 1 // R = the identity point, S = 0
	cases = append(cases,
		hostileCase{"RS256 all zero", withSig(rsaTok, make([]byte, 256)), ReasonBadSignature},
		hostileCase{"RS256 empty", withSig(rsaTok, nil), ReasonBadSignature},
		hostileCase{"RS256 modulus as signature", withSig(rsaTok, k.rsa.N.Bytes()), ReasonBadSignature},
		hostileCase{"EdDSA all zero", withSig(edTok, make([]byte, 64)), ReasonBadSignature},
		hostileCase{"EdDSA identity R, S=0", withSig(edTok, identityR), ReasonBadSignature},
		hostileCase{"EdDSA empty", withSig(edTok, nil), ReasonBadSignature},
	)
	runHostile(t, h.jwks, cases)
}

// Header parameters that would let the token choose its own key, with the
// token genuinely signed by the attacker's key that the parameter names or
// embeds. The URLs point at a server that counts requests: it must never
// be contacted.
func TestHostileKeyHeaders(t *testing.T) {
	h := newHostileAuthorizers(t)
	k := sharedKeys()
	attacker := k.rsa2 // not in any authorizer's key set
	var hits atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		body, _ := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{publicJWK(t, attacker.Public(), "rsa", "", "")}})
		_, _ = w.Write(body)
	}))
	defer evil.Close()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "evil"}, NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour)}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, attacker.Public(), attacker)
	if err != nil {
		t.Fatal(err)
	}
	attackerJWK := publicJWK(t, attacker.Public(), "rsa", "", "")
	c := fileClaims()
	forge := func(kid string, hdr map[string]any) string {
		return mint(t, jwt.SigningMethodRS256, attacker, kid, c, hdr)
	}
	cases := []hostileCase{
		{"jwk embedded attacker key", forge("", map[string]any{"jwk": attackerJWK}), ReasonForbiddenHeader},
		{"jwk with known kid", forge("rsa", map[string]any{"jwk": attackerJWK}), ReasonForbiddenHeader},
		{"jku attacker JWKS", forge("rsa", map[string]any{"jku": evil.URL + "/jwks.json"}), ReasonForbiddenHeader},
		{"jku empty string", forge("rsa", map[string]any{"jku": ""}), ReasonForbiddenHeader},
		{"x5u attacker cert", forge("rsa", map[string]any{"x5u": evil.URL + "/cert.pem"}), ReasonForbiddenHeader},
		{"x5c attacker chain", forge("", map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString(cert)}}), ReasonForbiddenHeader},
		{"x5c empty", forge("rsa", map[string]any{"x5c": []string{}}), ReasonForbiddenHeader},
		{"all four", forge("rsa", map[string]any{"jwk": attackerJWK, "jku": evil.URL, "x5u": evil.URL, "x5c": []string{}}), ReasonForbiddenHeader},
		{"jku false", forge("rsa", map[string]any{"jku": false}), ReasonForbiddenHeader},
		// Genuine key, forbidden header: still refused (keys come from
		// configuration only, whatever the signature).
		{"genuine signature with jku", mint(t, jwt.SigningMethodRS256, k.rsa, "rsa", c, map[string]any{"jku": evil.URL}), ReasonForbiddenHeader},
		// Without the header the forgery is just a wrong key.
		{"attacker key under known kid", forge("rsa", nil), ReasonBadSignature},
		{"attacker key without kid", forge("", nil), ReasonUnknownKid},
	}
	runHostile(t, h.jwks, cases)
	runHostile(t, h.pem, []hostileCase{
		{"PEM: x5c attacker chain", forge("", map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString(cert)}}), ReasonForbiddenHeader},
		{"PEM: attacker key without kid", forge("", nil), ReasonBadSignature},
	})
	if n := hits.Load(); n != 0 {
		t.Fatalf("the attacker's server was contacted %d times", n)
	}
}

// kid is attacker-controlled text: it must only ever be a map key, never a
// path, URL, query or log line.
func TestHostileKid(t *testing.T) {
	h := newHostileAuthorizers(t)
	k := sharedKeys()
	signed := func(kid string) string {
		return mint(t, jwt.SigningMethodRS256, k.rsa, kid, fileClaims(), nil)
	}
	rawKid := func(kidJSON string) string {
		return signRaw(t, jwt.SigningMethodRS256, k.rsa, `{"alg":"RS256","kid":`+kidJSON+`}`, rawClaims(""))
	}
	huge := strings.Repeat("k", 10*1024)
	cases := []hostileCase{
		{"path traversal", signed("../../dev/null"), ReasonUnknownKid},
		{"path traversal to a key file", signed("../../../../etc/ssl/certs/ca-certificates.crt"), ReasonUnknownKid},
		{"absolute path", signed("/dev/null"), ReasonUnknownKid},
		{"URL", signed("https://evil.example/jwks.json"), ReasonUnknownKid},
		{"file URL", signed("file:///dev/null"), ReasonUnknownKid},
		{"SQL", signed("' OR '1'='1"), ReasonUnknownKid},
		{"10 KiB", signed(huge), ReasonUnknownKid},
		{"NUL byte", signed("rsa\x00"), ReasonUnknownKid},
		{"leading NUL", signed("\x00rsa"), ReasonUnknownKid},
		{"newline", signed("rsa\n"), ReasonUnknownKid},
		{"CRLF log injection", signed("x\r\nlevel=ERROR msg=forged"), ReasonUnknownKid},
		{"case variant", signed("RSA"), ReasonUnknownKid},
		{"trailing space", signed("rsa "), ReasonUnknownKid},
		{"invalid UTF-8", rawKid(`"rsa\udc00"`), ReasonUnknownKid},
		{"empty string on a keyed set", rawKid(`""`), ReasonUnknownKid},
		{"object", rawKid(`{"$ne":""}`), ReasonMalformed},
		{"number", rawKid(`0`), ReasonMalformed},
		{"array", rawKid(`["rsa"]`), ReasonMalformed},
		{"boolean", rawKid(`true`), ReasonMalformed},
		{"null", rawKid(`null`), ReasonMalformed},
	}
	runHostile(t, h.jwks, cases)
	for _, tc := range cases {
		if tc.reason != ReasonUnknownKid {
			continue
		}
		// The denial names no kid: Err is nil for unknown_kid.
		_, err := h.jwks.Verify(t.Context(), tc.token)
		if d := err.(*Denial); d.Err != nil {
			t.Fatalf("%s: unknown_kid carries %v", tc.name, d.Err)
		}
	}
	// The PEM key has no kid: a null kid must not pass for "no kid".
	runHostile(t, h.pem, []hostileCase{
		{"PEM: null kid", rawKid(`null`), ReasonMalformed},
		{"PEM: path traversal", signed("../../dev/null"), ReasonUnknownKid},
	})
}

// crit: we implement no extensions, so any crit is refused (RFC 7515
// §4.1.11), known names and malformed values included.
func TestHostileCrit(t *testing.T) {
	h := newHostileAuthorizers(t)
	k := sharedKeys()
	crit := func(hdr map[string]any) string {
		return mint(t, jwt.SigningMethodRS256, k.rsa, "rsa", fileClaims(), hdr)
	}
	runHostile(t, h.jwks, []hostileCase{
		{"unknown extension", crit(map[string]any{"crit": []string{"x-evil"}, "x-evil": true}), ReasonForbiddenHeader},
		{"unknown, parameter absent", crit(map[string]any{"crit": []string{"x-evil"}}), ReasonForbiddenHeader},
		{"b64 false (RFC 7797)", crit(map[string]any{"crit": []string{"b64"}, "b64": false}), ReasonForbiddenHeader},
		{"registered name exp", crit(map[string]any{"crit": []string{"exp"}}), ReasonForbiddenHeader},
		{"registered name alg", crit(map[string]any{"crit": []string{"alg"}}), ReasonForbiddenHeader},
		{"empty list", crit(map[string]any{"crit": []string{}}), ReasonForbiddenHeader},
		{"null", crit(map[string]any{"crit": nil}), ReasonForbiddenHeader},
		{"string", crit(map[string]any{"crit": "b64"}), ReasonForbiddenHeader},
	})
	// Header names are compared after unescaping, as any JSON parser a
	// backend uses would read them: an escaped spelling hides nothing.
	raw := func(header string) string {
		return signRaw(t, jwt.SigningMethodRS256, k.rsa, header, rawClaims(""))
	}
	runHostile(t, h.jwks, []hostileCase{
		{"escaped crit", raw(`{"alg":"RS256","kid":"rsa","\u0063rit":["x-evil"]}`), ReasonForbiddenHeader},
		{"escaped jku", raw(`{"alg":"RS256","kid":"rsa","\u006aku":"https://evil.example/jwks"}`), ReasonForbiddenHeader},
		{"escaped x5c", raw(`{"alg":"RS256","kid":"rsa","x5\u0063":[]}`), ReasonForbiddenHeader},
		{"escaped jwk", raw(`{"alg":"RS256","kid":"rsa","\u006a\u0077\u006b":{}}`), ReasonForbiddenHeader},
	})
}

// JWE and nested JWTs: a 5-part JWE is not a JWS; a JWS whose payload is
// itself a JWT (cty: JWT) is never unwrapped, even when both layers carry
// genuine signatures.
func TestHostileJWEAndNested(t *testing.T) {
	h := newHostileAuthorizers(t)
	k := sharedKeys()
	inner := mint(t, jwt.SigningMethodRS256, k.rsa, "rsa", fileClaims(), nil)
	e := func(s string) string { return b64([]byte(s)) }
	jwe := e(`{"alg":"RSA-OAEP","enc":"A256GCM","kid":"rsa"}`) + "." + e("encrypted-key") + "." + e("iv-iv-iv-iv") + "." + e("ciphertext") + "." + e("tag-tag-tag-tag")
	jweDir := e(`{"alg":"dir","enc":"A128GCM"}`) + ".." + e("iv") + "." + e("ct") + "." + e("tag")
	innerJSON, _ := json.Marshal(inner)
	runHostile(t, h.jwks, []hostileCase{
		{"JWE 5 parts", jwe, ReasonMalformed},
		{"JWE dir, empty key part", jweDir, ReasonMalformed},
		{"JWE header in 3 parts", e(`{"alg":"RSA-OAEP","enc":"A256GCM","kid":"rsa"}`) + "." + e("ct") + "." + e("tag"), ReasonAlgNotAllowed},
		{"nested: payload is the inner JWT", signRaw(t, jwt.SigningMethodRS256, k.rsa, `{"alg":"RS256","kid":"rsa","cty":"JWT"}`, inner), ReasonMalformed},
		{"nested: payload is the inner JWT as a JSON string", signRaw(t, jwt.SigningMethodRS256, k.rsa, `{"alg":"RS256","kid":"rsa","cty":"JWT"}`, string(innerJSON)), ReasonMalformed},
		{"nested: outer forged, inner genuine", signRaw(t, jwt.SigningMethodRS256, k.rsa2, `{"alg":"RS256","kid":"rsa","cty":"JWT"}`, inner), ReasonMalformed},
		{"nested: outer alg none", rawToken(`{"alg":"none","cty":"JWT"}`, inner, nil), ReasonAlgNotAllowed},
		{"inner JWT in a claim is just a string, outer expired", signRaw(t, jwt.SigningMethodRS256, k.rsa, `{"alg":"RS256","kid":"rsa"}`, `{"iss":"issuer-x","aud":"api","exp":1,"jwt":`+string(innerJSON)+`}`), ReasonExpired},
	})
}

// Deep nesting within the 16 KiB limit must be refused quickly and without
// exhausting the stack, in the header and in the (genuinely signed) payload.
func TestHostileNesting(t *testing.T) {
	h := newHostileAuthorizers(t)
	k := sharedKeys()
	arrays := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	objects := func(n int) string { return strings.Repeat(`{"":`, n) + "0" + strings.Repeat("}", n) }
	hdr := `{"alg":"RS256","kid":"rsa"}`
	sign := func(header, payload string) string {
		tok := signRaw(t, jwt.SigningMethodRS256, k.rsa, header, payload)
		if len(tok) > maxTokenBytes {
			t.Fatalf("test token is %d bytes, over the limit", len(tok))
		}
		return tok
	}
	deepPayload := sign(hdr, rawClaims(`"x":`+arrays(5000)))
	cases := []hostileCase{
		{"payload arrays 5000 deep", deepPayload, ReasonMalformed},
		{"payload objects 1500 deep", sign(hdr, rawClaims(`"x":`+objects(1500))), ReasonMalformed},
		{"payload 65 deep", sign(hdr, rawClaims(`"x":`+arrays(64))), ReasonMalformed}, // 64 + the claims object
		{"payload unbalanced 8000 opens", sign(hdr, `{"x":`+strings.Repeat("[", 8000)), ReasonMalformed},
		{"payload 5000 deep, forged signature", withSig(deepPayload, make([]byte, 256)), ReasonBadSignature},
		{"header arrays 5000 deep", sign(`{"alg":"RS256","kid":"rsa","x":`+arrays(5000)+`}`, rawClaims("")), ReasonMalformed},
		{"header objects 1500 deep", sign(`{"alg":"RS256","kid":"rsa","x":`+objects(1500)+`}`, rawClaims("")), ReasonMalformed},
		{"header deep, alg none", rawToken(`{"alg":"none","x":`+arrays(5000)+`}`, rawClaims(""), nil), ReasonMalformed},
		{"header unbalanced", rawToken(`{"alg":"RS256","x":`+strings.Repeat("[", 8000), rawClaims(""), nil), ReasonMalformed},
		{"many duplicate members", sign(hdr, rawClaims(strings.Repeat(`"a":0,`, 1500)+`"b":0`)), ReasonMalformed},
	}
	runHostile(t, h.jwks, cases)
	d := wantDenied(t, h.jwks, deepPayload, ReasonMalformed)
	if !strings.Contains(d.Description, "nested too deeply") {
		t.Fatalf("description %q does not say why", d.Description)
	}
	// Control: nesting a real issuer might use, and many distinct members,
	// are fine.
	members := make([]string, 600)
	for i := range members {
		members[i] = `"m` + itoa(int64(i)) + `":0`
	}
	wantOK(t, h.jwks, sign(hdr, rawClaims(`"x":`+arrays(60)+`,`+strings.Join(members, ","))))
	wantOK(t, h.jwks, sign(`{"alg":"RS256","kid":"rsa","x":`+objects(60)+`}`, rawClaims(`"y":{"a":{"b":1},"c":{"b":2}}`)))
}

// The compact form: exactly three non-empty (signature may be empty)
// segments of canonical, unpadded base64url.
func TestHostileShape(t *testing.T) {
	h := newHostileAuthorizers(t)
	k := sharedKeys()
	// A header whose encoding has unused bits (length not a multiple of 4).
	hdr := `{"alg":"RS256","kid":"rsa"}`
	for i := 0; len(b64([]byte(hdr)))%4 == 0; i++ {
		hdr = `{"alg":"RS256","kid":"rsa","p":"` + strings.Repeat("x", i) + `"}`
	}
	payload := rawClaims("")
	for i := 0; len(b64([]byte(payload)))%4 == 0; i++ {
		payload = rawClaims(`"p":"` + strings.Repeat("x", i) + `"`)
	}
	good := signRaw(t, jwt.SigningMethodRS256, k.rsa, hdr, payload)
	wantOK(t, h.jwks, good)
	p := strings.Split(good, ".")
	std := func(s string) string { // a standard-alphabet character in place of the first - or _, or appended
		if i := strings.IndexAny(s, "-_"); i >= 0 {
			return s[:i] + map[byte]string{'-': "+", '_': "/"}[s[i]] + s[i+1:]
		}
		return s[:len(s)-1] + "+"
	}
	runHostile(t, h.jwks, []hostileCase{
		{"empty", "", ReasonMalformed},
		{"one dot", ".", ReasonMalformed},
		{"two dots", "..", ReasonMalformed},
		{"four dots", "....", ReasonMalformed},
		{"1000 dots", strings.Repeat(".", 1000), ReasonMalformed},
		{"four parts", good + ".", ReasonMalformed},
		{"four parts, extra signature", good + "." + p[2], ReasonMalformed},
		{"dots everywhere", strings.Join(strings.Split(good, ""), "."), ReasonMalformed},
		{"empty header", "." + p[1] + "." + p[2], ReasonMalformed},
		{"empty payload", p[0] + ".." + p[2], ReasonMalformed},
		{"empty signature", p[0] + "." + p[1] + ".", ReasonBadSignature},
		{"only signature", ".." + p[2], ReasonMalformed},
		{"padding on header", p[0] + "=." + p[1] + "." + p[2], ReasonMalformed},
		{"padding on payload", p[0] + "." + p[1] + "==." + p[2], ReasonMalformed},
		{"padding on signature", p[0] + "." + p[1] + "." + p[2] + "==", ReasonMalformed},
		{"std alphabet in header", std(p[0]) + "." + p[1] + "." + p[2], ReasonMalformed},
		{"std alphabet in payload", p[0] + "." + std(p[1]) + "." + p[2], ReasonMalformed},
		{"std alphabet in signature", p[0] + "." + p[1] + "." + std(p[2]), ReasonMalformed},
		{"non-canonical header", nonCanonical(t, p[0]) + "." + p[1] + "." + p[2], ReasonMalformed},
		{"non-canonical payload", p[0] + "." + nonCanonical(t, p[1]) + "." + p[2], ReasonMalformed},
		{"non-canonical signature", p[0] + "." + p[1] + "." + nonCanonical(t, p[2]), ReasonMalformed},
		{"impossible length header", p[0][:len(p[0])-len(p[0])%4] + "A." + p[1] + "." + p[2], ReasonMalformed},
		{"space", p[0] + " ." + p[1] + "." + p[2], ReasonMalformed},
		{"tab", p[0] + "." + p[1] + "\t." + p[2], ReasonMalformed},
		{"CR", p[0] + "." + p[1] + ".\r" + p[2], ReasonMalformed},
		{"NUL", p[0] + "\x00." + p[1] + "." + p[2], ReasonMalformed},
		{"non-ASCII", p[0] + "." + p[1] + "é." + p[2], ReasonMalformed},
		{"Bearer prefix left on", "Bearer " + good, ReasonMalformed},
	})
}

// Duplicate member names: Go's decoder keeps the last, many others keep the
// first, so the gateway and the backend could read different claims from
// one genuinely signed token. Refused, however they are spelled.
func TestHostileDuplicateMembers(t *testing.T) {
	h := newHostileAuthorizers(t)
	k := sharedKeys()
	sign := func(header, payload string) string {
		return signRaw(t, jwt.SigningMethodRS256, k.rsa, header, payload)
	}
	hdr := `{"alg":"RS256","kid":"rsa"}`
	exp := itoa(t0.Add(time.Hour).Unix())
	cases := []hostileCase{
		{"iss evil then good", sign(hdr, `{"iss":"evil","iss":"issuer-x","aud":"api","sub":"s","exp":`+exp+`}`), ReasonMalformed},
		{"iss good then evil", sign(hdr, `{"iss":"issuer-x","iss":"evil","aud":"api","sub":"s","exp":`+exp+`}`), ReasonMalformed},
		{"sub twice", sign(hdr, rawClaims(`"sub":"admin"`)), ReasonMalformed},
		{"exp twice", sign(hdr, rawClaims(`"exp":1`)), ReasonMalformed},
		{"aud twice", sign(hdr, rawClaims(`"aud":"other"`)), ReasonMalformed},
		{"scope twice", sign(hdr, rawClaims(`"scope":"read","scope":"admin"`)), ReasonMalformed},
		{"escaped name", sign(hdr, rawClaims(`"\u0073ub":"admin"`)), ReasonMalformed},
		{"escaped both", sign(hdr, rawClaims(`"\u0061":1,"\u0061":2`)), ReasonMalformed},
		{"same value twice", sign(hdr, rawClaims(`"iss":"issuer-x"`)), ReasonMalformed},
		{"nested object", sign(hdr, rawClaims(`"x":{"role":"user","role":"admin"}`)), ReasonMalformed},
		{"object in array", sign(hdr, rawClaims(`"x":[{"a":1},{"a":1,"a":2}]`)), ReasonMalformed},
		{"empty name twice", sign(hdr, rawClaims(`"":1,"":2`)), ReasonMalformed},
		{"trailing object", sign(hdr, rawClaims("")+`{"sub":"admin"}`), ReasonMalformed},
		{"trailing garbage", sign(hdr, rawClaims("")+`x`), ReasonMalformed},
		{"header alg none then RS256", sign(`{"alg":"none","alg":"RS256","kid":"rsa"}`, rawClaims("")), ReasonMalformed},
		{"header alg RS256 then none", sign(`{"alg":"RS256","alg":"none","kid":"rsa"}`, rawClaims("")), ReasonMalformed},
		{"header alg twice, same", sign(`{"alg":"RS256","alg":"RS256","kid":"rsa"}`, rawClaims("")), ReasonMalformed},
		{"header escaped alg", sign(`{"alg":"RS256","\u0061lg":"RS256","kid":"rsa"}`, rawClaims("")), ReasonMalformed},
		{"header kid twice", sign(`{"alg":"RS256","kid":"attacker","kid":"rsa"}`, rawClaims("")), ReasonMalformed},
		{"header typ twice", sign(`{"alg":"RS256","kid":"rsa","typ":"JWT","typ":"at+jwt"}`, rawClaims("")), ReasonMalformed},
		{"header nested duplicate", sign(`{"alg":"RS256","kid":"rsa","x":{"a":1,"a":1}}`, rawClaims("")), ReasonMalformed},
		{"header dup with alg none unsigned", rawToken(`{"alg":"none","alg":"none"}`, rawClaims(""), nil), ReasonMalformed},
	}
	runHostile(t, h.jwks, cases)
	d := wantDenied(t, h.jwks, cases[0].token, ReasonMalformed)
	if !strings.Contains(d.Description, "repeated") || !strings.Contains(d.Description, "claims") {
		t.Fatalf("description %q does not say a claim is repeated", d.Description)
	}
	d = wantDenied(t, h.jwks, cases[len(cases)-2].token, ReasonMalformed)
	if !strings.Contains(d.Description, "repeated") || !strings.Contains(d.Description, "header") {
		t.Fatalf("description %q does not say a header member is repeated", d.Description)
	}
	if strings.Contains(d.Error(), `"a"`) {
		t.Fatal("the denial quotes a member name from the token")
	}
	// Controls: the same names in different objects and trailing
	// whitespace are fine (case variants: TestHostileCaseVariantMembers).
	wantOK(t, h.jwks, sign(hdr, rawClaims(`"x":{"a":1},"y":{"a":2},"z":[{"a":1},{"a":2}]`)))
	wantOK(t, h.jwks, sign(hdr, rawClaims("")+" \n"))
	wantOK(t, h.jwks, sign(`{ "alg" : "RS256" ,	"kid":
 "rsa" }`, rawClaims("")))
}

// NumericDate edge cases for exp, nbf and iat. The rule (numericDate): a
// JSON number that parses to a finite float64 is a time, however written;
// anything else (strings, booleans, null, arrays, objects, overflow to
// ±Inf) is malformed. Invalid JSON numbers never reach the claims.
func TestHostileNumericDates(t *testing.T) {
	h := newHostileAuthorizers(t)
	k := sharedKeys()
	const (
		ok        = ""
		malformed = ReasonMalformed
	)
	type row struct {
		value         string // JSON text
		exp, nbf, iat string // expected reason per claim; "" = accepted
	}
	// now = t0 = 1.7e9; ClockSkew 0; exp otherwise t0+1h, nbf/iat absent.
	rows := []row{
		{`1e400`, malformed, malformed, malformed},
		{`-1e400`, malformed, malformed, malformed},
		{`1e308`, ok, ReasonNotYetValid, ReasonIssuedInFuture},
		{`-1e308`, ReasonExpired, ok, ok},
		{`1.7976931348623157e308`, ok, ReasonNotYetValid, ReasonIssuedInFuture},
		{`1e-400`, ReasonExpired, ok, ok}, // underflows to 0: the epoch
		{`-0`, ReasonExpired, ok, ok},
		{`0`, ReasonExpired, ok, ok},
		{`-0.0`, ReasonExpired, ok, ok},
		{`9007199254740993`, ok, ReasonNotYetValid, ReasonIssuedInFuture},
		{`1e19`, ok, ReasonNotYetValid, ReasonIssuedInFuture},
		{`1` + strings.Repeat("0", 400), malformed, malformed, malformed},
		{`1.7e9`, ReasonExpired, ok, ok}, // exactly now: exp must be after now
		{`1.7E9`, ReasonExpired, ok, ok},
		{`17e8`, ReasonExpired, ok, ok},
		{`1.7000036e9`, ok, ReasonNotYetValid, ReasonIssuedInFuture},
		{`1700003600.5`, ok, ReasonNotYetValid, ReasonIssuedInFuture},
		{`"123"`, malformed, malformed, malformed},
		{`"1700003600"`, malformed, malformed, malformed},
		{`""`, malformed, malformed, malformed},
		{`true`, malformed, malformed, malformed},
		{`false`, malformed, malformed, malformed},
		{`null`, malformed, malformed, malformed},
		{`[]`, malformed, malformed, malformed},
		{`[1700003600]`, malformed, malformed, malformed},
		{`{}`, malformed, malformed, malformed},
		// Not JSON numbers at all: the payload does not decode.
		{`01`, malformed, malformed, malformed},
		{`+1`, malformed, malformed, malformed},
		{`.5`, malformed, malformed, malformed},
		{`1.`, malformed, malformed, malformed},
		{`0x10`, malformed, malformed, malformed},
		{`NaN`, malformed, malformed, malformed},
		{`Infinity`, malformed, malformed, malformed},
		{`-Infinity`, malformed, malformed, malformed},
	}
	exp := itoa(t0.Add(time.Hour).Unix())
	hdr := `{"alg":"ES256","kid":"ec256"}`
	var cases []hostileCase
	var accepted []string
	for _, r := range rows {
		for _, claim := range []struct{ name, payload, want string }{
			{"exp", `{"iss":"issuer-x","aud":"api","exp":` + r.value + `}`, r.exp},
			{"nbf", `{"iss":"issuer-x","aud":"api","exp":` + exp + `,"nbf":` + r.value + `}`, r.nbf},
			{"iat", `{"iss":"issuer-x","aud":"api","exp":` + exp + `,"iat":` + r.value + `}`, r.iat},
		} {
			tok := signRaw(t, jwt.SigningMethodES256, k.ec256, hdr, claim.payload)
			if claim.want == ok {
				accepted = append(accepted, claim.name+"="+r.value)
				wantOK(t, h.jwks, tok)
				continue
			}
			cases = append(cases, hostileCase{claim.name + "=" + r.value, tok, claim.want})
		}
	}
	runHostile(t, h.jwks, cases)
	t.Logf("accepted as times: %s", strings.Join(accepted, ", "))
}

// An https JWKS URL that redirects to plain http must not deliver keys: the
// discovery check that refuses an http jwks_uri for an https issuer would
// otherwise be bypassed by one redirect.
func TestHostileJWKSRedirectDowngrade(t *testing.T) {
	k := sharedKeys()
	body, err := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{publicJWK(t, k.rsa.Public(), "rsa", "", "")}})
	if err != nil {
		t.Fatal(err)
	}
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }))
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/same" {
			http.Redirect(w, r, "/jwks", http.StatusFound)
			return
		}
		if r.URL.Path == "/jwks" {
			_, _ = w.Write(body)
			return
		}
		http.Redirect(w, r, plain.URL+"/jwks", http.StatusFound)
	}))
	defer tlsSrv.Close()
	tok := mint(t, jwt.SigningMethodRS256, k.rsa, "rsa", fileClaims(), nil)
	for _, tc := range []struct {
		path, reason string
	}{
		{"/downgrade", ReasonKeysUnavailable},
		{"/same", ""}, // https → https redirects still work
	} {
		s := Settings{Name: "redirect", Issuer: "issuer-x", Audience: []string{"api"}, JWKSURI: tlsSrv.URL + tc.path}
		a := newTestAuthorizer(t, s, Options{HTTPClient: tlsSrv.Client()})
		if tc.reason == "" {
			wantOK(t, a, tok)
			continue
		}
		d := wantDenied(t, a, tok, tc.reason)
		if !strings.Contains(fmt.Sprint(d.Err), "non-https") {
			t.Fatalf("error %v does not name the downgrade", d.Err)
		}
	}
}

package jwtauth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerify: Verify never panics, never returns (nil, nil), and never
// accepts anything. The authorizer's clock is past every seed's exp, so even
// the genuine seeds go through signature checks and are then refused:
// acceptance would mean a forged signature or a broken claim check.
func FuzzVerify(f *testing.F) {
	k := sharedKeys()
	body, err := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{
		publicJWK(f, k.rsa.Public(), "rsa", "", ""),
		publicJWK(f, k.ec256.Public(), "ec256", "", ""),
		publicJWK(f, k.ed.Public(), "ed", "", ""),
	}})
	if err != nil {
		f.Fatal(err)
	}
	path := f.TempDir() + "/jwks.json"
	if err := writeFileErr(path, body); err != nil {
		f.Fatal(err)
	}
	secret := bytes.Repeat([]byte("k"), 32)
	s := fileSettings(path)
	s.HMACSecret = secret
	a, err := New(s, Options{Now: func() time.Time { return t0.Add(2 * time.Hour) }})
	if err != nil {
		f.Fatal(err)
	}
	c := fileClaims()
	valid := mint(f, jwt.SigningMethodRS256, k.rsa, "rsa", c, nil)
	f.Add(valid)
	f.Add(valid[:len(valid)-10])
	f.Add(mint(f, jwt.SigningMethodES256, k.ec256, "ec256", c, nil))
	f.Add(mint(f, jwt.SigningMethodEdDSA, k.ed, "ed", c, nil))
	f.Add(mint(f, jwt.SigningMethodHS256, secret, "", c, nil))
	f.Add(mint(f, jwt.SigningMethodRS256, k.rsa, "", c, map[string]any{"crit": []string{"b64"}, "b64": false}))
	f.Add(rawToken(`{"alg":"none"}`, `{"iss":"issuer-x","aud":"api","exp":9999999999}`, nil))
	f.Add(rawToken(`{"alg":"RS256","kid":"rsa"}`, `{"iss":"issuer-x","aud":"api","exp":9999999999}`, []byte("sig")))
	f.Add(rawToken(`{"alg":"none","alg":"RS256","kid":"rsa"}`, `{"iss":"issuer-x","aud":"api","exp":9999999999}`, []byte("sig")))
	f.Add(signRaw(f, jwt.SigningMethodRS256, k.rsa, `{"alg":"RS256","kid":"rsa"}`, `{"iss":"x","iss":"issuer-x","aud":"api","exp":1e400,"n":[[[{"a":1,"\u0061":2}]]]} {}`))
	f.Add(signRaw(f, jwt.SigningMethodES256, k.ec256, `{"alg":"ES256","kid":"ec256","x":[[[[[[[[]]]]]]]]}`, `{"iss":"issuer-x","aud":"api","exp":-0}`))
	many := make([]string, 20) // over the pairwise limit of the repeat check
	for i := range many {
		many[i] = `"m` + itoa(int64(i)) + `":` + itoa(int64(i))
	}
	f.Add(signRaw(f, jwt.SigningMethodEdDSA, k.ed, `{"alg":"EdDSA","kid":"ed"}`, `{"iss":"issuer-x","aud":["x","api"],"exp":1,"scp":["a"],`+strings.Join(many, ",")+`,"\u006d7":0}`))
	f.Add("junk")
	f.Add("a.b.c")
	f.Add("..")
	f.Add("eyJhbGciOiJIUzI1NiJ9.e30.")
	f.Fuzz(func(t *testing.T, token string) {
		id, err := a.Verify(context.Background(), token)
		if err == nil {
			if id == nil {
				t.Fatal("Verify returned (nil, nil)")
			}
			t.Fatalf("Verify accepted %q", token)
		}
		if id != nil {
			t.Fatal("identity returned with a denial")
		}
		var d *Denial
		if !errors.As(err, &d) || d.Reason == "" || d.Description == "" {
			t.Fatalf("not a complete *Denial: %#v", err)
		}
		if len(token) >= 16 && strings.Contains(d.Error(), token) {
			t.Fatal("denial echoes the token")
		}
	})
}

func writeFileErr(path string, data []byte) error {
	return os.WriteFile(path, data, 0o600)
}

// Benchmarks: cached (hit path), cold (cache disabled, full verification),
// and the bare signature math for comparison.

type benchCase struct {
	name   string
	method jwt.SigningMethod
	key    any
	kid    string
}

func benchCases() []benchCase {
	k := sharedKeys()
	return []benchCase{
		{"RS256", jwt.SigningMethodRS256, k.rsa, "rsa"},
		{"ES256", jwt.SigningMethodES256, k.ec256, "ec256"},
		{"EdDSA", jwt.SigningMethodEdDSA, k.ed, "ed"},
	}
}

func benchAuthorizer(b *testing.B, cacheSize int) *Authorizer {
	k := sharedKeys()
	body, err := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{
		publicJWK(b, k.rsa.Public(), "rsa", "", ""),
		publicJWK(b, k.ec256.Public(), "ec256", "", ""),
		publicJWK(b, k.ed.Public(), "ed", "", ""),
	}})
	if err != nil {
		b.Fatal(err)
	}
	path := b.TempDir() + "/jwks.json"
	if err := writeFileErr(path, body); err != nil {
		b.Fatal(err)
	}
	s := fileSettings(path)
	s.CacheSize = cacheSize
	a, err := New(s, Options{Metrics: NewMetrics(newRegistry())})
	if err != nil {
		b.Fatal(err)
	}
	return a
}

func benchClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss": "issuer-x", "aud": "api", "sub": "user-1",
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(),
		"scope": "read write", "email": "u@example.com",
	}
}

func BenchmarkVerifyCached(b *testing.B) {
	a := benchAuthorizer(b, DefaultCacheSize)
	for _, bc := range benchCases() {
		b.Run(bc.name, func(b *testing.B) {
			tok := mint(b, bc.method, bc.key, bc.kid, benchClaims(), nil)
			ctx := context.Background()
			if _, err := a.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerifyCold(b *testing.B) {
	a := benchAuthorizer(b, -1)
	for _, bc := range benchCases() {
		b.Run(bc.name, func(b *testing.B) {
			tok := mint(b, bc.method, bc.key, bc.kid, benchClaims(), nil)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// signingInput and signature of a real token, so the baselines hash and
// verify exactly what Verify does.
func splitSigned(b *testing.B, tok string) (string, []byte) {
	i := strings.LastIndexByte(tok, '.')
	sig, err := jwt.NewParser().DecodeSegment(tok[i+1:])
	if err != nil {
		b.Fatal(err)
	}
	return tok[:i], sig
}

func BenchmarkCryptoRSAPKCS1v15(b *testing.B) {
	k := sharedKeys()
	input, sig := splitSigned(b, mint(b, jwt.SigningMethodRS256, k.rsa, "rsa", benchClaims(), nil))
	b.ReportAllocs()
	for b.Loop() {
		h := sha256.Sum256([]byte(input))
		if err := rsa.VerifyPKCS1v15(&k.rsa.PublicKey, crypto.SHA256, h[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCryptoECDSAP256(b *testing.B) {
	k := sharedKeys()
	input := []byte(strings.Repeat("x", 300))
	h := sha256.Sum256(input)
	asn1Sig, err := ecdsa.SignASN1(rand.Reader, k.ec256, h[:])
	if err != nil {
		b.Fatal(err)
	}
	b.Run("VerifyASN1", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h := sha256.Sum256(input)
			if !ecdsa.VerifyASN1(&k.ec256.PublicKey, h[:], asn1Sig) {
				b.Fatal("bad")
			}
		}
	})
	tokInput, rawSig := splitSigned(b, mint(b, jwt.SigningMethodES256, k.ec256, "ec256", benchClaims(), nil))
	b.Run("Verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h := sha256.Sum256([]byte(tokInput))
			r, s := new(big.Int).SetBytes(rawSig[:32]), new(big.Int).SetBytes(rawSig[32:])
			if !ecdsa.Verify(&k.ec256.PublicKey, h[:], r, s) {
				b.Fatal("bad")
			}
		}
	})
}

func BenchmarkCryptoEd25519(b *testing.B) {
	k := sharedKeys()
	input, sig := splitSigned(b, mint(b, jwt.SigningMethodEdDSA, k.ed, "ed", benchClaims(), nil))
	pub := k.ed.Public().(ed25519.PublicKey)
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(pub, []byte(input), sig) {
			b.Fatal("bad")
		}
	}
}

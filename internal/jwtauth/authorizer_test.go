package jwtauth

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

func TestVerifyAlgorithms(t *testing.T) {
	ti := newTestIssuer(t)
	k := ti.keys
	a := newTestAuthorizer(t, ti.settings(), Options{})
	tests := []struct {
		method jwt.SigningMethod
		key    any
		kid    string
	}{
		{jwt.SigningMethodRS256, k.rsa, "rsa"},
		{jwt.SigningMethodRS384, k.rsa, "rsa"},
		{jwt.SigningMethodRS512, k.rsa, "rsa"},
		{jwt.SigningMethodPS256, k.rsa, "rsa"},
		{jwt.SigningMethodPS384, k.rsa, "rsa"},
		{jwt.SigningMethodPS512, k.rsa, "rsa"},
		{jwt.SigningMethodES256, k.ec256, "ec256"},
		{jwt.SigningMethodES384, k.ec384, "ec384"},
		{jwt.SigningMethodES512, k.ec521, "ec521"},
		{jwt.SigningMethodEdDSA, k.ed, "ed"},
	}
	for _, tt := range tests {
		t.Run(tt.method.Alg(), func(t *testing.T) {
			id := wantOK(t, a, mint(t, tt.method, tt.key, tt.kid, ti.claims(), nil))
			if id.Subject != "user-1" || id.KeyID != tt.kid || !id.Expires.Equal(t0.Add(time.Hour)) {
				t.Fatalf("identity = %+v", id)
			}
			// The same kid with another key's signature must fail.
			other := mint(t, tt.method, tt.key, tt.kid, ti.claims(), nil)
			parts := strings.Split(other, ".")
			forged := mint(t, tt.method, tt.key, tt.kid, jwt.MapClaims{"iss": ti.Issuer(), "aud": "api", "sub": "admin", "exp": t0.Add(time.Hour).Unix()}, nil)
			fparts := strings.Split(forged, ".")
			wantDenied(t, a, fparts[0]+"."+fparts[1]+"."+parts[2], ReasonBadSignature)
		})
	}
	if got := ti.jwksHits.Load(); got != 1 {
		t.Fatalf("JWKS fetched %d times, want 1", got)
	}
}

func TestAllowList(t *testing.T) {
	ti := newTestIssuer(t)
	s := ti.settings()
	s.Algorithms = []string{"ES256"}
	a := newTestAuthorizer(t, s, Options{})
	wantOK(t, a, mint(t, jwt.SigningMethodES256, ti.keys.ec256, "ec256", ti.claims(), nil))
	wantDenied(t, a, mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", ti.claims(), nil), ReasonAlgNotAllowed)
	wantDenied(t, a, mint(t, jwt.SigningMethodEdDSA, ti.keys.ed, "ed", ti.claims(), nil), ReasonAlgNotAllowed)
}

func TestHMAC(t *testing.T) {
	ti := newTestIssuer(t)
	secret := bytes.Repeat([]byte("s"), 32)
	tok := mint(t, jwt.SigningMethodHS256, secret, "", ti.claims(), nil)

	t.Run("with secret", func(t *testing.T) {
		s := ti.settings()
		s.HMACSecret = secret
		a := newTestAuthorizer(t, s, Options{})
		wantOK(t, a, tok)
		wantOK(t, a, mint(t, jwt.SigningMethodHS512, secret, "some-kid", ti.claims(), nil))
		wantDenied(t, a, mint(t, jwt.SigningMethodHS256, bytes.Repeat([]byte("x"), 32), "", ti.claims(), nil), ReasonBadSignature)
	})
	t.Run("HMAC only needs no keys", func(t *testing.T) {
		s := ti.settings()
		s.HMACSecret = secret
		s.Algorithms = []string{"HS256"}
		a := newTestAuthorizer(t, s, Options{})
		if !a.Ready() {
			t.Fatal("HMAC-only authorizer not ready")
		}
		wantOK(t, a, tok)
		if ti.jwksHits.Load()+ti.discoveryHits.Load() != 0 {
			t.Fatal("HMAC-only authorizer fetched keys")
		}
	})
	t.Run("without secret", func(t *testing.T) {
		a := newTestAuthorizer(t, ti.settings(), Options{})
		wantDenied(t, a, tok, ReasonAlgNotAllowed)
	})
}

func TestAlgNone(t *testing.T) {
	ti := newTestIssuer(t)
	s := ti.settings()
	s.HMACSecret = bytes.Repeat([]byte("s"), 32)
	a := newTestAuthorizer(t, s, Options{})
	payload, _ := json.Marshal(ti.claims())
	// Every casing of "none" (16), and near misses.
	var algs []string
	for mask := 0; mask < 16; mask++ {
		b := []byte("none")
		for i := range b {
			if mask&(1<<i) != 0 {
				b[i] -= 'a' - 'A'
			}
		}
		algs = append(algs, string(b))
	}
	algs = append(algs, "none ", " none", `none\u0000`, `\u006eone`, "", "null")
	// A real HS256 MAC under the configured secret must not help either.
	mac, err := jwt.SigningMethodHS256.Sign("x.y", s.HMACSecret)
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range algs {
		for _, sig := range [][]byte{nil, []byte("sig"), mac} {
			t.Run(fmt.Sprintf("%s/%d", alg, len(sig)), func(t *testing.T) {
				tok := rawToken(`{"alg":"`+alg+`","typ":"JWT"}`, string(payload), sig)
				wantDenied(t, a, tok, ReasonAlgNotAllowed)
				tok = rawToken(`{"alg":"`+alg+`","kid":"rsa"}`, string(payload), sig)
				wantDenied(t, a, tok, ReasonAlgNotAllowed)
			})
		}
	}
	// Case-insensitive duplicates must not smuggle an alg past the check:
	// they are repeats, refused before alg is read.
	wantDenied(t, a, rawToken(`{"ALG":"RS256","alg":"none"}`, string(payload), nil), ReasonMalformed)
	wantDenied(t, a, rawToken(`{"ALG":"RS256"}`, string(payload), nil), ReasonMalformed)
	wantDenied(t, a, rawToken(`{"kid":"rsa"}`, string(payload), nil), ReasonMalformed)
	// alg present but not a string: malformed, not "not allowed".
	for _, alg := range []string{`null`, `["none"]`, `{"none":1}`, `0`, `false`} {
		wantDenied(t, a, rawToken(`{"alg":`+alg+`}`, string(payload), nil), ReasonMalformed)
	}
}

func TestKeyConfusion(t *testing.T) {
	ti := newTestIssuer(t)
	pkix, err := x509.MarshalPKIXPublicKey(ti.keys.rsa.Public())
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})
	jwkJSON, err := json.Marshal(publicJWK(t, ti.keys.rsa.Public(), "rsa", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	withSecret := ti.settings()
	withSecret.HMACSecret = bytes.Repeat([]byte("z"), 32)
	for _, tc := range []struct {
		name   string
		s      Settings
		reason string
	}{
		{"no HMAC configured", ti.settings(), ReasonAlgNotAllowed},
		{"HMAC configured", withSecret, ReasonBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newTestAuthorizer(t, tc.s, Options{})
			for _, secret := range [][]byte{pemKey, jwkJSON, ti.keys.rsa.PublicKey.N.Bytes()} {
				for _, kid := range []string{"rsa", ""} {
					wantDenied(t, a, mint(t, jwt.SigningMethodHS256, secret, kid, ti.claims(), nil), tc.reason)
				}
			}
		})
	}
}

func TestForbiddenHeaders(t *testing.T) {
	ti := newTestIssuer(t)
	a := newTestAuthorizer(t, ti.settings(), Options{})
	jwk := publicJWK(t, ti.keys.rsa.Public(), "", "", "")
	for name, value := range map[string]any{
		"jwk":  jwk,
		"jku":  ti.JWKSURI(),
		"x5u":  ti.Issuer() + "/cert.pem",
		"x5c":  []string{"MIIB"},
		"crit": []string{"exp"},
	} {
		t.Run(name, func(t *testing.T) {
			wantDenied(t, a, mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", ti.claims(), map[string]any{name: value}), ReasonForbiddenHeader)
		})
	}
	t.Run("null still counts", func(t *testing.T) {
		wantDenied(t, a, mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", ti.claims(), map[string]any{"jku": nil}), ReasonForbiddenHeader)
	})
	wantOK(t, a, mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", ti.claims(), map[string]any{"typ": "at+jwt", "cty": "x"}))
}

func TestMalformed(t *testing.T) {
	ti := newTestIssuer(t)
	a := newTestAuthorizer(t, ti.settings(), Options{})
	good := mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", ti.claims(), nil)
	p := strings.Split(good, ".")
	tests := []struct {
		name, token, reason string
	}{
		{"empty", "", ReasonMalformed},
		{"one part", p[0], ReasonMalformed},
		{"two parts", p[0] + "." + p[1], ReasonMalformed},
		{"four parts", good + ".x", ReasonMalformed},
		{"JWE five parts", p[0] + ".a.b.c." + p[2], ReasonMalformed},
		{"empty header", "." + p[1] + "." + p[2], ReasonMalformed},
		{"empty payload", p[0] + ".." + p[2], ReasonMalformed},
		{"padding", p[0] + "=." + p[1] + "." + p[2], ReasonMalformed},
		{"newline", p[0] + "\n." + p[1] + "." + p[2], ReasonMalformed},
		{"std base64 chars", p[0] + "." + p[1] + "+/." + p[2], ReasonMalformed},
		{"header not JSON", "bm90anNvbg." + p[1] + "." + p[2], ReasonMalformed},
		{"header array", rawToken(`["alg"]`, "{}", nil), ReasonMalformed},
		{"kid not string", rawToken(`{"alg":"RS256","kid":7}`, "{}", []byte("x")), ReasonMalformed},
		{"payload not JSON", p[0] + ".bm90anNvbg." + p[2], ReasonMalformed},
		{"signature not base64", p[0] + "." + p[1] + ".A", ReasonMalformed},
		{"max size junk", strings.Repeat("a", maxTokenBytes), ReasonMalformed},
		{"too large", strings.Repeat("a", maxTokenBytes+1), ReasonTokenTooLarge},
		{"too large valid shape", p[0] + "." + p[1] + "." + p[2] + strings.Repeat("A", maxTokenBytes), ReasonTokenTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := wantDenied(t, a, tt.token, tt.reason)
			if len(tt.token) > 8 && (strings.Contains(d.Error(), tt.token) || strings.Contains(d.Description, tt.token)) {
				t.Fatal("denial echoes the token")
			}
		})
	}
}

func TestTokenTooLargeBeforeParsing(t *testing.T) {
	ti := newTestIssuer(t)
	a := newTestAuthorizer(t, ti.settings(), Options{})
	// A token of exactly 16385 bytes with a genuine signature is still refused.
	c := ti.claims()
	c["pad"] = ""
	base := len(mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", c, nil))
	est := (maxTokenBytes + 1 - base) * 3 / 4
	var tok string
	// Not every length is reachable through the payload alone (base64 never
	// ends with one char of a quantum), so vary the header too.
search:
	for hp := 0; hp < 4; hp++ {
		for n := est - 12; n <= est+6; n++ {
			c["pad"] = strings.Repeat("x", n)
			tok = mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", c, map[string]any{"x": strings.Repeat("y", hp)})
			if len(tok) == maxTokenBytes+1 {
				break search
			}
		}
	}
	if len(tok) != maxTokenBytes+1 {
		t.Fatalf("could not build a token of exactly %d bytes (%d)", maxTokenBytes+1, len(tok))
	}
	wantDenied(t, a, tok, ReasonTokenTooLarge)
	if n := ti.jwksHits.Load() + ti.discoveryHits.Load(); n != 0 {
		t.Fatalf("oversized token caused %d fetches", n)
	}
}

func TestKeySelection(t *testing.T) {
	ti := newTestIssuer(t)
	k := ti.keys
	ti.set(func(ti *testIssuer) {
		ti.jwks = []jwkset.JWKMarshal{
			publicJWK(t, k.rsa.Public(), "rs384-only", "RS384", ""),
			publicJWK(t, k.rsa.Public(), "enc", "", "enc"),
			publicJWK(t, k.rsa.Public(), "sig", "", "sig"),
			publicJWK(t, k.ec384.Public(), "ec", "", ""), // P-384 under kid "ec"
			publicJWK(t, k.ec256.Public(), "p256", "", ""),
			publicJWK(t, k.rsa2.Public(), "", "", ""), // no kid
		}
	})
	s := ti.settings()
	s.MissRefetchInterval = time.Hour
	a := newTestAuthorizer(t, s, Options{})
	c := ti.claims()
	tests := []struct {
		name   string
		token  string
		reason string // "" means accepted
	}{
		{"JWK alg matches", mint(t, jwt.SigningMethodRS384, k.rsa, "rs384-only", c, nil), ""},
		{"JWK alg mismatch", mint(t, jwt.SigningMethodRS256, k.rsa, "rs384-only", c, nil), ReasonUnknownKid},
		{"JWK alg mismatch PS384", mint(t, jwt.SigningMethodPS384, k.rsa, "rs384-only", c, nil), ReasonUnknownKid},
		{"use enc not used", mint(t, jwt.SigningMethodRS256, k.rsa, "enc", c, nil), ReasonUnknownKid},
		{"use sig used", mint(t, jwt.SigningMethodRS256, k.rsa, "sig", c, nil), ""},
		{"curve mismatch ES256 on P-384", mint(t, jwt.SigningMethodES256, k.ec256, "ec", c, nil), ReasonUnknownKid},
		{"curve mismatch ES512 on P-384", mint(t, jwt.SigningMethodES512, k.ec521, "ec", c, nil), ReasonUnknownKid},
		{"curve mismatch ES384 on P-256", mint(t, jwt.SigningMethodES384, k.ec384, "p256", c, nil), ReasonUnknownKid},
		{"curve match P-256", mint(t, jwt.SigningMethodES256, k.ec256, "p256", c, nil), ""},
		{"curve match", mint(t, jwt.SigningMethodES384, k.ec384, "ec", c, nil), ""},
		{"key type mismatch", mint(t, jwt.SigningMethodEdDSA, k.ed, "sig", c, nil), ReasonUnknownKid},
		{"no kid uses kid-less key", mint(t, jwt.SigningMethodRS256, k.rsa2, "", c, nil), ""},
		{"no kid never uses kid'd key", mint(t, jwt.SigningMethodRS256, k.rsa, "", c, nil), ReasonBadSignature},
		{"kid'd token never uses kid-less key", mint(t, jwt.SigningMethodRS256, k.rsa2, "sig", c, nil), ReasonBadSignature},
		{"unknown kid", mint(t, jwt.SigningMethodRS256, k.rsa, "nope", c, nil), ReasonUnknownKid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.reason == "" {
				wantOK(t, a, tt.token)
			} else {
				wantDenied(t, a, tt.token, tt.reason)
			}
		})
	}
}

func TestJWKSSkipsBadKeys(t *testing.T) {
	ti := newTestIssuer(t)
	good := publicJWK(t, ti.keys.ec256.Public(), "good", "", "")
	body := `{"keys":[
		{"kty":"oct","kid":"hs","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"},
		{"kty":"RSA","kid":"broken","n":"!!","e":"AQAB"},
		{"kty":"EC","kid":"priv","crv":"P-256","x":"` + good.X + `","y":"` + good.Y + `","d":"AAAA"},
		{"kty":"OKP","kid":"x25519","crv":"X25519","x":"` + good.X + `"},
		{"kty":"RSA","kid":"small","n":"` + strings.Repeat("A", 170) + `Q","e":"AQAB"},
		{"kty":"EC","kid":"ops","crv":"P-256","x":"` + good.X + `","y":"` + good.Y + `","key_ops":["encrypt"]},
		"not an object",
		{"kty":"EC","kid":"good","crv":"P-256","x":"` + good.X + `","y":"` + good.Y + `"}
	]}`
	ti.set(func(ti *testIssuer) { ti.body = []byte(body) })
	reg := newRegistry()
	s := ti.settings()
	s.JWKSURI = ti.JWKSURI()
	a := newTestAuthorizer(t, s, Options{Metrics: NewMetrics(reg)})
	wantOK(t, a, mint(t, jwt.SigningMethodES256, ti.keys.ec256, "good", ti.claims(), nil))
	for _, kid := range []string{"priv", "ops", "x25519"} {
		wantDenied(t, a, mint(t, jwt.SigningMethodES256, ti.keys.ec256, kid, ti.claims(), nil), ReasonUnknownKid)
	}
	if got := metricValue(t, reg, "portcullis_jwt_keys", map[string]string{"authorizer": "test"}); got != 1 {
		t.Fatalf("keys gauge = %v, want 1", got)
	}

	// A set without any usable key is a failed fetch.
	ti.set(func(ti *testIssuer) { ti.body = []byte(`{"keys":[{"kty":"oct","k":"AAAA"}]}`) })
	b := newTestAuthorizer(t, s, Options{})
	wantDenied(t, b, mint(t, jwt.SigningMethodES256, ti.keys.ec256, "good", ti.claims(), nil), ReasonKeysUnavailable)
	if b.Ready() {
		t.Fatal("ready without usable keys")
	}
}

// An issuer that is down when the gateway starts, and no traffic: while

// the authorizer has no keys it retries on a short jittered interval, so it

// is ready soon after the issuer comes up, not after a backoff grown during

// the outage (1 s doubling: the eighth attempt came 127 s after the first).

// The retry schedule after a failed fetch, read from the schedule itself

// (no timing of the loop): without keys, soon; holding keys, backing off,

// since the last good keys serve meanwhile.

func TestValidate(t *testing.T) {
	ok := Settings{Issuer: "https://issuer.example", Audience: []string{"api"}}
	tests := []struct {
		name string
		mod  func(s *Settings)
		want string // substring of the error; "" means valid
	}{
		{"ok", func(s *Settings) {}, ""},
		{"no issuer", func(s *Settings) { s.Issuer = "" }, "issuer is required"},
		{"no audience", func(s *Settings) { s.Audience = nil }, "audience"},
		{"51 audiences", func(s *Settings) { s.Audience = make([]string, 51); s.Audience[0] = "x" }, "at most 50"},
		{"empty audience", func(s *Settings) { s.Audience = []string{""} }, "audience 1 is empty"},
		{"uri and file", func(s *Settings) { s.JWKSURI = "https://x/jwks"; s.JWKSFile = "/f" }, "mutually exclusive"},
		{"relative uri", func(s *Settings) { s.JWKSURI = "/jwks" }, "jwks_uri"},
		{"issuer not URL for discovery", func(s *Settings) { s.Issuer = "my-issuer" }, "discovery"},
		{"issuer not URL with file", func(s *Settings) { s.Issuer = "my-issuer"; s.JWKSFile = "/f" }, ""},
		{"unknown alg", func(s *Settings) { s.Algorithms = []string{"RS256", "none"} }, `"none" is not supported`},
		{"HS without secret", func(s *Settings) { s.Algorithms = []string{"HS256"} }, "requires an HMAC secret"},
		{"short secret", func(s *Settings) { s.HMACSecret = []byte("short") }, "at least 32 bytes"},
		{"HS only, non-URL issuer", func(s *Settings) {
			s.Issuer = "x"
			s.HMACSecret = bytes.Repeat([]byte("k"), 32)
			s.Algorithms = []string{"HS256"}
		}, ""},
		{"negative skew", func(s *Settings) { s.ClockSkew = -1 }, "clock skew"},
		{"min over max", func(s *Settings) { s.MinRefreshInterval = 2 * time.Hour; s.MaxRefreshInterval = time.Hour }, "exceeds the maximum"},
		{"refresh interval past max stale", func(s *Settings) { s.RefreshInterval = 72 * time.Hour }, "jwks_max_stale (48h0m0s) must be longer than the longest refresh interval (72h0m0s)"},
		{"refresh interval within max stale", func(s *Settings) { s.RefreshInterval = 12 * time.Hour }, ""},
		{"cache size", func(s *Settings) { s.CacheSize = -2 }, "cache size"},
		{"cache disabled", func(s *Settings) { s.CacheSize = -1 }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			s.Audience = append([]string(nil), ok.Audience...)
			tt.mod(&s)
			err := s.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
			if _, nerr := New(s, Options{}); nerr == nil {
				t.Fatal("New accepted invalid settings")
			}
		})
	}
	// Every problem is reported, not just the first.
	err := Settings{ClockSkew: -1}.Validate()
	for _, want := range []string{"issuer", "audience", "clock skew"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("joined error %v lacks %q", err, want)
		}
	}
}

func TestDenialNeverLeaksSecrets(t *testing.T) {
	ti := newTestIssuer(t)
	secret := []byte("0123456789abcdef0123456789abcdef")
	s := ti.settings()
	s.HMACSecret = secret
	a := newTestAuthorizer(t, s, Options{})
	c := ti.claims()
	c["iss"] = "https://attacker.example/" + strings.Repeat("Z", 40)
	tok := mint(t, jwt.SigningMethodHS256, []byte(strings.Repeat("q", 32)), "k", c, nil)
	_, err := a.Verify(context.Background(), tok)
	msg := fmt.Sprintf("%v %+v", err, err)
	for _, bad := range []string{tok, string(secret), "attacker", strings.Split(tok, ".")[2]} {
		if strings.Contains(msg, bad) {
			t.Fatalf("denial text contains %q: %s", bad, msg)
		}
	}
}

// TestMissAfterBackgroundRefresh: the background refresh does not use up

// the unknown-kid allowance (an issuer may rotate right after it), but

// misses themselves stay limited to one refetch per interval.

// TestKeysGoStale: while the issuer is down the last good keys keep

// serving, for at most MaxStale; then every token is denied (cached ones

// too) and the authorizer is not ready, until a fetch succeeds again.

// The log of a failed fetch tells the truth about what serves meanwhile:

// with no keys yet every token is denied; only holding keys are "the last

// good keys" kept. Without keys the retries are frequent, so the line is

// not repeated for each one; the recovery is logged once.

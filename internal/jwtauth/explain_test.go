package jwtauth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestExplain(t *testing.T) {
	ti := newTestIssuer(t)
	a := newTestAuthorizer(t, ti.settings(), Options{})
	expired := ti.claims()
	expired["exp"] = t0.Add(-time.Minute).Unix()
	good := mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", ti.claims(), nil)
	other := ti.claims()
	other["sub"] = "someone-else"
	otherSig := mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", other, nil)
	swapped := good[:strings.LastIndex(good, ".")] + otherSig[strings.LastIndex(otherSig, "."):]
	cases := []struct {
		name     string
		token    string
		ok       bool
		lastStep string // Check of the last step
		detail   string // substring of the last step's Detail
	}{
		{"valid", mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", ti.claims(), nil), true, "claims", "expires"},
		{"expired", mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", expired, nil), false, "claims", ReasonExpired},
		{"unknown kid", mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "nope", ti.claims(), nil), false, "key", `unknown_kid: The token was signed with an unknown key. No key held has kid "nope" (kids held: `},
		// keygen writes a JWKS with a kid, mint puts none unless asked.
		{"no kid, keys with kids", mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "", ti.claims(), nil), false, "key", "The token has no kid, and every key held has one (ec256, ec384, ec521, ed, rsa): mint it with --kid"},
		{"curve mismatch", mint(t, jwt.SigningMethodES256, ti.keys.ec256, "ec384", ti.claims(), nil), false, "key", `The key with kid "ec384" does not fit ES256.`},
		{"bad signature", swapped, false, "signature", ReasonBadSignature},
		{"garbage", "x.y", false, "token", ReasonMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, steps, err := a.Explain(context.Background(), c.token)
			if (err == nil) != c.ok || (id != nil) != c.ok {
				t.Fatalf("Explain = %v, %v", id, err)
			}
			if len(steps) == 0 {
				t.Fatal("no steps")
			}
			last := steps[len(steps)-1]
			if last.Check != c.lastStep || last.OK != c.ok || !strings.Contains(last.Detail, c.detail) {
				t.Errorf("last step = %+v, want %s ok=%v containing %q", last, c.lastStep, c.ok, c.detail)
			}
			for _, s := range steps[:len(steps)-1] {
				if !s.OK {
					t.Errorf("an earlier step failed: %+v", s)
				}
			}
			for _, s := range steps {
				if strings.Contains(s.Detail, strings.Split(c.token+"..", ".")[2]) && len(strings.Split(c.token, ".")) == 3 {
					t.Errorf("step echoes the signature: %+v", s)
				}
			}
		})
	}
	// Explain never fills or reads the cache.
	tok := mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", ti.claims(), nil)
	before := a.signatureChecks.Load()
	a.Explain(context.Background(), tok)
	a.Explain(context.Background(), tok)
	if n := a.signatureChecks.Load() - before; n != 2 {
		t.Errorf("%d signature checks for two Explains, want 2", n)
	}
}

package jwtauth

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestIssuerFaultsKeepLastGoodKeys: whatever the JWKS endpoint does wrong
// after a good fetch, tokens of the keys it served keep verifying (on the
// last good keys), and a token whose key is unknown is never accepted. The
// good fetch is made with a fetch timeout no loaded machine reaches, by an
// authorizer whose keys the one under test takes over (as on a reload).
func TestIssuerFaultsKeepLastGoodKeys(t *testing.T) {
	faults := []struct {
		name  string
		fault func(ti *testIssuer)
	}{
		{"500", func(ti *testIssuer) { ti.status = http.StatusInternalServerError }},
		{"invalid JSON", func(ti *testIssuer) { ti.body = []byte(`{"keys": [ {"kty": `) }},
		{"10 MB body", func(ti *testIssuer) { ti.body = bytes.Repeat([]byte(" "), 10<<20) }},
		{"empty key set", func(ti *testIssuer) { ti.body = []byte(`{"keys":[]}`) }},
		{"not a JWKS", func(ti *testIssuer) { ti.body = []byte(`["a","b"]`) }},
		{"slower than the fetch timeout", func(ti *testIssuer) { ti.jwksHeld = make(chan struct{}) }}, // never answers
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			ti := newTestIssuer(t)
			s := ti.settings()
			s.JWKSURI = ti.JWKSURI()
			s.FetchTimeout = 300 * time.Millisecond
			s.MissRefetchInterval = time.Millisecond // let every unknown kid refetch
			s.CacheSize = -1                         // verify every time, on the keys held
			good := s
			good.FetchTimeout = hangGuard
			ctx := context.Background()
			known := mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", ti.claims(), nil)
			first := newTestAuthorizer(t, good, Options{})
			if _, err := first.Verify(ctx, known); err != nil {
				t.Fatalf("before the fault: %v", err)
			}
			a := newTestAuthorizer(t, s, Options{Previous: first})
			hits := ti.jwksHits.Load()
			ti.set(f.fault)
			time.Sleep(5 * time.Millisecond)
			// An unknown kid makes the authorizer refetch from the faulty endpoint.
			wantDenied(t, a, mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "new-kid", ti.claims(), nil), ReasonUnknownKid)
			waitFor(t, "the faulty endpoint asked again", func() bool { return ti.jwksHits.Load() > hits })
			if _, err := a.Verify(ctx, known); err != nil {
				t.Errorf("known token after the fault: %v", err)
			}
			if !a.Ready() {
				t.Error("not ready while holding the last good keys")
			}
		})
	}
}

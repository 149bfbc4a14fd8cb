package jwtauth

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestCacheHitSkipsVerification(t *testing.T) {
	ti := newTestIssuer(t)
	reg := newRegistry()
	a := newTestAuthorizer(t, ti.settings(), Options{Metrics: NewMetrics(reg)})
	tok := mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", ti.claims(), nil)
	id1 := wantOK(t, a, tok)
	id2 := wantOK(t, a, tok)
	if id1 != id2 {
		t.Fatal("second Verify built a new identity")
	}
	if n := a.signatureChecks.Load(); n != 1 {
		t.Fatalf("signature checked %d times, want 1", n)
	}
	hits := metricValue(t, reg, "portcullis_jwt_token_cache_total", map[string]string{"result": "hit"})
	misses := metricValue(t, reg, "portcullis_jwt_token_cache_total", map[string]string{"result": "miss"})
	if hits != 1 || misses != 1 {
		t.Fatalf("cache hits=%v misses=%v, want 1 and 1", hits, misses)
	}

	// Denials are never cached.
	bad := mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", jwt.MapClaims{"iss": "x", "exp": t0.Add(time.Hour).Unix()}, nil)
	wantDenied(t, a, bad, ReasonBadIssuer)
	wantDenied(t, a, bad, ReasonBadIssuer)
	if n := a.signatureChecks.Load(); n != 3 {
		t.Fatalf("signature checked %d times, want 3", n)
	}

	// Disabled cache verifies every time.
	s := ti.settings()
	s.CacheSize = -1
	b := newTestAuthorizer(t, s, Options{})
	wantOK(t, b, tok)
	wantOK(t, b, tok)
	if n := b.signatureChecks.Load(); n != 2 {
		t.Fatalf("uncached: signature checked %d times, want 2", n)
	}
}

func TestCacheExpiresAtExp(t *testing.T) {
	ti := newTestIssuer(t)
	var now atomic.Int64
	now.Store(t0.UnixNano())
	s := ti.settings()
	s.ClockSkew = 10 * time.Second
	a := newTestAuthorizer(t, s, Options{Now: func() time.Time { return time.Unix(0, now.Load()) }})
	c := ti.claims()
	c["exp"] = t0.Add(time.Minute).Unix()
	tok := mint(t, jwt.SigningMethodES256, ti.keys.ec256, "ec256", c, nil)
	wantOK(t, a, tok)
	now.Store(t0.Add(59 * time.Second).UnixNano())
	wantOK(t, a, tok)
	if n := a.signatureChecks.Load(); n != 1 {
		t.Fatalf("signature checked %d times before exp, want 1", n)
	}
	// At exp the entry is gone; within the skew the token is re-verified
	// (and accepted, but not cached since exp has passed).
	now.Store(t0.Add(time.Minute).UnixNano())
	wantOK(t, a, tok)
	wantOK(t, a, tok)
	if n := a.signatureChecks.Load(); n != 3 {
		t.Fatalf("signature checked %d times at exp, want 3", n)
	}
	now.Store(t0.Add(time.Minute + 10*time.Second).UnixNano())
	wantDenied(t, a, tok, ReasonExpired)
}

func TestCacheDropsRotatedOutKey(t *testing.T) {
	ti := newTestIssuer(t)
	s := ti.settings()
	s.MissRefetchInterval = 10 * time.Millisecond
	a := newTestAuthorizer(t, s, Options{})
	tok := mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", ti.claims(), nil)
	wantOK(t, a, tok)
	wantOK(t, a, tok)
	ti.set(func(ti *testIssuer) { ti.jwks = ti.jwks[1:] }) // drop "rsa"
	time.Sleep(20 * time.Millisecond)
	// Any unknown kid triggers the refetch that removes "rsa".
	wantDenied(t, a, mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "trigger", ti.claims(), nil), ReasonUnknownKid)
	wantDenied(t, a, tok, ReasonUnknownKid)
	if ti.jwksHits.Load() < 2 {
		t.Fatal("no refetch happened")
	}
}

// The cache's own exp check must hold even if otter kept the entry longer.
func TestCacheLookupChecksExp(t *testing.T) {
	tc := newTokenCache(10, nil) // wall clock: otter keeps the entry ~1h
	exp := time.Now().Add(time.Hour)
	key := hashToken("t")
	tc.store(key, &cacheEntry{alg: algHS256, expNano: exp.UnixNano()}, time.Now())
	if _, ok := tc.lookup(key, time.Now(), nil); !ok {
		t.Fatal("fresh entry missed")
	}
	if _, ok := tc.lookup(key, exp, nil); ok {
		t.Fatal("entry returned at its exp")
	}
	tc.store(hashToken("old"), &cacheEntry{alg: algHS256, expNano: time.Now().UnixNano()}, time.Now())
	if _, ok := tc.lookup(hashToken("old"), time.Now().Add(-time.Hour), nil); ok {
		t.Fatal("entry already expired at store time was cached")
	}
}

// The hit path is the gateway's hot path: hold it to at most 2 allocations.
func TestCacheHitAllocations(t *testing.T) {
	ti := newTestIssuer(t)
	a := newTestAuthorizer(t, ti.settings(), Options{Metrics: NewMetrics(newRegistry()), Now: time.Now})
	c := ti.claims()
	c["exp"] = time.Now().Add(time.Hour).Unix()
	c["iat"] = time.Now().Unix()
	tok := mint(t, jwt.SigningMethodES256, ti.keys.ec256, "ec256", c, nil)
	wantOK(t, a, tok)
	ctx := t.Context()
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := a.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2 {
		t.Fatalf("cache hit allocates %v times, want <= 2", allocs)
	}
	if a.signatureChecks.Load() != 1 {
		t.Fatal("hits were not served from the cache")
	}
}

// A hit skips the form check (splitCompact): this holds only because a
// malformed token can never be in the cache. Variants of a cached token that
// base64 decoding would read as the same bytes must still be refused, and
// count as neither hit nor miss.
func TestCacheHitNeverPassesMalformedVariant(t *testing.T) {
	ti := newTestIssuer(t)
	reg := newRegistry()
	a := newTestAuthorizer(t, ti.settings(), Options{Metrics: NewMetrics(reg)})
	tok := mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", ti.claims(), nil)
	wantOK(t, a, tok)
	wantOK(t, a, tok) // cached now
	dot := strings.IndexByte(tok, '.')
	for name, variant := range map[string]string{
		"LF in header":     tok[:2] + "\n" + tok[2:],
		"CR in payload":    tok[:dot+2] + "\r" + tok[dot+2:],
		"padding":          tok + "=",
		"fourth part":      tok + ".",
		"space before dot": tok[:dot] + " " + tok[dot:],
	} {
		t.Run(name, func(t *testing.T) { wantDenied(t, a, variant, ReasonMalformed) })
	}
	hits := metricValue(t, reg, "portcullis_jwt_token_cache_total", map[string]string{"result": "hit"})
	misses := metricValue(t, reg, "portcullis_jwt_token_cache_total", map[string]string{"result": "miss"})
	if hits != 1 || misses != 1 {
		t.Fatalf("cache hits=%v misses=%v, want 1 and 1 (malformed tokens count as neither)", hits, misses)
	}
}

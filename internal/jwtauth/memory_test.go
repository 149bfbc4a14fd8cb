package jwtauth

import (
	"context"
	"runtime"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// TestCacheEntrySize reports the live heap each cached token costs, which
// bounds the gateway's memory: the cache holds at most CacheSize entries.
func TestCacheEntrySize(t *testing.T) {
	if testing.Short() {
		t.Skip("measures memory")
	}
	const n = 20000
	ti := newTestIssuer(t)
	a := newTestAuthorizer(t, ti.settings(), Options{})
	tokens := make([]string, n)
	for i := range tokens {
		c := ti.claims()
		c["jti"] = i
		c["scope"] = "orders:read orders:write"
		c["tenant"] = "acme"
		tokens[i] = mint(t, jwt.SigningMethodEdDSA, ti.keys.ed, "ed", c, nil)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, tok := range tokens {
		if _, err := a.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(tokens) // else their memory is freed and subtracted
	if n := a.cache.c.EstimatedSize(); n != len(tokens) {
		t.Fatalf("cache holds %d entries, want %d", n, len(tokens))
	}
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("live heap per cached token: %.0f bytes (%d tokens of %d bytes)", per, n, len(tokens[0]))
	if per > 700 {
		t.Errorf("a cached token costs %.0f bytes of live heap; the bound is 700 bytes (100k entries ≈ 67 MiB of live heap)", per)
	}
}

// TestColdPathAllocations holds a full verification (cache disabled) to a
// handful of allocations besides the cryptography's: the decoded payload
// (which the claims share), the signature, the kid, the cache entry with its
// Identity, the claims' text and offsets, and the scopes. It was 245 when the JSON was
// decoded twice with encoding/json.
func TestColdPathAllocations(t *testing.T) {
	ti := newTestIssuer(t)
	s := ti.settings()
	s.CacheSize = -1
	a := newTestAuthorizer(t, s, Options{})
	c := ti.claims()
	c["scope"] = "read write"
	c["email"] = "u@example.com"
	tok := mint(t, jwt.SigningMethodEdDSA, ti.keys.ed, "ed", c, nil) // Ed25519 verification itself allocates once
	wantOK(t, a, tok)
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := a.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 12 {
		t.Fatalf("a cold EdDSA verification allocates %v times, want <= 12", allocs)
	}
}

package jwtauth

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/config"
)

// TestIssuerSettingsReadsEveryField: each issuers entry keeps its own
// issuer, audiences, keys and claim rules, takes the authorizer's shared
// settings, and a relative jwks_file is resolved against the configuration
// file's folder, not the working directory.
func TestIssuerSettingsReadsEveryField(t *testing.T) {
	dir := t.TempDir()
	f := &config.File{Path: filepath.Join(dir, "gateway.yaml")}
	a := config.Authorizer{
		Type:            "jwt",
		Algorithms:      []string{"RS256"},
		ClockSkew:       config.Duration(7 * time.Second),
		RefreshInterval: config.Duration(time.Minute),
		JWKSMaxStale:    config.Duration(time.Hour),
		CacheSize:       42,
		Issuers: []config.JWTIssuer{
			{Issuer: "https://a.example", Audience: []string{"x"}, JWKSFile: "keys/a.json",
				AdditionalClaims: []config.ClaimRule{{Name: "tier", Values: []string{"gold"}, Required: true}}},
			{Issuer: "https://b.example", Audience: []string{"y"}, JWKSURI: "https://b.example/jwks"},
			{Issuer: "https://c.example", Audience: []string{"z"}, JWKSFile: "/abs/c.json"},
		},
	}
	got := IssuerSettings(f, a)
	if len(got) != 3 {
		t.Fatalf("got %d settings, want 3", len(got))
	}
	for i, s := range got {
		if s.Issuer != a.Issuers[i].Issuer || s.Audience[0] != a.Issuers[i].Audience[0] {
			t.Errorf("entry %d: issuer %q audience %v", i, s.Issuer, s.Audience)
		}
		if s.Algorithms[0] != "RS256" || s.ClockSkew != 7*time.Second || s.RefreshInterval != time.Minute ||
			s.MaxStale != time.Hour || s.CacheSize != 42 {
			t.Errorf("entry %d: shared settings not carried: %+v", i, s)
		}
	}
	if want := filepath.Join(dir, "keys/a.json"); got[0].JWKSFile != want {
		t.Errorf("relative jwks_file = %q, want %q", got[0].JWKSFile, want)
	}
	if got[2].JWKSFile != "/abs/c.json" || got[1].JWKSURI != "https://b.example/jwks" || got[1].JWKSFile != "" {
		t.Errorf("keys: %q %q %q", got[2].JWKSFile, got[1].JWKSURI, got[1].JWKSFile)
	}
	if r := got[0].ClaimRules; len(r) != 1 || r[0].Name != "tier" || len(r[0].Values) != 1 || r[0].Values[0] != "gold" || !r[0].Required {
		t.Errorf("claim rules = %+v", got[0].ClaimRules)
	}
	if len(got[1].ClaimRules) != 0 {
		t.Errorf("entry 1 took another entry's claim rules: %+v", got[1].ClaimRules)
	}
}

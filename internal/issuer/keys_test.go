package issuer

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// issue gets a password-grant token from the fixture.
func issue(t *testing.T, f *fixture) string {
	t.Helper()
	resp := f.post(t, url.Values{"grant_type": {"password"}, "client_id": {"cli"}, "username": {"bob"}, "password": {bobPW}})
	body := decodeBody(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
	return body["access_token"].(string)
}

func readStateFile(t *testing.T, dir string) keyState {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, stateFileName))
	if err != nil {
		t.Fatal(err)
	}
	var st keyState
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestRotation(t *testing.T) {
	f := newFixture(t, func(s *Settings) { s.TokenTTL = 10 * time.Minute })
	v := f.verifier(t)
	tok1 := issue(t, f)
	kid1 := tokenHeader(t, tok1)["kid"].(string)
	if _, err := v.Verify(t.Context(), tok1); err != nil {
		t.Fatal(err)
	}

	rotatedAt := f.clock.Now()
	kid2, err := f.iss.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if kid2 == kid1 {
		t.Fatal("rotation kept the kid")
	}
	tok2 := issue(t, f)
	if got := tokenHeader(t, tok2)["kid"]; got != kid2 {
		t.Fatalf("token after rotation has kid %v, want %s", got, kid2)
	}
	if kids := jwksKids(t, f); !slices.Equal(kids, []string{kid1, kid2}) {
		t.Fatalf("JWKS kids %v, want both %s and %s", kids, kid1, kid2)
	}
	// The same verifier, which fetched the JWKS before the rotation,
	// accepts both: the unknown kid makes it refetch.
	for _, tok := range []string{tok1, tok2} {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Errorf("after rotation: %v", err)
		}
	}
	st := readStateFile(t, f.settings.KeysDir)
	if st.Signing != kid2 || len(st.Keys) != 2 || !st.Keys[0].RetireAfter.Equal(rotatedAt.Add(10*time.Minute+retireGrace)) || !st.Keys[1].RetireAfter.IsZero() {
		t.Fatalf("state after rotation: %+v", st)
	}

	// One second before retirement key 1 is still needed; Run's poll keeps it.
	f.clock.Add(10*time.Minute + retireGrace - time.Second)
	f.iss.poll()
	if kids := jwksKids(t, f); len(kids) != 2 {
		t.Fatalf("key 1 left before its retirement: %v", kids)
	}
	if _, err := os.Stat(keyPath(f.settings.KeysDir, kid1)); err != nil {
		t.Fatal(err)
	}

	// At TokenTTL + 5 min it is gone from the JWKS even before any poll…
	f.clock.Add(time.Second)
	if kids := jwksKids(t, f); !slices.Equal(kids, []string{kid2}) {
		t.Fatalf("JWKS kids after retirement %v, want only %s", kids, kid2)
	}
	// …and the poll deletes its file and state entry.
	f.iss.poll()
	if _, err := os.Stat(keyPath(f.settings.KeysDir, kid1)); !os.IsNotExist(err) {
		t.Errorf("the retired key file still exists: %v", err)
	}
	if st := readStateFile(t, f.settings.KeysDir); len(st.Keys) != 1 || st.Keys[0].KID != kid2 {
		t.Errorf("state after pruning: %+v", st)
	}
	if f.iss.keys.current().signing.kid != kid2 {
		t.Error("pruning changed the signing key")
	}
	// Token 2 still verifies with a fresh verifier at the new time.
	if _, err := f.verifier(t).Verify(t.Context(), issue(t, f)); err != nil {
		t.Error(err)
	}
}

func TestOfflineRotateAndReload(t *testing.T) {
	f := newFixture(t, nil)
	kid1 := f.iss.keys.current().signing.kid

	kid2, err := Rotate(Settings{KeysDir: f.settings.KeysDir}, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := tokenHeader(t, issue(t, f))["kid"]; got != kid1 {
		t.Fatalf("the issuer switched keys before Reload: %v", got)
	}
	if err := f.iss.Reload(); err != nil {
		t.Fatal(err)
	}
	tok := issue(t, f)
	if got := tokenHeader(t, tok)["kid"]; got != kid2 {
		t.Fatalf("kid after Reload %v, want %s", got, kid2)
	}
	if kids := jwksKids(t, f); !slices.Equal(kids, []string{kid1, kid2}) {
		t.Errorf("JWKS kids %v", kids)
	}
	if _, err := f.verifier(t).Verify(t.Context(), tok); err != nil {
		t.Error(err)
	}

	// A broken state file makes Reload fail and keeps the keys in use.
	path := filepath.Join(f.settings.KeysDir, stateFileName)
	good, _ := os.ReadFile(path)
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.iss.Reload(); err == nil {
		t.Error("Reload accepted a broken state file")
	}
	if f.iss.keys.current().signing.kid != kid2 {
		t.Error("a failed Reload changed the signing key")
	}
	_ = os.WriteFile(path, good, 0o600)
}

// TestRunFollowsOfflineRotate runs the real poll loop: an offline rotation
// reaches the running issuer (its next poll picks it up; the wait is bounded
// at 15 poll intervals against hanging, not for speed), and Run returns once
// its context ends.
func TestRunFollowsOfflineRotate(t *testing.T) {
	f := newFixture(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { f.iss.Run(ctx); close(done) }()

	kid2, err := Rotate(f.settings, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * PollInterval) // a bound on waiting, not on speed
	for f.iss.keys.current().signing.kid != kid2 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not pick up the offline rotation")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := tokenHeader(t, issue(t, f))["kid"]; got != kid2 {
		t.Errorf("kid %v, want %s", got, kid2)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second): // a bound on waiting, not on speed
		t.Fatal("Run did not return after its context ended")
	}
}

func TestKeysPersist(t *testing.T) {
	f := newFixture(t, nil)
	dir := f.settings.KeysDir
	kid := f.iss.keys.current().signing.kid

	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("key directory mode %v", fi.Mode().Perm())
	}
	for _, name := range []string{kid + ".pem", stateFileName} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", name, fi.Mode().Perm())
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("the key directory holds %d entries, want the key and the state (no temp or lock files)", len(entries))
	}

	// A restart on the same directory signs with the same key.
	again, err := New(f.settings, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := again.keys.current().signing.kid; got != kid {
		t.Errorf("after restart kid %s, want %s", got, kid)
	}

	// The kid is the key's RFC 7638 thumbprint, which loading checks: a key
	// file replaced by another key is refused.
	other := t.TempDir()
	otherKid, err := Rotate(Settings{KeysDir: other}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(keyPath(other, otherKid))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath(dir, kid), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(f.settings, Options{}); err == nil {
		t.Error("New loaded a key file that does not match its kid")
	}
}

func TestAlgorithms(t *testing.T) {
	tests := []struct{ alg, kty string }{
		{"RS256", "RSA"},
		{"ES256", "EC"},
		{"EdDSA", "OKP"},
	}
	for _, tt := range tests {
		t.Run(tt.alg, func(t *testing.T) {
			f := newFixture(t, func(s *Settings) { s.Algorithm = tt.alg })
			tok := issue(t, f)
			if h := tokenHeader(t, tok); h["alg"] != tt.alg {
				t.Errorf("alg %v", h["alg"])
			}
			_, doc := getJSON(t, f, "/.well-known/jwks.json")
			k := doc["keys"].([]any)[0].(map[string]any)
			if k["kty"] != tt.kty || k["alg"] != tt.alg {
				t.Errorf("JWK %v", k)
			}
			_, disc := getJSON(t, f, "/.well-known/openid-configuration")
			if !equalJSON(disc["id_token_signing_alg_values_supported"], []any{tt.alg}) {
				t.Errorf("discovery algs %v", disc["id_token_signing_alg_values_supported"])
			}
			checkToken(t, f, tok, nil, "bob", "cli", "read", nil)
		})
	}

	// Changing Algorithm affects new keys only: existing ones keep theirs.
	t.Run("switch to EdDSA by rotation", func(t *testing.T) {
		f := newFixture(t, nil)
		if _, err := Rotate(Settings{KeysDir: f.settings.KeysDir, Algorithm: "EdDSA"}, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if err := f.iss.Reload(); err != nil {
			t.Fatal(err)
		}
		tok := issue(t, f)
		if h := tokenHeader(t, tok); h["alg"] != "EdDSA" {
			t.Errorf("alg %v", h["alg"])
		}
		checkToken(t, f, tok, nil, "bob", "cli", "read", nil)
		_, disc := getJSON(t, f, "/.well-known/openid-configuration")
		if !equalJSON(disc["id_token_signing_alg_values_supported"], []any{"RS256", "EdDSA"}) {
			t.Errorf("discovery algs %v", disc["id_token_signing_alg_values_supported"])
		}
	})
}

func TestRotateSettings(t *testing.T) {
	if _, err := Rotate(Settings{}, time.Now()); err == nil {
		t.Error("Rotate without a key directory")
	}
	if _, err := Rotate(Settings{KeysDir: t.TempDir(), Algorithm: "PS256"}, time.Now()); err == nil {
		t.Error("Rotate with an unsupported algorithm")
	}
	// The state file must not steer file names outside the directory.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, stateFileName), []byte(`{"signing":"../x","keys":[{"kid":"../x","alg":"RS256"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Rotate(Settings{KeysDir: dir}, time.Now()); err == nil {
		t.Error("Rotate accepted a kid with a path in it")
	}
}

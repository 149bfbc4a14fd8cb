// Package testissuer is a real OIDC issuer on loopback for tests: discovery,
// a JWKS endpoint whose keys can be rotated or taken down, and token minting.
// It is test support, not a product (see the development issuer for that).
package testissuer

import (
	"crypto"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/token"
)

// Audience is what Mint puts in aud unless the claims say otherwise.
const Audience = "test-api"

// Issuer serves /.well-known/openid-configuration and /keys.
type Issuer struct {
	URL string

	// JWKSFetches counts requests to the JWKS endpoint.
	JWKSFetches atomic.Int64
	// Requests counts every request, discovery included.
	Requests atomic.Int64
	// Down makes both endpoints answer 503.
	Down atomic.Bool

	srv  *httptest.Server
	mu   sync.Mutex
	keys map[string]crypto.Signer
	pub  []string // kids published, in order
}

// New starts an issuer with one RSA key, kid "k1". It stops with the test.
func New(t testing.TB) *Issuer {
	t.Helper()
	i := &Issuer{keys: map[string]crypto.Signer{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", i.discovery)
	mux.HandleFunc("GET /keys", i.jwks)
	i.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i.Requests.Add(1)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(i.srv.Close)
	i.URL = i.srv.URL
	i.AddKey(t, "k1", "rsa")
	return i
}

// AddKey generates a key of kind (rsa, ec, ed25519), publishes it under kid
// and returns it.
func (i *Issuer) AddKey(t testing.TB, kid, kind string) crypto.Signer {
	t.Helper()
	k, err := token.GenerateKey(kind)
	if err != nil {
		t.Fatal(err)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.keys[kid] = k
	i.pub = append(i.pub, kid)
	return k
}

// Unpublish removes kid from the JWKS; tokens can still be minted with it.
func (i *Issuer) Unpublish(kid string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	for n, k := range i.pub {
		if k == kid {
			i.pub = append(i.pub[:n], i.pub[n+1:]...)
			return
		}
	}
}

// Mint signs a token with the key kid. Claims default to iss = URL,
// aud = Audience, sub = "alice" and exp in an hour; a nil value in claims
// removes that claim.
func (i *Issuer) Mint(t testing.TB, kid string, claims map[string]any) string {
	t.Helper()
	i.mu.Lock()
	key := i.keys[kid]
	i.mu.Unlock()
	if key == nil {
		t.Fatalf("testissuer: no key %q", kid)
	}
	extra := map[string]any{"iss": i.URL, "aud": Audience, "sub": "alice"}
	for k, v := range claims {
		extra[k] = v
	}
	var drop []string
	for k, v := range extra {
		if v == nil {
			drop = append(drop, k)
		}
	}
	for _, k := range drop {
		delete(extra, k)
	}
	tok, err := token.Mint(key, "", kid, token.Claims{TTL: time.Hour, Extra: extra})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (i *Issuer) discovery(w http.ResponseWriter, r *http.Request) {
	if i.Down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"issuer": i.URL, "jwks_uri": i.URL + "/keys"})
}

func (i *Issuer) jwks(w http.ResponseWriter, r *http.Request) {
	i.JWKSFetches.Add(1)
	if i.Down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	i.mu.Lock()
	keys := make([]any, 0, len(i.pub))
	for _, kid := range i.pub {
		jwk, err := token.PublicJWK(i.keys[kid].Public(), kid)
		if err == nil {
			keys = append(keys, jwk)
		}
	}
	i.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=300")
	_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
}

package jwtauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// t0 is the fixed "now" of most tests; tokens are minted relative to it.
var t0 = time.Unix(1_700_000_000, 0)

// testKeys are generated once per test binary: RSA generation is slow.
type testKeys struct {
	rsa, rsa2           *rsa.PrivateKey
	ec256, ec384, ec521 *ecdsa.PrivateKey
	ed                  ed25519.PrivateKey
}

var sharedKeys = sync.OnceValue(func() *testKeys {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	k := &testKeys{}
	var err error
	k.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.rsa2, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.ec256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	k.ec384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	must(err)
	k.ec521, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	must(err)
	_, k.ed, err = ed25519.GenerateKey(rand.Reader)
	must(err)
	return k
})

// testIssuer is an OIDC issuer on loopback: discovery + JWKS with
// configurable failure modes and request counters, and a token minter.
type testIssuer struct {
	t    testing.TB
	srv  *httptest.Server
	keys *testKeys

	mu              sync.Mutex
	jwks            []jwkset.JWKMarshal
	cacheControl    string
	status          int
	delay           time.Duration // before each JWKS answer
	discoveryDelay  time.Duration // before each discovery answer
	body            []byte        // served verbatim as the JWKS when non-nil
	discoveryIssuer string        // "" means the real issuer URL
	downRequests    int64         // the first this many requests, to any path, get 503: an issuer still starting
	jwksHeld        chan struct{} // when non-nil, each JWKS request waits until it is closed
	jwksArrived     chan struct{} // when non-nil, told of each JWKS request (when it has room)

	jwksHits      atomic.Int64
	discoveryHits atomic.Int64
	refused       atomic.Int64 // requests answered 503 because of downRequests
}

func newTestIssuer(t testing.TB) *testIssuer {
	t.Helper()
	ti := &testIssuer{t: t, keys: sharedKeys(), status: http.StatusOK}
	k := ti.keys
	ti.jwks = []jwkset.JWKMarshal{
		publicJWK(t, k.rsa.Public(), "rsa", "", ""),
		publicJWK(t, k.ec256.Public(), "ec256", "", ""),
		publicJWK(t, k.ec384.Public(), "ec384", "", ""),
		publicJWK(t, k.ec521.Public(), "ec521", "", ""),
		publicJWK(t, k.ed.Public(), "ed", "", ""),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		ti.discoveryHits.Add(1)
		ti.mu.Lock()
		iss, delay := ti.discoveryIssuer, ti.discoveryDelay
		ti.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if iss == "" {
			iss = ti.srv.URL
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": iss, "jwks_uri": ti.srv.URL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		ti.jwksHits.Add(1)
		ti.mu.Lock()
		delay, status, cc, body := ti.delay, ti.status, ti.cacheControl, ti.body
		held, arrived := ti.jwksHeld, ti.jwksArrived
		if body == nil {
			var err error
			body, err = json.Marshal(jwkset.JWKSMarshal{Keys: ti.jwks})
			if err != nil {
				panic(err)
			}
		}
		ti.mu.Unlock()
		if arrived != nil {
			select {
			case arrived <- struct{}{}:
			default:
			}
		}
		if held != nil {
			select {
			case <-held:
			case <-r.Context().Done():
				return
			}
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})
	ti.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ti.mu.Lock()
		down := ti.downRequests > 0
		if down {
			ti.downRequests--
		}
		ti.mu.Unlock()
		if down {
			ti.refused.Add(1)
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(ti.srv.Close)
	return ti
}

func (ti *testIssuer) Issuer() string  { return ti.srv.URL }
func (ti *testIssuer) JWKSURI() string { return ti.srv.URL + "/jwks" }

func (ti *testIssuer) set(f func(ti *testIssuer)) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	f(ti)
}

// settings are the baseline used by most tests: discovery, audience "api".
// The fetch timeout is far away, so that a fetch a test expects to succeed
// does: at the default 1.5 s, discovery on a loaded machine (with
// TestUnknownKidStorm's 200 requests at once) ran out of it. A test of the
// fetch timeout sets its own.
func (ti *testIssuer) settings() Settings {
	return Settings{Name: "test", Issuer: ti.Issuer(), Audience: []string{"api"}, FetchTimeout: hangGuard}
}

// claims are valid at t0.
func (ti *testIssuer) claims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss": ti.Issuer(),
		"aud": "api",
		"sub": "user-1",
		"exp": t0.Add(time.Hour).Unix(),
		"iat": t0.Add(-time.Minute).Unix(),
	}
}

func publicJWK(t testing.TB, pub crypto.PublicKey, kid, alg, use string) jwkset.JWKMarshal {
	t.Helper()
	jwk, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
		KID: kid, ALG: jwkset.ALG(alg), USE: jwkset.USE(use),
	}})
	if err != nil {
		t.Fatalf("jwk: %v", err)
	}
	return jwk.Marshal()
}

// mint signs claims with method and key, adding kid and extra header fields.
func mint(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims, header map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

// rawToken assembles a token from JSON header and payload and a signature,
// for tokens golang-jwt refuses to sign.
func rawToken(header, payload string, sig []byte) string {
	e := base64.RawURLEncoding.EncodeToString
	return e([]byte(header)) + "." + e([]byte(payload)) + "." + e(sig)
}

// newTestAuthorizer builds an authorizer with Now fixed at t0 unless the
// options say otherwise.
func newTestAuthorizer(t testing.TB, s Settings, o Options) *Authorizer {
	t.Helper()
	if o.Now == nil {
		o.Now = func() time.Time { return t0 }
	}
	a, err := New(s, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func wantOK(t testing.TB, a *Authorizer, token string) *Identity {
	t.Helper()
	id, err := a.Verify(context.Background(), token)
	if err != nil {
		t.Fatalf("Verify: unexpected denial: %v", err)
	}
	if id == nil {
		t.Fatal("Verify returned (nil, nil)")
	}
	return id
}

func wantDenied(t testing.TB, a *Authorizer, token, reason string) *Denial {
	t.Helper()
	id, err := a.Verify(context.Background(), token)
	if err == nil {
		t.Fatalf("Verify accepted, want %s (subject %q)", reason, id.Subject)
	}
	if id != nil {
		t.Fatalf("Verify returned an identity with a denial")
	}
	var d *Denial
	if !errors.As(err, &d) {
		t.Fatalf("Verify error %T is not a *Denial: %v", err, err)
	}
	if d.Reason != reason {
		t.Fatalf("reason = %s (%v), want %s", d.Reason, d, reason)
	}
	if d.Description == "" {
		t.Fatal("empty description")
	}
	return d
}

// metricValue reads one series from a registry.
func metricValue(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue metrics
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// hangGuard bounds waiting for what must happen however loaded the machine
// is: a bound on hanging, never on speed.
const hangGuard = 30 * time.Second

// eventually polls cond until it holds, for up to hangGuard.
func eventually(cond func() bool) bool {
	deadline := time.Now().Add(hangGuard)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cond()
}

func newRegistry() *prometheus.Registry { return prometheus.NewRegistry() }

package issuer

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/jwtauth"
	"golang.org/x/crypto/bcrypt"
)

// clock is a settable Now shared by the issuer and the verifier.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Test credentials. Hashes use bcrypt.MinCost to keep the tests fast.
const (
	alicePW   = "alice-pw"
	bobPW     = "bob-pw"
	webSecret = "web-secret"
	svcID     = "svc:a b"       // needs form-urlencoding in Basic (RFC 6749 §2.3.1)
	svcSecret = "p@ss:w+rd %x&" // likewise
	pwSecret  = "pwonly-secret"
)

func hash(t testing.TB, plain string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(plain), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func baseSettings(t testing.TB, issuerURL string) Settings {
	return Settings{
		Issuer:   issuerURL,
		KeysDir:  filepath.Join(t.TempDir(), "keys"),
		Audience: []string{"api", "other-api"},
		Users: []User{
			{Username: "alice", PasswordHash: hash(t, alicePW), Subject: "user-alice", Scopes: []string{"read", "write", "admin"},
				Claims: map[string]any{"roles": []any{"dev", "ops"}, "tenant": "t1"}},
			{Username: "bob", PasswordHash: hash(t, bobPW), Scopes: []string{"read"}},
		},
		Clients: []Client{
			{ClientID: "cli", Public: true},
			{ClientID: "web", SecretHash: hash(t, webSecret), Scopes: []string{"read", "write"}, Claims: map[string]any{"app": "web", "tenant": "from-client"}},
			{ClientID: svcID, SecretHash: hash(t, svcSecret), GrantTypes: []string{GrantClientCredentials}, Scopes: []string{"svc.read", "svc.write"},
				Claims: map[string]any{"tier": "gold"}},
			{ClientID: "pwonly", SecretHash: hash(t, pwSecret), GrantTypes: []string{GrantPassword}},
		},
	}
}

type fixture struct {
	iss      *Issuer
	srv      *httptest.Server
	settings Settings
	clock    *clock
}

// newFixture serves an issuer over real HTTP on loopback. The listener is
// opened first because the issuer URL must be known before New.
func newFixture(t testing.TB, mutate func(*Settings)) *fixture {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	s := baseSettings(t, "http://"+srv.Listener.Addr().String())
	if mutate != nil {
		mutate(&s)
	}
	c := newClock()
	iss, err := New(s, Options{Now: c.Now})
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	srv.Config.Handler = iss
	srv.Start()
	t.Cleanup(srv.Close)
	return &fixture{iss: iss, srv: srv, settings: s, clock: c}
}

func (f *fixture) tokenURL() string { return f.srv.URL + "/oauth2/token" }

// verifier is the gateway's own authorizer, using OIDC discovery against the
// fixture. Its cache is off and its unknown-kid refetch immediate, so each
// Verify sees the issuer's current JWKS after a rotation.
func (f *fixture) verifier(t testing.TB, aud ...string) *jwtauth.Authorizer {
	t.Helper()
	if len(aud) == 0 {
		aud = []string{"api"}
	}
	a, err := jwtauth.New(jwtauth.Settings{
		Name: "test", Issuer: f.settings.Issuer, Audience: aud,
		MissRefetchInterval: time.Millisecond, CacheSize: -1,
	}, jwtauth.Options{HTTPClient: f.srv.Client(), Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// postForm is http.PostForm on the fixture's client, with optional Basic
// credentials (already form-urlencoded by the caller when needed).
func (f *fixture) post(t testing.TB, form url.Values, basic ...string) *http.Response {
	t.Helper()
	if len(basic) == 0 {
		resp, err := f.srv.Client().PostForm(f.tokenURL(), form)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	req, err := http.NewRequest(http.MethodPost, f.tokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(basic[0], basic[1])
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// decodeBody decodes a JSON response body and closes it.
func decodeBody(t testing.TB, resp *http.Response) map[string]any {
	t.Helper()
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("decoding the %d response: %v", resp.StatusCode, err)
	}
	return m
}

// tokenHeader decodes a compact JWS header without verifying anything; the
// verifier does not expose typ.
func tokenHeader(t testing.TB, tok string) map[string]any {
	t.Helper()
	seg, _, ok := strings.Cut(tok, ".")
	if !ok {
		t.Fatalf("not a compact JWS: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func getJSON(t testing.TB, f *fixture, path string) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := f.srv.Client().Get(f.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	return resp, decodeBody(t, resp)
}

// jwksKids lists the kids the JWKS endpoint publishes now.
func jwksKids(t testing.TB, f *fixture) []string {
	t.Helper()
	resp, doc := getJSON(t, f, "/.well-known/jwks.json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("jwks status %d", resp.StatusCode)
	}
	var kids []string
	for _, k := range doc["keys"].([]any) {
		kids = append(kids, k.(map[string]any)["kid"].(string))
	}
	return kids
}

package verify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/gateway"
	"github.com/portcullis/portcullis/internal/testissuer"
	"github.com/portcullis/portcullis/verify"
)

// TestMiddlewareAnswersLikeTheGateway sends the same requests to a gateway
// route and to a backend behind verify.Middleware, both configured for the
// same issuer, and expects the same answers.
func TestMiddlewareAnswersLikeTheGateway(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	iss := testissuer.New(t)

	backend := httptest.NewServer(mustVerifier(t, ctx, verify.Config{
		Issuer: iss.URL, Audience: []string{testissuer.Audience}, Scopes: []string{"orders:read"},
	}).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := verify.ClaimsFrom(r.Context())
		if !ok {
			t.Error("no claims in the context")
		}
		fmt.Fprintf(w, "hello %s %s", c.Subject, c.Values["tenant"])
	})))
	defer backend.Close()

	f, err := config.Parse("g.yaml", []byte(fmt.Sprintf(`listen: 127.0.0.1:0
authorizers:
  users: {type: jwt, issuer: %q, audience: [%s]}
routes:
  - route: GET /orders
    authorizer: users
    authorization_scopes: [orders:read]
    integration: {type: mock}
`, iss.URL, testissuer.Audience)), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.Build(f, gateway.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	g.Start(ctx)
	gw := httptest.NewServer(g)
	defer gw.Close()

	cases := []struct {
		name   string
		auth   string
		status int
	}{
		{"no token", "", 401},
		{"garbage", "Bearer abc.def.ghi", 401},
		{"expired", "Bearer " + iss.Mint(t, "k1", map[string]any{"scope": "orders:read", "exp": time.Now().Add(-time.Hour).Unix()}), 401},
		{"wrong audience", "Bearer " + iss.Mint(t, "k1", map[string]any{"scope": "orders:read", "aud": "other"}), 401},
		{"no scope", "Bearer " + iss.Mint(t, "k1", nil), 403},
		{"valid", "Bearer " + iss.Mint(t, "k1", map[string]any{"scope": "orders:read", "tenant": "acme"}), 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gs, gb, gh := call(t, gw.URL+"/orders", c.auth)
			bs, bb, bh := call(t, backend.URL+"/orders", c.auth)
			if gs != c.status || bs != c.status {
				t.Fatalf("status gateway %d, backend %d, want %d", gs, bs, c.status)
			}
			if c.status == 200 {
				if bb != "hello alice acme" {
					t.Errorf("backend body %q", bb)
				}
				return
			}
			if gb != bb || gh != bh {
				t.Errorf("answers differ:\n gateway %q %q\n backend %q %q", gb, gh, bb, bh)
			}
		})
	}
}

func call(t *testing.T, url, auth string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("WWW-Authenticate")
}

func mustVerifier(t *testing.T, ctx context.Context, c verify.Config) *verify.Verifier {
	t.Helper()
	v, err := verify.New(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestFromGatewayConfig(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	iss := testissuer.New(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "portcullis.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("listen: :0\nauthorizers:\n  users: {type: jwt, issuer: %q, audience: [%s]}\nroutes:\n  - route: GET /a\n    integration: {type: mock}\n", iss.URL, testissuer.Audience)), 0o644)

	v, err := verify.FromGatewayConfig(ctx, cfg, "users")
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(ctx, iss.Mint(t, "k1", map[string]any{"roles": []string{"a", "b"}}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "alice" || c.Values["roles"] != "[a b]" {
		t.Errorf("claims = %+v", c)
	}
	// Raw keeps types: exact big numbers and null claims.
	c, err = v.Verify(ctx, iss.Mint(t, "k1", map[string]any{"big": json.Number("12345678901234567890"), "gone": nil, "n": nil}))
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := c.Raw["big"].(json.Number); !ok || n != "12345678901234567890" {
		t.Errorf("Raw big = %#v", c.Raw["big"])
	}
	if _, err := v.Verify(ctx, iss.Mint(t, "k1", map[string]any{"iss": "https://elsewhere"})); err == nil {
		t.Error("a token from another issuer verified")
	}
	if _, err := verify.FromGatewayConfig(ctx, cfg, "nobody"); err == nil || !strings.Contains(err.Error(), "its jwt authorizers: users") {
		t.Errorf("an unknown authorizer name: %v, want an error naming the authorizers there are", err)
	}

	// A request without a token is ErrNoToken.
	r := httptest.NewRequest("GET", "/", nil)
	if _, err := v.VerifyRequest(r); err != verify.ErrNoToken {
		t.Errorf("VerifyRequest without a token = %v", err)
	}
}

// TestFromGatewayConfigIssuers: an authorizer with issuers: trusts each
// issuer with its own audiences and claim rules, as the gateway does, and
// no other issuer.
func TestFromGatewayConfigIssuers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gold, plain, other := testissuer.New(t), testissuer.New(t), testissuer.New(t)
	cfg := filepath.Join(t.TempDir(), "portcullis.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: :0
authorizers:
  multi:
    type: jwt
    issuers:
      - issuer: %q
        audience: [%s]
        additional_claims: [{name: tier, values: [gold], required: true}]
      - issuer: %q
        audience: [%s]
routes:
  - route: GET /a
    authorizer: multi
    integration: {type: mock}
`, gold.URL, testissuer.Audience, plain.URL, testissuer.Audience)), 0o644)

	v, err := verify.FromGatewayConfig(ctx, cfg, "multi")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		token string
		ok    bool
	}{
		{"first issuer, rule met", gold.Mint(t, "k1", map[string]any{"tier": "gold"}), true},
		{"first issuer, rule not met", gold.Mint(t, "k1", map[string]any{"tier": "silver"}), false},
		{"first issuer, claim missing", gold.Mint(t, "k1", nil), false},
		{"second issuer", plain.Mint(t, "k1", nil), true},
		{"second issuer, another audience", plain.Mint(t, "k1", map[string]any{"aud": "elsewhere"}), false},
		{"an issuer not listed", other.Mint(t, "k1", map[string]any{"tier": "gold"}), false},
	} {
		_, err := v.Verify(ctx, c.token)
		if got := err == nil; got != c.ok {
			t.Errorf("%s: verified = %v, want %v (%v)", c.name, got, c.ok, err)
		}
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTokenVerifyIssuers: `portcullis token verify` on a REST-shape jwt
// authorizer says which issuer the token's iss chose and which claim rule
// decided.
func TestTokenVerifyIssuers(t *testing.T) {
	bin := binary(t)
	pub, err := filepath.Abs("../../examples/keys/dev-public.pem")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "multi.yaml")
	os.WriteFile(cfg, []byte(`listen: 127.0.0.1:0
authorizers:
  multi:
    type: jwt
    issuers:
      - issuer: https://other.example
        audience: [other-api]
        jwks_file: `+pub+`
      - issuer: https://dev.portcullis.local
        audience: [local-api]
        jwks_file: `+pub+`
        additional_claims:
          - {name: tenant, values: [acme, globex], required: true}
routes:
  - route: GET /orders/{id}
    authorizer: multi
    integration: {type: mock, body: ok}
`), 0o644)
	mint := func(iss string, extra ...string) string {
		t.Helper()
		args := append([]string{"token", "mint", "--key", "../../examples/keys/dev-private.pem",
			"--iss", iss, "--aud", "local-api", "--sub", "alice"}, extra...)
		out, errOut, code := run(t, bin, args...)
		if code != 0 {
			t.Fatalf("mint: %s", errOut)
		}
		return strings.TrimSpace(out)
	}
	for _, c := range []struct {
		name, token string
		code        int
		want        []string
	}{
		{"allowed", mint("https://dev.portcullis.local", "--claim", "tenant=acme"), 0, []string{
			`issuer     ✓ iss "https://dev.portcullis.local" is issuers[1], checked with its keys, audiences and 1 claim rule` + "\n",
			"claim rules ✓ additional_claims[0] (tenant): an expected value", "ALLOW"}},
		{"rule", mint("https://dev.portcullis.local", "--claim", "tenant=initech"), 1, []string{
			"claim rules ✗ claim_rule: additional_claims[0] (tenant): the claim's value is not one of the 2 expected", "DENY: 401"}},
		{"missing claim", mint("https://dev.portcullis.local"), 1, []string{"additional_claims[0] (tenant): the claim is required and absent"}},
		{"other issuer's audience", mint("https://other.example"), 1, []string{`iss "https://other.example" is issuers[0]`, "bad_audience"}},
		{"unknown issuer", mint("https://nope.example", "--claim", "tenant=acme"), 1, []string{"issuer     ✗ unknown_issuer: the token's iss is none of this authorizer's issuers"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := run(t, bin, "token", "verify", "-c", cfg, "--route", "GET /orders/1", c.token)
			if code != c.code {
				t.Errorf("exit %d, want %d\n%s%s", code, c.code, out, errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

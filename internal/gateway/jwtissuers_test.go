package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/testissuer"
	"github.com/portcullis/portcullis/internal/testlog"
)

const issuersConfig = `listen: 127.0.0.1:0
access_log:
  format: '{"id":"$context.requestId","status":"$context.status","tenant":"$context.authorizer.claims.tenant_tier","principal":"$context.authorizer.principalId","err":"$context.authorizer.error"}'
authorizers:
  multi:
    type: jwt
    issuers:
      - issuer: %[1]s
        audience: [orders-api]
        additional_claims:
          - {name: tenant_tier, values: [gold, platinum], required: true}
      - issuer: %[2]s
        audience: [client-b]
routes:
  - route: GET /orders/{id}
    authorizer: multi
    integration:
      type: http_proxy
      uri: %[3]s/orders/{id}
      request_parameters:
        "overwrite:header.x-tier": $context.authorizer.claims.tenant_tier
        "overwrite:header.x-roles": $context.authorizer.claims.roles
`

// TestIssuersThroughTheGateway: a REST-shape jwt authorizer with two
// issuers on a route: each issuer's audiences and rules apply, an unknown
// issuer is a 401 without a request to either issuer, and claims reach the
// backend's mapped headers and the access log as JSON text.
func TestIssuersThroughTheGateway(t *testing.T) {
	a, b := testissuer.New(t), testissuer.New(t)
	be, seenCh := backend(t)
	f, err := config.Parse("test.yaml", []byte(fmt.Sprintf(issuersConfig, a.URL, b.URL, be.URL)), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	access := &testlog.Buffer{}
	g, err := Build(f, Deps{Metrics: NewMetrics(prometheus.NewRegistry()), Logger: slogJSON(&testlog.Buffer{}), AccessLog: access})
	if err != nil {
		t.Fatal(err)
	}
	// Not started: keys are fetched on the first token that needs them.
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	call := func(tok string) int {
		resp, _ := get(t, srv.URL+"/orders/1", http.Header{"Authorization": {"Bearer " + tok}})
		return resp.StatusCode
	}

	if got := call(a.Mint(t, "k1", map[string]any{"iss": "https://unknown.example", "aud": "orders-api", "tenant_tier": "gold"})); got != 401 {
		t.Fatalf("unknown issuer: %d", got)
	}
	if n := a.Requests.Load() + b.Requests.Load(); n != 0 {
		t.Fatalf("an unknown issuer caused %d requests to the issuers", n)
	}
	if got := call(a.Mint(t, "k1", map[string]any{"aud": "orders-api", "tenant_tier": "gold", "roles": []string{"user", "editor"}})); got != 200 {
		t.Fatalf("issuer a, gold: %d", got)
	}
	s := <-seenCh
	if s.Header.Get("X-Tier") != `"gold"` || s.Header.Get("X-Roles") != `["user","editor"]` {
		t.Errorf("mapped claims: x-tier %q x-roles %q; want JSON text as on REST APIs", s.Header.Get("X-Tier"), s.Header.Get("X-Roles"))
	}
	for _, tc := range []struct {
		name string
		tok  string
		want int
	}{
		{"a without the claim", a.Mint(t, "k1", map[string]any{"aud": "orders-api"}), 401},
		{"a with silver", a.Mint(t, "k1", map[string]any{"aud": "orders-api", "tenant_tier": "silver"}), 401},
		{"a with b's audience", a.Mint(t, "k1", map[string]any{"aud": "client-b", "tenant_tier": "gold"}), 401},
		{"b needs no claim", b.Mint(t, "k1", map[string]any{"aud": "client-b"}), 200},
		{"b with a's audience", b.Mint(t, "k1", map[string]any{"aud": "orders-api"}), 401},
	} {
		if got := call(tc.tok); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	var lines []map[string]string
	for _, l := range strings.Split(strings.TrimSpace(access.String()), "\n") {
		var m map[string]string
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		lines = append(lines, m)
	}
	if len(lines) != 7 {
		t.Fatalf("%d access log lines, want 7", len(lines))
	}
	if l := lines[0]; l["status"] != "401" || l["err"] != "unknown_issuer" {
		t.Errorf("unknown issuer line: %v", l)
	}
	if l := lines[1]; l["tenant"] != `"gold"` || l["principal"] != "alice" {
		t.Errorf("allowed line: %v; want the claim as JSON text", l)
	}
	if l := lines[2]; l["err"] != "claim_rule" {
		t.Errorf("claim rule line: %v", l)
	}
}

func TestIssuersCheck(t *testing.T) {
	for _, tc := range []struct {
		name, auth, want string
	}{
		{"issuer beside issuers", `{type: jwt, issuer: "https://a", issuers: [{issuer: "https://b", audience: [x]}]}`, "test.yaml:3:30: authorizers.multi.issuer: issuer goes inside each entry of issuers"},
		{"duplicate", `{type: jwt, issuers: [{issuer: "https://a", audience: [x]}, {issuer: "https://a", audience: [y]}]}`, `test.yaml:3:79: authorizers.multi.issuers[1].issuer: issuers[1]: issuer "https://a" is listed already`},
		{"no audience", `{type: jwt, issuers: [{issuer: "https://a"}]}`, "test.yaml:3:32: authorizers.multi.issuers[0].audience: at least one audience is required"},
		{"reserved claim", `{type: jwt, issuers: [{issuer: "https://a", audience: [x], additional_claims: [{name: scope}]}]}`, `test.yaml:3:96: authorizers.multi.issuers[0].additional_claims[0].name: additional_claims[0]: "scope" is checked by the authorizer itself`},
		{"hmac", `{type: jwt, hmac_secret: "0123456789abcdef0123456789abcdef", issuers: [{issuer: "https://a", audience: [x]}]}`, "hmac_secret does not apply to an authorizer with issuers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := buildError(t, "test.yaml", "listen: 127.0.0.1:0\nauthorizers:\n  multi: "+tc.auth+"\nroutes:\n  - route: GET /x\n    authorizer: multi\n    integration: {type: mock}\n")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build = %v\nwant %q", err, tc.want)
			}
		})
	}
}

// TestIssuersReloadKeepsKeys: a reload with the same issuers starts with
// the previous keys: no new fetch.
func TestIssuersReloadKeepsKeys(t *testing.T) {
	a, b := testissuer.New(t), testissuer.New(t)
	be, _ := backend(t)
	f, err := config.Parse("test.yaml", []byte(fmt.Sprintf(issuersConfig, a.URL, b.URL, be.URL)), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	g1, err := Build(f, Deps{AccessLog: &testlog.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tok := b.Mint(t, "k1", map[string]any{"aud": "client-b"})
	if _, _, err := g1.authorizers["multi"].(*jwtAuthorizer).verifier.Explain(ctx, tok); err != nil {
		t.Fatal(err)
	}
	fetched := b.JWKSFetches.Load()
	g2, err := Build(f, Deps{AccessLog: &testlog.Buffer{}, Previous: g1})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := g2.authorizers["multi"].(*jwtAuthorizer).verifier.Explain(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if n := b.JWKSFetches.Load(); n != fetched {
		t.Errorf("the reloaded authorizer fetched keys again (%d fetches, %d before)", n, fetched)
	}
}

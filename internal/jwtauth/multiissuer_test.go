package jwtauth

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testissuer"
)

// twoIssuers builds a REST-shape authorizer over two real issuers on
// loopback; b's entry has a claim rule.
func twoIssuers(t *testing.T, cacheSize int) (*Issuers, *testissuer.Issuer, *testissuer.Issuer) {
	t.Helper()
	a, b := testissuer.New(t), testissuer.New(t)
	m, err := NewIssuers("multi", []Settings{
		{Issuer: a.URL, Audience: []string{"orders-api"}, JSONClaims: true, CacheSize: cacheSize},
		{Issuer: b.URL, Audience: []string{"client-b"}, JSONClaims: true, CacheSize: cacheSize,
			ClaimRules: []ClaimRule{{Name: "tenant_tier", Values: []string{"gold", "platinum"}, Required: true}}},
	}, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m, a, b
}

func denialReason(err error) string {
	var d *Denial
	if errors.As(err, &d) {
		return d.Reason
	}
	return ""
}

// TestIssuersUnknownIssuerNoNetwork: a token whose iss is none of the
// authorizer's issuers is denied before any key is fetched: neither issuer
// sees a request. A known issuer's token does fetch (the counters count).
func TestIssuersUnknownIssuerNoNetwork(t *testing.T) {
	m, a, b := twoIssuers(t, 0)
	ctx := context.Background()
	for _, tc := range []struct{ name, tok string }{
		{"other issuer", a.Mint(t, "k1", map[string]any{"iss": "https://evil.example", "aud": "orders-api"})},
		{"trailing slash", a.Mint(t, "k1", map[string]any{"iss": a.URL + "/", "aud": "orders-api"})},
		{"no iss", a.Mint(t, "k1", map[string]any{"iss": nil, "aud": "orders-api"})},
		{"iss not a string", a.Mint(t, "k1", map[string]any{"iss": []string{a.URL}, "aud": "orders-api"})},
		{"iss only nested", a.Mint(t, "k1", map[string]any{"iss": nil, "x": map[string]any{"iss": a.URL}, "aud": "orders-api"})},
	} {
		_, err := m.Verify(ctx, tc.tok)
		if denialReason(err) != ReasonUnknownIssuer {
			t.Errorf("%s: %v, want %s", tc.name, err, ReasonUnknownIssuer)
		}
	}
	if n := a.Requests.Load() + b.Requests.Load(); n != 0 {
		t.Fatalf("unknown issuers caused %d requests to the issuers", n)
	}
	if _, err := m.Verify(ctx, a.Mint(t, "k1", map[string]any{"aud": "orders-api"})); err != nil {
		t.Fatalf("issuer a's token: %v", err)
	}
	if a.Requests.Load() == 0 || b.Requests.Load() != 0 {
		t.Fatalf("a known issuer's token: %d requests to a, %d to b; want some to a only", a.Requests.Load(), b.Requests.Load())
	}
}

func TestIssuersAudiencesAndRules(t *testing.T) {
	m, a, b := twoIssuers(t, -1)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		iss  *testissuer.Issuer
		c    map[string]any
		want string // "" allow, else the denial reason
	}{
		{"a with its audience", a, map[string]any{"aud": "orders-api"}, ""},
		{"a with b's audience", a, map[string]any{"aud": "client-b"}, ReasonBadAudience},
		{"b with a's audience", b, map[string]any{"aud": "orders-api", "tenant_tier": "gold"}, ReasonBadAudience},
		{"b with gold", b, map[string]any{"aud": "client-b", "tenant_tier": "gold"}, ""},
		{"b with platinum", b, map[string]any{"aud": []string{"x", "client-b"}, "tenant_tier": "platinum"}, ""},
		{"b without the required claim", b, map[string]any{"aud": "client-b"}, ReasonClaimRule},
		{"b with null claim", b, map[string]any{"aud": "client-b", "tenant_tier": nil}, ReasonClaimRule},
		{"b with another value", b, map[string]any{"aud": "client-b", "tenant_tier": "silver"}, ReasonClaimRule},
		{"b with a case variant", b, map[string]any{"aud": "client-b", "tenant_tier": "Gold"}, ReasonClaimRule},
		{"b with an array", b, map[string]any{"aud": "client-b", "tenant_tier": []string{"gold"}}, ReasonClaimRule},
		{"b with a number", b, map[string]any{"aud": "client-b", "tenant_tier": 1}, ReasonClaimRule},
		{"a ignores b's rule", a, map[string]any{"aud": "orders-api", "tenant_tier": "silver"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := m.Verify(ctx, tc.iss.Mint(t, "k1", tc.c))
			if got := denialReason(err); got != tc.want || (tc.want == "" && (err != nil || id == nil)) {
				t.Fatalf("Verify = %v, %v; want reason %q", id, err, tc.want)
			}
		})
	}
}

func TestClaimRuleSemantics(t *testing.T) {
	iss := testissuer.New(t)
	for _, tc := range []struct {
		name string
		rule ClaimRule
		c    map[string]any
		ok   bool
	}{
		{"presence, present", ClaimRule{Name: "tenant"}, map[string]any{"tenant": "acme"}, true},
		{"presence, absent, not required", ClaimRule{Name: "tenant"}, nil, true},
		{"presence, absent, required", ClaimRule{Name: "tenant", Required: true}, nil, false},
		{"values, absent, not required", ClaimRule{Name: "tenant", Values: []string{"acme"}}, nil, true},
		{"values, wrong, not required", ClaimRule{Name: "tenant", Values: []string{"acme"}}, map[string]any{"tenant": "other"}, false},
		{"values, empty string", ClaimRule{Name: "tenant", Values: []string{"acme"}}, map[string]any{"tenant": ""}, false},
		{"values, any of", ClaimRule{Name: "tenant", Values: []string{"a", "acme"}}, map[string]any{"tenant": "acme"}, true},
		{"not a string, no values", ClaimRule{Name: "tenant"}, map[string]any{"tenant": true}, false},
		{"escaped string", ClaimRule{Name: "tenant", Values: []string{"é"}}, map[string]any{"tenant": "é"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(Settings{Issuer: iss.URL, Audience: []string{testissuer.Audience}, ClaimRules: []ClaimRule{tc.rule}, CacheSize: -1}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = a.Verify(context.Background(), iss.Mint(t, "k1", tc.c))
			if (err == nil) != tc.ok {
				t.Fatalf("Verify = %v, want ok %v", err, tc.ok)
			}
			if err != nil && denialReason(err) != ReasonClaimRule {
				t.Fatalf("reason %q", denialReason(err))
			}
		})
	}
}

func TestClaimRulesValidate(t *testing.T) {
	for _, tc := range []struct {
		rules []ClaimRule
		want  string
	}{
		{[]ClaimRule{{Name: ""}}, "name is required"},
		{[]ClaimRule{{Name: "scp"}}, `"scp" is checked by the authorizer itself`},
		{[]ClaimRule{{Name: "iss"}}, `"iss" is checked`},
		{[]ClaimRule{{Name: "t"}, {Name: "t"}}, `claim "t" has a rule already`},
		{[]ClaimRule{{Name: "t", Values: []string{"a", ""}}}, "additional_claims[0].values[1] is empty"},
	} {
		err := Settings{Issuer: "https://x", Audience: []string{"a"}, ClaimRules: tc.rules}.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("rules %v: %v, want %q", tc.rules, err, tc.want)
		}
	}
	err := ValidateIssuers([]Settings{{Issuer: "https://a"}, {Issuer: "https://a"}})
	if err == nil || !strings.Contains(err.Error(), `issuer "https://a" is listed already`) {
		t.Errorf("duplicate issuers: %v", err)
	}
	if err := ValidateIssuers(nil); err == nil {
		t.Error("no issuers accepted")
	}
}

// TestJSONClaims: the reference's example, claims as REST JWT authorizers
// pass them to mappings and logs.
func TestJSONClaims(t *testing.T) {
	m, a, _ := twoIssuers(t, 0)
	tok := a.Mint(t, "k1", map[string]any{"aud": "orders-api", "name": `Doe, "Jane"`, "iat": 1516239022, "version": "42",
		"roles": []string{"user", "editor"}, "address": map[string]any{"city": "Seattle"}, "city": "Zürich", "emoji": "😀", "gone": nil})
	id, err := m.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"name": `"Doe, \"Jane\""`, "iat": "1516239022", "version": `"42"`, "roles": `["user","editor"]`,
		"address": `{"city":"Seattle"}`, "city": `"Z\u00FCrich"`, "emoji": `"\uD83D\uDE00"`, "sub": `"alice"`,
	} {
		if got, _ := id.JSONClaims.Get(name); got != want {
			t.Errorf("JSONClaims %s = %s, want %s", name, got, want)
		}
	}
	if _, ok := id.JSONClaims.Get("gone"); ok {
		t.Error("a null claim is present")
	}
	if v, _ := id.Claims.Get("version"); v != "42" || id.Subject != "alice" {
		t.Errorf("the HTTP API claims changed: version %q subject %q", v, id.Subject)
	}
}

// TestIssuersCachedPathAllocations: choosing the issuer adds no allocation
// to a cached token's verification.
func TestIssuersCachedPathAllocations(t *testing.T) {
	m, a, _ := twoIssuers(t, 0)
	single, err := New(Settings{Issuer: a.URL, Audience: []string{"orders-api"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, pad := range []int{400, 4000} { // the payload fits the stack buffer, or not
		tok := a.Mint(t, "k1", map[string]any{"aud": "orders-api", "scope": "orders:read", "tenant": "acme", "pad": strings.Repeat("p", pad)})
		for _, v := range []interface {
			Verify(context.Context, string) (*Identity, error)
		}{m, single} {
			if _, err := v.Verify(ctx, tok); err != nil { // warm the cache
				t.Fatal(err)
			}
		}
		multi := testing.AllocsPerRun(200, func() { _, _ = m.Verify(ctx, tok) })
		one := testing.AllocsPerRun(200, func() { _, _ = single.Verify(ctx, tok) })
		if multi != one {
			t.Fatalf("cached verification, %d-byte claim: %v allocations with issuers, %v with one issuer", pad, multi, one)
		}
	}
}

func TestPeekIssuer(t *testing.T) {
	enc := func(payload string) string {
		return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".c2ln"
	}
	for _, tc := range []struct {
		payload, want string
		ok            bool
	}{
		{`{"iss":"https://a"}`, "https://a", true},
		{` { "sub" : "x" , "iss" : "https://a" } `, "https://a", true},
		{`{"x":{"iss":"https://evil"},"iss":"https://a"}`, "https://a", true},
		{`{"x":["iss","}"],"iss":"https://a"}`, "https://a", true},
		{`{"iss":"https:\/\/a"}`, "https://a", true},
		{`{"x":"\"iss\":\"https://evil\"","iss":"https://a"}`, "https://a", true},
		{`{"iss":1}`, "", false},
		{`{"\u0069ss":"https://a"}`, "", false},
		{`{"x":{"iss":"https://a"}}`, "", false},
		{`["iss","https://a"]`, "", false},
		{`{"iss":"https://a`, "", false},
		{`{"a":1 "iss":"https://a"}`, "", false},
	} {
		got, ok := peekIssuer(payloadSegment(enc(tc.payload)), make([]byte, 16))
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("%s: %q %v, want %q %v", tc.payload, got, ok, tc.want, tc.ok)
		}
	}
}

// TestIssuersRepeatedIss: the choice reads the first iss; the chosen
// authorizer refuses a payload that names iss twice, so a second iss can
// never be what a backend reads.
func TestIssuersRepeatedIss(t *testing.T) {
	m, a, _ := twoIssuers(t, 0)
	tok := a.Mint(t, "k1", map[string]any{"aud": "orders-api", "iss": a.URL})
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := strings.Replace(string(payload), `{`, `{"iss":"`+a.URL+`",`, 1) // the signature no longer matches either
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(forged))
	if _, err := m.Verify(context.Background(), strings.Join(parts, ".")); err == nil {
		t.Fatal("a payload with two iss members was accepted")
	}
}

func TestIssuersExplain(t *testing.T) {
	m, _, b := twoIssuers(t, 0)
	_, steps, err := m.Explain(context.Background(), b.Mint(t, "k1", map[string]any{"aud": "client-b", "tenant_tier": "gold"}))
	if err != nil {
		t.Fatal(err)
	}
	text := ""
	for _, s := range steps {
		text += s.Check + ": " + s.Detail + "\n"
	}
	for _, want := range []string{"issuer: iss \"" + b.URL + "\" is issuers[1]", "claim rules: additional_claims[0] (tenant_tier): an expected value"} {
		if !strings.Contains(text, want) {
			t.Errorf("explain lacks %q:\n%s", want, text)
		}
	}
	_, steps, err = m.Explain(context.Background(), b.Mint(t, "k1", map[string]any{"aud": "client-b", "tenant_tier": "tin"}))
	if err == nil || !strings.Contains(steps[len(steps)-1].Detail, "additional_claims[0] (tenant_tier): the claim's value is not one of the 2 expected") {
		t.Errorf("denied explain: %v %+v", err, steps)
	}
	_, steps, err = m.Explain(context.Background(), b.Mint(t, "k1", map[string]any{"iss": "https://nope"}))
	if denialReason(err) != ReasonUnknownIssuer || len(steps) != 1 || steps[0].Check != "issuer" || steps[0].OK {
		t.Errorf("unknown issuer explain: %v %+v", err, steps)
	}
}

// TestIssuersExplainCountsRules: the issuer step counts the chosen
// issuer's claim rules in English: "0 claim rules", "1 claim rule", "2
// claim rules".
func TestIssuersExplainCountsRules(t *testing.T) {
	iss := []*testissuer.Issuer{testissuer.New(t), testissuer.New(t), testissuer.New(t)}
	rule := func(name string) ClaimRule { return ClaimRule{Name: name, Values: []string{"x"}} }
	m, err := NewIssuers("counted", []Settings{
		{Issuer: iss[0].URL, Audience: []string{"api"}, JSONClaims: true},
		{Issuer: iss[1].URL, Audience: []string{"api"}, JSONClaims: true, ClaimRules: []ClaimRule{rule("a")}},
		{Issuer: iss[2].URL, Audience: []string{"api"}, JSONClaims: true, ClaimRules: []ClaimRule{rule("a"), rule("b")}},
	}, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"audiences and 0 claim rules", "audiences and 1 claim rule", "audiences and 2 claim rules"} {
		_, steps, err := m.Explain(context.Background(), iss[i].Mint(t, "k1", map[string]any{"aud": "api"}))
		if err != nil {
			t.Fatalf("issuers[%d]: %v", i, err)
		}
		if got := steps[0].Detail; steps[0].Check != "issuer" || !strings.HasSuffix(got, want) {
			t.Errorf("issuers[%d]: %s: %q, want it to end with %q", i, steps[0].Check, got, want)
		}
	}
}

// TestIssuersExplainTooLarge: a token over the size limit is denied by
// Explain as by Verify (its denial has no Err to describe), not a panic.
func TestIssuersExplainTooLarge(t *testing.T) {
	m, _, _ := twoIssuers(t, 0)
	_, steps, err := m.Explain(context.Background(), strings.Repeat("a", maxTokenBytes+1))
	if denialReason(err) != ReasonTokenTooLarge || len(steps) != 1 || steps[0].OK || !strings.Contains(steps[0].Detail, ReasonTokenTooLarge) {
		t.Errorf("too large explain: %v %+v", err, steps)
	}
}

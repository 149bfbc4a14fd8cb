package issuer

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/jwtauth"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

func TestDiscovery(t *testing.T) {
	f := newFixture(t, nil)
	resp, doc := getJSON(t, f, "/.well-known/openid-configuration")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := resp.Header.Get("Cache-Control"); got != "public, max-age=300" {
		t.Errorf("Cache-Control = %q", got)
	}
	want := map[string]any{
		"issuer":                                f.srv.URL,
		"jwks_uri":                              f.srv.URL + "/.well-known/jwks.json",
		"token_endpoint":                        f.srv.URL + "/oauth2/token",
		"grant_types_supported":                 []any{"password", "client_credentials"},
		"token_endpoint_auth_methods_supported": []any{"client_secret_basic", "client_secret_post", "none"},
		"response_types_supported":              []any{"token"},
		"scopes_supported":                      []any{"admin", "read", "svc.read", "svc.write", "write"},
		"id_token_signing_alg_values_supported": []any{"RS256"},
		"subject_types_supported":               []any{"public"},
	}
	for k, v := range want {
		if got := doc[k]; !equalJSON(got, v) {
			t.Errorf("%s = %#v, want %#v", k, got, v)
		}
	}
}

func equalJSON(a, b any) bool {
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if aok && bok {
		return slices.Equal(as, bs)
	}
	return a == b
}

func TestJWKS(t *testing.T) {
	f := newFixture(t, nil)
	resp, doc := getJSON(t, f, "/.well-known/jwks.json")
	if got := resp.Header.Get("Cache-Control"); got != "public, max-age=300" {
		t.Errorf("Cache-Control = %q", got)
	}
	keys := doc["keys"].([]any)
	if len(keys) != 1 {
		t.Fatalf("%d keys, want 1", len(keys))
	}
	k := keys[0].(map[string]any)
	if k["kid"] != f.iss.keys.current().signing.kid || k["use"] != "sig" || k["alg"] != "RS256" || k["kty"] != "RSA" {
		t.Errorf("key = %v", k)
	}
	if _, ok := k["d"]; ok {
		t.Error("the JWKS publishes private material")
	}
	// POST is not an allowed method on the metadata endpoints.
	r, err := f.srv.Client().Post(f.srv.URL+"/.well-known/jwks.json", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST jwks: status %d", r.StatusCode)
	}
}

// checkToken verifies tok with the gateway's authorizer and checks the RFC
// 9068 header and the common claims.
func checkToken(t *testing.T, f *fixture, tok string, aud []string, sub, clientID, scope string, extra map[string]string) *jwtauth.Identity {
	t.Helper()
	h := tokenHeader(t, tok)
	if h["typ"] != "at+jwt" {
		t.Errorf("typ = %v, want at+jwt", h["typ"])
	}
	signing := f.iss.keys.current().signing
	if h["kid"] != signing.kid || h["alg"] != signing.alg {
		t.Errorf("header kid/alg = %v/%v, want %s/%s", h["kid"], h["alg"], signing.kid, signing.alg)
	}
	id, err := f.verifier(t, aud...).Verify(t.Context(), tok)
	if err != nil {
		t.Fatalf("the gateway refuses the token: %v", err)
	}
	if id.Subject != sub {
		t.Errorf("sub = %q, want %q", id.Subject, sub)
	}
	claim := func(name string) string { v, _ := id.Claims.Get(name); return v }
	if claim("client_id") != clientID {
		t.Errorf("client_id = %q, want %q", claim("client_id"), clientID)
	}
	if got := strings.Join(id.Scopes, " "); got != scope {
		t.Errorf("scope = %q, want %q", got, scope)
	}
	if _, ok := id.Claims.Get("scope"); scope == "" && ok {
		t.Error("an empty scope claim is present")
	}
	if claim("iss") != f.settings.Issuer || claim("jti") == "" {
		t.Errorf("iss/jti = %q/%q", claim("iss"), claim("jti"))
	}
	if _, ok := id.Claims.Get("nbf"); ok {
		t.Error("nbf is set")
	}
	ttl := f.settings.TokenTTL
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	if !id.Expires.Equal(f.clock.Now().Add(ttl)) {
		t.Errorf("exp = %v, want now + %v", id.Expires, ttl)
	}
	for k, v := range extra {
		if claim(k) != v {
			t.Errorf("claim %s = %q, want %q", k, claim(k), v)
		}
	}
	return id
}

func TestClientCredentials(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		name     string
		id, sec  string
		style    oauth2.AuthStyle
		scopes   []string
		params   url.Values
		wantAud  string
		wantScop string
		extra    map[string]string
	}{
		{name: "basic, all scopes", id: "web", sec: webSecret, style: oauth2.AuthStyleInHeader,
			wantAud: "api", wantScop: "read write", extra: map[string]string{"app": "web", "aud": "api"}},
		{name: "post, one scope", id: "web", sec: webSecret, style: oauth2.AuthStyleInParams, scopes: []string{"write"},
			wantAud: "api", wantScop: "write"},
		{name: "basic, id and secret need urlencoding", id: svcID, sec: svcSecret, style: oauth2.AuthStyleInHeader,
			scopes: []string{"svc.read"}, wantAud: "api", wantScop: "svc.read", extra: map[string]string{"tier": "gold"}},
		{name: "post, id and secret need urlencoding", id: svcID, sec: svcSecret, style: oauth2.AuthStyleInParams,
			wantAud: "api", wantScop: "svc.read svc.write"},
		{name: "audience parameter", id: "web", sec: webSecret, style: oauth2.AuthStyleInHeader,
			params: url.Values{"audience": {"other-api"}}, wantAud: "other-api", wantScop: "read write", extra: map[string]string{"aud": "other-api"}},
		{name: "resource parameter", id: "web", sec: webSecret, style: oauth2.AuthStyleInParams,
			params: url.Values{"resource": {"other-api"}}, wantAud: "other-api", wantScop: "read write", extra: map[string]string{"aud": "other-api"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := clientcredentials.Config{
				ClientID: tt.id, ClientSecret: tt.sec, TokenURL: f.tokenURL(),
				Scopes: tt.scopes, EndpointParams: tt.params, AuthStyle: tt.style,
			}
			ctx := context.WithValue(t.Context(), oauth2.HTTPClient, f.srv.Client())
			tok, err := cfg.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tok.TokenType != "Bearer" || tok.Extra("scope") != tt.wantScop {
				t.Errorf("token_type %q, scope %v", tok.TokenType, tok.Extra("scope"))
			}
			if got := tok.Extra("expires_in"); got != float64(3600) {
				t.Errorf("expires_in = %v", got)
			}
			checkToken(t, f, tok.AccessToken, []string{tt.wantAud}, tt.id, tt.id, tt.wantScop, tt.extra)
			// The token is audience-restricted: a verifier for the other
			// audience refuses it.
			other := "api"
			if tt.wantAud == "api" {
				other = "other-api"
			}
			if _, err := f.verifier(t, other).Verify(t.Context(), tok.AccessToken); err == nil {
				t.Errorf("a verifier for %q accepts a token for %q", other, tt.wantAud)
			}
		})
	}

	t.Run("wrong secret through the library", func(t *testing.T) {
		for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
			cfg := clientcredentials.Config{ClientID: "web", ClientSecret: "nope", TokenURL: f.tokenURL(), AuthStyle: style}
			_, err := cfg.Token(context.WithValue(t.Context(), oauth2.HTTPClient, f.srv.Client()))
			re, ok := errors.AsType[*oauth2.RetrieveError](err)
			if !ok || re.ErrorCode != "invalid_client" || re.Response.StatusCode != http.StatusUnauthorized {
				t.Errorf("style %d: err = %v", style, err)
			}
		}
	})
}

func TestPasswordGrant(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		name      string
		form      url.Values
		basic     []string
		wantSub   string
		wantCID   string
		wantScope string
		extra     map[string]string
	}{
		{name: "public client, all of the user's scopes",
			form:    url.Values{"grant_type": {"password"}, "client_id": {"cli"}, "username": {"alice"}, "password": {alicePW}},
			wantSub: "user-alice", wantCID: "cli", wantScope: "read write admin",
			extra: map[string]string{"roles": "[dev ops]", "tenant": "t1"}},
		{name: "public client, requested scope",
			form:    url.Values{"grant_type": {"password"}, "client_id": {"cli"}, "username": {"alice"}, "password": {alicePW}, "scope": {"admin read"}},
			wantSub: "user-alice", wantCID: "cli", wantScope: "admin read"},
		{name: "public client with empty Basic secret",
			form: url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {bobPW}}, basic: []string{"cli", ""},
			wantSub: "bob", wantCID: "cli", wantScope: "read"},
		{name: "client_secret_post limits scopes to the client's, user claims win",
			form:    url.Values{"grant_type": {"password"}, "client_id": {"web"}, "client_secret": {webSecret}, "username": {"alice"}, "password": {alicePW}},
			wantSub: "user-alice", wantCID: "web", wantScope: "read write",
			extra: map[string]string{"app": "web", "tenant": "t1", "roles": "[dev ops]"}},
		{name: "client_secret_basic",
			form:  url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {bobPW}},
			basic: []string{"pwonly", pwSecret}, wantSub: "bob", wantCID: "pwonly", wantScope: "read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := f.post(t, tt.form, tt.basic...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %v", resp.StatusCode, decodeBody(t, resp))
			}
			if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Pragma") != "no-cache" {
				t.Errorf("caching headers %q / %q", resp.Header.Get("Cache-Control"), resp.Header.Get("Pragma"))
			}
			body := decodeBody(t, resp)
			if body["token_type"] != "Bearer" || body["expires_in"] != float64(3600) || body["scope"] != tt.wantScope {
				t.Errorf("body = %v", body)
			}
			tok, _ := body["access_token"].(string)
			checkToken(t, f, tok, []string{"api"}, tt.wantSub, tt.wantCID, tt.wantScope, tt.extra)
		})
	}
}

func TestTokenErrors(t *testing.T) {
	f := newFixture(t, nil)
	pw := func(kv ...string) url.Values {
		v := url.Values{"grant_type": {"password"}, "client_id": {"cli"}, "username": {"alice"}, "password": {alicePW}}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "-" {
				v.Del(kv[i])
			} else {
				v.Set(kv[i], kv[i+1])
			}
		}
		return v
	}
	cc := func(kv ...string) url.Values {
		v := url.Values{"grant_type": {"client_credentials"}, "client_id": {"web"}, "client_secret": {webSecret}}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "-" {
				v.Del(kv[i])
			} else {
				v.Set(kv[i], kv[i+1])
			}
		}
		return v
	}
	type req struct {
		method      string
		contentType string
		query       string
		body        string
		basic       []string
	}
	form := func(v url.Values) req { return req{body: v.Encode()} }
	tests := []struct {
		name   string
		req    req
		status int
		code   string
	}{
		{"GET", req{method: http.MethodGet}, 405, "invalid_request"},
		{"PUT", req{method: http.MethodPut, body: cc().Encode()}, 405, "invalid_request"},
		{"JSON body", req{contentType: "application/json", body: `{"grant_type":"client_credentials"}`}, 400, "invalid_request"},
		{"missing grant_type", form(cc("grant_type", "-")), 400, "invalid_request"},
		{"repeated parameter", req{body: cc().Encode() + "&scope=read&scope=write"}, 400, "invalid_request"},
		{"secret in the URL", req{query: "client_secret=" + webSecret, body: cc("client_secret", "-").Encode()}, 400, "invalid_request"},
		{"body over 64 KiB", form(cc("scope", strings.Repeat("a", 65<<10))), 413, "invalid_request"},

		{"no client authentication", form(cc("client_id", "-", "client_secret", "-")), 401, "invalid_client"},
		{"unknown client (post)", form(cc("client_id", "nobody")), 401, "invalid_client"},
		{"unknown client (basic)", req{body: cc("client_id", "-", "client_secret", "-").Encode(), basic: []string{"nobody", "x"}}, 401, "invalid_client"},
		{"wrong secret (post)", form(cc("client_secret", "wrong")), 401, "invalid_client"},
		{"wrong secret (basic)", req{body: cc("client_id", "-", "client_secret", "-").Encode(), basic: []string{"web", "wrong"}}, 401, "invalid_client"},
		{"confidential client without secret", form(cc("client_secret", "-")), 401, "invalid_client"},
		{"public client with a secret", form(pw("client_secret", "x")), 401, "invalid_client"},
		{"unencoded Basic credentials", req{body: cc("client_id", "-", "client_secret", "-").Encode(), basic: []string{"web", "%zz"}}, 401, "invalid_client"},
		{"Basic and client_secret both", req{body: cc("client_id", "-").Encode(), basic: []string{"web", webSecret}}, 400, "invalid_request"},
		{"Basic and a different client_id", req{body: cc("client_id", "cli", "client_secret", "-").Encode(), basic: []string{"web", webSecret}}, 400, "invalid_request"},

		{"unsupported grant", form(cc("grant_type", "authorization_code")), 400, "unsupported_grant_type"},
		{"refresh_token grant", form(cc("grant_type", "refresh_token")), 400, "unsupported_grant_type"},
		{"public client, client_credentials", form(pw("grant_type", "client_credentials")), 400, "unauthorized_client"},
		{"password-only client, client_credentials", req{body: url.Values{"grant_type": {"client_credentials"}}.Encode(), basic: []string{"pwonly", pwSecret}}, 400, "unauthorized_client"},
		{"client_credentials-only client, password", req{body: pw("client_id", "-").Encode(), basic: []string{url.QueryEscape(svcID), url.QueryEscape(svcSecret)}}, 400, "unauthorized_client"},

		{"wrong password", form(pw("password", "wrong")), 400, "invalid_grant"},
		{"empty password", form(pw("password", "")), 400, "invalid_grant"},
		{"unknown user", form(pw("username", "mallory")), 400, "invalid_grant"},
		{"missing username", form(pw("username", "-")), 400, "invalid_request"},
		{"missing password", form(pw("password", "-")), 400, "invalid_request"},

		{"client_credentials scope not allowed", form(cc("scope", "read admin")), 400, "invalid_scope"},
		{"password scope not the user's", form(pw("username", "bob", "password", bobPW, "scope", "write")), 400, "invalid_scope"},
		{"password scope outside the client's", form(pw("client_id", "web", "client_secret", webSecret, "scope", "admin")), 400, "invalid_scope"},
		{"audience not allowed", form(cc("audience", "elsewhere")), 400, "invalid_target"},
		{"resource not allowed", form(cc("resource", "https://elsewhere/")), 400, "invalid_target"},
		{"one of two resources not allowed", req{body: cc().Encode() + "&resource=api&resource=nope"}, 400, "invalid_target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.req.method
			if method == "" {
				method = http.MethodPost
			}
			u := f.tokenURL()
			if tt.req.query != "" {
				u += "?" + tt.req.query
			}
			r, err := http.NewRequest(method, u, strings.NewReader(tt.req.body))
			if err != nil {
				t.Fatal(err)
			}
			ct := tt.req.contentType
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			r.Header.Set("Content-Type", ct)
			if tt.req.basic != nil {
				r.SetBasicAuth(tt.req.basic[0], tt.req.basic[1])
			}
			resp, err := f.srv.Client().Do(r)
			if err != nil {
				t.Fatal(err)
			}
			body := decodeBody(t, resp)
			if resp.StatusCode != tt.status || body["error"] != tt.code {
				t.Fatalf("got %d %v, want %d %s", resp.StatusCode, body, tt.status, tt.code)
			}
			if d, _ := body["error_description"].(string); d == "" {
				t.Error("no error_description")
			}
			if _, ok := body["access_token"]; ok {
				t.Error("an error response carries a token")
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", resp.Header.Get("Cache-Control"))
			}
			if got := resp.Header.Get("WWW-Authenticate"); (tt.status == 401) != (got == `Basic realm="portcullis-issuer"`) {
				t.Errorf("WWW-Authenticate = %q with status %d", got, tt.status)
			}
			if tt.status == 405 && resp.Header.Get("Allow") != http.MethodPost {
				t.Errorf("Allow = %q", resp.Header.Get("Allow"))
			}
			// No error may echo a credential.
			for _, secret := range []string{alicePW, webSecret} {
				if d, _ := body["error_description"].(string); strings.Contains(d, secret) {
					t.Errorf("the description quotes a secret: %q", d)
				}
			}
		})
	}
}

// TestBcryptAlwaysRuns proves the timing-safe path: an unknown user or
// client still costs one bcrypt comparison, against a dummy hash of the same
// cost as the configured ones.
func TestBcryptAlwaysRuns(t *testing.T) {
	f := newFixture(t, nil)
	var mu sync.Mutex
	var seen [][]byte
	f.iss.compare = func(h, pw []byte) error {
		mu.Lock()
		seen = append(seen, h)
		mu.Unlock()
		return bcrypt.CompareHashAndPassword(h, pw)
	}
	alice := f.iss.users["alice"].PasswordHash
	tests := []struct {
		name      string
		form      url.Values
		wantHashs []string
		wantCode  string
	}{
		{"unknown user", url.Values{"grant_type": {"password"}, "client_id": {"cli"}, "username": {"mallory"}, "password": {"x"}},
			[]string{string(f.iss.dummyUserHash)}, "invalid_grant"},
		{"known user, wrong password", url.Values{"grant_type": {"password"}, "client_id": {"cli"}, "username": {"alice"}, "password": {"x"}},
			[]string{alice}, "invalid_grant"},
		{"unknown client", url.Values{"grant_type": {"client_credentials"}, "client_id": {"nobody"}, "client_secret": {"x"}},
			[]string{string(f.iss.dummyClientHash)}, "invalid_client"},
		{"unknown user through a confidential client", url.Values{"grant_type": {"password"}, "client_id": {"web"}, "client_secret": {webSecret}, "username": {"mallory"}, "password": {"x"}},
			[]string{f.iss.clients["web"].SecretHash, string(f.iss.dummyUserHash)}, "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			body := decodeBody(t, f.post(t, tt.form))
			if body["error"] != tt.wantCode {
				t.Fatalf("error = %v", body["error"])
			}
			mu.Lock()
			defer mu.Unlock()
			var got []string
			for _, h := range seen {
				got = append(got, string(h))
			}
			if !slices.Equal(got, tt.wantHashs) {
				t.Errorf("compared against %d hashes %q, want %q", len(got), got, tt.wantHashs)
			}
		})
	}
	for name, h := range map[string][]byte{"user": f.iss.dummyUserHash, "client": f.iss.dummyClientHash} {
		if c, err := bcrypt.Cost(h); err != nil || c != bcrypt.MinCost {
			t.Errorf("dummy %s hash cost %d (%v), want the configured %d", name, c, err, bcrypt.MinCost)
		}
	}
}

func TestIssuerWithPath(t *testing.T) {
	f := newFixture(t, func(s *Settings) { s.Issuer += "/dev/" })
	resp, doc := getJSON(t, f, "/dev/.well-known/openid-configuration")
	if resp.StatusCode != http.StatusOK || doc["issuer"] != f.settings.Issuer || doc["token_endpoint"] != f.srv.URL+"/dev/oauth2/token" {
		t.Fatalf("%d %v", resp.StatusCode, doc)
	}
	r, err := f.srv.Client().PostForm(f.srv.URL+"/dev/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {"cli"}, "username": {"bob"}, "password": {bobPW}})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := decodeBody(t, r)["access_token"].(string)
	checkToken(t, f, tok, nil, "bob", "cli", "read", nil)
}

func TestHashPassword(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if bcrypt.CompareHashAndPassword([]byte(h), []byte("correct horse")) != nil {
		t.Error("the hash does not match its password")
	}
	if c, _ := bcrypt.Cost([]byte(h)); c != bcrypt.DefaultCost {
		t.Errorf("cost %d", c)
	}
	if _, err := HashPassword(""); err == nil {
		t.Error("an empty password was hashed")
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	valid := func() Settings { return baseSettings(t, "http://127.0.0.1:8099") }
	tests := []struct {
		name   string
		mutate func(*Settings)
		want   []string // substrings of the error; none means valid
	}{
		{"valid", func(*Settings) {}, nil},
		{"empty", func(s *Settings) { *s = Settings{} }, []string{"issuer URL is required", "keys directory is required", "at least one audience"}},
		{"issuer not a URL", func(s *Settings) { s.Issuer = "dev-issuer" }, []string{"absolute http or https URL"}},
		{"issuer with query", func(s *Settings) { s.Issuer = "http://x/?a=b" }, []string{"without query"}},
		{"algorithm", func(s *Settings) { s.Algorithm = "HS256" }, []string{`algorithm "HS256" is not supported`}},
		{"negative TTL", func(s *Settings) { s.TokenTTL = -time.Second }, []string{"lifetime must not be negative"}},
		{"empty audience", func(s *Settings) { s.Audience = []string{""} }, []string{"audience 1 is empty"}},
		{"user problems", func(s *Settings) {
			s.Users = append(s.Users,
				User{Username: "alice", PasswordHash: "plain"},
				User{PasswordHash: s.Users[0].PasswordHash, Scopes: []string{"a b"}, Claims: map[string]any{"sub": "root", "exp": 1}})
		}, []string{`user 3 ("alice") is defined more than once`, "not a bcrypt hash", "user 4 has no username", `scope "a b" is not a valid`, `claim "sub" is set by the issuer`, `claim "exp" is set by the issuer`}},
		{"user without hash", func(s *Settings) { s.Users = []User{{Username: "x"}} }, []string{"has no password_hash", "hash-password"}},
		{"client problems", func(s *Settings) {
			s.Clients = []Client{
				{ClientID: "a"},
				{ClientID: "b", Public: true, SecretHash: s.Users[0].PasswordHash},
				{ClientID: "c", Public: true, GrantTypes: []string{"client_credentials"}},
				{ClientID: "d", SecretHash: "x", GrantTypes: []string{"implicit"}},
				{ClientID: "d", Public: true, Claims: map[string]any{"client_id": "z", "nested": map[any]any{1: 2}}},
			}
		}, []string{"needs a client_secret_hash", "is public and so must not have a client_secret_hash", "cannot use the client_credentials grant",
			`grant type "implicit" is not supported`, "client_secret_hash is not a bcrypt hash", "defined more than once",
			`claim "client_id" is set by the issuer`, "cannot be encoded as JSON"}},
		{"missing users file", func(s *Settings) { s.UsersFile = filepath.Join(dir, "none.yaml") }, []string{"users file", "none.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := valid()
			tt.mutate(&s)
			err := s.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			// New refuses the same settings, without touching KeysDir.
			if _, err := New(s, Options{}); err == nil {
				t.Error("New accepted invalid settings")
			}
			if s.KeysDir != "" {
				if _, err := os.Stat(s.KeysDir); err == nil {
					t.Error("New created the key directory for invalid settings")
				}
			}
		})
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	carolHash := hash(t, "carol-pw")
	kioskHash := hash(t, "kiosk-secret")
	users := write("users.yaml", `users:
  - username: carol
    password_hash: "`+carolHash+`"
    sub: c-123
    scopes: [read, reports]
    claims:
      roles: [auditor]
      org: {id: 7, name: acme}
`)
	clients := write("clients.yaml", `clients:
  - client_id: kiosk
    client_secret_hash: "`+kioskHash+`"
    grant_types: [password]
    claims: {device: kiosk}
`)
	f := newFixture(t, func(s *Settings) { s.UsersFile, s.ClientsFile = users, clients })
	resp := f.post(t, url.Values{"grant_type": {"password"}, "username": {"carol"}, "password": {"carol-pw"}}, "kiosk", "kiosk-secret")
	body := decodeBody(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
	tok, _ := body["access_token"].(string)
	checkToken(t, f, tok, nil, "c-123", "kiosk", "read reports", map[string]string{"roles": "[auditor]", "org": `{"id":7,"name":"acme"}`, "device": "kiosk"})
	// Inline users are still there.
	if resp := f.post(t, url.Values{"grant_type": {"password"}, "client_id": {"cli"}, "username": {"bob"}, "password": {bobPW}}); resp.StatusCode != http.StatusOK {
		t.Errorf("inline user: status %d", resp.StatusCode)
	}

	tests := []struct {
		name, users, clients string
		want                 []string
	}{
		{"plain password", "users:\n  - username: dave\n    password: hunter2\n", "", []string{`"dave"`, "plain `password`", "password_hash", "portcullis issuer hash-password"}},
		{"plain client secret", "", "clients:\n  - client_id: x\n    client_secret: s3cret\n", []string{"plain `client_secret`", "client_secret_hash"}},
		{"unknown field", "users:\n  - username: dave\n    password_hash: \"" + carolHash + "\"\n    scope: [read]\n", "", []string{"field scope not found"}},
		{"duplicate of an inline user", "users:\n  - username: alice\n    password_hash: \"" + carolHash + "\"\n", "", []string{`"alice") is defined more than once`}},
		{"not YAML", "users: [", "", []string{"parsing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := baseSettings(t, "http://127.0.0.1:1")
			if tt.users != "" {
				s.UsersFile = write("u-"+strings.ReplaceAll(tt.name, " ", "-")+".yaml", tt.users)
			}
			if tt.clients != "" {
				s.ClientsFile = write("c-"+strings.ReplaceAll(tt.name, " ", "-")+".yaml", tt.clients)
			}
			_, err := New(s, Options{})
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error quotes the plain password: %v", err)
			}
		})
	}
}

package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/apikey"
	"github.com/portcullis/portcullis/internal/revocation"
	"github.com/portcullis/portcullis/internal/testissuer"
	"github.com/portcullis/portcullis/internal/testlog"
	"github.com/portcullis/portcullis/internal/testredis"
)

// writeKeys writes a keys file with one enabled key per name (plan
// bronze, or as name:plan) and returns its path and the values by name.
func writeKeys(t *testing.T, names ...string) (string, map[string]string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys.yaml")
	values := map[string]string{}
	yes, no := true, false
	for _, n := range names {
		name, plan, ok := strings.Cut(n, ":")
		if !ok {
			plan = "bronze"
		}
		enabled := &yes
		if name == "disabled" {
			enabled = &no
		}
		values[name] = apikey.Generate()
		if err := apikey.Append(path, apikey.FileEntry{Name: name, Hash: apikey.Hash(values[name]), Plan: plan, Enabled: enabled}); err != nil {
			t.Fatal(err)
		}
	}
	return path, values
}

// TestAPIKeyHeader: AWS's answers for source HEADER, the authorizer before
// the key, $context.identity.apiKey(Id) for the backend, and no key value
// in the log.
func TestAPIKeyHeader(t *testing.T) {
	iss := testissuer.New(t)
	be, seenBy := backend(t)
	keys, v := writeKeys(t, "alice", "bob:gold", "disabled", "dan:tight")
	logs := &testlog.Buffer{}
	srv, _, _ := gatewayServer(t, fmt.Sprintf(`listen: 127.0.0.1:0
api_keys: {source: HEADER, keys_file: %[3]q}
usage_plans:
  bronze: {quota: {limit: 2, period: DAY}}
  gold: {quota: {limit: 1000, period: MONTH}}
  tight: {throttle: {rate: 0.001, burst: 1}}
authorizers:
  users: {type: jwt, issuer: %[1]q, audience: [test-api]}
routes:
  - route: GET /keyed
    api_key_required: true
    integration:
      type: http_proxy
      uri: %[2]s/keyed
      request_parameters:
        "overwrite:header.x-key-id": $context.identity.apiKeyId
        "overwrite:header.x-key": $context.identity.apiKey
  - {route: GET /both, authorizer: users, api_key_required: true, integration: {type: mock, body: ok}}
  - {route: GET /open, integration: {type: mock, body: open}}
`, iss.URL, be.URL, keys), Deps{Logger: slogJSON(logs), AccessLog: logs})
	tok := iss.Mint(t, "k1", nil)
	key := func(k string) http.Header { return http.Header{"X-Api-Key": {k}} }
	cases := []struct {
		name, path string
		header     http.Header
		status     int
		body       string
	}{
		{"no key", "/keyed", nil, 403, apikey.BodyForbidden},
		{"unknown key", "/keyed", key("nope-nope-nope-nope-nope"), 403, apikey.BodyForbidden},
		{"disabled key", "/keyed", key(v["disabled"]), 403, apikey.BodyForbidden},
		{"the header name in another case", "/keyed", http.Header{"X-API-KEY": {v["bob"]}}, 200, ""},
		// Repeated, as an identity source: which one is the key? The
		// gateway would meter bob while a backend reading the last (or
		// the joined) value saw another key, a disabled one say.
		{"a good key, then another", "/keyed", http.Header{"X-Api-Key": {v["bob"], v["disabled"]}}, 403, apikey.BodyForbidden},
		{"another key, then a good one", "/keyed", http.Header{"X-Api-Key": {"nope-nope-nope-nope-nope", v["bob"]}}, 403, apikey.BodyForbidden},
		{"a good key twice", "/keyed", http.Header{"X-Api-Key": {v["bob"], v["bob"]}}, 403, apikey.BodyForbidden},
		{"key not needed", "/open", nil, 200, "open"},
		{"authorizer before the key: no token, no key", "/both", nil, 401, `{"message":"Unauthorized"}`},
		{"authorizer before the key: bad token, good key", "/both", http.Header{"Authorization": {"Bearer x.y.z"}, "X-Api-Key": {v["bob"]}}, 401, `{"message":"Unauthorized"}`},
		{"token, no key", "/both", bearer(tok), 403, apikey.BodyForbidden},
		{"token and key", "/both", http.Header{"Authorization": {"Bearer " + tok}, "X-Api-Key": {v["bob"]}}, 200, "ok"},
		{"alice 1", "/keyed", key(v["alice"]), 200, ""},
		{"alice 2", "/keyed", key(v["alice"]), 200, ""},
		{"alice over her quota", "/keyed", key(v["alice"]), 429, apikey.BodyLimitExceeded},
		{"bob's quota is his", "/keyed", key(v["bob"]), 200, ""},
		{"dan within his plan's burst", "/keyed", key(v["dan"]), 200, ""},
		{"dan past his plan's burst", "/keyed", key(v["dan"]), 429, apikey.BodyTooMany},
	}
	for _, c := range cases {
		resp, body := get(t, srv.URL+c.path, c.header)
		if resp.StatusCode != c.status || c.body != "" && body != c.body {
			t.Errorf("%s: %d %s, want %d %s", c.name, resp.StatusCode, body, c.status, c.body)
		}
		if c.status >= 400 && resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: Content-Type %q", c.name, resp.Header.Get("Content-Type"))
		}
		if ra := resp.Header.Get("Retry-After"); (c.status == 429) != (ra != "") {
			t.Errorf("%s: Retry-After %q with status %d", c.name, ra, resp.StatusCode)
		}
		// AWS's 429s name their cause (observed): THROTTLED, QUOTA_EXCEEDED.
		wantType := map[string]string{apikey.BodyTooMany: "TooManyRequestsException", apikey.BodyLimitExceeded: "LimitExceededException"}[c.body]
		if got := resp.Header.Get("X-Amzn-ErrorType"); got != wantType {
			t.Errorf("%s: x-amzn-ErrorType %q, want %q", c.name, got, wantType)
		}
	}
	var sawKey bool
	for len(seenBy) > 0 {
		s := <-seenBy
		if s.Header.Get("X-Key") == v["alice"] {
			sawKey = true
			if id := s.Header.Get("X-Key-Id"); len(id) != 16 {
				t.Errorf("$context.identity.apiKeyId = %q", id)
			}
		}
	}
	if !sawKey {
		t.Error("the backend never saw $context.identity.apiKey")
	}
	for name, value := range v {
		if strings.Contains(logs.String(), value) {
			t.Errorf("the log holds %s's key value", name)
		}
	}
	if !strings.Contains(logs.String(), `"api_key":"alice"`) || !strings.Contains(logs.String(), `"reason":"quota_exceeded"`) {
		t.Errorf("the log does not name the key and the reason:\n%s", logs.String())
	}
}

// TestAPIKeyFromAuthorizer: source AUTHORIZER takes the Lambda
// authorizer's usageIdentifierKey; the client's x-api-key is not looked at.
func TestAPIKeyFromAuthorizer(t *testing.T) {
	keys, v := writeKeys(t, "alice")
	// The authorizer function returns the token as usageIdentifierKey.
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e struct {
			AuthorizationToken string `json:"authorizationToken"`
		}
		_ = json.NewDecoder(r.Body).Decode(&e)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"principalId":        "u",
			"policyDocument":     map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"}}},
			"usageIdentifierKey": strings.TrimPrefix(e.AuthorizationToken, "Bearer "),
		})
	}))
	t.Cleanup(fn.Close)
	srv, _, _ := gatewayServer(t, fmt.Sprintf(`listen: 127.0.0.1:0
api_keys: {source: AUTHORIZER, keys_file: %[2]q}
usage_plans:
  bronze: {quota: {limit: 100, period: DAY}}
functions:
  auth: {runtime: http, url: %[1]q}
authorizers:
  lam: {type: lambda, function: auth, payload_format_version: "1.0", event_type: TOKEN, identity_source: [method.request.header.Authorization], result_ttl: 0s}
routes:
  - {route: GET /keyed, authorizer: lam, api_key_required: true, integration: {type: mock, body: ok}}
`, fn.URL, keys), Deps{})
	cases := []struct {
		name   string
		header http.Header
		status int
	}{
		{"usageIdentifierKey is a key", http.Header{"Authorization": {"Bearer " + v["alice"]}}, 200},
		{"usageIdentifierKey is no key", http.Header{"Authorization": {"Bearer nope"}}, 403},
		{"x-api-key is not the source", http.Header{"Authorization": {"Bearer nope"}, "X-Api-Key": {v["alice"]}}, 403},
	}
	for _, c := range cases {
		if resp, body := get(t, srv.URL+"/keyed", c.header); resp.StatusCode != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, resp.StatusCode, body, c.status)
		}
	}
}

// TestRevocation: a revoked token is refused with 401 even when its
// verification is cached; by sub only tokens issued before the cut.
func TestRevocation(t *testing.T) {
	iss := testissuer.New(t)
	srv, _, g := gatewayServer(t, fmt.Sprintf(`listen: 127.0.0.1:0
revocation: {enabled: true}
authorizers:
  users: {type: jwt, issuer: %[1]q, audience: [test-api]}
routes:
  - {route: GET /x, authorizer: users, integration: {type: mock, body: ok}}
`, iss.URL), Deps{})
	list := g.Revocations()
	ctx := context.Background()
	old := iss.Mint(t, "k1", map[string]any{"jti": "t-1", "sub": "bob", "iat": time.Now().Add(-time.Hour).Unix()})
	other := iss.Mint(t, "k1", map[string]any{"jti": "t-2", "sub": "carol"})
	status := func(tok string) int {
		resp, _ := get(t, srv.URL+"/x", bearer(tok))
		return resp.StatusCode
	}
	if status(old) != 200 || status(other) != 200 {
		t.Fatal("tokens refused before any revocation")
	}
	if err := list.Revoke(ctx, revocation.Entry{JTI: "t-1"}); err != nil {
		t.Fatal(err)
	}
	resp, body := get(t, srv.URL+"/x", bearer(old)) // cached since the first request
	if resp.StatusCode != 401 || body != `{"message":"Unauthorized"}` || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "revoked") {
		t.Errorf("revoked by jti: %d %s %q", resp.StatusCode, body, resp.Header.Get("WWW-Authenticate"))
	}
	if status(other) != 200 {
		t.Error("another token refused")
	}
	if err := list.Reinstate(ctx, revocation.Entry{JTI: "t-1"}); err != nil {
		t.Fatal(err)
	}
	if status(old) != 200 {
		t.Error("reinstated token refused")
	}
	if err := list.Revoke(ctx, revocation.Entry{Sub: "bob", Before: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	fresh := iss.Mint(t, "k1", map[string]any{"sub": "bob"})
	if status(old) != 401 {
		t.Error("bob's token issued before the cut passes")
	}
	if status(fresh) != 200 {
		t.Error("bob's token issued after the cut refused")
	}
}

// TestRevocationUnread: a gateway whose revocation list was never read (its
// Redis is down since it started) has nothing to judge tokens by: it is not
// ready and refuses every JWT (401, revocations_unavailable), then serves
// once Redis answers and the list is read.
func TestRevocationUnread(t *testing.T) {
	iss := testissuer.New(t)
	redis := testredis.Start(t)
	redis.Kill()
	srv, _, g := gatewayServer(t, fmt.Sprintf(`listen: 127.0.0.1:0
state:
  redis: {addresses: [%[2]s], timeout: 5s}
revocation: {enabled: true}
authorizers:
  users: {type: jwt, issuer: %[1]q, audience: [test-api]}
routes:
  - {route: GET /x, authorizer: users, integration: {type: mock, body: ok}}
`, iss.URL, redis.Addr), Deps{})
	tok := iss.Mint(t, "k1", map[string]any{"jti": "t-1"})
	if got := g.NotReady(); !slices.Contains(got, "revocations") {
		t.Errorf("NotReady = %v before the list was read; want revocations named", got)
	}
	resp, body := get(t, srv.URL+"/x", bearer(tok))
	if resp.StatusCode != 401 || body != `{"message":"Unauthorized"}` || strings.Contains(resp.Header.Get("WWW-Authenticate"), "revoked") {
		t.Errorf("before the list was read: %d %s %q; want 401, not called revoked", resp.StatusCode, body, resp.Header.Get("WWW-Authenticate"))
	}
	redis.Restart(t)
	for len(g.NotReady()) > 0 {
		time.Sleep(10 * time.Millisecond) // the watch retries with a backoff of up to a second
	}
	if resp, body := get(t, srv.URL+"/x", bearer(tok)); resp.StatusCode != 200 {
		t.Errorf("after the list was read: %d %s", resp.StatusCode, body)
	}
}

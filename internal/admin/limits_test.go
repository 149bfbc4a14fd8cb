package admin

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/internal/revocation"
	"github.com/portcullis/portcullis/internal/state"
)

// TestRevocationEndpoints: off without admin_token, 401 without the right
// token, 400 for bodies that are not one revocation, and the list changes
// with POST and DELETE.
func TestRevocationEndpoints(t *testing.T) {
	list := revocation.New(state.NewMemoryHash(), nil)
	list.Start()
	t.Cleanup(list.Stop)
	token := "0123456789abcdef-admin"
	o := Options{Gatherer: prometheus.NewRegistry(), NotReady: func() []string { return nil },
		Token: func() string { return token }, Revocations: func() *revocation.List { return list }}
	srv := httptest.NewServer(Handler(o))
	t.Cleanup(srv.Close)
	off := httptest.NewServer(Handler(Options{Gatherer: prometheus.NewRegistry(), NotReady: func() []string { return nil },
		Revocations: func() *revocation.List { return list }}))
	t.Cleanup(off.Close)
	disabled := httptest.NewServer(Handler(Options{Gatherer: prometheus.NewRegistry(), NotReady: func() []string { return nil },
		Token: func() string { return token }, Revocations: func() *revocation.List { return nil }}))
	t.Cleanup(disabled.Close)

	do := func(base, method, path, auth, body string) (int, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	good := "Bearer " + token
	cases := []struct {
		name, base, method, path, auth, body string
		status                               int
		want                                 string
	}{
		{"no admin_token: off", off.URL, "POST", "/revocations", good, `{"jti":"a"}`, 404, "set admin_token"},
		{"no admin_token: list off too", off.URL, "GET", "/revocations", "", "", 404, "set admin_token"},
		{"revocation disabled", disabled.URL, "POST", "/revocations", good, `{"jti":"a"}`, 404, "revocation.enabled"},
		{"no token", srv.URL, "POST", "/revocations", "", `{"jti":"a"}`, 401, "Unauthorized"},
		{"wrong token", srv.URL, "POST", "/revocations", "Bearer nope", `{"jti":"a"}`, 401, "Unauthorized"},
		{"list needs the token", srv.URL, "GET", "/revocations", "", "", 401, "Unauthorized"},
		{"not JSON", srv.URL, "POST", "/revocations", good, `jti=a`, 400, "must be JSON"},
		{"unknown field", srv.URL, "POST", "/revocations", good, `{"jti":"a","exp":1}`, 400, "unknown field"},
		{"both", srv.URL, "POST", "/revocations", good, `{"jti":"a","sub":"b","before":"2026-01-01T00:00:00Z"}`, 400, "not both"},
		{"sub without before", srv.URL, "POST", "/revocations", good, `{"sub":"b"}`, 400, "sub needs before"},
		{"bad before", srv.URL, "POST", "/revocations", good, `{"sub":"b","before":"yesterday"}`, 400, "RFC 3339"},
		{"too large", srv.URL, "POST", "/revocations", good, `{"jti":"` + strings.Repeat("a", MaxRevocationBody) + `"}`, 400, "must be JSON"},
		{"revoke jti", srv.URL, "POST", "/revocations", good, `{"jti":"a"}`, 201, `"revoked":{"jti":"a"}`},
		{"revoke sub", srv.URL, "POST", "/revocations", good, `{"sub":"b","before":"2026-01-01T00:00:00+01:00"}`, 201, `"before":"2025-12-31T23:00:00Z"`},
		{"list", srv.URL, "GET", "/revocations", good, "", 200, `"count":2`},
		{"reinstate by query", srv.URL, "DELETE", "/revocations?jti=a", good, "", 200, `"reinstated":{"jti":"a"}`},
		{"reinstate by body", srv.URL, "DELETE", "/revocations", good, `{"sub":"b"}`, 200, `"reinstated":{"sub":"b"}`},
		{"reinstate nothing", srv.URL, "DELETE", "/revocations", good, "", 400, "give jti or sub"},
		{"list empty", srv.URL, "GET", "/revocations", good, "", 200, `"count":0`},
		{"api keys need the token when one is set", srv.URL, "GET", "/apikeys", "", "", 401, "Unauthorized"},
		{"api keys, wrong token", srv.URL, "GET", "/apikeys", "Bearer nope", "", 401, "Unauthorized"},
		{"api keys off", srv.URL, "GET", "/apikeys", good, "", 404, "api_keys is not configured"},
		{"api keys without admin_token: open", off.URL, "GET", "/apikeys", "", "", 404, "api_keys is not configured"},
	}
	for _, c := range cases {
		code, body := do(c.base, c.method, c.path, c.auth, c.body)
		if code != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, code, body, c.status, c.want)
		}
	}
}

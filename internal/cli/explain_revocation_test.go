package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/gateway"
	"github.com/portcullis/portcullis/internal/revocation"
	"github.com/portcullis/portcullis/internal/testissuer"
	"github.com/portcullis/portcullis/internal/testredis"
)

const explainRevocationConfig = `listen: 127.0.0.1:0
revocation: {enabled: true}
%[3]s
authorizers:
  orders:
    type: jwt
    issuer: %[1]s
    audience: [%[2]s]
routes:
  - route: GET /orders/{id}
    authorizer: orders
    integration: {type: http_proxy, uri: "http://127.0.0.1:9/orders/{id}"}
  - route: GET /scoped
    authorizer: orders
    authorization_scopes: [admin]
    integration: {type: mock}
`

// TestExplainRevocation: explain tells what the running gateway would do
// about revocation. With Redis it reads the list as serve does (a revoked
// token is denied as revoked, another is allowed); when it cannot read the
// list (in process, the list is in the serving process's memory; Redis
// down) it says so and decides nothing on it: neither the DENY
// revocations_unavailable that only explain's own unread copy would give,
// nor a plain ALLOW.
func TestExplainRevocation(t *testing.T) {
	iss := testissuer.New(t)
	dir := t.TempDir()
	write := func(name, state string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, fmt.Appendf(nil, explainRevocationConfig, iss.URL, testissuer.Audience, state), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	inProcess := write("memory.yaml", "")
	srv := testredis.Start(t)
	withRedis := write("redis.yaml", "state: {redis: {addresses: ["+srv.Addr+"], timeout: 2s}}")
	down := testredis.Start(t)
	redisDown := write("down.yaml", "state: {redis: {addresses: ["+down.Addr+"], timeout: 2s}}")
	down.Kill()

	// Revoke through the gateway's own list, as the admin API of a
	// running replica does.
	f, err := config.Load(withRedis)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.Build(f, gateway.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	g.Start(t.Context())
	if err := g.Revocations().Revoke(context.Background(), revocation.Entry{JTI: "stolen"}); err != nil {
		t.Fatal(err)
	}
	g.Close(nil)

	good := iss.Mint(t, "k1", map[string]any{"jti": "fine"})
	stolen := iss.Mint(t, "k1", map[string]any{"jti": "stolen"})
	for _, tt := range []struct {
		name, cfg, route, token string
		code                    int
		want, absent            []string
		flags                   []string
	}{
		{"redis: not revoked", withRedis, "GET /orders/1", good, exitOK, []string{
			"revocation  ✓ not revoked: the list read from Redis (1 entry) revokes neither its jti nor its subject",
			"decision    ✓ ALLOW", "GET http://127.0.0.1:9/orders/1",
		}, []string{"revocations_unavailable"}, nil},
		{"redis: revoked", withRedis, "GET /orders/1", stolen, exitFailed, []string{
			`revocation  ✗ revoked: the list read from Redis revokes its jti "stolen"`,
			`decision    ✗ DENY 401 {"message":"Unauthorized"}`, "reason: revoked",
			`Www-Authenticate: Bearer error="invalid_token", error_description="the token has been revoked"`,
		}, nil, nil},
		{"in process: not checked, undecided", inProcess, "GET /orders/1", good, exitUndecided, []string{
			"revocation  · not checked: without state.redis the list is in the memory of the running gateway, which explain cannot read",
			"decision    ✗ UNDECIDED: ALLOW unless the token is revoked (the revocation list was not read)",
			"GET http://127.0.0.1:9/orders/1", "response    · 200",
		}, []string{"revocations_unavailable", "DENY"}, nil},
		// --invoke starts what serve starts, but not this process's own,
		// empty list, which would pass every revoked token.
		{"in process with --invoke: not checked either", inProcess, "GET /orders/1", good, exitUndecided, []string{
			"revocation  · not checked: without state.redis", "UNDECIDED: ALLOW unless the token is revoked",
		}, []string{"decision    ✓ ALLOW"}, []string{"--invoke"}},
		{"in process: a denial stands without the list", inProcess, "GET /scoped", good, exitFailed, []string{
			"revocation  · not checked: without state.redis",
			"scopes      ✗ the route needs one of [admin]", `decision    ✗ DENY 403 {"message":"Forbidden"}`, "reason: insufficient_scope",
		}, []string{"revocations_unavailable"}, nil},
		{"redis down: not checked, undecided", redisDown, "GET /orders/1", good, exitUndecided, []string{
			"revocation  · not checked: the list could not be read from Redis (",
			"a replica that read it before judges by its copy; one that never did refuses every JWT (401, revocations_unavailable)",
			"decision    ✗ UNDECIDED: ALLOW unless the token is revoked",
		}, []string{"DENY"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"explain", "-c", tt.cfg, tt.route, "-H", "Authorization: Bearer " + tt.token}, tt.flags...)
			checkRun(t, args, tt.code, tt.want, tt.absent, tt.token)
		})
	}

	t.Run("json", func(t *testing.T) {
		out, errOut, code := runMain(t, "", "explain", "--json", "-c", inProcess, "GET /orders/1", "-H", "Authorization: Bearer "+good)
		if code != exitUndecided {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		var rep struct {
			Outcome    string `json:"outcome"`
			Revocation *struct {
				Checked bool   `json:"checked"`
				Revoked bool   `json:"revoked"`
				Detail  string `json:"detail"`
			} `json:"revocation"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		if rep.Outcome != "undecided" || rep.Revocation == nil || rep.Revocation.Checked || rep.Revocation.Revoked || rep.Revocation.Detail == "" {
			t.Errorf("outcome %q, revocation %+v", rep.Outcome, rep.Revocation)
		}
	})

	t.Run("token verify", func(t *testing.T) {
		checkRun(t, []string{"token", "verify", "-c", withRedis, "--route", "GET /orders/1", stolen}, exitFailed,
			[]string{`revocation ✗ revoked: the list read from Redis revokes its jti "stolen"`, "decision   ✗ DENY: 401"}, nil, stolen)
		checkRun(t, []string{"token", "verify", "-c", withRedis, "--route", "GET /orders/1", good}, exitOK,
			[]string{"revocation ✓ not revoked", "decision   ✓ ALLOW"}, nil, good)
		checkRun(t, []string{"token", "verify", "-c", inProcess, "--route", "GET /orders/1", good}, exitUndecided,
			[]string{"revocation · not checked: without state.redis", "decision   · UNDECIDED: ALLOW unless the token is revoked"}, []string{"DENY"}, good)
	})
}

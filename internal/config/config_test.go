package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

const sample = `listen: 127.0.0.1:8080
admin_listen: 127.0.0.1:9901
api: {id: local, stage: $default, region: us-east-1, account_id: "000000000000"}
authorizers:
  users:
    type: jwt
    identity_source: $request.header.Authorization
    issuer: https://issuer.example.com
    audience: [orders-api]
    jwks_uri: https://issuer.example.com/keys
    algorithms: [RS256]
    clock_skew: 30s
    hmac_secret: ${SECRET}
routes:
  - route: GET /orders/{id}
    authorizer: users
    authorization_scopes: [orders:read]
    integration:
      type: http_proxy
      uri: http://127.0.0.1:9000/orders/{id}
      timeout: 29s
      request_parameters:
        "overwrite:header.x-user-id": $context.authorizer.claims.sub
        "append:header.x-join": "u-${context.authorizer.claims.sub}"
        "remove:header.x-debug": ""
  - route: GET /status
    integration:
      type: mock
      status: ${STATUS}
      body: '{"ok":true}'
      headers: {content-type: application/json}
`

func TestParseSample(t *testing.T) {
	f, err := Parse("p.yaml", []byte(sample), env(map[string]string{"SECRET": "s3: #cret", "STATUS": "201"}))
	if err != nil {
		t.Fatal(err)
	}
	c := f.Config
	a := c.Authorizers["users"]
	if a.HMACSecret != "s3: #cret" {
		t.Errorf("secret = %q: expansion must not reinterpret YAML", a.HMACSecret)
	}
	if a.ClockSkew.Std() != 30*time.Second || len(a.Audience) != 1 || a.IdentitySource[0] != "$request.header.Authorization" {
		t.Errorf("authorizer = %+v", a)
	}
	if c.API.Stage != "$default" || c.API.AccountID != "000000000000" {
		t.Errorf("api = %+v", c.API)
	}
	r := c.Routes[0]
	if r.Integration.Timeout.Std() != 29*time.Second || r.Integration.RequestParameters["append:header.x-join"] != "u-${context.authorizer.claims.sub}" {
		t.Errorf("route = %+v", r)
	}
	if c.Routes[1].Integration.Status != 201 {
		t.Errorf("status = %d, want 201 from ${STATUS}", c.Routes[1].Integration.Status)
	}
	if p := f.Pos("routes[0].integration.uri"); p.Line != 20 {
		t.Errorf("uri line = %d, want 20", p.Line)
	}
	if p := f.Pos(`routes[0].integration.request_parameters["overwrite:header.x-user-id"]`); p.Line != 23 {
		t.Errorf("mapping line = %d, want 23", p.Line)
	}
	if p := f.Pos("routes[1].integration.nosuch.deeper"); p.Line != 28 {
		t.Errorf("fallback line = %d, want 28", p.Line)
	}
	e := f.Errorf("routes[0].route", "bad %s", "thing")
	if got := e.Error(); got != "p.yaml:15:12: routes[0].route: bad thing" {
		t.Errorf("Errorf = %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string // substrings, one per expected error, in order
	}{
		{"unknown top key", "listen: x\nlistn: y\n", []string{`p.yaml:2:1: unknown key "listn" (did you mean "listen"?)`}},
		{"unknown nested key", "routes:\n  - route: GET /\n    integraton: {}\n", []string{`p.yaml:3:5: routes[0]: unknown key "integraton"`}},
		{"unknown in map value", "authorizers:\n  a: {type: jwt, isuer: x}\n", []string{`p.yaml:2:18: authorizers.a: unknown key "isuer"`}},
		{"two unknowns", "foo: 1\nbar: 2\n", []string{`p.yaml:1:1: unknown key "foo"`, `p.yaml:2:1: unknown key "bar"`}},
		{"missing env", "listen: ${NOPE_NOT_SET}\n", []string{"p.yaml:1:9: environment variable NOPE_NOT_SET is not set"}},
		{"bare duration", "routes:\n  - integration: {timeout: 30}\n", []string{`p.yaml:2:28: routes[0].integration.timeout: "30" is not a duration`}},
		{"type error", "server: {max_header_bytes: lots}\n", []string{"p.yaml:1:", "cannot unmarshal"}},
		{"syntax", "listen: [\n", []string{"p.yaml:1:9: listen: the [ opened here is never closed"}},
		{"syntax yaml explains", "listen: a\nb: \"\\q\"\n", []string{"p.yaml:2: an unknown \\ escape", "(YAML: found unknown escape character)"}},
		{"not a mapping", "- a\n", []string{"top level must be a mapping"}},
		{"routes not a list", "routes: {a: 1}\n", []string{"p.yaml:1:9: routes: expected a list"}},
		{"empty", "", []string{"empty"}},
		{"two docs", "listen: a\n---\nlisten: b\n", []string{"only one YAML document"}},
		{"alias", "api: &a {id: x}\nadmin_listen: *a\n", []string{"aliases are not supported"}},
		{"duplicate key", "listen: a\nlisten: b\n", []string{`p.yaml:2:1: listen: "listen" is given twice in this mapping (first on line 1)`}},
		{"duplicate claim key", "issuers:\n  d:\n    users: [{username: a, claims: {x: 1, x: 2}}]\n", []string{`p.yaml:3:42: issuers.d.users[0].claims.x: "x" is given twice`}},
		{"errors in file order", "foo: 1\nlisten: ${NOPE_NOT_SET}\nlisten: b\n", []string{"p.yaml:1:1: unknown key \"foo\"", "\np.yaml:2:9: environment variable", "\np.yaml:3:1: listen: \"listen\" is given twice"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tc.yaml), env(nil))
			if err == nil {
				t.Fatal("no error")
			}
			var es *Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %T is not *Errors: %v", err, err)
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

func TestExpandString(t *testing.T) {
	lookup := env(map[string]string{"A": "1", "EMPTY": ""})
	cases := []struct{ in, out, missing string }{
		{"${A}", "1", ""},
		{"x${A}y${A}", "x1y1", ""},
		{"${EMPTY}", "", ""},
		{"$${A}", "${A}", ""},
		{"${request.header.x}", "${request.header.x}", ""},
		{"${context.authorizer.claims.sub}-${A}", "${context.authorizer.claims.sub}-1", ""},
		{"${1BAD}", "${1BAD}", ""},
		{"${B}", "", "B"},
		{"${unterminated", "${unterminated", ""},
		{"$A", "$A", ""},
	}
	for _, c := range cases {
		got, missing := expandString(c.in, lookup)
		if got != c.out || strings.Join(missing, ",") != c.missing {
			t.Errorf("expandString(%q) = %q, %v; want %q, %q", c.in, got, missing, c.out, c.missing)
		}
	}
}

func TestResolve(t *testing.T) {
	f := &File{Path: filepath.Join("etc", "gw", "portcullis.yaml")}
	for in, want := range map[string]string{
		"":                      "",
		"keys.json":             filepath.Join("etc", "gw", "keys.json"),
		"../shared/keys.json":   filepath.Join("etc", "shared", "keys.json"),
		"/var/lib/gw/keys.json": "/var/lib/gw/keys.json",
	} {
		if got := f.Resolve(in); got != want {
			t.Errorf("Resolve(%q) = %q, want %q", in, got, want)
		}
	}
}

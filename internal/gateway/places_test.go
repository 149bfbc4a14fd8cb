package gateway

import (
	"strings"
	"testing"
)

// TestBuildPlacesProblems: a problem of an authorizer's, an integration's,
// the state store's or a function's settings is reported at the line and
// column of the field it is about, with the field's key path, not at the
// first line of its block. Each case changes one line of a valid file, a
// line after its block's first.
func TestBuildPlacesProblems(t *testing.T) {
	valid := []string{
		"listen: 127.0.0.1:0",
		"authorizers:",
		"  jwt:",
		"    type: jwt",
		"    issuer: https://issuer.example",
		"    audience: [api]",
		"    cache_size: 10",
		"  multi:",
		"    type: jwt",
		"    algorithms: [RS256]",
		"    issuers:",
		"      - issuer: https://a.example",
		"        audience: [a]",
		"      - issuer: https://b.example",
		"        audience: [b]",
		"  lam:",
		"    type: lambda",
		"    function: fn",
		`    payload_format_version: "1.0"`,
		"    identity_source: [$request.header.Authorization]",
		"state:",
		"  redis:",
		"    addresses: [127.0.0.1:6379]",
		"    db: 1",
		"routes:",
		"  - route: GET /a",
		"    authorizer: jwt",
		"    integration:",
		"      type: lambda_proxy",
		"      function: fn",
		`      payload_format_version: "2.0"`,
		"  - route: GET /b",
		"    authorizer: multi",
		"    integration: {type: mock}",
		"  - route: GET /c",
		"    authorizer: lam",
		"    integration: {type: mock}",
		"functions:",
		"  fn:",
		"    runtime: http",
		"    url: http://127.0.0.1:9/",
		"  proc:",
		"    runtime: process",
		"    command: [/bin/true]",
		"    concurrency: 2",
	}
	for _, tt := range []struct {
		name      string
		old, with string // a line of valid ("" for none) and what it becomes
		want      string // "line:column: key.path: " and the start of the message
	}{
		{"valid", "", "", ""},
		{"jwt: a field", "    cache_size: 10", "    cache_size: -5",
			"7:17: authorizers.jwt.cache_size: cache size must be -1 (disabled), 0 (default) or positive"},
		{"jwt: a field over the default of another", "    audience: [api]", "    audience: [api]\n    refresh_interval: 72h",
			"7:23: authorizers.jwt.refresh_interval: jwks_max_stale (48h0m0s) must be longer than the longest refresh interval (72h0m0s)"},
		{"jwt: a field not written, at its block", "    issuer: https://issuer.example", "    jwks_uri: https://issuer.example/keys",
			"4:5: authorizers.jwt.issuer: issuer is required"},
		{"jwt: a field against a default", "    cache_size: 10", "    cache_size: 10\n    jwks_max_stale: 1s",
			"8:21: authorizers.jwt.jwks_max_stale: jwks_max_stale (1s) must be longer than the longest refresh interval (2h0m0s)"},
		{"jwt: a field of an issuer", "        audience: [a]", "        audience: [a]\n        jwks_uri: ftp://a.example/keys",
			"14:19: authorizers.multi.issuers[0].jwks_uri: jwks_uri: must be an absolute http or https URL"},
		{"jwt: an issuer given twice", "      - issuer: https://b.example", "      - issuer: https://a.example",
			`14:17: authorizers.multi.issuers[1].issuer: issuers[1]: issuer "https://a.example" is listed already (issuers[0])`},
		{"jwt: a setting every issuer shares, once", "    algorithms: [RS256]", "    algorithms: [XX256]",
			`10:18: authorizers.multi.algorithms[0]: algorithm "XX256" is not supported`},
		{"jwt: a key file that does not load", "    issuer: https://issuer.example", "    issuer: https://issuer.example\n    jwks_file: no-such.json",
			`6:16: authorizers.jwt.jwks_file: jwt authorizer "jwt": reading jwks_file: open no-such.json: `},
		{"jwt: a key file of an issuer that does not load", "        audience: [b]", "        audience: [b]\n        jwks_file: no-such.json",
			`16:20: authorizers.multi.issuers[1].jwks_file: jwt authorizer "multi[1]": reading jwks_file: open no-such.json: `},
		{"lambda authorizer: a field", `    payload_format_version: "1.0"`, "    payload_format_version: \"2.0\"\n    event_type: TOKEN",
			"20:17: authorizers.lam.event_type: event type TOKEN exists only with payload format version 1.0"},
		{"lambda authorizer: an identity source", "    identity_source: [$request.header.Authorization]", "    identity_source: [$request.header.Authorization, $stageVariables.x]",
			`20:54: authorizers.lam.identity_source[1]: identity source "$stageVariables.x": no stage variable "x" is configured`},
		{"lambda_proxy integration: a field", `      payload_format_version: "2.0"`, `      payload_format_version: "3.0"`,
			`31:31: routes[0].integration.payload_format_version: payload format version "3.0": must be "1.0" or "2.0"`},
		{"state.redis: a field", "    db: 1", "    db: -1", "24:9: state.redis.db: db must not be negative"},
		{"state.redis: a field of a field", "    addresses: [127.0.0.1:6379]", "    addresses: [127.0.0.1:6379]\n    tls: {cert_file: c.pem}",
			"24:22: state.redis.tls.cert_file: tls.cert_file and tls.key_file go together"},
		{"function: a field", "    concurrency: 2", "    concurrency: -1",
			"45:18: functions.proc.concurrency: process function proc: Timeout, Concurrency, QueueSize, MemoryMB and MaxResponseBytes must not be negative"},
		{"function: its folder", "    command: [/bin/true]", "    command: [/bin/true]\n    dir: no-such-dir",
			"45:10: functions.proc.dir: process function proc: Dir: stat "},
		{"function: a field of a field", "    concurrency: 2", "    concurrency: 2\n    env: {AWS_LAMBDA_RUNTIME_API: x}",
			"46:35: functions.proc.env.AWS_LAMBDA_RUNTIME_API: process function proc: Env must not set AWS_LAMBDA_RUNTIME_API"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := "\n" + strings.Join(valid, "\n") + "\n"
			if tt.old != "" {
				if strings.Count(file, "\n"+tt.old+"\n") != 1 {
					t.Fatalf("valid has not one line %q", tt.old)
				}
				file = strings.Replace(file, "\n"+tt.old+"\n", "\n"+tt.with+"\n", 1)
			}
			err := buildError(t, "c.yaml", file[1:])
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("a valid file: %v", err)
			case tt.want == "":
			case err == nil:
				t.Fatalf("no error; want c.yaml:%s", tt.want)
			case strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "c.yaml:"+tt.want):
				t.Errorf("got %v\nwant one line c.yaml:%s", err, tt.want)
			}
		})
	}
}

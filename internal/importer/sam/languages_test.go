package sam_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/cli"
)

// TestImportPythonAndNode: templates with Python and Node.js functions
// import into the issue-13 function shape (runtime, handler, code relative
// to the output file); what cannot run here (a Java function, Cognito
// resources, SSM values, a parameter without default) is named on stderr
// and in the file. Only the text is checked: serving them needs the
// Python and Node.js runtimes.
func TestImportPythonAndNode(t *testing.T) {
	for _, tc := range []struct {
		file            string
		want, stderrHas []string
	}{
		{"testdata/python/template.yaml", []string{
			"runtime: python3.12", "handler: app.lambda_handler", "/testdata/python/hello_world\n",
			"event_type: REQUEST", "identity_source: [method.request.header.Authorization, method.request.querystring.auth]", "result_ttl: 300s",
			"issuer: https://cognito-idp.us-east-1.amazonaws.com/${UserPool}", "audience: ['${UserPoolClient}']",
			"authorization_scopes: [email]", "PARAM: ${SSM__pets_param}", "payload_format_version: \"1.0\"",
		}, []string{"placeholder", "SSM__pets_param", "UserPoolClient", "AWS::Cognito::UserPool is not created"}},
		{"testdata/node/template.yaml", []string{
			"runtime: nodejs20.x", "handler: handlers/items.getAll", "/testdata/node/src\n",
			"issuer: https://cognito-idp.us-east-1.amazonaws.com/${UserPoolId}", "audience: [abc123]",
			"authorization_scopes: [items/read]", "runtime: invoke", "function_name: Report",
			"#   cors:\n#     allowOrigins: ['*']",
		}, []string{"runtime java21 is not run locally", "parameter UserPoolId has no default", "CorsConfiguration"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			cfg, stderr := importFile(t, tc.file)
			data, err := os.ReadFile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(data), w) {
					t.Errorf("output lacks %q:\n%s", w, data)
				}
			}
			for _, w := range tc.stderrHas {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// TestImportStrict: with --strict, anything not carried over is exit 1 and
// nothing is written; an unknown --parameter is an error too.
func TestImportStrict(t *testing.T) {
	out := filepath.Join(t.TempDir(), "portcullis.yaml")
	var stdout, stderr bytes.Buffer
	if code := cli.Main([]string{"import", "testdata/http-jwt/template.yaml", "--strict", "-o", out}, nil, &stdout, &stderr); code != 1 {
		t.Errorf("--strict with notes: exit %d, want 1\n%s", code, stderr.String())
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("--strict wrote the file anyway")
	}
	if code := cli.Main([]string{"import", "testdata/http-jwt/template.yaml", "--parameter", "Nope=1"}, nil, &stdout, &stderr); code != 1 {
		t.Errorf("unknown parameter: exit %d, want 1", code)
	}
	if code := cli.Main([]string{"import"}, nil, &stdout, &stderr); code != 2 {
		t.Errorf("no file: exit %d, want 2", code)
	}
}

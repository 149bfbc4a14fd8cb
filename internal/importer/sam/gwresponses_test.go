package sam_test

import (
	"bytes"
	"testing"

	"github.com/portcullis/portcullis/internal/cli"
)

// TestImportGatewayResponses: SAM's GatewayResponses and CloudFormation's
// AWS::ApiGateway::GatewayResponse become gateway_responses (intrinsics
// resolved, a string StatusCode read, a text/plain template with its
// Content-Type), what Portcullis refuses to show (a request header) or has
// no place for (Paths) is noted, and check accepts the result.
func TestImportGatewayResponses(t *testing.T) {
	cfg, stderr := importFile(t, "testdata/gateway-responses/template.yaml")
	wantText(t, cfg,
		"gateway_responses:",
		"UNAUTHORIZED:",
		"status: 401",
		`WWW-Authenticate: '''Bearer realm="orders"'''`,
		`body: '{"message":$context.error.messageString,"requestId":"$context.requestId"}'`,
		`Access-Control-Allow-Origin: '''https://app.example.com'''`,
		"INTEGRATION_TIMEOUT:",
		"status: 503",
		`Retry-After: '''5'''`,
		`Content-Type: '''text/plain'''`,
		`body: 'try later: $context.error.message'`,
	)
	wantStderr(t, stderr,
		"method.request.header.Authorization: a Portcullis gateway response never shows the request's headers or query string",
		"GatewayResponses.UNAUTHORIZED.ResponseParameters.Paths (at gateway_responses.UNAUTHORIZED): only Headers have a Portcullis equivalent",
	)
	var out, errOut bytes.Buffer
	if code := cli.Main([]string{"check", "-c", cfg}, nil, &out, &errOut); code != 0 {
		t.Fatalf("check: exit %d\n%s%s", code, out.String(), errOut.String())
	}
}

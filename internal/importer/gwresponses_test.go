package importer_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/cli"
	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/importer"
)

// TestGatewayResponseRefusedValues: a gateway response that reads what
// Portcullis never shows (a Lambda authorizer's context, an API key) or
// does not have (a validation error) is refused by check; the import
// leaves that body or header out with a note saying why (the value shown
// commented out) instead of writing a configuration check refuses, and
// keeps what may be shown.
func TestGatewayResponseRefusedValues(t *testing.T) {
	for _, c := range []struct {
		name     string
		obj      map[string]any
		keptBody string // "" : the built-in body
		header   string // a header expected to be kept
		note     string
	}{
		{name: "authorizer context in the body",
			obj:  map[string]any{"statusCode": 403, "responseTemplates": map[string]any{"application/json": `{"error":"forbidden","reason":$context.authorizer.reason}`}},
			note: "$context.authorizer.reason: a Lambda authorizer's context"},
		{name: "validation error in the body",
			obj:  map[string]any{"responseTemplates": map[string]any{"application/json": `{"message":$context.error.validationErrorString}`}},
			note: "no request validators"},
		{name: "authorizer context in a header",
			obj: map[string]any{"responseParameters": map[string]any{
				"gatewayresponse.header.x-tenant": "context.authorizer.tenant",
				"gatewayresponse.header.x-id":     "context.requestId",
			}, "responseTemplates": map[string]any{"application/json": `{"id":"$context.requestId"}`}},
			keptBody: `{"id":"$context.requestId"}`, header: "x-id",
			note: "context.authorizer.tenant"},
		{name: "API key in a header",
			obj: map[string]any{"responseParameters": map[string]any{
				"gatewayresponse.header.x-key": "$context.identity.apiKey",
			}},
			note: "an API key is a secret"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := &importer.Result{}
			importer.GatewayResponse(res, "api.yaml x-amazon-apigateway-gateway-responses.ACCESS_DENIED", "ACCESS_DENIED", c.obj)
			g := res.Config.GatewayResponses["ACCESS_DENIED"]
			body := ""
			if g.Body != nil {
				body = *g.Body
			}
			if body != c.keptBody {
				t.Errorf("body %q; want %q", body, c.keptBody)
			}
			if c.header != "" && g.Headers[c.header] == "" {
				t.Errorf("headers %v lost %s", g.Headers, c.header)
			}
			var notes []string
			for _, n := range res.Notes {
				notes = append(notes, n.String())
			}
			if all := strings.Join(notes, "\n"); !strings.Contains(all, c.note) {
				t.Errorf("notes lack %q:\n%s", c.note, all)
			}
			res.Config.Listen = "127.0.0.1:0"
			res.Config.Routes = []config.Route{{Route: "GET /x", Integration: config.Integration{Type: "mock"}}}
			text, err := importer.Render(res, "")
			if err != nil {
				t.Fatal(err)
			}
			cfg := filepath.Join(t.TempDir(), "portcullis.yaml")
			if err := os.WriteFile(cfg, text, 0o644); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if code := cli.Main([]string{"check", "-c", cfg}, nil, &out, &out); code != 0 {
				t.Errorf("check refused the import:\n%s\n%s", out.String(), text)
			}
		})
	}
}

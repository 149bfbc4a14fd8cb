package openapi

import (
	"strings"
	"testing"
)

// TestProxyIntegrationExportFields: the fields API Gateway's exports write
// on every proxy integration and ignores there (connectionType INTERNET,
// passthroughBehavior, a proxy's default responses, cacheNamespace, no
// cacheKeyParameters) import without a note, so a plain export does not
// read as sixteen things lost (nor fail --strict); what matters is still
// noted or left out: a VPC link, cache key parameters, contentHandling.
func TestProxyIntegrationExportFields(t *testing.T) {
	const lambda = `uri: "arn:aws:apigateway:us-west-2:lambda:path/2015-03-31/functions/arn:aws:lambda:us-west-2:444455556666:function:pets/invocations"`
	for _, c := range []struct {
		name, integration string
		route             bool
		note              string // "" : no note at all
	}{
		{name: "aws_proxy as REST exports it", route: true,
			integration: `{type: aws_proxy, httpMethod: POST, ` + lambda + `, passthroughBehavior: when_no_match, responses: {default: {statusCode: "200"}}, cacheNamespace: abc123, cacheKeyParameters: []}`},
		{name: "aws_proxy as HTTP API exports it", route: true,
			integration: `{type: aws_proxy, httpMethod: POST, ` + lambda + `, payloadFormatVersion: "2.0", connectionType: INTERNET, timeoutInMillis: 8000}`},
		{name: "http_proxy as REST exports it", route: true,
			integration: `{type: http_proxy, httpMethod: GET, uri: "http://127.0.0.1:9/pets", passthroughBehavior: when_no_match, cacheNamespace: x, cacheKeyParameters: [], connectionType: INTERNET}`},
		{name: "cache key parameters", route: true, note: "integration field cacheKeyParameters is not carried over",
			integration: `{type: http_proxy, httpMethod: GET, uri: "http://127.0.0.1:9/pets", cacheKeyParameters: [method.request.querystring.q]}`},
		{name: "contentHandling", route: true, note: "integration field contentHandling is not carried over",
			integration: `{type: aws_proxy, httpMethod: POST, ` + lambda + `, contentHandling: CONVERT_TO_TEXT}`},
		{name: "VPC link", note: "a VPC link integration",
			integration: `{type: http_proxy, httpMethod: GET, uri: "http://10.0.0.1/pets", connectionType: VPC_LINK, connectionId: abc}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			def := "openapi: 3.0.1\ninfo: {title: t, version: '1'}\npaths:\n  /pets:\n    get:\n      x-amazon-apigateway-integration: " + c.integration + "\n"
			res, err := Import([]byte(def), Options{Source: "api.yaml"})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(res.Config.Routes) == 1; got != c.route {
				t.Errorf("route carried over %t; want %t", got, c.route)
			}
			var notes []string
			for _, n := range res.Notes {
				notes = append(notes, n.String())
			}
			all := strings.Join(notes, "\n")
			if c.note == "" && all != "" || !strings.Contains(all, c.note) {
				t.Errorf("notes:\n%s\nwant %q", all, c.note)
			}
		})
	}
}
